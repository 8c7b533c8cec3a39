//! The article format: frontmatter keys and order, body sections and their headings per
//! language, the description cut, and which items of an answer's lists an article prints.
//!
//! Pure code, no IO. The LLM's answers arrive as JSON fields (the [`Part`]s, each produced by
//! exactly one call of a prompt set) and are judged by [`crate::review`] before they get here.
//! [`Article::assemble`] turns a headline and a complete [`Draft`] into frontmatter and body,
//! with the headings of a [`Language`], repairing the text as [`crate::text`] does;
//! [`Article::to_markdown`] prints them (its YAML reads back as written: a tested property).
//! Checking articles already written is `crate::check`'s (it imports this module, not back).

pub mod yaml;

use std::collections::BTreeSet;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use unicode_segmentation::UnicodeSegmentation;

use crate::job::{Headline, PromptVersion};
use crate::text::{clean_bullet, clean_heading, normalize_space, repair};

/// Most characters in `description` before the `…`.
pub const DESCRIPTION_MAX_CHARS: usize = 200;

/// The article could not be printed faithfully (a bug, never the LLM's fault).
#[derive(Debug, thiserror::Error)]
#[error("the article could not be printed: {0}")]
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

/// The fixed parts of an article in one language: its name and the headings of the sections
/// the article writes the same every time. A prompt set gives them per language in its manifest.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Language {
    /// The language's English name, for the prompt ("German").
    pub name: String,
    pub overview: String,
    pub author: String,
    pub impact: String,
}

/// A part of the article that the LLM writes: a field of its answers and of [`Draft`], named
/// as the prompt sets name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Overview,
    Heading,
    Paragraphs,
    Commentary,
    Bullets,
    Sentiment,
    Category,
    Tags,
}

impl Part {
    /// Every part, in the order of [`Draft`]'s fields.
    pub const ALL: [Self; 8] = [
        Self::Overview,
        Self::Heading,
        Self::Paragraphs,
        Self::Commentary,
        Self::Bullets,
        Self::Sentiment,
        Self::Category,
        Self::Tags,
    ];

    /// The field's name in an answer and in [`Draft`] (`"overview"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Overview => "overview",
            Self::Heading => "heading",
            Self::Paragraphs => "paragraphs",
            Self::Commentary => "commentary",
            Self::Bullets => "bullets",
            Self::Sentiment => "sentiment",
            Self::Category => "category",
            Self::Tags => "tags",
        }
    }

    /// The part a field of this name writes, if any.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|part| part.name() == name)
    }
}

/// The items of a list part worth printing: whitespace normalised, bullet markers removed,
/// too-short items and repeats dropped. Small models pad lists with fragments and copies;
/// dropping them is a repair, as long as the review finds enough left.
pub(crate) fn usable_items<S: AsRef<str>>(part: Part, items: &[S]) -> Vec<String> {
    let bullets = part == Part::Bullets;
    let min_chars = if bullets { 10 } else { 40 };
    let mut seen = BTreeSet::new();
    items
        .iter()
        .map(|s| {
            if bullets {
                clean_bullet(s.as_ref())
            } else {
                normalize_space(s.as_ref())
            }
        })
        .filter(|s| s.chars().count() >= min_chars && seen.insert(s.to_lowercase()))
        .collect()
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
    // In ASCII text every character is a grapheme (normalised text has no CR LF pair).
    let (fitted, last_space, last_cjk_break) = if text.is_ascii() {
        fit(text.char_indices().map(|(i, _)| (i, &text[i..=i])))
    } else {
        fit(text.grapheme_indices(true))
    };
    let next_is_space = text[fitted..].starts_with(' ');
    let cut = if next_is_space {
        fitted
    } else {
        last_space.or(last_cjk_break).unwrap_or(fitted)
    };
    let stem = text[..cut].trim_end_matches(' ');
    format!("{stem}…")
}

/// How much of a text, given as its graphemes, fits [`DESCRIPTION_MAX_CHARS`]: the byte
/// length of the longest grapheme prefix within the limit, the byte index of the last space
/// that ends a word within it, and the byte index just after the last CJK punctuation in it.
fn fit<'a>(
    graphemes: impl Iterator<Item = (usize, &'a str)>,
) -> (usize, Option<usize>, Option<usize>) {
    let mut fitted = 0;
    let mut count = 0;
    let mut last_space = None;
    let mut last_cjk_break = None;
    for (idx, g) in graphemes {
        let len = g.chars().count();
        if count + len > DESCRIPTION_MAX_CHARS {
            break;
        }
        count += len;
        fitted = idx + g.len();
        if g == " " {
            last_space = Some(idx);
        } else if !g.is_ascii() && g.chars().all(|c| "，、。；：！？）」』".contains(c)) {
            last_cjk_break = Some(fitted);
        }
    }
    (fitted, last_space, last_cjk_break)
}

/// Model, tokens and review results, recorded under `ai` in the frontmatter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Provenance {
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// What the tokens cost at the configured prices; `None` when a model has no price.
    pub cost_usd: Option<f64>,
    /// Why the article is a draft; empty when it may be published.
    pub flags: Vec<String>,
    /// Figures, dates, tickers and names the news item does not contain, as written.
    pub unsupported_claims: Vec<String>,
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
    /// US dollars, rounded to micro-dollars (`REWRITER_PRICES`); absent when unpriced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsupported_claims: Vec<String>,
    /// Set only in a published copy that an editor approved; never in a version file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved: Option<Approval>,
}

/// An editor's approval of a draft: who published it, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub by: String,
    /// `YYYY-MM-DDTHH:MM:SS.sssZ`.
    pub at: String,
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
        let overview = repair(&draft.overview);
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
                cost_usd: provenance.cost_usd.map(crate::cost::round_usd),
                flags: provenance.flags,
                unsupported_claims: provenance.unsupported_claims,
                approved: None,
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
            &repair(&clean_heading(&draft.heading)),
            &mut usable_items(Part::Paragraphs, &draft.paragraphs)
                .iter()
                .map(|p| repair(p)),
        );
        section(
            &headings.author,
            &mut usable_items(Part::Commentary, &draft.commentary)
                .iter()
                .map(|p| repair(p)),
        );
        let bullets: Vec<String> = usable_items(Part::Bullets, &draft.bullets)
            .iter()
            .map(|b| format!("- {}", repair(b)))
            .collect();
        section(&headings.impact, &mut std::iter::once(bullets.join("\n")));
        let body = body.trim_end().to_owned() + "\n";
        Self { frontmatter, body }
    }

    /// The file's text: `---`, YAML frontmatter, `---`, body. That the frontmatter reads back
    /// as written, whatever its strings, is the emitter's property, tested with generated
    /// hostile values (`yaml.rs`, `article/tests.rs`), not re-parsed here for every article.
    pub fn to_markdown(&self) -> Result<String, ArticleError> {
        let value =
            serde_json::to_value(&self.frontmatter).map_err(|e| ArticleError(e.to_string()))?;
        let Value::Object(map) = value else {
            return Err(ArticleError("frontmatter is not a mapping".into()));
        };
        let yaml = yaml::to_yaml(&map);
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
pub(crate) mod tests;
