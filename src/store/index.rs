//! The cost index of a bucket: what `rewriter cost` adds up for each version, in key names that
//! one listing returns, so that the command reads a page per 1,000 versions instead of a GET per
//! version. A listing returns each key's name, size, ETag and time, never its metadata or body,
//! so the figures ride in the name of an empty object beside the layout:
//!
//! ```text
//! index/cost/<id>/v<N>.<etag>.<prompt tokens>.<completion tokens>.<cost>.<model>
//! ```
//!
//! `<etag>` is the ETag of the version object the figures were read from: an entry counts only
//! while it matches the version's ETag in the listing of `versions/`, so a version rewritten
//! with `force` (a new ETag) is never counted with its old figures. `<cost>` is `ai.costUsd`'s
//! 64 bits in hex (exact, unlike a decimal) or `x` when the article recorded none; `<model>` is
//! `ai.model`'s UTF-8 in hex (model names hold `/`, `:` and `, `). A version without a matching
//! entry — written before the index existed, or whose entry a crash lost — is read whole and
//! its entry written then, so the index heals itself. A folder has no index: its reads are local.

use std::fmt::Write as _;

use crate::article::parse_frontmatter;
use crate::job::{ExternalId, PromptVersion};

/// Where the entries live, beside `versions/`, `articles/` and `sources/`.
pub const COST_INDEX: &str = "index/cost";

/// What one version records under `ai` and `rewriter cost` adds up.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// `ai.model`: one name, or `"a, b"` when fallback models answered some calls.
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// `ai.costUsd`; `None` when the article was written without a price for its model.
    pub cost_usd: Option<f64>,
}

impl Figures {
    /// The figures of a version's text; the reason when its frontmatter does not read.
    pub fn of(markdown: &str) -> Result<Self, String> {
        let ai = parse_frontmatter(markdown).map_err(|e| e.to_string())?.ai;
        Ok(Self {
            model: ai.model,
            prompt_tokens: ai.prompt_tokens,
            completion_tokens: ai.completion_tokens,
            cost_usd: ai.cost_usd,
        })
    }
}

/// An ETag as a key segment: without its quotes; `None` when it holds anything but letters,
/// digits and `-` (then the version goes unindexed and is read whole).
fn etag_segment(e_tag: &str) -> Option<&str> {
    let tag = e_tag.trim_matches('"');
    (!tag.is_empty() && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')).then_some(tag)
}

/// The key, relative to the archive's root, of the entry for `version` of `id` whose object
/// has `e_tag`; `None` for an ETag that cannot be a key segment.
pub fn entry_key(
    id: &ExternalId,
    version: PromptVersion,
    e_tag: &str,
    figures: &Figures,
) -> Option<String> {
    let tag = etag_segment(e_tag)?;
    let cost = figures
        .cost_usd
        .map_or_else(|| "x".to_owned(), |c| format!("{:016x}", c.to_bits()));
    let mut model = String::with_capacity(figures.model.len() * 2);
    for b in figures.model.bytes() {
        let _ = write!(model, "{b:02x}");
    }
    Some(format!(
        "{COST_INDEX}/{id}/{}.{tag}.{}.{}.{cost}.{model}",
        version.dir_name(),
        figures.prompt_tokens,
        figures.completion_tokens,
    ))
}

/// One entry read back from its name relative to [`COST_INDEX`] (`<id>/v<N>.…`): the version,
/// the ETag it describes, its figures. `None` for a name that is not an entry.
pub(super) fn parse_entry(name: &str) -> Option<(ExternalId, PromptVersion, String, Figures)> {
    let (id, file) = name.split_once('/')?;
    let mut parts = file.split('.');
    let version = PromptVersion::parse(parts.next()?).ok()?;
    let tag = parts.next()?.to_owned();
    let prompt_tokens = parts.next()?.parse().ok()?;
    let completion_tokens = parts.next()?.parse().ok()?;
    let cost_usd = match parts.next()? {
        "x" => None,
        bits => Some(f64::from_bits(u64::from_str_radix(bits, 16).ok()?)),
    };
    let hex = parts.next()?;
    if parts.next().is_some() || hex.len() % 2 != 0 {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    let figures = Figures {
        model: String::from_utf8(bytes).ok()?,
        prompt_tokens,
        completion_tokens,
        cost_usd,
    };
    Some((ExternalId::parse(id).ok()?, version, tag, figures))
}

/// Whether an entry's ETag describes the object listed with `e_tag`.
pub(super) fn describes(entry_tag: &str, e_tag: Option<&str>) -> bool {
    e_tag.and_then(etag_segment) == Some(entry_tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_exactly_whatever_the_model_name_and_cost() {
        let id = ExternalId::parse("a-1").unwrap();
        let v = PromptVersion::new(12).unwrap();
        for (model, cost) in [
            ("meta-llama/Llama-3-8b:free, gpt-4o", Some(0.1 + 0.2)),
            ("m", None),
            ("ünï", Some(0.0)),
        ] {
            let figures = Figures {
                model: model.into(),
                prompt_tokens: 1234,
                completion_tokens: 0,
                cost_usd: cost,
            };
            let key = entry_key(&id, v, "\"d41d8cd98f00b204\"", &figures).unwrap();
            let name = key.strip_prefix("index/cost/").unwrap();
            let (rid, rv, tag, back) = parse_entry(name).unwrap();
            assert_eq!((rid, rv, back), (id.clone(), v, figures));
            assert!(describes(&tag, Some("\"d41d8cd98f00b204\"")));
            assert!(!describes(&tag, Some("\"other\"")));
        }
    }

    #[test]
    fn odd_etags_and_names_that_are_not_entries_are_left_out() {
        let figures = Figures {
            model: "m".into(),
            prompt_tokens: 1,
            completion_tokens: 1,
            cost_usd: None,
        };
        let id = ExternalId::parse("a").unwrap();
        let v = PromptVersion::new(1).unwrap();
        assert_eq!(entry_key(&id, v, "\"a/b\"", &figures), None);
        assert_eq!(entry_key(&id, v, "", &figures), None);
        assert!(parse_entry("a/v1.tag.1.1.x").is_none());
        assert!(parse_entry("a/v1.tag.1.1.x.6d.extra").is_none());
        assert!(parse_entry("a/v1.tag.one.1.x.6d").is_none());
        assert!(parse_entry("a/v1.tag.1.1.x.6").is_none());
    }
}
