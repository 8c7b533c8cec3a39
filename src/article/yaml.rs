//! The frontmatter's YAML emitter: serde values in, YAML that reads back the same in YAML 1.2
//! *and* YAML 1.1 readers out.
//!
//! `yaml_serde` (our serde_yaml) decides quoting by YAML 1.2 rules, so it writes `no`, `on`,
//! `2026-02-05T17:45:43.000Z` and `0x1F` bare, which PyYAML and Ruby's Psych (YAML 1.1, used
//! by site generators) read as a boolean, a date or a number. It has no knob for that, so the
//! last step is ours: a value tree from serde (`serde_json::Value`, order kept) is printed
//! with a conservative rule — a string goes bare only when it is plainly prose that no YAML
//! version could take for anything else, single-quoted otherwise, double-quoted with escapes
//! when it holds characters single quotes cannot carry. That the output reads back as written is
//! this module's property, tested over generated hostile strings, numbers and nested maps
//! (`generated`) and judged by YAML 1.2 (yaml_serde) and YAML 1.1 ([`resolve`]) rules, rather
//! than re-parsed for every article: a parse per job for a property that holds by construction.

pub mod resolve;

use std::fmt::Write as _;

use serde_json::Value;

/// How a string is written: [`scalar`], or in the tests a careless stand-in that their judge
/// must catch.
type Quoting = fn(&str) -> String;

/// Prints a mapping as block YAML (no document markers).
pub fn to_yaml(map: &serde_json::Map<String, Value>) -> String {
    to_yaml_with(map, scalar)
}

/// [`to_yaml`] with the string quoting given.
fn to_yaml_with(map: &serde_json::Map<String, Value>, scalar: Quoting) -> String {
    let mut out = String::new();
    write_map(&mut out, map, 0, scalar);
    out
}

fn write_map(
    out: &mut String,
    map: &serde_json::Map<String, Value>,
    indent: usize,
    scalar: Quoting,
) {
    for (key, value) in map {
        out.push_str(&" ".repeat(indent));
        out.push_str(&scalar(key));
        out.push(':');
        write_value_after_key(out, value, indent, scalar);
    }
}

fn write_value_after_key(out: &mut String, value: &Value, indent: usize, scalar: Quoting) {
    match value {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(out, m, indent + 2, scalar);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            for item in items {
                out.push_str(&" ".repeat(indent + 2));
                out.push('-');
                match item {
                    Value::Object(m) if !m.is_empty() => {
                        // A mapping inside a sequence: first key on the dash's line.
                        let mut nested = String::new();
                        write_map(&mut nested, m, indent + 4, scalar);
                        out.push(' ');
                        out.push_str(nested.trim_start());
                    }
                    Value::Array(inner) if !inner.is_empty() => {
                        // Not produced by our frontmatter; keep it valid with flow style.
                        out.push(' ');
                        out.push_str(&flow(item, scalar));
                        out.push('\n');
                    }
                    other => {
                        out.push(' ');
                        out.push_str(&flow(other, scalar));
                        out.push('\n');
                    }
                }
            }
        }
        other => {
            out.push(' ');
            out.push_str(&flow(other, scalar));
            out.push('\n');
        }
    }
}

/// A value on one line.
fn flow(value: &Value, scalar: Quoting) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        // Rust's `Display` for floats never uses an exponent ("1e-6" is not a YAML 1.1 float).
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.is_finite() => {
                let text = format!("{f}");
                if text.contains('.') {
                    text
                } else {
                    format!("{text}.0")
                }
            }
            _ => n.to_string(),
        },
        Value::String(s) => scalar(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(|item| flow(item, scalar)).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(m) => {
            let inner: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", scalar(k), flow(v, scalar)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// A string scalar in the safest readable style.
pub fn scalar(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else if s
        .chars()
        .all(|c| !c.is_control() && c != '\u{feff}' && !is_line_break(c))
    {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        double_quoted(s)
    }
}

fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Words that some YAML version reads as a boolean or null, compared case-insensitively
/// (YAML 1.1: y/n/yes/no/on/off/true/false, `~` and null).
const SPECIAL_WORDS: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf",
];

/// Bare only when it starts with a letter, holds nothing but letters, digits, spaces and
/// harmless punctuation, has no leading/trailing space and is not a special word. Anything
/// starting with a digit, sign or dot (numbers, dates, times, `.inf`) is quoted.
fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    first.is_alphabetic()
        && !s.ends_with(' ')
        && !SPECIAL_WORDS.contains(&s.to_ascii_lowercase().as_str())
        && s.chars().all(|c| {
            (c.is_alphanumeric() && !c.is_control())
                || matches!(c, ' ' | '_' | '-' | '.' | '(' | ')' | '/')
        })
        && !s.contains("  ")
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{feff}' || is_line_break(c) => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Generated hostile values, for the property that whatever the frontmatter holds reads back
/// as written (here and in `article/tests.rs`).
#[cfg(test)]
pub(super) mod generated {
    use serde_json::{Value, json};

    /// Pieces that YAML readers treat specially, and ordinary text, to build hostile strings.
    #[rustfmt::skip]
    const PIECES: &[&str] = &[
        "no", "On", "y", "~", "null", "True", "nan", ".inf", "-.Inf", "0x1F", "0o17", "1e3",
        "012", "1_000", "+1", "-", "2026-02-05", "T17:45:43.000Z", "12:30:00", ":", ": ", " :",
        "#", " #", "?", "- ", "---", "...", "'", "''", "\"", "\\", "`", "@", "!", "&", "*",
        "%", "|", ">", "[", "]", "{", "}", ",", "=", "<<", " ", "  ", "\t", "\n", "\r", "\r\n",
        "\u{85}", "\u{a0}", "\u{2028}", "\u{2029}", "\u{feff}", "\u{0}", "\u{1b}", "\u{7f}",
        "\u{200b}", "é", "ß", "中文", "😀", "🧊", "e\u{301}", "Bitcoin", "ETF", "a", "Z", "1",
        "0", ".", "$", "€", "(", ")", "/",
    ];

    pub fn hostile_string(rng: &mut fastrand::Rng) -> String {
        (0..rng.usize(0..7))
            .map(|_| PIECES[rng.usize(..PIECES.len())])
            .collect()
    }

    pub fn any_value(rng: &mut fastrand::Rng, depth: u32) -> Value {
        let kinds = if depth == 0 { 6 } else { 8 };
        match rng.u32(0..kinds) {
            0 => Value::Null,
            1 => Value::Bool(rng.bool()),
            2 => json!(rng.i64(..)),
            3 => json!(rng.u64(..)),
            4 => {
                let f = f64::from_bits(rng.u64(..));
                if f.is_finite() {
                    json!(f)
                } else {
                    json!(rng.f64() * 1e6)
                }
            }
            5 => Value::String(hostile_string(rng)),
            6 => (0..rng.usize(0..4))
                .map(|_| any_value(rng, depth - 1))
                .collect(),
            _ => Value::Object(
                (0..rng.usize(0..4))
                    .map(|_| (hostile_string(rng), any_value(rng, depth - 1)))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests;
