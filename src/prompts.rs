//! Prompt sets on disk and rendering them strictly, headline text as delimited data.
//!
//! `prompts/v<N>/manifest.toml` names the model and sampling settings, the per-language fixed
//! headings, the category list, and the LLM calls in order, each with a Handlebars template and
//! an output JSON schema. Everything is loaded and checked once ([`PromptLibrary::load`]); a
//! broken set stops the process at start, never a job at 3 a.m.
//!
//! Templates render in strict mode (a missing variable is an error) without HTML escaping. The
//! system message is rendered from a context that holds no headline text at all; the headline
//! reaches the model only inside the user message, JSON-encoded between
//! `<<<NEWS_ITEM` / `NEWS_ITEM>>>` markers that its text cannot forge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::SecondsFormat;
use handlebars::{Context, Handlebars};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::article::{Language, Part};
use crate::job::{Headline, PromptVersion};
use crate::review::{Bounds, PromptText};

mod library;

pub use library::{PromptLibrary, SetCheck};

/// A prompt set that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("no prompt sets (folders v1, v2, …) under {0}")]
    NoPromptSets(PathBuf),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {problem}")]
    Invalid { path: PathBuf, problem: String },
    #[error("prompt version {0} does not exist")]
    UnknownVersion(PromptVersion),
    #[error(
        "prompt set v{version} has no headings for language {lang:?}; add it to its manifest in a new version"
    )]
    UnknownLanguage {
        version: PromptVersion,
        lang: String,
    },
    /// A template that does not parse or render; `line` and `column` are handlebars' where it
    /// gives them.
    #[error("{}: {problem}", location(file, *line, *column))]
    Template {
        file: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        problem: String,
    },
}

/// `file:line:column`, or as much of it as is known.
fn location(file: &Path, line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("{}:{l}:{c}", file.display()),
        (Some(l), None) => format!("{}:{l}", file.display()),
        _ => file.display().to_string(),
    }
}

/// Sampling settings sent with every call of a set.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sampling {
    pub temperature: f32,
    #[serde(default)]
    pub top_p: Option<f32>,
    #[serde(default)]
    pub frequency_penalty: Option<f32>,
    #[serde(default)]
    pub presence_penalty: Option<f32>,
    #[serde(default)]
    pub seed: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[serde(default)]
    description: String,
    model: String,
    #[serde(default)]
    fallback_models: Vec<String>,
    system: String,
    categories: Vec<String>,
    sampling: Sampling,
    languages: BTreeMap<String, Language>,
    calls: Vec<ManifestCall>,
    /// Length bounds of the article's parts; v1 has none and gets the defaults.
    #[serde(default)]
    bounds: Bounds,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestCall {
    name: String,
    template: String,
    schema: String,
    max_tokens: u32,
}

/// One LLM call of a prompt set: its output schema, compiled once, and the request's
/// `response_format` with that schema, serialized once.
#[derive(Debug)]
pub struct CallSpec {
    pub name: String,
    pub max_tokens: u32,
    pub schema: Value,
    /// `{"type": "json_schema", "json_schema": {"name", "schema", "strict": true}}`, as every
    /// request of this call sends it.
    pub response_format: Box<RawValue>,
    /// The call's and the system message's templates as answers must not copy them (their
    /// worked examples); made once here rather than from each rendered prompt.
    pub wording: PromptText,
    validator: jsonschema::Validator,
}

impl CallSpec {
    /// Checks an answer against the call's schema; the error lists every violation.
    pub fn validate(&self, answer: &Value) -> Result<(), String> {
        if self.validator.is_valid(answer) {
            return Ok(());
        }
        let problems: Vec<String> = self
            .validator
            .iter_errors(answer)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() {
                    e.to_string()
                } else {
                    format!("{at}: {e}")
                }
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// A call ready to send: the messages and the spec to validate the answer with.
#[derive(Debug, Clone)]
pub struct RenderedCall {
    pub spec: Arc<CallSpec>,
    /// The same for every call in the headline's language: shared, not copied.
    pub system: Arc<SystemMessage>,
    pub user: String,
}

/// A set's system message in one language. It depends on nothing but the set and the language
/// (no headline text can reach it), so it is rendered once, when the set is loaded, and kept
/// with its JSON string form, which every request of every job in that language sends.
#[derive(Debug)]
pub struct SystemMessage {
    pub text: String,
    /// `text` as a JSON string, quotes and escapes included.
    pub json: Box<RawValue>,
}

/// One language of a set: its fixed headings and its system message.
#[derive(Debug)]
struct Localized {
    headings: Language,
    system: Arc<SystemMessage>,
}

/// One loaded, checked prompt set.
#[derive(Debug)]
pub struct PromptSet {
    pub version: PromptVersion,
    pub description: String,
    pub model: String,
    pub fallback_models: Vec<String>,
    pub sampling: Sampling,
    pub categories: Vec<String>,
    /// Length bounds the answers are judged by (`[bounds]` in the manifest, else defaults).
    pub bounds: Bounds,
    languages: BTreeMap<String, Localized>,
    calls: Vec<Arc<CallSpec>>,
    registry: Handlebars<'static>,
    /// Template name → its file, for error messages.
    files: BTreeMap<String, PathBuf>,
}

impl PromptSet {
    /// Loads and checks `dir` (a `v<N>` folder).
    pub fn load(dir: &Path, version: PromptVersion) -> Result<Self, PromptError> {
        let manifest_path = dir.join("manifest.toml");
        let manifest: Manifest =
            toml::from_str(&read(&manifest_path)?).map_err(|e| PromptError::Invalid {
                path: manifest_path.clone(),
                problem: e.to_string(),
            })?;
        let invalid = |path: &Path, problem: String| PromptError::Invalid {
            path: path.to_owned(),
            problem,
        };
        if manifest.calls.is_empty() {
            return Err(invalid(&manifest_path, "names no calls".into()));
        }
        let Some(en) = manifest.languages.get("en") else {
            return Err(invalid(
                &manifest_path,
                "has no [languages.en] table".into(),
            ));
        };
        if (en.overview.as_str(), en.author.as_str(), en.impact.as_str())
            != ("Overview", "From author", "Impact on the crypto market")
        {
            return Err(invalid(
                &manifest_path,
                "[languages.en] must use the contract's headings".into(),
            ));
        }
        if let Some(problem) = manifest.bounds.problem() {
            return Err(invalid(&manifest_path, format!("[bounds] {problem}")));
        }

        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(handlebars::no_escape);
        let mut files = BTreeMap::new();
        // Returns the template's text.
        let mut register = |name: &str, file: &str| -> Result<String, PromptError> {
            let path = dir.join(file);
            let text = read(&path)?;
            registry
                .register_template_string(name, &text)
                .map_err(|e| {
                    let (line, column) = e.pos().unzip();
                    PromptError::Template {
                        file: path.clone(),
                        line,
                        column,
                        problem: e.reason().to_string(),
                    }
                })?;
            files.insert(name.to_owned(), path);
            Ok(text)
        };
        let system = register("system", &manifest.system)?;

        let mut produced: BTreeSet<String> = BTreeSet::new();
        let mut calls = Vec::with_capacity(manifest.calls.len());
        for call in &manifest.calls {
            let template = register(&call.name, &call.template)?;
            let schema_path = dir.join(&call.schema);
            let schema: Value = serde_json::from_str(&read(&schema_path)?)
                .map_err(|e| invalid(&schema_path, format!("not JSON: {e}")))?;
            check_strict_schema(&schema, "").map_err(|p| invalid(&schema_path, p))?;
            let validator = jsonschema::validator_for(&schema)
                .map_err(|e| invalid(&schema_path, e.to_string()))?;
            for key in schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
            {
                if Part::named(key).is_none() {
                    return Err(invalid(
                        &schema_path,
                        format!("produces {key:?}, which no article field takes"),
                    ));
                }
                if !produced.insert(key.clone()) {
                    return Err(invalid(&schema_path, format!("{key:?} is produced twice")));
                }
            }
            if let Some(cats) = schema.pointer("/properties/category/enum") {
                let cats: Vec<&str> = cats
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                if cats
                    != manifest
                        .categories
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                {
                    return Err(invalid(
                        &schema_path,
                        "category enum differs from the manifest's categories".into(),
                    ));
                }
            }
            let response_format = serde_json::value::to_raw_value(&json!({
                "type": "json_schema",
                "json_schema": { "name": call.name, "schema": schema, "strict": true },
            }))
            .map_err(|e| invalid(&schema_path, e.to_string()))?;
            calls.push(Arc::new(CallSpec {
                name: call.name.clone(),
                max_tokens: call.max_tokens,
                schema,
                response_format,
                wording: PromptText::new(&format!("{system}\n{template}")),
                validator,
            }));
        }
        let missing: Vec<&str> = Part::ALL
            .iter()
            .map(|part| part.name())
            .filter(|f| !produced.contains(*f))
            .collect();
        if !missing.is_empty() {
            return Err(invalid(
                &manifest_path,
                format!("no call produces {}", missing.join(", ")),
            ));
        }
        let mut languages = BTreeMap::new();
        for (key, headings) in manifest.languages {
            let context = Context::from(shared_context(&headings, &manifest.categories));
            let text = render_template(&registry, &files, "system", &context)?;
            let json = serde_json::value::to_raw_value(&text).map_err(|e| {
                invalid(&dir.join(&manifest.system), format!("system message: {e}"))
            })?;
            let system = Arc::new(SystemMessage { text, json });
            languages.insert(key, Localized { headings, system });
        }
        let set = Self {
            version,
            description: manifest.description,
            model: manifest.model,
            fallback_models: manifest.fallback_models,
            sampling: manifest.sampling,
            categories: manifest.categories,
            bounds: manifest.bounds,
            languages,
            calls,
            registry,
            files,
        };
        for headline in set.sample_headlines() {
            set.render(&headline)?;
        }
        Ok(set)
    }

    /// The samples a set is checked with at load: for every language it has, one headline
    /// with every optional field and one with none, so both sides of each `{{#if}}` render.
    fn sample_headlines(&self) -> Vec<Headline> {
        let full = sample_headline();
        let mut bare = full.clone();
        bare.description = None;
        bare.category = None;
        bare.tags.clear();
        self.languages
            .keys()
            .flat_map(|lang| {
                [&full, &bare].map(|h| Headline {
                    lang: lang.clone(),
                    ..h.clone()
                })
            })
            .collect()
    }

    /// The language tags the set has headings for.
    pub fn languages(&self) -> impl Iterator<Item = &str> {
        self.languages.keys().map(String::as_str)
    }

    pub fn calls(&self) -> &[Arc<CallSpec>] {
        &self.calls
    }

    /// The fixed headings for a language tag (`pt-BR` falls back to `pt`).
    pub fn language(&self, lang: &str) -> Result<&Language, PromptError> {
        self.localized(lang).map(|l| &l.headings)
    }

    fn localized(&self, lang: &str) -> Result<&Localized, PromptError> {
        let lower = lang.to_ascii_lowercase();
        let primary = lower.split('-').next().unwrap_or_default();
        self.languages
            .get(&lower)
            .or_else(|| self.languages.get(primary))
            .ok_or_else(|| PromptError::UnknownLanguage {
                version: self.version,
                lang: lang.to_owned(),
            })
    }

    /// Renders every call for a headline, in order.
    pub fn render(&self, headline: &Headline) -> Result<Vec<RenderedCall>, PromptError> {
        let Localized { headings, system } = self.localized(&headline.lang)?;
        let mut context = shared_context(headings, &self.categories);
        context["lang"] = Value::String(headline.lang.clone());
        context["item"] = json!({
            "has_description": headline.description.is_some(),
            "has_category": headline.category.is_some(),
            "has_tags": !headline.tags.is_empty(),
        });
        context["news_item"] = Value::String(news_item(headline));
        // Made into the templates' context once for all calls (`render` would convert it
        // again for each).
        let context = Context::from(context);
        self.calls
            .iter()
            .map(|spec| {
                Ok(RenderedCall {
                    spec: Arc::clone(spec),
                    system: Arc::clone(system),
                    user: render_template(&self.registry, &self.files, &spec.name, &context)?,
                })
            })
            .collect()
    }
}

/// What every template may use: the language's name and headings, and the categories.
fn shared_context(headings: &Language, categories: &[String]) -> Value {
    json!({
        "language": headings.name,
        "headings": headings,
        "categories": categories,
    })
}

/// Renders a registered template; `files` names its file in an error.
fn render_template(
    registry: &Handlebars<'static>,
    files: &BTreeMap<String, PathBuf>,
    template: &str,
    context: &Context,
) -> Result<String, PromptError> {
    registry
        .render_with_context(template, context)
        // Handlebars starts every output at 8 KiB; a job in flight keeps its prompts.
        .map(|mut text| {
            text.shrink_to_fit();
            text
        })
        .map_err(|e| PromptError::Template {
            file: files
                .get(template)
                .cloned()
                .unwrap_or_else(|| PathBuf::from(template)),
            line: e.line_no,
            column: e.column_no,
            problem: e.reason().to_string(),
        })
}

/// The headline as the data block of a prompt: JSON between markers. JSON escapes quotes and
/// newlines; `<` and `>` are escaped too, so no title can close the block early.
fn news_item(headline: &Headline) -> String {
    let mut data = serde_json::Map::new();
    data.insert("title".into(), headline.title.clone().into());
    if let Some(d) = &headline.description {
        data.insert("summary".into(), d.clone().into());
    }
    data.insert("source".into(), headline.source.name.clone().into());
    data.insert(
        "published".into(),
        headline
            .published_at
            .to_rfc3339_opts(SecondsFormat::Secs, true)
            .into(),
    );
    if let Some(c) = &headline.category {
        data.insert("category".into(), c.clone().into());
    }
    if !headline.tags.is_empty() {
        data.insert("tags".into(), headline.tags.clone().into());
    }
    let json = serde_json::to_string_pretty(&Value::Object(data)).unwrap_or_default();
    let json = json.replace('<', "\\u003c").replace('>', "\\u003e");
    format!("<<<NEWS_ITEM\n{json}\nNEWS_ITEM>>>")
}

/// Strict structured output accepts only objects that close their properties and require all
/// of them; check that here so a set fails at load, not at the provider.
fn check_strict_schema(schema: &Value, at: &str) -> Result<(), String> {
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let props = schema
                .get("properties")
                .and_then(Value::as_object)
                .ok_or_else(|| format!("{at}/: an object schema needs properties"))?;
            if schema.get("additionalProperties") != Some(&Value::Bool(false)) {
                return Err(format!(
                    "{at}/: strict mode needs \"additionalProperties\": false"
                ));
            }
            let required: BTreeSet<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let keys: BTreeSet<&str> = props.keys().map(String::as_str).collect();
            if required != keys {
                return Err(format!(
                    "{at}/: strict mode needs every property in \"required\""
                ));
            }
            for (k, v) in props {
                check_strict_schema(v, &format!("{at}/{k}"))?;
            }
            Ok(())
        }
        Some("array") => match schema.get("items") {
            Some(items) => check_strict_schema(items, &format!("{at}[]")),
            None => Err(format!("{at}: an array schema needs items")),
        },
        Some("string" | "integer" | "number" | "boolean") => Ok(()),
        _ => Err(format!("{at}: every schema needs a simple \"type\"")),
    }
}

/// A headline that exercises every optional field, for load-time render checks.
pub fn sample_headline() -> Headline {
    let sample = json!({
        "externalId": "sample-1",
        "title": "Sample: \"Bitcoin\" <b>rises</b> # not a comment",
        "description": "A sample summary.\nWith a second line.",
        "publishedAt": "2026-01-01T00:00:00Z",
        "lang": "en",
        "source": {"name": "Sample Wire", "key": "sample"},
        "category": "BTC",
        "tags": ["BTC"]
    });
    // The literal above satisfies every rule of `Headline::from_value`.
    #[allow(clippy::expect_used)]
    Headline::from_value(sample).expect("the built-in sample headline is valid")
}

fn read(path: &Path) -> Result<String, PromptError> {
    std::fs::read_to_string(path).map_err(|source| PromptError::Io {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests;
