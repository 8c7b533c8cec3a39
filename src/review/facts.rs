//! Checkable facts in article text — figures, amounts of money, percentages, dates, tickers and
//! names — and whether a news item supports them.
//!
//! Plain rules, no model, so that every flag can be explained: the text is cut into tokens,
//! the tokens are read as facts, and each fact is compared with the facts of the news item in a
//! normalised form. `$1B`, `1 billion dollars`, `$1,000,000,000` and `1bn` are the same figure;
//! `40%`, `40 percent` and `40 Prozent` too; a figure rounded as a writer would (`$1.23
//! billion` → `$1.2 billion`) is the same figure. `Feb. 5`, `February 5, 2026`, `5. Februar` and
//! `2026-02-05` are the same date. A name is a run of capitalised words that is not the first
//! word of a sentence (`Jane Doe` is one claim); it is supported when each of its words is in
//! the news item. German capitalises nouns, so there only runs of two or more words count.
//! Numbers are read with the decimal comma in languages that use it (`1,2 Milliarden`).

mod read;
mod tokenize;
mod words;

use std::collections::BTreeSet;

use chrono::Datelike;

use self::read::read;
use self::tokenize::{Tok, tokenize};
use self::words::{ASSETS, ORDINARY_CAPITALS, month_of, strip_possessive};
use crate::job::Headline;

/// What kind of fact a claim states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A number, an amount of money or a percentage.
    Figure,
    Date,
    /// An upper-case symbol: a ticker (`BTC`, `$SOL`) or an acronym (`SEC`).
    Ticker,
    /// A person, company or place.
    Name,
}

impl Kind {
    /// How a flag names claims of this kind ("figures not in the news item: …").
    pub fn plural(self) -> &'static str {
        match self {
            Self::Figure => "figures",
            Self::Date => "dates",
            Self::Ticker => "tickers",
            Self::Name => "names",
        }
    }
}

/// One checkable statement in a text, as written there.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub kind: Kind,
    pub text: String,
    fact: Fact,
}

#[derive(Debug, Clone, PartialEq)]
enum Fact {
    /// A value and how far a writer may round it (half a unit of its last written digit).
    Figure {
        value: f64,
        tolerance: f64,
    },
    Date {
        year: Option<i32>,
        month: u32,
        day: Option<u32>,
    },
    Ticker(String),
    /// Lower-case words.
    Name(Vec<String>),
}

/// What a news item states: its figures, dates and words.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    values: Vec<f64>,
    dates: Vec<(Option<i32>, u32, Option<u32>)>,
    words: BTreeSet<String>,
    lower: String,
}

impl Facts {
    /// The facts of a headline: title, description, source name, category and tags, and the
    /// date it was published (the model sees all of these).
    pub fn of_headline(headline: &Headline) -> Self {
        let mut text = format!(
            "{}\n{}\n{}\n{}",
            headline.title,
            headline.description.as_deref().unwrap_or_default(),
            headline.source.name,
            headline.category.as_deref().unwrap_or_default()
        );
        for tag in &headline.tags {
            text.push('\n');
            text.push_str(tag);
        }
        let mut facts = Self::of_text(&text, &headline.lang);
        let p = headline.published_at;
        facts.dates.push((Some(p.year()), p.month(), Some(p.day())));
        facts.values.push(f64::from(p.year()));
        facts
    }

    /// The facts of any text in language `lang`.
    pub fn of_text(text: &str, lang: &str) -> Self {
        let lang = Lang::of(lang);
        let tokens = tokenize(text, lang);
        let mut facts = Self {
            lower: text.to_lowercase(),
            ..Self::default()
        };
        // Each word allocated once, when it is first seen.
        let mut know = |word: &str| {
            if !facts.words.contains(word) {
                facts.words.insert(word.to_owned());
            }
        };
        for t in &tokens {
            if let Tok::Word(w) = &t.tok {
                let lower = w.to_lowercase();
                let w = strip_possessive(&lower);
                know(w);
                // And each part of a hyphenated word.
                if w.contains('-') {
                    w.split('-').for_each(&mut know);
                }
            }
        }
        for (ticker, names) in ASSETS {
            let known =
                facts.words.contains(*ticker) || names.iter().any(|n| facts.words.contains(*n));
            if known {
                facts.words.insert((*ticker).to_owned());
                facts.words.extend(names.iter().map(|n| (*n).to_owned()));
            }
        }
        for found in read(&tokens, text, lang) {
            match found.fact {
                Fact::Figure { value, .. } => facts.values.push(value),
                Fact::Date { year, month, day } => {
                    facts.dates.push((year, month, day));
                    if let Some(y) = year {
                        facts.values.push(f64::from(y));
                    }
                }
                Fact::Ticker(_) | Fact::Name(_) => {}
            }
        }
        facts
    }

    /// Whether the facts state what `claim` states.
    pub fn supports(&self, claim: &Claim) -> bool {
        match &claim.fact {
            Fact::Figure { value, tolerance } => self.values.iter().any(|v| {
                let tolerance = tolerance.min(0.05 * v.abs()).max(1e-9 * v.abs());
                (v - value).abs() <= tolerance
            }),
            Fact::Date { year, month, day } => self.dates.iter().any(|(y, m, d)| {
                m == month
                    && (year.is_none() || y.is_none() || y == year)
                    && (day.is_none() || d.is_none() || d == day)
                    && (day.is_some() || year.is_some())
            }),
            Fact::Ticker(t) => self.words.contains(&t.to_lowercase()),
            Fact::Name(words) => words.iter().all(|w| self.knows_word(w)),
        }
    }

    fn knows_word(&self, word: &str) -> bool {
        if ORDINARY_CAPITALS.contains(&word)
            || month_of(word).is_some()
            || self.words.contains(word)
        {
            return true;
        }
        // "German" and "Germany", "Stuttgart's" and "Stuttgart": a shared stem of five letters.
        let stem: String = word.chars().take(5).collect();
        word.chars().count() >= 5
            && self
                .words
                .iter()
                .any(|w| w.chars().count() >= 5 && w.starts_with(&stem))
            || word.chars().count() >= 4 && self.lower.contains(word)
    }

    /// The claims of `text` that these facts do not support, each once, in order.
    pub fn unsupported(&self, text: &str, lang: &str, names: bool) -> Vec<Claim> {
        let mut out: Vec<Claim> = Vec::new();
        for claim in claims(text, lang) {
            if (names || claim.kind != Kind::Name)
                && !self.supports(&claim)
                && !out.iter().any(|c| c.text == claim.text)
            {
                out.push(claim);
            }
        }
        out
    }
}

/// Every checkable claim in `text`, written in language `lang`.
pub fn claims(text: &str, lang: &str) -> Vec<Claim> {
    let lang = Lang::of(lang);
    let tokens = tokenize(text, lang);
    read(&tokens, text, lang)
        .into_iter()
        .filter(|f| f.is_claim)
        .map(|f| Claim {
            kind: match f.fact {
                Fact::Figure { .. } => Kind::Figure,
                Fact::Date { .. } => Kind::Date,
                Fact::Ticker(_) => Kind::Ticker,
                Fact::Name(_) => Kind::Name,
            },
            text: f.text,
            fact: f.fact,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Languages

/// How a language writes numbers and names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lang {
    /// `1,5` is one and a half, `1.000` a thousand.
    decimal_comma: bool,
    /// Nouns are capitalised (German, Luxembourgish).
    capital_nouns: bool,
    /// `billion` is 10^12 (long scale), `milliard` 10^9.
    long_scale: bool,
    /// `1 000` groups thousands with a plain space (French).
    space_groups: bool,
}

impl Lang {
    fn of(tag: &str) -> Self {
        let primary = tag
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let p = primary.as_str();
        Self {
            decimal_comma: !matches!(p, "en" | "ja" | "zh" | "ko" | "th" | "he" | "hi"),
            capital_nouns: matches!(p, "de" | "lb"),
            long_scale: matches!(
                p,
                "de" | "fr" | "es" | "it" | "nl" | "no" | "da" | "sv" | "pl"
            ),
            space_groups: matches!(p, "fr" | "no" | "sv" | "pl" | "ru"),
        }
    }
}

#[cfg(test)]
mod tests;
