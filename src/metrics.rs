//! What a worker counts and times, and its Prometheus text exposition.
//!
//! One [`Metrics`] per process, shared by reference (`Arc`) between the worker loop, its tasks,
//! the pipeline and the LLM client. Each [`Metrics`] owns its own `prometheus_client`
//! [`Registry`] (no global one), so tests that run several workers in one process see their own
//! counts; the crate writes the text format. Recording stays cheap: every labelled series with a
//! fixed label set is created up front and kept as a handle, so counting is one relaxed atomic
//! add; a histogram takes the crate's short lock; the per-prompt-version series are looked up
//! once per article. Nothing here does I/O: [`crate::health`] serves [`Metrics::render`].
//!
//! Names follow Prometheus conventions (`_total` counters, `_seconds` histograms, base units).
//! Counters are registered without `_total`: the crate adds it when it writes them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Metric, Registry};

pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

use crate::job::PromptVersion;

/// A counter of fractional amounts (seconds, dollars).
type FloatCounter = Counter<f64, AtomicU64>;

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

/// A counter snapshot of what a worker did, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunSummary {
    pub written: u64,
    pub already_written: u64,
    pub dead_lettered: u64,
    pub requeued: u64,
    pub reconnects: u64,
}

/// A histogram of durations with fixed buckets (in seconds), safe to observe from any task.
#[derive(Debug, Clone)]
pub struct Histogram(prometheus_client::metrics::histogram::Histogram);

impl Histogram {
    fn register(r: &mut Registry, desc: Desc, bounds: &[f64]) -> Self {
        let buckets = bounds.iter().copied();
        let histogram = prometheus_client::metrics::histogram::Histogram::new(buckets);
        Self(register(r, desc, histogram))
    }

    pub fn observe(&self, d: Duration) {
        self.0.observe(d.as_secs_f64());
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

/// The LLM circuit's state, shared with the registry for the time it has spent open.
#[derive(Debug, Default)]
struct CircuitState {
    outage: Mutex<Option<LlmOutage>>,
    /// Time the circuit spent open, outages that ended only.
    closed_nanos: AtomicU64,
}

impl CircuitState {
    fn register(r: &mut Registry) -> Arc<Self> {
        register(r, CIRCUIT_OPEN_SECONDS, CircuitOpenSeconds(Arc::default())).0
    }

    fn outage(&self) -> Option<LlmOutage> {
        lock(&self.outage).clone()
    }

    /// Time the circuit has spent open, the current outage included.
    fn open_time(&self) -> Duration {
        let current = self.outage().map_or(Duration::ZERO, |o| o.opened.elapsed());
        Duration::from_nanos(self.closed_nanos.load(Ordering::Relaxed)) + current
    }
}

/// `rewriter_llm_circuit_open_seconds_total`: read when scraped, so that an outage under way
/// counts up to the second of the scrape.
#[derive(Debug, Clone)]
struct CircuitOpenSeconds(Arc<CircuitState>);

impl EncodeMetric for CircuitOpenSeconds {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_counter::<NoLabelSet, _, u64>(&self.0.open_time().as_secs_f64(), None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    prompt_version: u32,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokensLabels {
    prompt_version: u32,
    kind: &'static str,
}

/// The series of one prompt version, once it has written an article.
#[derive(Debug)]
struct VersionSeries {
    articles: Counter,
    prompt_tokens: Counter,
    completion_tokens: Counter,
    cost_usd: FloatCounter,
}

/// Articles, tokens and money by prompt version.
#[derive(Debug, Default)]
struct ByVersion {
    articles: Family<VersionLabel, Counter>,
    tokens: Family<TokensLabels, Counter>,
    cost_usd: Family<VersionLabel, FloatCounter>,
    /// The handles of the versions seen: one lookup per article instead of four.
    seen: Mutex<BTreeMap<PromptVersion, VersionSeries>>,
}

impl ByVersion {
    fn register(r: &mut Registry) -> Self {
        let versions = Self::default();
        register(r, ARTICLES, versions.articles.clone());
        register(r, TOKENS, versions.tokens.clone());
        register(r, COST, versions.cost_usd.clone());
        versions
    }

    fn series(&self, version: PromptVersion) -> VersionSeries {
        let prompt_version = version.get();
        let tokens = |kind| {
            self.tokens.get_or_create_owned(&TokensLabels {
                prompt_version,
                kind,
            })
        };
        let version = VersionLabel { prompt_version };
        VersionSeries {
            articles: self.articles.get_or_create_owned(&version),
            prompt_tokens: tokens("prompt"),
            completion_tokens: tokens("completion"),
            cost_usd: self.cost_usd.get_or_create_owned(&version),
        }
    }
}

/// A family's name and help as the exposition shows them, but a counter's name without
/// `_total` (the crate adds it).
type Desc = (&'static str, &'static str);

const JOBS: Desc = ("rewriter_jobs", "Jobs settled, by outcome.");
const IN_FLIGHT: Desc = ("rewriter_jobs_in_flight", "Jobs being worked on now.");
const QUEUE_READY: Desc = (
    "rewriter_queue_ready_messages",
    "Jobs waiting in the queue at the last check (-1: not checked yet).",
);
const BROKER_CONNECTED: Desc = (
    "rewriter_broker_connected",
    "1 while the worker holds a connection to the broker.",
);
const READY: Desc = (
    "rewriter_ready",
    "1 when /readyz answers 200: broker connected, LLM answering, prompts loaded.",
);
const CIRCUIT_OPEN: Desc = (
    "rewriter_llm_circuit_open",
    "1 while the LLM is unreachable and jobs wait for it (the circuit breaker is open).",
);
const RECONNECTS: Desc = (
    "rewriter_broker_reconnects",
    "Times the worker lost the broker and connected again.",
);
const REASKS: Desc = (
    "rewriter_llm_reasks",
    "Answers rejected (schema or article rules) and asked for again.",
);
const PACING_WAIT: Desc = (
    "rewriter_llm_pacing_wait_seconds",
    "Time requests waited for the rate limits (REWRITER_LLM_RPM/TPM, x-ratelimit-*).",
);
const CIRCUIT_OPEN_SECONDS: Desc = (
    "rewriter_llm_circuit_open_seconds",
    "Time the LLM's circuit breaker has spent open (the LLM unreachable).",
);
const PROBES: Desc = (
    "rewriter_llm_probes",
    "Requests sent only to learn whether the LLM answers (open circuit, timeouts, start).",
);
const PARKED: Desc = (
    "rewriter_jobs_parked",
    "Jobs held through an LLM outage for REWRITER_LLM_HOLD_MAX, then put back at the tail of the queue.",
);
const LLM_REQUESTS: Desc = (
    "rewriter_llm_requests",
    "LLM HTTP requests, by result (retries included).",
);
const LLM_REQUEST_SECONDS: Desc = (
    "rewriter_llm_request_duration_seconds",
    "Time of LLM requests that got an answer.",
);
const JOB_SECONDS: Desc = (
    "rewriter_job_duration_seconds",
    "Time from delivery to settlement of jobs that wrote an article.",
);
const JOB_OVERHEAD_SECONDS: Desc = (
    "rewriter_job_overhead_seconds",
    "Time a written job spent outside LLM requests, their retries and pacing.",
);
const QUEUE_LAG_SECONDS: Desc = (
    "rewriter_queue_lag_seconds",
    "Time from publish (AMQP timestamp) to delivery.",
);
const ARTICLES: Desc = ("rewriter_articles", "Articles written, by prompt version.");
const TOKENS: Desc = (
    "rewriter_llm_tokens",
    "Tokens of written articles (every request), by prompt version and kind.",
);
const COST: Desc = (
    "rewriter_llm_cost_usd",
    "Money spent on written articles at the configured prices (REWRITER_PRICES), by prompt version.",
);
const FEED_POLLS: Desc = (
    "rewriter_feed_polls",
    "Feed polls by rewriter ingest, by result.",
);
const FEED_ITEMS: Desc = (
    "rewriter_feed_items",
    "Feed items seen by rewriter ingest, by outcome.",
);

/// Every metric of one process.
#[derive(Debug)]
pub struct Metrics {
    /// One scrape at a time, so that `rewriter_ready` shows the value its scrape was given.
    scraping: Mutex<()>,
    jobs: [Counter; 4],
    in_flight: Gauge,
    queue_ready: Gauge,
    broker_connected: Gauge,
    ready: Gauge,
    llm_circuit_open: Gauge,
    reconnects: Counter,
    llm_reasks: Counter,
    pacing_wait_seconds: FloatCounter,
    circuit: Arc<CircuitState>,
    llm_probes: Counter,
    jobs_parked: Counter,
    llm_requests: [Counter; 4],
    pub llm_request_seconds: Histogram,
    pub job_seconds: Histogram,
    /// A job's time minus its time in (and waiting for) LLM requests.
    pub job_overhead_seconds: Histogram,
    pub queue_lag_seconds: Histogram,
    versions: ByVersion,
    /// What `rewriter ingest` did; zero in a worker.
    pub feeds: FeedCounters,
    /// Why the last write to the archive failed, until one succeeds (`/readyz`).
    store_failure: Mutex<Option<String>>,
    /// Whether `store_failure` is set: a written job checks this, not the lock.
    store_failing: AtomicBool,
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry of its own with every family, registered in the order the exposition lists
    /// them (the fields below are evaluated in the order written).
    pub fn new() -> Self {
        let r = &mut Registry::default();
        let outcomes = JobOutcome::ALL.map(|o| OutcomeLabel { outcome: o.label() });
        let results = RequestResult::ALL.map(|o| ResultLabel { result: o.label() });
        let metrics = Self {
            scraping: Mutex::new(()),
            jobs: labelled(r, JOBS, outcomes),
            in_flight: register(r, IN_FLIGHT, Gauge::default()),
            queue_ready: register(r, QUEUE_READY, Gauge::default()),
            broker_connected: register(r, BROKER_CONNECTED, Gauge::default()),
            ready: register(r, READY, Gauge::default()),
            llm_circuit_open: register(r, CIRCUIT_OPEN, Gauge::default()),
            reconnects: register(r, RECONNECTS, Counter::default()),
            llm_reasks: register(r, REASKS, Counter::default()),
            pacing_wait_seconds: register(r, PACING_WAIT, FloatCounter::default()),
            circuit: CircuitState::register(r),
            llm_probes: register(r, PROBES, Counter::default()),
            jobs_parked: register(r, PARKED, Counter::default()),
            llm_requests: labelled(r, LLM_REQUESTS, results),
            llm_request_seconds: Histogram::register(r, LLM_REQUEST_SECONDS, SLOW_BUCKETS),
            job_seconds: Histogram::register(r, JOB_SECONDS, SLOW_BUCKETS),
            job_overhead_seconds: Histogram::register(r, JOB_OVERHEAD_SECONDS, FAST_BUCKETS),
            queue_lag_seconds: Histogram::register(r, QUEUE_LAG_SECONDS, LAG_BUCKETS),
            versions: ByVersion::register(r),
            feeds: FeedCounters::register(r),
            store_failure: Mutex::new(None),
            store_failing: AtomicBool::new(false),
            registry: std::mem::take(r),
        };
        // -1 until the first check.
        metrics.queue_ready.set(-1);
        metrics
    }

    pub fn job_settled(&self, outcome: JobOutcome) {
        self.jobs[outcome.index()].inc();
    }

    pub fn jobs(&self, outcome: JobOutcome) -> u64 {
        self.jobs[outcome.index()].get()
    }

    /// Jobs settled in any way so far.
    pub fn settled(&self) -> u64 {
        self.jobs.iter().map(Counter::get).sum()
    }

    /// Counts a job in flight until the guard is dropped.
    pub fn job_started(&self) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight(self)
    }

    pub fn reconnected(&self) {
        self.reconnects.inc();
    }

    pub fn set_broker_connected(&self, yes: bool) {
        self.broker_connected.set(i64::from(yes));
    }

    pub fn broker_connected(&self) -> bool {
        self.broker_connected.get() == 1
    }

    pub fn set_queue_ready(&self, n: u32) {
        self.queue_ready.set(i64::from(n));
    }

    pub fn llm_request(&self, result: RequestResult, took: Duration) {
        self.llm_requests[result.index()].inc();
        if result == RequestResult::Ok {
            self.llm_request_seconds.observe(took);
        }
    }

    pub fn llm_requests(&self, result: RequestResult) -> u64 {
        self.llm_requests[result.index()].get()
    }

    pub fn llm_reasked(&self) {
        self.llm_reasks.inc();
    }

    pub fn paced(&self, waited: Duration) {
        self.pacing_wait_seconds.inc_by(waited.as_secs_f64());
    }

    /// The LLM's circuit opened (`since` is now): `/readyz` says so until it closes.
    pub fn llm_circuit_opened(&self, since: SystemTime, reason: &str) {
        let mut outage = lock(&self.circuit.outage);
        if outage.is_none() {
            *outage = Some(LlmOutage {
                since,
                reason: reason.to_owned(),
                opened: Instant::now(),
            });
            self.llm_circuit_open.set(1);
        }
    }

    /// The LLM's circuit closed; returns how long it was open.
    pub fn llm_circuit_closed(&self) -> Option<Duration> {
        let mut outage = lock(&self.circuit.outage);
        let open = outage.take()?.opened.elapsed();
        let nanos = u64::try_from(open.as_nanos()).unwrap_or(u64::MAX);
        self.circuit
            .closed_nanos
            .fetch_add(nanos, Ordering::Relaxed);
        self.llm_circuit_open.set(0);
        Some(open)
    }

    /// A job could not be written (a full disk, a bucket that stays down): `/readyz` says
    /// so until a job is written again ([`Self::store_recovered`]).
    pub fn store_failed(&self, reason: &str) {
        *lock(&self.store_failure) = Some(reason.to_owned());
        self.store_failing.store(true, Ordering::Relaxed);
    }

    pub fn store_recovered(&self) {
        if !self.store_failing.swap(false, Ordering::Relaxed) {
            return;
        }
        lock(&self.store_failure).take();
    }

    pub fn store_failure(&self) -> Option<String> {
        lock(&self.store_failure).clone()
    }

    /// The outage under way, if the circuit is open.
    pub fn llm_outage(&self) -> Option<LlmOutage> {
        self.circuit.outage()
    }

    /// Time the circuit has spent open, the current outage included.
    pub fn llm_open_time(&self) -> Duration {
        self.circuit.open_time()
    }

    pub fn llm_probed(&self) {
        self.llm_probes.inc();
    }

    /// Requests sent only to learn whether the LLM answers at all.
    pub fn llm_probes(&self) -> u64 {
        self.llm_probes.get()
    }

    pub fn job_parked(&self) {
        self.jobs_parked.inc();
    }

    /// Deliveries held through an outage for `REWRITER_LLM_HOLD_MAX` and then put back.
    pub fn jobs_parked(&self) -> u64 {
        self.jobs_parked.get()
    }

    /// Adds one written article's tokens and cost to its prompt version's totals.
    pub fn article_written(
        &self,
        version: PromptVersion,
        prompt_tokens: u64,
        completion_tokens: u64,
        cost_usd: Option<f64>,
    ) {
        let mut seen = lock(&self.versions.seen);
        let series = seen
            .entry(version)
            .or_insert_with(|| self.versions.series(version));
        series.articles.inc();
        series.prompt_tokens.inc_by(prompt_tokens);
        series.completion_tokens.inc_by(completion_tokens);
        series.cost_usd.inc_by(cost_usd.unwrap_or(0.0));
    }

    pub fn summary(&self) -> RunSummary {
        RunSummary {
            written: self.jobs(JobOutcome::Written),
            already_written: self.jobs(JobOutcome::AlreadyWritten),
            dead_lettered: self.jobs(JobOutcome::DeadLettered),
            requeued: self.jobs(JobOutcome::Requeued),
            reconnects: self.reconnects.get(),
        }
    }

    /// The Prometheus text exposition format (version 0.0.4, [`CONTENT_TYPE`]).
    pub fn render(&self, ready: bool) -> String {
        let _one_scrape = lock(&self.scraping);
        self.ready.set(i64::from(ready));
        let mut out = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
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
#[derive(Debug)]
pub struct FeedCounters {
    polls: [Counter; 3],
    items: [Counter; 3],
}

impl FeedCounters {
    fn register(r: &mut Registry) -> Self {
        let results = ["fetched", "not_modified", "failed"].map(|result| ResultLabel { result });
        let outcomes =
            ["enqueued", "already_seen", "rejected"].map(|outcome| OutcomeLabel { outcome });
        Self {
            polls: labelled(r, FEED_POLLS, results),
            items: labelled(r, FEED_ITEMS, outcomes),
        }
    }

    pub fn polled(&self, result: FeedPoll) {
        self.polls[result as usize].inc();
    }

    pub fn add_items(&self, outcome: FeedItems, n: u64) {
        self.items[outcome as usize].inc_by(n);
    }

    pub fn polls(&self, result: FeedPoll) -> u64 {
        self.polls[result as usize].get()
    }

    pub fn items(&self, outcome: FeedItems) -> u64 {
        self.items[outcome as usize].get()
    }
}

/// Registers `metric` (the registry keeps a handle to the same series) and returns it; the
/// registry adds the help's final full stop itself.
fn register<M: Metric + Clone>(r: &mut Registry, (name, help): Desc, metric: M) -> M {
    r.register(name, help.strip_suffix('.').unwrap_or(help), metric.clone());
    metric
}

/// A counter family whose label sets are all known: each series is created now and handed
/// back, so that counting skips the family's lock and map.
fn labelled<S, const N: usize>(r: &mut Registry, desc: Desc, label_sets: [S; N]) -> [Counter; N]
where
    S: Clone + std::hash::Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
{
    let family = Family::<S, Counter>::default();
    let series = label_sets.map(|labels| family.get_or_create_owned(&labels));
    register(r, desc, family);
    series
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Holds one job in `rewriter_jobs_in_flight`.
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.dec();
    }
}

#[cfg(test)]
mod tests;
