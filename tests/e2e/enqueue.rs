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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_line_is_not_counted_as_enqueued_and_every_problem_is_named() {
    // Arrange: the line of issue 27: no id, a number for a title, no date, no source.
    let env = TestEnv::new().await;
    let input = format!("{{\"title\": 42}}\n{GOOD}\n");

    // Act
    let output = env.run(&["enqueue"], &input);

    // Assert
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let rejected = stderr
        .lines()
        .find(|l| l.starts_with("<stdin>:1: rejected: "))
        .unwrap_or_else(|| panic!("no rejected line 1: {stderr}"));
    for problem in [
        "headline.externalId: is required",
        "headline.title: must be a string, got a number",
        "headline.publishedAt: is required",
        "headline.source: is required",
    ] {
        assert!(
            rejected.contains(problem),
            "{problem:?} missing: {rejected}"
        );
    }
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("progress: 1/1 jobs enqueued (100%)"),
        "only the job that was enqueued is counted: {stderr}"
    );
    assert_eq!(
        stdout,
        format!("enqueued 1 job(s) to {}; rejected 1\n", env.queue)
    );
    assert_eq!(env.depth(&env.queue).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_enqueued_prints_no_progress_line_claiming_otherwise() {
    // Arrange
    let env = TestEnv::new().await;

    // Act
    let output = env.run(&["enqueue"], "{\"title\": \"no id\"}\n");

    // Assert
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("progress:"), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("enqueued 0 job(s)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_lists_every_setting_the_code_reads() {
    // Arrange
    let env = TestEnv::new().await;

    // Act
    let outputs = [
        ("--help", env.run(&["--help"], "")),
        ("help worker", env.run(&["help", "worker"], "")),
    ];

    // Assert
    for (what, output) in outputs {
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{what}");
        for setting in rewriter::config::SETTINGS {
            assert!(
                help.lines()
                    .any(|l| l.trim_start().starts_with(setting.var)),
                "{what} does not list {}:\n{help}",
                setting.var
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_url_that_is_no_url_exits_2_at_start_naming_the_variable() {
    // Arrange
    let mut env = TestEnv::new().await;
    env.set("OPENAI_BASE_URL", "notaurl");

    // Act
    let output = env.run(&["worker"], "");

    // Assert
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: OPENAI_BASE_URL: "), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_to_a_pipe_carry_no_colour() {
    // Arrange: a log line at start (the unreachable broker), written to a pipe.
    let mut env = TestEnv::new().await;
    env.set("AMQP_URL", "amqp://guest:guest@127.0.0.1:1/%2f");
    env.set("RUST_LOG", "debug");

    // Act
    let output = env.run(&["enqueue"], GOOD);

    // Assert
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.is_empty());
    assert!(
        !stderr.contains('\u{1b}'),
        "ANSI escapes in a pipe: {stderr:?}"
    );
}
