//! `rewriter enqueue`: every confirmed job counted, every rejected line named with its number,
//! exit codes a script can trust, and no secret in any output.

use lapin::options::BasicGetOptions;

use crate::support::{TestEnv, connect};

const GOOD: &str = r#"{"externalId":"e1","title":"Bitcoin Rises","publishedAt":"2026-02-05T17:45:43Z","source":{"name":"Wire","key":"wire"}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_lines_are_reported_with_their_numbers_and_the_exit_code_is_1() {
    // Arrange
    let env = TestEnv::new().await;
    let input = format!(
        "{GOOD}\n{{broken\n\n{}\n{GOOD}\n",
        GOOD.replace("e1", "../etc")
    );

    // Act
    let output = env.run(&["enqueue"], &input);

    // Assert
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("<stdin>:2: rejected: not JSON"), "{stderr}");
    assert!(
        stderr.contains("<stdin>:4: rejected: headline: externalId"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("enqueued 2 job(s)"));
    assert_eq!(env.depth(&env.queue).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_a_terminal_progress_is_a_plain_final_line_on_stderr_only() {
    // Arrange
    let env = TestEnv::new().await;
    let input = ["e1", "e2", "e3"]
        .map(|id| GOOD.replace("e1", id))
        .join("\n");

    // Act
    let output = env.run(&["enqueue"], &input);

    // Assert
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("progress: 3/3 jobs enqueued (100%) · ") && last.contains(" · done in "),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\r'),
        "no bar drawing off a terminal: {stderr:?}"
    );
    assert_eq!(
        stdout,
        format!("enqueued 3 job(s) to {}; rejected 0\n", env.queue)
    );
    assert_eq!(env.depth(&env.queue).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_version_and_force_are_set_on_every_job() {
    // Arrange
    let env = TestEnv::new().await;

    // Act
    let output = env.run(&["enqueue", "--prompt-version", "1", "--force", "-"], GOOD);

    // Assert
    assert!(output.status.success());
    let conn = connect().await;
    let channel = conn.create_channel().await.unwrap();
    let msg = channel
        .basic_get(env.queue.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
        .expect("one message");
    let job: serde_json::Value = serde_json::from_slice(&msg.delivery.data).unwrap();
    assert_eq!(job["promptVersion"], 1);
    assert_eq!(job["force"], true);
    assert_eq!(job["headline"]["externalId"], "e1");
    assert_eq!(
        msg.delivery.properties.delivery_mode(),
        &Some(2),
        "persistent"
    );
    assert_eq!(
        msg.delivery
            .properties
            .content_type()
            .as_ref()
            .map(|c| c.as_str()),
        Some("application/json")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_broker_exits_3_without_printing_its_password() {
    // Arrange
    let mut env = TestEnv::new().await;
    env.set("AMQP_URL", "amqp://bob:hunter2-canary@127.0.0.1:1/%2f");

    // Act
    let output = env.run(&["enqueue"], GOOD);

    // Assert
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("bob:***@127.0.0.1:1"), "{stderr}");
    assert!(!stderr.contains("hunter2-canary"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_and_errors_never_show_the_api_key() {
    // Arrange
    let mut env = TestEnv::new().await;
    env.set("OPENAI_API_KEY", "sk-canary-do-not-print");
    env.set("AMQP_URL", "amqp://bob:hunter2-canary@127.0.0.1:1/%2f");
    env.set("RUST_LOG", "trace");

    // Act
    let outputs = [
        env.run(&["--help"], ""),
        env.run(&["worker", "--help"], ""),
        env.run(&["worker"], ""),
        env.run(&["rewrite"], GOOD),
    ];

    // Assert
    for output in outputs {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!all.contains("sk-canary-do-not-print"), "{all}");
        assert!(!all.contains("hunter2-canary"), "{all}");
    }
}
