//! Talking to an OpenAI-compatible server: requests, retries, schema validation of answers.
//!
//! Calls go through async-openai's chat completions with strict `json_schema` structured
//! output. async-openai's own retry policy is replaced (its `middleware` feature) by a plain
//! transport that surfaces the HTTP status, `Retry-After` and the body of every failure, so
//! this module owns the whole policy:
//!
//! * **transient** failures (429, 408, 409, 5xx, timeouts, dropped connections, garbled
//!   bodies) are retried with exponential backoff and full jitter, honouring `Retry-After`, up
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

pub mod circuit;
pub mod pacer;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::config::{LlmSettings, safe_url};
use crate::metrics::{Metrics, RequestResult};
use crate::prompts::{PromptSet, RenderedCall};
use crate::review::Verdict;
use circuit::{Circuit, Probe, Prober};
use pacer::{Pacer, RateLimitHeaders};

/// How much of a failing body or a rejected answer is kept for messages.
const SNIPPET_CHARS: usize = 300;

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

/// A failed HTTP exchange, as the transport reports it to the retry loop.
#[derive(Debug, thiserror::Error)]
#[error("HTTP {status}: {body}")]
struct HttpFailure {
    status: u16,
    retry_after: Option<Duration>,
    body: String,
}

enum Failure {
    /// The server did not serve the request, for reasons that say nothing about the request:
    /// refused, unreachable, dropped, 5xx, 429, 408.
    Dependency {
        reason: String,
        retry_after: Option<Duration>,
        rate_limited: bool,
    },
    /// No answer within the request timeout: the server's failure or the request's.
    TimedOut,
    /// The server answered, but not with a chat completion.
    Garbled(String),
    Rejected {
        reason: String,
        too_long: bool,
    },
    Fatal {
        status: u16,
        reason: String,
    },
}

/// How [`LlmClient::send_with_retries`] failed.
enum SendError {
    Llm(LlmError),
    /// Every attempt failed on the dependency and the server answered nobody meanwhile.
    Silent {
        last: String,
    },
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
        let observer = pacer.clone();
        let transport = tower::service_fn(move |factory: HttpRequestFactory| {
            let http = http.clone();
            let pacer = observer.clone();
            async move {
                let request = factory.build().await?;
                let response = http.execute(request).await.map_err(OpenAIError::Reqwest)?;
                let announced = RateLimitHeaders::from_headers(response.headers());
                if !announced.is_empty() {
                    pacer.observe(Instant::now(), &announced);
                }
                let status = response.status();
                if status.is_success() {
                    return Ok(response);
                }
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Duration::from_secs_f64);
                let body = response.text().await.unwrap_or_default();
                Err(OpenAIError::Boxed(Box::new(HttpFailure {
                    status: status.as_u16(),
                    retry_after,
                    body: snippet(&error_message(&body)),
                })))
            }
        });
        let client = Client::with_config(config).with_http_service(transport);
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

    /// One answer from `model`, retrying transient failures. Adds the requests sent to
    /// `requests` and the time spent on them, their backoff and pacing to `waiting`.
    async fn send_with_retries(
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

/// A chat-completions request as it goes on the wire: the body async-openai's
/// `CreateChatCompletionRequest` would serialize for our calls (a unit test holds the two
/// equal), but borrowed from the call, and with the response format serialized once per prompt
/// set instead of its schema cloned and serialized for every request.
#[derive(Debug, Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: [ChatMessage<'a>; 2],
    temperature: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frequency_penalty: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presence_penalty: Option<f32>,
    /// Deprecated by OpenAI but honoured by llama.cpp, vLLM and Ollama.
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    max_completion_tokens: u32,
    response_format: &'a RawValue,
}

#[derive(Debug, Serialize)]
struct ChatMessage<'a> {
    role: &'static str,
    content: Content<'a>,
}

/// A message's text, or the same already in JSON form (the system message, escaped once per
/// prompt set and language instead of once per request).
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Content<'a> {
    Text(&'a str),
    Json(&'a RawValue),
}

impl Content<'_> {
    /// About the text's length in bytes (a JSON form counts its quotes and escapes too), for
    /// estimating tokens.
    fn len(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Json(json) => json.get().len(),
        }
    }
}

impl<'a> ChatRequest<'a> {
    fn new(
        set: &'a PromptSet,
        call: &'a RenderedCall,
        model: &'a str,
        user: &'a str,
        max_tokens: u32,
    ) -> Self {
        let s = &set.sampling;
        Self {
            model,
            messages: [
                ChatMessage {
                    role: "system",
                    content: Content::Json(&call.system.json),
                },
                ChatMessage {
                    role: "user",
                    content: Content::Text(user),
                },
            ],
            temperature: s.temperature,
            top_p: s.top_p,
            frequency_penalty: s.frequency_penalty,
            presence_penalty: s.presence_penalty,
            seed: s.seed,
            max_completion_tokens: max_tokens,
            response_format: &call.spec.response_format,
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

fn classify(error: OpenAIError) -> Failure {
    match error {
        OpenAIError::Boxed(boxed) => match boxed.downcast::<HttpFailure>() {
            Ok(http) => {
                let reason = format!("HTTP {}: {}", http.status, http.body);
                match http.status {
                    401 | 403 | 404 => Failure::Fatal {
                        status: http.status,
                        reason: http.body,
                    },
                    // Before the status: llama.cpp says it with a 500.
                    _ if exceeds_context(&http.body) => Failure::Rejected {
                        reason,
                        too_long: true,
                    },
                    408 | 409 | 425 | 429 | 500..=599 => Failure::Dependency {
                        reason,
                        retry_after: http.retry_after,
                        rate_limited: http.status == 429,
                    },
                    _ => Failure::Rejected {
                        reason,
                        too_long: false,
                    },
                }
            }
            Err(other) => Failure::Dependency {
                reason: other.to_string(),
                retry_after: None,
                rate_limited: false,
            },
        },
        OpenAIError::Reqwest(e) if e.is_timeout() => Failure::TimedOut,
        OpenAIError::Reqwest(e) => Failure::Dependency {
            reason: if e.is_connect() {
                format!("could not connect: {}", error_chain(&e))
            } else {
                format!("the connection failed: {}", error_chain(&e))
            },
            retry_after: None,
            rate_limited: false,
        },
        OpenAIError::JSONDeserialize(e, _) => {
            Failure::Garbled(format!("the response is not a chat completion: {e}"))
        }
        other => Failure::Dependency {
            reason: other.to_string(),
            retry_after: None,
            rate_limited: false,
        },
    }
}

/// Whether an error message says the request does not fit the model's context, in the words
/// of OpenAI ("maximum context length", code `context_length_exceeded`), vLLM (the same),
/// llama.cpp ("exceeds the available context size", "Context size has been exceeded") or
/// Ollama ("exceeds the context length", "prompt too long").
fn exceeds_context(message: &str) -> bool {
    let m = message.to_lowercase();
    let about_context = ["context length", "context size", "context window", "n_ctx"]
        .iter()
        .any(|w| m.contains(w));
    m.contains("context_length_exceeded")
        || m.contains("prompt too long")
        || m.contains("prompt is too long")
        || (about_context && (m.contains("exceed") || m.contains("maximum")))
}

/// How many tokens an answer has room for, when the error says so: OpenAI's and vLLM's
/// "maximum context length is N tokens … (M in the messages, …)" or "… your request has M
/// input tokens".
fn room_for_completion(message: &str) -> Option<u32> {
    let number_after = |text: &str, marker: &str| -> Option<u32> {
        let rest = &text[text.find(marker)? + marker.len()..];
        let digits: String = rest
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    let number_before = |text: &str, marker: &str| -> Option<u32> {
        let head = &text[..text.find(marker)?];
        let digits: String = head
            .trim_end()
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        digits.parse().ok()
    };
    let context = number_after(message, "maximum context length is")?;
    let prompt = number_before(message, " in the messages")
        .or_else(|| number_after(message, "your request has"))?;
    context.checked_sub(prompt).filter(|room| *room > 0)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// OpenAI's `{"error": {"message": …}}`, or the body as it is.
fn error_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("error"))
                .or_else(|| v.get("message"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| body.trim().to_owned())
}

fn snippet(s: &str) -> String {
    cut_chars(s, SNIPPET_CHARS)
}

fn cut_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// One usable HTTP answer (not yet judged).
struct Reply {
    content: String,
    finish_reason: Option<String>,
    usage: Usage,
}

/// The parts of a chat completion we read; everything else is ignored.
#[derive(Debug, Deserialize)]
struct WireResponse {
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
struct WireChoice {
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

impl WireResponse {
    fn into_reply(self) -> Result<Reply, String> {
        let usage = self
            .usage
            .map(|u| Usage {
                prompt_tokens: u.prompt_tokens.unwrap_or(0),
                completion_tokens: u.completion_tokens.unwrap_or(0),
            })
            .unwrap_or_default();
        let choice = self
            .choices
            .into_iter()
            .next()
            .ok_or("the response has no choices")?;
        let message = choice.message.ok_or("the response has no message")?;
        let content = match (message.content, message.refusal) {
            (Some(c), _) => c,
            (None, Some(refusal)) => format!("(refused) {refusal}"),
            (None, None) => String::new(),
        };
        Ok(Reply {
            content,
            finish_reason: choice.finish_reason,
            usage,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shipped prompt set and call, with a sampling that sets every optional field.
    #[allow(deprecated)] // `seed`: deprecated by OpenAI, honoured by local servers.
    #[test]
    fn requests_are_what_async_openais_typed_request_would_send() {
        use async_openai::types::chat::{
            ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
            CreateChatCompletionRequest, ResponseFormat, ResponseFormatJsonSchema,
        };
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
        let library = crate::prompts::PromptLibrary::load(&root, None).unwrap();
        let headline = crate::prompts::sample_headline();
        for version in library.versions() {
            let mut set =
                crate::prompts::PromptSet::load(&root.join(version.dir_name()), version).unwrap();
            for sampling in [
                set.sampling.clone(),
                crate::prompts::Sampling {
                    temperature: 0.25,
                    top_p: Some(0.5),
                    frequency_penalty: Some(0.125),
                    presence_penalty: Some(-0.5),
                    seed: Some(42),
                },
            ] {
                set.sampling = sampling;
                for call in set.render(&headline).unwrap() {
                    let ours = ChatRequest::new(
                        &set,
                        &call,
                        "model-a",
                        "re-ask: \"quoted\" ✓",
                        call.spec.max_tokens,
                    );
                    let s = &set.sampling;
                    let typed = CreateChatCompletionRequest {
                        model: "model-a".into(),
                        messages: vec![
                            ChatCompletionRequestSystemMessage::from(call.system.text.clone())
                                .into(),
                            ChatCompletionRequestUserMessage::from("re-ask: \"quoted\" ✓").into(),
                        ],
                        temperature: Some(s.temperature),
                        top_p: s.top_p,
                        frequency_penalty: s.frequency_penalty,
                        presence_penalty: s.presence_penalty,
                        seed: s.seed,
                        max_completion_tokens: Some(call.spec.max_tokens),
                        response_format: Some(ResponseFormat::JsonSchema {
                            json_schema: ResponseFormatJsonSchema {
                                description: None,
                                name: call.spec.name.clone(),
                                schema: call.spec.schema.clone(),
                                strict: Some(true),
                            },
                        }),
                        ..Default::default()
                    };
                    assert_eq!(
                        serde_json::to_value(&ours).unwrap(),
                        serde_json::to_value(&typed).unwrap(),
                        "{version} {}",
                        call.spec.name
                    );
                }
            }
        }
    }

    #[test]
    fn fenced_json_is_accepted_and_prose_is_not() {
        assert!(parse_json_object("```json\n{\"a\": 1}\n```").is_some());
        assert!(parse_json_object(" {\"a\": 1} ").is_some());
        assert!(parse_json_object("Sure! Here it is").is_none());
        assert!(parse_json_object("[1, 2]").is_none());
        assert!(parse_json_object("{\"a\": ").is_none());
    }

    #[test]
    fn error_bodies_yield_their_message_whatever_their_shape() {
        assert_eq!(
            error_message(r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#),
            "Rate limit reached"
        );
        assert_eq!(
            error_message(r#"{"error":"model not loaded"}"#),
            "model not loaded"
        );
        assert_eq!(error_message("Too Many Requests\n"), "Too Many Requests");
    }

    #[test]
    fn context_overflows_are_recognised_in_every_servers_words() {
        for message in [
            "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.",
            "request (3559 tokens) exceeds the available context size (2048 tokens), try increasing it",
            "Context size has been exceeded.",
            "the input length exceeds the context length",
            "prompt too long; exceeded max context length by 12 tokens",
            "Error code: context_length_exceeded",
        ] {
            assert!(exceeds_context(message), "{message}");
        }
        for message in [
            "The server had an error",
            "Rate limit reached",
            "model not loaded",
            "Invalid schema for response_format",
        ] {
            assert!(!exceeds_context(message), "{message}");
        }
    }

    #[test]
    fn the_room_left_for_an_answer_is_read_from_the_error_when_it_is_given() {
        assert_eq!(
            room_for_completion(
                "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (3500 in the messages, 1500 in the completion)."
            ),
            Some(596)
        );
        assert_eq!(
            room_for_completion(
                "'max_tokens' or 'max_completion_tokens' is too large: 1000. This model's maximum context length is 2048 tokens and your request has 1500 input tokens (1000 > 2048 - 1500)."
            ),
            Some(548)
        );
        assert_eq!(
            room_for_completion(
                "request (3559 tokens) exceeds the available context size (2048 tokens)"
            ),
            None
        );
        assert_eq!(
            room_for_completion(
                "maximum context length is 100 tokens. However, you requested 300 tokens (200 in the messages, 100 in the completion)"
            ),
            None
        );
    }

    #[test]
    fn cutting_text_never_splits_a_character() {
        assert_eq!(cut_chars("äöü🧊x", 4), "äöü🧊…");
        assert_eq!(cut_chars("short", 10), "short");
    }

    #[test]
    fn replies_without_optional_fields_still_read() {
        let wire: WireResponse =
            serde_json::from_str(r#"{"choices":[{"message":{"content":"{}"}}],"timings":{}}"#)
                .unwrap();
        let reply = wire.into_reply().unwrap();
        assert_eq!(reply.content, "{}");
        assert_eq!(reply.usage, Usage::default());
        let empty: WireResponse = serde_json::from_str("{}").unwrap();
        assert!(empty.into_reply().is_err());
    }
}
