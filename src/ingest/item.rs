//! One feed item to one headline: its stable externalId, its text as plain text, its date,
//! its link and cover image, and the feed's source and defaults. Pure: no IO, no clock.
//!
//! Item text is untrusted. HTML is reduced to text (tags dropped, `script`/`style` content
//! dropped, entities decoded), control characters removed and whitespace collapsed, and long
//! text is cut at a character boundary. The result is validated by the `job` module, so an
//! ingested job is exactly what `rewriter enqueue` would have accepted.
//!
//! The externalId is `<source key>-<16 hex digits>`, the hex a SHA-256 of the item's guid
//! (Atom `id`, RSS `guid`, JSON Feed `id`), or of its link with tracking parameters and the
//! fragment removed when there is no guid. Never of the title: a title the source edits later
//! must not become a new story.

use chrono::{DateTime, SecondsFormat, Utc};
use feed_rs::model::Entry;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::ingest::feeds::Feed;
use crate::job::{ExternalId, Headline};

/// The longest title kept, in characters; a longer one is cut with `…`.
pub const MAX_TITLE_CHARS: usize = 300;
/// The longest description kept, in characters: enough for a lede, not a whole article.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

/// Query parameters that only say where a click came from; they are dropped from links so the
/// same story linked from two campaigns is one story.
pub const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "gclsrc",
    "msclkid",
    "yclid",
    "igshid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "ref",
    "ref_src",
    "cmpid",
    "ocid",
    "ncid",
    "sr_share",
    "guccounter",
];

/// How an item is known across polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Guid(String),
    Link(String),
}

impl Identity {
    /// The item's guid, else its normalised link; `None` when it has neither.
    pub fn of(entry: &Entry) -> Option<Self> {
        let guid = entry.id.trim();
        if !guid.is_empty() {
            return Some(Self::Guid(guid.to_owned()));
        }
        link(entry).map(|l| Self::Link(normalise_link(&l)))
    }

    /// `<key>-<16 hex>`: valid under the contract's pattern for any key that is (≤ 64 bytes).
    pub fn external_id(&self, key: &ExternalId) -> ExternalId {
        let (kind, text) = match self {
            Self::Guid(g) => ("guid", g),
            Self::Link(l) => ("link", l),
        };
        let digest = Sha256::new()
            .chain_update(kind.as_bytes())
            .chain_update([0u8])
            .chain_update(text.as_bytes())
            .finalize();
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        // A key of ≤ 64 valid characters, '-' and hex digits stay within the pattern; the
        // fallback only guards against a key that did not come through the feeds file.
        ExternalId::parse(&format!("{key}-{hex}"))
            .or_else(|_| ExternalId::parse(&format!("feed-{hex}")))
            .unwrap_or_else(|_| key.clone())
    }
}

/// An item that is not a headline, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Rejected(pub String);

/// The headline for `entry`; `first_seen` stands in for a missing date. Returns whether the
/// date was missing (the caller says so).
pub fn headline(
    feed: &Feed,
    entry: &Entry,
    id: &ExternalId,
    first_seen: DateTime<Utc>,
) -> Result<(Headline, bool), Rejected> {
    let title = entry
        .title
        .as_ref()
        .map(|t| cut(&html_to_text(&t.content), MAX_TITLE_CHARS))
        .unwrap_or_default();
    if title.is_empty() {
        return Err(Rejected("the item has no title".into()));
    }
    // The summary, else the content: whichever first has any text once the markup is gone.
    let summary = [
        entry.summary.as_ref().map(|t| t.content.as_str()),
        entry.content.as_ref().and_then(|c| c.body.as_deref()),
    ]
    .into_iter()
    .flatten()
    .map(|html| cut(&html_to_text(html), MAX_DESCRIPTION_CHARS))
    .find(|d| !d.is_empty());
    let dated = entry.published.or(entry.updated);
    let published = dated.unwrap_or(first_seen);
    let mut value = json!({
        "externalId": id.as_ref(),
        "title": title,
        "publishedAt": published.to_rfc3339_opts(SecondsFormat::Millis, true),
        "source": feed.source,
    });
    let Value::Object(obj) = &mut value else {
        return Err(Rejected("internal: the headline is not an object".into()));
    };
    if let Some(d) = summary {
        obj.insert("description".into(), d.into());
    }
    if let Some(url) = link(entry).filter(|u| is_web_url(u)) {
        obj.insert("url".into(), url.into());
    }
    if let Some(lang) = &feed.lang {
        obj.insert("lang".into(), lang.clone().into());
    }
    if let Some(category) = &feed.category {
        obj.insert("category".into(), category.clone().into());
    }
    if !feed.tags.is_empty() {
        obj.insert("tags".into(), feed.tags.clone().into());
    }
    if let Some(image) = cover_image(entry) {
        let mut cover = Map::new();
        for size in ["raw", "full", "regular", "small", "thumb"] {
            cover.insert(size.into(), image.clone().into());
        }
        obj.insert("coverImage".into(), Value::Object(cover));
    }
    let headline = Headline::from_value(value).map_err(|e| Rejected(e.to_string()))?;
    Ok((headline, dated.is_none()))
}

/// The item's web page: its first link that is not an enclosure or a self/edit link.
fn link(entry: &Entry) -> Option<String> {
    entry
        .links
        .iter()
        .find(|l| {
            matches!(l.rel.as_deref(), None | Some("alternate"))
                && !l
                    .media_type
                    .as_deref()
                    .is_some_and(|t| t.starts_with("image/"))
        })
        .map(|l| l.href.trim().to_owned())
        .filter(|h| !h.is_empty())
}

fn is_web_url(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// The first image among the item's media (MediaRSS content and thumbnails, RSS enclosures)
/// and image links (Atom enclosures, JSON Feed attachments).
fn cover_image(entry: &Entry) -> Option<String> {
    let media = entry.media.iter().flat_map(|m| {
        let contents = m
            .content
            .iter()
            .filter(|c| {
                c.content_type.as_ref().map_or_else(
                    || c.url.as_ref().is_some_and(|u| looks_like_image(u.path())),
                    |t| t.to_string().starts_with("image/"),
                )
            })
            .filter_map(|c| c.url.as_ref().map(url::Url::to_string));
        let thumbnails = m.thumbnails.iter().map(|t| t.image.uri.clone());
        contents.chain(thumbnails)
    });
    let links = entry
        .links
        .iter()
        .filter(|l| {
            l.media_type
                .as_deref()
                .is_some_and(|t| t.starts_with("image/"))
        })
        .map(|l| l.href.clone());
    media
        .chain(links)
        .map(|u| u.trim().to_owned())
        .find(|u| is_web_url(u))
}

fn looks_like_image(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// A link without its fragment and tracking parameters (`utm_*` and [`TRACKING_PARAMS`]);
/// the text as given when it is not a URL.
pub fn normalise_link(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text.trim()) else {
        return text.trim().to_owned();
    };
    url.set_fragment(None);
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !k.starts_with("utm_") && !TRACKING_PARAMS.contains(&k.as_str())
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    url.to_string()
}

/// HTML (or plain text) as one line of plain text: tags dropped, the content of `script`,
/// `style` and comments dropped, block ends turned into spaces, entities decoded, control
/// characters removed, whitespace collapsed.
pub fn html_to_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let tag = &rest[open..];
        if let Some(after) = tag.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let name: String = tag[1..]
            .chars()
            .skip_while(|c| *c == '/')
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() && !tag[1..].starts_with(['/', '!', '?']) {
            // A lone `<` (as in "a < b") is text.
            text.push('<');
            rest = &tag[1..];
            continue;
        }
        let Some(end) = tag_end(tag) else {
            // Never closed, as in "BTC<100k": text, not a tag.
            text.push('<');
            rest = &tag[1..];
            continue;
        };
        rest = &tag[end + 1..];
        let closing = tag[1..].starts_with('/');
        if !closing && matches!(name.as_str(), "script" | "style" | "template") {
            rest = find_ascii_ci(rest, &format!("</{name}")).map_or("", |at| {
                rest[at..].find('>').map_or("", |gt| &rest[at + gt + 1..])
            });
            continue;
        }
        text.push(' ');
    }
    text.push_str(rest);
    let decoded = html_escape::decode_html_entities(&text);
    let mut out = String::with_capacity(decoded.len());
    for word in decoded
        .split(|c: char| c.is_whitespace() || c.is_control() || is_bidi_control(c))
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Bidirectional overrides and isolates: invisible, and they reorder what a terminal or an
/// editor shows around them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Where a tag that starts `tag` ends (its `>`), skipping `>` inside quoted attribute values.
fn tag_end(tag: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in tag.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// The byte offset of `needle` (ASCII) in `haystack`, ignoring ASCII case.
fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    (0..h.len().saturating_sub(n.len() - 1)).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// `text` cut to at most `max` characters at a word boundary, with `…` when cut. Never cuts
/// inside a character.
pub fn cut(text: &str, max: usize) -> String {
    let Some((limit, _)) = text.char_indices().nth(max) else {
        return text.to_owned();
    };
    // Room for the ellipsis: the cut text keeps at most max - 1 characters.
    let head = &text[..text
        .char_indices()
        .nth(max.saturating_sub(1))
        .map_or(limit, |(i, _)| i)];
    let head = match head.rfind(' ') {
        Some(space) if space > head.len() / 2 => &head[..space],
        _ => head,
    };
    format!("{}…", head.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> ExternalId {
        ExternalId::parse(s).unwrap()
    }

    #[test]
    fn html_becomes_one_line_of_text_with_entities_decoded() {
        let html = "<p>Bitcoin &amp; Ether <b>rise</b>&nbsp;5%</p><script>alert('x<y')</script>\
                    <!-- a > comment --><p>Caf&eacute; &#8220;quoted&#x201D; a < b</p>\u{7}";
        assert_eq!(
            html_to_text(html),
            "Bitcoin & Ether rise 5% Café “quoted” a < b"
        );
        assert_eq!(html_to_text("<a href=\"x>y\">link</a> text"), "link text");
        assert_eq!(html_to_text("plain\n\n text\t"), "plain text");
        assert_eq!(html_to_text("BTC<100k soon"), "BTC<100k soon");
        assert_eq!(html_to_text("<p>kept <!-- open comment"), "kept");
        assert_eq!(html_to_text("&lt;b&gt;escaped&lt;/b&gt;"), "<b>escaped</b>");
    }

    #[test]
    fn cutting_never_splits_a_character_and_says_so() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("ééééééééééé", 5), "éééé…");
        assert_eq!(cut("one two three four", 12), "one two…");
        assert_eq!(cut("🙂🙂🙂", 2).chars().count(), 2);
    }

    #[test]
    fn tracking_parameters_and_fragments_leave_links() {
        assert_eq!(
            normalise_link("https://ex.com/a?id=7&utm_source=x&UTM_medium=y&fbclid=z#top"),
            "https://ex.com/a?id=7"
        );
        assert_eq!(
            normalise_link("https://EX.com/a?utm_campaign=c"),
            "https://ex.com/a"
        );
        assert_eq!(normalise_link(" not a url "), "not a url");
    }

    #[test]
    fn external_ids_are_stable_valid_and_keyed_by_feed() {
        let guid = Identity::Guid("tag:example.com,2026:/../story 1?".into());
        let a = guid.external_id(&key("bloomberg_crypto_"));
        assert_eq!(a, guid.external_id(&key("bloomberg_crypto_")));
        assert!(a.as_ref().starts_with("bloomberg_crypto_-"), "{a}");
        assert_eq!(a.as_ref().len(), "bloomberg_crypto_-".len() + 16);
        assert_ne!(a, guid.external_id(&key("other")));
        let long = key(&"k".repeat(64));
        assert!(ExternalId::parse(guid.external_id(&long).as_ref()).is_ok());
        assert_ne!(
            Identity::Link("x".into()).external_id(&key("k")),
            Identity::Guid("x".into()).external_id(&key("k"))
        );
    }

    #[test]
    fn a_feed_parsed_by_feed_rs_maps_to_valid_headlines() {
        let xml = r#"<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title>
            <item><title>Bitcoin &lt;b&gt;jumps&lt;/b&gt;</title><link>https://ex.com/a?utm_source=rss</link>
              <description>&lt;p&gt;Lede &amp;amp; more&lt;/p&gt;</description><guid>g-1</guid>
              <pubDate>Thu, 05 Feb 2026 17:45:43 GMT</pubDate>
              <enclosure url="https://ex.com/i.jpg" type="image/jpeg" length="1"/></item>
            <item><title>Undated</title><link>https://ex.com/b</link></item>
            <item><description>no title</description><guid>g-3</guid></item>
            </channel></rss>"#;
        let parsed = feed_rs::parser::Builder::new()
            .id_generator(|_, _, _| String::new())
            .sanitize_content(false)
            .build()
            .parse(xml.as_bytes())
            .unwrap();
        let feed = crate::ingest::feeds::parse(
            "f",
            "[[feed]]\nurl = \"https://ex.com/rss\"\nsource = { name = \"Ex\", key = \"ex\" }\ntags = [\"BTC\"]\n",
        )
        .unwrap()
        .remove(0);
        let seen: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().unwrap();
        let ids: Vec<_> = parsed
            .entries
            .iter()
            .map(|e| Identity::of(e).unwrap().external_id(&feed.key))
            .collect();

        let (first, undated) = headline(&feed, &parsed.entries[0], &ids[0], seen).unwrap();
        assert_eq!(first.title, "Bitcoin jumps");
        assert_eq!(first.description.as_deref(), Some("Lede & more"));
        assert_eq!(
            first.url.as_deref(),
            Some("https://ex.com/a?utm_source=rss")
        );
        assert_eq!(first.published_at.to_rfc3339(), "2026-02-05T17:45:43+00:00");
        assert_eq!(first.tags, ["BTC"]);
        assert_eq!(first.cover_image.unwrap()["raw"], "https://ex.com/i.jpg");
        assert!(!undated);
        assert_eq!(
            Identity::of(&parsed.entries[1]),
            Some(Identity::Link("https://ex.com/b".into()))
        );
        let (second, undated) = headline(&feed, &parsed.entries[1], &ids[1], seen).unwrap();
        assert_eq!(second.published_at, seen);
        assert!(undated);
        assert_eq!(
            headline(&feed, &parsed.entries[2], &ids[2], seen),
            Err(Rejected("the item has no title".into()))
        );
    }
}
