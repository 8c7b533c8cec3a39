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

use std::borrow::Cow;
use std::collections::BTreeSet;

use chrono::Datelike;

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

// ---------------------------------------------------------------------------------------------
// Tokens

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    /// Letters (digits, inner hyphens and apostrophes allowed); `U.S.` becomes `US`.
    Word(Cow<'a, str>),
    /// A number as written: its value and the number of digits after the decimal mark.
    Num {
        value: f64,
        decimals: i32,
        int: bool,
    },
    /// `2026-02-05`.
    Iso(i32, u32, u32),
    Punct(char),
}

#[derive(Debug, Clone)]
struct Token<'a> {
    tok: Tok<'a>,
    start: usize,
    end: usize,
    /// Whitespace separates it from the token before.
    spaced: bool,
}

/// A text's characters by their index, and where each starts.
enum Chars<'t> {
    /// ASCII text: each byte is a character, and its index is its position.
    Ascii(&'t [u8]),
    /// Any other text, decoded once: each character and the byte it starts at; then the
    /// text's length.
    Decoded(Vec<(usize, char)>, usize),
}

impl<'t> Chars<'t> {
    fn of(text: &'t str) -> Self {
        if text.is_ascii() {
            Self::Ascii(text.as_bytes())
        } else {
            // Sized once: as many characters as bytes at most.
            let mut chars = Vec::with_capacity(text.len());
            chars.extend(text.char_indices());
            Self::Decoded(chars, text.len())
        }
    }

    /// The `i`th character.
    fn at(&self, i: usize) -> Option<char> {
        match self {
            Self::Ascii(bytes) => bytes.get(i).map(|b| char::from(*b)),
            Self::Decoded(chars, _) => chars.get(i).map(|(_, c)| *c),
        }
    }

    /// The byte the `i`th character starts at; the text's length past its end.
    fn pos(&self, i: usize) -> usize {
        match self {
            Self::Ascii(bytes) => i.min(bytes.len()),
            Self::Decoded(chars, len) => chars.get(i).map_or(*len, |(b, _)| *b),
        }
    }
}

fn tokenize(text: &str, lang: Lang) -> Vec<Token<'_>> {
    let chars = Chars::of(text);
    let at = |i: usize| chars.at(i);
    let pos = |i: usize| chars.pos(i);
    // Sized once: a token for every few bytes or fewer.
    let mut out = Vec::with_capacity(text.len() / 4 + 1);
    let mut spaced = true;
    let mut i = 0;
    while let Some(c) = at(i) {
        let start = pos(i);
        if c.is_whitespace() {
            spaced = true;
            i += 1;
            continue;
        }
        let tok = if c.is_ascii_digit() {
            let (tok, next) = scan_number(&chars, i, lang);
            i = next;
            tok
        } else if c.is_alphabetic() {
            // `U.S.`, `U.K.`: single capitals each followed by a full stop.
            let mut acronym = String::new();
            let mut j = i;
            while let Some(letter) = at(j).filter(|c| c.is_uppercase())
                && at(j + 1) == Some('.')
                && (!acronym.is_empty()
                    || at(j + 2).is_some_and(char::is_uppercase) && at(j + 3) == Some('.'))
            {
                acronym.push(letter);
                j += 2;
            }
            if acronym.chars().count() >= 2 {
                i = j;
                Tok::Word(Cow::Owned(acronym))
            } else {
                let mut j = i + 1;
                while let Some(c) = at(j) {
                    let inner = matches!(c, '\'' | '’' | '-' | '\u{2011}')
                        && at(j + 1).is_some_and(char::is_alphanumeric);
                    if c.is_alphanumeric() || inner {
                        j += 1;
                    } else {
                        break;
                    }
                }
                i = j;
                Tok::Word(Cow::Borrowed(&text[start..pos(j)]))
            }
        } else {
            i += 1;
            Tok::Punct(c)
        };
        out.push(Token {
            tok,
            start,
            end: pos(i),
            spaced,
        });
        spaced = false;
    }
    out
}

/// A number from `i`: digits with thousands separators and a decimal mark as `lang` writes
/// them, or an ISO date.
fn scan_number(chars: &Chars, i: usize, lang: Lang) -> (Tok<'static>, usize) {
    let at = |i: usize| chars.at(i);
    let digits_from = |i: usize| {
        (i..)
            .take_while(|j| at(*j).is_some_and(|c| c.is_ascii_digit()))
            .count()
    };
    let number = |from: usize, n: usize| -> u64 {
        (from..from + n).fold(0u64, |acc, j| {
            acc.saturating_mul(10)
                .saturating_add(u64::from(at(j).and_then(|c| c.to_digit(10)).unwrap_or(0)))
        })
    };
    let first = digits_from(i);
    // 2026-02-05
    if first == 4
        && at(i + 4) == Some('-')
        && digits_from(i + 5) == 2
        && at(i + 7) == Some('-')
        && digits_from(i + 8) == 2
        && digits_from(i + 10) == 0
    {
        let (y, m, d) = (number(i, 4), number(i + 5, 2), number(i + 8, 2));
        if (1..=12).contains(&m) && (1..=31).contains(&d) {
            let y = i32::try_from(y).unwrap_or_default();
            return (Tok::Iso(y, m as u32, d as u32), i + 10);
        }
    }
    let (group, decimal) = if lang.decimal_comma {
        ('.', ',')
    } else {
        (',', '.')
    };
    let mut int: u64 = number(i, first);
    let mut j = i + first;
    let mut grouped = false;
    // Thousands groups: exactly three digits after each separator.
    if first <= 3 {
        loop {
            let sep = at(j);
            let is_group = sep == Some(group)
                || matches!(sep, Some('\u{a0}' | '\u{202f}' | '\''))
                || (sep == Some(' ') && lang.space_groups);
            if is_group && digits_from(j + 1) == 3 {
                int = int.saturating_mul(1000).saturating_add(number(j + 1, 3));
                j += 4;
                grouped = true;
            } else {
                break;
            }
        }
    }
    let mut value = int as f64;
    let mut decimals = 0;
    let after_mark = digits_from(j + 1);
    let english_group_only = !grouped && at(j) == Some(group) && after_mark > 0 && after_mark != 3;
    if at(j) == Some(decimal) && after_mark > 0 || english_group_only && lang.decimal_comma {
        let frac = number(j + 1, after_mark.min(15));
        value += frac as f64 / 10f64.powi(after_mark.min(15) as i32);
        decimals = after_mark as i32;
        j += 1 + after_mark;
    }
    (
        Tok::Num {
            value,
            decimals,
            int: decimals == 0 && !grouped,
        },
        j,
    )
}

// ---------------------------------------------------------------------------------------------
// Reading facts from tokens

struct Found {
    fact: Fact,
    text: String,
    /// Worth checking: single digits used as words ("one of 3 reasons") are not.
    is_claim: bool,
}

fn read(tokens: &[Token], text: &str, lang: Lang) -> Vec<Found> {
    let mut out = Vec::new();
    let mut sentence_start = true;
    let mut i = 0;
    while i < tokens.len() {
        if let Some((fact, end)) = date_at(tokens, i) {
            out.push(found(fact, tokens, text, i, end, true));
            i = end;
            sentence_start = false;
            continue;
        }
        if let Some((fact, end, is_claim)) = figure_at(tokens, i, lang) {
            out.push(found(fact, tokens, text, i, end, is_claim));
            i = end;
            sentence_start = false;
            continue;
        }
        match &tokens[i].tok {
            Tok::Punct(c) => {
                let before = i.checked_sub(1).map(|b| &tokens[b].tok);
                let abbreviation = || matches!(before, Some(Tok::Word(w)) if ABBREVIATIONS.contains(&w.to_lowercase().as_str()));
                if matches!(c, '.' | '!' | '?') && !abbreviation()
                    || matches!(c, ':' | '"' | '“' | '„' | '«' | '(' | '‘' | '\n' | '•')
                {
                    sentence_start = true;
                }
                if *c == '$'
                    && let Some(Token {
                        tok: Tok::Word(w),
                        spaced: false,
                        ..
                    }) = tokens.get(i + 1)
                    && is_all_caps(w)
                {
                    out.push(found(
                        Fact::Ticker(w.to_string()),
                        tokens,
                        text,
                        i,
                        i + 2,
                        true,
                    ));
                    i += 2;
                    sentence_start = false;
                    continue;
                }
                i += 1;
            }
            Tok::Word(w) if is_all_caps(w) => {
                if !GENERIC_ACRONYMS.contains(&w.as_ref()) && !is_currency_code(w) {
                    out.push(found(
                        Fact::Ticker(w.to_string()),
                        tokens,
                        text,
                        i,
                        i + 1,
                        true,
                    ));
                }
                sentence_start = false;
                i += 1;
            }
            Tok::Word(w) if is_capitalised(w) => {
                let mut first = i;
                let mut end = name_run_end(tokens, i, lang);
                if sentence_start {
                    let opener = w.to_lowercase();
                    let capitals = (i..end)
                        .filter(|j| matches!(&tokens[*j].tok, Tok::Word(w) if is_capitalised(w)))
                        .count();
                    if lang.capital_nouns || SENTENCE_OPENERS.contains(&opener.as_str()) {
                        // "The Bank of America": the run starts after the opener.
                        first = i + 1;
                        end = if matches!(&tokens.get(first).map(|t| &t.tok), Some(Tok::Word(w)) if is_capitalised(w) && !is_all_caps(w))
                        {
                            name_run_end(tokens, first, lang)
                        } else {
                            first
                        };
                    } else if capitals < 2 {
                        first = end;
                    }
                }
                let kept = (first..end)
                    .filter(|j| matches!(&tokens[*j].tok, Tok::Word(w) if is_capitalised(w)))
                    .count();
                let enough = if lang.capital_nouns {
                    kept >= 2
                } else {
                    kept >= 1
                };
                if first < end && enough {
                    let names: Vec<String> = (first..end)
                        .filter_map(|j| match &tokens[j].tok {
                            Tok::Word(w) if is_capitalised(w) => {
                                Some(strip_possessive(&w.to_lowercase()).to_owned())
                            }
                            _ => None,
                        })
                        .collect();
                    let ordinary = names.iter().all(|n| {
                        ORDINARY_CAPITALS.contains(&n.as_str())
                            || month_of(n).is_some()
                            || weekday(n)
                    });
                    if !ordinary {
                        let start = tokens[first].start;
                        let stop = tokens[end - 1].end;
                        let shown = strip_possessive(&text[start..stop]).to_owned();
                        out.push(Found {
                            fact: Fact::Name(names),
                            text: shown,
                            is_claim: true,
                        });
                    }
                }
                sentence_start = false;
                i = end.max(i + 1);
            }
            _ => {
                sentence_start = false;
                i += 1;
            }
        }
    }
    out
}

fn found(
    fact: Fact,
    tokens: &[Token],
    text: &str,
    from: usize,
    to: usize,
    is_claim: bool,
) -> Found {
    let shown = text[tokens[from].start..tokens[to - 1].end]
        .trim_end_matches('.')
        .to_owned();
    Found {
        fact,
        text: shown,
        is_claim,
    }
}

/// The end of a run of capitalised words from `i`, with connectors (`of`, `van`, `de`) between
/// them: "Bank of America", "Jane Doe".
/// A connector joins only a one-word run ("Bank of America", not "Jane Doe of Acme"); German
/// takes only `von`, `van` and `zu` (its `der` is an article).
fn name_run_end(tokens: &[Token], i: usize, lang: Lang) -> usize {
    let capital = |j: usize| matches!(tokens.get(j), Some(Token { tok: Tok::Word(w), .. }) if is_capitalised(w) && !is_all_caps(w));
    let connector = |w: &str| {
        if lang.capital_nouns {
            matches!(w, "von" | "van" | "zu")
        } else {
            CONNECTORS.contains(&w)
        }
    };
    let mut end = i + 1;
    loop {
        if capital(end) {
            end += 1;
        } else if end == i + 1
            && matches!(tokens.get(end), Some(Token { tok: Tok::Word(w), .. }) if connector(w))
            && capital(end + 1)
        {
            end += 2;
        } else {
            return end;
        }
    }
}

fn word_at<'t>(tokens: &'t [Token<'_>], i: usize) -> Option<&'t str> {
    match tokens.get(i) {
        Some(Token {
            tok: Tok::Word(w), ..
        }) => Some(w),
        _ => None,
    }
}

fn punct_at(tokens: &[Token], i: usize, c: char) -> bool {
    matches!(tokens.get(i), Some(Token { tok: Tok::Punct(p), .. }) if *p == c)
}

fn int_at(tokens: &[Token], i: usize) -> Option<u64> {
    match tokens.get(i) {
        Some(Token {
            tok: Tok::Num {
                value, int: true, ..
            },
            ..
        }) => Some(*value as u64),
        _ => None,
    }
}

/// `Feb. 5`, `February 5, 2026`, `5 February 2026`, `5. Februar`, `February 2026`, `2026-02-05`.
fn date_at(tokens: &[Token], i: usize) -> Option<(Fact, usize)> {
    if let Some(Token {
        tok: Tok::Iso(y, m, d),
        ..
    }) = tokens.get(i)
    {
        return Some((
            Fact::Date {
                year: Some(*y),
                month: *m,
                day: Some(*d),
            },
            i + 1,
        ));
    }
    let year_at = |j: usize| {
        int_at(tokens, j)
            .filter(|y| (1900..=2100).contains(y))
            .map(|y| y as i32)
    };
    let day_at = |j: usize| {
        int_at(tokens, j)
            .filter(|d| (1..=31).contains(d))
            .map(|d| d as u32)
    };
    // An ordinal suffix glued to the day: 5th, 1st.
    let skip_ordinal = |j: usize| match tokens.get(j) {
        Some(Token {
            tok: Tok::Word(w),
            spaced: false,
            ..
        }) if ["st", "nd", "rd", "th"].contains(&w.as_ref()) => j + 1,
        _ => j,
    };
    // Month first.
    if let Some(month) = word_at(tokens, i)
        .filter(|w| is_capitalised(w))
        .and_then(month_of)
    {
        let mut j = i + 1;
        if punct_at(tokens, j, '.') {
            j += 1;
        }
        if let Some(day) = day_at(j) {
            let mut end = skip_ordinal(j + 1);
            let mut k = end;
            if punct_at(tokens, k, ',') {
                k += 1;
            }
            let year = year_at(k);
            if year.is_some() {
                end = k + 1;
            }
            return Some((
                Fact::Date {
                    year,
                    month,
                    day: Some(day),
                },
                end,
            ));
        }
        if let Some(year) = year_at(j) {
            return Some((
                Fact::Date {
                    year: Some(year),
                    month,
                    day: None,
                },
                j + 1,
            ));
        }
        return None;
    }
    // Day first.
    let day = day_at(i)?;
    let mut j = skip_ordinal(i + 1);
    if punct_at(tokens, j, '.') {
        j += 1;
    }
    if word_at(tokens, j).is_some_and(|w| matches!(w, "of" | "de")) {
        j += 1;
    }
    let month = word_at(tokens, j).and_then(month_of)?;
    let mut end = j + 1;
    if punct_at(tokens, end, '.') && word_at(tokens, j).is_some_and(|w| w.chars().count() <= 4) {
        end += 1;
    }
    let year = year_at(end);
    if year.is_some() {
        end += 1;
    }
    Some((
        Fact::Date {
            year,
            month,
            day: Some(day),
        },
        end,
    ))
}

/// A figure from `i`: `[currency] number [scale] [currency] [percent]`; whether it is a claim.
fn figure_at(tokens: &[Token], i: usize, lang: Lang) -> Option<(Fact, usize, bool)> {
    let mut j = i;
    let mut money = false;
    // US$ 5, $5, €5, USD 5
    if word_at(tokens, j).is_some_and(|w| w == "US") && punct_at(tokens, j + 1, '$') {
        j += 1;
    }
    if let Some(Token {
        tok: Tok::Punct(c), ..
    }) = tokens.get(j)
        && CURRENCY_SIGNS.contains(c)
    {
        money = true;
        j += 1;
    } else if word_at(tokens, j).is_some_and(is_currency_code)
        && matches!(
            tokens.get(j + 1),
            Some(Token {
                tok: Tok::Num { .. },
                ..
            })
        )
    {
        money = true;
        j += 1;
    }
    let Some(Token {
        tok: Tok::Num {
            value,
            decimals,
            int,
        },
        ..
    }) = tokens.get(j)
    else {
        return None;
    };
    let (mut value, decimals, int) = (*value, *decimals, *int);
    let mut unit = 10f64.powi(-decimals);
    j += 1;
    let mut scaled = false;
    // A glued suffix: 1bn, 5m, 10k, 2nd, 24h.
    if let Some(Token {
        tok: Tok::Word(w),
        spaced: false,
        ..
    }) = tokens.get(j)
    {
        if let Some(scale) = scale_of(&w.to_lowercase(), lang, true) {
            value *= scale;
            unit *= scale;
            scaled = true;
        }
        j += 1;
    } else if let Some(w) = word_at(tokens, j) {
        let lower = w.to_lowercase();
        // Spanish and Portuguese "mil millones": a thousand millions.
        let next = word_at(tokens, j + 1).map(str::to_lowercase);
        if matches!(lower.as_str(), "mil") && next.as_deref().is_some_and(|n| n.starts_with("mill"))
        {
            value *= 1e9;
            unit *= 1e9;
            scaled = true;
            j += 2;
        } else if let Some(scale) = scale_of(&lower, lang, false) {
            value *= scale;
            unit *= scale;
            scaled = true;
            j += 1;
            // Mio., Mrd.
            if punct_at(tokens, j, '.')
                && lower.chars().count() <= 3
                && matches!(
                    lower.as_str(),
                    "mio" | "mrd" | "bio" | "mln" | "mld" | "tsd"
                )
            {
                j += 1;
            }
        }
    }
    // 5 €, 5 dollars, 5 US-Dollar
    if let Some(Token {
        tok: Tok::Punct(c), ..
    }) = tokens.get(j)
        && CURRENCY_SIGNS.contains(c)
    {
        money = true;
        j += 1;
    } else if let Some(w) = word_at(tokens, j) {
        let lower = w.to_lowercase();
        if lower == "us"
            && word_at(tokens, j + 1).is_some_and(|n| is_currency_word(&n.to_lowercase()))
        {
            money = true;
            j += 2;
        } else if is_currency_word(&lower) || is_currency_code(w) {
            money = true;
            j += 1;
        }
    }
    let mut percent = false;
    if punct_at(tokens, j, '%') {
        percent = true;
        j += 1;
    } else if let Some(w) = word_at(tokens, j) {
        let lower = w.to_lowercase();
        let next = word_at(tokens, j + 1).map(str::to_lowercase);
        if PERCENT_WORDS.contains(&lower.as_str()) {
            percent = true;
            j += 1;
        } else if matches!(lower.as_str(), "per" | "pour" | "por")
            && next
                .as_deref()
                .is_some_and(|n| matches!(n, "cent" | "ciento" | "cento"))
        {
            percent = true;
            j += 2;
        }
    }
    let minor = int && !money && !percent && !scaled && value < 10.0;
    Some((
        Fact::Figure {
            value,
            tolerance: unit / 2.0,
        },
        j,
        !minor,
    ))
}

fn scale_of(word: &str, lang: Lang, glued: bool) -> Option<f64> {
    let billion = if lang.long_scale { 1e12 } else { 1e9 };
    let s = match word {
        "k" | "thousand" | "thousands" | "tausend" | "tsd" | "mille" | "mil" => 1e3,
        "m" | "mn" | "mln" | "mio" | "million" | "millions" | "millionen" | "millón"
        | "millones" | "milione" | "milioni" | "milhão" | "milhões" | "miljoen" | "miljoenen"
        | "millió" => 1e6,
        "b" | "bn" | "bln" => 1e9,
        "billion" | "billions" | "billionen" | "billón" | "billones" | "bilione" | "bilioni"
        | "biljoen" => billion,
        "mrd" | "mld" | "milliarde" | "milliarden" | "milliard" | "milliards" | "miliardo"
        | "miliardi" | "miljard" | "miljarden" | "bilhão" | "bilhões" | "bio" => 1e9,
        "t" | "tn" | "trn" | "trillion" | "trillions" => 1e12,
        _ => return None,
    };
    // "5 m" (metres?) and "5 t" (tonnes?) count only when glued: 5m, 5bn.
    if !glued && word.chars().count() == 1 {
        return None;
    }
    Some(s)
}

const CURRENCY_SIGNS: &[char] = &['$', '€', '£', '¥', '₿'];

fn is_currency_code(w: &str) -> bool {
    matches!(
        w,
        "USD" | "EUR" | "GBP" | "JPY" | "CHF" | "CNY" | "AUD" | "CAD"
    )
}

fn is_currency_word(w: &str) -> bool {
    matches!(
        w,
        "dollar"
            | "dollars"
            | "us-dollar"
            | "euro"
            | "euros"
            | "pound"
            | "pounds"
            | "yen"
            | "franc"
            | "francs"
            | "dólares"
            | "dolares"
            | "dólar"
            | "dollari"
            | "dólares,"
            | "yuan"
    )
}

const PERCENT_WORDS: &[&str] = &[
    "percent",
    "pct",
    "prozent",
    "procent",
    "percentage",
    "prozentpunkte",
    "porcentaje",
];

fn is_all_caps(w: &str) -> bool {
    // The first letter first: most words fail there.
    w.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() && c.is_uppercase())
        && w.chars()
            .all(|c| c.is_uppercase() || c.is_ascii_digit() || c == '-')
        && w.chars().filter(|c| c.is_alphabetic()).nth(1).is_some()
}

fn is_capitalised(w: &str) -> bool {
    // Two letters or more: the scan stops at the second.
    w.chars().next().is_some_and(char::is_uppercase)
        && w.chars().filter(|c| c.is_alphabetic()).nth(1).is_some()
}

fn strip_possessive(w: &str) -> &str {
    w.strip_suffix("'s")
        .or_else(|| w.strip_suffix("’s"))
        .or_else(|| w.strip_suffix("'S"))
        .unwrap_or(w)
        .trim_end_matches(['\'', '’'])
}

fn month_of(word: &str) -> Option<u32> {
    // Most words are longer than any month's name and its full stop: not lower-cased.
    // (Lower-casing never makes a word fewer characters.)
    if word.chars().nth(LONGEST_MONTH + 1).is_some() {
        return None;
    }
    let w = word.to_lowercase();
    let w = w.trim_end_matches('.');
    MONTHS
        .iter()
        .find(|(_, names)| names.contains(&w))
        .map(|(m, _)| *m)
}

fn weekday(word: &str) -> bool {
    word.chars().nth(LONGEST_WEEKDAY).is_none() && WEEKDAYS.contains(&word.to_lowercase().as_str())
}

/// `s.chars().count()`, at compile time: every byte but UTF-8's continuation bytes starts a
/// character.
const fn char_count(s: &str) -> usize {
    let (bytes, mut count, mut i) = (s.as_bytes(), 0, 0);
    while i < bytes.len() {
        count += (bytes[i] & 0xC0 != 0x80) as usize;
        i += 1;
    }
    count
}

/// Characters of the longest name in `names`, for a length check before a lookup.
const fn longest(names: &[&str]) -> usize {
    let (mut longest, mut i) = (0, 0);
    while i < names.len() {
        longest = max(longest, char_count(names[i]));
        i += 1;
    }
    longest
}

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

const LONGEST_MONTH: usize = {
    let (mut longest_month, mut i) = (0, 0);
    while i < MONTHS.len() {
        longest_month = max(longest_month, longest(MONTHS[i].1));
        i += 1;
    }
    longest_month
};

const LONGEST_WEEKDAY: usize = longest(WEEKDAYS);

const MONTHS: &[(u32, &[&str])] = &[
    (
        1,
        &[
            "january", "jan", "januar", "janvier", "enero", "gennaio", "janeiro", "januari",
            "jänner",
        ],
    ),
    (
        2,
        &[
            "february",
            "feb",
            "februar",
            "février",
            "febrero",
            "febbraio",
            "fevereiro",
            "februari",
        ],
    ),
    (
        3,
        &["march", "mar", "märz", "mars", "marzo", "março", "maart"],
    ),
    (4, &["april", "apr", "avril", "abril", "aprile"]),
    (5, &["may", "mai", "mayo", "maggio", "maio", "mei"]),
    (
        6,
        &["june", "jun", "juni", "juin", "junio", "giugno", "junho"],
    ),
    (
        7,
        &["july", "jul", "juli", "juillet", "julio", "luglio", "julho"],
    ),
    (8, &["august", "aug", "août", "agosto", "augustus"]),
    (
        9,
        &[
            "september",
            "sep",
            "sept",
            "septembre",
            "septiembre",
            "settembre",
            "setembro",
        ],
    ),
    (
        10,
        &[
            "october", "oct", "oktober", "okt", "octobre", "octubre", "ottobre", "outubro",
        ],
    ),
    (
        11,
        &["november", "nov", "novembre", "noviembre", "novembro"],
    ),
    (
        12,
        &[
            "december",
            "dec",
            "dezember",
            "dez",
            "décembre",
            "diciembre",
            "dicembre",
            "dezembro",
        ],
    ),
];

const WEEKDAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "montag",
    "dienstag",
    "mittwoch",
    "donnerstag",
    "freitag",
    "samstag",
    "sonntag",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
];

/// Words capitalised in prose without naming anyone in particular.
const ORDINARY_CAPITALS: &[&str] = &[
    "i",
    "bitcoin",
    "bitcoins",
    "ethereum",
    "ether",
    "crypto",
    "defi",
    "web3",
    "ai",
    "internet",
    "stablecoin",
    "stablecoins",
    "altcoin",
    "altcoins",
    "blockchain",
    "krypto",
    "kryptowährung",
    "kryptowährungen",
];

/// Upper-case words that are vocabulary, not tickers or names.
const GENERIC_ACRONYMS: &[&str] = &[
    "AI", "CEO", "CFO", "CTO", "COO", "ETF", "ETFS", "ETP", "NFT", "NFTS", "IPO", "OTC", "KYC",
    "AML", "DAO", "DAOS", "DEX", "CEX", "TVL", "ATH", "ATL", "API", "GDP", "CPI", "PR", "FAQ",
    "OK", "TV", "PDF", "Q1", "Q2", "Q3", "Q4", "H1", "H2", "YTD", "YOY", "P2P", "L1", "L2",
];

/// Assets by ticker and name, so that `BTC` is supported by "bitcoin" and "Solana" by `SOL`.
const ASSETS: &[(&str, &[&str])] = &[
    ("btc", &["bitcoin", "bitcoins"]),
    ("eth", &["ether", "ethereum"]),
    ("sol", &["solana"]),
    ("xrp", &["ripple"]),
    ("doge", &["dogecoin"]),
    ("ada", &["cardano"]),
    ("bnb", &["binance"]),
    ("usdt", &["tether"]),
    ("usdc", &["circle"]),
    ("avax", &["avalanche"]),
    ("dot", &["polkadot"]),
    ("ltc", &["litecoin"]),
    ("trx", &["tron"]),
    ("link", &["chainlink"]),
    ("pol", &["polygon", "matic"]),
    ("ton", &["toncoin"]),
    ("shib", &["shiba"]),
];

/// Words that end with a full stop without ending the sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "inc", "corp", "ltd", "co", "st", "jr", "sr", "vs", "no",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mio",
    "mrd", "bzw", "ca", "nr", "z", "b", "e", "g", "i", "etc", "approx", "hr", "fr", "sig",
];

/// First words of sentences that are never part of a name.
const SENTENCE_OPENERS: &[&str] = &[
    "the",
    "a",
    "an",
    "in",
    "on",
    "at",
    "for",
    "from",
    "with",
    "by",
    "as",
    "but",
    "and",
    "or",
    "so",
    "if",
    "when",
    "while",
    "after",
    "before",
    "this",
    "that",
    "these",
    "those",
    "its",
    "his",
    "her",
    "their",
    "our",
    "we",
    "they",
    "he",
    "she",
    "it",
    "what",
    "why",
    "how",
    "yet",
    "since",
    "although",
    "according",
    "unlike",
    "like",
    "both",
    "all",
    "some",
    "many",
    "most",
    "der",
    "die",
    "das",
    "ein",
    "eine",
    "im",
    "am",
    "le",
    "la",
    "les",
    "el",
    "los",
    "las",
    "il",
    "lo",
    "gli",
    "un",
    "une",
    "una",
    "o",
    "os",
    "de",
    "het",
    "en",
    "et",
    "y",
    "e",
];

/// Lower-case words inside names: "Bank of America", "Ursula von der Leyen".
const CONNECTORS: &[&str] = &[
    "of", "van", "von", "der", "de", "del", "della", "di", "da", "du", "la", "le",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn unsupported(source: &str, text: &str, lang: &str) -> Vec<String> {
        Facts::of_text(source, lang)
            .unsupported(text, lang, true)
            .into_iter()
            .map(|c| c.text)
            .collect()
    }

    fn supported(source: &str, text: &str, lang: &str) {
        let left = unsupported(source, text, lang);
        assert!(left.is_empty(), "{text:?} against {source:?}: {left:?}");
    }

    #[test]
    fn every_month_and_weekday_is_known_in_any_case_and_abbreviated_with_a_stop() {
        for (month, names) in MONTHS {
            for name in *names {
                for written in [
                    name.to_string(),
                    name.to_uppercase(),
                    format!("{name}."),
                    format!("{}.", name.to_uppercase()),
                ] {
                    assert_eq!(month_of(&written), Some(*month), "{written:?}");
                }
            }
        }
        for name in WEEKDAYS {
            assert!(weekday(name) && weekday(&name.to_uppercase()), "{name:?}");
        }
        for word in ["Septembers", "septiembre..", "Wednesdays", "Bitcoin"] {
            assert_eq!(month_of(word), None, "{word:?}");
            assert!(!weekday(word), "{word:?}");
        }
    }

    #[test]
    fn a_hyphenated_word_of_the_news_item_supports_its_parts_and_the_whole() {
        let facts = Facts::of_text("Coinbase-Backed fund rises", "en");
        for word in ["coinbase-backed", "coinbase", "backed"] {
            assert!(facts.words.contains(word), "{word:?}: {:?}", facts.words);
        }
    }

    #[test]
    fn money_restated_in_another_form_is_supported() {
        for source in [
            "Fund raises $1B",
            "Fund raises $1,000,000,000",
            "Fund raises 1 billion dollars",
            "Fund raises 1bn USD",
        ] {
            for text in [
                "It raised $1B.",
                "It raised 1 billion dollars.",
                "It raised $1,000,000,000.",
                "It raised 1bn.",
                "It raised USD 1 billion.",
                "It raised US$1 billion.",
            ] {
                supported(source, text, "en");
            }
        }
        supported(
            "Exchange loses $1.2 billion",
            "It lost 1.2bn, or $1,200 million.",
            "en",
        );
        supported(
            "Exchange loses $1.23 billion",
            "It lost about $1.2 billion.",
            "en",
        );
        supported(
            "Miners sold 3 million coins",
            "They sold 3,000,000 coins.",
            "en",
        );
        supported("Token raises $250k", "It raised $250,000.", "en");
    }

    #[test]
    fn percentages_restated_in_another_form_are_supported() {
        for text in [
            "Hashrate fell 40%.",
            "Hashrate fell 40 percent.",
            "Hashrate fell 40 per cent.",
            "Hashrate fell by 40.3%.",
        ] {
            supported("Hashrate falls 40.3%", text, "en");
        }
    }

    #[test]
    fn invented_figures_are_not_supported() {
        assert_eq!(
            unsupported("Fund raises $1.2 billion", "It raised $1 billion.", "en"),
            ["$1 billion"]
        );
        assert_eq!(
            unsupported("Hashrate falls 40%", "It fell 45% in 2031.", "en"),
            ["45%", "2031"]
        );
        assert_eq!(
            unsupported("Miners sell coins", "They sold 1,250 coins.", "en"),
            ["1,250"]
        );
        assert_eq!(
            unsupported("Fund raises $1B", "It raised $1 million.", "en"),
            ["$1 million"]
        );
    }

    #[test]
    fn single_digits_used_as_words_are_not_claims() {
        supported(
            "Miners sell coins",
            "There are 3 reasons, and 2 of them matter.",
            "en",
        );
        assert_eq!(
            unsupported(
                "Miners sell coins",
                "They sold 3 million coins for $5.",
                "en"
            ),
            ["3 million", "$5"]
        );
    }

    #[test]
    fn dates_in_several_forms_are_the_same_date() {
        let source = "Exchange halts withdrawals on February 5, 2026";
        for text in [
            "It halted them on Feb. 5.",
            "It halted them on 2026-02-05.",
            "It halted them on 5 February 2026.",
            "It halted them on February 5th.",
            "It happened in February 2026, in 2026.",
        ] {
            supported(source, text, "en");
        }
        assert_eq!(
            unsupported(source, "It resumed on March 3, 2026.", "en"),
            ["March 3, 2026"]
        );
        assert_eq!(
            unsupported(source, "Trading resumes Feb. 9.", "en"),
            ["Feb. 9"]
        );
        supported(
            "Börse startet am 5. Februar 2026",
            "Der Handel beginnt am 5. Februar.",
            "de",
        );
        assert_eq!(
            unsupported(
                "Börse startet am 5. Februar 2026",
                "Der Handel beginnt am 9. März 2026.",
                "de"
            ),
            ["9. März 2026"]
        );
    }

    #[test]
    fn the_published_date_supports_its_day_and_year() {
        let headline = Headline::from_value(serde_json::json!({
            "externalId": "1", "title": "Miners unplug machines", "publishedAt": "2026-02-05T17:45:43Z",
            "source": {"name": "Bloomberg (Crypto)", "key": "b"}, "tags": ["BTC", "MINING"]
        }))
        .unwrap();
        let facts = Facts::of_headline(&headline);
        let left: Vec<String> = facts
            .unsupported(
                "On Feb. 5, 2026, Bloomberg reported that BTC miners unplugged rigs in 2026.",
                "en",
                true,
            )
            .into_iter()
            .map(|c| c.text)
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn tickers_and_their_assets_support_each_other() {
        supported(
            "Bitcoin, Solana and ether rally",
            "BTC rose while $SOL and ETH lagged behind ether.",
            "en",
        );
        assert_eq!(
            unsupported(
                "Bitcoin rallies",
                "BTC rose while $SOL lagged and the SEC said nothing.",
                "en"
            ),
            ["$SOL", "SEC"]
        );
        supported(
            "Bitcoin rallies",
            "An ETF and a DAO were in the news, the CEO said.",
            "en",
        );
    }

    #[test]
    fn names_are_runs_of_capitals_not_sentence_starts() {
        let source = "Bloomberg says miners unplug machines";
        supported(
            source,
            "Miners unplugged machines, Bloomberg reports. Revenue fell in February as Bitcoin slid on Monday.",
            "en",
        );
        assert_eq!(
            unsupported(
                source,
                "Miners unplugged machines, said Jane Doe of CointelPro. Jane Doe added more.",
                "en"
            ),
            ["Jane Doe", "CointelPro"]
        );
        assert_eq!(
            unsupported(source, "In Germany, miners unplugged machines.", "en"),
            ["Germany"]
        );
        assert_eq!(
            unsupported(source, "The Bank of America said so.", "en"),
            ["Bank of America"]
        );
        supported(
            "Jane Doe leaves Coinbase",
            "Miners reacted after Doe's exit from Coinbase. Jane Doe said little.",
            "en",
        );
        supported(
            "German regulator fines exchange",
            "Regulators in Germany fined it.",
            "en",
        );
        supported(
            "Miners unplug machines",
            "\"Mining is hard,\" one operator said: \"We unplug.\"",
            "en",
        );
    }

    #[test]
    fn german_nouns_are_not_names_but_multi_word_names_are() {
        let source = "Börse Stuttgart startet Krypto-Handel für Privatkunden";
        supported(
            source,
            "Die Börse Stuttgart öffnet den Handel mit Kryptowährungen für Anleger in Deutschland. Neue Regeln gelten.",
            "de",
        );
        assert_eq!(
            unsupported(source, "Laut der Deutschen Bank ist das wichtig.", "de"),
            ["Deutschen Bank"]
        );
    }

    #[test]
    fn german_numbers_use_the_decimal_comma() {
        let source = "Börse sammelt 1,2 Milliarden Dollar ein; Kurs fällt um 40 Prozent";
        for text in [
            "Sie sammelte 1,2 Mrd. US-Dollar ein.",
            "Sie sammelte 1.200 Mio. Dollar ein.",
            "Der Kurs fiel um 40 %.",
            "Es waren 1.200.000.000 Dollar.",
        ] {
            supported(source, text, "de");
        }
        assert_eq!(
            unsupported(source, "Der Kurs fiel um 45,5 Prozent.", "de"),
            ["45,5 Prozent"]
        );
        // German "Billion" is a million million.
        assert_eq!(
            unsupported(
                "Markt erreicht 1 Billion Euro",
                "Der Markt erreichte 1.000 Milliarden Euro.",
                "de"
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn french_and_spanish_forms() {
        supported(
            "La bourse lève 3 000 euros",
            "Elle a levé 3000 euros.",
            "fr",
        );
        supported(
            "La plateforme recauda 1.200 millones",
            "Recaudó 1,2 mil millones de dólares.",
            "es",
        );
    }
}
