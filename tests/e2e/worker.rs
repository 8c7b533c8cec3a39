//! The worker: headlines from the queue become articles that keep the contract; poison is
//! dead-lettered with its reason; written versions are not written again; SIGTERM loses
//! nothing, and a written job is acked while the worker runs; `REWRITER_CONCURRENCY` jobs
//! really run at once.

use std::time::Duration;

use serde_json::json;

use crate::support::{
    TestEnv, assert_keeps_contract, example_headlines, example_sources, poll_until,
};

fn job(id: &str, title: &str) -> serde_json::Value {
    json!({
        "headline": {
            "externalId": id,
            "title": title,
            "description": "Operators unplugged machines as revenue fell.",
            "publishedAt": "2026-02-05T17:45:43.000Z",
            "source": {"name": "Bloomberg (Crypto)", "key": "bloomberg_crypto_", "type": "RSS"}
        }
    })
}

/// Publishes `n` jobs titled `title`, with the ids `<prefix>0`, `<prefix>1`, ….
async fn publish_jobs(env: &TestEnv, prefix: &str, title: &str, n: usize) {
    for i in 0..n {
        env.publish_raw(job(&format!("{prefix}{i}"), title).to_string().as_bytes())
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_headlines_enqueued_by_the_cli_become_articles_that_keep_the_contract() {
    // Arrange
    let env = TestEnv::new().await;
    let sources = example_sources();
    let output = env.run(&["enqueue", "-"], &example_headlines());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains(&format!("enqueued {} job(s)", sources.len()))
    );

    // Act
    let worker = env.spawn_worker().await;
    let articles = env
        .wait_for_articles(sources.len(), Duration::from_secs(30))
        .await;
    worker
        .wait_settled(sources.len() as u64, Duration::from_secs(10))
        .await;
    let summary = worker.stop().await;

    // Assert
    assert_eq!(summary.written, sources.len() as u64);
    for (id, source) in &sources {
        let article = env.out().join(format!("articles/{id}.md"));
        assert_keeps_contract(&article, Some(source));
        let version = env.out().join(format!("versions/{id}/v1.md"));
        assert_eq!(
            std::fs::read(&version).unwrap(),
            std::fs::read(&article).unwrap()
        );
        let stored: serde_json::Value = serde_json::from_slice(
            &std::fs::read(env.out().join(format!("sources/{id}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(stored["title"], source["title"]);
    }
    assert_eq!(articles.len(), sources.len());
    assert_eq!(env.depth(&env.queue).await, 0);
    assert_eq!(env.depth(&env.dead_queue()).await, 0);
    let german = std::fs::read_to_string(env.out().join("articles/57763817.md")).unwrap();
    assert!(
        german.contains("\n## Überblick\n")
            && german.contains("\n## Auswirkungen auf den Kryptomarkt\n")
    );
    let no_temporaries = env
        .all_files()
        .iter()
        .all(|p| !p.to_string_lossy().ends_with(".tmp"));
    assert!(no_temporaries, "{:?}", env.all_files());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_current_prompt_set_each_article_is_written_from_one_request() {
    // Arrange: the shipped prompts' current set (v4), the English example headlines
    let mut env = TestEnv::new().await;
    env.current_prompts();
    let sources = example_sources();
    let english: Vec<String> = sources
        .values()
        .filter(|headline| headline["lang"] != "de")
        .map(|headline| headline.to_string())
        .collect();
    assert!(
        english.len() >= 5 && english.len() < sources.len(),
        "{english:?}"
    );
    assert!(
        env.run(&["enqueue", "-"], &english.join("\n"))
            .status
            .success()
    );

    // Act
    let worker = env.spawn_worker().await;
    env.wait_for_articles(english.len(), Duration::from_secs(30))
        .await;
    worker
        .wait_settled(english.len() as u64, Duration::from_secs(10))
        .await;
    worker.stop().await;

    // Assert: one request an article, for the whole article, and articles that keep the
    // contract, recorded as v4
    let requests = env.llm.received();
    assert_eq!(requests.len(), english.len());
    for body in &requests {
        assert_eq!(
            crate::support::fake_llm::schema_name(body).as_deref(),
            Some("article")
        );
    }
    for article in env.articles() {
        let id = article.file_stem().unwrap().to_string_lossy().into_owned();
        assert_keeps_contract(&article, Some(&sources[&id]));
        let text = std::fs::read_to_string(&article).unwrap();
        let ai = rewriter::article::parse_frontmatter(&text).unwrap().ai;
        assert_eq!(ai.version, 4, "{id}");
        assert_eq!(
            std::fs::read(env.out().join(format!("versions/{id}/v4.md"))).unwrap(),
            text.as_bytes()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_published_by_a_plain_amqp_client_is_processed() {
    // Arrange
    let env = TestEnv::new().await;
    let worker = env.spawn_worker().await;

    // Act: raw bytes, no content type, no headers: any AMQP client can do this.
    env.publish_raw(
        job("raw-1", "Ether Slips as Staking Withdrawals Climb")
            .to_string()
            .as_bytes(),
    )
    .await;
    let articles = env.wait_for_articles(1, Duration::from_secs(20)).await;
    worker.stop().await;

    // Assert
    assert_keeps_contract(
        &articles[0],
        Some(&job("raw-1", "Ether Slips as Staking Withdrawals Climb")),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_jobs_are_dead_lettered_with_their_reason_and_the_worker_goes_on() {
    // Arrange
    let env = TestEnv::new().await;
    let mut bad_id = job("x", "T");
    bad_id["headline"]["externalId"] = json!("../../etc/passwd");
    let mut bad_date = job("d1", "T");
    bad_date["headline"]["publishedAt"] = json!("last tuesday");
    let mut no_title = job("t1", "T");
    no_title["headline"]
        .as_object_mut()
        .unwrap()
        .remove("title");
    let mut wrong_type = job("w1", "T");
    wrong_type["headline"]["tags"] = json!("BTC");
    let poison: Vec<(Vec<u8>, &str)> = vec![
        (b"this is not json".to_vec(), "not JSON"),
        (vec![0xff, 0xfe, 0x00], "not UTF-8"),
        (Vec::new(), "empty"),
        (bad_id.to_string().into_bytes(), "externalId"),
        (bad_date.to_string().into_bytes(), "headline.publishedAt"),
        (no_title.to_string().into_bytes(), "headline.title"),
        (wrong_type.to_string().into_bytes(), "headline.tags"),
        (vec![b' '; 300 * 1024], "limit"),
    ];
    for (body, _) in &poison {
        env.publish_raw(body).await;
    }
    env.publish_raw(
        job("good-1", "Stablecoin Issuer Adds Token")
            .to_string()
            .as_bytes(),
    )
    .await;

    // Act
    let worker = env.spawn_worker().await;
    env.wait_for_articles(1, Duration::from_secs(20)).await;
    env.wait_for_dead_letters(poison.len() as u32, Duration::from_secs(10))
        .await;
    let summary = worker.stop().await;

    // Assert
    assert_eq!(summary.dead_lettered, poison.len() as u64);
    let dead = env.drain_dead_letters().await;
    for (body, expected) in &poison {
        let (_, reason) = dead
            .iter()
            .find(|(b, _)| b == body)
            .expect("every poison message is dead-lettered whole");
        assert!(
            reason.contains(expected),
            "{reason:?} does not mention {expected:?}"
        );
    }
    assert_eq!(env.articles().len(), 1);
    assert!(!env.out().join("etc").exists());
    assert_eq!(env.llm.requests(), 4, "only the good job reached the LLM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_already_on_disk_is_not_written_again_unless_forced() {
    // Arrange
    let env = TestEnv::new().await;
    let worker = env.spawn_worker().await;
    env.publish_raw(
        job("again-1", "Bitcoin Holds Steady")
            .to_string()
            .as_bytes(),
    )
    .await;
    worker.wait_settled(1, Duration::from_secs(20)).await;
    let first = std::fs::read(env.out().join("versions/again-1/v1.md")).unwrap();
    let requests = env.llm.requests();

    // Act: the same job again (a redelivery, or a duplicate publish)
    env.publish_raw(
        job("again-1", "Bitcoin Holds Steady")
            .to_string()
            .as_bytes(),
    )
    .await;
    worker.wait_settled(2, Duration::from_secs(20)).await;

    // Assert: nothing asked, nothing written
    assert_eq!(env.llm.requests(), requests);
    assert_eq!(
        std::fs::read(env.out().join("versions/again-1/v1.md")).unwrap(),
        first
    );

    // Act: forced
    let mut forced = job("again-1", "Bitcoin Holds Steady");
    forced["force"] = json!(true);
    env.publish_raw(forced.to_string().as_bytes()).await;
    worker.wait_settled(3, Duration::from_secs(20)).await;
    let summary = worker.stop().await;

    // Assert: asked again, still one version file
    assert_eq!(env.llm.requests(), requests * 2);
    assert_eq!(summary.written, 2);
    assert_eq!(summary.already_written, 1);
    let versions: Vec<_> = std::fs::read_dir(env.out().join("versions/again-1"))
        .unwrap()
        .collect();
    assert_eq!(versions.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_jobs_run_at_once_and_no_more() {
    // Arrange
    let mut env = TestEnv::new().await;
    env.set("REWRITER_CONCURRENCY", "3");
    env.llm.set_latency(Duration::from_millis(300));
    publish_jobs(&env, "c", "Solana Volumes Drop", 9).await;

    // Act
    let worker = env.spawn_worker().await;
    env.wait_for_articles(9, Duration::from_secs(30)).await;
    worker.stop().await;

    // Assert: each job's calls are sequential, so calls in flight = jobs in flight
    assert_eq!(env.llm.max_concurrent(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_holds_a_job_for_its_next_slot_and_returns_it_unstarted_on_shutdown() {
    // Arrange: one LLM slot, so the second job delivered waits for it
    let mut env = TestEnv::new().await;
    env.set("REWRITER_CONCURRENCY", "1");
    env.llm.set_latency(Duration::from_millis(500));
    publish_jobs(&env, "w", "Ether Slips", 4).await;
    let worker = env.spawn_worker().await;
    env.wait_for_llm_requests(1, Duration::from_secs(20)).await;
    // The broker has handed out two deliveries: the job at the LLM and the one waiting.
    env.wait_for_depth(&env.queue, 2, Duration::from_secs(5))
        .await;

    // Act
    let summary = worker.stop().await;

    // Assert: the job at the LLM was finished, the waiting one returned without an LLM call
    assert_eq!(summary.written, 1);
    assert_eq!(summary.requeued, 1);
    assert_eq!(env.articles().len(), 1);
    assert_eq!(
        env.llm.requests(),
        4,
        "one job's four calls, none for the returned job"
    );
    assert_eq!(env.depth(&env.queue).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_jobs_and_exits_zero() {
    // Arrange: a real worker process and a slow LLM
    let env = TestEnv::new().await;
    env.llm.set_latency(Duration::from_millis(400));
    publish_jobs(&env, "s", "Ether Slips", 6).await;
    let mut child = env
        .command(&["worker"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("worker starts");
    env.wait_for_llm_requests(1, Duration::from_secs(20)).await;

    // Act
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();

    // Assert: exit 0; every job is an article or back in the queue; jobs in flight finished
    assert!(status.success(), "{status:?}");
    let written = env.articles().len() as u32;
    assert!(
        written >= 4,
        "the 4 jobs in flight were finished, not dropped: {written}"
    );
    assert_eq!(written + env.depth(&env.queue).await, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn written_jobs_are_acked_while_the_worker_runs_not_only_when_it_stops() {
    // Arrange: a worker process, which can be killed without a chance to close its channel,
    // with room for more acks than jobs in a batch (an eighth of its prefetch of 48)
    let mut env = TestEnv::new().await;
    env.set("REWRITER_CONCURRENCY", "32");
    publish_jobs(&env, "ack", "Ether Slips", 3).await;
    let mut child = env
        .command(&["worker"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("worker starts");
    env.wait_for_articles(3, Duration::from_secs(30)).await;
    // Acks wait at most 20 ms for others to join them; give them ten times that.
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Act: SIGKILL, no shutdown
    child.kill().expect("kill the worker");
    tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();

    // Assert: once the broker has dropped the consumer (and returned its unacked deliveries to
    // the queue), nothing comes back, for a second
    poll_until(Duration::from_secs(10), async || {
        match env.ready_and_consumers(&env.queue).await {
            (_, 0) => Ok(()),
            (_, n) => Err(format!("{n} consumers left")),
        }
    })
    .await;
    for _ in 0..10 {
        assert_eq!(
            env.depth(&env.queue).await,
            0,
            "the written jobs were acked before the kill"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_when_idle_drains_the_queue_then_exits_zero() {
    // Arrange
    let env = TestEnv::new().await;
    publish_jobs(&env, "idle", "Ether Slips", 3).await;

    // Act
    let mut child = env
        .command(&["worker", "--exit-when-idle"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || child.wait()),
    )
    .await
    .expect("the worker exits by itself")
    .unwrap()
    .unwrap();

    // Assert
    assert!(status.success(), "{status:?}");
    assert_eq!(env.articles().len(), 3);
    assert_eq!(env.depth(&env.queue).await, 0);
}
