//! The article format: frontmatter keys and order, body sections, the description cut, and the
//! rules an LLM answer must keep before it may become an article.
//!
//! Pure code, no IO. The LLM's answers arrive as JSON fields (see
//! [`crate::prompts::DRAFT_FIELDS`]); [`check_fields`] judges them — *invalid* (the article
//! cannot be built: ask again, then give up) or *flawed* (it can be built but must not be
//! published as is: ask again, then write it with `draft: true` and the reasons under `ai`).
//! [`Article::assemble`] turns a headline and a complete [`Draft`] into frontmatter and body;
//! [`Article::to_markdown`] prints them and reads its own frontmatter back before returning.

mod yaml;

use std::collections::BTreeSet;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use unicode_segmentation::UnicodeSegmentation;

use crate::job::{Headline, PromptVersion};
use crate::prompts::Language;

/// Most characters in `description` before the `…`.
pub const DESCRIPTION_MAX_CHARS: usize = 200;

/// The article could not be printed faithfully (a bug, never the LLM's fault).
#[derive(Debug, thiserror::Error)]
#[error("the frontmatter does not read back as written: {0}")]
pub struct ArticleError(String);

/// The story's likely effect on the market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Sentiment {
    Positive,
    Negative,
    Neutral,
}

/// Everything the LLM writes for one article, merged from the calls' answers.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    pub overview: String,
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub commentary: Vec<String>,
    pub bullets: Vec<String>,
    pub sentiment: Sentiment,
    pub category: String,
    pub tags: Vec<String>,
}

/// How an answer measures up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// The article cannot be built from this answer.
    pub invalid: Vec<String>,
    /// The article can be built but must not be published as is.
    pub flawed: Vec<String>,
}

impl Verdict {
    pub fn is_clean(&self) -> bool {
        self.invalid.is_empty() && self.flawed.is_empty()
    }
}

/// Judges the fields of one answer against the article rules (the schema was checked already).
pub fn check_fields(answer: &Value, headline: &Headline) -> Verdict {
    let mut v = Verdict::default();
    let Some(fields) = answer.as_object() else {
        v.invalid.push("the answer is not a JSON object".into());
        return v;
    };
    let title = normalize_space(&headline.title).to_lowercase();
    let mut prose: Vec<(String, &str)> = Vec::new();
    for (key, value) in fields {
        match (key.as_str(), value) {
            ("overview", Value::String(s)) => {
                let text = normalize_space(s);
                if text.chars().count() < 40 {
                    v.invalid
                        .push("overview: write two or three full sentences".into());
                }
                if s.contains("\n\n") {
                    v.invalid
                        .push("overview: must be a single paragraph".into());
                }
                let lower = text.to_lowercase();
                if lower == title || lower.trim_end_matches('.') == title {
                    v.flawed
                        .push("overview: it only repeats the headline".into());
                } else if lower.starts_with(&title) {
                    v.flawed
                        .push("overview: do not open by repeating the headline".into());
                }
                prose.push((key.clone(), s));
            }
            ("heading", Value::String(s)) => {
                let h = clean_heading(s);
                let words = h.split_whitespace().count();
                if h.is_empty() || words > 14 || h.chars().count() > 120 {
                    v.invalid.push("heading: write three to eight words".into());
                }
                if h.to_lowercase() == title {
                    v.flawed.push("heading: it repeats the headline".into());
                }
                prose.push((key.clone(), s));
            }
            ("paragraphs" | "commentary", Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let s = item.as_str().unwrap_or_default();
                    if normalize_space(s).chars().count() < 40 {
                        v.invalid
                            .push(format!("{key}[{i}]: write a full paragraph"));
                    }
                    prose.push((format!("{key}[{i}]"), s));
                }
            }
            ("bullets", Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let s = clean_bullet(item.as_str().unwrap_or_default());
                    if s.chars().count() < 10 {
                        v.invalid
                            .push(format!("bullets[{i}]: write a full sentence"));
                    }
                    prose.push((format!("bullets[{i}]"), item.as_str().unwrap_or_default()));
                }
            }
            ("tags", Value::Array(items))
                if items
                    .iter()
                    .filter_map(Value::as_str)
                    .all(|t| t.trim().is_empty()) =>
            {
                v.invalid.push("tags: give at least one tag".into());
            }
            _ => {}
        }
    }
    let source_numbers = numbers_in(&format!(
        "{} {}",
        headline.title,
        headline.description.as_deref().unwrap_or_default()
    ));
    let mut seen_sentences: BTreeSet<String> = BTreeSet::new();
    for (field, text) in &prose {
        if let Some(problem) = text_problem(text) {
            v.flawed.push(format!("{field}: {problem}"));
        }
        let invented: Vec<String> = numbers_in(text)
            .into_iter()
            .filter(|n| !source_numbers.contains(n))
            .collect();
        if !invented.is_empty() {
            v.flawed.push(format!(
                "{field}: figures not in the news item: {}",
                invented.join(", ")
            ));
        }
        for sentence in text.unicode_sentences() {
            let key = normalize_space(sentence).to_lowercase();
            if key.chars().count() >= 20 && !seen_sentences.insert(key) {
                v.flawed.push(format!("{field}: repeats a sentence"));
                break;
            }
        }
    }
    v
}

/// HTML, Markdown structure, talk about being an AI, placeholders.
fn text_problem(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    let has_tag = text.match_indices('<').any(|(i, _)| {
        let rest = &text[i + 1..];
        let name: String = rest
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        !name.is_empty()
            && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && rest.contains('>')
    });
    if has_tag || lower.contains("&nbsp;") || lower.contains("&lt;") {
        return Some("contains HTML; write plain text");
    }
    if text.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with('#') || l.starts_with("```")
    }) || text.contains("**")
    {
        return Some("contains Markdown; write plain text");
    }
    const AI_TALK: &[&str] = &[
        "as an ai",
        "language model",
        "i cannot",
        "i can't",
        "i'm sorry",
        "i am sorry",
        "news_item",
        "these instructions",
        "the json",
    ];
    if AI_TALK.iter().any(|p| lower.contains(p)) {
        return Some("talks about itself or its instructions");
    }
    const PLACEHOLDERS: &[&str] = &[
        "lorem ipsum",
        "[insert",
        "{{",
        "todo",
        "tbd",
        "xxx",
        "[name]",
    ];
    if PLACEHOLDERS.iter().any(|p| lower.contains(p)) {
        return Some("contains placeholder text");
    }
    None
}

/// Figures in a text, normalised (`1,000.50` → `1000.50`), without single digits used as
/// ordinary words ("one of 3 reasons" is not a claim worth flagging).
fn numbers_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_alphanumeric()) {
            let mut n = String::new();
            while i < chars.len() {
                let c = chars[i];
                let next_is_digit = chars.get(i + 1).is_some_and(char::is_ascii_digit);
                if c.is_ascii_digit() {
                    n.push(c);
                } else if (c == ',' || c == '_') && next_is_digit {
                } else if c == '.' && next_is_digit {
                    n.push('.');
                } else {
                    break;
                }
                i += 1;
            }
            if n.len() > 1 {
                out.insert(n);
            }
        } else {
            i += 1;
        }
    }
    out
}

/// One line, single spaces, trimmed.
fn normalize_space(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn clean_heading(s: &str) -> String {
    let h = normalize_space(s);
    h.trim_start_matches('#')
        .trim()
        .trim_end_matches(['.', ':'])
        .trim()
        .to_owned()
}

fn clean_bullet(s: &str) -> String {
    let b = normalize_space(s);
    let b = b.trim_start_matches(['-', '•', '*', '–', '—']).trim_start();
    b.to_owned()
}

/// Cuts a text at a word boundary to at most [`DESCRIPTION_MAX_CHARS`] characters and appends
/// `…` where cut. Never cuts inside a character or a grapheme cluster (emoji, accents); text
/// without spaces (Chinese, Japanese) is cut after punctuation when it can be, else between
/// graphemes.
pub fn description(overview: &str) -> String {
    let text = normalize_space(overview);
    if text.chars().count() <= DESCRIPTION_MAX_CHARS {
        return text;
    }
    let mut fitted = 0; // byte length of the longest grapheme prefix within the limit
    let mut count = 0;
    let mut last_space = None; // byte index of a space that ends a word within the limit
    let mut last_cjk_break = None; // byte index just after CJK punctuation
    for (idx, g) in text.grapheme_indices(true) {
        let len = g.chars().count();
        if count + len > DESCRIPTION_MAX_CHARS {
            break;
        }
        count += len;
        fitted = idx + g.len();
        if g == " " {
            last_space = Some(idx);
        } else if g.chars().all(|c| "，、。；：！？）」』".contains(c)) {
            last_cjk_break = Some(fitted);
        }
    }
    let next_is_space = text[fitted..].starts_with(' ');
    let cut = if next_is_space {
        fitted
    } else {
        last_space.or(last_cjk_break).unwrap_or(fitted)
    };
    let stem = text[..cut].trim_end_matches(' ');
    format!("{stem}…")
}

/// Model, tokens and review results, recorded under `ai` in the frontmatter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Provenance {
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Why the article is a draft; empty when it may be published.
    pub flags: Vec<String>,
}

/// The frontmatter, in the contract's key order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Frontmatter {
    pub title: String,
    pub description: String,
    pub published_at: String,
    pub updated_at: String,
    pub lang: String,
    pub external_id: String,
    pub source: SourceMeta,
    pub category: String,
    pub tags: Vec<String>,
    pub sticky_weight: i64,
    pub sentiment: Sentiment,
    pub score: i64,
    pub draft: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cover_image: Option<Map<String, Value>>,
    pub ai: AiMeta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceMeta {
    pub name: String,
    pub key: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AiMeta {
    pub rewritten: bool,
    pub expanded_at: String,
    pub version: u32,
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

/// One article: frontmatter and Markdown body.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    pub frontmatter: Frontmatter,
    pub body: String,
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Article {
    /// Builds the article; `written_at` becomes `updatedAt` and `ai.expandedAt`.
    pub fn assemble(
        headline: &Headline,
        draft: &Draft,
        headings: &Language,
        version: PromptVersion,
        provenance: Provenance,
        written_at: DateTime<Utc>,
    ) -> Self {
        let overview = normalize_space(&draft.overview);
        let tags = if headline.tags.is_empty() {
            let mut seen = BTreeSet::new();
            draft
                .tags
                .iter()
                .map(|t| normalize_space(t).to_uppercase())
                .filter(|t| !t.is_empty() && seen.insert(t.clone()))
                .collect()
        } else {
            headline.tags.clone()
        };
        let written = timestamp(written_at);
        let frontmatter = Frontmatter {
            title: headline.title.clone(),
            description: description(&overview),
            published_at: timestamp(headline.published_at),
            updated_at: written.clone(),
            lang: headline.lang.clone(),
            external_id: headline.external_id.to_string(),
            source: SourceMeta {
                name: headline.source.name.clone(),
                key: headline.source.key.clone(),
                kind: headline.source.kind.clone(),
            },
            category: headline
                .category
                .clone()
                .unwrap_or_else(|| draft.category.clone()),
            tags,
            sticky_weight: 0,
            sentiment: draft.sentiment,
            score: 0,
            draft: !provenance.flags.is_empty(),
            cover_image: headline.cover_image.clone(),
            ai: AiMeta {
                rewritten: true,
                expanded_at: written,
                version: version.get(),
                model: provenance.model,
                prompt_tokens: provenance.prompt_tokens,
                completion_tokens: provenance.completion_tokens,
                flags: provenance.flags,
            },
        };
        let mut body = String::new();
        let mut section = |heading: &str, paragraphs: &mut dyn Iterator<Item = String>| {
            body.push_str("## ");
            body.push_str(heading);
            body.push_str("\n\n");
            for p in paragraphs {
                body.push_str(&p);
                body.push_str("\n\n");
            }
        };
        section(&headings.overview, &mut std::iter::once(overview));
        section(
            &clean_heading(&draft.heading),
            &mut draft.paragraphs.iter().map(|p| normalize_space(p)),
        );
        section(
            &headings.author,
            &mut draft.commentary.iter().map(|p| normalize_space(p)),
        );
        let bullets: Vec<String> = draft
            .bullets
            .iter()
            .map(|b| format!("- {}", clean_bullet(b)))
            .collect();
        section(&headings.impact, &mut std::iter::once(bullets.join("\n")));
        let body = body.trim_end().to_owned() + "\n";
        Self { frontmatter, body }
    }

    /// The file's text: `---`, YAML frontmatter, `---`, body. The frontmatter is read back with
    /// `yaml_serde` and must equal what was meant, or nothing is returned.
    pub fn to_markdown(&self) -> Result<String, ArticleError> {
        let value =
            serde_json::to_value(&self.frontmatter).map_err(|e| ArticleError(e.to_string()))?;
        let Value::Object(map) = value else {
            return Err(ArticleError("frontmatter is not a mapping".into()));
        };
        let yaml = yaml::to_yaml(&map);
        let back: Frontmatter =
            serde_yaml::from_str(&yaml).map_err(|e| ArticleError(e.to_string()))?;
        if back != self.frontmatter {
            return Err(ArticleError(format!("{back:?}")));
        }
        Ok(format!("---\n{yaml}---\n{}", self.body))
    }
}

/// Reads the frontmatter of an article file.
pub fn parse_frontmatter(markdown: &str) -> Result<Frontmatter, ArticleError> {
    let rest = markdown
        .strip_prefix("---\n")
        .ok_or_else(|| ArticleError("no opening '---' line".into()))?;
    let end = rest
        .find("\n---\n")
        .ok_or_else(|| ArticleError("no closing '---' line".into()))?;
    serde_yaml::from_str(&rest[..=end]).map_err(|e| ArticleError(e.to_string()))
}

#[cfg(test)]
mod tests;
