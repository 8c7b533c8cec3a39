//! The HTTP exchange under async-openai: the transport that reports every failure with its
//! status, `Retry-After` and body (and feeds the provider's rate-limit headers to the pacer),
//! and the sorting of failures into what the retry loop does with them.

use std::time::{Duration, Instant};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use serde_json::Value;

use super::pacer::{Pacer, RateLimitHeaders};

/// How much of a failing body or a rejected answer is kept for messages.
const SNIPPET_CHARS: usize = 300;

/// An async-openai client whose requests go through `http`, each failure an [`HttpFailure`]
/// rather than async-openai's own retries, and every provider's rate-limit announcement told
/// to `pacer`.
pub(super) fn client(
    config: OpenAIConfig,
    http: reqwest::Client,
    pacer: &Pacer,
) -> Client<OpenAIConfig> {
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
    Client::with_config(config).with_http_service(transport)
}

/// A failed HTTP exchange, as the transport reports it to the retry loop.
#[derive(Debug, thiserror::Error)]
#[error("HTTP {status}: {body}")]
pub(super) struct HttpFailure {
    status: u16,
    retry_after: Option<Duration>,
    body: String,
}

/// What a failed request says, sorted by what the retry loop does about it.
pub(super) enum Failure {
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

/// Sorts a failed request by what it says about the server and about the request.
pub(super) fn classify(error: OpenAIError) -> Failure {
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
pub(super) fn room_for_completion(message: &str) -> Option<u32> {
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

pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
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
pub(super) fn error_message(body: &str) -> String {
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

pub(super) fn snippet(s: &str) -> String {
    cut_chars(s, SNIPPET_CHARS)
}

fn cut_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
