//! Talking to an OpenAI-compatible server: requests, retries, schema validation of answers.
//!
//! Calls go through async-openai's chat completions with strict `json_schema` structured
//! output. async-openai's own retry policy is replaced (its `middleware` feature) by a plain
//! transport that surfaces the HTTP status, `Retry-After` and the body of every failure, so
//! this module owns the whole policy:
//!
//! * **transient** failures (429, 408, 409, 5xx, timeouts, dropped connections, garbled
//!   bodies) are retried with exponential backoff and jitter, honouring `Retry-After`, up
//!   to `max_attempts` per model and never past the job's deadline; then the next fallback
//!   model is tried. A 429 also pauses every task of this client (a shared gate), so the
//!   worker as a whole slows down instead of hammering the provider;
//! * **the server being away** is not the job's failure: failures of the dependency feed the
//!   shared [`circuit`], and a job whose retries found the server silent throughout, or that
//!   meets the circuit open, fails with [`LlmError::Unavailable`], which callers answer by
//!   waiting for the circuit to close. A request that keeps timing out while the server
//!   answers others (or a probe) is the job's: it gets [`TIMEOUTS_WHILE_ANSWERING`] tries a
//!   model;
//! * **the request itself cannot be served** (its prompt and `max_tokens` exceed the model's
//!   context, in the words of OpenAI, vLLM, llama.cpp or Ollama, whatever the status): asked
//!   again at once with a `max_tokens` that fits when the server says how much room there is,
//!   else of the next fallback model, else refused;
//! * **invalid answers** (cut off at the token limit, not JSON, breaking the schema or the
//!   article rules) are asked for again, naming what was wrong, `max_reasks` times;
//! * **fatal** answers (401, 403, 404: a wrong key, model or URL) are not retried at all.
//!
//! Responses are read leniently: unknown fields (llama.cpp's `timings`, …) and missing
//! optional ones are fine.
//!
//! Every request first takes its turn from the [`pacer`] (requests and tokens per minute,
//! configured and announced by the provider's `x-ratelimit-*` headers), and is counted and
//! timed in [`Metrics`].
//!
//! This file owns the asks of one call (re-asks naming the problems, fallback models, a
//! smaller `max_tokens` when the context is exceeded) and the judging of each answer. Under it:
//! `retry` (one answer from one model: the retry loop and its backoff), `transport` (the HTTP
//! exchange and the sorting of its failures), `wire` (the request and response bodies),
//! [`circuit`] (whether the server answers at all) and [`pacer`] (whose turn it is to send).

pub mod circuit;
pub mod pacer;
mod retry;
mod transport;
mod wire;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::config::{LlmSettings, safe_url};
use crate::metrics::Metrics;
use crate::prompts::{PromptSet, RenderedCall};
use crate::review::Verdict;
use circuit::{Circuit, Probe, Prober};
use pacer::Pacer;
use retry::SendError;
use transport::{room_for_completion, snippet};
use wire::{ChatRequest, Reply};

/// Tries a model gets for one call when its requests time out while the server answers
/// others: a prompt the model cannot finish in time will not finish on the tenth try either.
pub const TIMEOUTS_WHILE_ANSWERING: u32 = 2;

/// Why a call failed, split by what the caller must do.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// Transient failures outlasted the budget on every model.
    #[error("call {call}: the LLM kept failing after {attempts} attempts: {last}")]
    Exhausted {
        call: String,
        attempts: u32,
        last: String,
    },
    /// Every answer broke the schema or the article rules.
    #[error("call {call}: no usable answer after {asks} asks: {problems}")]
    InvalidAnswer {
        call: String,
        asks: u32,
        problems: String,
    },
    /// The server refused this request for good (400, 422: unsupported schema; any status
    /// saying the request exceeds the model's context, then `too_long`).
    #[error("call {call}: the LLM refused the request: {reason}")]
    Rejected {
        call: String,
        reason: String,
        too_long: bool,
    },
    /// The LLM is not answering at all (its circuit is open): not the job's failure.
    #[error("call {call}: the LLM is unreachable ({reason}); the job waits for it")]
    Unavailable { call: String, reason: String },
    /// Misconfiguration that no retry can fix (401, 403, 404).
    #[error(
        "the LLM at {base_url} answered {status}: {reason}; check OPENAI_BASE_URL, OPENAI_API_KEY and the model"
    )]
    Fatal {
        base_url: String,
        status: u16,
        reason: String,
    },
    #[error("the HTTP client could not be built: {0}")]
    Setup(String),
}

impl LlmError {
    /// Attempts spent, for the dead-letter headers.
    pub fn attempts(&self) -> u32 {
        match self {
            Self::Exhausted { attempts, .. } => *attempts,
            Self::InvalidAnswer { asks, .. } => *asks,
            _ => 1,
        }
    }
}

/// Token counts of one or more calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Self) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }
}

/// A usable answer to one call.
#[derive(Debug, Clone)]
pub struct Answer {
    pub value: Value,
    /// Article-rule flaws that survived every re-ask; empty for a clean answer.
    pub flaws: Vec<String>,
    pub model: String,
    /// Every request of this call, including failed and re-asked ones.
    pub usage: Usage,
    pub requests: u32,
    /// Time spent on requests, backoff and pacing: the LLM's time, not ours.
    pub waiting: Duration,
    /// Answers judged: 1, plus one per re-ask (an evaluation compares prompt sets by it).
    pub asks: u32,
}

/// The client: one HTTP connection pool, shared by every task of the process.
#[derive(Clone)]
pub struct LlmClient {
    client: Client<OpenAIConfig>,
    settings: LlmSettings,
    /// Every task's turn to send: rate limits, provider headers, 429 holds.
    pacer: Pacer,
    /// Whether the server answers at all; shared by every task.
    circuit: Circuit,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmClient")
            .field("base_url", &safe_url(&self.settings.base_url))
            .finish_non_exhaustive()
    }
}

impl LlmClient {
    /// One connection pool and one pacer for the whole process; `metrics` counts every request.
    pub fn new(settings: &LlmSettings, metrics: Arc<Metrics>) -> Result<Self, LlmError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10).min(settings.request_timeout))
            .timeout(settings.request_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| LlmError::Setup(e.to_string()))?;
        let mut config = OpenAIConfig::new().with_api_base(&settings.base_url);
        if let Some(key) = &settings.api_key {
            config = config.with_api_key(key.expose_secret());
        }
        let pacer = Pacer::new(settings.limits);
        let circuit = Circuit::new(
            settings.outage,
            Prober::new(
                http.clone(),
                &settings.base_url,
                settings.api_key.clone(),
                settings.request_timeout,
            ),
            Arc::clone(&metrics),
        );
        let client = transport::client(config, http, &pacer);
        Ok(Self {
            client,
            settings: settings.clone(),
            pacer,
            circuit,
            metrics,
        })
    }

    /// The circuit breaker: whether the LLM answers, and a way to wait until it does.
    pub fn circuit(&self) -> &Circuit {
        &self.circuit
    }

    /// Checks that the server answers at all (one probe). A 401 or 403 is
    /// [`LlmError::Fatal`]; no answer opens the circuit (logged, probed until it answers) and is
    /// not an error: the caller waits for [`Circuit::closed`].
    pub async fn check(&self) -> Result<(), LlmError> {
        match self.circuit.probe().await {
            Probe::Answered {
                status: status @ (401 | 403),
                body,
            } => Err(LlmError::Fatal {
                base_url: safe_url(&self.settings.base_url),
                status,
                reason: body,
            }),
            Probe::Answered { .. } => Ok(()),
            Probe::Down(reason) => {
                self.circuit.open(&reason);
                Ok(())
            }
        }
    }

    fn unavailable(&self, call: &RenderedCall) -> LlmError {
        LlmError::Unavailable {
            call: call.spec.name.clone(),
            reason: self.circuit.outage().map_or_else(
                || "its circuit is open".to_owned(),
                |o| {
                    format!(
                        "since {}: {}",
                        chrono::DateTime::<chrono::Utc>::from(o.since)
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        o.reason
                    )
                },
            ),
        }
    }

    /// The model calls of `set` go to: `REWRITER_MODEL`, else the set's.
    pub fn models_for(&self, set: &PromptSet) -> Vec<String> {
        let mut models = vec![
            self.settings
                .model
                .clone()
                .unwrap_or_else(|| set.model.clone()),
        ];
        models.extend(set.fallback_models.iter().cloned());
        models.dedup();
        models
    }

    /// Asks one call until the answer keeps the schema and `check`, within `deadline`.
    pub async fn complete(
        &self,
        set: &PromptSet,
        call: &RenderedCall,
        deadline: Instant,
        check: impl Fn(&Value) -> Verdict,
    ) -> Result<Answer, LlmError> {
        let models = self.models_for(set);
        // Requests borrow the call's prompts; only a re-ask has a user message of its own.
        let mut user = Cow::Borrowed(call.user.as_str());
        let mut usage = Usage::default();
        let mut requests = 0;
        let mut waiting = Duration::ZERO;
        let mut model_index = 0;
        let mut flawed: Option<(Value, Vec<String>, String)> = None;
        let mut last_problems = String::new();
        let mut max_tokens = call.spec.max_tokens;
        let asks = self.settings.max_reasks + 1;
        for ask in 1..=asks {
            let (reply, model) = loop {
                let model = &models[model_index];
                let request = ChatRequest::new(set, call, model, &user, max_tokens);
                let failed = match self
                    .send_with_retries(&request, call, deadline, &mut requests, &mut waiting)
                    .await
                {
                    Ok(reply) => break (reply, model.clone()),
                    Err(failed) => failed,
                };
                let fallback = model_index + 1 < models.len() && Instant::now() < deadline;
                match failed {
                    SendError::Llm(LlmError::Rejected {
                        ref reason,
                        too_long: true,
                        ..
                    }) if room_for_completion(reason)
                        .is_some_and(|room| room < max_tokens && room >= max_tokens / 4) =>
                    {
                        let room = room_for_completion(reason).unwrap_or(max_tokens);
                        tracing::warn!(call = %call.spec.name, %model, from = max_tokens, to = room, "the request exceeds the context; asking again with fewer tokens for the answer");
                        max_tokens = room;
                    }
                    SendError::Llm(
                        LlmError::Exhausted { .. } | LlmError::Rejected { too_long: true, .. },
                    )
                    | SendError::Silent { .. }
                        if fallback =>
                    {
                        tracing::warn!(call = %call.spec.name, from = %model, to = %models[model_index + 1], "switching to the fallback model");
                        model_index += 1;
                        max_tokens = call.spec.max_tokens;
                    }
                    SendError::Silent { last } => {
                        // Its retries found the server answering nobody: an outage, whatever
                        // the count of failures in a row says.
                        self.circuit.open(&last);
                        return Err(self.unavailable(call));
                    }
                    SendError::Llm(e) => return Err(e),
                }
            };
            usage += reply.usage;
            let (value, problems) = judge(call, &reply, &check);
            match problems {
                None => {
                    return Ok(Answer {
                        value,
                        flaws: Vec::new(),
                        model,
                        usage,
                        requests,
                        waiting,
                        asks: ask,
                    });
                }
                Some(verdict) => {
                    last_problems = verdict
                        .invalid
                        .iter()
                        .chain(&verdict.flawed)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("; ");
                    tracing::debug!(call = %call.spec.name, ask, problems = %last_problems, "answer rejected");
                    let fewer_flaws = flawed
                        .as_ref()
                        .is_none_or(|(_, before, _)| verdict.flawed.len() <= before.len());
                    if verdict.invalid.is_empty() && fewer_flaws {
                        flawed = Some((value, verdict.flawed.clone(), model.clone()));
                    }
                    if ask < asks {
                        self.metrics.llm_reasked();
                        // The re-ask replaces the user message rather than growing the
                        // conversation: small models have small context windows, and the
                        // problems named are what the model needs to hear.
                        user = Cow::Owned(format!(
                            "{}\n\nAn earlier answer to this request was rejected: {last_problems}. Write a new answer that avoids these problems.",
                            call.user
                        ));
                    }
                }
            }
        }
        match flawed {
            Some((value, flaws, model)) => Ok(Answer {
                value,
                flaws,
                model,
                usage,
                requests,
                waiting,
                asks,
            }),
            None => Err(LlmError::InvalidAnswer {
                call: call.spec.name.clone(),
                asks,
                problems: last_problems,
            }),
        }
    }
}

/// Parses and judges one reply; `None` problems means a clean answer.
fn judge(
    call: &RenderedCall,
    reply: &Reply,
    check: &impl Fn(&Value) -> Verdict,
) -> (Value, Option<Verdict>) {
    let invalid = |problem: String| {
        (
            Value::Null,
            Some(Verdict {
                invalid: vec![problem],
                flawed: Vec::new(),
            }),
        )
    };
    if reply.finish_reason.as_deref() == Some("length") {
        return invalid("the answer was cut off at the token limit; write less".into());
    }
    let Some(value) = parse_json_object(&reply.content) else {
        return invalid(format!(
            "the answer is not one JSON object: {:?}",
            snippet(&reply.content)
        ));
    };
    if let Err(problems) = call.spec.validate(&value) {
        return (
            value,
            Some(Verdict {
                invalid: vec![format!("the answer breaks the schema: {problems}")],
                flawed: Vec::new(),
            }),
        );
    }
    let verdict = check(&value);
    if verdict.is_clean() {
        (value, None)
    } else {
        (value, Some(verdict))
    }
}

/// The JSON object in an answer, tolerating a Markdown code fence around it.
fn parse_json_object(content: &str) -> Option<Value> {
    let trimmed = content.trim();
    let unfenced = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|s| s.strip_suffix("```"))
        .unwrap_or(trimmed);
    match serde_json::from_str::<Value>(unfenced.trim()) {
        Ok(v @ Value::Object(_)) => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenced_json_is_accepted_and_prose_is_not() {
        assert!(parse_json_object("```json\n{\"a\": 1}\n```").is_some());
        assert!(parse_json_object(" {\"a\": 1} ").is_some());
        assert!(parse_json_object("Sure! Here it is").is_none());
        assert!(parse_json_object("[1, 2]").is_none());
        assert!(parse_json_object("{\"a\": ").is_none());
    }
}
