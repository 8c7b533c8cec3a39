//! The archive's promises kept in a bucket, written once on [`Bucket`]'s primitives (get, head,
//! put, put if absent, put if unchanged, list): one version per job across hosts, a published
//! copy that is always one of the versions, a redelivery that completes what a crash left out,
//! decisions that no concurrent writer loses, and the cost index ([`super::index`]).
//!
//! Order of a job's objects: source, version, the version's cost index entry, published copy —
//! as in the folder, with the entry after the version whose ETag it names. A worker killed
//! between any two leaves whole objects; the redelivered job finds its version and
//! [`Bucket::ensure_complete`] writes what is missing, without asking the LLM again.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::time::SystemTime;

use futures_util::StreamExt as _;

use crate::job::{ExternalId, PromptVersion};

use super::index::{COST_INDEX, Figures, describes, entry_key, parse_entry};
use super::s3::Bucket;
use super::{
    Counted, PLAN_FILE, Seen, SeenAs, StoreError, Unreadable, actions_key, article_key, result_key,
    source_key, version_key,
};

/// Versions read at once where the cost index has no entry: each is a round trip.
const READ_AHEAD: usize = 32;

/// Tries of a decision record's append against writers that keep coming first.
const APPEND_TRIES: u32 = 8;

impl Bucket {
    pub(super) fn has_version(
        &self,
        id: &ExternalId,
        version: PromptVersion,
    ) -> impl Future<Output = Result<bool, StoreError>> + use<> {
        let (bucket, key) = (self.clone(), version_key(id, version));
        async move { Ok(bucket.head(&key).await?.is_some()) }
    }

    /// Writes the source, the version, its cost index entry and the published copy. Without
    /// `force` the version is created only if absent; `Ok(false)` when it existed (another
    /// writer won the race), after completing its other objects.
    pub(super) async fn create(
        &self,
        id: &ExternalId,
        version: PromptVersion,
        markdown: String,
        source_json: Vec<u8>,
        force: bool,
    ) -> Result<bool, StoreError> {
        self.put(&source_key(id), source_json.clone()).await?;
        let key = version_key(id, version);
        let bytes = markdown.into_bytes();
        let e_tag = if force {
            self.put_tagged(&key, bytes.clone()).await?
        } else if let Some(e_tag) = self.create_tagged(&key, bytes.clone()).await? {
            e_tag
        } else {
            self.ensure_complete(id, version, source_json).await?;
            return Ok(false);
        };
        self.index(id, version, e_tag.as_deref(), &bytes).await?;
        // The last write wins, and every write is of a version: the published copy is always
        // one of them, the one written or promoted last.
        self.put(&article_key(id), bytes).await?;
        Ok(true)
    }

    /// Writes the cost index entry of `version`, whose object has `e_tag` and holds `bytes`.
    /// A version whose frontmatter does not read gets none: `cost` reads it and says why.
    async fn index(
        &self,
        id: &ExternalId,
        version: PromptVersion,
        e_tag: Option<&str>,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let figures = std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| Figures::of(text).ok());
        if let Some(key) = figures.and_then(|f| entry_key(id, version, e_tag?, &f)) {
            self.put(&key, Vec::new()).await?;
        }
        Ok(())
    }

    /// After a redelivery found `version`: writes a missing source, and the version as the
    /// published copy when that is missing or older than the version and different from it.
    /// The copy is replaced only if unchanged since it was looked at (`If-Match`), so a promote
    /// or a newer version written meanwhile by another host stays. A missing cost index entry
    /// is written too (not counted as a repair: it is not part of the layout).
    pub(super) async fn ensure_complete(
        &self,
        id: &ExternalId,
        version: PromptVersion,
        source_json: Vec<u8>,
    ) -> Result<bool, StoreError> {
        let mut wrote = false;
        if self.head(&source_key(id)).await?.is_none() {
            self.put(&source_key(id), source_json).await?;
            wrote = true;
        }
        let key = version_key(id, version);
        let Some(written) = self.head(&key).await? else {
            return Ok(wrote);
        };
        let entries = self.list(&format!("{COST_INDEX}/{id}")).await?;
        let indexed = entries.iter().any(|name| {
            parse_entry(&format!("{id}/{name}")).is_some_and(|(_, v, tag, _)| {
                v == version && describes(&tag, written.e_tag.as_deref())
            })
        });
        if !indexed && let Some((text, meta)) = self.get_with_meta(&key).await? {
            self.index(id, version, meta.e_tag.as_deref(), &text)
                .await?;
        }
        let published = self.head(&article_key(id)).await?;
        // S3 times have a one-second grain; equal contents (ETags) settle a tie.
        let stale = published
            .as_ref()
            .is_none_or(|p| p.e_tag != written.e_tag && p.last_modified <= written.last_modified);
        if !stale {
            return Ok(wrote);
        }
        let Some(text) = self.get(&key).await? else {
            return Ok(wrote);
        };
        let replaced = match published {
            None => self.put_if_absent(&article_key(id), text).await?,
            Some(p) => self.put_if_match(&article_key(id), text, p.e_tag).await?,
        };
        Ok(wrote || replaced)
    }

    /// Makes `version` the published copy.
    pub(super) async fn promote(
        &self,
        id: &ExternalId,
        version: PromptVersion,
    ) -> Result<(), StoreError> {
        let text = self.read_version(id, version).await?;
        self.publish(id, text).await
    }

    /// One article's versions, oldest first (sorted as numbers: keys sort `v10` before `v2`).
    pub(super) async fn versions(&self, id: &ExternalId) -> Result<Vec<PromptVersion>, StoreError> {
        let mut versions: Vec<PromptVersion> = self
            .list(&format!("versions/{id}"))
            .await?
            .iter()
            .filter_map(|name| PromptVersion::parse(name.strip_suffix(".md")?).ok())
            .collect();
        versions.sort();
        Ok(versions)
    }

    /// Every article's versions from one listing of `versions/` (a request per 1,000 keys).
    pub(super) async fn all_versions(
        &self,
    ) -> Result<BTreeMap<ExternalId, Vec<PromptVersion>>, StoreError> {
        let mut all: BTreeMap<ExternalId, Vec<PromptVersion>> = BTreeMap::new();
        for (id, v, _) in self.listed_versions().await? {
            all.entry(id).or_default().push(v);
        }
        for versions in all.values_mut() {
            versions.sort();
        }
        Ok(all)
    }

    /// Every version from one listing of `versions/`, with its ETag, in order of id and
    /// version; keys that are not ours are left out.
    async fn listed_versions(
        &self,
    ) -> Result<Vec<(ExternalId, PromptVersion, Option<String>)>, StoreError> {
        let mut listed: Vec<_> = self
            .list_tagged("versions")
            .await?
            .into_iter()
            .filter_map(|(name, e_tag)| {
                let (id, file) = name.split_once('/')?;
                let version = PromptVersion::parse(file.strip_suffix(".md")?).ok()?;
                Some((ExternalId::parse(id).ok()?, version, e_tag))
            })
            .collect();
        listed.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        Ok(listed)
    }

    pub(super) async fn versioned_ids(&self) -> Result<Vec<ExternalId>, StoreError> {
        Ok(self.all_versions().await?.into_keys().collect())
    }

    pub(super) async fn latest_versions(
        &self,
    ) -> Result<BTreeMap<ExternalId, PromptVersion>, StoreError> {
        Ok(self
            .all_versions()
            .await?
            .into_iter()
            .filter_map(|(id, versions)| Some((id, *versions.last()?)))
            .collect())
    }

    pub(super) async fn version_counts(
        &self,
    ) -> Result<BTreeMap<PromptVersion, usize>, StoreError> {
        let mut counts = BTreeMap::new();
        for (_, v, _) in self.listed_versions().await? {
            *counts.entry(v).or_insert(0) += 1;
        }
        Ok(counts)
    }

    /// Every version's figures from a listing of `versions/` and one of the cost index; a
    /// version the index does not describe (no entry, or one naming another ETag: written
    /// before the index, its entry lost in a crash, or rewritten with `force`) is read whole,
    /// and its entry written so that the next run need not. A failure to write the entry is
    /// let go: the figures are right, and a key that may only read can still report.
    pub(super) async fn figures(&self) -> Result<Vec<Counted>, StoreError> {
        let (listed, entries) = tokio::try_join!(self.listed_versions(), self.list(COST_INDEX))?;
        let mut indexed: HashMap<(ExternalId, PromptVersion), Vec<(String, Figures)>> =
            HashMap::new();
        for (id, v, tag, figures) in entries.iter().filter_map(|name| parse_entry(name)) {
            indexed.entry((id, v)).or_default().push((tag, figures));
        }
        let counted = futures_util::stream::iter(listed)
            .map(|(id, version, e_tag)| {
                let known = indexed.get(&(id.clone(), version)).and_then(|entries| {
                    entries
                        .iter()
                        .find(|(tag, _)| describes(tag, e_tag.as_deref()))
                        .map(|(_, figures)| figures.clone())
                });
                async move {
                    let figures = match known {
                        Some(figures) => Ok(figures),
                        None => self.read_figures(&id, version).await,
                    };
                    Counted {
                        path: self.root().join(version_key(&id, version)),
                        figures: figures.map(|f| (version, f)),
                    }
                }
            })
            .buffered(READ_AHEAD)
            .collect()
            .await;
        Ok(counted)
    }

    /// One version's figures read whole, its index entry written on the way.
    async fn read_figures(
        &self,
        id: &ExternalId,
        version: PromptVersion,
    ) -> Result<Figures, Unreadable> {
        let key = version_key(id, version);
        let (bytes, meta) = match self.get_with_meta(&key).await {
            Ok(Some(got)) => got,
            Ok(None) => {
                return Err(Unreadable::Read(StoreError::NoSuchVersion {
                    id: id.clone(),
                    version,
                }));
            }
            Err(e) => return Err(Unreadable::Read(e)),
        };
        let text =
            String::from_utf8(bytes).map_err(|e| Unreadable::Read(self.invalid_text(&key, e)))?;
        let figures = Figures::of(&text).map_err(Unreadable::Frontmatter)?;
        if let Err(e) = self
            .index(id, version, meta.e_tag.as_deref(), text.as_bytes())
            .await
        {
            tracing::debug!("the cost index entry of {key} was not written: {e}");
        }
        Ok(figures)
    }

    /// The ids with a stored source, sorted; keys that are not ours are left out.
    pub(super) async fn ids(&self) -> Result<Vec<ExternalId>, StoreError> {
        self.ids_under("sources", ".json").await
    }

    /// The ids with a published copy, sorted.
    pub(super) async fn published_ids(&self) -> Result<Vec<ExternalId>, StoreError> {
        self.ids_under("articles", ".md").await
    }

    async fn ids_under(&self, folder: &str, suffix: &str) -> Result<Vec<ExternalId>, StoreError> {
        let mut ids: Vec<ExternalId> = self
            .list(folder)
            .await?
            .iter()
            .filter_map(|name| ExternalId::parse(name.strip_suffix(suffix)?).ok())
            .collect();
        ids.sort();
        Ok(ids)
    }

    pub(super) async fn read_version(
        &self,
        id: &ExternalId,
        version: PromptVersion,
    ) -> Result<String, StoreError> {
        let key = version_key(id, version);
        let Some(bytes) = self.get(&key).await? else {
            return Err(StoreError::NoSuchVersion {
                id: id.clone(),
                version,
            });
        };
        String::from_utf8(bytes).map_err(|e| self.invalid_text(&key, e))
    }

    fn invalid_text(&self, key: &str, e: std::string::FromUtf8Error) -> StoreError {
        StoreError::Io {
            op: "read",
            path: self.root().join(key),
            source: io::Error::new(io::ErrorKind::InvalidData, e),
        }
    }

    /// An object that must exist; a missing one is the folder's "not found" error, which
    /// callers already tell apart.
    pub(super) async fn read_required(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        match self.get(key).await? {
            Some(bytes) => Ok(bytes),
            None => Err(StoreError::Io {
                op: "read",
                path: self.root().join(key),
                source: io::Error::from(io::ErrorKind::NotFound),
            }),
        }
    }

    /// The object's bytes; `None` when there is none.
    pub(super) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get_with_meta(key).await?.map(|(bytes, _)| bytes))
    }

    /// The published copy as text, and its ETag for a later [`Self::publish_if`].
    pub(super) async fn read_published(
        &self,
        id: &ExternalId,
    ) -> Result<(Option<String>, Seen), StoreError> {
        let key = article_key(id);
        let Some((bytes, meta)) = self.get_with_meta(&key).await? else {
            return Ok((None, Seen(SeenAs::Absent)));
        };
        let text = String::from_utf8(bytes).map_err(|e| self.invalid_text(&key, e))?;
        Ok((Some(text), Seen(SeenAs::Tag(meta.e_tag))))
    }

    pub(super) async fn publish(
        &self,
        id: &ExternalId,
        markdown: String,
    ) -> Result<(), StoreError> {
        self.put(&article_key(id), markdown.into_bytes()).await
    }

    /// Replaces the published copy only if it is still as `seen`; `Ok(false)` when not.
    pub(super) async fn publish_if(
        &self,
        id: &ExternalId,
        markdown: String,
        seen: &Seen,
    ) -> Result<bool, StoreError> {
        let (key, bytes) = (article_key(id), markdown.into_bytes());
        match &seen.0 {
            SeenAs::Folder => self.put(&key, bytes).await.map(|()| true),
            SeenAs::Absent => self.put_if_absent(&key, bytes).await,
            SeenAs::Tag(e_tag) => self.put_if_match(&key, bytes, e_tag.clone()).await,
        }
    }

    pub(super) async fn article_stamps(&self) -> Result<Vec<(ExternalId, SystemTime)>, StoreError> {
        Ok(stamped_ids(self.list_stamped("articles").await?, ".md"))
    }

    pub(super) async fn action_stamps(&self) -> Result<Vec<(ExternalId, SystemTime)>, StoreError> {
        Ok(stamped_ids(
            self.list_stamped("desk/actions").await?,
            ".ndjson",
        ))
    }

    pub(super) async fn read_actions(&self, id: &ExternalId) -> Result<String, StoreError> {
        Ok(self
            .get(&actions_key(id))
            .await?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default())
    }

    /// Read, append, write back only if unchanged (`If-Match`, or `If-None-Match: *` for a
    /// new record); when another writer came first, again from its record.
    pub(super) async fn append_action(
        &self,
        id: &ExternalId,
        line: &str,
    ) -> Result<(), StoreError> {
        let key = actions_key(id);
        for _ in 0..APPEND_TRIES {
            let got = self.get_with_meta(&key).await?;
            let mut text = got
                .as_ref()
                .map(|(b, _)| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            text.push_str(line);
            text.push('\n');
            let written = match got {
                None => self.put_if_absent(&key, text.into_bytes()).await?,
                Some((_, meta)) => {
                    self.put_if_match(&key, text.into_bytes(), meta.e_tag)
                        .await?
                }
            };
            if written {
                return Ok(());
            }
        }
        Err(StoreError::Remote {
            op: "append",
            location: self.root().join(&key).display().to_string(),
            reason: format!("changed by other writers {APPEND_TRIES} times in a row"),
        })
    }

    pub(super) async fn save_result(
        &self,
        id: &ExternalId,
        version: PromptVersion,
        json: Vec<u8>,
    ) -> Result<(), StoreError> {
        self.put(&result_key(id, version), json).await
    }

    pub(super) async fn save_plan(&self, json: Vec<u8>) -> Result<(), StoreError> {
        self.put(PLAN_FILE, json).await
    }
}

/// The ids among listed names ending in `suffix`, with their stamps; other names are left out.
fn stamped_ids(listed: Vec<(String, SystemTime)>, suffix: &str) -> Vec<(ExternalId, SystemTime)> {
    listed
        .into_iter()
        .filter_map(|(name, at)| Some((ExternalId::parse(name.strip_suffix(suffix)?).ok()?, at)))
        .collect()
}
