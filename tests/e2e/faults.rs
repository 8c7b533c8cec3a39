//! Faults an operator meets at 3 a.m.: an LLM failing for good (the jobs wait in the
//! dead-letter queue and come back after the fix), a worker killed with SIGKILL mid-batch,
//! the broker closing the worker's connection. Nothing is lost, nothing is torn.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Fault, TestEnv, assert_keeps_contract};

fn job(id: &str) -> Vec<u8> {
    json!({
        "headline": {
            "externalId": id,
            "title": "Ether Slips as Staking Withdrawals Climb",
            "publishedAt": "2026-02-05T18:02:10.000Z",
            "source": {"name": "CoinDesk", "key": "coindesk"}
        }
    })
    .to_string()
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_with_their_reasons_and_requeued_after_the_fix() {
    // Arrange: a provider that fails every call, and a poison message
    let mut env = TestEnv::new().await;
    env.set("REWRITER_LLM_MAX_ATTEMPTS", "1");
    env.llm.set_fault_rate(1.0, vec![Fault::ServerError]);
    env.publish_raw(&job("j1")).await;
    env.publish_raw(&job("j2")).await;
    env.publish_raw(b"garbage").await;
    let worker = env.spawn_worker().await;
    env.wait_for_dead_letters(3, Duration::from_secs(20)).await;
    worker.stop().await;

    // Act
    let list = env.run(&["dead", "list"], "");

    // Assert: listed with reasons, and still there
    let stdout = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert!(
        stdout.contains("j1: call overview: the LLM kept failing after 1 attempts: HTTP 500"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(unreadable job): invalid job: body is not JSON"),
        "{stdout}"
    );
    assert!(stdout.contains("3 dead letter(s)"), "{stdout}");
    assert_eq!(env.depth(&env.dead_queue()).await, 3);

    // Act: the provider is fixed; one job goes back
    env.llm.set_fault_rate(0.0, vec![]);
    let requeue = env.run(&["dead", "requeue", "--id", "j1"], "");

    // Assert
    assert!(String::from_utf8_lossy(&requeue.stdout).contains("requeued 1 job(s)"));
    assert_eq!(env.depth(&env.dead_queue()).await, 2);
    assert_eq!(env.depth(&env.queue).await, 1);
    let worker = env.spawn_worker().await;
    let articles = env.wait_for_articles(1, Duration::from_secs(20)).await;
    worker.stop().await;
    assert!(articles[0].ends_with("j1.md"));
}
