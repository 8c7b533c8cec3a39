//! The LLM's circuit breaker: one per [`super::LlmClient`], shared by every task of a process.
//!
//! While it is closed, requests go out. Failures of the dependency (the server refuses the
//! connection, cannot be reached, stays silent until the timeout, answers 5xx or 429) are
//! counted across all tasks, and any answer resets the count. At
//! `REWRITER_LLM_CIRCUIT_FAILURES` in a row, or when a job spent its retries on such failures
//! without the server answering anything in between, the circuit opens:
//!
//! * no request is sent; a job that reaches the LLM fails at once with
//!   [`super::LlmError::Unavailable`], which the worker and `rewriter rewrite` answer by waiting
//!   for [`Circuit::closed`] and running the job again (it is never dead-lettered for it);
//! * the log says so once, and [`Metrics`] carries the outage (for `/readyz` and `/metrics`);
//! * one task probes the server (`GET /models`, free on every OpenAI-compatible server) after
//!   `REWRITER_LLM_PROBE_MIN`, doubling up to `REWRITER_LLM_PROBE_MAX`, each wait drawn between
//!   its half and itself so that workers restarted together do not probe in step.
//!
//! The first probe the server answers (any status under 500 but 429) closes it, half open: the
//! probe interval is kept, and the next dependency failure opens it again at once, so a server
//! that lists its models but cannot complete is not hammered. A completed request resets both.
//!
//! It does not decide what a job's own failures mean: a request the server refuses, or one
//! that times out while the server answers others, stays the job's problem (`llm` decides).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;

use crate::config::OutageSettings;
use crate::metrics::{LlmOutage, Metrics};

/// How long a probe may take at most (the request timeout when that is shorter).
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The server answered with this status (and, for an error status, this body).
    Answered { status: u16, body: String },
    /// It did not answer, or answered that it cannot serve (5xx, 429).
    Down(String),
}

/// Sends probes: `GET <base>/models`, with the API key.
#[derive(Clone)]
pub(crate) struct Prober {
    pub http: reqwest::Client,
    pub url: String,
    pub api_key: Option<SecretString>,
    pub timeout: Duration,
}

impl Prober {
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        api_key: Option<SecretString>,
        request_timeout: Duration,
    ) -> Self {
        Self {
            http,
            url: format!("{}/models", base_url.trim_end_matches('/')),
            api_key,
            timeout: PROBE_TIMEOUT.min(request_timeout),
        }
    }

    async fn probe(&self) -> Probe {
        let mut request = self.http.get(&self.url).timeout(self.timeout);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                if status >= 500 || status == 429 {
                    return Probe::Down(format!("GET /models answered HTTP {status}"));
                }
                let body = if status >= 400 {
                    super::transport::snippet(&super::transport::error_message(
                        &response.text().await.unwrap_or_default(),
                    ))
                } else {
                    String::new()
                };
                Probe::Answered { status, body }
            }
            Err(e) if e.is_timeout() => Probe::Down(format!(
                "GET /models got no answer within {}s",
                self.timeout.as_secs_f64()
            )),
            Err(e) if e.is_connect() => Probe::Down(format!(
                "could not connect: {}",
                super::transport::error_chain(&e)
            )),
            Err(e) => Probe::Down(format!(
                "the connection failed: {}",
                super::transport::error_chain(&e)
            )),
        }
    }
}

/// The breaker. Cheap to clone; clones share the state.
#[derive(Clone)]
pub struct Circuit {
    inner: Arc<Inner>,
}

struct Inner {
    settings: OutageSettings,
    /// `true` while open; waiters watch it.
    open: watch::Sender<bool>,
    /// Dependency failures since the last answer.
    failures: AtomicU32,
    /// Answers so far: a job compares two readings to learn whether the server answered
    /// anyone in between.
    answers: AtomicU64,
    /// How many probe waits have doubled; kept through a half-open close.
    level: AtomicU32,
    /// Closed by a probe and no request completed since: opening again is the same outage,
    /// which the log already told.
    half_open: AtomicBool,
    prober: Prober,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Circuit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Circuit")
            .field("open", &self.is_open())
            .finish_non_exhaustive()
    }
}

impl Circuit {
    pub(crate) fn new(settings: OutageSettings, prober: Prober, metrics: Arc<Metrics>) -> Self {
        Self {
            inner: Arc::new(Inner {
                settings,
                open: watch::Sender::new(false),
                failures: AtomicU32::new(0),
                answers: AtomicU64::new(0),
                level: AtomicU32::new(0),
                half_open: AtomicBool::new(false),
                prober,
                metrics,
            }),
        }
    }

    pub fn is_open(&self) -> bool {
        *self.inner.open.borrow()
    }

    /// The outage under way (since when, why), if open.
    pub fn outage(&self) -> Option<LlmOutage> {
        self.inner.metrics.llm_outage()
    }

    /// Completes once the circuit is closed (at once if it is).
    pub async fn closed(&self) {
        let mut open = self.inner.open.subscribe();
        // The sender lives in `inner`, which `self` holds: `wait_for` cannot fail.
        let _ = open.wait_for(|open| !*open).await;
    }

    /// Completes once the circuit is open (at once if it is).
    pub async fn opened(&self) {
        let mut open = self.inner.open.subscribe();
        // As in `closed`: the sender outlives the wait.
        let _ = open.wait_for(|open| *open).await;
    }

    /// Answers seen so far (see [`Circuit::answered_since`]).
    pub(crate) fn answers(&self) -> u64 {
        self.inner.answers.load(Ordering::Relaxed)
    }

    /// Whether the server answered anything after `answers` was read.
    pub(crate) fn answered_since(&self, answers: u64) -> bool {
        self.answers() > answers
    }

    /// The server completed a request: it is up, and the probe interval starts over.
    pub(crate) fn completed(&self) {
        self.inner.level.store(0, Ordering::Relaxed);
        self.inner.half_open.store(false, Ordering::Relaxed);
        self.answered();
    }

    /// The server answered (a refusal, a garbled reply, a probe): it is reachable.
    pub(crate) fn answered(&self) {
        self.inner.failures.store(0, Ordering::Relaxed);
        self.inner.answers.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a dependency failure; opens the circuit at the threshold. Whether it is open now
    /// (by this failure or by others').
    pub(crate) fn failed(&self, reason: &str) -> bool {
        let failures = self.inner.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= self.inner.settings.failures_to_open {
            self.open(reason);
        }
        self.is_open()
    }

    /// Opens the circuit (if closed): logs once, records the outage and starts probing.
    pub(crate) fn open(&self, reason: &str) {
        let metrics = &self.inner.metrics;
        let opened = self.inner.open.send_if_modified(|open| {
            if *open {
                return false;
            }
            metrics.llm_circuit_opened(SystemTime::now(), reason);
            *open = true;
            true
        });
        if opened {
            if self.inner.half_open.load(Ordering::Relaxed) {
                tracing::debug!(%reason, "the LLM answered a probe but still fails requests");
            } else {
                tracing::warn!(
                    %reason,
                    "the LLM is unreachable: no new requests, jobs wait for it; probing until it answers"
                );
            }
            tokio::spawn(probe_until_answered(self.clone()));
        }
    }

    /// One probe now, counted in the metrics; an answer counts as one.
    pub async fn probe(&self) -> Probe {
        self.inner.metrics.llm_probed();
        let probe = self.inner.prober.probe().await;
        if matches!(probe, Probe::Answered { .. }) {
            self.answered();
        }
        probe
    }

    fn close(&self) {
        // Half open: one more dependency failure opens it again.
        let threshold = self.inner.settings.failures_to_open;
        self.inner
            .failures
            .store(threshold.saturating_sub(1), Ordering::Relaxed);
        let open_for = self.inner.metrics.llm_circuit_closed();
        let again = self.inner.half_open.swap(true, Ordering::Relaxed);
        self.inner.open.send_replace(false);
        let open_secs = open_for.map_or(0, |d| d.as_secs());
        if again {
            tracing::debug!(open_secs, "the LLM answered a probe again: trying requests");
        } else {
            tracing::info!(open_secs, "the LLM answers again: jobs resume");
        }
    }

    /// The wait before probe number `level` (from 0): doubling from the minimum, capped,
    /// drawn between its half and itself.
    fn probe_delay(&self, level: u32) -> Duration {
        let s = &self.inner.settings;
        let full = s
            .probe_min
            .saturating_mul(1u32 << level.min(20))
            .min(s.probe_max);
        full.mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

/// Probes until the server answers, then closes the circuit. One such task runs per opening.
async fn probe_until_answered(circuit: Circuit) {
    loop {
        let level = circuit.inner.level.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(circuit.probe_delay(level)).await;
        match circuit.probe().await {
            Probe::Answered { .. } => {
                circuit.close();
                return;
            }
            Probe::Down(reason) => tracing::debug!(%reason, "the LLM is still unreachable"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn circuit(failures_to_open: u32) -> Circuit {
        let settings = OutageSettings {
            failures_to_open,
            probe_min: Duration::from_millis(100),
            probe_max: Duration::from_millis(1000),
            ..OutageSettings::default()
        };
        // Port 9 (discard) on localhost: nothing listens there, so a probe fails fast.
        let prober = Prober::new(
            reqwest::Client::new(),
            "http://127.0.0.1:9/v1",
            None,
            Duration::from_secs(1),
        );
        Circuit::new(settings, prober, Arc::new(Metrics::new()))
    }

    #[test]
    fn probe_waits_double_up_to_the_cap_with_jitter_below_them() {
        let c = circuit(3);
        for (level, full_ms) in [
            (0, 100),
            (1, 200),
            (2, 400),
            (3, 800),
            (4, 1000),
            (30, 1000),
        ] {
            for _ in 0..50 {
                let d = c.probe_delay(level);
                let full = Duration::from_millis(full_ms);
                assert!(d <= full && d >= full / 2, "level {level}: {d:?}");
            }
        }
    }

    #[tokio::test]
    async fn failures_in_a_row_open_it_and_an_answer_between_them_resets_the_count() {
        let c = circuit(3);
        assert!(!c.failed("refused"));
        assert!(!c.failed("refused"));
        c.answered();
        assert!(!c.failed("refused"));
        assert!(!c.failed("refused"));
        assert!(c.failed("refused"));
        assert!(c.is_open());
        assert_eq!(c.outage().unwrap().reason, "refused");
    }

    #[tokio::test]
    async fn answers_are_counted_so_that_a_job_can_tell_whether_the_server_answered_others() {
        let c = circuit(3);
        let before = c.answers();
        assert!(!c.answered_since(before));
        c.completed();
        assert!(c.answered_since(before));
    }
}
