//! The article format: frontmatter keys and order, body sections, the description cut, and the
//! rules an LLM answer must keep before it may become an article.
//!
//! Pure code, no IO. The LLM's answers arrive as JSON fields (see
//! [`crate::prompts::DRAFT_FIELDS`]); [`crate::review::check`] judges them — *invalid* (the article
//! cannot be built: ask again, then give up) or *flawed* (it can be built but must not be
//! published as is: ask again, then write it with `draft: true` and the reasons under `ai`).
//! [`Article::assemble`] turns a headline and a complete [`Draft`] into frontmatter and body;
//! [`Article::to_markdown`] prints them (its YAML reads back as written: a tested property);
//! [`diff::diff`] compares two versions of an article section by section.

pub mod audit;
pub mod contract;
pub mod diff;
mod yaml;

use std::collections::BTreeSet;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use unicode_segmentation::UnicodeSegmentation;

use crate::review::usable_items;

use crate::job::{Headline, PromptVersion};
use crate::prompts::Language;

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

/// One line, single spaces, trimmed: `s.split_whitespace()` joined by single spaces.
pub(crate) fn normalize_space(s: &str) -> String {
    if is_single_spaced(s) {
        return s.to_owned();
    }
    // Pieces between whitespace other than the plain space (line breaks, mostly) are copied
    // whole, or word by word where they hold runs of spaces.
    let mut out = String::with_capacity(s.len());
    let mut from = 0;
    while let Some((at, len)) = next_other_whitespace(s, from) {
        push_words(&mut out, &s[from..at]);
        from = at + len;
    }
    push_words(&mut out, &s[from..]);
    out
}

/// Appends the words of `piece`, whose only whitespace is plain spaces, with single spaces.
fn push_words(out: &mut String, piece: &str) {
    let piece = piece.trim_matches(' ');
    if piece.is_empty() {
        return;
    }
    if !out.is_empty() {
        out.push(' ');
    }
    if piece.contains("  ") {
        for (k, word) in piece.split(' ').filter(|w| !w.is_empty()).enumerate() {
            if k > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
    } else {
        out.push_str(piece);
    }
}

/// `normalize_space(s).to_lowercase()` (the review compares every sentence and prompt so).
pub(crate) fn normalize_lower(s: &str) -> String {
    let mut out = normalize_space(s);
    if out.is_ascii() {
        out.make_ascii_lowercase();
        out
    } else {
        out.to_lowercase()
    }
}

/// Whether `s` is already what [`normalize_space`] makes of it: no whitespace but single
/// spaces between words.
fn is_single_spaced(s: &str) -> bool {
    !s.starts_with(' ')
        && !s.ends_with(' ')
        && !s.contains("  ")
        && next_other_whitespace(s, 0).is_none()
}

/// The bytes that can start a whitespace character (`char::is_whitespace`) other than the
/// plain space: the ASCII controls `\t` to `\r`, and the lead bytes of U+0085, U+00A0,
/// U+1680, U+2000–U+205F and U+3000. Text is scanned for these and only they are decoded.
static MAY_START_OTHER_WHITESPACE: [bool; 256] = {
    let mut starts = [false; 256];
    let mut b = 0;
    while b < 256 {
        starts[b] = matches!(b, 0x09..=0x0D | 0xC2 | 0xE1 | 0xE2 | 0xE3);
        b += 1;
    }
    starts
};

/// The first whitespace character other than the plain space at or after byte `from` of `s`
/// (where a character starts): its start and its length in bytes.
fn next_other_whitespace(s: &str, mut from: usize) -> Option<(usize, usize)> {
    loop {
        let rest = s.get(from..)?;
        let at = from
            + rest
                .bytes()
                .position(|b| MAY_START_OTHER_WHITESPACE[usize::from(b)])?;
        let c = s.get(at..).and_then(|rest| rest.chars().next())?;
        if c.is_whitespace() {
            return Some((at, c.len_utf8()));
        }
        from = at + c.len_utf8();
    }
}

/// Prose as the article prints it: HTML tags and entities, Markdown emphasis and heading marks
/// removed (their words kept), curly quotes made straight (`“ ” „` → `"`, `‘ ’ ‚` → `'`;
/// guillemets stay), no space before a comma or full stop, single spaces. The answer that
/// needed it is still flagged by review; this only keeps the draft readable.
pub fn repair(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name_start = after.trim_start_matches('/');
        let is_tag = name_start.starts_with(|c: char| c.is_ascii_alphabetic())
            && after
                .find('>')
                .is_some_and(|close| !after[..close].contains('<'));
        match after.find('>').filter(|_| is_tag) {
            Some(close) => {
                out.push(' ');
                rest = &after[close + 1..];
            }
            None => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    // Each replacement only where it applies (`replace_in`): most answers need none.
    let mut text = out;
    if text.contains('&') {
        // `&amp;` last, so that `&amp;lt;` becomes `&lt;`, as written.
        for (entity, to) in [
            ("&nbsp;", " "),
            ("&quot;", "\""),
            ("&#39;", "'"),
            ("&lt;", "<"),
            ("&gt;", ">"),
            ("&amp;", "&"),
        ] {
            replace_in(&mut text, entity, to);
        }
    }
    replace_in(&mut text, "**", "");
    replace_in(&mut text, "__", "");
    const DOUBLE: [char; 5] = ['“', '”', '„', '‟', '″'];
    const SINGLE: [char; 5] = ['‘', '’', '‚', '‛', '′'];
    // None of the ten is ASCII: most answers are, and need no search for them.
    if !text.is_ascii() {
        if text.contains(DOUBLE) {
            text = text.replace(DOUBLE, "\"");
        }
        if text.contains(SINGLE) {
            text = text.replace(SINGLE, "'");
        }
    }
    // Heading marks at the start of lines; the lines themselves are joined by
    // `normalize_space` below.
    if text.contains('#') {
        text = text
            .lines()
            .map(|l| l.trim_start().trim_start_matches('#'))
            .collect::<Vec<_>>()
            .join("\n");
    }
    let mut text = normalize_space(&text);
    replace_in(&mut text, " ,", ",");
    replace_in(&mut text, " .", ".");
    text
}

/// `pattern` replaced by `to` in `text`, copying the text only if it occurs (a `replace` that
/// finds nothing still copies).
fn replace_in(text: &mut String, pattern: &str, to: &str) {
    if text.contains(pattern) {
        *text = text.replace(pattern, to);
    }
}

pub(crate) fn clean_heading(s: &str) -> String {
    let h = normalize_space(s);
    h.trim_start_matches('#')
        .trim()
        .trim_end_matches(['.', ':'])
        .trim()
        .to_owned()
}

/// A bullet's text without the list marks a model put before it: dashes and dots (the article
/// prints its own `- `) and numbering (`1.`, `2)`, `(3)`), which a `- ` list cannot show.
pub(crate) fn clean_bullet(s: &str) -> String {
    let b = normalize_space(s);
    let mut rest = b.as_str();
    loop {
        let unmarked = rest
            .trim_start_matches(['-', '•', '*', '–', '—'])
            .trim_start();
        let unnumbered = without_numbering(unmarked).unwrap_or(unmarked);
        if unnumbered.len() == rest.len() {
            break;
        }
        rest = unnumbered;
    }
    rest.to_owned()
}

/// `text` after a leading list number (`1.`, `12)`, `(3)`) and the space after it, if it has
/// one. One or two digits only: "2026. A year…" is a sentence, not a list item.
fn without_numbering(text: &str) -> Option<&str> {
    let (inner, closing) = match text.strip_prefix('(') {
        Some(rest) => (rest, &[')'][..]),
        None => (text, &['.', ')'][..]),
    };
    let digits = inner.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=2).contains(&digits) {
        return None;
    }
    let after = inner[digits..].strip_prefix(closing)?;
    after.starts_with(' ').then_some(after.trim_start())
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
            &mut usable_items("paragraphs", &draft.paragraphs)
                .iter()
                .map(|p| repair(p)),
        );
        section(
            &headings.author,
            &mut usable_items("commentary", &draft.commentary)
                .iter()
                .map(|p| repair(p)),
        );
        let bullets: Vec<String> = usable_items("bullets", &draft.bullets)
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
mod tests;
