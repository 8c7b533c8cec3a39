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

use serde_json::Value as Json;
use serde_yaml::{Mapping, Value as Yaml};

/// Frontmatter keys in the contract's order.
const KEYS: [&str; 15] = [
    "title",
    "description",
    "publishedAt",
    "updatedAt",
    "lang",
    "externalId",
    "source",
    "category",
    "tags",
    "stickyWeight",
    "sentiment",
    "score",
    "draft",
    "coverImage",
    "ai",
];

/// The one frontmatter key that may be left out.
const OPTIONAL_KEY: &str = "coverImage";

const SENTIMENTS: [&str; 3] = ["POSITIVE", "NEGATIVE", "NEUTRAL"];

/// UTF-8 read as Windows-1252 (`â€¦` for `…`, `Ã©` for `é`, …) and the replacement character.
const MOJIBAKE: [&str; 7] = ["â€", "Ã©", "Ã¨", "Ã¼", "Ã¶", "Â ", "\u{fffd}"];

/// The fixed English headings of the first, third and fourth body sections.
const OVERVIEW: &str = "Overview";
const FROM_AUTHOR: &str = "From author";
const IMPACT: &str = "Impact on the crypto market";

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
        .filter(|k| *k != OPTIONAL_KEY && !keys.iter().any(|key| key == k))
        .collect();
    missing.sort_unstable();
    if !missing.is_empty() {
        bad.push(format!("frontmatter lacks {}", py_list(&missing)));
    }
    let positions: Vec<usize> = keys
        .iter()
        .filter_map(|key| KEYS.iter().position(|k| k == key))
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
// YAML 1.1 readings of plain scalars

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
        const TOP: [&str; 8] = [
            "title",
            "description",
            "publishedAt",
            "updatedAt",
            "lang",
            "externalId",
            "category",
            "sentiment",
        ];
        match self {
            Place::Top(key) => TOP.contains(&key),
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
fn check_yaml11(yaml: &str, fm: &Mapping, bad: &mut Vec<String>) {
    for (place, raw) in raw_scalars(yaml) {
        let Some(plain) = plain_scalar(raw) else {
            continue;
        };
        if place.wants_string() && place.holds(fm, plain) && yaml11_non_string(plain) {
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

/// Whether a YAML 1.1 reader resolves this plain scalar to anything but a string: PyYAML's
/// implicit resolvers, plus `y`/`n`, any-case booleans and `0o` octal to be safe.
fn yaml11_non_string(text: &str) -> bool {
    const WORDS: [&str; 12] = [
        "yes", "no", "on", "off", "y", "n", "true", "false", "null", "~", "=", "<<",
    ];
    let bytes = text.as_bytes();
    WORDS.iter().any(|w| text.eq_ignore_ascii_case(w))
        || is_yaml11_int(bytes)
        || is_yaml11_float(bytes)
        || is_yaml11_timestamp(bytes)
}

/// A cursor over ASCII bytes, enough to hand-write the YAML 1.1 resolver patterns (each of
/// which can be matched greedily, without backtracking).
struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Scan { bytes, at: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Takes one byte if it passes `test`.
    fn take(&mut self, test: impl Fn(u8) -> bool) -> bool {
        let taken = self.peek().is_some_and(test);
        self.at += usize::from(taken);
        taken
    }

    fn take_byte(&mut self, want: u8) -> bool {
        self.take(|b| b == want)
    }

    fn take_str(&mut self, want: &[u8]) -> bool {
        let taken = self.bytes[self.at..].starts_with(want);
        if taken {
            self.at += want.len();
        }
        taken
    }

    /// Takes bytes while they pass `test`; how many.
    fn take_while(&mut self, test: impl Fn(u8) -> bool) -> usize {
        let count = self.bytes[self.at..]
            .iter()
            .take_while(|b| test(**b))
            .count();
        self.at += count;
        count
    }

    /// Takes `min` to `max` ASCII digits.
    fn take_digits(&mut self, min: usize, max: usize) -> bool {
        let count = self.bytes[self.at..]
            .iter()
            .take(max)
            .take_while(|b| b.is_ascii_digit())
            .count();
        self.at += count;
        count >= min
    }

    fn take_sign(&mut self) {
        self.take(|b| b == b'+' || b == b'-');
    }

    /// `(?::[0-5]?[0-9])+`, the base-60 tail of `1:30` or `190:20:30.15`.
    fn take_base60(&mut self) -> bool {
        let mut groups = 0;
        while self.take_byte(b':') {
            let Some(first) = self.peek().filter(u8::is_ascii_digit) else {
                return false;
            };
            self.at += 1;
            if first <= b'5' {
                self.take(|b| b.is_ascii_digit());
            }
            groups += 1;
        }
        groups > 0
    }

    /// `(?:[eE][-+][0-9]+)?`
    fn take_exponent(&mut self) -> bool {
        !self.take(|b| b == b'e' || b == b'E')
            || (self.take(|b| b == b'+' || b == b'-') && self.take_digits(1, usize::MAX))
    }

    fn done(&self) -> bool {
        self.at == self.bytes.len()
    }
}

fn digit_or_underscore(b: u8) -> bool {
    b.is_ascii_digit() || b == b'_'
}

/// PyYAML's int: `0b1010`, `0o17` (1.2), `017`, `0x1F`, `1_000`, `1:30`.
fn is_yaml11_int(bytes: &[u8]) -> bool {
    let prefixed = |prefix: &[u8], digit: fn(u8) -> bool| {
        let mut scan = Scan::new(bytes);
        scan.take_sign();
        scan.take_str(prefix) && scan.take_while(|b| digit(b) || b == b'_') > 0 && scan.done()
    };
    let decimal = || {
        let mut scan = Scan::new(bytes);
        scan.take_sign();
        if scan.take_byte(b'0') {
            return scan.done();
        }
        scan.take(|b| (b'1'..=b'9').contains(&b)) && {
            scan.take_while(digit_or_underscore);
            scan.done() || (scan.take_base60() && scan.done())
        }
    };
    prefixed(b"0b", |b| b == b'0' || b == b'1')
        || prefixed(b"0o", |b| (b'0'..=b'7').contains(&b))
        || prefixed(b"0x", |b| b.is_ascii_hexdigit())
        || prefixed(b"0", |b| (b'0'..=b'7').contains(&b))
        || decimal()
}

/// PyYAML's float: `1.5`, `1.`, `.5` (not `._`), `6.8523015e+5`, `190:20:30.15`, `.inf`, `.NaN`.
fn is_yaml11_float(bytes: &[u8]) -> bool {
    let with_integer_part = || {
        let mut scan = Scan::new(bytes);
        scan.take_sign();
        if !scan.take(|b| b.is_ascii_digit()) {
            return false;
        }
        scan.take_while(digit_or_underscore);
        if scan.take_byte(b'.') {
            scan.take_while(digit_or_underscore);
            return scan.take_exponent() && scan.done();
        }
        scan.take_base60() && scan.take_byte(b'.') && {
            scan.take_while(digit_or_underscore);
            scan.done()
        }
    };
    let fraction_only = || {
        let mut scan = Scan::new(bytes);
        if !(scan.take_byte(b'.') && scan.take(|b| b.is_ascii_digit())) {
            return false;
        }
        scan.take_while(digit_or_underscore);
        scan.take_exponent() && scan.done()
    };
    let special = || {
        let mut scan = Scan::new(bytes);
        scan.take_sign();
        let infinity = [&b".inf"[..], b".Inf", b".INF"].contains(&&bytes[scan.at..]);
        infinity || [&b".nan"[..], b".NaN", b".NAN"].contains(&bytes)
    };
    with_integer_part() || fraction_only() || special()
}

/// PyYAML's timestamp: `2026-02-05`, `2026-2-5 17:45:43`, `2026-02-05T17:45:43.000Z`,
/// `2026-02-05 17:45:43 +01:00`.
fn is_yaml11_timestamp(bytes: &[u8]) -> bool {
    let date_only = || {
        let mut scan = Scan::new(bytes);
        scan.take_digits(4, 4)
            && scan.take_byte(b'-')
            && scan.take_digits(2, 2)
            && scan.take_byte(b'-')
            && scan.take_digits(2, 2)
            && scan.done()
    };
    let date_time = || {
        let mut scan = Scan::new(bytes);
        let date = scan.take_digits(4, 4)
            && scan.take_byte(b'-')
            && scan.take_digits(1, 2)
            && scan.take_byte(b'-')
            && scan.take_digits(1, 2);
        let separator = scan.take(|b| b == b'T' || b == b't') || scan.take_while(is_blank) > 0;
        let time = scan.take_digits(1, 2)
            && scan.take_byte(b':')
            && scan.take_digits(2, 2)
            && scan.take_byte(b':')
            && scan.take_digits(2, 2);
        if !(date && separator && time) {
            return false;
        }
        if scan.take_byte(b'.') {
            scan.take_while(|b| b.is_ascii_digit());
        }
        scan.take_while(is_blank);
        let zone = scan.done()
            || scan.take_byte(b'Z')
            || (scan.take(|b| b == b'+' || b == b'-')
                && scan.take_digits(1, 2)
                && (!scan.take_byte(b':') || scan.take_digits(2, 2)));
        zone && scan.done()
    };
    date_only() || date_time()
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

// ---------------------------------------------------------------------------------------------
// Body

fn check_body(fm: &Mapping, body: &str, bad: &mut Vec<String>) {
    let sections = sections(body);
    let names: Vec<&str> = sections.iter().map(|(name, _)| *name).collect();
    let lang = fm.get("lang").map_or_else(|| "en".to_owned(), text_or_repr);
    let english = lang.to_lowercase().starts_with("en");
    let [
        (_, overview),
        (story_heading, story),
        (_, author),
        (_, impact),
    ] = sections.as_slice()
    else {
        bad.push(sections_problem(&names, english));
        return;
    };
    let distinct = names
        .iter()
        .enumerate()
        .all(|(i, name)| !names[..i].contains(name));
    let fixed = !english || [names[0], names[2], names[3]] == [OVERVIEW, FROM_AUTHOR, IMPACT];
    if !distinct || !fixed {
        bad.push(sections_problem(&names, english));
        return;
    }
    check_overview(overview, bad);
    check_story(story_heading, story, bad);
    let count = paragraphs(author);
    if !(1..=2).contains(&count) {
        bad.push(format!(
            "From author has {count} paragraphs, expected 1 or 2"
        ));
    }
    check_impact(impact, bad);
    check_description(fm, overview, bad);
}

fn sections_problem(names: &[&str], english: bool) -> String {
    let translated = if english {
        ""
    } else {
        " (or the same four in the article's language)"
    };
    format!(
        "body sections are {}, expected Overview, <heading>, From author, Impact on the crypto market{translated}",
        py_list(names)
    )
}

/// Each `## ` heading of the body with its section's text, trimmed.
pub fn sections(body: &str) -> Vec<(&str, &str)> {
    let mut heads = Vec::new();
    let mut line_start = 0;
    for line in body.split('\n') {
        if let Some(name) = line.strip_prefix("## ").filter(|name| !name.is_empty()) {
            heads.push((line_start, name));
        }
        line_start += line.len() + 1;
    }
    heads
        .iter()
        .enumerate()
        .map(|(i, &(start, name))| {
            let end = heads.get(i + 1).map_or(body.len(), |next| next.0);
            let text = body[start..end]
                .split_once('\n')
                .map_or("", |(_, text)| text);
            (name, py_strip(text))
        })
        .collect()
}

fn check_overview(overview: &str, bad: &mut Vec<String>) {
    let count = paragraphs(overview);
    let length = overview.chars().count();
    if count != 1 {
        bad.push(format!(
            "Overview should be one paragraph of prose, found {count}"
        ));
    } else if length < 40 {
        bad.push(format!(
            "Overview should be one paragraph of prose, found one of {length} characters (40 at least)"
        ));
    }
}

fn check_story(heading: &str, story: &str, bad: &mut Vec<String>) {
    let count = paragraphs(story);
    if !(2..=4).contains(&count) {
        bad.push(format!(
            "the story section has {count} paragraphs, expected 2 to 4"
        ));
    }
    if matches!(py_strip(heading), "" | OVERVIEW | FROM_AUTHOR) {
        bad.push(format!("story heading is {}", quote(heading)));
    }
}

fn check_impact(impact: &str, bad: &mut Vec<String>) {
    let bullets: Vec<&str> = py_splitlines(impact)
        .into_iter()
        .filter(|line| !py_strip(line).is_empty())
        .collect();
    let well_formed = bullets
        .iter()
        .all(|line| line.starts_with("- ") && line.chars().count() > 3);
    if !(3..=6).contains(&bullets.len()) || !well_formed {
        let shown = &bullets[..bullets.len().min(8)];
        bad.push(format!(
            "Impact should be 3 to 6 '- ' bullets, found {}",
            py_list(shown)
        ));
    }
}

/// The description is the overview (whitespace runs made one space), or its opening cut
/// between words with `…` appended, 201 characters at most.
fn check_description(fm: &Mapping, overview: &str, bad: &mut Vec<String>) {
    let overview = collapse_whitespace(overview);
    let description = fm.get("description").map(text_or_repr).unwrap_or_default();
    let length = description.chars().count();
    if length > 201 {
        bad.push(format!(
            "description is {length} characters, more than 200 and the ellipsis"
        ));
    }
    if let Some(stem) = description.strip_suffix('…') {
        let stem = py_rstrip(stem);
        match overview.strip_prefix(stem) {
            None => bad.push("description is not the overview's opening".to_owned()),
            Some(rest) if !rest.is_empty() && !rest.starts_with([' ', '\t']) => {
                bad.push("description is cut inside a word".to_owned());
            }
            Some(_) => {}
        }
    } else if description.is_empty() {
        bad.push("description is empty".to_owned());
    } else if description != overview {
        bad.push("description is neither the overview nor its opening with '…'".to_owned());
    }
}

/// Paragraphs: runs of lines that are not blank (what `re.split(r"\n\s*\n")` counts).
fn paragraphs(text: &str) -> usize {
    let mut count = 0;
    let mut inside = false;
    for line in text.split('\n') {
        let blank = line.chars().all(py_space);
        if !blank && !inside {
            count += 1;
        }
        inside = !blank;
    }
    count
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

/// Python's `str()` of a JSON value, as the script compares `externalId` with.
fn py_str(json: Option<&Json>) -> String {
    match json {
        None | Some(Json::Null) => "None".to_owned(),
        Some(Json::Bool(true)) => "True".to_owned(),
        Some(Json::Bool(false)) => "False".to_owned(),
        Some(Json::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Python's truthiness of a JSON value.
fn py_truthy(json: &Json) -> bool {
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
fn non_empty_str(value: Option<&Yaml>) -> Option<&str> {
    value.and_then(Yaml::as_str).filter(|s| !s.is_empty())
}

/// A scalar as text (`null` as empty), anything else as its repr.
fn text_or_repr(value: &Yaml) -> String {
    match value {
        Yaml::Null => String::new(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        Yaml::String(s) => s.clone(),
        other => repr(Some(other)),
    }
}

/// Python's `repr()` of the value the script would see; a missing value is `None`.
fn repr(value: Option<&Yaml>) -> String {
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
fn quote(text: &str) -> String {
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
fn py_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s.as_ref())).collect();
    format!("[{}]", quoted.join(", "))
}

/// Python's `str.isspace()` for one character (Rust's whitespace plus the ASCII separators).
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_strip(text: &str) -> &str {
    text.trim_matches(py_space)
}

fn py_rstrip(text: &str) -> &str {
    text.trim_end_matches(py_space)
}

/// `re.sub(r"\s+", " ", text).strip()`
fn collapse_whitespace(text: &str) -> String {
    let words: Vec<&str> = text.split(py_space).filter(|w| !w.is_empty()).collect();
    words.join(" ")
}

/// Python's `str.splitlines()`.
fn py_splitlines(text: &str) -> Vec<&str> {
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
