//! String values written as plain scalars that YAML 1.1 readers (PyYAML, Ruby's Psych) read as
//! something else: `lang: no`, an unquoted timestamp. serde_yaml (YAML 1.2) has already typed
//! the frontmatter; only the text shows whether a scalar was quoted, so this scans its lines
//! and asks [`crate::article::yaml::resolve`] how YAML 1.1 would type each plain scalar.

use serde_yaml::{Mapping, Value as Yaml};

use super::keys::holds_text;
use crate::article::yaml::resolve;

/// Where a scalar sits in the frontmatter, as far as a line scanner can tell.
#[derive(Clone, Copy)]
enum Place<'a> {
    /// `key: value` at the top level.
    Top(&'a str),
    /// `key: value` inside the top-level mapping `.0`.
    Child(&'a str, &'a str),
    /// `- value` (or a flow item) in the top-level sequence `.0`.
    Item(&'a str),
}

impl Place<'_> {
    /// Whether the contract wants a string here.
    fn wants_string(self) -> bool {
        match self {
            Place::Top(key) => holds_text(key),
            Place::Child(parent, key) => {
                matches!(parent, "source" | "coverImage") || (parent, key) == ("ai", "expandedAt")
            }
            Place::Item(parent) => parent == "tags",
        }
    }

    /// Whether the typed frontmatter holds the string `text` here, so the scanner's reading of
    /// the line agrees with the YAML parser's.
    fn holds(self, fm: &Mapping, text: &str) -> bool {
        let is_text = |v: &Yaml| v.as_str() == Some(text);
        match self {
            Place::Top(key) => fm.get(key).is_some_and(is_text),
            Place::Child(parent, key) => {
                fm.get(parent).and_then(|p| p.get(key)).is_some_and(is_text)
            }
            Place::Item(parent) => fm
                .get(parent)
                .and_then(Yaml::as_sequence)
                .is_some_and(|items| items.iter().any(is_text)),
        }
    }

    fn name(self) -> String {
        match self {
            Place::Top(key) => key.to_owned(),
            Place::Child(parent, key) => format!("{parent}.{key}"),
            Place::Item(parent) => format!("an item of {parent}"),
        }
    }
}

/// Reports string values written as plain scalars that YAML 1.1 readers type otherwise.
/// serde_yaml (YAML 1.2) already typed the frontmatter; this scans its lines for the raw
/// text, because only the text shows whether a scalar was quoted.
pub(super) fn check_yaml11(yaml: &str, fm: &Mapping, bad: &mut Vec<String>) {
    for (place, raw) in raw_scalars(yaml) {
        let Some(plain) = plain_scalar(raw) else {
            continue;
        };
        if place.wants_string() && place.holds(fm, plain) && resolve::non_string(plain) {
            bad.push(format!(
                "{} would be read as a non-string by YAML 1.1 readers: {plain}",
                place.name()
            ));
        }
    }
}

/// Every `key: value` and `- value` of a block-style frontmatter, with the raw value text (one
/// level of flow `[…]` / `{…}` is looked into). Lines of block scalars may show up as well;
/// `Place::holds` filters out whatever the parser read differently.
fn raw_scalars(yaml: &str) -> Vec<(Place<'_>, &str)> {
    let mut found = Vec::new();
    let mut base_indent = None;
    let mut parent = "";
    for line in yaml.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let content = line.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        let base = *base_indent.get_or_insert(indent);
        if let Some(item) = content
            .strip_prefix('-')
            .filter(|rest| rest.is_empty() || rest.starts_with(' '))
        {
            push_value(&mut found, Place::Item(parent), item.trim());
        } else if let Some((key, value)) = split_key(content) {
            if indent <= base {
                parent = key;
                push_value(&mut found, Place::Top(key), value);
            } else {
                push_value(&mut found, Place::Child(parent, key), value);
            }
        } else if indent <= base {
            parent = "";
        }
    }
    found
}

/// Records a value, or the items of a one-line flow sequence or mapping.
fn push_value<'a>(found: &mut Vec<(Place<'a>, &'a str)>, place: Place<'a>, value: &'a str) {
    let value = strip_anchor(value);
    let flow = strip_comment(value);
    if let Some(items) = flow.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        let Place::Top(parent) = place else {
            return;
        };
        for item in split_flow(items) {
            found.push((Place::Item(parent), strip_anchor(item.trim())));
        }
    } else if let Some(entries) = flow.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
        let Place::Top(parent) = place else {
            return;
        };
        for (key, value) in split_flow(entries)
            .into_iter()
            .filter_map(|e| split_key(e.trim()))
        {
            found.push((Place::Child(parent, key), strip_anchor(value)));
        }
    } else {
        found.push((place, value));
    }
}

/// `key: rest` of one line, the key unquoted; `None` when the line is no mapping entry.
fn split_key(content: &str) -> Option<(&str, &str)> {
    let (key, rest) = match content.chars().next()? {
        quote @ ('"' | '\'') => {
            let close = content[1..].find(quote)? + 1;
            (&content[1..close], content[close + 1..].trim_start())
        }
        '?' | '[' | '{' | '-' | '#' => return None,
        _ => {
            let colon = content
                .match_indices(':')
                .map(|(i, _)| i)
                .find(|&i| matches!(content[i + 1..].chars().next(), None | Some(' ' | '\t')))?;
            (content[..colon].trim_end(), &content[colon..])
        }
    };
    let value = rest.strip_prefix(':')?;
    if !(value.is_empty() || value.starts_with([' ', '\t'])) {
        return None;
    }
    Some((key, value.trim()))
}

/// Drops a leading `&anchor`.
fn strip_anchor(value: &str) -> &str {
    match value.strip_prefix('&') {
        Some(rest) => rest
            .find([' ', '\t'])
            .map_or("", |space| rest[space..].trim_start()),
        None => value,
    }
}

/// Drops a trailing ` # comment` that is outside quotes.
fn strip_comment(value: &str) -> &str {
    let mut quote = None;
    let mut previous = ' ';
    for (i, c) in value.char_indices() {
        match (quote, c) {
            (None, '#') if previous == ' ' || previous == '\t' => return value[..i].trim_end(),
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            _ => {}
        }
        previous = c;
    }
    value
}

/// The items of a flow collection's inside, split at top-level commas outside quotes.
fn split_flow(inside: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut quote, mut start) = (0usize, None, 0);
    for (i, c) in inside.char_indices() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            (None, ',') if depth == 0 => {
                items.push(&inside[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inside[start..]);
    items
}

/// The text of a plain (unquoted, untagged, non-block) scalar, its comment dropped.
fn plain_scalar(raw: &str) -> Option<&str> {
    let first = raw.chars().next()?;
    if matches!(first, '\'' | '"' | '|' | '>' | '!' | '*' | '[' | '{') {
        return None;
    }
    let end = [" #", "\t#"]
        .into_iter()
        .filter_map(|comment| raw.find(comment))
        .min()
        .unwrap_or(raw.len());
    Some(raw[..end].trim_end()).filter(|text| !text.is_empty())
}
