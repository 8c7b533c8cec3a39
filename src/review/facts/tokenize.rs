//! The facts reader's tokenizer: a text cut into words, numbers, ISO dates and punctuation,
//! with numbers read as the text's language writes them.

use std::borrow::Cow;

use super::Lang;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok<'a> {
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
pub(super) struct Token<'a> {
    pub(super) tok: Tok<'a>,
    pub(super) start: usize,
    pub(super) end: usize,
    /// Whitespace separates it from the token before.
    pub(super) spaced: bool,
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

pub(super) fn tokenize(text: &str, lang: Lang) -> Vec<Token<'_>> {
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
