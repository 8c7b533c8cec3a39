//! Faults an operator meets at 3 a.m.: a model whose answers are unusable (the jobs wait in
//! the dead-letter queue and come back after the fix), a worker killed with SIGKILL mid-batch,
//! the broker closing the worker's connection. Nothing is lost, nothing is torn.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::news::message;
use crate::support::{Fault, TestEnv, assert_keeps_contract};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_with_their_reasons_and_requeued_after_the_fix() {
    // Arrange: a model whose every answer is prose, not JSON, and a poison message
    let env = TestEnv::new().await;
    env.llm.set_fault_rate(1.0, vec![Fault::Prose]);
    env.publish_raw(&message("j1")).await;
    env.publish_raw(&message("j2")).await;
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
        stdout.contains(
            "j1: call overview: no usable answer after 3 asks: the answer is not one JSON object"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("(unreadable job): invalid job: body is not JSON"),
        "{stdout}"
    );
    assert!(stdout.contains("3 dead letter(s)"), "{stdout}");
    assert_eq!(env.depth(&env.dead_queue()).await, 3);

    // Act: the model is fixed; one job goes back
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

/// Closes, from the broker's side, the connections of this queue's workers.
fn close_worker_connections(queue: &str) -> usize {
    let out = Command::new("rabbitmqctl")
        .args([
            "-q",
            "--no-table-headers",
            "list_connections",
            "pid",
            "client_properties",
        ])
        .output()
        .expect("rabbitmqctl runs");
    let listing = String::from_utf8_lossy(&out.stdout);
    let ours: Vec<&str> = listing
        .lines()
        .filter(|l| l.contains(&format!("rewriter worker {queue} ")))
        .filter_map(|l| l.split('\t').next())
        .collect();
    for pid in &ours {
        let closed = Command::new("rabbitmqctl")
            .args(["-q", "close_connection", pid, "fault test"])
            .status()
            .expect("rabbitmqctl runs");
        assert!(closed.success());
    }
    ours.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_survives_a_flaky_llm_sigkills_and_broker_disconnects() {
    // Arrange: 200 jobs and 10 poison messages; an LLM failing a fifth of all calls
    // A soak: REWRITER_SOAK_JOBS=5000 cargo test --test e2e a_batch_survives -- --nocapture
    let jobs: usize = std::env::var("REWRITER_SOAK_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    const POISON: usize = 10;
    let mut env = TestEnv::new().await;
    env.set("REWRITER_CONCURRENCY", "8");
    env.llm.set_latency(Duration::from_millis(20));
    env.llm.set_fault_rate(
        0.2,
        vec![
            Fault::ServerError,
            Fault::Drop,
            Fault::PlainText429,
            Fault::Status {
                code: 503,
                retry_after: Some("0".into()),
                body: "busy".into(),
            },
            Fault::Prose,
        ],
    );
    for i in 0..jobs {
        env.publish_raw(&message(&format!("f{i:03}"))).await;
    }
    for i in 0..POISON {
        env.publish_raw(format!("{{\"headline\": {{\"externalId\": \"../p{i}\"}}}}").as_bytes())
            .await;
    }
    let started = Instant::now();

    // Act: three workers killed with SIGKILL mid-batch …
    let mut kills = 0;
    for _ in 0..3 {
        let mut worker = env
            .command(&["worker"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let before = env.articles().len();
        let deadline = Instant::now() + Duration::from_secs(30);
        while env.articles().len() < before + 10 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        worker.kill().unwrap();
        worker.wait().unwrap();
        kills += 1;
    }
    // … then one that the broker disconnects twice, and that drains the queue.
    let mut last = env
        .command(&["worker", "--exit-when-idle"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut disconnects = 0;
    for _ in 0..2 {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut closed = 0;
        while closed == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(300)).await;
            closed = close_worker_connections(&env.queue);
        }
        disconnects += closed;
    }
    let status = tokio::task::spawn_blocking(move || last.wait())
        .await
        .unwrap()
        .unwrap();
    let elapsed = started.elapsed();

    // Assert
    assert!(status.success(), "{status:?}");
    assert!(
        disconnects >= 2,
        "the broker closed the worker's connection twice"
    );
    let articles = env.articles();
    let dead = env.drain_dead_letters().await;
    // A valid job may rightly end in `.dead`: about one final answer in twenty is prose here,
    // and three in a row use up a call's re-asks (a run of ~850 calls sees that about one time
    // in ten). What must never happen is a job with neither an article nor a dead letter.
    let (poison, gave_up): (Vec<_>, Vec<_>) = dead
        .iter()
        .partition(|(body, _)| String::from_utf8_lossy(body).contains("../p"));
    assert_eq!(poison.len(), POISON, "{dead:?}");
    assert!(
        poison
            .iter()
            .all(|(_, reason)| reason.contains("externalId"))
    );
    assert!(
        gave_up
            .iter()
            .all(|(_, reason)| reason.contains("no usable answer")),
        "valid jobs dead-lettered for another reason: {gave_up:?}"
    );
    let gave_up_ids: Vec<String> = gave_up
        .iter()
        .map(|(body, _)| {
            let job: serde_json::Value = serde_json::from_slice(body).unwrap();
            job["headline"]["externalId"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(gave_up_ids.len() <= 3 + jobs / 100, "{gave_up_ids:?}");
    assert_eq!(
        articles.len() + gave_up_ids.len(),
        jobs,
        "every valid job has its article or its reason in .dead"
    );
    for i in 0..jobs {
        let id = format!("f{i:03}");
        if gave_up_ids.contains(&id) {
            assert!(!env.out().join(format!("articles/{id}.md")).exists());
            continue;
        }
        let versions: Vec<_> = std::fs::read_dir(env.out().join(format!("versions/{id}")))
            .unwrap()
            .collect();
        assert_eq!(versions.len(), 1, "{id} has exactly one version");
    }
    for article in &articles {
        assert_keeps_contract(article, None);
    }
    let leftovers: Vec<_> = env
        .all_files()
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    assert_eq!(env.depth(&env.queue).await, 0);
    eprintln!(
        "fault suite: {jobs} jobs + {POISON} poison, {} LLM requests, {kills} SIGKILLs, {disconnects} broker disconnects, {} valid jobs out of re-asks, {elapsed:.1?}",
        env.llm.requests(),
        gave_up_ids.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_that_refuses_writes_keeps_the_job_unacked_until_it_is_fixed() {
    // Arrange: `sources` is a file, so no source can be written (even by root)
    let env = TestEnv::new().await;
    let sources = env.out().join("sources");
    let worker = env.spawn_worker().await;
    std::fs::remove_dir(&sources).unwrap();
    std::fs::write(&sources, "in the way").unwrap();
    env.publish_raw(&message("disk1")).await;

    // Act: the job fails to be stored
    env.wait_for_llm_requests(4, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let summary = worker.stop().await;

    // Assert: not acked, not dead-lettered, not retried in a hot loop; back in the queue
    assert_eq!(env.llm.requests(), 4, "one attempt, then a wait");
    assert_eq!(summary.written, 0);
    assert_eq!(summary.requeued, 1);
    assert_eq!(env.depth(&env.queue).await, 1);
    assert_eq!(env.depth(&env.dead_queue()).await, 0);

    // Act: the disk is fixed
    std::fs::remove_file(&sources).unwrap();
    let worker = env.spawn_worker().await;
    let articles = env.wait_for_articles(1, Duration::from_secs(20)).await;
    worker.stop().await;

    // Assert
    assert_keeps_contract(&articles[0], None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_accepts_but_never_answers_is_given_up_on_not_waited_for_forever() {
    // Arrange: a TCP listener that takes connections and says nothing (a booting broker)
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut env = TestEnv::new().await;
    env.set(
        "AMQP_URL",
        &format!("amqp://guest:guest@127.0.0.1:{port}/%2f"),
    );
    let started = Instant::now();

    // Act
    let output = tokio::task::spawn_blocking(move || env.run(&["enqueue"], ""))
        .await
        .unwrap();

    // Assert
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("did not complete the connection"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(40));
    silent.abort();
}
