//! The archive's promises kept in a bucket, written once on [`Bucket`]'s primitives (get, head,
//! put, put if absent, put if unchanged, list): one version per job across hosts, a published
//! copy that is always one of the versions, a redelivery that completes what a crash left out.
//!
//! Order of a job's objects: source, version, published copy — as in the folder. A worker
//! killed between any two leaves whole objects; the redelivered job finds its version and
//! [`Bucket::ensure_complete`] writes what is missing, without asking the LLM again.

use std::collections::BTreeMap;
use std::io;

use crate::job::{ExternalId, PromptVersion};

use super::s3::Bucket;
use super::{StoreError, article_key, source_key, version_key};

impl Bucket {
    /// Writes the source, the version and the published copy. Without `force` the version is
    /// created only if absent; `Ok(false)` when it existed (another writer won the race), after
    /// completing its other objects.
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
        if force {
            self.put(&key, bytes.clone()).await?;
        } else if !self.put_if_absent(&key, bytes.clone()).await? {
            self.ensure_complete(id, version, source_json).await?;
            return Ok(false);
        }
        // The last write wins, and every write is of a version: the published copy is always
        // one of them, the one written or promoted last.
        self.put(&article_key(id), bytes).await?;
        Ok(true)
    }

    /// After a redelivery found `version`: writes a missing source, and the version as the
    /// published copy when that is missing or older than the version and different from it.
    /// The copy is replaced only if unchanged since it was looked at (`If-Match`), so a promote
    /// or a newer version written meanwhile by another host stays.
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
        let published = self.head(&article_key(id)).await?;
        // S3 times have a one-second grain; equal contents (ETags) settle a tie.
        let stale = published
            .as_ref()
            .is_none_or(|p| p.e_tag != written.e_tag && p.last_modified <= written.last_modified);
        if !stale {
            return Ok(wrote);
        }
        let Some((text, _)) = self.get(&key).await? else {
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
        let Some((text, _)) = self.get(&version_key(id, version)).await? else {
            return Err(StoreError::NoSuchVersion {
                id: id.clone(),
                version,
            });
        };
        self.put(&article_key(id), text).await
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
        for name in self.list("versions").await? {
            let Some((id, file)) = name.split_once('/') else {
                continue;
            };
            let (Ok(id), Some(Ok(v))) = (
                ExternalId::parse(id),
                file.strip_suffix(".md").map(PromptVersion::parse),
            ) else {
                continue;
            };
            all.entry(id).or_default().push(v);
        }
        for versions in all.values_mut() {
            versions.sort();
        }
        Ok(all)
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
        let Some((bytes, _)) = self.get(&key).await? else {
            return Err(StoreError::NoSuchVersion {
                id: id.clone(),
                version,
            });
        };
        String::from_utf8(bytes).map_err(|e| StoreError::Io {
            op: "read",
            path: self.root().join(&key),
            source: io::Error::new(io::ErrorKind::InvalidData, e),
        })
    }

    /// An object that must exist; a missing one is the folder's "not found" error, which
    /// callers already tell apart.
    pub(super) async fn read_required(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        match self.get(key).await? {
            Some((bytes, _)) => Ok(bytes),
            None => Err(StoreError::Io {
                op: "read",
                path: self.root().join(key),
                source: io::Error::from(io::ErrorKind::NotFound),
            }),
        }
    }
}
