//! The feeds file (`REWRITER_FEEDS`, TOML): which feeds to poll, the `source` each stands for,
//! its defaults and its interval, checked whole before anything is fetched.
//!
//! Every mistake is reported as `file:line: problem`: an unknown key, a URL that is not
//! `http(s)`, a source key used twice (it names the feed's state file and prefixes its items'
//! ids, so it must be unique), defaults the job contract would refuse. The defaults are checked
//! by the `job` module itself, on a probe headline, so a feed is refused here for exactly the
//! reasons its every item would be refused later. Nothing here does IO.

use std::collections::HashMap;
use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use toml::Spanned;

use crate::job::{ExternalId, Headline, Source};

/// How often a feed is polled under `--watch` when its entry names no interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// The shortest interval accepted: a feed polled faster than this is being hammered.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// The longest source key: it is the prefix of every item's externalId (at most 128 bytes).
pub const MAX_KEY_LEN: usize = 64;

/// The feeds file is wrong; `problems` holds every mistake found, each with its line.
#[derive(Debug, thiserror::Error)]
#[error("{}", problems.join("\n"))]
pub struct FeedsFileError {
    pub problems: Vec<String>,
}

/// One feed, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    pub url: url::Url,
    pub source: Source,
    /// `source.key`, held to the externalId pattern: it names the feed's state file.
    pub key: ExternalId,
    pub lang: Option<String>,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub interval: Duration,
    pub enabled: bool,
    /// Where the feed's `[[feed]]` table starts in the file.
    pub line: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    feed: Vec<Spanned<RawFeed>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeed {
    url: Spanned<String>,
    source: Spanned<RawSource>,
    lang: Option<String>,
    category: Option<String>,
    tags: Option<Vec<String>>,
    interval: Option<Spanned<String>>,
    enabled: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: String,
    key: Spanned<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Parses and checks a whole feeds file; `name` is how errors name it.
pub fn parse(name: &str, text: &str) -> Result<Vec<Feed>, FeedsFileError> {
    let line_of = |span: Range<usize>| line_at(text, span.start);
    let raw: RawFile = toml::from_str(text).map_err(|e| FeedsFileError {
        problems: vec![format!(
            "{name}:{}: {}",
            e.span().map_or(1, line_of),
            e.message().trim_end()
        )],
    })?;
    let mut problems = Vec::new();
    let mut feeds = Vec::new();
    let mut keys: HashMap<String, usize> = HashMap::new();
    for entry in raw.feed {
        let line = line_of(entry.span());
        let raw = entry.into_inner();
        let at = |span: Range<usize>| format!("{name}:{}", line_of(span));
        match check(raw, line, &at) {
            Ok(feed) => {
                if let Some(first) = keys.insert(feed.key.to_string(), feed.line) {
                    problems.push(format!(
                        "{name}:{}: source key {:?} is already used by the feed at line {first}; \
                         each feed needs its own key",
                        feed.line,
                        feed.key.as_ref()
                    ));
                } else {
                    feeds.push(feed);
                }
            }
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(feeds)
    } else {
        Err(FeedsFileError { problems })
    }
}

fn check(raw: RawFeed, line: usize, at: &dyn Fn(Range<usize>) -> String) -> Result<Feed, String> {
    let url_at = at(raw.url.span());
    let url = url::Url::parse(raw.url.get_ref().trim())
        .map_err(|e| format!("{url_at}: url {:?} is not a URL: {e}", raw.url.get_ref()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "{url_at}: url {:?} must be an http:// or https:// URL with a host",
            raw.url.get_ref()
        ));
    }
    let source_at = at(raw.source.span());
    let source = raw.source.into_inner();
    let key_at = at(source.key.span());
    let key_text = source.key.into_inner();
    let key = ExternalId::parse(key_text.trim())
        .ok()
        .filter(|k| k.as_ref().len() <= MAX_KEY_LEN)
        .ok_or_else(|| {
            format!(
                "{key_at}: source key {key_text:?} must be 1 to {MAX_KEY_LEN} letters, digits, \
                 '.', '_' or '-', starting with a letter or digit (it names files)"
            )
        })?;
    let interval = match raw.interval {
        None => DEFAULT_INTERVAL,
        Some(spanned) => {
            let interval_at = at(spanned.span());
            parse_interval(spanned.get_ref())
                .ok_or_else(|| {
                    format!(
                        "{interval_at}: interval {:?} is not a duration such as \"90s\", \"5m\" \
                         or \"1h\" (at least {}s)",
                        spanned.get_ref(),
                        MIN_INTERVAL.as_secs()
                    )
                })?
                .max(MIN_INTERVAL)
        }
    };
    // The job contract judges the defaults, on a headline that has only them to be wrong.
    let probe = json!({
        "externalId": "probe",
        "title": "probe",
        "publishedAt": "2026-01-01T00:00:00Z",
        "source": {"name": source.name, "key": key.as_ref(), "type": source.kind},
        "lang": raw.lang,
        "category": raw.category,
        "tags": raw.tags,
    });
    let headline =
        Headline::from_value(probe).map_err(|e| format!("{source_at}: feed defaults: {e}"))?;
    Ok(Feed {
        url,
        source: headline.source,
        key,
        lang: raw.lang.map(|_| headline.lang),
        category: headline.category,
        tags: headline.tags,
        interval,
        enabled: raw.enabled.unwrap_or(true),
        line,
    })
}

/// `"90s"`, `"5m"`, `"1h"`, `"1h30m"` or a number of seconds.
pub fn parse_interval(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return (secs > 0).then(|| Duration::from_secs(secs));
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    (digits.is_empty() && total > 0).then(|| Duration::from_secs(total))
}

/// The 1-based line holding byte `offset` of `text`.
fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[feed]]
url = "https://example.com/crypto/rss.xml"
source = { name = "Bloomberg (Crypto)", key = "bloomberg_crypto_", type = "RSS" }
lang = "en"
category = "BTC"
tags = ["btc", "Mining"]
interval = "5m"

[[feed]]
url = "http://127.0.0.1:8080/atom"
source = { name = "Local", key = "local" }
enabled = false
"#;

    #[test]
    fn a_good_file_gives_every_feed_with_its_defaults() {
        let feeds = parse("feeds.toml", GOOD).unwrap();
        assert_eq!(feeds.len(), 2);
        let first = &feeds[0];
        assert_eq!(first.key.as_ref(), "bloomberg_crypto_");
        assert_eq!(first.source.kind, "RSS");
        assert_eq!(first.tags, ["BTC", "MINING"]);
        assert_eq!(first.interval, Duration::from_secs(300));
        assert_eq!(first.line, 2);
        assert!(first.enabled);
        let second = &feeds[1];
        assert_eq!(second.source.kind, "RSS");
        assert_eq!(second.lang, None);
        assert_eq!(second.interval, DEFAULT_INTERVAL);
        assert!(!second.enabled);
        assert_eq!(second.line, 10);
    }

    #[test]
    fn an_unknown_key_is_reported_with_its_line() {
        let text = GOOD.replace("enabled = false", "enabeld = false");
        let err = parse("feeds.toml", &text).unwrap_err().to_string();
        assert!(err.starts_with("feeds.toml:13: "), "{err}");
        assert!(err.contains("enabeld"), "{err}");
    }

    #[test]
    fn a_bad_url_and_a_duplicate_key_are_each_reported_with_their_lines() {
        let text = format!(
            "{GOOD}\n[[feed]]\nurl = \"ftp://example.com/x\"\nsource = {{ name = \"X\", key = \"x\" }}\n\n[[feed]]\nurl = \"https://example.org/\"\nsource = {{ name = \"Again\", key = \"local\" }}\n"
        );
        let err = parse("f.toml", &text).unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        assert!(err.problems[0].starts_with("f.toml:16: url"), "{err}");
        assert!(
            err.problems[1].starts_with(
                "f.toml:19: source key \"local\" is already used by the feed at line 10"
            ),
            "{err}"
        );
    }

    #[test]
    fn defaults_the_contract_refuses_and_unsafe_keys_are_refused() {
        let text = GOOD.replace("lang = \"en\"", "lang = \"english!\"");
        let err = parse("f.toml", &text).unwrap_err().to_string();
        assert!(
            err.contains("f.toml:4: feed defaults: headline.lang"),
            "{err}"
        );
        let text = GOOD.replace("key = \"local\"", "key = \"../etc\"");
        let err = parse("f.toml", &text).unwrap_err().to_string();
        assert!(err.contains("f.toml:12: source key \"../etc\""), "{err}");
    }

    #[test]
    fn intervals_read_units_and_refuse_nonsense() {
        assert_eq!(parse_interval("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_interval("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_interval("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_interval("0"), None);
        assert_eq!(parse_interval("5 minutes"), None);
        assert_eq!(parse_interval("5"), Some(Duration::from_secs(5)));
        assert_eq!(parse_interval("m"), None);
        assert_eq!(parse_interval("99999999999999999999h"), None);
    }
}
