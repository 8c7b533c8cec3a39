//! Many hosts on one bucket: three worker processes on one queue, every job published twice,
//! one worker SIGKILLed mid-batch; and a proxy that faults the requests between worker and
//! server. Exactly one version per job, every article whole and contract-valid, queues empty.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::support::moto::{Bucket, Moto};
use crate::support::news::message as job;
use crate::support::s3_proxy::FaultProxy;
use crate::support::{TestEnv, assert_keeps_contract, poll_until};

/// How many ids have a version in the bucket.
async fn versions_written(bucket: &Bucket) -> usize {
    bucket
        .keys()
        .await
        .iter()
        .filter(|k| k.starts_with("versions/"))
        .count()
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Asserts the archive holds exactly `ids` jobs' three objects each, one version apiece equal
/// to the published copy, and every article keeps the contract; and that the cost index has
/// one entry per version.
async fn assert_one_whole_version_per_job(bucket: &Bucket, ids: &[String]) {
    let (index, keys): (Vec<String>, Vec<String>) = bucket
        .keys()
        .await
        .into_iter()
        .partition(|k| k.starts_with("index/"));
    let indexed: Vec<&str> = index
        .iter()
        .filter_map(|k| k.strip_prefix("index/cost/")?.split_once("/v1."))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(indexed, ids, "{index:?}");
    let mut expected: Vec<String> = ids
        .iter()
        .flat_map(|id| {
            [
                format!("articles/{id}.md"),
                format!("sources/{id}.json"),
                format!("versions/{id}/v1.md"),
            ]
        })
        .collect();
    expected.sort();
    assert_eq!(keys, expected);
    let copy = tempfile::tempdir().unwrap();
    bucket.mirror(copy.path()).await;
    for id in ids {
        let article = copy.path().join(format!("articles/{id}.md"));
        let version = copy.path().join(format!("versions/{id}/v1.md"));
        assert_eq!(
            std::fs::read(&article).unwrap(),
            std::fs::read(&version).unwrap(),
            "{id}: the published copy is the version"
        );
        assert_keeps_contract(&article, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_on_one_bucket_write_each_job_once_through_a_sigkill() {
    // Arrange: 40 jobs, each published twice; an LLM slow enough to kill a worker mid-batch
    const JOBS: usize = 40;
    let mut env = TestEnv::new().await;
    let moto = Moto::start();
    let bucket = env.use_bucket(&moto);
    env.llm.set_latency(Duration::from_millis(40));
    let ids: Vec<String> = (0..JOBS).map(|i| format!("h{i:03}")).collect();
    for _ in 0..2 {
        for id in &ids {
            env.publish_raw(&job(id)).await;
        }
    }

    // Act: three workers; one SIGKILLed once a few articles are out …
    let mut workers: Vec<Child> = (0..3)
        .map(|_| {
            env.command(&["worker"])
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    poll_until(Duration::from_secs(60), async || {
        let n = versions_written(&bucket).await;
        if n >= 5 {
            Ok(())
        } else {
            Err(format!("{n} versions"))
        }
    })
    .await;
    workers[0].kill().unwrap();
    workers[0].wait().unwrap();
    // … a replacement that exits once the queue is empty, then the other two stop
    let replacement = env
        .command(&["worker", "--exit-when-idle"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(replacement.success());
    for worker in &mut workers[1..] {
        sigterm(worker);
        assert!(worker.wait().unwrap().success());
    }

    // Assert
    assert_one_whole_version_per_job(&bucket, &ids).await;
    assert_eq!(env.depth(&env.queue).await, 0);
    assert_eq!(env.depth(&env.dead_queue()).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_between_worker_and_bucket_lose_and_duplicate_nothing() {
    // Arrange: a proxy failing a fifth of the requests (503 SlowDown, slow, dropped before or
    // after the server acted), 30 jobs
    const JOBS: usize = 30;
    let mut env = TestEnv::new().await;
    let moto = Moto::start();
    let proxy = FaultProxy::start(moto.port, 0.2).await;
    let bucket = env.use_bucket_at(&moto.endpoint(), &moto.bucket(), &proxy.endpoint());
    env.set("RUST_LOG", "off");
    let ids: Vec<String> = (0..JOBS).map(|i| format!("p{i:03}")).collect();
    for id in &ids {
        env.publish_raw(&job(id)).await;
    }

    // Act
    let output = env.run(&["worker", "--exit-when-idle"], "");

    // Assert
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_one_whole_version_per_job(&bucket, &ids).await;
    assert_eq!(env.depth(&env.queue).await, 0);
    assert_eq!(env.depth(&env.dead_queue()).await, 0);
    let faults = proxy.counts.faults.load(Ordering::Relaxed);
    assert!(faults >= 5, "only {faults} faults injected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_that_stays_down_returns_the_job_and_readyz_says_why() {
    // Arrange: a worker up against a bucket that then answers only 503
    let mut env = TestEnv::new().await;
    let moto = Moto::start();
    let proxy = FaultProxy::start(moto.port, 0.0).await;
    let bucket = env.use_bucket_at(&moto.endpoint(), &moto.bucket(), &proxy.endpoint());
    let port = crate::support::moto::free_port();
    env.set("REWRITER_METRICS_ADDR", &format!("127.0.0.1:{port}"));
    env.set("RUST_LOG", "off");
    let mut worker = env
        .command(&["worker"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}");
    poll_until(
        Duration::from_secs(30),
        async || match rewriter::health::get(&addr, "/readyz").await {
            Ok((200, _)) => Ok(()),
            other => Err(format!("{other:?}")),
        },
    )
    .await;
    proxy.counts.down.store(true, Ordering::Relaxed);

    // Act
    env.publish_raw(&job("down1")).await;

    // Assert: not ready, naming the store, while the job waits to go back to the queue …
    let reason = poll_until(
        Duration::from_secs(60),
        async || match rewriter::health::get(&addr, "/readyz").await {
            Ok((503, body)) if body.contains("store:") => Ok(body),
            other => Err(format!("{other:?}")),
        },
    )
    .await;
    assert!(reason.contains("503"), "{reason}");
    assert!(!reason.contains(crate::support::moto::SECRET_KEY));
    // … returned at shutdown, and written once the bucket is back
    proxy.counts.down.store(false, Ordering::Relaxed);
    sigterm(&worker);
    assert!(worker.wait().unwrap().success());
    assert_eq!(
        env.depth(&env.queue).await,
        1,
        "the job went back to the queue"
    );
    let drained = env.run(&["worker", "--exit-when-idle"], "");
    assert!(drained.status.success());
    assert_one_whole_version_per_job(&bucket, &["down1".to_owned()]).await;
}
