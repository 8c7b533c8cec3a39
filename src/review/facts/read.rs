//! Reading facts from tokens: figures with their currency, scale and rounding, dates in their
//! written forms, tickers and runs of capitalised words (names).

use super::tokenize::{Tok, Token};
use super::words::{
    ABBREVIATIONS, CONNECTORS, CURRENCY_SIGNS, GENERIC_ACRONYMS, ORDINARY_CAPITALS, PERCENT_WORDS,
    SENTENCE_OPENERS, is_all_caps, is_capitalised, is_currency_code, is_currency_word, month_of,
    strip_possessive, weekday,
};
use super::{Fact, Lang};

pub(super) struct Found {
    pub(super) fact: Fact,
    pub(super) text: String,
    /// Worth checking: single digits used as words ("one of 3 reasons") are not.
    pub(super) is_claim: bool,
}

pub(super) fn read(tokens: &[Token], text: &str, lang: Lang) -> Vec<Found> {
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

/// Whether the token at `i` is a currency sign (`$`, `€`, …).
fn currency_sign_at(tokens: &[Token], i: usize) -> bool {
    matches!(tokens.get(i), Some(Token { tok: Tok::Punct(c), .. }) if CURRENCY_SIGNS.contains(c))
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
    let code_before_number = || {
        word_at(tokens, j).is_some_and(is_currency_code)
            && matches!(
                tokens.get(j + 1),
                Some(Token {
                    tok: Tok::Num { .. },
                    ..
                })
            )
    };
    if currency_sign_at(tokens, j) || code_before_number() {
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
    if currency_sign_at(tokens, j) {
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
