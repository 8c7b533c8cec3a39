//! One answer from one model: the retry loop around the transport. Transient failures are
//! retried with backoff (honouring `Retry-After`), dependency failures feed the circuit, and
//! every request takes its turn from the pacer first and is counted.

use std::time::{Duration, Instant};

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
            let delay = self.backoff(attempt, retry_after);
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

    /// Exponential backoff with full jitter, at least `Retry-After`, capped.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let cap = self.settings.max_backoff;
        let exp = Duration::from_millis(250)
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(cap);
        let jittered = exp.mul_f64(0.5 + fastrand::f64() * 0.5);
        match retry_after {
            Some(ra) => ra.min(cap).max(jittered),
            None => jittered,
        }
    }
}
