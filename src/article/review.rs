//! Judging an LLM answer before it may become part of an article: what makes it unusable
//! (ask again, then give up) and what makes it unpublishable (ask again, then write a draft).
//!
//! The checks are deliberately plain and explainable, because editors read their messages:
//! structure (lengths, counts, single paragraphs), cleanliness (HTML, Markdown, talk about
//! being an AI, placeholders, repeated sentences), faithfulness (figures and names that the
//! news item does not contain), and staying on the story (not copying the prompt's worked
//! example, mentioning what the headline is about).

use std::collections::BTreeSet;

use serde_json::Value;
use unicode_segmentation::UnicodeSegmentation;

use super::{clean_bullet, clean_heading, normalize_space};
use crate::job::Headline;

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
pub fn check_fields(answer: &Value, headline: &Headline, prompt: &str) -> Verdict {
    let mut v = Verdict::default();
    let Some(fields) = answer.as_object() else {
        v.invalid.push("the answer is not a JSON object".into());
        return v;
    };
    let title = normalize_space(&headline.title).to_lowercase();
    let mut prose: Vec<(String, String)> = Vec::new();
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
                prose.push((key.clone(), s.clone()));
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
                prose.push((key.clone(), s.clone()));
            }
            ("paragraphs" | "commentary" | "bullets", Value::Array(items)) => {
                let texts: Vec<String> = items
                    .iter()
                    .map(|i| i.as_str().unwrap_or_default().to_owned())
                    .collect();
                let kept = usable_items(key, &texts);
                let min = min_items(key);
                if kept.len() < min {
                    let what = if key == "bullets" {
                        "full sentences"
                    } else {
                        "full, different paragraphs"
                    };
                    v.invalid
                        .push(format!("{key}: write at least {min} {what}"));
                }
                for (i, text) in kept.into_iter().enumerate() {
                    prose.push((format!("{key}[{i}]"), text));
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
    let source = format!(
        "{} {} {}",
        headline.title,
        headline.description.as_deref().unwrap_or_default(),
        headline.source.name
    );
    let source_lower = source.to_lowercase();
    let source_numbers = numbers_in(&source);
    let prompt_lower = normalize_space(prompt).to_lowercase();
    let names_are_capitalised = !matches!(primary_subtag(&headline.lang).as_str(), "de" | "lb");
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
        if names_are_capitalised && field != "heading" {
            let names = names_not_in(text, &source_lower);
            if !names.is_empty() {
                v.flawed.push(format!(
                    "{field}: names not in the news item: {}",
                    names.join(", ")
                ));
            }
        }
        let mut repeated = false;
        let mut copied = false;
        for sentence in text.unicode_sentences() {
            let key = normalize_space(sentence).to_lowercase();
            if key.chars().count() < 30 {
                continue;
            }
            copied |= prompt_lower.contains(&key) && !source_lower.contains(&key);
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
    if let Some(Value::String(overview)) = fields.get("overview") {
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
fn min_items(key: &str) -> usize {
    match key {
        "paragraphs" => 2,
        "bullets" => 3,
        _ => 1,
    }
}

/// The items of a list field worth printing: whitespace normalised, bullet markers removed,
/// too-short items and repeats dropped. Small models pad lists with fragments and copies;
/// dropping them is a repair, as long as [`min_items`] remain.
pub(crate) fn usable_items(key: &str, items: &[String]) -> Vec<String> {
    let min_chars = if key == "bullets" { 10 } else { 40 };
    let mut seen = BTreeSet::new();
    items
        .iter()
        .map(|s| {
            if key == "bullets" {
                clean_bullet(s)
            } else {
                normalize_space(s)
            }
        })
        .filter(|s| s.chars().count() >= min_chars && seen.insert(s.to_lowercase()))
        .collect()
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

fn primary_subtag(lang: &str) -> String {
    lang.split('-')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Words that are capitalised in English prose without naming anyone in particular.
const ORDINARY_CAPITALS: &[&str] = &[
    "i", "bitcoin", "ethereum", "ether", "crypto", "defi", "nft", "nfts", "etf", "etfs", "web3",
    "ai", "ceo", "cto", "cfo", "ipo", "otc", "kyc", "aml",
];

/// Capitalised words inside sentences (not their first word) that the news item does not
/// contain: the names a model invents. The first word of a sentence is skipped, so an
/// ordinary word that starts a sentence is never taken for a name.
fn names_not_in(text: &str, source_lower: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for sentence in text.unicode_sentences() {
        for word in sentence.unicode_words().skip(1) {
            let capitalised = word.chars().next().is_some_and(char::is_uppercase)
                && word.chars().filter(|c| c.is_alphabetic()).count() >= 2;
            if !capitalised {
                continue;
            }
            let lower = word.to_lowercase();
            let lower = lower.trim_end_matches("'s").trim_end_matches('’');
            if ORDINARY_CAPITALS.contains(&lower)
                || source_lower.contains(lower)
                || names.iter().any(|n| n.to_lowercase() == lower)
            {
                continue;
            }
            names.push(word.to_owned());
        }
    }
    names
}

const STOPWORDS: &[&str] = &[
    "about", "after", "amid", "as", "from", "into", "over", "says", "said", "than", "that",
    "their", "this", "with", "will", "would", "could", "have", "been", "more", "less", "new",
    "record", "during", "under", "against", "between",
];

/// The words of a title that say what it is about (four letters or more, not a stopword).
fn content_words(title: &str) -> Vec<String> {
    let mut words: Vec<String> = title
        .unicode_words()
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 4 && w.chars().all(char::is_alphabetic))
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .collect();
    words.dedup();
    words
}

/// Two words share a stem when their first five letters (or the whole of a shorter word)
/// agree: "staking" and "stakes", "miners" and "mining".
fn same_stem(a: &str, b: &str) -> bool {
    let n = 5.min(a.chars().count()).min(b.chars().count()).max(4);
    let prefix = |w: &str| w.chars().take(n).collect::<String>();
    b.chars().count() >= 4 && prefix(a) == prefix(b)
}
