//! The chat-completions request and response as they go on the wire: what we send, borrowed
//! from the rendered call, and the parts of a response we read (leniently: unknown fields and
//! missing optional ones are fine).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::Usage;
use crate::prompts::{PromptSet, RenderedCall};

/// A chat-completions request as it goes on the wire: the body async-openai's
/// `CreateChatCompletionRequest` would serialize for our calls (a unit test holds the two
/// equal), but borrowed from the call, and with the response format serialized once per prompt
/// set instead of its schema cloned and serialized for every request.
#[derive(Debug, Serialize)]
pub(super) struct ChatRequest<'a> {
    pub(super) model: &'a str,
    pub(super) messages: [ChatMessage<'a>; 2],
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
    pub(super) max_completion_tokens: u32,
    response_format: &'a RawValue,
}

#[derive(Debug, Serialize)]
pub(super) struct ChatMessage<'a> {
    role: &'static str,
    pub(super) content: Content<'a>,
}

/// A message's text, or the same already in JSON form (the system message, escaped once per
/// prompt set and language instead of once per request).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(super) enum Content<'a> {
    Text(&'a str),
    Json(&'a RawValue),
}

impl Content<'_> {
    /// About the text's length in bytes (a JSON form counts its quotes and escapes too), for
    /// estimating tokens.
    pub(super) fn len(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Json(json) => json.get().len(),
        }
    }
}

impl<'a> ChatRequest<'a> {
    pub(super) fn new(
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

/// One usable HTTP answer (not yet judged).
pub(super) struct Reply {
    pub(super) content: String,
    pub(super) finish_reason: Option<String>,
    pub(super) usage: Usage,
}

/// The parts of a chat completion we read; everything else is ignored.
#[derive(Debug, Deserialize)]
pub(super) struct WireResponse {
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
    pub(super) fn into_reply(self) -> Result<Reply, String> {
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
