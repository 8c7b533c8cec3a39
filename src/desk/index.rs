//! The desk's in-memory index of the published copies: what the lists and the overview read,
//! so that a request never parses the archive.
//!
//! Built at start from every `articles/<id>.md` frontmatter (and `desk/actions/`), then kept
//! fresh by a rescan that lists the files with their modification times and re-reads only
//! those that changed (a listing of 100,000 names is cheap; parsing them is not). The desk's
//! own actions refresh their article at once. A few hundred bytes an article.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use serde::Serialize;

use super::decision::{self, Kind};
use super::view::reason_kind as flag_kind;
use crate::article::parse_frontmatter;
use crate::job::ExternalId;
use crate::store::{ContentStore, StoreError};

/// What the lists show of one article.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: String,
    pub title: String,
    pub source_name: String,
    pub source_key: String,
    pub lang: String,
    pub published_at: String,
    pub updated_at: String,
    pub draft: bool,
    pub flags: Vec<String>,
    pub claims: usize,
    pub version: u32,
    pub approved_by: Option<String>,
    /// The reason of the latest rejection, unless an approval came after it.
    pub rejected: Option<String>,
}

impl Entry {
    /// `YYYY-MM-DD` of `updatedAt`: the day the version was written.
    pub fn day(&self) -> &str {
        self.updated_at.get(..10).unwrap_or("")
    }
}

/// Every published copy's [`Entry`], with the file times it was read at.
#[derive(Debug, Default)]
pub struct Index {
    entries: HashMap<ExternalId, Entry>,
    article_stamps: HashMap<ExternalId, SystemTime>,
    action_stamps: HashMap<ExternalId, SystemTime>,
}

/// Drafts-list filters; empty strings filter nothing.
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
#[serde(default)]
pub struct Filter {
    pub reason: String,
    pub version: String,
    pub source: String,
    pub lang: String,
    /// `YYYY-MM-DD`: written on that day.
    pub date: String,
    /// `open` (default: not rejected), `rejected`, or `all`.
    pub status: String,
    pub page: usize,
}

/// What changed on disk since the index was last brought up to date: worked out under a read
/// lock, read with no lock held, applied under a short write lock, so that pages are not held
/// up while a mass reprocess rewrites thousands of files.
#[derive(Debug, Default)]
pub struct Changes {
    articles: HashMap<ExternalId, SystemTime>,
    actions: HashMap<ExternalId, SystemTime>,
    /// Each article to read again, and whether it has a decision record.
    changed: Vec<(ExternalId, bool)>,
}

impl Changes {
    /// Reads the entries of the changed articles (`None`: gone or unreadable).
    pub async fn load(
        &self,
        store: &ContentStore,
    ) -> Result<Vec<(ExternalId, Option<Entry>)>, StoreError> {
        let mut loaded = Vec::with_capacity(self.changed.len());
        for (id, decided) in &self.changed {
            loaded.push((id.clone(), read_entry(store, id, *decided).await?));
        }
        Ok(loaded)
    }
}

impl Index {
    /// Re-reads what changed since the last refresh, holding `self` throughout (at start, before
    /// anyone reads it); returns how many articles were read.
    pub async fn refresh(&mut self, store: &ContentStore) -> Result<usize, StoreError> {
        let changes = self.changes(store.article_stamps().await?, store.action_stamps().await?);
        let loaded = changes.load(store).await?;
        Ok(self.apply(changes, loaded))
    }

    /// The articles whose published copy or decision record changed since the last refresh.
    pub fn changes(
        &self,
        articles: Vec<(ExternalId, SystemTime)>,
        actions: Vec<(ExternalId, SystemTime)>,
    ) -> Changes {
        let articles: HashMap<ExternalId, SystemTime> = articles.into_iter().collect();
        let actions: HashMap<ExternalId, SystemTime> = actions.into_iter().collect();
        let mut changed: Vec<ExternalId> = articles
            .iter()
            .filter(|(id, stamp)| self.article_stamps.get(*id) != Some(*stamp))
            .map(|(id, _)| id.clone())
            .collect();
        changed.extend(
            actions
                .iter()
                .filter(|(id, stamp)| {
                    self.action_stamps.get(*id) != Some(*stamp) && articles.contains_key(*id)
                })
                .map(|(id, _)| id.clone()),
        );
        changed.sort();
        changed.dedup();
        // Most articles have no decisions: no need to look for a record that is not there.
        let changed = changed
            .into_iter()
            .map(|id| {
                let decided = actions.contains_key(&id);
                (id, decided)
            })
            .collect();
        Changes {
            articles,
            actions,
            changed,
        }
    }

    /// Applies what [`Changes::load`] read; returns how many articles were read. An entry that
    /// an action refreshed meanwhile may be replaced by an older read: its file time then
    /// differs from the one recorded here, and the next refresh reads it again.
    pub fn apply(&mut self, changes: Changes, loaded: Vec<(ExternalId, Option<Entry>)>) -> usize {
        let count = loaded.len();
        for (id, entry) in loaded {
            self.put(&id, entry);
        }
        self.entries
            .retain(|id, _| changes.articles.contains_key(id));
        self.article_stamps = changes.articles;
        self.action_stamps = changes.actions;
        count
    }

    /// Sets one article's entry (`None`: removes it).
    pub fn put(&mut self, id: &ExternalId, entry: Option<Entry>) {
        match entry {
            Some(e) => {
                self.entries.insert(id.clone(), e);
            }
            None => {
                self.entries.remove(id);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Drafts matching `filter`, newest first: one page of `per_page`, and how many matched.
    pub fn drafts(&self, filter: &Filter, per_page: usize) -> (Vec<Entry>, usize) {
        let mut found: Vec<&Entry> = self
            .entries
            .values()
            .filter(|e| e.draft && filter.matches(e))
            .collect();
        let total = found.len();
        found.sort_unstable_by(|a, b| {
            b.updated_at
                .cmp(&a.updated_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        let page = found
            .into_iter()
            .skip(filter.page.saturating_mul(per_page))
            .take(per_page)
            .cloned()
            .collect();
        (page, total)
    }

    /// Counts for the overview.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for e in self.entries.values() {
            let day = s.days.entry(e.day().to_owned()).or_default();
            let version = s.versions.entry(e.version).or_default();
            if e.draft {
                day.drafts += 1;
                version.drafts += 1;
                // Drafts per kind: an article with three unsupported claims counts once.
                let mut kinds: Vec<&str> = e.flags.iter().map(|f| flag_kind(f)).collect();
                kinds.sort_unstable();
                kinds.dedup();
                for kind in kinds {
                    *s.reasons.entry(kind.to_owned()).or_default() += 1;
                }
            } else {
                day.published += 1;
                version.published += 1;
            }
            if e.approved_by.is_some() {
                s.approved += 1;
            }
        }
        s
    }

    /// The distinct values the filters offer: reasons, versions, sources, languages.
    pub fn choices(&self) -> Choices {
        let mut c = Choices::default();
        for e in self.entries.values().filter(|e| e.draft) {
            for f in &e.flags {
                c.reasons.insert(flag_kind(f).to_owned(), ());
            }
            c.versions.insert(e.version, ());
            c.sources.insert(e.source_key.clone(), ());
            c.langs.insert(e.lang.clone(), ());
        }
        c
    }
}

impl Filter {
    fn matches(&self, e: &Entry) -> bool {
        let status_ok = match self.status.as_str() {
            "all" => true,
            "rejected" => e.rejected.is_some(),
            _ => e.rejected.is_none(),
        };
        status_ok
            && (self.reason.is_empty() || e.flags.iter().any(|f| flag_kind(f) == self.reason))
            && (self.version.is_empty() || e.version.to_string() == self.version)
            && (self.source.is_empty() || e.source_key == self.source)
            && (self.lang.is_empty() || e.lang == self.lang)
            && (self.date.is_empty() || e.day() == self.date)
    }
}

/// Published and draft counts.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Counts {
    pub published: usize,
    pub drafts: usize,
}

/// The overview's numbers.
#[derive(Debug, Default)]
pub struct Summary {
    pub days: BTreeMap<String, Counts>,
    pub versions: BTreeMap<u32, Counts>,
    pub reasons: BTreeMap<String, usize>,
    pub approved: usize,
}

/// Filter choices, sorted.
#[derive(Debug, Default)]
pub struct Choices {
    pub reasons: BTreeMap<String, ()>,
    pub versions: BTreeMap<u32, ()>,
    pub sources: BTreeMap<String, ()>,
    pub langs: BTreeMap<String, ()>,
}

/// One article's entry: its published copy's frontmatter, and its decisions when `decided`.
/// `None` when the copy is gone or its frontmatter does not read.
pub async fn read_entry(
    store: &ContentStore,
    id: &ExternalId,
    decided: bool,
) -> Result<Option<Entry>, StoreError> {
    let Some(text) = store.read_published(id).await? else {
        return Ok(None);
    };
    let Ok(fm) = parse_frontmatter(&text) else {
        return Ok(None);
    };
    let history = if decided {
        decision::history(store, id).await?
    } else {
        Vec::new()
    };
    let mut rejected = None;
    for action in history {
        match action.action {
            Kind::Reject => rejected = action.reason,
            Kind::Approve | Kind::Promote | Kind::Requeue => rejected = None,
            Kind::RequeueDead => {}
        }
    }
    Ok(Some(Entry {
        id: id.to_string(),
        title: fm.title,
        source_name: fm.source.name,
        source_key: fm.source.key,
        lang: fm.lang,
        published_at: fm.published_at,
        updated_at: fm.updated_at,
        draft: fm.draft,
        claims: fm.ai.unsupported_claims.len(),
        flags: fm.ai.flags,
        version: fm.ai.version,
        approved_by: fm.ai.approved.map(|a| a.by),
        rejected,
    }))
}
