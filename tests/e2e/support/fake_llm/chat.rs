//! Chat completions in OpenAI's wire format: a request's body in, the answer out, after the
//! latency and whatever fault is due. The answer's content is the test's override for the
//! schema name, else JSON generated from the request's schema; it names the story's subject,
//! and invents a claim when the prompts carry the marker a test set.

use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::generator::Generator;
use super::pools::Pool;
use super::{Fault, INVENTED_CLAIM, State, lock, schema_name};

/// Counts and records a chat-completion request, waits the latency (or the fault's hang) and
/// answers it; `None` means: close the connection without answering.
pub(super) async fn handle_chat(state: &State, body: &[u8]) -> Option<Response> {
    state.requests.fetch_add(1, Ordering::SeqCst);
    lock(&state.arrivals).push(Instant::now());
    let request = match serde_json::from_slice::<Value>(body) {
        Ok(request) => {
            if state.keep_bodies.load(Ordering::Relaxed) {
                lock(&state.received).push(request.clone());
            }
            request
        }
        Err(e) => {
            let text = String::from_utf8_lossy(body).into_owned();
            lock(&state.received).push(Value::String(text));
            return Some(error_response(
                400,
                &format!("We could not parse the JSON body of your request: {e}"),
                "invalid_request_error",
                None,
            ));
        }
    };
    let fault = state.next_fault();
    let latency = *lock(&state.latency);
    match &fault {
        Some(Fault::Drop) => return None,
        Some(Fault::Hang(d)) => tokio::time::sleep(*d).await,
        _ if !latency.is_zero() => tokio::time::sleep(latency).await,
        _ => {}
    }
    let mut response = match fault {
        None | Some(Fault::Hang(_) | Fault::Drop) => {
            completion(state, &request, normal_content(state, &request), "stop")
        }
        Some(Fault::Status {
            code,
            retry_after,
            body,
        }) => status_response(code, retry_after, body),
        Some(Fault::RateLimited) => status_response(
            429,
            Some("1".to_owned()),
            json!({"error": {"message": "Rate limit reached", "type": "requests",
                "param": null, "code": "rate_limit_exceeded"}})
            .to_string(),
        ),
        Some(Fault::ServerError) => status_response(
            500,
            None,
            json!({"error": {"message": "The server had an error", "type": "server_error",
                "param": null, "code": null}})
            .to_string(),
        ),
        Some(Fault::PlainText429) => status_response(429, None, "Too Many Requests".to_owned()),
        Some(Fault::Prose) => completion(
            state,
            &request,
            "Sure! Here is your article: Bitcoin is great.".to_owned(),
            "stop",
        ),
        Some(Fault::BreakSchema) => completion(
            state,
            &request,
            json!({"unexpected": true}).to_string(),
            "stop",
        ),
        Some(Fault::Truncated) => {
            let content = normal_content(state, &request);
            let half: String = content.chars().take(content.chars().count() / 2).collect();
            completion(state, &request, half, "length")
        }
        Some(Fault::Empty) => completion(state, &request, String::new(), "stop"),
        Some(Fault::Content(content)) => completion(state, &request, content, "stop"),
    };
    if response.status() == StatusCode::OK {
        let headers = response.headers_mut();
        for (name, value) in lock(&state.response_headers).iter() {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).expect("a valid header name"),
                HeaderValue::from_str(value).expect("a valid header value"),
            );
        }
    }
    Some(response)
}

fn message_text(message: &Value) -> String {
    match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn prompt_text(request: &Value) -> String {
    request
        .get("messages")
        .and_then(Value::as_array)
        .map(|messages| {
            messages
                .iter()
                .map(message_text)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn tokens(chars: usize) -> usize {
    (chars / 4).max(1)
}

fn completion(state: &State, request: &Value, content: String, finish_reason: &str) -> Response {
    let id = state.next_id.fetch_add(1, Ordering::SeqCst) + 1;
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("fake-model");
    let prompt_tokens = tokens(prompt_text(request).chars().count());
    let completion_tokens = tokens(content.chars().count());
    json_response(
        200,
        &json!({
            "id": format!("chatcmpl-fake-{id}"),
            "object": "chat.completion",
            "created": created,
            "model": model,
            "system_fingerprint": "fake",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
                "logprobs": null
            }],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": 0}
            },
            "timings": {"predicted_ms": 1.0}
        }),
    )
}

/// The content of a normal answer: the override for the schema name, else
/// JSON generated from the schema (or plain prose when none is requested).
fn normal_content(state: &State, request: &Value) -> String {
    let name = schema_name(request);
    if let Some(name) = &name
        && let Some(answer) = lock(&state.answers).get(name)
    {
        return answer.to_string();
    }
    let sentiment = lock(&state.sentiment).clone();
    let seed =
        fnv1a(format!("{}\u{0}{}", prompt_text(request), name.unwrap_or_default()).as_bytes());
    let format = request.get("response_format");
    let kind = format
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "json_schema" => {
            let schema = format
                .and_then(|f| f.get("json_schema"))
                .and_then(|s| s.get("schema"))
                .unwrap_or(&Value::Null);
            let mut generator = Generator::new(schema, seed, sentiment);
            let mut value = if schema.is_object() {
                generator.value(schema, "", 0)
            } else {
                Value::Object(Map::new())
            };
            mention_the_subject(&mut value, request);
            if let Some(marker) = lock(&state.inventing).as_deref()
                && prompt_text(request).contains(marker)
            {
                invent_a_claim(&mut value);
            }
            value.to_string()
        }
        "json_object" => {
            let mut generator = Generator::new(&Value::Null, seed, sentiment);
            json!({"text": generator.prose(Pool::Paragraph, 3)}).to_string()
        }
        _ => Generator::new(&Value::Null, seed, sentiment).prose(Pool::Paragraph, 3),
    }
}

/// Like a real writer, the overview names what the story is about: the longest word of the
/// news item's title, in lower case (so it never reads as an invented name).
fn mention_the_subject(value: &mut Value, request: &Value) {
    let text = prompt_text(request);
    let Some(start) = text.find("\"title\": \"") else {
        return;
    };
    let rest = &text[start + 10..];
    let title = &rest[..rest.find('"').unwrap_or(rest.len())];
    let subject = title
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() >= 4)
        .max_by_key(|w| w.chars().count())
        .map(str::to_lowercase);
    if let (Some(subject), Some(Value::String(overview))) = (subject, value.get_mut("overview")) {
        overview.push_str(&format!(
            " The news concerns {subject} and what comes next for the wider market."
        ));
    }
}

fn invent_a_claim(value: &mut Value) {
    if let Some(Value::String(overview)) = value.get_mut("overview") {
        overview.push(' ');
        overview.push_str(INVENTED_CLAIM);
    }
}

/// FNV-1a: a stable hash of the request, so that the same request gets the same answer.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A JSON answer with this status.
pub(super) fn json_response(status: u16, value: &Value) -> Response {
    respond(status, "application/json", None, value.to_string())
}

/// An answer with OpenAI's error body.
pub(super) fn error_response(
    status: u16,
    message: &str,
    kind: &str,
    code: Option<&str>,
) -> Response {
    json_response(
        status,
        &json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
    )
}

/// A faulted answer: `application/json` if the body parses as JSON, else `text/plain`.
fn status_response(code: u16, retry_after: Option<String>, body: String) -> Response {
    let content_type = if serde_json::from_str::<Value>(&body).is_ok() {
        "application/json"
    } else {
        "text/plain"
    };
    respond(code, content_type, retry_after, body)
}

fn respond(
    status: u16,
    content_type: &'static str,
    retry_after: Option<String>,
    body: String,
) -> Response {
    let status = StatusCode::from_u16(status).expect("a fault's status is an HTTP status");
    let mut response = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
    if let Some(retry_after) = retry_after {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_str(&retry_after).expect("a valid Retry-After value"),
        );
    }
    response
}
