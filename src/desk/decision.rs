//! Editors' decisions on an article — approve, reject, promote, requeue — and their record.
//!
//! Approval publishes a version without touching what the model wrote: `versions/<id>/v<N>.md`
//! stays as written, and `articles/<id>.md` becomes that version's text with `draft: false` and
//! `ai.approved: {by, at}`, printed by the article's own YAML emitter (so it keeps its
//! YAML-1.1-safe quoting). Every decision is appended to `desk/actions/<id>.ndjson` through the
//! store, with who and when. Used by the desk and by `rewriter approve` / `rewriter reject`.
//!
//! A decision that reads the published copy to decide what to write (approve, reject) writes
//! it back only if nobody replaced it meanwhile ([`ContentStore::publish_if`]: `If-Match` in a
//! bucket, where workers on other hosts write it), and otherwise decides again on what is there
//! now, a few times before giving up with [`DecisionError::Changed`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::article::{Approval, Article, ArticleError, parse_frontmatter, timestamp};
use crate::check::contract::split_frontmatter;
use crate::job::{ExternalId, PromptVersion};
use crate::store::{ContentStore, StoreError};

/// Longest editor name and rejection reason accepted.
const MAX_NAME: usize = 64;
const MAX_REASON: usize = 2000;

/// Tries of a decision on a published copy that other writers keep replacing: each failed try
/// means another write landed, so a handful of editors deciding at once all get through.
const TRIES: usize = 5;

/// Why a decision could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("article {0} has no version to decide on")]
    NoArticle(ExternalId),
    #[error("version {version} of article {id} cannot be read as an article: {problem}")]
    Unreadable {
        id: ExternalId,
        version: PromptVersion,
        problem: String,
    },
    #[error(transparent)]
    Print(#[from] ArticleError),
    #[error("{0}")]
    Invalid(String),
    #[error("article {0} kept changing while the decision was being made; try again")]
    Changed(ExternalId),
}

/// What an editor did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Approve,
    Reject,
    Promote,
    Requeue,
    RequeueDead,
}

/// One line of `desk/actions/<id>.ndjson`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub action: Kind,
    pub by: String,
    /// `YYYY-MM-DDTHH:MM:SS.sssZ`.
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An editor's name, as recorded: one line, not empty, at most 64 characters.
pub fn check_name(by: &str) -> Result<String, DecisionError> {
    let name = by.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(DecisionError::Invalid(format!(
            "an editor's name must be one line of 1 to {MAX_NAME} characters"
        )));
    }
    Ok(name.to_owned())
}

/// Appends `action` to the article's record.
pub async fn record(
    store: &ContentStore,
    id: &ExternalId,
    action: &Action,
) -> Result<(), DecisionError> {
    let line = serde_json::to_string(action).map_err(|e| DecisionError::Invalid(e.to_string()))?;
    store.append_action(id, &line).await?;
    Ok(())
}

/// The decisions recorded on an article, oldest first; lines that do not read are skipped.
pub async fn history(store: &ContentStore, id: &ExternalId) -> Result<Vec<Action>, StoreError> {
    Ok(parse_history(&store.read_actions(id).await?))
}

/// The actions in an `actions.ndjson` text.
pub fn parse_history(text: &str) -> Vec<Action> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The version an approval without `--version` means: the one the published copy (`published`)
/// is, else the newest.
async fn default_version(
    store: &ContentStore,
    id: &ExternalId,
    published: Option<&str>,
) -> Result<PromptVersion, DecisionError> {
    let published = published
        .and_then(|text| parse_frontmatter(text).ok())
        .and_then(|fm| PromptVersion::new(fm.ai.version));
    let versions = store.versions(id).await?;
    match published {
        Some(v) if versions.contains(&v) => Ok(v),
        _ => versions
            .last()
            .copied()
            .ok_or_else(|| DecisionError::NoArticle(id.clone())),
    }
}

/// The text `articles/<id>.md` gets when `version_text` is approved by `by` at `at`: the same
/// frontmatter and body, with `draft: false` and `ai.approved`.
pub fn approved_copy(version_text: &str, by: &str, at: DateTime<Utc>) -> Result<String, String> {
    let (_, body) = split_frontmatter(version_text)?;
    let mut frontmatter = parse_frontmatter(version_text).map_err(|e| e.to_string())?;
    frontmatter.draft = false;
    frontmatter.ai.approved = Some(Approval {
        by: by.to_owned(),
        at: timestamp(at),
    });
    Article {
        frontmatter,
        body: body.to_owned(),
    }
    .to_markdown()
    .map_err(|e| e.to_string())
}

/// Publishes `version` (default: the published copy's, else the newest) as approved by `by`;
/// returns the version published.
pub async fn approve(
    store: &ContentStore,
    id: &ExternalId,
    version: Option<PromptVersion>,
    by: &str,
    now: DateTime<Utc>,
) -> Result<PromptVersion, DecisionError> {
    let by = check_name(by)?;
    let asked = version;
    let mut published = None;
    for _ in 0..TRIES {
        let (copy, seen) = store.read_published_seen(id).await?;
        let version = match asked {
            Some(v) => v,
            None => default_version(store, id, copy.as_deref()).await?,
        };
        let text = store.read_version(id, version).await?;
        let copy = approved_copy(&text, &by, now).map_err(|problem| DecisionError::Unreadable {
            id: id.clone(),
            version,
            problem,
        })?;
        if store.publish_if(id, copy, &seen).await? {
            published = Some(version);
            break;
        }
    }
    let version = published.ok_or_else(|| DecisionError::Changed(id.clone()))?;
    record(
        store,
        id,
        &Action {
            action: Kind::Approve,
            by,
            at: timestamp(now),
            version: Some(version.get()),
            reason: None,
        },
    )
    .await?;
    Ok(version)
}

/// Keeps the article unpublished, with a reason. An approval it carried is withdrawn: the
/// published copy becomes its version as written again (a draft stays a draft).
pub async fn reject(
    store: &ContentStore,
    id: &ExternalId,
    reason: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), DecisionError> {
    let by = check_name(by)?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(DecisionError::Invalid(format!(
            "a rejection needs a reason of 1 to {MAX_REASON} characters"
        )));
    }
    let mut withdrawn = None;
    for _ in 0..TRIES {
        let (published, seen) = store.read_published_seen(id).await?;
        let published = published.ok_or_else(|| DecisionError::NoArticle(id.clone()))?;
        let frontmatter = parse_frontmatter(&published).ok();
        let approved = frontmatter.as_ref().filter(|fm| fm.ai.approved.is_some());
        let unchanged = match approved.and_then(|fm| PromptVersion::new(fm.ai.version)) {
            Some(version) => store.promote_if(id, version, &seen).await?,
            None => true,
        };
        if unchanged {
            withdrawn = Some(frontmatter);
            break;
        }
    }
    let frontmatter = withdrawn.ok_or_else(|| DecisionError::Changed(id.clone()))?;
    record(
        store,
        id,
        &Action {
            action: Kind::Reject,
            by,
            at: timestamp(now),
            version: frontmatter.map(|fm| fm.ai.version),
            reason: Some(reason.to_owned()),
        },
    )
    .await
}

/// Republishes `version` as written (a rollback) and records who did it.
pub async fn promote(
    store: &ContentStore,
    id: &ExternalId,
    version: PromptVersion,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), DecisionError> {
    let by = check_name(by)?;
    store.promote(id, version).await?;
    record(
        store,
        id,
        &Action {
            action: Kind::Promote,
            by,
            at: timestamp(now),
            version: Some(version.get()),
            reason: None,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERSION: &str = "---\ntitle: 'no'\ndescription: A story.\npublishedAt: '2026-02-05T17:45:43.000Z'\nupdatedAt: '2026-02-06T10:00:00.000Z'\nlang: 'no'\nexternalId: '42'\nsource:\n  name: Feed\n  key: feed\n  type: RSS\ncategory: BTC\ntags:\n  - BTC\nstickyWeight: 0\nsentiment: NEUTRAL\nscore: 0\ndraft: true\nai:\n  rewritten: true\n  expandedAt: '2026-02-06T10:00:00.000Z'\n  version: 2\n  model: m\n  promptTokens: 10\n  completionTokens: 5\n  flags:\n    - 'unsupported claims: 42%'\n  unsupportedClaims:\n    - '42%'\n---\n## Overview\n\nText.\n";

    #[test]
    fn an_approved_copy_changes_only_draft_and_adds_who_and_when() {
        // Arrange
        let at = DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);

        // Act
        let copy = approved_copy(VERSION, "ana", at).unwrap();

        // Assert
        let expected = VERSION.replace("draft: true", "draft: false").replace(
            "    - '42%'\n---",
            "    - '42%'\n  approved:\n    by: ana\n    at: '2026-03-01T09:00:00.000Z'\n---",
        );
        assert_eq!(copy, expected);
        let problems = crate::check::contract::check_article(&copy, None, Some(2));
        assert!(
            problems.iter().all(|p| !p.contains("approved")),
            "{problems:?}"
        );
    }

    #[test]
    fn names_must_be_one_short_line() {
        assert_eq!(check_name(" ana ").unwrap(), "ana");
        assert!(check_name("").is_err());
        assert!(check_name("a\nb").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
    }
}
