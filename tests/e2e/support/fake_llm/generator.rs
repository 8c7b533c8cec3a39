//! Writing JSON that validates against a request's schema: objects, arrays, numbers, enums,
//! `$ref`, `anyOf`/`oneOf`/`allOf`, and strings in a style picked from the property's name.
//! Which sentences are used is derived from a seed (same request, same answer).

use serde_json::{Map, Value, json};

use super::mini_regex::MiniRegex;
use super::pools::{HEADINGS, Pool, TAGS};

/// How a string is written, chosen from the nearest property name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Overview,
    Heading,
    Paragraph,
    Commentary,
    Bullet,
    Tag,
    Plain,
}

impl Style {
    fn of(name: &str) -> Style {
        match name.to_ascii_lowercase().as_str() {
            "overview" | "summary" => Style::Overview,
            "heading" | "title" | "headline" | "subheading" => Style::Heading,
            "paragraphs" | "paragraph" => Style::Paragraph,
            "commentary" => Style::Commentary,
            "bullets" | "bullet" | "key_points" | "takeaways" => Style::Bullet,
            "tags" | "tag" | "keywords" => Style::Tag,
            _ => Style::Plain,
        }
    }

    fn default_items(self) -> usize {
        match self {
            Style::Paragraph | Style::Bullet | Style::Tag => 3,
            _ => 1,
        }
    }
}

const MAX_DEPTH: usize = 32;

pub(super) struct Generator<'a> {
    root: &'a Value,
    seed: u64,
    sentiment: Option<String>,
    drawn: [usize; Pool::ALL.len()],
    headings: usize,
    depth: usize,
}

impl<'a> Generator<'a> {
    pub(super) fn new(root: &'a Value, seed: u64, sentiment: Option<String>) -> Generator<'a> {
        Generator {
            root,
            seed,
            sentiment,
            drawn: [0; Pool::ALL.len()],
            headings: 0,
            depth: 0,
        }
    }

    /// The next sentence of `pool` for this answer. Sentence `m` of a pool
    /// is opener `(a + s) % o`, subject `s`, predicate `(s + b) % n` where
    /// `m = a·n² + b·n + s`: distinct for the first `o·n²` draws, and
    /// consecutive sentences differ in every part.
    fn sentence(&mut self, pool: Pool) -> String {
        let (openers, subjects, predicates) = pool.parts();
        let n = subjects.len().min(predicates.len());
        let o = openers.len();
        let total = o * n * n;
        let offset = splitmix(self.seed ^ (pool.index() as u64 + 1)) % total as u64;
        let drawn = &mut self.drawn[pool.index()];
        let m = (offset as usize + *drawn) % total;
        *drawn += 1;
        let (s, b, a) = (m % n, (m / n) % n, m / (n * n));
        let opener = openers[(a + s) % o];
        let subject = subjects[s];
        let predicate = predicates[(s + b) % n];
        if opener.is_empty() {
            format!("{subject} {predicate}.")
        } else {
            format!(
                "{opener}{}{} {predicate}.",
                subject[..1].to_ascii_lowercase(),
                &subject[1..]
            )
        }
    }

    pub(super) fn prose(&mut self, pool: Pool, sentences: usize) -> String {
        (0..sentences)
            .map(|_| self.sentence(pool))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn heading(&mut self) -> String {
        let offset = splitmix(self.seed ^ 0x4ead) as usize;
        let heading = HEADINGS[(offset.wrapping_add(self.headings)) % HEADINGS.len()];
        self.headings += 1;
        heading.to_owned()
    }

    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        let pointer = reference.strip_prefix('#')?;
        if pointer.is_empty() {
            return Some(self.root);
        }
        self.root.pointer(pointer)
    }

    pub(super) fn value(&mut self, schema: &Value, name: &str, index: usize) -> Value {
        if self.depth >= MAX_DEPTH {
            return Value::Null;
        }
        self.depth += 1;
        let value = self.value_inner(schema, name, index);
        self.depth -= 1;
        value
    }

    fn value_inner(&mut self, schema: &Value, name: &str, index: usize) -> Value {
        let Some(obj) = schema.as_object() else {
            // `true` or a missing schema: anything goes, write prose.
            return Value::String(self.string(&Map::new(), name, index));
        };
        if let Some(target) = obj
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| self.resolve(r))
        {
            return self.value(target, name, index);
        }
        if let Some(value) = obj.get("const") {
            return value.clone();
        }
        if let Some(values) = obj.get("enum").and_then(Value::as_array)
            && !values.is_empty()
        {
            return self.pick_enum(values, name, index);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(branches) = obj.get(key).and_then(Value::as_array)
                && let Some(first) = branches
                    .iter()
                    .find(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                    .or_else(|| branches.first())
            {
                return self.value(first, name, index);
            }
        }
        if let Some(parts) = obj.get("allOf").and_then(Value::as_array) {
            let merged = self.merge_all_of(obj, parts);
            return self.value(&merged, name, index);
        }
        let kind = match obj.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Array(types)) => types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("null"),
            _ if obj.contains_key("properties") => "object",
            _ if obj.contains_key("items") || obj.contains_key("prefixItems") => "array",
            _ => "string",
        };
        match kind {
            "object" => self.object(obj),
            "array" => self.array(obj, name),
            "integer" => self.integer(obj),
            "number" => self.number(obj),
            "boolean" => Value::Bool(false),
            "null" => Value::Null,
            _ => Value::String(self.string(obj, name, index)),
        }
    }

    fn merge_all_of(&self, obj: &Map<String, Value>, parts: &[Value]) -> Value {
        let mut merged = obj.clone();
        merged.remove("allOf");
        let mut properties = Map::new();
        let mut required = Vec::new();
        let mut absorb = |m: &Map<String, Value>, merged: &mut Map<String, Value>| {
            for (k, v) in m {
                match k.as_str() {
                    "properties" => {
                        if let Some(p) = v.as_object() {
                            properties.extend(p.clone());
                        }
                    }
                    "required" => {
                        if let Some(r) = v.as_array() {
                            required.extend(r.iter().cloned());
                        }
                    }
                    "allOf" => {}
                    _ => {
                        merged.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
        };
        let own = merged.clone();
        absorb(&own, &mut merged);
        for part in parts {
            let part = match part.get("$ref").and_then(Value::as_str) {
                Some(r) => self.resolve(r).unwrap_or(part),
                None => part,
            };
            if let Some(m) = part.as_object() {
                absorb(m, &mut merged);
            }
        }
        if !properties.is_empty() {
            merged.insert("properties".to_owned(), Value::Object(properties));
            merged
                .entry("type".to_owned())
                .or_insert_with(|| Value::String("object".to_owned()));
        }
        if !required.is_empty() {
            merged.insert("required".to_owned(), Value::Array(required));
        }
        Value::Object(merged)
    }

    fn pick_enum(&self, values: &[Value], name: &str, index: usize) -> Value {
        if name == "sentiment"
            && let Some(wanted) = &self.sentiment
            && let Some(found) = values.iter().find(|v| v.as_str() == Some(wanted))
        {
            return found.clone();
        }
        values[index % values.len()].clone()
    }

    fn object(&mut self, obj: &Map<String, Value>) -> Value {
        let mut out = Map::new();
        if let Some(properties) = obj.get("properties").and_then(Value::as_object) {
            for (key, schema) in properties {
                let value = self.value(schema, key, 0);
                out.insert(key.clone(), value);
            }
        }
        let closed = obj.get("additionalProperties") == Some(&Value::Bool(false));
        if !closed && let Some(required) = obj.get("required").and_then(Value::as_array) {
            for key in required.iter().filter_map(Value::as_str) {
                if !out.contains_key(key) {
                    let value = Value::String(self.string(&Map::new(), key, 0));
                    out.insert(key.to_owned(), value);
                }
            }
        }
        Value::Object(out)
    }

    fn array(&mut self, obj: &Map<String, Value>, name: &str) -> Value {
        let bound = |key: &str| {
            obj.get(key)
                .and_then(Value::as_u64)
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        };
        let min = bound("minItems").unwrap_or(0);
        let mut count = Style::of(name).default_items().max(min);
        if let Some(max) = bound("maxItems") {
            count = count.min(max);
        }
        let prefix = obj
            .get("prefixItems")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let any = Value::Bool(true);
        let items = (0..count)
            .map(|i| {
                let schema = match (prefix.get(i), obj.get("items")) {
                    (Some(schema), _) => schema,
                    (None, Some(Value::Array(tuple))) => {
                        tuple.get(i).or_else(|| tuple.last()).unwrap_or(&any)
                    }
                    (None, Some(schema)) => schema,
                    (None, None) => &any,
                };
                self.value(schema, name, i)
            })
            .collect();
        Value::Array(items)
    }

    fn integer(&self, obj: &Map<String, Value>) -> Value {
        let lower = obj.get("minimum").and_then(Value::as_i64).or_else(|| {
            obj.get("exclusiveMinimum")
                .and_then(Value::as_i64)
                .map(|n| n + 1)
        });
        let upper = obj.get("maximum").and_then(Value::as_i64).or_else(|| {
            obj.get("exclusiveMaximum")
                .and_then(Value::as_i64)
                .map(|n| n - 1)
        });
        let n = match (lower, upper) {
            (Some(lo), Some(hi)) => lo + (hi - lo) / 2,
            (Some(lo), None) => lo.max(1),
            (None, Some(hi)) => hi.min(1),
            (None, None) => 1,
        };
        json!(n)
    }

    fn number(&self, obj: &Map<String, Value>) -> Value {
        let get = |key: &str| obj.get(key).and_then(Value::as_f64);
        let lower = get("minimum").or_else(|| get("exclusiveMinimum"));
        let upper = get("maximum").or_else(|| get("exclusiveMaximum"));
        let n = match (lower, upper) {
            (Some(lo), Some(hi)) => lo + (hi - lo) / 2.0,
            (Some(lo), None) => lo + 1.0,
            (None, Some(hi)) => hi - 1.0,
            (None, None) => 0.5,
        };
        json!(n)
    }

    fn string(&mut self, obj: &Map<String, Value>, name: &str, index: usize) -> String {
        match obj.get("format").and_then(Value::as_str) {
            Some("date-time") => return "2025-01-01T00:00:00Z".to_owned(),
            Some("date") => return "2025-01-01".to_owned(),
            Some("time") => return "00:00:00Z".to_owned(),
            Some("uri" | "url") => return "https://example.com/article".to_owned(),
            Some("email") => return "desk@example.com".to_owned(),
            Some("uuid") => return "00000000-0000-4000-8000-000000000000".to_owned(),
            _ => {}
        }
        let style = Style::of(name);
        let pattern = obj.get("pattern").and_then(Value::as_str);
        if style == Style::Tag {
            return tag(index, pattern);
        }
        let pool = match style {
            Style::Overview => Pool::Overview,
            Style::Paragraph => Pool::Paragraph,
            Style::Commentary => Pool::Commentary,
            Style::Bullet => Pool::Bullet,
            _ => Pool::Plain,
        };
        let mut s = match style {
            Style::Overview => self.prose(pool, 2),
            Style::Heading => self.heading(),
            Style::Paragraph | Style::Commentary => self.prose(pool, 3),
            _ => self.prose(pool, 1),
        };
        if let Some(pattern) = pattern {
            if let Some(regex) = MiniRegex::parse(pattern)
                && !regex.is_match(&s)
            {
                s = regex.generate();
            }
            return s;
        }
        let len = |key: &str| {
            obj.get(key)
                .and_then(Value::as_u64)
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        };
        if let Some(min) = len("minLength") {
            while s.chars().count() < min {
                s.push(' ');
                let more = self.sentence(pool);
                s.push_str(&more);
            }
        }
        if let Some(max) = len("maxLength") {
            s = shorten(&s, max);
        }
        s
    }
}

/// The `index`-th tag: an upper-case word, lower-cased or rebuilt from the
/// pattern when the pattern wants something else.
fn tag(index: usize, pattern: Option<&str>) -> String {
    let word = if index < TAGS.len() {
        TAGS[index].to_owned()
    } else {
        format!(
            "{}_{}",
            TAGS[index % TAGS.len()],
            TAGS[(index / TAGS.len()) % TAGS.len()]
        )
    };
    let Some(regex) = pattern.and_then(MiniRegex::parse) else {
        return word;
    };
    let lower = word.to_ascii_lowercase();
    let mut capitalised = lower.clone();
    capitalised[..1].make_ascii_uppercase();
    [word, lower, capitalised]
        .into_iter()
        .find(|w| regex.is_match(w))
        .unwrap_or_else(|| regex.generate())
}

/// Cuts `s` to at most `max` characters at a word boundary, keeping a final
/// period when there is room for it.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut cut: String = s.chars().take(max).collect();
    if let Some(space) = cut.rfind(' ')
        && space > 0
    {
        cut.truncate(space);
    }
    let mut cut = cut.trim_end_matches([' ', ',', ';', ':', '.']).to_owned();
    if s.ends_with('.') && cut.chars().count() < max {
        cut.push('.');
    }
    cut
}

/// Mixes a seed into a well-spread 64-bit value (SplitMix64's finaliser).
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
