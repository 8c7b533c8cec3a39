//! The test harness: an isolated environment per test (unique queues, temporary output
//! folder, a fake LLM), a running worker, raw AMQP access and the article checker.

pub mod browser;
pub mod contract;
pub mod desk;
pub mod fake_llm;
pub mod feed_server;
pub mod moto;
pub mod news;
pub mod s3_proxy;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use lapin::options::{BasicGetOptions, BasicPublishOptions, QueueDeleteOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use rewriter::config::Settings;
use rewriter::pipeline::Pipeline;
use rewriter::worker::{RunSummary, Worker};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use fake_llm::{Away, FakeLlm, Fault};

pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// A free TCP port on the loopback (bound, then released for the caller).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The repository root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One test's world. Dropping it deletes its queues.
pub struct TestEnv {
    pub queue: String,
    pub out: TempDir,
    pub llm: FakeLlm,
    pub vars: HashMap<String, String>,
}

impl TestEnv {
    /// Unique queue names, an empty output folder and a fresh fake LLM.
    pub async fn new() -> Self {
        init_logs();
        let llm = FakeLlm::start().await;
        let out = tempfile::tempdir().expect("temp dir");
        let queue = format!(
            "rewriter-test-{}-{:08x}",
            std::process::id(),
            fastrand::u32(..)
        );
        let vars: HashMap<String, String> = [
            ("AMQP_URL", AMQP_URL.to_owned()),
            ("REWRITER_QUEUE", queue.clone()),
            ("OPENAI_BASE_URL", llm.base_url()),
            ("OPENAI_API_KEY", "sk-test-canary-0000".to_owned()),
            ("REWRITER_OUT", out.path().display().to_string()),
            (
                "REWRITER_PROMPTS",
                repo().join("prompts").display().to_string(),
            ),
            // The frozen four-call set: what a test sees does not change when editors add a
            // prompt set. Tests of the current set unset this (`TestEnv::current_prompts`).
            ("REWRITER_PROMPT_VERSION", "1".to_owned()),
            ("REWRITER_CONCURRENCY", "4".to_owned()),
            ("REWRITER_LLM_TIMEOUT_SECS", "5".to_owned()),
            ("REWRITER_SHUTDOWN_GRACE_SECS", "10".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        // The broker as deployed: queue/definitions.json creates the queues before anyone
        // publishes. (A publish to a queue that does not exist is dropped by the broker.)
        let conn = connect().await;
        let channel = conn.create_channel().await.unwrap();
        rewriter::queue::declare_topology(&channel, &queue)
            .await
            .unwrap();
        let _ = conn.close(200, "bye".into()).await;
        Self {
            queue,
            out,
            llm,
            vars,
        }
    }

    pub fn set(&mut self, var: &str, value: &str) {
        self.vars.insert(var.to_owned(), value.to_owned());
    }

    /// Runs the shipped prompts' current set (the highest version) instead of the frozen v1.
    pub fn current_prompts(&mut self) {
        self.vars.remove("REWRITER_PROMPT_VERSION");
    }

    pub fn settings(&self) -> Settings {
        Settings::from_map(&self.vars).expect("test settings are valid")
    }

    /// The real pipeline, built from these settings.
    pub async fn pipeline(&self) -> Pipeline {
        Pipeline::build(&self.settings(), Default::default())
            .await
            .expect("the pipeline builds")
    }

    pub fn out(&self) -> &Path {
        self.out.path()
    }

    pub fn dead_queue(&self) -> String {
        format!("{}.dead", self.queue)
    }

    /// Builds and runs a worker in this process, as `main` does.
    pub async fn spawn_worker(&self) -> RunningWorker {
        let worker = Worker::build(self.settings(), Default::default())
            .await
            .expect("worker builds");
        let metrics = worker.metrics();
        let metrics_addr = worker.metrics_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(worker.run_until(async {
            let _ = stopped.await;
        }));
        RunningWorker {
            stop: Some(stop),
            handle,
            metrics,
            metrics_addr,
        }
    }

    /// The `rewriter` binary with this environment (and nothing of the caller's).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rewriter"));
        cmd.args(args)
            .env_clear()
            .envs(&self.vars)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(self.out.path());
        cmd
    }

    /// Starts the binary with its output piped, feeds it `stdin` and closes it.
    pub fn spawn(&self, args: &[&str], stdin: &str) -> Child {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rewriter starts");
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(stdin.as_bytes())
            .expect("stdin is written");
        child
    }

    /// Runs the binary to completion, feeding `stdin`.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        self.spawn(args, stdin)
            .wait_with_output()
            .expect("rewriter runs")
    }

    /// Publishes raw bytes to the jobs queue with a plain AMQP client (not our code).
    pub async fn publish_raw(&self, body: &[u8]) {
        let conn = connect().await;
        let channel = conn.create_channel().await.unwrap();
        channel.confirm_select(Default::default()).await.unwrap();
        let confirm = channel
            .basic_publish(
                "".into(),
                self.queue.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                body,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert!(confirm.is_ack());
        assert!(confirm.take_message().is_none(), "the jobs queue exists");
        conn.close(200, "bye".into()).await.unwrap();
    }

    /// Messages ready in a queue.
    pub async fn depth(&self, queue: &str) -> u32 {
        self.ready_and_consumers(queue).await.0
    }

    /// Messages ready in a queue, and its consumers.
    pub async fn ready_and_consumers(&self, queue: &str) -> (u32, u32) {
        let conn = connect().await;
        let channel = conn.create_channel().await.unwrap();
        let q = channel
            .queue_declare(
                queue.into(),
                lapin::options::QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        let _ = conn.close(200, "bye".into()).await;
        (q.message_count(), q.consumer_count())
    }

    /// Takes every message from `<queue>.dead`: body and `x-rewriter-error`.
    pub async fn drain_dead_letters(&self) -> Vec<(Vec<u8>, String)> {
        let conn = connect().await;
        let channel = conn.create_channel().await.unwrap();
        let mut out = Vec::new();
        while let Some(msg) = channel
            .basic_get(
                self.dead_queue().as_str().into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap()
        {
            let reason = msg
                .delivery
                .properties
                .headers()
                .as_ref()
                .and_then(|h| h.inner().get("x-rewriter-error").cloned())
                .map(|v| match v {
                    AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
                    other => format!("{other:?}"),
                })
                .unwrap_or_default();
            out.push((msg.delivery.data.clone(), reason));
        }
        let _ = conn.close(200, "bye".into()).await;
        out
    }

    /// Waits until `n` articles are published, or panics after `timeout`.
    pub async fn wait_for_articles(&self, n: usize, timeout: Duration) -> Vec<PathBuf> {
        poll_until(timeout, async || {
            let files = self.articles();
            if files.len() >= n {
                Ok(files)
            } else {
                Err(format!("only {} of {n} articles", files.len()))
            }
        })
        .await
    }

    /// Waits until `<queue>.dead` holds `n` messages.
    pub async fn wait_for_dead_letters(&self, n: u32, timeout: Duration) {
        let queue = self.dead_queue();
        poll_until(timeout, async || {
            let depth = self.depth(&queue).await;
            if depth >= n {
                Ok(())
            } else {
                Err(format!("{depth} of {n} dead letters"))
            }
        })
        .await
    }

    /// Waits until `queue` holds exactly `n` ready messages.
    pub async fn wait_for_depth(&self, queue: &str, n: u32, timeout: Duration) {
        poll_until(timeout, async || {
            let depth = self.depth(queue).await;
            if depth == n {
                Ok(())
            } else {
                Err(format!("{queue} holds {depth} messages, not {n},"))
            }
        })
        .await
    }

    /// Waits until the fake LLM has had at least `n` requests.
    pub async fn wait_for_llm_requests(&self, n: usize, timeout: Duration) {
        poll_until(timeout, async || {
            let requests = self.llm.requests();
            if requests >= n {
                Ok(())
            } else {
                Err(format!("{requests} of {n} LLM requests"))
            }
        })
        .await
    }

    /// Published article files, sorted: not the temporaries a save in progress has written
    /// beside them (`.<name>.<pid>.<n>.tmp`, renamed to `<name>` when the group is flushed).
    pub fn articles(&self) -> Vec<PathBuf> {
        let mut files = files_in(&self.out().join("articles"));
        files.retain(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.'))
        });
        files
    }

    /// Takes every job from the jobs queue (they are gone after), each validated as a worker
    /// would validate it.
    pub async fn take_jobs(&self) -> Vec<rewriter::job::Job> {
        let conn = connect().await;
        let channel = conn.create_channel().await.unwrap();
        let mut jobs = Vec::new();
        while let Some(msg) = channel
            .basic_get(self.queue.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            jobs.push(rewriter::job::Job::from_json(&msg.delivery.data).expect("a valid job"));
        }
        let _ = conn.close(200, "bye".into()).await;
        jobs
    }

    /// Every file under the output folder, sorted.
    pub fn all_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        walk(self.out(), &mut out);
        out.sort();
        out
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let queues = [self.queue.clone(), self.dead_queue()];
        // Drop cannot await: clean up on a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                let Ok(conn) = Connection::connect(AMQP_URL, ConnectionProperties::default()).await
                else {
                    return;
                };
                if let Ok(channel) = conn.create_channel().await {
                    for q in queues {
                        let _ = channel
                            .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                            .await;
                    }
                }
                let _ = conn.close(200, "bye".into()).await;
            });
        })
        .join();
    }
}

/// A worker running in this process.
pub struct RunningWorker {
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<RunSummary, rewriter::worker::WorkerError>>,
    pub metrics: std::sync::Arc<rewriter::metrics::Metrics>,
    /// Where it serves /metrics, when REWRITER_METRICS_ADDR was set.
    pub metrics_addr: Option<std::net::SocketAddr>,
}

impl RunningWorker {
    /// Jobs settled so far (written, skipped, dead-lettered or requeued).
    pub fn settled(&self) -> u64 {
        self.metrics.settled()
    }

    /// Waits until `n` jobs are settled, or panics after `timeout`.
    pub async fn wait_settled(&self, n: u64, timeout: Duration) {
        poll_until(timeout, async || {
            let settled = self.settled();
            if settled >= n {
                Ok(())
            } else {
                Err(format!("only {settled} of {n} jobs settled"))
            }
        })
        .await
    }

    /// Waits for the worker to stop by itself (it hit a fatal error).
    pub async fn join(self) -> Result<RunSummary, rewriter::worker::WorkerError> {
        tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .expect("worker stops within 30 s")
            .expect("worker task does not panic")
    }

    /// Sends the shutdown signal and waits for the worker to return.
    pub async fn stop(mut self) -> RunSummary {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), &mut self.handle)
            .await
            .expect("worker stops within 30 s")
            .expect("worker task does not panic")
            .expect("worker stops without error")
    }
}

pub async fn connect() -> Connection {
    Connection::connect(AMQP_URL, ConnectionProperties::default())
        .await
        .expect("RabbitMQ runs on 127.0.0.1:5672 (rabbitmq-server -detached)")
}

/// The example headlines shipped with the repo, one JSON object per line.
pub fn example_headlines() -> String {
    std::fs::read_to_string(repo().join("examples/headlines.ndjson")).expect("examples exist")
}

/// The example headlines as JSON values, by externalId.
pub fn example_sources() -> HashMap<String, serde_json::Value> {
    example_headlines()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let id = match &v["externalId"] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (id, v)
        })
        .collect()
}

/// Copies the shipped prompt set `prompts/<version>/` (e.g. `v1`) to `to`, for tests that
/// build prompt folders of their own.
pub fn copy_prompt_set(version: &str, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(repo().join("prompts").join(version)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Every file under `dir` with its bytes, sorted by path: to show that nothing changed there.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

/// Asserts an article file keeps the contract (and matches its source headline).
pub fn assert_keeps_contract(path: &Path, source: Option<&serde_json::Value>) {
    let text = std::fs::read_to_string(path).unwrap();
    let problems = contract::check_article(&text, source, None);
    assert!(
        problems.is_empty(),
        "{}: {problems:#?}\n{text}",
        path.display()
    );
}

/// Asks `check` every 20 ms until it answers `Ok`, and returns that; panics with its last
/// `Err` (what it saw instead) once `timeout` has passed. The one polling loop of the suite: the
/// `wait_*` helpers and the tests that wait for a condition of their own use it.
pub async fn poll_until<T>(
    timeout: Duration,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(seen) => assert!(Instant::now() < deadline, "{seen} after {timeout:?}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for path in files_in(dir) {
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn init_logs() {
    if std::env::var("TEST_LOG").is_ok() {
        rewriter::telemetry::init(
            rewriter::config::LogFormat::Pretty,
            Some("debug,lapin=info,async_openai=info,hyper=info,reqwest=info"),
            rewriter::telemetry::colour_on_stderr(false),
            std::io::stderr,
        );
    }
}
