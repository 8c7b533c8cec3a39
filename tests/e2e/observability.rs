//! What operators see and what the worker spends: `/metrics`, `/healthz` and `/readyz` on a
//! running worker; token cost in the frontmatter and the metrics; requests paced under
//! `REWRITER_LLM_RPM` and held by the provider's `x-ratelimit-*` headers.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::support::news::message;
use crate::support::{TestEnv, assert_keeps_contract, poll_until};

/// `GET path` on the worker's endpoint: status code and body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    rewriter::health::get(&addr.to_string(), path)
        .await
        .unwrap()
}

/// The value of the sample line that starts with `series` (name and labels).
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in\n{metrics}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_worker_serves_its_metrics_health_and_readiness() {
    // Arrange
    let mut env = TestEnv::new().await;
    env.set("REWRITER_METRICS_ADDR", "127.0.0.1:0");
    env.set("REWRITER_PRICES", "gpt-4o-mini=0.15/0.60");
    // Three jobs through `rewriter enqueue` (which stamps the publish time), one poison
    // message from a plain AMQP client (no timestamp).
    let lines: Vec<String> = ["m-1", "m-2", "m-3"]
        .iter()
        .map(|id| String::from_utf8(message(id)).unwrap())
        .collect();
    let enqueued = env.run(&["enqueue", "-"], &lines.join("\n"));
    assert!(enqueued.status.success(), "{enqueued:?}");
    env.publish_raw(b"{not json").await;

    // Act
    let worker = env.spawn_worker().await;
    let addr = worker.metrics_addr.expect("the worker serves metrics");
    worker.wait_settled(4, Duration::from_secs(30)).await;
    let (metrics_status, metrics) = get(addr, "/metrics").await;
    let (ready_status, ready) = get(addr, "/readyz").await;
    let (live_status, _) = get(addr, "/healthz").await;
    let (missing_status, _) = get(addr, "/admin").await;
    worker.stop().await;

    // Assert
    assert_eq!(metrics_status, 200);
    for (series, expected) in [
        ("rewriter_jobs_total{outcome=\"written\"}", 3.0),
        ("rewriter_jobs_total{outcome=\"dead_lettered\"}", 1.0),
        ("rewriter_jobs_in_flight", 0.0),
        ("rewriter_llm_requests_total{result=\"ok\"}", 12.0),
        ("rewriter_llm_request_duration_seconds_count", 12.0),
        ("rewriter_job_overhead_seconds_count", 3.0),
        ("rewriter_queue_lag_seconds_count", 3.0),
        ("rewriter_articles_total{prompt_version=\"1\"}", 3.0),
        ("rewriter_broker_connected", 1.0),
    ] {
        assert_eq!(sample(&metrics, series), expected, "{series}");
    }
    let prompt_tokens = sample(
        &metrics,
        "rewriter_llm_tokens_total{prompt_version=\"1\",kind=\"prompt\"}",
    );
    let completion_tokens = sample(
        &metrics,
        "rewriter_llm_tokens_total{prompt_version=\"1\",kind=\"completion\"}",
    );
    assert!(prompt_tokens > 0.0 && completion_tokens > 0.0, "{metrics}");
    let cost = sample(
        &metrics,
        "rewriter_llm_cost_usd_total{prompt_version=\"1\"}",
    );
    let expected = (prompt_tokens * 0.15 + completion_tokens * 0.60) / 1e6;
    assert!((cost - expected).abs() < 1e-9, "{cost} vs {expected}");
    assert_eq!(ready_status, 200, "{ready}");
    assert!(ready.contains("broker: connected"), "{ready}");
    assert_eq!(live_status, 200);
    assert_eq!(missing_status, 404);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the endpoint closes with the worker"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn articles_record_their_tokens_and_their_cost_when_the_model_has_a_price() {
    // Arrange
    let mut env = TestEnv::new().await;
    env.set("REWRITER_PRICES", "gpt-4o-mini=0.15/0.60");
    env.publish_raw(&message("priced")).await;

    // Act
    let worker = env.spawn_worker().await;
    let articles = env.wait_for_articles(1, Duration::from_secs(30)).await;
    worker.stop().await;

    // Assert
    assert_keeps_contract(&articles[0], None);
    let text = std::fs::read_to_string(&articles[0]).unwrap();
    let fm = rewriter::article::parse_frontmatter(&text).unwrap();
    let expected = rewriter::cost::round_usd(
        (fm.ai.prompt_tokens as f64 * 0.15 + fm.ai.completion_tokens as f64 * 0.60) / 1e6,
    );
    assert!(fm.ai.prompt_tokens > 0, "{text}");
    assert_eq!(fm.ai.cost_usd, Some(expected), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_paced_under_the_requests_per_minute_limit_across_tasks() {
    // Arrange: 600 per minute is one request every 100 ms, whatever the concurrency.
    let mut env = TestEnv::new().await;
    env.set("REWRITER_LLM_RPM", "600");
    env.set("REWRITER_CONCURRENCY", "4");
    for id in ["p-1", "p-2", "p-3"] {
        env.publish_raw(&message(id)).await;
    }

    // Act
    let worker = env.spawn_worker().await;
    worker.wait_settled(3, Duration::from_secs(30)).await;
    worker.stop().await;

    // Assert: 12 requests, the k-th after the i-th by at least (k - i) × 100 ms, less a
    // constant slack for the time between leaving the pacer and arriving at the server (a
    // busy machine delays some requests more than others). Unpaced, four would arrive at once.
    let arrivals = env.llm.arrivals();
    assert_eq!(arrivals.len(), 12);
    let slack = Duration::from_millis(50);
    for (i, early) in arrivals.iter().enumerate() {
        for (k, late) in arrivals.iter().enumerate().skip(i + 1) {
            let paced = Duration::from_millis(100) * (k - i) as u32;
            assert!(
                *late - *early + slack >= paced,
                "requests {i} and {k} are {:?} apart: {arrivals:?}",
                *late - *early
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_requests_remaining_in_the_providers_headers_holds_the_next_request_until_the_reset() {
    // Arrange: every answer says the window is used up and resets in 500 ms.
    let env = TestEnv::new().await;
    env.llm.set_response_headers(vec![
        ("x-ratelimit-limit-requests".into(), "10000".into()),
        ("x-ratelimit-remaining-requests".into(), "0".into()),
        ("x-ratelimit-reset-requests".into(), "500ms".into()),
    ]);
    env.publish_raw(&message("held")).await;

    // Act
    let started = Instant::now();
    let worker = env.spawn_worker().await;
    worker.wait_settled(1, Duration::from_secs(30)).await;
    worker.stop().await;

    // Assert
    let arrivals = env.llm.arrivals();
    assert_eq!(arrivals.len(), 4);
    for pair in arrivals.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(450), "gap of {gap:?}");
    }
    assert!(started.elapsed() >= Duration::from_millis(1350));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewriter_health_passes_while_the_worker_runs_and_fails_once_it_stopped() {
    // Arrange
    let mut env = TestEnv::new().await;
    env.set("REWRITER_METRICS_ADDR", "127.0.0.1:0");
    let worker = env.spawn_worker().await;
    let addr = worker
        .metrics_addr
        .expect("the worker serves metrics")
        .to_string();
    // The binary blocks this thread while the worker answers it from the runtime's others.
    let health = |extra: &[&str]| {
        let args: Vec<&str> = ["health", "--addr", addr.as_str()]
            .into_iter()
            .chain(extra.iter().copied())
            .collect();
        tokio::task::block_in_place(|| env.run(&args, ""))
    };

    // The worker is ready once it has connected to the broker and is consuming.
    poll_until(Duration::from_secs(10), async || {
        worker
            .metrics
            .broker_connected()
            .then_some(())
            .ok_or_else(|| "the worker is not connected to the broker".to_owned())
    })
    .await;

    // Act
    let ready = health(&[]);
    let live = health(&["--live"]);
    worker.stop().await;
    let stopped = health(&[]);

    // Assert
    assert_eq!(ready.status.code(), Some(0), "{ready:?}");
    assert!(
        String::from_utf8_lossy(&ready.stdout).contains("broker: connected"),
        "{ready:?}"
    );
    assert_eq!(live.status.code(), Some(0), "{live:?}");
    assert_eq!(stopped.status.code(), Some(1), "{stopped:?}");
    let reason = String::from_utf8_lossy(&stopped.stderr);
    assert!(
        reason.contains(&format!("http://{addr}/readyz")),
        "the reason names what was asked: {reason}"
    );
}

#[tokio::test]
async fn rewriter_health_without_an_address_is_a_setting_error() {
    // Arrange
    let env = TestEnv::new().await;

    // Act
    let output = env.run(&["health"], "");

    // Assert
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("REWRITER_METRICS_ADDR"),
        "{output:?}"
    );
}
