//! What an ingester remembers of one feed between polls: the items already enqueued (by
//! externalId, with when each was first enqueued) and the validators of the last complete
//! fetch (`ETag`, `Last-Modified`). The format only; `store::feeds` reads and writes the file.
//!
//! An item enters `seen` only after the broker confirmed its job, and the validators are kept
//! only from a fetch whose every new item was confirmed: a fetch that failed halfway must not
//! be answered with 304 next time, or its remaining items would never be asked for again.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How long an item no longer in the feed is remembered. Feeds keep items for days, rarely
/// months; an item that drops out and comes back after this is enqueued again, and the workers
/// see its article already written.
pub const FORGET_AFTER_DAYS: i64 = 180;

/// The state file's format version: a file from a newer version is refused, not rewritten.
pub const FORMAT: u32 = 1;

/// One feed's memory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedState {
    pub format: u32,
    /// The URL the validators belong to: a feed moved to another URL starts unconditional.
    pub url: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// externalId → when its job was confirmed.
    #[serde(default)]
    pub seen: BTreeMap<String, DateTime<Utc>>,
}

/// The state file could not be understood.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the feed's state file is not valid ({0}); move it away to start the feed afresh")]
    Corrupt(String),
    #[error("the feed's state file has format {0}, newer than this rewriter's {FORMAT}")]
    Newer(u32),
}

impl FeedState {
    /// Reads a state file's bytes; none means a feed never polled.
    pub fn from_bytes(bytes: Option<&[u8]>) -> Result<Self, StateError> {
        let Some(bytes) = bytes else {
            return Ok(Self {
                format: FORMAT,
                ..Self::default()
            });
        };
        let state: Self =
            serde_json::from_slice(bytes).map_err(|e| StateError::Corrupt(e.to_string()))?;
        if state.format > FORMAT {
            return Err(StateError::Newer(state.format));
        }
        Ok(state)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // Strings, dates and maps of them always serialise.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// The validators to send to `url`: none when they were given by another URL.
    pub fn validators_for(&self, url: &str) -> (Option<&str>, Option<&str>) {
        if self.url.as_deref() == Some(url) {
            (self.etag.as_deref(), self.last_modified.as_deref())
        } else {
            (None, None)
        }
    }

    pub fn has_seen(&self, id: &str) -> bool {
        self.seen.contains_key(id)
    }

    /// Records a confirmed job.
    pub fn mark_seen(&mut self, id: &str, at: DateTime<Utc>) {
        self.seen.entry(id.to_owned()).or_insert(at);
    }

    /// After a fetch whose every new item was confirmed: keep its validators, and forget items
    /// that are neither in the feed now nor recent.
    pub fn completed(
        &mut self,
        url: &str,
        etag: Option<String>,
        last_modified: Option<String>,
        in_feed: &HashSet<String>,
        now: DateTime<Utc>,
    ) {
        self.format = FORMAT;
        self.url = Some(url.to_owned());
        self.etag = etag;
        self.last_modified = last_modified;
        let horizon = now - Duration::days(FORGET_AFTER_DAYS);
        self.seen
            .retain(|id, first| in_feed.contains(id) || *first > horizon);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_missing_file_is_a_fresh_feed_and_a_broken_one_is_refused() {
        let fresh = FeedState::from_bytes(None).unwrap();
        assert!(fresh.seen.is_empty());
        assert_eq!(fresh.validators_for("https://a"), (None, None));
        assert!(matches!(
            FeedState::from_bytes(Some(b"{\"seen\": [")),
            Err(StateError::Corrupt(_))
        ));
        assert!(matches!(
            FeedState::from_bytes(Some(b"{\"format\": 9}")),
            Err(StateError::Newer(9))
        ));
    }

    #[test]
    fn state_round_trips_and_validators_belong_to_their_url() {
        let mut state = FeedState::from_bytes(None).unwrap();
        state.mark_seen("k-1", at("2026-01-01T00:00:00Z"));
        state.completed(
            "https://a/feed",
            Some("\"v1\"".into()),
            Some("Thu, 01 Jan 2026 00:00:00 GMT".into()),
            &HashSet::new(),
            at("2026-01-02T00:00:00Z"),
        );
        let read = FeedState::from_bytes(Some(&state.to_bytes())).unwrap();
        assert_eq!(read, state);
        assert_eq!(
            read.validators_for("https://a/feed"),
            (Some("\"v1\""), Some("Thu, 01 Jan 2026 00:00:00 GMT"))
        );
        assert_eq!(read.validators_for("https://b/feed"), (None, None));
        assert!(read.has_seen("k-1"));
    }

    #[test]
    fn old_items_gone_from_the_feed_are_forgotten_and_the_rest_kept() {
        let mut state = FeedState::from_bytes(None).unwrap();
        state.mark_seen("old-gone", at("2025-01-01T00:00:00Z"));
        state.mark_seen("old-still-listed", at("2025-01-01T00:00:00Z"));
        state.mark_seen("recent", at("2026-05-01T00:00:00Z"));
        let in_feed: HashSet<String> = ["old-still-listed".to_owned()].into();
        state.completed("u", None, None, &in_feed, at("2026-06-01T00:00:00Z"));
        let kept: Vec<&str> = state.seen.keys().map(String::as_str).collect();
        assert_eq!(kept, ["old-still-listed", "recent"]);
    }
}
