//! The emitter's property, judged by both YAML versions: whatever the frontmatter holds reads
//! back as written by a YAML 1.2 reader (yaml_serde) *and* by a YAML 1.1 reader, whose plain
//! scalars [`resolve`] types. A careless quoting that only YAML 1.2 would accept shows that the
//! YAML 1.1 judge fails where the YAML 1.2 reading alone cannot.

use super::generated::{any_value, hostile_string};
use super::resolve::{self, Kind};
use super::*;
use serde_json::json;
use serde_yaml::Value as Yaml;

fn round_trip(value: Value) {
    let Value::Object(map) = value.clone() else {
        panic!("test values are objects")
    };
    let yaml = to_yaml(&map);
    let back: Value = serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert_eq!(back, value, "{yaml}");
    assert_eq!(yaml11_misreadings(&yaml), NONE, "{yaml}");
}

const NONE: [String; 0] = [];

// ---------------------------------------------------------------------------------------------
// The YAML 1.1 judge

/// Every plain scalar of `yaml` that a YAML 1.1 reader types differently from the YAML 1.2
/// reader (a string `no` read as a boolean, a float `1e-6` read as a string, …), or why the
/// text could not be judged. Both readers build the same tree (the versions differ only in how
/// plain scalars resolve), so the YAML 1.2 tree's scalars, in document order, pair with the
/// scalars a line scanner finds in the text.
fn yaml11_misreadings(yaml: &str) -> Vec<String> {
    let tree: Yaml = match serde_yaml::from_str(yaml) {
        Ok(tree) => tree,
        Err(e) => return vec![format!("not YAML: {e}")],
    };
    let mut read = Vec::new();
    tree_scalars(&tree, &mut read);
    let written = match text_scalars(yaml) {
        Ok(written) => written,
        Err(e) => return vec![e],
    };
    if read.len() != written.len() {
        return vec![format!(
            "the text has {} scalars, the reader {}",
            written.len(),
            read.len()
        )];
    }
    let mut misread = Vec::new();
    for (token, value) in written.iter().zip(read) {
        let yaml12 = kind_of(value);
        if !token.plain {
            if yaml12 != Kind::Str {
                misread.push(format!("{} does not pair with {value:?}", token.text));
            }
            continue;
        }
        let yaml11 = resolve::kind(token.text);
        if yaml12 == Kind::Str && value.as_str() != Some(token.text) {
            misread.push(format!("bare {} does not pair with {value:?}", token.text));
        } else if yaml11 != yaml12 {
            misread.push(format!(
                "bare {} is {yaml11:?} to YAML 1.1, {yaml12:?} to YAML 1.2",
                token.text
            ));
        }
    }
    misread
}

/// What the YAML 1.2 reader made of a scalar (`Special` for anything else).
fn kind_of(value: &Yaml) -> Kind {
    match value {
        Yaml::Null => Kind::Null,
        Yaml::Bool(_) => Kind::Bool,
        Yaml::Number(n) if n.is_f64() => Kind::Float,
        Yaml::Number(_) => Kind::Int,
        Yaml::String(_) => Kind::Str,
        _ => Kind::Special,
    }
}

/// The scalars of a tree in document order: each key, then its value.
fn tree_scalars<'a>(value: &'a Yaml, out: &mut Vec<&'a Yaml>) {
    match value {
        Yaml::Mapping(map) => {
            for (key, value) in map {
                tree_scalars(key, out);
                tree_scalars(value, out);
            }
        }
        Yaml::Sequence(items) => items.iter().for_each(|item| tree_scalars(item, out)),
        scalar => out.push(scalar),
    }
}

/// One scalar as written: its text (quotes included when quoted).
#[derive(Debug)]
struct Token<'a> {
    text: &'a str,
    plain: bool,
}

/// The scalars of a block-style document of one-line scalars (what the emitter writes), in
/// document order: `- ` items, `key: value` entries and flow collections, at any depth.
fn text_scalars(yaml: &str) -> Result<Vec<Token<'_>>, String> {
    let mut found = Vec::new();
    for line in yaml.split('\n') {
        let mut rest = line.trim_start_matches(' ');
        while let Some(item) = rest
            .strip_prefix('-')
            .filter(|r| r.is_empty() || r.starts_with(' '))
        {
            rest = item.trim_start_matches(' ');
        }
        if rest.is_empty() {
            continue;
        }
        let after_node = node(rest, false, &mut found)?;
        let Some(value) = after_node.strip_prefix(':') else {
            if after_node.is_empty() {
                continue;
            }
            return Err(format!("cannot scan {line:?}"));
        };
        let value = value.trim_start_matches(' ');
        if !value.is_empty() && !node(value, false, &mut found)?.is_empty() {
            return Err(format!("cannot scan {line:?}"));
        }
    }
    Ok(found)
}

/// Scans one node at the start of `text` (a quoted or plain scalar, or a flow collection) and
/// returns the text after it, leading spaces dropped.
fn node<'a>(text: &'a str, in_flow: bool, found: &mut Vec<Token<'a>>) -> Result<&'a str, String> {
    let end = match text.chars().next() {
        Some('[' | '{') => return flow(text, found),
        Some('\'') => single_quoted_end(text),
        Some('"') => double_quoted_end(text),
        _ => {
            let end = plain_end(text, in_flow);
            found.push(Token {
                text: text[..end].trim_end_matches(' '),
                plain: true,
            });
            return Ok(&text[end..]);
        }
    }
    .ok_or_else(|| format!("unclosed quote in {text:?}"))?;
    found.push(Token {
        text: &text[..end],
        plain: false,
    });
    Ok(text[end..].trim_start_matches(' '))
}

/// Where a single-quoted scalar ends, after its closing quote (`''` inside is a quote).
fn single_quoted_end(text: &str) -> Option<usize> {
    let mut from = 1;
    loop {
        let at = from + text[from..].find('\'')?;
        if text[at + 1..].starts_with('\'') {
            from = at + 2;
        } else {
            return Some(at + 1);
        }
    }
}

/// Where a double-quoted scalar ends, after its closing quote (`\"` inside is a quote).
fn double_quoted_end(text: &str) -> Option<usize> {
    let mut escaped = false;
    text.char_indices().skip(1).find_map(|(i, c)| {
        let close = c == '"' && !escaped;
        escaped = c == '\\' && !escaped;
        close.then_some(i + 1)
    })
}

/// Where a plain scalar ends: at `: `, a final `:`, ` #`, the line's end, or in a flow
/// collection also at `,`, `[`, `]`, `{`, `}`.
fn plain_end(text: &str, in_flow: bool) -> usize {
    let bytes = text.as_bytes();
    (0..bytes.len())
        .find(|&i| {
            let next = bytes.get(i + 1).copied();
            match bytes[i] {
                b':' => {
                    matches!(next, None | Some(b' '))
                        || (in_flow && matches!(next, Some(b',' | b']' | b'}')))
                }
                b' ' => next == Some(b'#'),
                b',' | b'[' | b']' | b'{' | b'}' => in_flow,
                _ => false,
            }
        })
        .unwrap_or(bytes.len())
}

/// Scans a flow collection at the start of `text`; the text after it.
fn flow<'a>(text: &'a str, found: &mut Vec<Token<'a>>) -> Result<&'a str, String> {
    let close = if text.starts_with('[') { ']' } else { '}' };
    let mut rest = text[1..].trim_start_matches(' ');
    loop {
        if let Some(after) = rest.strip_prefix(close) {
            return Ok(after.trim_start_matches(' '));
        }
        rest = node(rest, true, found)?.trim_start_matches(' ');
        if let Some(value) = rest.strip_prefix(':') {
            rest = node(value.trim_start_matches(' '), true, found)?.trim_start_matches(' ');
        }
        if let Some(after) = rest.strip_prefix(',') {
            rest = after.trim_start_matches(' ');
        } else if !rest.starts_with(close) {
            return Err(format!("cannot scan the flow collection {text:?}"));
        }
    }
}

/// The emitter's quoting as it would be if only YAML 1.2 mattered: a word, number-like or
/// date-like string goes bare whenever a YAML 1.2 reader reads it back as the same string.
fn yaml12_only(s: &str) -> String {
    let simple = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '~'));
    let reads_back = serde_yaml::from_str::<Yaml>(s).ok() == Some(Yaml::String(s.to_owned()));
    if simple && reads_back {
        s.to_owned()
    } else {
        scalar(s)
    }
}

/// The property's cases: seeded, so a failure names its case and happens again on the next run.
fn generated_cases() -> impl Iterator<Item = (usize, serde_json::Map<String, Value>)> {
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    (0..20_000).map(move |case| {
        let mut map = serde_json::Map::new();
        map.insert(hostile_string(&mut rng), any_value(&mut rng, 3));
        (case, map)
    })
}

// ---------------------------------------------------------------------------------------------
// The emitter's property

#[test]
fn hostile_strings_read_back_unchanged() {
    for s in [
        "no",
        "No",
        "on",
        "OFF",
        "y",
        "~",
        "null",
        "true",
        "",
        " ",
        "-",
        "- a",
        "? x",
        ": x",
        "a: b",
        "a #b",
        "#x",
        "---",
        "...",
        "'",
        "\"",
        "''",
        "a'b",
        "a\"b",
        "0x1F",
        "1e3",
        "012",
        "1_000",
        "+1",
        ".inf",
        "2026-02-05",
        "2026-02-05T17:45:43.000Z",
        "12:30:00",
        "@x",
        "`x",
        "!tag",
        "&a",
        "*a",
        "%x",
        "|",
        ">",
        "[a]",
        "{a}",
        "a,b",
        "line\nbreak",
        "tab\there",
        "cr\rx",
        "\u{1b}[31m",
        "\u{feff}bom",
        "🧊 emoji",
        "中文标题：比特币",
        "Börse Stuttgart",
        "trailing ",
        " leading",
        "a\u{2028}b",
        "back\\slash",
        "é",
    ] {
        round_trip(json!({ "k": s }));
    }
}

#[test]
fn any_generated_value_reads_back_unchanged() {
    for (case, map) in generated_cases() {
        let yaml = to_yaml(&map);
        let back: Value =
            serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("case {case}: {e}\n{yaml}"));
        assert_eq!(back, Value::Object(map), "case {case}:\n{yaml}");
        assert_eq!(yaml11_misreadings(&yaml), NONE, "case {case}:\n{yaml}");
    }
}

#[test]
fn nested_maps_lists_and_scalars_keep_their_types() {
    round_trip(json!({
        "title": "T",
        "tags": ["BTC", "NO", "ON"],
        "empty": [],
        "source": {"name": "Bloomberg (Crypto)", "key": "bloomberg_crypto_", "type": "RSS"},
        "stickyWeight": 0,
        "draft": false,
        "ai": {"rewritten": true, "version": 1, "flags": ["a: b"]},
        "list_of_maps": [{"a": 1, "b": "x"}],
    }));
}

#[test]
fn ambiguous_strings_are_quoted_and_prose_is_not() {
    assert_eq!(scalar("no"), "'no'");
    assert_eq!(
        scalar("2026-02-05T17:45:43.000Z"),
        "'2026-02-05T17:45:43.000Z'"
    );
    assert_eq!(scalar("57763812"), "'57763812'");
    assert_eq!(scalar("Bloomberg (Crypto)"), "Bloomberg (Crypto)");
    assert_eq!(scalar("it's"), "'it''s'");
    assert_eq!(scalar("a\nb"), "\"a\\nb\"");
}

// ---------------------------------------------------------------------------------------------
// The judge can fail

/// Strings YAML 1.2 reads as strings and YAML 1.1 as something else, each with what it is to
/// YAML 1.1. PyYAML agrees on all but `y` and `n`, booleans in the YAML 1.1 spec that it reads
/// as strings; the resolver follows the spec there, to be safe.
const YAML11_ONLY: [(&str, Kind); 13] = [
    ("no", Kind::Bool),
    ("On", Kind::Bool),
    ("OFF", Kind::Bool),
    ("yes", Kind::Bool),
    ("y", Kind::Bool),
    ("n", Kind::Bool),
    ("2026-02-05", Kind::Timestamp),
    ("2026-02-05T17:45:43.000Z", Kind::Timestamp),
    ("12:30:00", Kind::Int),
    ("1:30", Kind::Int),
    ("1_000", Kind::Int),
    ("190:20:30.15", Kind::Float),
    ("1_000.5", Kind::Float),
];

#[test]
fn strings_written_bare_that_yaml_1_1_types_otherwise_pass_yaml_1_2_but_not_the_judge() {
    for (s, yaml11) in YAML11_ONLY {
        assert_eq!(resolve::kind(s), yaml11, "{s}");
        let map = json!({ "k": s, "list": [s], "flow": [[s]] });
        let Value::Object(map) = map else {
            unreachable!()
        };
        let careless = to_yaml_with(&map, yaml12_only);
        assert!(careless.starts_with(&format!("k: {s}\n")), "{careless}");
        // What the YAML 1.2 reading alone says: fine.
        let back: Value = serde_yaml::from_str(&careless).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, Value::Object(map.clone()), "{careless}");
        // What a YAML 1.1 reader says: three strings misread.
        let misread = yaml11_misreadings(&careless);
        let want = format!("bare {s} is {yaml11:?} to YAML 1.1, Str to YAML 1.2");
        assert_eq!(misread, [want.as_str(); 3], "{careless}");
        // The emitter quotes them.
        assert_eq!(yaml11_misreadings(&to_yaml(&map)), NONE);
    }
}

#[test]
fn the_generated_property_fails_for_quoting_that_ignores_yaml_1_1() {
    let mut caught = 0;
    for (_, map) in generated_cases() {
        let careless = to_yaml_with(&map, yaml12_only);
        let yaml12_fine =
            serde_yaml::from_str::<Value>(&careless).ok() == Some(Value::Object(map.clone()));
        if yaml12_fine && !yaml11_misreadings(&careless).is_empty() {
            caught += 1;
        }
    }
    assert!(caught > 100, "the judge caught only {caught} cases");
}

#[test]
fn the_judge_reads_numbers_booleans_and_nulls_alike_in_both_versions() {
    // Non-strings the emitter writes bare: each is the same kind to both readers.
    round_trip(
        json!({"i": -5, "u": u64::MAX, "f": 0.000_000_1, "big": 1e300, "b": true, "z": null}),
    );
    // A float YAML 1.2 reads and YAML 1.1 does not: an exponent without a sign.
    assert_eq!(
        yaml11_misreadings("f: 1e3\n"),
        ["bare 1e3 is Str to YAML 1.1, Float to YAML 1.2"]
    );
    // Quoting is seen through flow collections and mappings inside sequences.
    assert_eq!(
        yaml11_misreadings("'k': [a, 'no', {x: on}]\nl:\n- m: 'y'\n  p: y\n"),
        [
            "bare on is Bool to YAML 1.1, Str to YAML 1.2",
            "bare y is Bool to YAML 1.1, Str to YAML 1.2",
        ]
    );
    // Text the scanner cannot follow is a failure, never a pass.
    assert!(!yaml11_misreadings("k: |\n  no\n").is_empty());
}
