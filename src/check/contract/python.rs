//! What the script's Python would print or compute: `repr()` of values, `str()` of JSON,
//! truthiness, and `str` methods whose idea of whitespace and line breaks differs from Rust's.
//! The contract's messages use them so they read exactly as `check_article.py`'s.

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;

/// Python's `str()` of a JSON value, as the script compares `externalId` with.
pub(super) fn py_str(json: Option<&Json>) -> String {
    match json {
        None | Some(Json::Null) => "None".to_owned(),
        Some(Json::Bool(true)) => "True".to_owned(),
        Some(Json::Bool(false)) => "False".to_owned(),
        Some(Json::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Python's truthiness of a JSON value.
pub(super) fn py_truthy(json: &Json) -> bool {
    match json {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(items) => !items.is_empty(),
        Json::Object(map) => !map.is_empty(),
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers: scalar text, Python-style reprs and whitespace

/// The value as a non-empty string, if it is one.
pub(super) fn non_empty_str(value: Option<&Yaml>) -> Option<&str> {
    value.and_then(Yaml::as_str).filter(|s| !s.is_empty())
}

/// A scalar as text (`null` as empty), anything else as its repr.
pub(super) fn text_or_repr(value: &Yaml) -> String {
    match value {
        Yaml::Null => String::new(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        Yaml::String(s) => s.clone(),
        other => repr(Some(other)),
    }
}

/// Python's `repr()` of the value the script would see; a missing value is `None`.
pub(super) fn repr(value: Option<&Yaml>) -> String {
    match value {
        None | Some(Yaml::Null) => "None".to_owned(),
        Some(Yaml::Bool(true)) => "True".to_owned(),
        Some(Yaml::Bool(false)) => "False".to_owned(),
        Some(Yaml::Number(n)) => n.to_string(),
        Some(Yaml::String(s)) => quote(s),
        Some(Yaml::Sequence(items)) => {
            let items: Vec<String> = items.iter().map(|v| repr(Some(v))).collect();
            format!("[{}]", items.join(", "))
        }
        Some(Yaml::Mapping(map)) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", repr(Some(k)), repr(Some(v))))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        Some(Yaml::Tagged(tagged)) => format!("{} {}", tagged.tag, repr(Some(&tagged.value))),
    }
}

/// A string quoted as Python's `repr()` does.
pub(super) fn quote(text: &str) -> String {
    let mark = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut quoted = String::from(mark);
    for c in text.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            c if c == mark => {
                quoted.push('\\');
                quoted.push(c);
            }
            c if c.is_control() => quoted.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push(mark);
    quoted
}

/// A list of strings as Python prints it: `['a', 'b']`.
pub(super) fn py_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s.as_ref())).collect();
    format!("[{}]", quoted.join(", "))
}

/// Python's `str.isspace()` for one character (Rust's whitespace plus the ASCII separators).
pub(super) fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

pub(super) fn py_strip(text: &str) -> &str {
    text.trim_matches(py_space)
}

pub(super) fn py_rstrip(text: &str) -> &str {
    text.trim_end_matches(py_space)
}

/// `re.sub(r"\s+", " ", text).strip()`
pub(super) fn collapse_whitespace(text: &str) -> String {
    let words: Vec<&str> = text.split(py_space).filter(|w| !w.is_empty()).collect();
    words.join(" ")
}

/// Python's `str.splitlines()`.
pub(super) fn py_splitlines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !matches!(
            c,
            '\n' | '\r'
                | '\u{0b}'
                | '\u{0c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        ) {
            continue;
        }
        lines.push(&text[start..i]);
        start = i + c.len_utf8();
        if c == '\r' && chars.next_if(|&(_, next)| next == '\n').is_some() {
            start += 1;
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}
