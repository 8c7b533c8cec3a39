//! The article contract as a checker: `check_article` lists what one written article breaks in
//! `shared/CONTRACT.md` — frontmatter keys and their order, each value's type and form, strings
//! that YAML 1.1 readers (PyYAML, Ruby's Psych) would read as something else, mojibake, the four
//! body sections and their sizes, the description cut, and the fields carried over from the
//! headline. `rewriter audit` runs it over a folder of articles; the end-to-end tests use it as
//! their oracle.
//!
//! It mirrors `shared/tools/check_article.py` check for check and message for message, so the
//! tests, `audit` and the script agree on what a good article is. It is stricter in a few places
//! the script lets through, all listed on `check_article`. It never panics, whatever the text.
//!
//! This file holds the entry point and the checks of the frontmatter and of the fields carried
//! over from the headline; [`keys`] lists the frontmatter keys, [`body`] checks the sections
//! and the description, [`yaml11`] the strings written bare that YAML 1.1 would type otherwise,
//! and [`python`] gives the messages the script's Python would print.

mod body;
mod keys;
mod python;
mod yaml11;

use serde_json::Value as Json;
use serde_yaml::{Mapping, Value as Yaml};

use self::body::check_body;
pub use self::body::sections;
use self::keys::{KEYS, OPTIONAL_KEY};
use self::python::{non_empty_str, py_list, py_str, py_truthy, repr, text_or_repr};
use self::yaml11::check_yaml11;

const SENTIMENTS: [&str; 3] = ["POSITIVE", "NEGATIVE", "NEUTRAL"];

/// UTF-8 read as Windows-1252 (`â€¦` for `…`, `Ã©` for `é`, …) and the replacement character.
const MOJIBAKE: [&str; 7] = ["â€", "Ã©", "Ã¨", "Ã¼", "Ã¶", "Â ", "\u{fffd}"];

/// Problems with one article text, empty when it keeps the contract. `source` is the headline
/// JSON (the value of a job's "headline" key, or a bare headline) to compare carried-over
/// fields with; `version` the expected ai.version.
///
/// Deliberately stricter than `check_article.py`:
/// - frontmatter values are typed as YAML 1.2 (serde_yaml), so `draft: yes` is not a boolean;
///   on top of that, a plain scalar in a string field that YAML 1.1 would read as a boolean,
///   null, number or date is reported (`lang: no`, an unquoted timestamp);
/// - `title`, `description`, `lang` and every `coverImage` value must be strings;
/// - `stickyWeight` and `score` must be the integer 0 (not `0.0` or `false`), `ai.version` an
///   integer (not `true`), timestamps use ASCII digits only;
/// - an empty description, duplicate keys and unknown tags (`!foo`) are reported;
/// - an empty last section or a non-mapping headline `source` is a problem, not a crash.
#[must_use]
pub fn check_article(text: &str, source: Option<&Json>, version: Option<u64>) -> Vec<String> {
    let (yaml, body) = match split_frontmatter(text) {
        Ok(parts) => parts,
        Err(problem) => return vec![problem],
    };
    let fm = match parse_frontmatter(yaml) {
        Ok(fm) => fm,
        Err(problem) => return vec![problem],
    };
    let mut bad = Vec::new();
    check_keys(&fm, &mut bad);
    check_timestamps(&fm, &mut bad);
    check_identity(&fm, &mut bad);
    check_classification(&fm, &mut bad);
    check_flags(&fm, &mut bad);
    check_ai(&fm, version, &mut bad);
    check_strings(&fm, &mut bad);
    check_yaml11(yaml, &fm, &mut bad);
    check_mojibake(text, &mut bad);
    check_body(&fm, body, &mut bad);
    if let Some(headline) = source {
        check_carried_over(&fm, headline, &mut bad);
    }
    bad
}

// ---------------------------------------------------------------------------------------------
// Frontmatter

/// The frontmatter's YAML text and the body after its closing `---` line.
pub fn split_frontmatter(text: &str) -> Result<(&str, &str), String> {
    let Some(rest) = text.strip_prefix("---\n") else {
        return Err("does not start with a '---' frontmatter line".to_owned());
    };
    let Some(end) = rest.find("\n---\n") else {
        return Err("frontmatter is not closed by a '---' line".to_owned());
    };
    Ok((&rest[..end], &rest[end + "\n---\n".len()..]))
}

fn parse_frontmatter(yaml: &str) -> Result<Mapping, String> {
    let value: Yaml =
        serde_yaml::from_str(yaml).map_err(|e| format!("frontmatter is not YAML: {e}"))?;
    if let Some(tag) = find_tag(&value) {
        return Err(format!("frontmatter is not YAML: unknown tag {tag}"));
    }
    match value {
        Yaml::Mapping(fm) => Ok(fm),
        _ => Err("frontmatter is not a mapping".to_owned()),
    }
}

/// The first non-core tag (`!foo`) in a value: PyYAML's safe loader refuses those.
fn find_tag(value: &Yaml) -> Option<String> {
    match value {
        Yaml::Tagged(tagged) => Some(tagged.tag.to_string()),
        Yaml::Sequence(items) => items.iter().find_map(find_tag),
        Yaml::Mapping(map) => map
            .iter()
            .find_map(|(k, v)| find_tag(k).or_else(|| find_tag(v))),
        _ => None,
    }
}

fn check_keys(fm: &Mapping, bad: &mut Vec<String>) {
    let keys: Vec<String> = fm.keys().map(text_or_repr).collect();
    let mut missing: Vec<&str> = KEYS
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| *k != OPTIONAL_KEY && !keys.iter().any(|key| key == k))
        .collect();
    missing.sort_unstable();
    if !missing.is_empty() {
        bad.push(format!("frontmatter lacks {}", py_list(&missing)));
    }
    let positions: Vec<usize> = keys
        .iter()
        .filter_map(|key| KEYS.iter().position(|(k, _)| k == key))
        .collect();
    if !positions.is_sorted() {
        bad.push(format!("frontmatter keys out of order: {}", py_list(&keys)));
    }
}

fn check_timestamps(fm: &Mapping, bad: &mut Vec<String>) {
    for key in ["publishedAt", "updatedAt"] {
        if let Some(value) = fm.get(key)
            && !is_contract_timestamp(&text_or_repr(value))
        {
            bad.push(format!(
                "{key} is not YYYY-MM-DDTHH:MM:SS.sssZ: {}",
                repr(Some(value))
            ));
        }
    }
}

/// `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$` with ASCII digits.
fn is_contract_timestamp(text: &str) -> bool {
    const SHAPE: &[u8; 24] = b"0000-00-00T00:00:00.000Z";
    text.len() == SHAPE.len()
        && text.bytes().zip(SHAPE).all(|(c, want)| match want {
            b'0' => c.is_ascii_digit(),
            _ => c == *want,
        })
}

fn check_identity(fm: &Mapping, bad: &mut Vec<String>) {
    let external_id = fm.get("externalId");
    if !matches!(external_id, Some(Yaml::String(_))) {
        bad.push(format!("externalId is not a string: {}", repr(external_id)));
    }
    let source = fm.get("source");
    let complete = ["name", "key", "type"]
        .into_iter()
        .all(|k| non_empty_str(source.and_then(|s| s.get(k))).is_some());
    if !matches!(source, Some(Yaml::Mapping(_))) || !complete {
        bad.push(format!("source needs name, key and type: {}", repr(source)));
    }
}

fn check_classification(fm: &Mapping, bad: &mut Vec<String>) {
    let sentiment = fm.get("sentiment");
    if !sentiment
        .and_then(Yaml::as_str)
        .is_some_and(|s| SENTIMENTS.contains(&s))
    {
        bad.push(format!("sentiment is {}", repr(sentiment)));
    }
    let tags = fm.get("tags");
    let upper_case = |tag: &Yaml| non_empty_str(Some(tag)).is_some_and(|t| t.to_uppercase() == t);
    let tags_ok = match tags {
        Some(Yaml::Sequence(items)) => !items.is_empty() && items.iter().all(upper_case),
        _ => false,
    };
    if !tags_ok {
        bad.push(format!(
            "tags must be a non-empty list of upper-case strings: {}",
            repr(tags)
        ));
    }
    let category = fm.get("category");
    if non_empty_str(category).is_none() {
        bad.push(format!("category is {}", repr(category)));
    }
}

fn check_flags(fm: &Mapping, bad: &mut Vec<String>) {
    for key in ["stickyWeight", "score"] {
        let value = fm.get(key);
        if value.and_then(Yaml::as_i64) != Some(0) {
            bad.push(format!("{key} is {}, not 0", repr(value)));
        }
    }
    let draft = fm.get("draft");
    if !matches!(draft, Some(Yaml::Bool(_))) {
        bad.push(format!("draft is not a boolean: {}", repr(draft)));
    }
}

fn check_ai(fm: &Mapping, version: Option<u64>, bad: &mut Vec<String>) {
    let Some(Yaml::Mapping(ai)) = fm.get("ai") else {
        bad.push("ai is not a mapping".to_owned());
        return;
    };
    let rewritten = ai.get("rewritten");
    if rewritten != Some(&Yaml::Bool(true)) {
        bad.push(format!("ai.rewritten is {}", repr(rewritten)));
    }
    let written = ai.get("version");
    match (written.and_then(Yaml::as_u64).filter(|v| *v >= 1), version) {
        (None, _) => bad.push(format!("ai.version is {}", repr(written))),
        (Some(got), Some(want)) if got != want => {
            bad.push(format!("ai.version is {got}, expected {want}"));
        }
        _ => {}
    }
    let expanded = ai.get("expandedAt").map(text_or_repr);
    if expanded != fm.get("updatedAt").map(text_or_repr) {
        bad.push("ai.expandedAt differs from updatedAt".to_owned());
    }
    // An editor's approval (a published copy only): who and when, on a non-draft.
    if let Some(approved) = ai.get("approved") {
        let named = ["by", "at"]
            .into_iter()
            .all(|k| non_empty_str(approved.get(k)).is_some());
        if !matches!(approved, Yaml::Mapping(_)) || !named {
            bad.push(format!(
                "ai.approved is {}, not {{by, at}}",
                repr(Some(approved))
            ));
        } else if fm.get("draft") != Some(&Yaml::Bool(false)) {
            bad.push("ai.approved on an article that is still a draft".to_owned());
        } else if !ai
            .get("approved")
            .and_then(|a| a.get("at"))
            .is_some_and(|at| is_contract_timestamp(&text_or_repr(at)))
        {
            bad.push("ai.approved.at is not YYYY-MM-DDTHH:MM:SS.sssZ".to_owned());
        }
    }
}

/// String fields that no check above types: each must read back as a string.
fn check_strings(fm: &Mapping, bad: &mut Vec<String>) {
    for key in ["title", "description", "lang"] {
        if let Some(value) = fm.get(key).filter(|v| !v.is_string()) {
            bad.push(format!("{key} is not a string: {}", repr(Some(value))));
        }
    }
    match fm.get("coverImage") {
        None => {}
        Some(Yaml::Mapping(images)) => {
            for (size, url) in images.iter().filter(|(_, url)| !url.is_string()) {
                bad.push(format!(
                    "coverImage.{} is not a string: {}",
                    text_or_repr(size),
                    repr(Some(url))
                ));
            }
        }
        Some(other) => bad.push(format!(
            "coverImage is not a mapping: {}",
            repr(Some(other))
        )),
    }
}

fn check_mojibake(text: &str, bad: &mut Vec<String>) {
    for marker in MOJIBAKE.into_iter().filter(|m| text.contains(m)) {
        bad.push(format!("mojibake '{marker}' in the article"));
    }
}

// ---------------------------------------------------------------------------------------------
// Fields carried over from the headline

fn check_carried_over(fm: &Mapping, source: &Json, bad: &mut Vec<String>) {
    let headline = source
        .get("headline")
        .filter(|h| h.is_object())
        .unwrap_or(source);
    let title = fm.get("title");
    let their_title = headline.get("title").map(to_yaml);
    if title != their_title.as_ref() {
        bad.push(format!(
            "title {} differs from the headline's {}",
            repr(title),
            repr(their_title.as_ref())
        ));
    }
    let their_id = Yaml::String(py_str(headline.get("externalId")));
    if fm.get("externalId") != Some(&their_id) {
        bad.push("externalId differs from the headline's".to_owned());
    }
    if let Some(Yaml::Mapping(ours)) = fm.get("source") {
        let theirs = headline
            .get("source")
            .and_then(|s| s.get("name"))
            .map(to_yaml);
        if ours.get("name") != theirs.as_ref() {
            bad.push("source.name differs from the headline's".to_owned());
        }
    }
    let lang = fm.get("lang");
    let their_lang = headline
        .get("lang")
        .map_or_else(|| Yaml::String("en".to_owned()), to_yaml);
    if lang != Some(&their_lang) {
        bad.push(format!(
            "lang is {}, the headline's is {}",
            repr(lang),
            repr(Some(&their_lang))
        ));
    }
    for key in ["category", "coverImage"] {
        if let Some(theirs) = headline.get(key).filter(|v| py_truthy(v))
            && fm.get(key) != Some(&to_yaml(theirs))
        {
            bad.push(format!("{key} differs from the headline's"));
        }
    }
}

fn to_yaml(json: &Json) -> Yaml {
    serde_yaml::to_value(json).unwrap_or(Yaml::Null)
}

#[cfg(test)]
mod tests;
