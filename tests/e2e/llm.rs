//! The LLM client against a misbehaving server: transient failures are retried (honouring
//! `Retry-After`, which holds every task of the client), invalid answers are asked for again
//! naming the problem, flawed answers become drafts, hopeless jobs are dead-lettered with their
//! reason, a wrong key stops the worker without losing the job, and recorded llama-server
//! responses are understood.

use std::time::{Duration, Instant};

use rewriter::job::Job;
use rewriter::llm::LlmError;
use rewriter::pipeline::{Disposition, JobError, Outcome, Pipeline};
use serde_json::json;

use crate::support::{Fault, TestEnv, assert_keeps_contract};

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

async fn pipeline(env: &TestEnv) -> Pipeline {
    Pipeline::build(&env.settings(), Default::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn rate_limits_are_retried_after_their_retry_after() {
    // Arrange
    let env = TestEnv::new().await;
    env.llm
        .push_faults([Fault::RateLimited, Fault::RateLimited]);
    let started = Instant::now();

    // Act
    let outcome = pipeline(&env).await.rewrite(&job("r1")).await.unwrap();

    // Assert
    assert!(
        matches!(outcome, Outcome::Written { requests: 6, .. }),
        "{outcome:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After: 1, twice"
    );
    assert_keeps_contract(&env.out().join("articles/r1.md"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_retry_after_holds_every_task_not_only_the_one_that_got_it() {
    // Arrange: four jobs at once share one client; the first request to arrive gets a 429
    // with `Retry-After: 1`, every request takes 200 ms.
    let env = TestEnv::new().await;
    env.llm.set_latency(Duration::from_millis(200));
    env.llm.push_faults([Fault::RateLimited]);
    let pipeline = pipeline(&env).await;
    let jobs: Vec<Job> = (0..4).map(|i| job(&format!("storm{i}"))).collect();

    // Act
    let outcomes =
        futures_util::future::join_all(jobs.iter().map(|job| pipeline.rewrite(job))).await;

    // Assert: the 429 came back 200 ms after the first arrival; requests sent before it was
    // seen arrive soon after that, then nothing until its second has passed (~1.2 s).
    // Without the shared hold the three other jobs would go on sending every ~200 ms.
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let arrivals = env.llm.arrivals();
    let first = *arrivals.iter().min().unwrap();
    let during_hold: Vec<Duration> = arrivals
        .iter()
        .map(|at| *at - first)
        .filter(|since| *since > Duration::from_millis(350) && *since < Duration::from_millis(1150))
        .collect();
    assert!(
        during_hold.is_empty(),
        "requests during the hold, after the first: {during_hold:?}"
    );
    assert_eq!(arrivals.len(), 4 * 4 + 1, "one retried request");
}

#[tokio::test]
async fn server_errors_drops_timeouts_and_proxy_bodies_are_retried() {
    // Arrange
    let mut env = TestEnv::new().await;
    env.set("REWRITER_LLM_TIMEOUT_SECS", "1");
    env.llm.push_faults([
        Fault::ServerError,
        Fault::Drop,
        Fault::Hang(Duration::from_secs(3)),
        Fault::PlainText429,
        Fault::Status {
            code: 503,
            retry_after: None,
            body: "upstream unavailable".into(),
        },
    ]);

    // Act
    let outcome = pipeline(&env).await.rewrite(&job("t1")).await.unwrap();

    // Assert
    assert!(
        matches!(
            outcome,
            Outcome::Written {
                requests: 9,
                draft: false,
                ..
            }
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn invalid_answers_are_asked_for_again_naming_what_was_wrong() {
    // Arrange
    let env = TestEnv::new().await;
    env.llm.push_faults([Fault::Prose, Fault::BreakSchema]);

    // Act
    let outcome = pipeline(&env).await.rewrite(&job("i1")).await.unwrap();

    // Assert
    assert!(
        matches!(outcome, Outcome::Written { requests: 6, .. }),
        "{outcome:?}"
    );
    let received = env.llm.received();
    let text = |request: usize, message: usize| {
        received[request]["messages"][message]["content"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let reask = received[1]["messages"].as_array().unwrap();
    assert_eq!(reask.len(), 2, "a re-ask does not grow the conversation");
    assert!(
        text(1, 1).starts_with(&text(0, 1)),
        "it repeats the request"
    );
    assert!(
        text(1, 1).contains("rejected: the answer is not one JSON object"),
        "{}",
        text(1, 1)
    );
    assert!(text(2, 1).contains("rejected: the answer breaks the schema"));
}

#[tokio::test]
async fn an_answer_cut_off_at_the_token_limit_is_asked_for_again() {
    // Arrange
    let env = TestEnv::new().await;
    env.llm.push_faults([Fault::Truncated, Fault::Empty]);

    // Act
    let outcome = pipeline(&env).await.rewrite(&job("l1")).await.unwrap();

    // Assert
    assert!(
        matches!(outcome, Outcome::Written { requests: 6, .. }),
        "{outcome:?}"
    );
    let reask = &env.llm.received()[1]["messages"][1]["content"];
    assert!(
        reask
            .as_str()
            .unwrap()
            .contains("cut off at the token limit")
    );
}

#[tokio::test]
async fn a_call_that_never_answers_usably_fails_the_job_for_the_dead_letter_queue() {
    // Arrange
    let env = TestEnv::new().await;
    env.llm
        .set_answer("overview", json!({"overview": "Too short."}));

    // Act
    let error = pipeline(&env).await.rewrite(&job("n1")).await.unwrap_err();

    // Assert
    assert!(
        matches!(
            error,
            JobError::Llm(LlmError::InvalidAnswer { asks: 3, .. })
        ),
        "{error}"
    );
    assert_eq!(error.disposition(), Disposition::DeadLetter);
    assert!(
        error
            .to_string()
            .contains("overview: write two or three full sentences")
    );
    assert!(env.articles().is_empty());
}

#[tokio::test]
async fn invented_figures_and_html_that_survive_re_asks_make_a_draft_with_reasons() {
    // Arrange
    let env = TestEnv::new().await;
    env.llm.set_answer(
        "overview",
        json!({"overview": "Miners lost <b>half</b> their revenue in 2031, according to a report by analysts."}),
    );

    // Act
    let outcome = pipeline(&env).await.rewrite(&job("d1")).await.unwrap();

    // Assert
    assert!(
        matches!(outcome, Outcome::Written { draft: true, .. }),
        "{outcome:?}"
    );
    let text = std::fs::read_to_string(env.out().join("articles/d1.md")).unwrap();
    assert!(text.contains("\ndraft: true\n"), "{text}");
    assert!(
        text.contains("figures not in the news item: 2031"),
        "{text}"
    );
    assert!(text.contains("contains HTML"), "{text}");
}

#[tokio::test]
async fn a_provider_failing_for_good_is_an_outage_that_holds_the_job_not_a_dead_letter() {
    // Arrange
    let mut env = TestEnv::new().await;
    env.set("REWRITER_LLM_MAX_ATTEMPTS", "3");
    env.llm.set_fault_rate(1.0, vec![Fault::ServerError]);
    let pipeline = pipeline(&env).await;

    // Act
    let error = pipeline.rewrite(&job("x1")).await.unwrap_err();

    // Assert
    assert!(
        matches!(error, JobError::Llm(LlmError::Unavailable { .. })),
        "{error}"
    );
    assert_eq!(error.disposition(), Disposition::WaitForLlm);
    assert!(error.to_string().contains("HTTP 500"), "{error}");
    assert_eq!(env.llm.requests(), 3);
    assert!(pipeline.llm().circuit().is_open());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_api_key_stops_the_worker_and_returns_the_job() {
    // Arrange
    let env = TestEnv::new().await;
    env.llm.set_fault_rate(
        1.0,
        vec![Fault::Status {
            code: 401,
            retry_after: None,
            body: r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#.into(),
        }],
    );
    env.publish_raw(&job("k1").to_json()).await;

    // Act
    let worker = env.spawn_worker().await;
    let result = worker.join().await;

    // Assert
    let error = result.unwrap_err().to_string();
    assert!(
        error.contains("401") && error.contains("Incorrect API key"),
        "{error}"
    );
    assert!(!error.contains("sk-test-canary"), "{error}");
    assert_eq!(
        env.depth(&env.queue).await,
        1,
        "the job is back in the queue"
    );
    assert_eq!(env.depth(&env.dead_queue()).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_lettered_job_carries_its_reason_and_attempts() {
    // Arrange
    let env = TestEnv::new().await;
    env.llm.set_fault_rate(1.0, vec![Fault::Prose]);
    env.publish_raw(&job("dl1").to_json()).await;

    // Act
    let worker = env.spawn_worker().await;
    env.wait_for_dead_letters(1, Duration::from_secs(20)).await;
    worker.stop().await;

    // Assert
    let dead = env.drain_dead_letters().await;
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .1
            .contains("no usable answer after 3 asks: the answer is not one JSON object"),
        "{}",
        dead[0].1
    );
    assert_eq!(dead[0].0, job("dl1").to_json());
}

#[tokio::test]
async fn a_primary_model_that_keeps_failing_hands_the_call_to_the_fallback() {
    // Arrange: prompt set v1 with a fallback model, and a primary that fails twice
    let mut env = TestEnv::new().await;
    let prompts = tempfile::tempdir().unwrap();
    let v1 = prompts.path().join("v1");
    std::fs::create_dir(&v1).unwrap();
    for entry in std::fs::read_dir(crate::support::repo().join("prompts/v1")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, v1.join(path.file_name().unwrap())).unwrap();
    }
    let manifest = std::fs::read_to_string(v1.join("manifest.toml")).unwrap();
    let manifest = manifest.replace(
        "fallback_models = []",
        "fallback_models = [\"backup-model\"]",
    );
    std::fs::write(v1.join("manifest.toml"), manifest).unwrap();
    env.set("REWRITER_PROMPTS", &prompts.path().display().to_string());
    env.set("REWRITER_LLM_MAX_ATTEMPTS", "2");
    env.llm
        .push_faults([Fault::ServerError, Fault::ServerError]);

    // Act
    let outcome = pipeline(&env).await.rewrite(&job("fb1")).await.unwrap();

    // Assert
    assert!(
        matches!(outcome, Outcome::Written { requests: 6, .. }),
        "{outcome:?}"
    );
    let models: Vec<String> = env
        .llm
        .received()
        .iter()
        .map(|r| r["model"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(models[..3], ["gpt-4o-mini", "gpt-4o-mini", "backup-model"]);
    let article = std::fs::read_to_string(env.out().join("articles/fb1.md")).unwrap();
    assert!(
        article.contains("\n  model: 'backup-model, gpt-4o-mini'\n"),
        "{article}"
    );
}
