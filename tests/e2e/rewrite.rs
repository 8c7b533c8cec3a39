//! `rewriter rewrite` (the pipeline without a broker) and `rewriter render` (the prompts
//! without an LLM).

use std::time::Duration;

use crate::support::{TestEnv, assert_keeps_contract, example_headlines, example_sources};

/// Everything after the frontmatter's timestamps: the article a reader sees.
fn body(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| !l.starts_with("updatedAt:") && !l.starts_with("  expandedAt:"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewrite_writes_the_same_articles_as_the_worker_without_a_broker() {
    // Arrange: the worker's articles, from one environment
    let by_worker = TestEnv::new().await;
    assert!(
        by_worker
            .run(&["enqueue"], &example_headlines())
            .status
            .success()
    );
    let worker = by_worker.spawn_worker().await;
    by_worker
        .wait_for_articles(6, Duration::from_secs(30))
        .await;
    worker.stop().await;
    let mut offline = TestEnv::new().await;
    offline.set("AMQP_URL", "amqp://guest:guest@127.0.0.1:1/%2f"); // no broker to be had

    // Act
    let output = offline.run(&["rewrite", "-"], &example_headlines());

    // Assert
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for (id, source) in example_sources() {
        let article = offline.out().join(format!("articles/{id}.md"));
        assert_keeps_contract(&article, Some(&source));
        assert_eq!(
            body(&article),
            body(&by_worker.out().join(format!("articles/{id}.md")))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewrite_names_the_line_of_a_bad_headline_and_exits_1() {
    // Arrange
    let env = TestEnv::new().await;
    let input = format!(
        "{}\n{{\"externalId\": \"x\"}}\n",
        example_headlines().lines().next().unwrap()
    );

    // Act
    let output = env.run(&["rewrite"], &input);

    // Assert
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("<stdin>:2: rejected: headline.title"),
        "{stderr}"
    );
    assert_eq!(env.articles().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn render_prints_every_prompt_and_calls_no_llm() {
    // Arrange
    let env = TestEnv::new().await;
    let input = example_headlines();

    // Act
    let output = env.run(&["render", "-"], &input);

    // Assert
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for call in ["overview", "story", "commentary", "impact"] {
        assert_eq!(
            stdout.matches(&format!("· call {call} ·")).count(),
            6,
            "{call}"
        );
    }
    assert!(stdout.contains("Bitcoin Mining Revenue Gauge Falls to Record Low During Selloff"));
    assert!(stdout.contains("Write in German") || stdout.contains("in German"));
    assert_eq!(env.llm.requests(), 0);
    assert!(
        !env.out().join("articles").exists(),
        "render writes nothing"
    );
}
