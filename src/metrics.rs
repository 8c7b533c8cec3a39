//! What a worker counts and times, and its Prometheus text exposition.
//!
//! One [`Metrics`] per process, shared by reference (`Arc`) between the worker loop, its tasks,
//! the pipeline and the LLM client. Everything on the hot path is a relaxed atomic add; only
//! the per-prompt-version totals (tokens, cost) take a short lock, once per article. Nothing
//! here does I/O: [`crate::health`] serves [`Metrics::render`].
//!
//! Names follow Prometheus conventions (`_total` counters, `_seconds` histograms, base units).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use crate::job::PromptVersion;

/// Bucket upper bounds (seconds) for LLM request and job durations.
const SLOW_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Bucket upper bounds (seconds) for the time a job spends outside the LLM: fine at the low
/// end, where a healthy worker lives.
const FAST_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 5.0, 30.0,
];

/// Bucket upper bounds (seconds) for queue lag: from publish to delivery.
const LAG_BUCKETS: &[f64] = &[
    0.1, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14_400.0, 86_400.0,
];

/// How a job ended, as counted in `rewriter_jobs_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    Written,
    AlreadyWritten,
    DeadLettered,
    Requeued,
}

impl JobOutcome {
    const ALL: [Self; 4] = [
        Self::Written,
        Self::AlreadyWritten,
        Self::DeadLettered,
        Self::Requeued,
    ];

    fn index(self) -> usize {
        self as usize
    }

    fn label(self) -> &'static str {
        match self {
            Self::Written => "written",
            Self::AlreadyWritten => "already_written",
            Self::DeadLettered => "dead_lettered",
            Self::Requeued => "requeued",
        }
    }
}

/// How one LLM HTTP request ended, as counted in `rewriter_llm_requests_total{result}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestResult {
    /// An answer arrived (whether or not it then passed the checks).
    Ok,
    /// Rate limited (429).
    RateLimited,
    /// Any other transient failure: 5xx, timeout, dropped connection, garbled body.
    Failed,
    /// Refused for good (4xx other than 429).
    Refused,
}

impl RequestResult {
    const ALL: [Self; 4] = [Self::Ok, Self::RateLimited, Self::Failed, Self::Refused];

    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::RateLimited => "rate_limited",
            Self::Failed => "failed",
            Self::Refused => "refused",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Tokens and money spent under one prompt version.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct VersionTotals {
    pub articles: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// In US dollars; only articles whose models have a price contribute.
    pub cost_usd: f64,
}

/// A counter snapshot of what a worker did, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunSummary {
    pub written: u64,
    pub already_written: u64,
    pub dead_lettered: u64,
    pub requeued: u64,
    pub reconnects: u64,
}

/// A histogram with fixed buckets, safe to observe from any task.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// One per bound, plus `+Inf`; not cumulative (the exposition sums them).
    counts: Vec<AtomicU64>,
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = self
            .bounds
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(self.bounds.len());
        if let Some(c) = self.counts.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str) {
        let mut cumulative = 0;
        for (i, bound) in self.bounds.iter().enumerate() {
            cumulative += self.counts[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.counts[self.bounds.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {cumulative}");
    }
}

/// Prometheus' `histogram_quantile` over non-cumulative bucket counts (last = `+Inf`).
pub fn quantile(bounds: &[f64], counts: &[u64], q: f64) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = q.clamp(0.0, 1.0) * total as f64;
    let mut below = 0u64;
    for (i, &n) in counts.iter().enumerate() {
        if n > 0 && (below + n) as f64 >= rank {
            let Some(&upper) = bounds.get(i) else {
                // In +Inf: the highest finite bound is the best answer there is.
                return bounds.last().copied();
            };
            let lower = if i == 0 { 0.0 } else { bounds[i - 1] };
            let into = ((rank - below as f64) / n as f64).clamp(0.0, 1.0);
            return Some(lower + (upper - lower) * into);
        }
        below += n;
    }
    bounds.last().copied()
}

/// The LLM's circuit is open: since when (wall clock, for `/readyz`) and why.
#[derive(Debug, Clone)]
pub struct LlmOutage {
    pub since: SystemTime,
    pub reason: String,
    /// The same moment on the monotonic clock, for the time spent open.
    opened: Instant,
}

impl LlmOutage {
    /// How long the circuit has been open.
    pub fn open_for(&self) -> Duration {
        self.opened.elapsed()
    }
}

/// Every metric of one process.
#[derive(Debug)]
pub struct Metrics {
    jobs: [AtomicU64; 4],
    in_flight: AtomicI64,
    reconnects: AtomicU64,
    broker_connected: AtomicBool,
    queue_ready: AtomicI64,
    llm_requests: [AtomicU64; 4],
    llm_reasks: AtomicU64,
    pacing_wait_nanos: AtomicU64,
    llm_outage: Mutex<Option<LlmOutage>>,
    /// Why the last write to the archive failed, until one succeeds (`/readyz`).
    store_failure: Mutex<Option<String>>,
    /// Whether `store_failure` is set: a written job checks this, not the lock.
    store_failing: AtomicBool,
    /// Time the circuit spent open, outages that ended only.
    llm_open_nanos: AtomicU64,
    llm_probes: AtomicU64,
    jobs_parked: AtomicU64,
    pub llm_request_seconds: Histogram,
    pub job_seconds: Histogram,
    /// A job's time minus its time in (and waiting for) LLM requests.
    pub job_overhead_seconds: Histogram,
    pub queue_lag_seconds: Histogram,
    versions: Mutex<BTreeMap<PromptVersion, VersionTotals>>,
    /// What `rewriter ingest` did; zero in a worker.
    pub feeds: FeedCounters,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self {
            jobs: Default::default(),
            in_flight: AtomicI64::new(0),
            reconnects: AtomicU64::new(0),
            broker_connected: AtomicBool::new(false),
            queue_ready: AtomicI64::new(-1),
            llm_requests: Default::default(),
            llm_reasks: AtomicU64::new(0),
            pacing_wait_nanos: AtomicU64::new(0),
            llm_outage: Mutex::new(None),
            store_failure: Mutex::new(None),
            store_failing: AtomicBool::new(false),
            llm_open_nanos: AtomicU64::new(0),
            llm_probes: AtomicU64::new(0),
            jobs_parked: AtomicU64::new(0),
            llm_request_seconds: Histogram::new(SLOW_BUCKETS),
            job_seconds: Histogram::new(SLOW_BUCKETS),
            job_overhead_seconds: Histogram::new(FAST_BUCKETS),
            queue_lag_seconds: Histogram::new(LAG_BUCKETS),
            versions: Mutex::new(BTreeMap::new()),
            feeds: FeedCounters::default(),
        }
    }

    pub fn job_settled(&self, outcome: JobOutcome) {
        self.jobs[outcome.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn jobs(&self, outcome: JobOutcome) -> u64 {
        self.jobs[outcome.index()].load(Ordering::Relaxed)
    }

    /// Jobs settled in any way so far.
    pub fn settled(&self) -> u64 {
        self.jobs.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Counts a job in flight until the guard is dropped.
    pub fn job_started(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    pub fn reconnected(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    pub fn set_broker_connected(&self, yes: bool) {
        self.broker_connected.store(yes, Ordering::Relaxed);
    }

    pub fn broker_connected(&self) -> bool {
        self.broker_connected.load(Ordering::Relaxed)
    }

    pub fn set_queue_ready(&self, n: u32) {
        self.queue_ready.store(i64::from(n), Ordering::Relaxed);
    }

    pub fn llm_request(&self, result: RequestResult, took: Duration) {
        self.llm_requests[result.index()].fetch_add(1, Ordering::Relaxed);
        if result == RequestResult::Ok {
            self.llm_request_seconds.observe(took);
        }
    }

    pub fn llm_requests(&self, result: RequestResult) -> u64 {
        self.llm_requests[result.index()].load(Ordering::Relaxed)
    }

    pub fn llm_reasked(&self) {
        self.llm_reasks.fetch_add(1, Ordering::Relaxed);
    }

    pub fn paced(&self, waited: Duration) {
        let nanos = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.pacing_wait_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The LLM's circuit opened (`since` is now): `/readyz` says so until it closes.
    pub fn llm_circuit_opened(&self, since: SystemTime, reason: &str) {
        let mut outage = self
            .llm_outage
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        outage.get_or_insert_with(|| LlmOutage {
            since,
            reason: reason.to_owned(),
            opened: Instant::now(),
        });
    }

    /// The LLM's circuit closed; returns how long it was open.
    pub fn llm_circuit_closed(&self) -> Option<Duration> {
        let outage = self
            .llm_outage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()?;
        let open = outage.opened.elapsed();
        let nanos = u64::try_from(open.as_nanos()).unwrap_or(u64::MAX);
        self.llm_open_nanos.fetch_add(nanos, Ordering::Relaxed);
        Some(open)
    }

    /// A job could not be written (a full disk, a bucket that stays down): `/readyz` says
    /// so until a job is written again ([`Self::store_recovered`]).
    pub fn store_failed(&self, reason: &str) {
        *self
            .store_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(reason.to_owned());
        self.store_failing.store(true, Ordering::Relaxed);
    }

    pub fn store_recovered(&self) {
        if !self.store_failing.swap(false, Ordering::Relaxed) {
            return;
        }
        self.store_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    pub fn store_failure(&self) -> Option<String> {
        self.store_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The outage under way, if the circuit is open.
    pub fn llm_outage(&self) -> Option<LlmOutage> {
        self.llm_outage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Time the circuit has spent open, the current outage included.
    pub fn llm_open_time(&self) -> Duration {
        let current = self
            .llm_outage()
            .map_or(Duration::ZERO, |o| o.opened.elapsed());
        Duration::from_nanos(self.llm_open_nanos.load(Ordering::Relaxed)) + current
    }

    pub fn llm_probed(&self) {
        self.llm_probes.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests sent only to learn whether the LLM answers at all.
    pub fn llm_probes(&self) -> u64 {
        self.llm_probes.load(Ordering::Relaxed)
    }

    pub fn job_parked(&self) {
        self.jobs_parked.fetch_add(1, Ordering::Relaxed);
    }

    /// Deliveries held through an outage for `REWRITER_LLM_HOLD_MAX` and then put back.
    pub fn jobs_parked(&self) -> u64 {
        self.jobs_parked.load(Ordering::Relaxed)
    }

    /// Adds one written article's tokens and cost to its prompt version's totals.
    pub fn article_written(
        &self,
        version: PromptVersion,
        prompt_tokens: u64,
        completion_tokens: u64,
        cost_usd: Option<f64>,
    ) {
        let mut versions = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
        let totals = versions.entry(version).or_default();
        totals.articles += 1;
        totals.prompt_tokens += prompt_tokens;
        totals.completion_tokens += completion_tokens;
        totals.cost_usd += cost_usd.unwrap_or(0.0);
    }

    fn version_totals(&self) -> BTreeMap<PromptVersion, VersionTotals> {
        self.versions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn summary(&self) -> RunSummary {
        RunSummary {
            written: self.jobs(JobOutcome::Written),
            already_written: self.jobs(JobOutcome::AlreadyWritten),
            dead_lettered: self.jobs(JobOutcome::DeadLettered),
            requeued: self.jobs(JobOutcome::Requeued),
            reconnects: self.reconnects.load(Ordering::Relaxed),
        }
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self, ready: bool) -> String {
        let mut out = String::with_capacity(8 * 1024);
        family(
            &mut out,
            "rewriter_jobs_total",
            "counter",
            "Jobs settled, by outcome.",
        );
        for outcome in JobOutcome::ALL {
            let _ = writeln!(
                out,
                "rewriter_jobs_total{{outcome=\"{}\"}} {}",
                outcome.label(),
                self.jobs(outcome)
            );
        }
        let gauges = [
            (
                "rewriter_jobs_in_flight",
                "Jobs being worked on now.",
                self.in_flight.load(Ordering::Relaxed),
            ),
            (
                "rewriter_queue_ready_messages",
                "Jobs waiting in the queue at the last check (-1: not checked yet).",
                self.queue_ready.load(Ordering::Relaxed),
            ),
            (
                "rewriter_broker_connected",
                "1 while the worker holds a connection to the broker.",
                i64::from(self.broker_connected()),
            ),
            (
                "rewriter_ready",
                "1 when /readyz answers 200: broker connected, LLM answering, prompts loaded.",
                i64::from(ready),
            ),
            (
                "rewriter_llm_circuit_open",
                "1 while the LLM is unreachable and jobs wait for it (the circuit breaker is open).",
                i64::from(self.llm_outage().is_some()),
            ),
        ];
        for (name, help, value) in gauges {
            family(&mut out, name, "gauge", help);
            let _ = writeln!(out, "{name} {value}");
        }
        let counters = [
            (
                "rewriter_broker_reconnects_total",
                "Times the worker lost the broker and connected again.",
                self.reconnects.load(Ordering::Relaxed) as f64,
            ),
            (
                "rewriter_llm_reasks_total",
                "Answers rejected (schema or article rules) and asked for again.",
                self.llm_reasks.load(Ordering::Relaxed) as f64,
            ),
            (
                "rewriter_llm_pacing_wait_seconds_total",
                "Time requests waited for the rate limits (REWRITER_LLM_RPM/TPM, x-ratelimit-*).",
                self.pacing_wait_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            ),
            (
                "rewriter_llm_circuit_open_seconds_total",
                "Time the LLM's circuit breaker has spent open (the LLM unreachable).",
                self.llm_open_time().as_secs_f64(),
            ),
            (
                "rewriter_llm_probes_total",
                "Requests sent only to learn whether the LLM answers (open circuit, timeouts, start).",
                self.llm_probes() as f64,
            ),
            (
                "rewriter_jobs_parked_total",
                "Jobs held through an LLM outage for REWRITER_LLM_HOLD_MAX, then put back at the tail of the queue.",
                self.jobs_parked() as f64,
            ),
        ];
        for (name, help, value) in counters {
            family(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {value}");
        }
        family(
            &mut out,
            "rewriter_llm_requests_total",
            "counter",
            "LLM HTTP requests, by result (retries included).",
        );
        for result in RequestResult::ALL {
            let _ = writeln!(
                out,
                "rewriter_llm_requests_total{{result=\"{}\"}} {}",
                result.label(),
                self.llm_requests(result)
            );
        }
        let histograms = [
            (
                "rewriter_llm_request_duration_seconds",
                "Time of LLM requests that got an answer.",
                &self.llm_request_seconds,
            ),
            (
                "rewriter_job_duration_seconds",
                "Time from delivery to settlement of jobs that wrote an article.",
                &self.job_seconds,
            ),
            (
                "rewriter_job_overhead_seconds",
                "Time a written job spent outside LLM requests, their retries and pacing.",
                &self.job_overhead_seconds,
            ),
            (
                "rewriter_queue_lag_seconds",
                "Time from publish (AMQP timestamp) to delivery.",
                &self.queue_lag_seconds,
            ),
        ];
        for (name, help, h) in histograms {
            family(&mut out, name, "histogram", help);
            h.render(&mut out, name);
        }
        let versions = self.version_totals();
        family(
            &mut out,
            "rewriter_articles_total",
            "counter",
            "Articles written, by prompt version.",
        );
        for (v, t) in &versions {
            let _ = writeln!(
                out,
                "rewriter_articles_total{{prompt_version=\"{v}\"}} {}",
                t.articles
            );
        }
        family(
            &mut out,
            "rewriter_llm_tokens_total",
            "counter",
            "Tokens of written articles (every request), by prompt version and kind.",
        );
        for (v, t) in &versions {
            let _ = writeln!(
                out,
                "rewriter_llm_tokens_total{{prompt_version=\"{v}\",kind=\"prompt\"}} {}\nrewriter_llm_tokens_total{{prompt_version=\"{v}\",kind=\"completion\"}} {}",
                t.prompt_tokens, t.completion_tokens
            );
        }
        family(
            &mut out,
            "rewriter_llm_cost_usd_total",
            "counter",
            "Money spent on written articles at the configured prices (REWRITER_PRICES), by prompt version.",
        );
        for (v, t) in &versions {
            let _ = writeln!(
                out,
                "rewriter_llm_cost_usd_total{{prompt_version=\"{v}\"}} {}",
                t.cost_usd
            );
        }
        self.feeds.render(&mut out);
        out
    }
}

/// How one poll of a feed ended, as counted in `rewriter_feed_polls_total{result}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedPoll {
    Fetched,
    NotModified,
    Failed,
}

/// What became of feed items, as counted in `rewriter_feed_items_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedItems {
    Enqueued,
    AlreadySeen,
    Rejected,
}

/// The ingester's counters.
#[derive(Debug, Default)]
pub struct FeedCounters {
    polls: [AtomicU64; 3],
    items: [AtomicU64; 3],
}

impl FeedCounters {
    pub fn polled(&self, result: FeedPoll) {
        self.polls[result as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn add_items(&self, outcome: FeedItems, n: u64) {
        self.items[outcome as usize].fetch_add(n, Ordering::Relaxed);
    }

    pub fn polls(&self, result: FeedPoll) -> u64 {
        self.polls[result as usize].load(Ordering::Relaxed)
    }

    pub fn items(&self, outcome: FeedItems) -> u64 {
        self.items[outcome as usize].load(Ordering::Relaxed)
    }

    fn render(&self, out: &mut String) {
        family(
            out,
            "rewriter_feed_polls_total",
            "counter",
            "Feed polls by rewriter ingest, by result.",
        );
        for (result, label) in [
            (FeedPoll::Fetched, "fetched"),
            (FeedPoll::NotModified, "not_modified"),
            (FeedPoll::Failed, "failed"),
        ] {
            let _ = writeln!(
                out,
                "rewriter_feed_polls_total{{result=\"{label}\"}} {}",
                self.polls(result)
            );
        }
        family(
            out,
            "rewriter_feed_items_total",
            "counter",
            "Feed items seen by rewriter ingest, by outcome.",
        );
        for (outcome, label) in [
            (FeedItems::Enqueued, "enqueued"),
            (FeedItems::AlreadySeen, "already_seen"),
            (FeedItems::Rejected, "rejected"),
        ] {
            let _ = writeln!(
                out,
                "rewriter_feed_items_total{{outcome=\"{label}\"}} {}",
                self.items(outcome)
            );
        }
    }
}

/// The `# HELP` and `# TYPE` lines that open a metric family.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Holds one job in `rewriter_jobs_in_flight`.
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_in_the_exposition() {
        let m = Metrics::new();
        m.llm_request(RequestResult::Ok, Duration::from_millis(3));
        m.llm_request(RequestResult::Ok, Duration::from_millis(200));
        m.llm_request(RequestResult::RateLimited, Duration::from_millis(1));
        let text = m.render(true);
        assert!(text.contains("rewriter_llm_request_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("rewriter_llm_request_duration_seconds_bucket{le=\"0.25\"} 2\n"));
        assert!(text.contains("rewriter_llm_request_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("rewriter_llm_request_duration_seconds_count 2\n"));
        assert!(text.contains("rewriter_llm_requests_total{result=\"rate_limited\"} 1\n"));
        assert!(text.contains("rewriter_ready 1\n"));
    }

    #[test]
    fn every_sample_line_belongs_to_a_declared_family() {
        let m = Metrics::new();
        m.article_written(PromptVersion::new(2).unwrap(), 100, 50, Some(0.25));
        m.job_settled(JobOutcome::Written);
        let text = m.render(false);
        let mut declared = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared.push(rest.split(' ').next().unwrap().to_owned());
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let name = line.split(['{', ' ']).next().unwrap();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .filter(|base| declared.iter().any(|d| d == base))
                .unwrap_or(name);
            assert!(declared.iter().any(|d| d == family), "{line}");
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
        assert!(
            text.contains("rewriter_llm_tokens_total{prompt_version=\"2\",kind=\"prompt\"} 100\n")
        );
        assert!(text.contains("rewriter_llm_cost_usd_total{prompt_version=\"2\"} 0.25\n"));
        assert!(text.contains("rewriter_jobs_total{outcome=\"written\"} 1\n"));
    }

    #[test]
    fn an_outage_shows_as_an_open_circuit_and_counts_its_time() {
        let m = Metrics::new();
        assert!(m.render(true).contains("rewriter_llm_circuit_open 0\n"));
        m.llm_circuit_opened(SystemTime::now(), "could not connect");
        m.llm_circuit_opened(SystemTime::now(), "a later reason is not kept");
        assert_eq!(m.llm_outage().unwrap().reason, "could not connect");
        assert!(m.render(false).contains("rewriter_llm_circuit_open 1\n"));
        std::thread::sleep(Duration::from_millis(5));
        let open = m.llm_circuit_closed().unwrap();
        assert!(open >= Duration::from_millis(5));
        assert!(m.llm_circuit_closed().is_none());
        assert!(m.render(true).contains("rewriter_llm_circuit_open 0\n"));
        assert_eq!(m.llm_open_time(), open);
    }

    #[test]
    fn quantiles_interpolate_inside_the_bucket() {
        let bounds = [1.0, 2.0, 4.0];
        assert_eq!(quantile(&bounds, &[0, 0, 0, 0], 0.5), None);
        // 10 in (1, 2]: the median is the middle of that bucket.
        assert_eq!(quantile(&bounds, &[0, 10, 0, 0], 0.5), Some(1.5));
        assert_eq!(quantile(&bounds, &[10, 0, 0, 0], 1.0), Some(1.0));
        // Beyond the last bound: the last bound.
        assert_eq!(quantile(&bounds, &[0, 0, 0, 5], 0.99), Some(4.0));
    }

    #[test]
    fn the_in_flight_gauge_follows_its_guards() {
        let m = Metrics::new();
        let a = m.job_started();
        let b = m.job_started();
        assert!(m.render(true).contains("rewriter_jobs_in_flight 2\n"));
        drop(a);
        drop(b);
        assert!(m.render(true).contains("rewriter_jobs_in_flight 0\n"));
    }
}
