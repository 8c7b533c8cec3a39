//! The single rules [`check`](super::check) applies to the prose of an answer: markup, talk
//! about being an AI or about the task, placeholders, the headline repeated, tags that are no
//! word, the prompt's example copied, and the sentences and stems these rules compare.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use memchr::memmem;
use unicode_segmentation::UnicodeSegmentation;

use crate::text::normalize_lower;

/// HTML, Markdown structure, talk about being an AI, placeholders.
pub(super) fn text_problem(text: &str) -> Option<&'static str> {
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

/// Whether the first sentence of `text` is the title (`title` in lower case).
pub(super) fn first_sentence_is(text: &str, title: &str) -> bool {
    let first = sentences(text).next().unwrap_or_default();
    let first = normalize_lower(first);
    let first = first.trim_end_matches(['.', '!', '?', ':']).trim();
    !title.is_empty() && first == title.trim_end_matches(['.', '!', '?', ':']).trim()
}

/// Whether a bullet is the headline's `title` (or description; in lower case) word for word, or
/// holds it whole.
pub(super) fn repeats_title(bullet: &str, title: &str) -> bool {
    let title = title.trim_end_matches(['.', '!', '?', ':']).trim();
    // A title of a word or two is a subject, which a bullet may well name.
    title.split_whitespace().count() >= 3 && normalize_lower(bullet).contains(title)
}

/// Whether a tag can be a topic word or a ticker (`BTC`, `MINING`, `LAYER-2`, `REAL_ESTATE`).
/// Not: a part longer than any tag word (a run of words glued together, as small models write:
/// `MENERBURGESWITDUFFERGOLD`), or a part of more than six letters without a vowel.
pub(super) fn is_word_or_ticker(tag: &str) -> bool {
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
pub(super) fn occurs_in(haystack: &str, needle: &str) -> bool {
    let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
    let start = &needle[..needle.len().min(16)];
    memmem::find(haystack, start).is_some() && memmem::find(haystack, needle).is_some()
}

const STOPWORDS: &[&str] = &[
    "about", "after", "amid", "as", "from", "into", "over", "says", "said", "than", "that",
    "their", "this", "with", "will", "would", "could", "have", "been", "more", "less", "new",
    "record", "during", "under", "against", "between",
];

/// The words of a title that say what it is about (four letters or more, not a stopword).
pub(super) fn content_words(title: &str) -> Vec<String> {
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
pub(super) fn same_stem(a: &str, b: &str) -> bool {
    let n = 5.min(a.chars().count()).min(b.chars().count()).max(4);
    b.chars().count() >= 4 && a.chars().take(n).eq(b.chars().take(n))
}

/// The sentences of `text`, each without surrounding spaces. A sentence ends after `.`, `!`,
/// `?` (with any further ones, and closing quotes and brackets) where a space follows and
/// then anything but a lower-case letter, and directly after the full-width `。！？`: the
/// breaks of Unicode's sentence rules (UAX #29) that matter for prose, without their cost:
/// every sentence of every answer is split, and the full rules classify each character
/// where this looks only at terminators. "1.5", "e.g. the" and "U.S.-based" do not end a
/// sentence.
pub(super) fn sentences(text: &str) -> impl Iterator<Item = &str> {
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
