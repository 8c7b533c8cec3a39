//! Judging an LLM answer before it may become part of an article: what makes it unusable
//! (ask again, then give up) and what makes it unpublishable (ask again, then write a draft).
//!
//! The checks are deliberately plain and explainable, because editors read their messages:
//! structure (lengths, counts, single paragraphs), cleanliness (HTML, Markdown, talk about
//! being an AI, placeholders, repeated sentences), faithfulness (figures and names that the
//! news item does not contain), and staying on the story (not copying the prompt's worked
//! example, mentioning what the headline is about).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use memchr::memmem;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use unicode_segmentation::UnicodeSegmentation;

pub mod facts;
pub mod language;

use self::facts::{Claim, Facts, Kind};
use crate::article::{clean_bullet, clean_heading, normalize_lower, normalize_space, repair};
use crate::job::Headline;

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

    fn of(&self, key: &str) -> [usize; 2] {
        match key {
            "overview" => self.overview_chars,
            "paragraphs" => self.paragraph_chars,
            "commentary" => self.commentary_chars,
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
    let Some(fields) = answer.as_object() else {
        v.invalid.push("the answer is not a JSON object".into());
        return v;
    };
    let title = normalize_lower(&headline.title);
    let description = normalize_lower(headline.description.as_deref().unwrap_or_default());
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
                prose.push((key.clone(), s.clone()));
            }
            ("heading", Value::String(s)) => {
                // Judged as the article prints it: a heading of markup alone prints as nothing.
                let h = repair(&clean_heading(s));
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
                let [min, max] = bounds.of(key);
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
                    if key != "bullets" && i == 0 && first_sentence_is(&text, &title) {
                        v.flawed
                            .push(format!("{key}[{i}]: do not open by repeating the headline"));
                    }
                    if key == "bullets" && repeats_title(&text, &title) {
                        v.flawed.push(format!(
                            "{key}[{i}]: repeats the headline word for word; say what it means for the market"
                        ));
                    } else if key == "bullets" && repeats_title(&text, &description) {
                        v.flawed.push(format!(
                            "{key}[{i}]: repeats the news item's description word for word; say what it means for the market"
                        ));
                    }
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
            // The answer's tags are printed only for a headline without tags of its own.
            ("tags", Value::Array(items)) if headline.tags.is_empty() => {
                for tag in items.iter().filter_map(Value::as_str) {
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
        let fields: Vec<&str> = fields
            .keys()
            .map(String::as_str)
            .filter(|k| PROSE_KEYS.contains(k))
            .collect();
        v.flawed.push(format!("{}: {problem}", fields.join(", ")));
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
    // Talk about being an AI, then placeholders: one automaton finds any of them in one pass.
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
        "my training",
        "knowledge cutoff",
        "as of my last",
    ];
    // Text about the task or the input instead of the story: what a small model writes when
    // it narrates the prompt ("This is a new story, and it's not about the previous one", "The
    // news item was rejected."). Phrases no news article needs: not "a different story"
    // ("on-chain data tells a different story") nor "as requested" ("as requested by the SEC").
    const TASK_TALK: &[&str] = &[
        "news item",
        "this is a new story",
        "not about the previous",
        "the previous story",
        "this story is about",
        "the story is about",
    ];
    const PLACEHOLDERS: &[&str] = &[
        "lorem ipsum",
        "[insert",
        "{{",
        "[name]",
        "[company",
        "[date",
        "[source",
        "[link",
        "[number",
    ];
    // Upper case only, as whole words: Spanish and Portuguese "todo" is an ordinary word.
    const MARKERS: &[&str] = &["TODO", "TBD", "XXX", "FIXME"];
    // Patterns 0.. are AI talk, then talk about the task, the rest placeholders.
    #[allow(clippy::expect_used)] // A few short constant phrases: far below any size limit.
    static PHRASES: LazyLock<AhoCorasick> = LazyLock::new(|| {
        AhoCorasick::new(AI_TALK.iter().chain(TASK_TALK).chain(PLACEHOLDERS))
            .expect("the phrase lists build")
    });
    // Every phrase of the lists in one pass; talk about being an AI is named first.
    let (mut task, mut placeholder) = (false, false);
    for found in PHRASES.find_iter(&lower) {
        let pattern = found.pattern().as_usize();
        if pattern < AI_TALK.len() {
            return Some("talks about itself or its instructions");
        }
        if pattern < AI_TALK.len() + TASK_TALK.len() {
            task = true;
        } else {
            placeholder = true;
        }
    }
    if task {
        return Some("talks about the task or the news item instead of telling the story");
    }
    if placeholder
        || MARKERS.iter().any(|m| text.contains(m))
            && text
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| MARKERS.contains(&w))
    {
        return Some("contains placeholder text");
    }
    None
}

const PROSE_KEYS: &[&str] = &["overview", "paragraphs", "commentary", "bullets"];

/// Whether the first sentence of `text` is the title (`title` in lower case).
fn first_sentence_is(text: &str, title: &str) -> bool {
    let first = sentences(text).next().unwrap_or_default();
    let first = normalize_lower(first);
    let first = first.trim_end_matches(['.', '!', '?', ':']).trim();
    !title.is_empty() && first == title.trim_end_matches(['.', '!', '?', ':']).trim()
}

/// Whether a bullet is the headline's `title` (or description; in lower case) word for word, or
/// holds it whole.
fn repeats_title(bullet: &str, title: &str) -> bool {
    let title = title.trim_end_matches(['.', '!', '?', ':']).trim();
    // A title of a word or two is a subject, which a bullet may well name.
    title.split_whitespace().count() >= 3 && normalize_lower(bullet).contains(title)
}

/// Whether a tag can be a topic word or a ticker (`BTC`, `MINING`, `LAYER-2`, `REAL_ESTATE`).
/// Not: a part longer than any tag word (a run of words glued together, as small models write:
/// `MENERBURGESWITDUFFERGOLD`), or a part of more than six letters without a vowel.
fn is_word_or_ticker(tag: &str) -> bool {
    const LONGEST_WORD: usize = 15;
    !tag.is_empty()
        && tag.split(['-', '_', ' ']).all(|part| {
            let letters = part.chars().filter(|c| c.is_alphabetic()).count();
            let vowel = part
                .chars()
                .any(|c| matches!(c.to_ascii_uppercase(), 'A' | 'E' | 'I' | 'O' | 'U' | 'Y'));
            part.chars().count() <= LONGEST_WORD && (letters <= 6 || vowel || !part.is_ascii())
        })
}

/// Whether `needle` occurs in `haystack`. Its first 16 bytes are looked for first (a byte
/// search, so they may end inside a character): preparing a search costs in proportion to the
/// needle, and most sentences are ruled out by their start.
fn occurs_in(haystack: &str, needle: &str) -> bool {
    let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
    let start = &needle[..needle.len().min(16)];
    memmem::find(haystack, start).is_some() && memmem::find(haystack, needle).is_some()
}

/// The prose fields of an answer with their texts, as the article will print them.
fn prose_of(answer: &Value) -> Vec<(String, String)> {
    let mut prose = Vec::new();
    let Some(fields) = answer.as_object() else {
        return prose;
    };
    for (key, value) in fields {
        match (key.as_str(), value) {
            ("overview" | "heading", Value::String(s)) => prose.push((key.clone(), s.clone())),
            ("paragraphs" | "commentary" | "bullets", Value::Array(items)) => {
                let texts: Vec<String> = items
                    .iter()
                    .map(|i| i.as_str().unwrap_or_default().to_owned())
                    .collect();
                for (i, text) in usable_items(key, &texts).into_iter().enumerate() {
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
    let found = unsupported_in(&prose_of(answer), headline, facts);
    let flaws = flaws_of(&found);
    (
        found.into_iter().map(|(_, claim)| claim.text).collect(),
        flaws,
    )
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
/// agree: "stake" and "staked", "ether" and "ethereum" (but not "staking" and "stakes").
fn same_stem(a: &str, b: &str) -> bool {
    let n = 5.min(a.chars().count()).min(b.chars().count()).max(4);
    b.chars().count() >= 4 && a.chars().take(n).eq(b.chars().take(n))
}

/// The sentences of `text`, each without surrounding spaces. A sentence ends after `.`, `!`,
/// `?` (with any further ones, and closing quotes and brackets) where a space follows and
/// then anything but a lower-case letter, and directly after the full-width `。！？`: the
/// breaks of Unicode's sentence rules (UAX #29) that matter for prose, without their cost
/// (they were a tenth of the review's time). "1.5", "e.g. the" and "U.S.-based" do not end
/// a sentence.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let trimmed = rest.trim_start();
        if trimmed.is_empty() {
            return None;
        }
        let mut chars = trimmed.char_indices().peekable();
        let mut end = trimmed.len();
        while let Some((i, c)) = chars.next() {
            let full_width = matches!(c, '。' | '！' | '？');
            if !(full_width || matches!(c, '.' | '!' | '?')) {
                continue;
            }
            let mut after = i + c.len_utf8();
            while let Some(&(j, next)) = chars.peek() {
                if matches!(next, '.' | '!' | '?' | '。' | '！' | '？')
                    || matches!(next, '"' | '\'' | '”' | '’' | '»' | ')' | ']' | '」' | '』')
                {
                    after = j + next.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            if full_width {
                end = after;
                break;
            }
            let following = &trimmed[after..];
            let next_word = following.trim_start();
            if next_word.len() < following.len() && !next_word.starts_with(char::is_lowercase) {
                end = after;
                break;
            }
        }
        let (sentence, remainder) = trimmed.split_at(end);
        rest = remainder;
        Some(sentence.trim_end())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<&str> {
        sentences(text).collect()
    }

    #[test]
    fn a_sentence_occurs_in_a_prompt_only_whole_not_by_its_start() {
        let prompt = "an example: the price of ether rose by five percent today. more text";
        assert!(occurs_in(
            prompt,
            "the price of ether rose by five percent today."
        ));
        assert!(!occurs_in(
            prompt,
            "the price of ether fell by five percent today."
        ));
        // The first 16 bytes end inside `€`; the search is over bytes, so that is no harm.
        let prompt = "so: fifteen euros € a coin, it said";
        assert!(occurs_in(prompt, "fifteen euros € a coin"));
        assert!(!occurs_in(prompt, "fifteen euros € a token"));
        assert!(!occurs_in(prompt, "fifteen euros £ a coin"));
    }

    #[test]
    fn sentences_end_at_terminators_followed_by_a_space_and_no_lower_case_word() {
        assert_eq!(
            split("Bitcoin rose 5%. Ether fell!  Why? Nobody knows"),
            ["Bitcoin rose 5%.", "Ether fell!", "Why?", "Nobody knows"]
        );
        assert_eq!(
            split("Fees of 1.5 million, e.g. the U.S.-based desk's. Then more."),
            [
                "Fees of 1.5 million, e.g. the U.S.-based desk's.",
                "Then more."
            ]
        );
        assert_eq!(
            split("He said \"stop.\" Then (he thought so.) Left..."),
            ["He said \"stop.\"", "Then (he thought so.)", "Left..."]
        );
    }

    #[test]
    fn full_width_terminators_end_sentences_without_a_space() {
        assert_eq!(
            split("価格が上昇した。取引量も増えた！「本当？」"),
            ["価格が上昇した。", "取引量も増えた！", "「本当？」"]
        );
    }

    #[test]
    fn blank_text_has_no_sentences_and_text_without_a_terminator_is_one() {
        assert!(split(" \n ").is_empty());
        assert_eq!(split("  no full stop here "), ["no full stop here"]);
    }

    #[test]
    fn stems_are_the_first_five_letters_or_a_whole_shorter_word() {
        assert!(same_stem("stake", "staked"));
        assert!(same_stem("ether", "ethereum"));
        assert!(!same_stem("staking", "stakes"));
        assert!(same_stem("börsen", "börse"));
        assert!(!same_stem("miners", "mint"));
        assert!(!same_stem("etf", "etfs"));
    }
}
