//! An LLM outage costs time, never jobs: the fake LLM goes away in the middle of a batch (its
//! port refusing connections, answering 503, or hanging) and comes back on the same port; the
//! worker holds its jobs, probes with a growing interval, is not ready while the LLM is away,
//! and resumes by itself. Held jobs never come near the queue's delivery limit. Errors that
//! belong to the request (a context overflow, a request that times out while the server
//! answers) stay the job's, and `rewriter rewrite` pauses instead of failing.
//!
//! Outages here last seconds, not hours: the settings that pace the outage handling
//! (`REWRITER_LLM_PROBE_MIN`/`_MAX`, `REWRITER_LLM_HOLD_MAX`, `REWRITER_LLM_MAX_ATTEMPTS`) are
//! shortened so that each outage outlasts a job's own retries many times over.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rewriter::job::Job;
use rewriter::llm::LlmError;
use rewriter::pipeline::{Disposition, JobError, Pipeline};
use rewriter::queue::DELIVERY_LIMIT;
use serde_json::json;

use crate::support::{Away, Fault, TestEnv, example_headlines, poll_until};

fn job(id: &str) -> Job {
    Job::from_value(json!({
        "headline": {
            "externalId": id,
            "title": "Bitcoin Mining Revenue Gauge Falls to Record Low During Selloff",
            "description": "A measure of miners' revenue dropped to a record low.",
            "publishedAt": "2026-02-05T17:45:43.000Z",
            "source": {"name": "Bloomberg (Crypto)", "key": "bloomberg_crypto_"}
        }
    }))
    .unwrap()
}

/// Settings under which a job's own retries last well under a second, and the worker probes
/// from 100 ms on.
fn short_outage_settings(env: &mut TestEnv) {
    env.set("REWRITER_METRICS_ADDR", "127.0.0.1:0");
    env.set("REWRITER_LLM_MAX_ATTEMPTS", "2");
    env.set("REWRITER_LLM_TIMEOUT_SECS", "1");
    env.set("REWRITER_LLM_PROBE_MIN", "100ms");
    env.set("REWRITER_LLM_PROBE_MAX", "500ms");
}

async fn readyz(addr: SocketAddr) -> (u16, String) {
    rewriter::health::get(&addr.to_string(), "/readyz")
        .await
        .unwrap()
}

async fn wait_for_readyz(addr: SocketAddr, status: u16, timeout: Duration) -> String {
    poll_until(timeout, async || match readyz(addr).await {
        (s, body) if s == status => Ok(body),
        (s, body) => Err(format!("/readyz answered {s}: {body}")),
    })
    .await
}

/// A batch of 40 with the LLM away in the middle: every article written, none dead-lettered,
/// not ready while away, ready after, few probes.
async fn a_batch_outlives_an_llm_that_is(away: Away) {
    // Arrange
    let mut env = TestEnv::new().await;
    short_outage_settings(&mut env);
    env.llm.set_latency(Duration::from_millis(30));
    for i in 0..40 {
        env.publish_raw(&job(&format!("batch{i}")).to_json()).await;
    }
    let worker = env.spawn_worker().await;
    let addr = worker.metrics_addr.unwrap();
    env.wait_for_articles(8, Duration::from_secs(30)).await;

    // Act: away until the worker says so, and for 3 s more (a job's own retries take under
    // half a second: the outage outlasts them several times over); then back on the same port
    env.llm.go_away(away).await;
    let gone = Instant::now();
    let not_ready = wait_for_readyz(addr, 503, Duration::from_secs(20)).await;
    let written_when_noticed = env.articles().len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let written_while_away = env.articles().len();
    let dead_while_away = env.depth(&env.dead_queue()).await;
    env.llm.come_back().await;
    let away_for = gone.elapsed();
    let articles = env.wait_for_articles(40, Duration::from_secs(60)).await;
    let ready = wait_for_readyz(addr, 200, Duration::from_secs(10)).await;
    let probes = worker.metrics.llm_probes();
    let open_for = worker.metrics.llm_open_time();
    let summary = worker.stop().await;

    // Assert
    assert!(not_ready.contains("llm: unreachable since "), "{not_ready}");
    assert!(ready.contains("llm: answering"), "{ready}");
    assert_eq!(
        written_while_away, written_when_noticed,
        "nothing is written while the LLM is away"
    );
    assert_eq!(dead_while_away, 0);
    assert_eq!(articles.len(), 40);
    assert_eq!(summary.dead_lettered, 0, "{summary:?}");
    assert_eq!(env.depth(&env.dead_queue()).await, 0);
    assert!(open_for >= Duration::from_secs(3), "open for {open_for:?}");
    // Probes wait 50–100 ms, then twice that, up to 250–500 ms: about a dozen in these
    // seconds (plus the start check and, for a hang, one per timed-out request); probing
    // without the growing interval would have sent a hundred.
    eprintln!("{away:?}: away for {away_for:?}, circuit open for {open_for:?}, {probes} probes");
    assert!(
        (2..=30).contains(&probes),
        "{probes} probes in {away_for:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_llm_refusing_connections_mid_batch_costs_time_not_jobs() {
    a_batch_outlives_an_llm_that_is(Away::Refusing).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_llm_answering_503_mid_batch_costs_time_not_jobs() {
    a_batch_outlives_an_llm_that_is(Away::Unavailable).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_llm_that_hangs_mid_batch_costs_time_not_jobs() {
    a_batch_outlives_an_llm_that_is(Away::Hanging).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_far_longer_than_the_hold_never_brings_a_job_to_the_delivery_limit() {
    // Arrange: as many jobs as the worker holds (prefetch 3), each held for 100 ms at most
    // before it is put back: what a 20-minute outage does under REWRITER_LLM_HOLD_MAX=10m,
    // twenty times over, in seconds.
    let mut env = TestEnv::new().await;
    short_outage_settings(&mut env);
    env.set("REWRITER_CONCURRENCY", "2");
    env.set("REWRITER_LLM_HOLD_MAX", "100ms");
    env.llm.set_latency(Duration::from_millis(300));
    for i in 0..3 {
        env.publish_raw(&job(&format!("long{i}")).to_json()).await;
    }
    let worker = env.spawn_worker().await;
    env.wait_for_llm_requests(1, Duration::from_secs(10)).await;

    // Act: away until the jobs were held and put back more than the delivery limit each
    env.llm.go_away(Away::Refusing).await;
    let cycles = 3 * (DELIVERY_LIMIT as u64 + 1);
    poll_until(Duration::from_secs(60), async || {
        match worker.metrics.jobs_parked() {
            n if n >= cycles => Ok(()),
            n => Err(format!("{n} of {cycles} holds ended")),
        }
    })
    .await;
    env.llm.come_back().await;
    let articles = env.wait_for_articles(3, Duration::from_secs(30)).await;
    let summary = worker.stop().await;

    // Assert: a requeue per hold would have sent each job to .dead after 20
    assert_eq!(articles.len(), 3);
    assert_eq!(summary.dead_lettered, 0, "{summary:?}");
    assert_eq!(env.depth(&env.dead_queue()).await, 0);
    assert_eq!(env.depth(&env.queue).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_answers_keep_breaking_the_rules_is_dead_lettered_while_the_llm_is_healthy() {
    // Arrange
    let mut env = TestEnv::new().await;
    short_outage_settings(&mut env);
    env.llm
        .set_answer("overview", json!({"overview": "Too short."}));
    env.publish_raw(&job("rules1").to_json()).await;

    // Act
    let worker = env.spawn_worker().await;
    env.wait_for_dead_letters(1, Duration::from_secs(20)).await;
    let open = worker.metrics.llm_outage();
    worker.stop().await;

    // Assert
    let dead = env.drain_dead_letters().await;
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0].1.contains("no usable answer after 3 asks")
            && dead[0]
                .1
                .contains("overview: write two or three full sentences"),
        "{}",
        dead[0].1
    );
    assert!(open.is_none(), "the circuit stayed closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_started_while_the_llm_is_away_is_not_ready_and_takes_no_job_until_it_answers() {
    // Arrange
    let mut env = TestEnv::new().await;
    short_outage_settings(&mut env);
    env.publish_raw(&job("late1").to_json()).await;
    env.publish_raw(&job("late2").to_json()).await;
    env.llm.go_away(Away::Refusing).await;

    // Act
    let worker = env.spawn_worker().await;
    let addr = worker.metrics_addr.unwrap();
    let not_ready = wait_for_readyz(addr, 503, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (ready_in_queue, consumers) = env.ready_and_consumers(&env.queue).await;
    env.llm.come_back().await;
    let articles = env.wait_for_articles(2, Duration::from_secs(30)).await;
    wait_for_readyz(addr, 200, Duration::from_secs(10)).await;
    worker.stop().await;

    // Assert
    assert!(
        not_ready.contains("llm: unreachable since ") && not_ready.contains("could not connect"),
        "{not_ready}"
    );
    assert_eq!((ready_in_queue, consumers), (2, 0), "left in the queue");
    assert_eq!(articles.len(), 2);
}

#[tokio::test]
async fn a_rate_limit_that_outlasts_a_jobs_retries_holds_the_job_instead_of_dead_lettering_it() {
    // Arrange: 429 with `Retry-After: 1` to every request
    let mut env = TestEnv::new().await;
    short_outage_settings(&mut env);
    env.llm.set_fault_rate(1.0, vec![Fault::RateLimited]);
    let pipeline = Pipeline::build(&env.settings(), Default::default())
        .await
        .unwrap();

    // Act
    let error = pipeline.rewrite(&job("busy1")).await.unwrap_err();

    // Assert
    assert!(
        matches!(error, JobError::Llm(LlmError::Unavailable { .. })),
        "{error}"
    );
    assert_eq!(error.disposition(), Disposition::WaitForLlm);
    assert!(error.to_string().contains("HTTP 429"), "{error}");
    assert_eq!(env.llm.requests(), 2);
    assert!(pipeline.llm().circuit().is_open());
}

#[tokio::test]
async fn a_context_overflow_is_the_jobs_problem_at_once_even_as_a_500() {
    // Arrange: llama.cpp's words for a generation that ran out of context
    let mut env = TestEnv::new().await;
    short_outage_settings(&mut env);
    env.llm.set_fault_rate(
        1.0,
        vec![Fault::Status {
            code: 500,
            retry_after: None,
            body: r#"{"error":{"code":500,"message":"Context size has been exceeded.","type":"server_error"}}"#.into(),
        }],
    );

    // Act
    let pipeline = Pipeline::build(&env.settings(), Default::default())
        .await
        .unwrap();
    let error = pipeline.rewrite(&job("ctx1")).await.unwrap_err();

    // Assert
    assert!(
        matches!(
            error,
            JobError::Llm(LlmError::Rejected { too_long: true, .. })
        ),
        "{error}"
    );
    assert_eq!(error.disposition(), Disposition::DeadLetter);
    assert!(error.to_string().contains("Context size has been exceeded"));
    assert_eq!(env.llm.requests(), 1, "not retried");
    assert!(!pipeline.llm().circuit().is_open());
}

#[tokio::test]
async fn a_context_overflow_that_names_the_room_left_is_asked_again_with_fewer_tokens() {
    // Arrange: vLLM's words; the overview call asks for more than the room it names
    let mut env = TestEnv::new().await;
    short_outage_settings(&mut env);
    env.llm.push_faults([Fault::Status {
        code: 400,
        retry_after: None,
        body: r#"{"object":"error","message":"This model's maximum context length is 2048 tokens. However, you requested 2248 tokens (1900 in the messages, 348 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","code":400}"#.into(),
    }]);
    let pipeline = Pipeline::build(&env.settings(), Default::default())
        .await
        .unwrap();

    // Act
    let outcome = pipeline.rewrite(&job("ctx2")).await;

    // Assert
    let received = env.llm.received();
    let asked = |i: usize| received[i]["max_completion_tokens"].as_u64().unwrap();
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(asked(1), 148, "2048 - 1900, asked at once");
    assert!(asked(0) > 148);
}

#[tokio::test]
async fn a_request_that_keeps_timing_out_while_the_server_answers_probes_is_the_jobs_problem() {
    // Arrange: the server answers probes at once but never finishes this request in time
    let mut env = TestEnv::new().await;
    short_outage_settings(&mut env);
    env.set("REWRITER_LLM_MAX_ATTEMPTS", "10");
    env.llm
        .set_fault_rate(1.0, vec![Fault::Hang(Duration::from_secs(3))]);
    let pipeline = Pipeline::build(&env.settings(), Default::default())
        .await
        .unwrap();

    // Act
    let error = pipeline.rewrite(&job("slow1")).await.unwrap_err();

    // Assert: two tries, not ten, and no outage
    assert!(
        matches!(
            error,
            JobError::Llm(LlmError::Exhausted { attempts: 2, .. })
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("while the server answered"),
        "{error}"
    );
    assert_eq!(error.disposition(), Disposition::DeadLetter);
    assert_eq!(env.llm.requests(), 2);
    assert!(!pipeline.llm().circuit().is_open());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewrite_pauses_through_an_outage_and_goes_on_when_the_llm_is_back() {
    // Arrange
    let mut env = TestEnv::new().await;
    short_outage_settings(&mut env);
    env.set("AMQP_URL", "amqp://guest:guest@127.0.0.1:1/%2f"); // no broker to be had
    env.llm.go_away(Away::Refusing).await;
    let mut child = env
        .command(&["rewrite", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, example_headlines().as_bytes()).unwrap();
    drop(stdin);

    // Act
    tokio::time::sleep(Duration::from_secs(3)).await;
    env.llm.come_back().await;
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();

    // Assert
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("paused: the LLM is unreachable").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("the LLM answers again"), "{stderr}");
    assert_eq!(env.articles().len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewrite_gives_up_after_the_outage_max_and_lists_the_unfinished_headlines() {
    // Arrange
    let mut env = TestEnv::new().await;
    short_outage_settings(&mut env);
    env.set("REWRITER_LLM_OUTAGE_MAX", "1s");
    env.set("AMQP_URL", "amqp://guest:guest@127.0.0.1:1/%2f");
    env.llm.go_away(Away::Refusing).await;

    // Act
    let started = Instant::now();
    let output = tokio::task::spawn_blocking({
        let mut cmd = env.command(&["rewrite", "-"]);
        move || {
            let mut child = cmd
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            std::io::Write::write_all(&mut stdin, example_headlines().as_bytes()).unwrap();
            drop(stdin);
            child.wait_with_output().unwrap()
        }
    })
    .await
    .unwrap();

    // Assert
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not finished, the LLM unreachable"),
        "{stderr}"
    );
    for id in crate::support::example_sources().keys() {
        assert!(
            stderr.contains(&format!(": {id} \"")),
            "{id} listed: {stderr}"
        );
    }
    assert!(env.articles().is_empty());
    assert!(started.elapsed() < Duration::from_secs(30));
}
