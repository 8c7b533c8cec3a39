//! Judging an LLM answer before it may become part of an article: what makes it unusable
//! (ask again, then give up) and what makes it unpublishable (ask again, then write a draft).
//!
//! The checks are deliberately plain and explainable, because editors read their messages:
//! structure (lengths, counts, single paragraphs), cleanliness (HTML, Markdown, talk about
//! being an AI, placeholders, repeated sentences), faithfulness (figures and names that the
//! news item does not contain), and staying on the story (not copying the prompt's worked
//! example, mentioning what the headline is about).
//!
//! [`check`] judges one answer against a [`Review`] (the headline, the prompt's wording, the
//! news item's [`Facts`], the [`Bounds`]) and returns a [`Verdict`]: *invalid* (the article
//! cannot be built: ask again, then give up) or *flawed* (it can be built but must not be
//! published as is: ask again, then write it with `draft: true` and the reasons under `ai`).
//! Its parts: [`facts`] reads figures, dates, tickers and names and whether the news item
//! supports them; [`language`] tells which language a text is in; `rules` holds the single
//! checks of prose. An answer is judged as the article will print it ([`crate::text`] and
//! [`crate::article`]'s choice of list items): the review depends on the article, never the
//! reverse.

pub mod facts;
pub mod language;
mod rules;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use unicode_segmentation::UnicodeSegmentation;

use self::facts::{Claim, Facts, Kind};
use self::rules::{
    content_words, first_sentence_is, is_word_or_ticker, occurs_in, repeats_title, same_stem,
    sentences, text_problem,
};
use crate::article::{Part, usable_items};
use crate::job::Headline;
use crate::text::{clean_heading, normalize_lower, normalize_space, repair};

/// Length bounds of the article's parts, in characters. A prompt set may set them in its
/// manifest (`[bounds]`, e.g. `overview_chars = [40, 600]`); a manifest without them (v1) gets
/// these defaults. The counts of paragraphs, commentary paragraphs and bullets are the
/// contract's (2–4, 1–2, 3–6) and not configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Bounds {
    pub overview_chars: [usize; 2],
    pub paragraph_chars: [usize; 2],
    pub commentary_chars: [usize; 2],
    pub bullet_chars: [usize; 2],
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            overview_chars: [40, 700],
            paragraph_chars: [40, 1200],
            commentary_chars: [40, 1200],
            bullet_chars: [10, 300],
        }
    }
}

impl Bounds {
    /// What is wrong with these bounds, if anything: each is `[min, max]` with min ≤ max, and
    /// the minimums are at least what an article needs (40 characters, 10 for a bullet).
    pub fn problem(&self) -> Option<String> {
        let named = [
            ("overview_chars", self.overview_chars, 40),
            ("paragraph_chars", self.paragraph_chars, 40),
            ("commentary_chars", self.commentary_chars, 40),
            ("bullet_chars", self.bullet_chars, 10),
        ];
        named.into_iter().find_map(|(name, [min, max], least)| {
            (min > max || min < least)
                .then(|| format!("{name} = [{min}, {max}]: need {least} <= min <= max"))
        })
    }

    fn of(&self, part: Part) -> [usize; 2] {
        match part {
            Part::Overview => self.overview_chars,
            Part::Paragraphs => self.paragraph_chars,
            Part::Commentary => self.commentary_chars,
            _ => self.bullet_chars,
        }
    }
}

/// Wording an answer must not copy: a prompt's own text, above all its worked example,
/// normalised once (single spaces, lower case) so that each sentence of each answer is looked
/// up in it as is. A prompt set keeps one per call, made from its templates
/// ([`crate::prompts::CallSpec::wording`]): the rendered prompt adds only the news item,
/// which an answer may repeat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromptText(String);

impl PromptText {
    pub fn new(text: &str) -> Self {
        Self(normalize_lower(text))
    }
}

/// What an answer is judged against.
#[derive(Debug, Clone, Copy)]
pub struct Review<'a> {
    pub headline: &'a Headline,
    /// The prompt's wording, to notice its example copied.
    pub prompt: &'a PromptText,
    /// Judge figures, dates, tickers and names against these facts of the news item (the
    /// `retry` policy; computed once per job); `None`: not judged here, though the caller may
    /// still record them with [`unsupported_and_flaws`].
    pub faithfulness: Option<&'a Facts>,
    pub bounds: Bounds,
}

impl<'a> Review<'a> {
    /// Every check, faithfulness against `facts`, with the default bounds.
    pub fn new(headline: &'a Headline, prompt: &'a PromptText, facts: &'a Facts) -> Self {
        Self {
            headline,
            prompt,
            faithfulness: Some(facts),
            bounds: Bounds::default(),
        }
    }
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
pub fn check(answer: &Value, review: &Review<'_>) -> Verdict {
    let Review {
        headline,
        prompt,
        faithfulness,
        bounds,
    } = *review;
    let mut v = Verdict::default();
    let Some(answer) = Answer::read(answer) else {
        v.invalid.push("the answer is not a JSON object".into());
        return v;
    };
    let title = normalize_lower(&headline.title);
    let description = normalize_lower(headline.description.as_deref().unwrap_or_default());
    let mut prose: Vec<(String, String)> = Vec::new();
    for &(part, ref written) in &answer.fields {
        let key = part.name();
        match (part, written) {
            (Part::Overview, Written::Text(s)) => {
                let text = normalize_space(s);
                if text.chars().count() < 40 {
                    v.invalid
                        .push("overview: write two or three full sentences".into());
                }
                if s.contains("\n\n") {
                    v.invalid
                        .push("overview: must be a single paragraph".into());
                }
                let [min, max] = bounds.overview_chars;
                let length = text.chars().count();
                if length > max {
                    v.flawed.push(format!(
                        "overview: {length} characters; keep it under {max}"
                    ));
                } else if length < min && length >= 40 {
                    v.flawed.push(format!(
                        "overview: {length} characters; write at least {min}"
                    ));
                }
                let lower = text.to_lowercase();
                if lower == title || lower.trim_end_matches('.') == title {
                    v.flawed
                        .push("overview: it only repeats the headline".into());
                } else if lower.starts_with(&title) {
                    v.flawed
                        .push("overview: do not open by repeating the headline".into());
                }
                prose.push((key.to_owned(), (*s).to_owned()));
            }
            (Part::Heading, Written::Text(s)) => {
                // Judged as the article prints it: a heading of markup alone prints as nothing.
                let h = repair(&clean_heading(s));
                let words = h.split_whitespace().count();
                if h.is_empty() || words > 14 || h.chars().count() > 120 {
                    v.invalid.push("heading: write three to eight words".into());
                }
                if h.to_lowercase() == title {
                    v.flawed.push("heading: it repeats the headline".into());
                }
                prose.push((key.to_owned(), (*s).to_owned()));
            }
            (Part::Paragraphs | Part::Commentary | Part::Bullets, Written::List(items)) => {
                let kept = usable_items(part, items);
                let min = min_items(part);
                if kept.len() < min {
                    let what = if part == Part::Bullets {
                        "full sentences"
                    } else {
                        "full, different paragraphs"
                    };
                    v.invalid
                        .push(format!("{key}: write at least {min} {what}"));
                }
                let [min, max] = bounds.of(part);
                for (i, text) in kept.into_iter().enumerate() {
                    let length = text.chars().count();
                    if length > max {
                        v.flawed.push(format!(
                            "{key}[{i}]: {length} characters; keep it under {max}"
                        ));
                    } else if length < min {
                        v.flawed.push(format!(
                            "{key}[{i}]: {length} characters; write at least {min}"
                        ));
                    }
                    if part != Part::Bullets && i == 0 && first_sentence_is(&text, &title) {
                        v.flawed
                            .push(format!("{key}[{i}]: do not open by repeating the headline"));
                    }
                    if part == Part::Bullets && repeats_title(&text, &title) {
                        v.flawed.push(format!(
                            "{key}[{i}]: repeats the headline word for word; say what it means for the market"
                        ));
                    } else if part == Part::Bullets && repeats_title(&text, &description) {
                        v.flawed.push(format!(
                            "{key}[{i}]: repeats the news item's description word for word; say what it means for the market"
                        ));
                    }
                    prose.push((format!("{key}[{i}]"), text));
                }
            }
            (Part::Tags, Written::List(items)) if items.iter().all(|t| t.trim().is_empty()) => {
                v.invalid.push("tags: give at least one tag".into());
            }
            // The answer's tags are printed only for a headline without tags of its own.
            (Part::Tags, Written::List(items)) if headline.tags.is_empty() => {
                for tag in items {
                    if !is_word_or_ticker(tag.trim()) {
                        v.flawed
                            .push(format!("tags: {:?} is not a word or a ticker", tag.trim()));
                    }
                }
            }
            _ => {}
        }
    }
    let source = format!(
        "{} {} {}",
        headline.title,
        headline.description.as_deref().unwrap_or_default(),
        headline.source.name
    );
    let source_lower = source.to_lowercase();
    let mut seen_sentences: BTreeSet<String> = BTreeSet::new();
    if let Some(facts) = faithfulness {
        v.flawed
            .extend(flaws_of(&unsupported_in(&prose, headline, facts)));
    }
    for (field, text) in &prose {
        if let Some(problem) = text_problem(text) {
            v.flawed.push(format!("{field}: {problem}"));
        }
        let mut repeated = false;
        let mut copied = false;
        for sentence in sentences(text) {
            // Fewer than 30 bytes is fewer than 30 characters: not worth normalising.
            if sentence.len() < 30 {
                continue;
            }
            let key = normalize_lower(sentence);
            if key.chars().count() < 30 {
                continue;
            }
            copied |= occurs_in(&prompt.0, &key) && !source_lower.contains(&key);
            repeated |= !seen_sentences.insert(key);
        }
        if repeated {
            v.flawed.push(format!("{field}: repeats a sentence"));
        }
        if copied {
            v.flawed.push(format!(
                "{field}: copies the prompt's example instead of writing about this story"
            ));
        }
    }
    let written: Vec<&str> = prose
        .iter()
        .filter(|(field, _)| field != "heading")
        .map(|(_, text)| text.as_str())
        .collect();
    if let Some(problem) = language::mismatch(&written.join(" "), &headline.lang) {
        let fields: Vec<&str> = answer
            .fields
            .iter()
            .map(|&(part, _)| part)
            .filter(|part| IN_ONE_LANGUAGE.contains(part))
            .map(Part::name)
            .collect();
        v.flawed.push(format!("{}: {problem}", fields.join(", ")));
    }
    if let Some(overview) = answer.text(Part::Overview) {
        let subject = content_words(&headline.title);
        let text = overview.to_lowercase();
        let mentioned = subject.is_empty()
            || text
                .unicode_words()
                .any(|w| subject.iter().any(|s| same_stem(s, w)));
        if !mentioned {
            v.flawed.push(format!(
                "overview: does not mention what the headline is about ({})",
                subject.join(", ")
            ));
        }
    }
    v
}

/// The fewest items of a list field an article needs (the contract's lower bounds).
fn min_items(part: Part) -> usize {
    match part {
        Part::Paragraphs => 2,
        Part::Bullets => 3,
        _ => 1,
    }
}

/// The parts judged together for the language they are written in (headings are too short).
const IN_ONE_LANGUAGE: [Part; 4] = [
    Part::Overview,
    Part::Paragraphs,
    Part::Commentary,
    Part::Bullets,
];

/// An answer as the review reads it, parsed once from the model's JSON: the fields that write a
/// part of the article, in the order the model wrote them (flags follow that order). Fields of
/// no part are left out; one of another type than its part's (the schema rules that out) is
/// kept as [`Written::Other`], which no rule judges.
struct Answer<'a> {
    fields: Vec<(Part, Written<'a>)>,
}

/// What one field of an answer holds.
enum Written<'a> {
    Text(&'a str),
    /// A list's strings. Another value counts as empty text in a list of prose (too short to
    /// print) and as no tag among tags.
    List(Vec<&'a str>),
    Other,
}

impl<'a> Answer<'a> {
    /// The answer's fields, or `None` when it is not a JSON object.
    fn read(answer: &'a Value) -> Option<Self> {
        let fields = answer
            .as_object()?
            .iter()
            .filter_map(|(name, value)| {
                let part = Part::named(name)?;
                let written = match value {
                    Value::String(s) => Written::Text(s),
                    Value::Array(items) if part == Part::Tags => {
                        Written::List(items.iter().filter_map(Value::as_str).collect())
                    }
                    Value::Array(items) => Written::List(
                        items
                            .iter()
                            .map(|i| i.as_str().unwrap_or_default())
                            .collect(),
                    ),
                    _ => Written::Other,
                };
                Some((part, written))
            })
            .collect();
        Some(Self { fields })
    }

    /// The text of a part written as text.
    fn text(&self, part: Part) -> Option<&'a str> {
        self.fields.iter().find_map(|(p, written)| match written {
            Written::Text(s) if *p == part => Some(*s),
            _ => None,
        })
    }
}

/// The prose fields of an answer with their texts, as the article will print them.
fn prose_of(answer: &Answer<'_>) -> Vec<(String, String)> {
    let mut prose = Vec::new();
    for &(part, ref written) in &answer.fields {
        let key = part.name();
        match (part, written) {
            (Part::Overview | Part::Heading, Written::Text(s)) => {
                prose.push((key.to_owned(), (*s).to_owned()));
            }
            (Part::Paragraphs | Part::Commentary | Part::Bullets, Written::List(items)) => {
                for (i, text) in usable_items(part, items).into_iter().enumerate() {
                    prose.push((format!("{key}[{i}]"), text));
                }
            }
            _ => {}
        }
    }
    prose
}

/// Claims of the prose that the news item does not support, with their fields. Headings are
/// in title case, so only their figures, dates and tickers are judged.
fn unsupported_in(
    prose: &[(String, String)],
    headline: &Headline,
    facts: &Facts,
) -> Vec<(String, Claim)> {
    let mut out: Vec<(String, Claim)> = Vec::new();
    for (field, text) in prose {
        for claim in facts.unsupported(text, &headline.lang, field != "heading") {
            if !out.iter().any(|(_, c)| c.text == claim.text) {
                out.push((field.clone(), claim));
            }
        }
    }
    out
}

/// One flag per field and kind: "overview: figures not in the news item: $5 billion, 2031".
fn flaws_of(unsupported: &[(String, Claim)]) -> Vec<String> {
    let mut flaws = Vec::new();
    let mut groups: Vec<(&str, Kind, Vec<&str>)> = Vec::new();
    for (field, claim) in unsupported {
        match groups
            .iter_mut()
            .find(|(f, k, _)| *f == field.as_str() && *k == claim.kind)
        {
            Some(group) => group.2.push(&claim.text),
            None => groups.push((field, claim.kind, vec![&claim.text])),
        }
    }
    for (field, kind, texts) in groups {
        flaws.push(format!(
            "{field}: {} not in the news item: {}",
            kind.plural(),
            texts.join(", ")
        ));
    }
    flaws
}

/// The figures, dates, tickers and names of an answer that the news item (its `facts`) does
/// not support, as written, each once; and the flags [`check`] raises for them, for a caller
/// that judges faithfulness after the answer was accepted (the `flag` policy).
pub fn unsupported_and_flaws(
    answer: &Value,
    headline: &Headline,
    facts: &Facts,
) -> (Vec<String>, Vec<String>) {
    let prose = Answer::read(answer).map_or_else(Vec::new, |a| prose_of(&a));
    let found = unsupported_in(&prose, headline, facts);
    let flaws = flaws_of(&found);
    (
        found.into_iter().map(|(_, claim)| claim.text).collect(),
        flaws,
    )
}

#[cfg(test)]
mod tests;
