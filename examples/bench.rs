//! Throughput benchmark: one worker process against the project's fake LLM.
//!
//! ```text
//! cargo run --release --example bench -- --jobs 4000 --concurrency 32 --latency-ms 200
//! ```
//!
//! Starts the fake OpenAI-compatible server of the test suite (in this process) with a fixed
//! latency, publishes `--jobs` headlines to a fresh queue on the local RabbitMQ, then runs a
//! worker in a child process (this same program, re-executed, running exactly what
//! `rewriter worker` runs) with `REWRITER_CONCURRENCY=--concurrency`, and prints:
//!
//! * jobs per second and LLM calls per second against the ideal `concurrency / latency`;
//! * the worker's CPU (user + system, whole process, from `/proc`) per job;
//! * its peak resident set (`VmHWM`);
//! * p50/p99 of the time a job spends outside the LLM, from its `/metrics` histogram.
//!
//! The measured window runs from the first LLM request to the last job settled, so start-up
//! (prompt loading, connecting) is not counted. Results go in `bench/README.md`.

#[path = "../tests/e2e/support/fake_llm/mod.rs"]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod fake_llm;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use rewriter::config::Settings;
use rewriter::job::{Headline, Job};
use rewriter::metrics::quantile;
use rewriter::queue::{Broker, Publisher};
use serde_json::Value;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "Throughput of one rewriter worker against the fake LLM")]
struct Args {
    /// Jobs to publish and process.
    #[arg(long, default_value_t = 2000)]
    jobs: usize,
    /// REWRITER_CONCURRENCY of the worker: jobs (and so LLM calls) in flight.
    #[arg(long, default_value_t = 32)]
    concurrency: u16,
    /// How long the fake LLM takes to answer each call.
    #[arg(long, default_value_t = 200)]
    latency_ms: u64,
    /// RUST_LOG for the worker (its logs are discarded; the level still costs CPU).
    #[arg(long, default_value = "info")]
    log: String,
    /// Let the worker write its JSON logs to this file instead of discarding them.
    #[arg(long)]
    log_file: Option<std::path::PathBuf>,
    /// Where the output folder is made (default: the system's temporary folder). The file
    /// system matters: creating and fsyncing three files per job is most of the kernel time.
    #[arg(long)]
    out_parent: Option<std::path::PathBuf>,
    /// Keep the output folder (printed) instead of deleting it.
    #[arg(long)]
    keep: bool,
    /// Run the worker under this command (split at spaces), e.g.
    /// "valgrind --tool=massif --massif-out-file=massif.out" to see where its memory goes.
    #[arg(long)]
    wrap: Option<String>,
    /// Record the worker with `perf record` (cpu-clock, DWARF call graphs) over the measured
    /// window into this file; `perf report -i FILE` reads it.
    #[arg(long)]
    perf: Option<std::path::PathBuf>,
    /// What `--perf` samples: `cpu-clock` at 999 Hz, or every occurrence of another event,
    /// e.g. `syscalls:sys_enter_futex` or `sched:sched_switch`, to see where the worker's
    /// wake-ups and sleeps come from.
    #[arg(long, default_value = "cpu-clock", requires = "perf")]
    perf_event: String,
    /// Run the Python reference worker (bench/reference/worker.py: aio-pika, openai, jinja2)
    /// instead of `rewriter`, with the same settings, jobs and fake LLM: the issue's
    /// comparison point, measured on this machine.
    #[arg(long, conflicts_with = "wrap")]
    reference: bool,
    /// The prompt set to run (REWRITER_PROMPT_VERSION of the worker and of the reference);
    /// default: the current one, the highest in `prompts/`.
    #[arg(long)]
    prompt_version: Option<u32>,
}

const CHILD_FLAG: &str = "__bench_worker";

/// The worker child runs with the allocator `rewriter`'s `main` installs.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some(CHILD_FLAG) {
        return worker_child();
    }
    let args = Args::parse();
    let runtime = match rewriter::cli::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(bench(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// The worker, exactly as `rewriter worker` runs it (src/main.rs).
fn worker_child() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    rewriter::telemetry::init(
        settings.log_format,
        settings.log_filter.as_deref(),
        rewriter::telemetry::colour_on_stderr(settings.no_color),
        std::io::stderr,
    );
    let cli = <rewriter::cli::Cli as Parser>::parse_from(["rewriter", "worker"]);
    rewriter::cli::execute(cli, settings)
}

async fn bench(args: Args) -> anyhow::Result<()> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let llm = fake_llm::FakeLlm::start().await;
    llm.set_latency(Duration::from_millis(args.latency_ms));
    llm.set_keep_bodies(false);
    let out = match &args.out_parent {
        Some(parent) => tempfile::tempdir_in(parent)?,
        None => tempfile::tempdir()?,
    };
    let queue = format!("rewriter-bench-{}", std::process::id());
    let amqp = "amqp://guest:guest@127.0.0.1:5672/%2f";

    // Publish everything first: the worker always has work waiting.
    let headlines = headlines(&repo.join("examples/headlines.ndjson"))?;
    let published = Instant::now();
    let broker = Broker::connect(&amqp.to_owned().into()).await?;
    let publisher = Publisher::open(&broker, &queue).await?;
    for i in 0..args.jobs {
        let mut headline = headlines[i % headlines.len()].clone();
        headline["externalId"] = Value::String(format!("bench-{i}"));
        let job = Job::new(Headline::from_value(headline)?, None, false);
        publisher
            .publish(&queue, &job.to_json(), Default::default())
            .await?;
    }
    eprintln!(
        "published {} jobs to {queue} in {:.1} s",
        args.jobs,
        published.elapsed().as_secs_f64()
    );

    let port = free_port()?;
    let exe = std::env::current_exe()?;
    let mut cmd = if args.reference {
        let mut cmd = Command::new("python3");
        cmd.arg(repo.join("bench/reference/worker.py"));
        cmd
    } else {
        let mut cmd = match &args.wrap {
            Some(wrapper) => {
                let mut words = wrapper.split_whitespace();
                let mut cmd = Command::new(words.next().context("--wrap is empty")?);
                cmd.args(words).arg(exe);
                cmd
            }
            None => Command::new(exe),
        };
        cmd.arg(CHILD_FLAG);
        cmd
    };
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // The caller's allocator and runtime settings pass through, for experiments:
        // _RJEM_MALLOC_CONF (jemalloc), MALLOC_* and GLIBC_TUNABLES (glibc), TOKIO_*.
        .envs(std::env::vars().filter(|(k, _)| {
            k.starts_with("_RJEM_MALLOC_")
                || k.starts_with("MALLOC_")
                || k.starts_with("TOKIO_")
                || k == "GLIBC_TUNABLES"
                // pyenv's shims find the reference's interpreter through these.
                || (args.reference && (k == "HOME" || k.starts_with("PYENV")))
        }))
        .env("AMQP_URL", amqp)
        .env("REWRITER_QUEUE", &queue)
        .env("OPENAI_BASE_URL", llm.base_url())
        .env("OPENAI_API_KEY", "sk-bench")
        .env("REWRITER_OUT", out.path())
        .env("REWRITER_PROMPTS", repo.join("prompts"))
        .envs(
            args.prompt_version
                .map(|v| ("REWRITER_PROMPT_VERSION", v.to_string())),
        )
        .env("REWRITER_CONCURRENCY", args.concurrency.to_string())
        .env("REWRITER_METRICS_ADDR", format!("127.0.0.1:{port}"))
        .env("REWRITER_LOG_FORMAT", "json")
        .env("RUST_LOG", &args.log)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    match &args.log_file {
        Some(path) => cmd.stderr(std::fs::File::create(path)?),
        None => cmd.stderr(Stdio::null()),
    };
    let mut child = cmd.spawn().context("starting the worker")?;
    let result = measure(&args, &llm, &mut child, port).await;
    // SIGTERM: the worker finishes (nothing is in flight) and closes its connection.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    publisher.close().await;
    broker.close().await;
    // Remove the queues: a bench leaves the broker as it found it.
    if let Ok(conn) = lapin::Connection::connect(amqp, Default::default()).await {
        if let Ok(channel) = conn.create_channel().await {
            for q in [queue.clone(), format!("{queue}.dead")] {
                let _ = channel
                    .queue_delete(q.as_str().into(), Default::default())
                    .await;
            }
        }
        let _ = conn.close(200, "bye".into()).await;
    }
    if args.keep {
        eprintln!("articles kept in {}", out.keep().display());
    }
    let report = result?;
    println!("{report}");
    Ok(())
}

/// Waits for the first request, then for every job to settle, sampling the worker.
async fn measure(
    args: &Args,
    llm: &fake_llm::FakeLlm,
    child: &mut Child,
    port: u16,
) -> anyhow::Result<String> {
    let pid = child.id();
    // The calls the jobs need without re-asks: the steady state's marks, and the point after
    // which the end is near.
    let version = args
        .prompt_version
        .map(|v| rewriter::job::PromptVersion::new(v).context("--prompt-version must be 1 or more"))
        .transpose()?;
    let library = rewriter::prompts::PromptLibrary::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts"),
        version,
    )?;
    let calls_per_job = library.get(library.current())?.calls().len();
    println!(
        "prompt set v{} ({calls_per_job} LLM calls a job)",
        library.current()
    );
    let expected_calls = args.jobs * calls_per_job;
    let deadline = Instant::now() + Duration::from_secs(60);
    while llm.requests() == 0 {
        if let Some(status) = child.try_wait()? {
            bail!("the worker exited before its first LLM request: {status}");
        }
        if Instant::now() > deadline {
            bail!("no LLM request within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let started = Instant::now();
    let cpu_start = cpu_seconds(pid)?;
    let threads_start = thread_stats(pid);
    let mut perf = match &args.perf {
        Some(path) => Some(
            Command::new("perf")
                .args(["record", "-e", &args.perf_event])
                .args(if args.perf_event == "cpu-clock" {
                    &["-F", "999"][..]
                } else {
                    &[]
                })
                .args(["--call-graph", "dwarf,16384", "-o"])
                .arg(path)
                .args(["-p", &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("starting perf record")?,
        ),
        None => None,
    };
    let requests_start = llm.requests();
    let expected = args.jobs as u64;
    let budget = Duration::from_secs(60)
        + Duration::from_millis(args.latency_ms) * 8 * (args.jobs as u32)
            / u32::from(args.concurrency).max(1);
    // (time, LLM requests) when 10% and 90% of the calls had been made: the steady state,
    // without the ramp-up and the tail. Read from the fake LLM in this process, because
    // scraping /metrics costs the worker CPU (~0.1 ms a scrape, ten times a second in a run
    // of 40 jobs a second would add 0.03 ms to each job); it is scraped once a second, and
    // every 20 ms once the last calls are out, to see the last job settle.
    let mut steady: Vec<(Instant, usize)> = Vec::new();
    let mut scraped = Instant::now();
    let mut text = String::new();
    let (cpu_end, threads_end, metrics_text, elapsed) = loop {
        if let Some(status) = child.try_wait()? {
            bail!("the worker exited during the run: {status}");
        }
        let calls = llm.requests() - requests_start;
        let marks = [0.1, 0.9];
        if let Some(mark) = marks.get(steady.len())
            && calls as f64 >= mark * expected_calls as f64
        {
            steady.push((Instant::now(), llm.requests()));
        }
        let near_end = calls >= expected_calls;
        if near_end || scraped.elapsed() >= Duration::from_secs(1) {
            text = scrape(port).await.unwrap_or_default();
            scraped = Instant::now();
        }
        let settled = sample(&text, "rewriter_jobs_total", None);
        if settled >= expected as f64 {
            let elapsed = started.elapsed();
            let cpu = cpu_seconds(pid)?;
            break (cpu, thread_stats(pid), text, elapsed);
        }
        if started.elapsed() > budget {
            bail!("only {settled} of {expected} jobs settled in {budget:?}");
        }
        let pause = if near_end { 20 } else { 10 };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    };
    let peak_rss_kib = status_kib(pid, "VmHWM")?;
    let (anon_kib, file_kib) = (status_kib(pid, "RssAnon")?, status_kib(pid, "RssFile")?);
    let threads = status_kib(pid, "Threads")?;
    if let Some(perf) = &mut perf {
        let _ = Command::new("kill")
            .args(["-INT", &perf.id().to_string()])
            .status();
        let _ = perf.wait();
    }
    let written = sample(
        &metrics_text,
        "rewriter_jobs_total",
        Some("outcome=\"written\""),
    );
    let requests = (llm.requests() - requests_start + 1) as f64;
    let secs = elapsed.as_secs_f64();
    let ideal = f64::from(args.concurrency) / (args.latency_ms as f64 / 1000.0);
    let per_job = |seconds: f64| seconds * 1000.0 / expected as f64;
    let user_ms_per_job = per_job(cpu_end.user - cpu_start.user);
    let system_ms_per_job = per_job(cpu_end.system - cpu_start.system);
    let cpu_ms_per_job = user_ms_per_job + system_ms_per_job;
    let (p50, p99) = overhead_quantiles(&metrics_text);
    let reasks = sample(&metrics_text, "rewriter_llm_reasks_total", None);
    let llm_seconds = sample(
        &metrics_text,
        "rewriter_llm_request_duration_seconds_sum",
        None,
    ) / sample(
        &metrics_text,
        "rewriter_llm_request_duration_seconds_count",
        None,
    )
    .max(1.0);
    let steady_rate = match steady.as_slice() {
        [(t0, r0), (t1, r1)] if t1 > t0 => Some((r1 - r0) as f64 / (*t1 - *t0).as_secs_f64()),
        _ => None,
    };
    let mut report = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(
        report,
        "jobs {expected} (written {written}), concurrency {}, LLM latency {} ms, window {secs:.2} s",
        args.concurrency, args.latency_ms
    );
    let _ = writeln!(report, "jobs/s            {:.1}", expected as f64 / secs);
    let _ = writeln!(
        report,
        "LLM calls/job     {:.2} ({reasks} re-asks); a call takes {:.1} ms as the worker sees it",
        requests / expected as f64,
        llm_seconds * 1000.0
    );
    if args.latency_ms > 0 {
        let _ = writeln!(
            report,
            "LLM calls/s       {:.1} of ideal {ideal:.1} = {:.3} (whole window)",
            requests / secs,
            requests / secs / ideal
        );
        if let Some(rate) = steady_rate {
            let _ = writeln!(
                report,
                "                  {rate:.1} of ideal {ideal:.1} = {:.3} (steady: from 10% to 90% of the calls)",
                rate / ideal
            );
        }
    } else {
        let _ = writeln!(report, "LLM calls/s       {:.1}", requests / secs);
    }
    let _ = writeln!(
        report,
        "CPU ms/job        {cpu_ms_per_job:.3} = user {user_ms_per_job:.3} + system {system_ms_per_job:.3} (worker process)"
    );
    let _ = writeln!(
        report,
        "peak RSS          {:.1} MiB (at the end: {:.1} MiB anonymous, {:.1} MiB file-backed, {threads} threads)",
        peak_rss_kib as f64 / 1024.0,
        anon_kib as f64 / 1024.0,
        file_kib as f64 / 1024.0
    );
    let _ = write!(
        report,
        "outside the LLM   p50 {} · p99 {} (per job, from rewriter_job_overhead_seconds)",
        ms(p50),
        ms(p99)
    );
    let _ = write!(
        report,
        "\nby thread         CPU ms/job · sleeps/job · preempted/job (threads alive at both ends)"
    );
    for (name, end) in &threads_end {
        let start = threads_start.get(name).copied().unwrap_or_default();
        let _ = write!(
            report,
            "\n  {name:<16}{:.3} · {:.1} · {:.1}",
            per_job(end.cpu - start.cpu),
            end.voluntary.saturating_sub(start.voluntary) as f64 / expected as f64,
            end.involuntary.saturating_sub(start.involuntary) as f64 / expected as f64,
        );
    }
    Ok(report)
}

/// CPU and context switches of a thread, or of the threads sharing a name.
#[derive(Debug, Clone, Copy, Default)]
struct ThreadStat {
    cpu: f64,
    /// Switches because the thread went to sleep (waiting for work): each is a wake-up later.
    voluntary: u64,
    /// Switches because the scheduler took the core away.
    involuntary: u64,
}

/// The worker's threads by name (numbered names such as `tokio-runtime-w` summed), read from
/// `/proc/<pid>/task`. Threads that start or end within the window are counted only for the
/// part of it they were alive at one of its ends; the whole-process figures above are exact.
fn thread_stats(pid: u32) -> BTreeMap<String, ThreadStat> {
    let mut by_name: BTreeMap<String, ThreadStat> = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return by_name;
    };
    for task in tasks.flatten() {
        let dir = task.path();
        let (Ok(comm), Ok(cpu), Ok(status)) = (
            std::fs::read_to_string(dir.join("comm")),
            cpu_in(&dir.join("stat")),
            std::fs::read_to_string(dir.join("status")),
        ) else {
            continue;
        };
        let name = comm
            .trim()
            .trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
        let entry = by_name.entry(name.to_owned()).or_default();
        entry.cpu += cpu.user + cpu.system;
        entry.voluntary += status_field(&status, "voluntary_ctxt_switches").unwrap_or(0);
        entry.involuntary += status_field(&status, "nonvoluntary_ctxt_switches").unwrap_or(0);
    }
    by_name
}

fn ms(secs: Option<f64>) -> String {
    secs.map_or_else(|| "n/a".to_owned(), |s| format!("{:.2} ms", s * 1000.0))
}

/// Headlines from an NDJSON file, as JSON objects.
fn headlines(path: &Path) -> anyhow::Result<Vec<Value>> {
    let text = std::fs::read_to_string(path)?;
    let items: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<Vec<Value>, _>>()?
        .into_iter()
        // The fake LLM writes English only; other languages would be re-asked (as they should).
        .filter(|h| {
            h.get("lang")
                .and_then(Value::as_str)
                .is_none_or(|l| l == "en")
        })
        .collect();
    if items.is_empty() {
        bail!("{} has no headlines", path.display());
    }
    Ok(items)
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The worker's `/metrics`.
async fn scrape(port: u16) -> anyhow::Result<String> {
    let (_, body) = rewriter::health::get(&format!("127.0.0.1:{port}"), "/metrics").await?;
    Ok(body)
}

/// The sum of a metric's samples whose labels contain `filter`.
fn sample(text: &str, name: &str, filter: Option<&str>) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|l| filter.is_none_or(|f| l.contains(f)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// p50 and p99 of `rewriter_job_overhead_seconds`.
fn overhead_quantiles(text: &str) -> (Option<f64>, Option<f64>) {
    let mut buckets: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("rewriter_job_overhead_seconds_bucket{le=\""))
        .filter_map(|rest| {
            let (le, count) = rest.split_once("\"} ")?;
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((bound, count.trim().parse().ok()?))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let bounds: Vec<f64> = buckets
        .iter()
        .map(|b| b.0)
        .filter(|b| b.is_finite())
        .collect();
    let mut counts = Vec::new();
    let mut previous = 0.0;
    for (_, cumulative) in &buckets {
        counts.push((cumulative - previous).max(0.0) as u64);
        previous = *cumulative;
    }
    (
        quantile(&bounds, &counts, 0.5),
        quantile(&bounds, &counts, 0.99),
    )
}

/// User and system CPU of a process so far, in seconds.
fn cpu_seconds(pid: u32) -> anyhow::Result<Cpu> {
    cpu_in(Path::new(&format!("/proc/{pid}/stat")))
}

/// User and system CPU so far of the process or thread whose `stat` file this is.
fn cpu_in(stat_file: &Path) -> anyhow::Result<Cpu> {
    let stat = std::fs::read_to_string(stat_file)?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("unreadable /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: indices 11 and 12 after ")".
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields.get(i).context("short /proc stat")?.parse::<f64>()?)
    };
    Ok(Cpu {
        user: ticks(11)? / *CLOCK_TICKS,
        system: ticks(12)? / *CLOCK_TICKS,
    })
}

/// CPU time of a process, in seconds.
#[derive(Debug, Clone, Copy)]
struct Cpu {
    user: f64,
    system: f64,
}

/// Ticks per second of `/proc`'s CPU times, asked of `getconf` once.
static CLOCK_TICKS: LazyLock<f64> = LazyLock::new(|| {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
});

/// A numeric field of `/proc/<pid>/status` (sizes are in kB).
fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status_field(&status, field).with_context(|| format!("no {field} in /proc/{pid}/status"))
}

/// The number at the start of a `field:` line of a `/proc` status file.
fn status_field(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}
