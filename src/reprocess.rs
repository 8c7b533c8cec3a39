//! Choosing which stored articles to write again with a prompt version: the rules behind
//! `rewriter reprocess`, apart from the broker and the terminal.
//!
//! [`gather`] reads what the store holds about each article (its source headline and the
//! newest version on disk) into [`Candidate`]s; [`select`] is pure and decides, by a
//! [`Criteria`], which become jobs and which are passed over and why. Filters combine with
//! "and"; an article that already has the target version is passed over unless `force`, since
//! a worker would skip its job anyway.

use std::io::ErrorKind;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{StreamExt, TryStreamExt};

use crate::job::{ExternalId, Headline, Job, PromptVersion};
use crate::store::{ContentStore, StoreError};

/// How many articles [`gather`] reads at once.
const READ_AHEAD: usize = 16;

/// What to reprocess, and with which version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criteria {
    pub target: PromptVersion,
    /// Only articles whose newest version is older than `target` (or that have none).
    pub outdated: bool,
    /// Only these ids (empty: any).
    pub ids: Vec<ExternalId>,
    /// Only headlines published at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only headlines from this `source.key`.
    pub source: Option<String>,
    /// Write the target version again where it exists.
    pub force: bool,
}

/// One stored article as reprocessing sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub headline: Headline,
    /// The newest version on disk, if any was written.
    pub latest: Option<PromptVersion>,
}

impl Candidate {
    pub fn id(&self) -> &ExternalId {
        &self.headline.external_id
    }
}

/// A stored source that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    pub id: ExternalId,
    pub reason: String,
}

/// What [`select`] decided.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Selection {
    /// To enqueue, in id order.
    pub chosen: Vec<Candidate>,
    /// Matched, but already at the target version (and not forced).
    pub up_to_date: Vec<ExternalId>,
    /// Named with `--id` but not stored.
    pub unknown: Vec<ExternalId>,
}

impl Selection {
    /// The jobs to publish: each chosen headline with the target version named explicitly, so
    /// that every worker writes the same version whatever its own current one is.
    pub fn jobs(&self, criteria: &Criteria) -> Vec<Job> {
        self.chosen
            .iter()
            .map(|c| Job::new(c.headline.clone(), Some(criteria.target), criteria.force))
            .collect()
    }
}

/// Reads the stored sources, all of them or only `ids`, with each article's newest version.
/// A source that is missing, unreadable or no longer a valid headline is [`Unusable`]; only a
/// failure to list the store is an error.
pub async fn gather(
    store: &ContentStore,
    ids: &[ExternalId],
) -> Result<(Vec<Candidate>, Vec<Unusable>), StoreError> {
    let ids = if ids.is_empty() {
        store.ids().await?
    } else {
        ids.to_vec()
    };
    // One listing for every article's newest version, not one per article.
    let latest_versions = &store.latest_versions().await?;
    let read: Vec<Result<Candidate, Unusable>> = futures_util::stream::iter(ids)
        .map(|id| async move {
            let unusable = |reason: String| Unusable {
                id: id.clone(),
                reason,
            };
            let bytes = match store.read_source(&id).await {
                Ok(b) => b,
                Err(StoreError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
                    return Ok(Err(unusable(format!(
                        "no stored source (sources/{id}.json)"
                    ))));
                }
                Err(e) => return Ok(Err(unusable(e.to_string()))),
            };
            let headline = match serde_json::from_slice(&bytes)
                .map_err(|e| format!("not JSON: {e}"))
                .and_then(|v| Headline::from_value(v).map_err(|e| e.to_string()))
            {
                Ok(h) => h,
                Err(reason) => return Ok(Err(unusable(format!("stored source: {reason}")))),
            };
            if headline.external_id != id {
                return Ok(Err(unusable(format!(
                    "stored source names externalId {}",
                    headline.external_id
                ))));
            }
            let latest = latest_versions.get(&id).copied();
            Ok::<_, StoreError>(Ok(Candidate { headline, latest }))
        })
        .buffered(READ_AHEAD)
        .try_collect()
        .await?;
    let mut candidates = Vec::new();
    let mut unusable = Vec::new();
    for r in read {
        match r {
            Ok(c) => candidates.push(c),
            Err(u) => unusable.push(u),
        }
    }
    Ok((candidates, unusable))
}

/// What a dry run without headline filters would enqueue, from listings alone.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Ids to enqueue with their newest version, in id order.
    pub chosen: Vec<(ExternalId, Option<PromptVersion>)>,
    pub up_to_date: Vec<ExternalId>,
    pub unknown: Vec<ExternalId>,
}

/// [`gather`] + [`select`] for criteria that look at no headline (no `since`, no `source`):
/// which ids have a source and each one's newest version come from two listings, a request
/// per 1,000 keys in a bucket, so no source is read. Sources that could not be read are found
/// only when the jobs are built.
pub async fn select_by_listing(
    store: &ContentStore,
    criteria: &Criteria,
) -> Result<Listed, StoreError> {
    let (ids, latest) = tokio::try_join!(store.ids(), store.latest_versions())?;
    let mut listed = Listed {
        unknown: criteria
            .ids
            .iter()
            .filter(|id| ids.binary_search(id).is_err())
            .cloned()
            .collect(),
        ..Listed::default()
    };
    for id in ids {
        if !criteria.ids.is_empty() && !criteria.ids.contains(&id) {
            continue;
        }
        let newest = latest.get(&id).copied();
        // The same rules as `select`'s, in the same order.
        if criteria.outdated && newest.is_some_and(|v| v >= criteria.target) {
            continue;
        }
        if !criteria.force && newest == Some(criteria.target) {
            listed.up_to_date.push(id);
        } else {
            listed.chosen.push((id, newest));
        }
    }
    Ok(listed)
}

/// Decides which candidates become jobs. Pure.
pub fn select(candidates: Vec<Candidate>, criteria: &Criteria) -> Selection {
    let mut selection = Selection {
        unknown: criteria
            .ids
            .iter()
            .filter(|id| !candidates.iter().any(|c| c.id() == *id))
            .cloned()
            .collect(),
        ..Selection::default()
    };
    let mut matching: Vec<Candidate> = candidates
        .into_iter()
        .filter(|c| criteria.ids.is_empty() || criteria.ids.contains(c.id()))
        .filter(|c| criteria.since.is_none_or(|t| c.headline.published_at >= t))
        .filter(|c| {
            criteria
                .source
                .as_ref()
                .is_none_or(|key| &c.headline.source.key == key)
        })
        .filter(|c| !criteria.outdated || c.latest.is_none_or(|v| v < criteria.target))
        .collect();
    matching.sort_by(|a, b| a.id().cmp(b.id()));
    matching.dedup_by(|a, b| a.id() == b.id());
    for c in matching {
        // Without force, a job for a version on disk is a no-op in the worker; say so here.
        if !criteria.force && c.latest == Some(criteria.target) {
            selection.up_to_date.push(c.id().clone());
        } else {
            selection.chosen.push(c);
        }
    }
    selection
}

/// Reads `--since`: an RFC 3339 instant, or a date (`2026-02-06`, midnight UTC).
pub fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("{s:?} is not a date (YYYY-MM-DD) or an RFC 3339 date-time"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn v(n: u32) -> PromptVersion {
        PromptVersion::new(n).unwrap()
    }

    fn id(s: &str) -> ExternalId {
        ExternalId::parse(s).unwrap()
    }

    fn candidate(id: &str, published: &str, key: &str, latest: Option<u32>) -> Candidate {
        let headline = Headline::from_value(json!({
            "externalId": id,
            "title": "T",
            "publishedAt": published,
            "source": {"name": "S", "key": key}
        }))
        .unwrap();
        Candidate {
            headline,
            latest: latest.map(v),
        }
    }

    fn archive() -> Vec<Candidate> {
        vec![
            candidate("c", "2026-02-06T10:00:00Z", "wire", Some(2)),
            candidate("a", "2026-02-05T17:45:43Z", "wire", Some(1)),
            candidate("b", "2026-02-06T00:00:00Z", "blog", Some(1)),
            candidate("d", "2026-02-07T00:00:00Z", "blog", None),
        ]
    }

    fn criteria(target: u32) -> Criteria {
        Criteria {
            target: v(target),
            outdated: false,
            ids: Vec::new(),
            since: None,
            source: None,
            force: false,
        }
    }

    fn chosen(s: &Selection) -> Vec<&str> {
        s.chosen.iter().map(|c| c.id().as_ref()).collect()
    }

    #[test]
    fn outdated_picks_articles_older_than_the_target_or_never_written() {
        let s = select(
            archive(),
            &Criteria {
                outdated: true,
                ..criteria(2)
            },
        );
        assert_eq!(chosen(&s), ["a", "b", "d"]);
        assert!(s.up_to_date.is_empty());
    }

    #[test]
    fn all_without_force_passes_over_articles_already_at_the_target() {
        let s = select(archive(), &criteria(2));
        assert_eq!(chosen(&s), ["a", "b", "d"]);
        assert_eq!(s.up_to_date, vec![id("c")]);
        let forced = select(
            archive(),
            &Criteria {
                force: true,
                ..criteria(2)
            },
        );
        assert_eq!(chosen(&forced), ["a", "b", "c", "d"]);
    }

    #[test]
    fn since_is_inclusive_and_source_matches_the_key() {
        let since = parse_since("2026-02-06").unwrap();
        let s = select(
            archive(),
            &Criteria {
                since: Some(since),
                source: Some("blog".into()),
                ..criteria(3)
            },
        );
        assert_eq!(chosen(&s), ["b", "d"]);
    }

    #[test]
    fn ids_pick_exactly_those_and_unknown_ones_are_reported() {
        let s = select(
            archive(),
            &Criteria {
                ids: vec![id("b"), id("zz"), id("b")],
                ..criteria(2)
            },
        );
        assert_eq!(chosen(&s), ["b"]);
        assert_eq!(s.unknown, vec![id("zz")]);
        let jobs = s.jobs(&criteria(2));
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].prompt_version, Some(v(2)));
    }

    #[test]
    fn since_reads_dates_and_rfc3339_and_refuses_the_rest() {
        assert_eq!(
            parse_since("2026-02-06T01:00:00+01:00").unwrap(),
            parse_since("2026-02-06").unwrap()
        );
        assert!(parse_since("yesterday").unwrap_err().contains("YYYY-MM-DD"));
    }

    #[tokio::test]
    async fn a_listing_selects_as_reading_the_sources_would() {
        // Arrange: a at v1, b at v2
        let dir = tempfile::tempdir().unwrap();
        let store = ContentStore::open(dir.path()).await.unwrap();
        for (i, n) in [("a", 1), ("b", 1), ("b", 2)] {
            store
                .save(&id(i), v(n), format!("{i}{n}"), b"{}".to_vec())
                .await
                .unwrap();
        }
        let criteria = |outdated, ids: Vec<ExternalId>, force| Criteria {
            target: v(2),
            outdated,
            ids,
            since: None,
            source: None,
            force,
        };

        // Act
        let outdated = select_by_listing(&store, &criteria(true, vec![], false))
            .await
            .unwrap();
        let named = select_by_listing(&store, &criteria(false, vec![id("b"), id("z")], false))
            .await
            .unwrap();
        let forced = select_by_listing(&store, &criteria(false, vec![id("b")], true))
            .await
            .unwrap();

        // Assert
        assert_eq!(outdated.chosen, vec![(id("a"), Some(v(1)))]);
        assert!(outdated.up_to_date.is_empty());
        assert!(named.chosen.is_empty());
        assert_eq!(named.up_to_date, vec![id("b")]);
        assert_eq!(named.unknown, vec![id("z")]);
        assert_eq!(forced.chosen, vec![(id("b"), Some(v(2)))]);
    }
}
