//! The job message contract and its validation: after `job`, ids and versions are trusted types.
//!
//! A job is one raw headline plus the prompt version to write it with. [`Job::from_json`] is the
//! only way in from the wire: it checks every rule of the contract once and reports every
//! broken one with the field's path (`a: …; b: …`), so a dead-lettered message or a rejected
//! line says at once all that was wrong.
//! Nothing here does IO.

use std::fmt;
use std::num::NonZeroU32;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The largest job body accepted, in bytes. A headline is a few kilobytes at most; anything
/// near this is a mistake or an attack, and is dead-lettered unparsed.
pub const MAX_JOB_BYTES: usize = 256 * 1024;

/// Why a job message was refused. Never retried: the message is dead-lettered with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidJob(String);

impl InvalidJob {
    pub fn new(problem: impl Into<String>) -> Self {
        Self(problem.into())
    }

    fn at(field: &str, problem: impl fmt::Display) -> Self {
        Self(format!("{field}: {problem}"))
    }
}

/// A headline's external id: the one piece of input that names files, so it is held to
/// `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$` and can never be `.`, `..`, absolute or contain `/`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExternalId(String);

impl ExternalId {
    /// Accepts a string matching the contract's pattern.
    pub fn parse(s: &str) -> Result<Self, InvalidJob> {
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if first_ok && rest_ok && s.len() <= 128 {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidJob(format!(
                "externalId {s:?} must match ^[A-Za-z0-9][A-Za-z0-9._-]{{0,127}}$"
            )))
        }
    }

    fn from_json(value: &Value) -> Result<Self, InvalidJob> {
        match value {
            Value::String(s) => Self::parse(s),
            Value::Number(n) if n.is_u64() || n.is_i64() => Self::parse(&n.to_string()),
            other => Err(InvalidJob(format!(
                "externalId must be a string or an integer, got {}",
                kind_of(other)
            ))),
        }
    }
}

impl AsRef<str> for ExternalId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A prompt set's number: `prompts/v<N>/`, N ≥ 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct PromptVersion(NonZeroU32);

impl PromptVersion {
    pub fn new(n: u32) -> Option<Self> {
        NonZeroU32::new(n).map(Self)
    }

    pub fn get(self) -> u32 {
        self.0.get()
    }

    /// The folder (and file stem) naming this version: `v3`.
    pub fn dir_name(self) -> String {
        format!("v{}", self.0)
    }

    /// Reads `3` or `v3`.
    pub fn parse(s: &str) -> Result<Self, InvalidJob> {
        let digits = s.strip_prefix('v').unwrap_or(s);
        digits
            .parse::<u32>()
            .ok()
            .and_then(Self::new)
            .ok_or_else(|| InvalidJob(format!("prompt version {s:?} is not a number ≥ 1")))
    }
}

impl TryFrom<u32> for PromptVersion {
    type Error = InvalidJob;
    fn try_from(n: u32) -> Result<Self, InvalidJob> {
        Self::new(n).ok_or_else(|| InvalidJob("promptVersion must be ≥ 1".into()))
    }
}

impl From<PromptVersion> for u32 {
    fn from(v: PromptVersion) -> u32 {
        v.get()
    }
}

impl fmt::Display for PromptVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a headline came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub name: String,
    pub key: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// One raw headline, validated. Fields the contract does not name are kept in `extra` so that
/// `sources/<id>.json` holds the headline as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Headline {
    pub external_id: ExternalId,
    pub title: String,
    pub description: Option<String>,
    pub url: Option<String>,
    pub published_at: DateTime<Utc>,
    pub lang: String,
    pub source: Source,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub cover_image: Option<Map<String, Value>>,
    pub extra: Map<String, Value>,
}

impl Headline {
    /// Validates a headline object (the value of the job's `headline` key). Every broken rule
    /// is named, not only the first, so that one look at the error fixes the whole item.
    pub fn from_value(value: Value) -> Result<Self, InvalidJob> {
        let Value::Object(mut obj) = value else {
            return Err(InvalidJob::at("headline", "must be an object"));
        };
        let mut problems = Problems::default();
        let external_id = problems.take(match obj.remove("externalId") {
            Some(v) => ExternalId::from_json(&v).map_err(|e| InvalidJob::at("headline", e)),
            None => Err(InvalidJob::at("headline.externalId", "is required")),
        });
        let title = problems.take(required_text(&mut obj, "title"));
        let description = problems
            .take(optional_text(&mut obj, "description"))
            .flatten();
        let url = problems.take(optional_text(&mut obj, "url")).flatten();
        let published_at = problems.take(required_text(&mut obj, "publishedAt").and_then(|raw| {
            DateTime::parse_from_rfc3339(raw.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    InvalidJob::at(
                        "headline.publishedAt",
                        format!("{raw:?} is not an RFC 3339 date-time ({e})"),
                    )
                })
        }));
        let lang = problems.take(match optional_text(&mut obj, "lang") {
            Ok(Some(l)) => parse_lang(&l),
            Ok(None) => Ok("en".to_owned()),
            Err(e) => Err(e),
        });
        let source = problems.take(parse_source(obj.remove("source")));
        let category = problems.take(optional_text(&mut obj, "category")).flatten();
        let tags = problems.take(match obj.remove("tags") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, t)| match t {
                    Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_uppercase()),
                    other => Err(InvalidJob::at(
                        &format!("headline.tags[{i}]"),
                        format!("must be a non-empty string, got {}", kind_of(&other)),
                    )),
                })
                .collect::<Result<_, _>>(),
            Some(other) => Err(InvalidJob::at(
                "headline.tags",
                format!("must be an array of strings, got {}", kind_of(&other)),
            )),
        });
        let cover_image = problems.take(match obj.remove("coverImage") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => match map.iter().find(|(_, v)| !v.is_string()) {
                Some((k, v)) => Err(InvalidJob::at(
                    &format!("headline.coverImage.{k}"),
                    format!("must be a string, got {}", kind_of(v)),
                )),
                None => Ok(Some(map)),
            },
            Some(other) => Err(InvalidJob::at(
                "headline.coverImage",
                format!("must be an object, got {}", kind_of(&other)),
            )),
        });
        match (
            external_id,
            title,
            published_at,
            lang,
            source,
            tags,
            cover_image,
        ) {
            (
                Some(external_id),
                Some(title),
                Some(published_at),
                Some(lang),
                Some(source),
                Some(tags),
                Some(cover_image),
            ) if problems.0.is_empty() => Ok(Self {
                external_id,
                title,
                description,
                url,
                published_at,
                lang,
                source,
                category,
                tags,
                cover_image,
                extra: obj,
            }),
            _ => Err(problems.into_error()),
        }
    }

    /// What `sources/<id>.json` holds: [`Self::to_value`], pretty-printed.
    pub fn to_source_json(&self) -> Vec<u8> {
        // Serializing a `Value` to memory cannot fail.
        serde_json::to_vec_pretty(&self.to_value()).unwrap_or_default()
    }

    /// The headline in the wire format, as stored in `sources/<id>.json` and sent in jobs.
    pub fn to_value(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("externalId".into(), self.external_id.as_ref().into());
        obj.insert("title".into(), self.title.clone().into());
        if let Some(d) = &self.description {
            obj.insert("description".into(), d.clone().into());
        }
        if let Some(u) = &self.url {
            obj.insert("url".into(), u.clone().into());
        }
        obj.insert(
            "publishedAt".into(),
            self.published_at
                .to_rfc3339_opts(SecondsFormat::Millis, true)
                .into(),
        );
        obj.insert("lang".into(), self.lang.clone().into());
        obj.insert(
            "source".into(),
            serde_json::to_value(&self.source).unwrap_or(Value::Null),
        );
        if let Some(c) = &self.category {
            obj.insert("category".into(), c.clone().into());
        }
        if !self.tags.is_empty() {
            obj.insert("tags".into(), self.tags.clone().into());
        }
        if let Some(ci) = &self.cover_image {
            obj.insert("coverImage".into(), Value::Object(ci.clone()));
        }
        for (k, v) in &self.extra {
            obj.insert(k.clone(), v.clone());
        }
        Value::Object(obj)
    }
}

/// One unit of work: write `headline` with prompt set `prompt_version` (the worker's current
/// one when absent), replacing an existing version only when `force`.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub headline: Headline,
    pub prompt_version: Option<PromptVersion>,
    pub force: bool,
}

impl Job {
    pub fn new(headline: Headline, prompt_version: Option<PromptVersion>, force: bool) -> Self {
        Self {
            headline,
            prompt_version,
            force,
        }
    }

    pub fn id(&self) -> &ExternalId {
        &self.headline.external_id
    }

    /// Parses and validates a job message body.
    pub fn from_json(bytes: &[u8]) -> Result<Self, InvalidJob> {
        if bytes.len() > MAX_JOB_BYTES {
            return Err(InvalidJob(format!(
                "body is {} bytes, more than the limit of {MAX_JOB_BYTES}",
                bytes.len()
            )));
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(InvalidJob("body is empty".into()));
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            InvalidJob(format!(
                "body is not UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ))
        })?;
        let value: Value =
            serde_json::from_str(text).map_err(|e| InvalidJob(format!("body is not JSON: {e}")))?;
        Self::from_value(value)
    }

    /// Validates a job already parsed as JSON.
    pub fn from_value(value: Value) -> Result<Self, InvalidJob> {
        let Value::Object(mut obj) = value else {
            return Err(InvalidJob(format!(
                "body must be a JSON object, got {}",
                kind_of(&value)
            )));
        };
        let mut problems = Problems::default();
        let headline = problems.take(match obj.remove("headline") {
            Some(h) => Headline::from_value(h),
            None => Err(InvalidJob::at("headline", "is required")),
        });
        let prompt_version = problems.take(match obj.remove("promptVersion") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .and_then(PromptVersion::new)
                .map(Some)
                .ok_or_else(|| {
                    InvalidJob::at("promptVersion", format!("{n} is not an integer ≥ 1"))
                }),
            Some(other) => Err(InvalidJob::at(
                "promptVersion",
                format!("must be an integer, got {}", kind_of(&other)),
            )),
        });
        let force = problems.take(match obj.remove("force") {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(b),
            Some(other) => Err(InvalidJob::at(
                "force",
                format!("must be a boolean, got {}", kind_of(&other)),
            )),
        });
        match (headline, prompt_version, force) {
            (Some(headline), Some(prompt_version), Some(force)) => Ok(Self {
                headline,
                prompt_version,
                force,
            }),
            _ => Err(problems.into_error()),
        }
    }

    /// The message body for this job.
    pub fn to_json(&self) -> Vec<u8> {
        let mut obj = Map::new();
        obj.insert("headline".into(), self.headline.to_value());
        if let Some(v) = self.prompt_version {
            obj.insert("promptVersion".into(), v.get().into());
        }
        obj.insert("force".into(), self.force.into());
        // A Map of plain values always serialises.
        serde_json::to_vec(&Value::Object(obj)).unwrap_or_default()
    }
}

/// The broken rules of one message, collected so that all are named at once.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    /// The value, or `None` with its problem noted.
    fn take<T>(&mut self, result: Result<T, InvalidJob>) -> Option<T> {
        result.map_err(|e| self.0.push(e.0)).ok()
    }

    /// Every problem noted, in the order of the fields: `a: …; b: …`.
    fn into_error(self) -> InvalidJob {
        InvalidJob(self.0.join("; "))
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn required_text(obj: &mut Map<String, Value>, key: &str) -> Result<String, InvalidJob> {
    match optional_text(obj, key)? {
        Some(s) => Ok(s),
        None => Err(InvalidJob::at(
            &format!("headline.{key}"),
            "is required and must not be empty",
        )),
    }
}

/// A string field; `null`, absent and blank all mean "not given".
fn optional_text(obj: &mut Map<String, Value>, key: &str) -> Result<Option<String>, InvalidJob> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(InvalidJob::at(
            &format!("headline.{key}"),
            format!("must be a string, got {}", kind_of(&other)),
        )),
    }
}

fn parse_lang(raw: &str) -> Result<String, InvalidJob> {
    let lang = raw.trim();
    let mut parts = lang.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if primary_ok && rest_ok {
        Ok(lang.to_owned())
    } else {
        Err(InvalidJob::at(
            "headline.lang",
            format!("{raw:?} is not a language tag like \"en\" or \"pt-BR\""),
        ))
    }
}

fn parse_source(value: Option<Value>) -> Result<Source, InvalidJob> {
    let Some(Value::Object(mut obj)) = value else {
        return Err(InvalidJob::at(
            "headline.source",
            "is required and must be an object with name and key",
        ));
    };
    let mut text = |key: &str| -> Result<Option<String>, InvalidJob> {
        optional_text(&mut obj, key)
            .map_err(|_| InvalidJob::at(&format!("headline.source.{key}"), "must be a string"))
    };
    let name =
        text("name")?.ok_or_else(|| InvalidJob::at("headline.source.name", "is required"))?;
    let key = text("key")?.ok_or_else(|| InvalidJob::at("headline.source.key", "is required"))?;
    let kind = text("type")?.unwrap_or_else(|| "RSS".to_owned());
    Ok(Source { name, key, kind })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(headline: Value) -> Value {
        json!({ "headline": headline })
    }

    fn minimal() -> Value {
        json!({
            "externalId": "57763812",
            "title": "Bitcoin Mining Revenue Gauge Falls to Record Low",
            "publishedAt": "2026-02-05T17:45:43.000Z",
            "source": { "name": "Bloomberg (Crypto)", "key": "bloomberg_crypto_" }
        })
    }

    fn error_of(value: Value) -> String {
        Job::from_value(value).unwrap_err().to_string()
    }

    #[test]
    fn a_minimal_job_gets_the_contract_defaults() {
        let job = Job::from_value(job(minimal())).unwrap();
        assert_eq!(job.headline.lang, "en");
        assert_eq!(job.headline.source.kind, "RSS");
        assert_eq!(job.prompt_version, None);
        assert!(!job.force);
    }

    #[test]
    fn an_integer_external_id_becomes_a_string() {
        let mut h = minimal();
        h["externalId"] = json!(57763814);
        let job = Job::from_value(job(h)).unwrap();
        assert_eq!(job.id().as_ref(), "57763814");
    }

    #[test]
    fn ids_that_could_be_paths_are_refused() {
        for bad in [
            "../../etc/passwd",
            "/abs",
            "a/b",
            ".",
            "..",
            "",
            ".hidden",
            "a\\b",
            "名前",
            "a b",
        ] {
            assert!(ExternalId::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(ExternalId::parse(&"a".repeat(129)).is_err());
        for good in ["57763812", "a", "A.b_c-9", &"a".repeat(128)] {
            assert!(ExternalId::parse(good).is_ok(), "{good:?} was refused");
        }
    }

    #[test]
    fn each_broken_rule_is_named_in_the_error() {
        let cases: Vec<(Value, &str)> = vec![
            (json!([1]), "body must be a JSON object"),
            (json!({}), "headline: is required"),
            (
                job(json!({"title": "x"})),
                "headline.externalId: is required",
            ),
            (
                job({
                    let mut h = minimal();
                    h["title"] = json!("   ");
                    h
                }),
                "headline.title",
            ),
            (
                job({
                    let mut h = minimal();
                    h["publishedAt"] = json!("yesterday");
                    h
                }),
                "headline.publishedAt",
            ),
            (
                job({
                    let mut h = minimal();
                    h["source"] = json!({"name": "X"});
                    h
                }),
                "headline.source.key",
            ),
            (
                job({
                    let mut h = minimal();
                    h["title"] = json!(42);
                    h
                }),
                "headline.title: must be a string",
            ),
            (
                json!({"headline": minimal(), "promptVersion": 0}),
                "promptVersion",
            ),
            (json!({"headline": minimal(), "force": "yes"}), "force"),
        ];
        for (value, expected) in cases {
            let err = error_of(value.clone());
            assert!(err.contains(expected), "{value} gave {err:?}");
        }
    }

    #[test]
    fn every_broken_rule_of_an_item_is_named_not_only_the_first() {
        // Arrange: the item of issue 27, with no id, a number for a title, no date, no source.
        let item = json!({"headline": {"title": 42}, "force": "yes"});

        // Act
        let err = error_of(item);

        // Assert
        for expected in [
            "headline.externalId: is required",
            "headline.title: must be a string, got a number",
            "headline.publishedAt: is required",
            "headline.source: is required",
            "force: must be a boolean",
        ] {
            assert!(err.contains(expected), "{expected:?} missing from {err:?}");
        }
        assert_eq!(err.matches("; ").count(), 4, "{err}");
    }

    #[test]
    fn bodies_that_are_not_json_objects_are_refused_with_a_reason() {
        assert!(
            Job::from_json(b"")
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        assert!(
            Job::from_json(b"\xff\xfe")
                .unwrap_err()
                .to_string()
                .contains("UTF-8")
        );
        assert!(
            Job::from_json(b"{nope")
                .unwrap_err()
                .to_string()
                .contains("not JSON")
        );
        let huge = vec![b' '; MAX_JOB_BYTES + 1];
        assert!(
            Job::from_json(&huge)
                .unwrap_err()
                .to_string()
                .contains("limit")
        );
    }

    #[test]
    fn a_job_round_trips_through_its_wire_format() {
        let mut h = minimal();
        h["coverImage"] = json!({"raw": "https://x/raw", "thumb": "https://x/t"});
        h["tags"] = json!(["btc", "Mining"]);
        h["feedSpecific"] = json!({"kept": true});
        let original =
            Job::from_value(json!({"headline": h, "promptVersion": 2, "force": true})).unwrap();
        let again = Job::from_json(&original.to_json()).unwrap();
        assert_eq!(again, original);
        assert_eq!(again.headline.tags, ["BTC", "MINING"]);
        assert_eq!(again.headline.extra["feedSpecific"], json!({"kept": true}));
    }

    #[test]
    fn prompt_versions_read_with_or_without_the_v() {
        assert_eq!(PromptVersion::parse("v3").unwrap().get(), 3);
        assert_eq!(PromptVersion::parse("3").unwrap().dir_name(), "v3");
        assert!(PromptVersion::parse("v0").is_err());
        assert!(PromptVersion::parse("three").is_err());
    }
}
