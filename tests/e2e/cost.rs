//! `rewriter cost`: the tokens and costs of every stored version file, per prompt version,
//! as a table and as JSON, equal to the sums of the articles' own frontmatter.

use rewriter::cost::round_usd;

use crate::support::{TestEnv, example_headlines};

/// The first `n` example headlines, as NDJSON.
fn headlines(n: usize) -> String {
    example_headlines()
        .lines()
        .take(n)
        .map(|l| format!("{l}\n"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_adds_up_the_tokens_and_costs_the_articles_recorded() {
    // Arrange: two articles written with a price for the fake LLM's model
    let mut env = TestEnv::new().await;
    env.set("REWRITER_PRICES", "gpt-4o-mini=0.15/0.60");
    let written = env.run(&["rewrite", "-"], &headlines(2));
    assert!(
        written.status.success(),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );
    let (mut prompt, mut completion) = (0u64, 0u64);
    let (mut recorded, mut at_current) = (0.0f64, 0.0f64);
    let mut files = 0;
    for entry in std::fs::read_dir(env.out().join("versions")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path().join("v1.md")).unwrap();
        let ai = rewriter::article::parse_frontmatter(&text).unwrap().ai;
        prompt += ai.prompt_tokens;
        completion += ai.completion_tokens;
        recorded += ai.cost_usd.expect("priced when written");
        at_current +=
            round_usd((ai.prompt_tokens as f64 * 0.15 + ai.completion_tokens as f64 * 0.60) / 1e6);
        files += 1;
    }
    assert_eq!(files, 2);
    assert!(prompt > 0 && completion > 0);
    let (recorded, at_current) = (round_usd(recorded), round_usd(at_current));

    // Act
    let table = env.run(&["cost"], "");
    let json = env.run(&["cost", "--json"], "");

    // Assert: the table, one row for v1 and the total, equal
    let stdout = String::from_utf8_lossy(&table.stdout);
    assert_eq!(
        table.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&table.stderr)
    );
    let expected = [
        "2".to_owned(),
        prompt.to_string(),
        completion.to_string(),
        format!("{recorded:.6}"),
        "0".to_owned(),
        format!("{at_current:.6}"),
    ];
    for name in ["v1", "total"] {
        let row: Vec<&str> = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} row in:\n{stdout}"))
            .split_whitespace()
            .skip(1)
            .collect();
        assert_eq!(row, expected, "{stdout}");
    }
    // … and the JSON
    assert_eq!(json.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let figures = serde_json::json!({
        "articles": 2,
        "promptTokens": prompt,
        "completionTokens": completion,
        "recordedUsd": recorded,
        "unrecorded": 0,
        "atCurrentPricesUsd": at_current,
    });
    let mut v1 = figures.clone();
    v1["version"] = 1.into();
    assert_eq!(report["versions"], serde_json::json!([v1]), "{report}");
    assert_eq!(report["total"], figures, "{report}");
    assert_eq!(report["unreadable"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_names_a_version_file_it_cannot_parse_and_exits_1() {
    // Arrange: one article without a price, one version file that is not an article
    let env = TestEnv::new().await;
    assert!(env.run(&["rewrite", "-"], &headlines(1)).status.success());
    let broken = env.out().join("versions/broken-1/v1.md");
    std::fs::create_dir_all(broken.parent().unwrap()).unwrap();
    std::fs::write(&broken, "no frontmatter here\n").unwrap();

    // Act
    let output = env.run(&["cost", "--json"], "");

    // Assert
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&broken.display().to_string()), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["unreadable"], 1, "{report}");
    assert_eq!(report["total"]["articles"], 1, "{report}");
    assert_eq!(report["total"]["unrecorded"], 1, "{report}");
    assert_eq!(report["total"]["recordedUsd"], 0.0, "{report}");
    assert_eq!(
        report["total"]["atCurrentPricesUsd"],
        serde_json::Value::Null,
        "{report}"
    );
}
