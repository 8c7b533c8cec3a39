//! One answer from one model: the retry loop around the transport. Transient failures are
//! retried with backoff (backon's exponential backoff with jitter; `Retry-After` as a floor), dependency failures feed the circuit, and
//! every request takes its turn from the pacer first and is counted.

use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

use super::circuit::Probe;
use super::transport::{Failure, classify};
use super::wire::{ChatRequest, Reply, WireResponse};
use super::{LlmClient, LlmError, TIMEOUTS_WHILE_ANSWERING, pacer};
use crate::config::safe_url;
use crate::metrics::RequestResult;
use crate::prompts::RenderedCall;

/// How [`LlmClient::send_with_retries`] failed.
pub(super) enum SendError {
    Llm(LlmError),
    /// Every attempt failed on the dependency and the server answered nobody meanwhile.
    Silent {
        last: String,
    },
}

impl LlmClient {
    /// One answer from `model`, retrying transient failures. Adds the requests sent to
    /// `requests` and the time spent on them, their backoff and pacing to `waiting`.
    pub(super) async fn send_with_retries(
        &self,
        request: &ChatRequest<'_>,
        call: &RenderedCall,
        deadline: Instant,
        requests: &mut u32,
        waiting: &mut Duration,
    ) -> Result<Reply, SendError> {
        let model = request.model;
        let prompt_chars: usize = request.messages.iter().map(|m| m.content.len()).sum();
        let estimate = pacer::estimate_tokens(prompt_chars, request.max_completion_tokens);
        let mut attempt = 0;
        let mut backoff = backoff(self.settings.max_backoff);
        let mut timeouts = 0;
        loop {
            if self.circuit.is_open() {
                return Err(SendError::Llm(self.unavailable(call)));
            }
            attempt += 1;
            let permit = self.pacer.acquire(estimate).await;
            if !permit.waited.is_zero() {
                self.metrics.paced(permit.waited);
                *waiting += permit.waited;
            }
            *requests += 1;
            // Whether the server answered anyone while this request failed tells an outage
            // (nobody) from this request's trouble.
            let answers_at_send = self.circuit.answers();
            let started = Instant::now();
            let result = self
                .client
                .chat()
                .create_byot::<_, WireResponse>(request)
                .await;
            let took = started.elapsed();
            *waiting += took;
            let failure = match result {
                Ok(wire) => match wire.into_reply() {
                    Ok(reply) => {
                        self.circuit.completed();
                        self.metrics.llm_request(RequestResult::Ok, took);
                        // Providers count the estimate when they admit a request
                        // (OpenAI: max_tokens and the prompt's length), so usage below it is
                        // not refunded; usage above it is.
                        let used = reply.usage.prompt_tokens + reply.usage.completion_tokens;
                        self.pacer
                            .settle(&permit, used.max(permit.estimated_tokens));
                        tracing::debug!(call = %call.spec.name, model, attempt, elapsed_ms = took.as_millis() as u64, "LLM answered");
                        return Ok(reply);
                    }
                    Err(reason) => Failure::Garbled(reason),
                },
                Err(e) => classify(e),
            };
            self.metrics.llm_request(
                match &failure {
                    Failure::Dependency {
                        rate_limited: true, ..
                    } => RequestResult::RateLimited,
                    Failure::Dependency { .. } | Failure::TimedOut | Failure::Garbled(_) => {
                        RequestResult::Failed
                    }
                    Failure::Rejected { .. } | Failure::Fatal { .. } => RequestResult::Refused,
                },
                took,
            );
            let exhausted = |attempts: u32, last: String| {
                SendError::Llm(LlmError::Exhausted {
                    call: call.spec.name.clone(),
                    attempts,
                    last,
                })
            };
            // (reason, Retry-After, whether the dependency failed)
            let (reason, retry_after, dependency) = match failure {
                Failure::Fatal { status, reason } => {
                    return Err(SendError::Llm(LlmError::Fatal {
                        base_url: safe_url(&self.settings.base_url),
                        status,
                        reason,
                    }));
                }
                Failure::Rejected { reason, too_long } => {
                    self.circuit.answered();
                    return Err(SendError::Llm(LlmError::Rejected {
                        call: call.spec.name.clone(),
                        reason,
                        too_long,
                    }));
                }
                Failure::Garbled(reason) => {
                    self.circuit.answered();
                    (reason, None, false)
                }
                Failure::TimedOut => {
                    let answering = self.circuit.answered_since(answers_at_send)
                        || matches!(self.circuit.probe().await, Probe::Answered { .. });
                    let secs = self.settings.request_timeout.as_secs();
                    if answering {
                        timeouts += 1;
                        let reason = format!(
                            "no answer within {secs}s, try {timeouts} of {TIMEOUTS_WHILE_ANSWERING}, while the server answered others"
                        );
                        if timeouts >= TIMEOUTS_WHILE_ANSWERING {
                            tracing::warn!(call = %call.spec.name, model, attempt, %reason, "LLM call failed");
                            return Err(exhausted(attempt, reason));
                        }
                        (reason, None, false)
                    } else {
                        (
                            format!("no answer within {secs}s, nor to a probe"),
                            None,
                            true,
                        )
                    }
                }
                Failure::Dependency {
                    reason,
                    retry_after,
                    ..
                } => (reason, retry_after, true),
            };
            if dependency && self.circuit.failed(&reason) {
                tracing::debug!(call = %call.spec.name, model, attempt, %reason, "LLM call failed; the circuit is open");
                return Err(SendError::Llm(self.unavailable(call)));
            }
            let cap = self.settings.max_backoff;
            // Never `None`: the backoff has no limit of tries.
            let delay = at_least_retry_after(backoff.next().unwrap_or(cap), retry_after, cap);
            if retry_after.is_some() {
                // Every task holds back, not just this one: the limit is the provider's.
                self.pacer.hold_until(Instant::now() + delay);
            }
            let out_of_time = Instant::now() + delay >= deadline;
            tracing::warn!(call = %call.spec.name, model, attempt, retry_in_ms = delay.as_millis() as u64, %reason, "LLM call failed");
            if attempt >= self.settings.max_attempts || out_of_time {
                // Since the last attempt was sent, not the first: requests in flight when an
                // outage begins are still answered after this call's first failure.
                if dependency && !self.circuit.answered_since(answers_at_send) {
                    return Err(SendError::Silent { last: reason });
                }
                return Err(exhausted(attempt, reason));
            }
            // Woken early when the circuit opens meanwhile: the loop then stops at its top.
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.circuit.opened() => {}
            }
            *waiting += delay;
        }
    }
}

/// The first wait before a retry, before jitter.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// The waits of one model's retries: the n-th drawn at random between half and all of
/// `250 ms × 2^(n-1)` (the doubling stops at 2^16), capped at `max_backoff`. backon's jitter
/// adds up to the delay again (`[d, 2d)`), so its delays start at half the first wait and stop
/// growing at half the cap.
fn backoff(max_backoff: Duration) -> ExponentialBackoff {
    let top = max_backoff.min(FIRST_BACKOFF.saturating_mul(1 << 16)) / 2;
    ExponentialBuilder::new()
        .with_min_delay((FIRST_BACKOFF / 2).min(top))
        .with_factor(2.0)
        .with_max_delay(top)
        .with_jitter()
        .without_max_times()
        .build()
}

/// The wait before the next attempt: the backoff's, but at least `Retry-After` (itself capped
/// at `max_backoff`).
fn at_least_retry_after(
    jittered: Duration,
    retry_after: Option<Duration>,
    max_backoff: Duration,
) -> Duration {
    match retry_after {
        Some(ra) => ra.min(max_backoff).max(jittered),
        None => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The n-th wait lies between half and all of `250 ms × 2^(n-1)`, capped.
    #[test]
    fn waits_double_from_a_quarter_second_with_jitter_up_to_the_cap() {
        let cap = Duration::from_secs(8);
        for _ in 0..200 {
            let mut waits = backoff(cap);
            for n in 0..10u32 {
                let full = (FIRST_BACKOFF * 2u32.pow(n)).min(cap);
                let wait = waits.next().expect("no limit of tries");
                assert!(
                    wait >= full / 2 && wait < full,
                    "wait {n}: {wait:?} of {full:?}"
                );
            }
        }
        let mut tiny = backoff(Duration::from_millis(100));
        let wait = tiny.next().expect("no limit of tries");
        assert!(wait >= Duration::from_millis(50) && wait < Duration::from_millis(100));
    }

    #[test]
    fn retry_after_is_a_floor_capped_at_the_maximum() {
        let cap = Duration::from_secs(8);
        let jittered = Duration::from_secs(1);
        assert_eq!(at_least_retry_after(jittered, None, cap), jittered);
        let ra = Some(Duration::from_secs(3));
        assert_eq!(
            at_least_retry_after(jittered, ra, cap),
            Duration::from_secs(3)
        );
        let long = Some(Duration::from_secs(60));
        assert_eq!(at_least_retry_after(jittered, long, cap), cap);
        let short = Some(Duration::from_millis(10));
        assert_eq!(at_least_retry_after(jittered, short, cap), jittered);
    }
}
