//! The on-disk layout under `REWRITER_OUT` and the atomic-write guarantee.
//!
//! ```text
//! versions/<id>/v<N>.md   the article as written with prompt version N (never overwritten
//!                         unless the job says force)
//! articles/<id>.md        a copy of the version written or promoted most recently
//! sources/<id>.json       the headline as last received, for reprocessing
//! desk/actions/<id>.ndjson  editors' decisions on the article (approve, reject, …), who, when
//! ```
//!
//! Two backends hold this layout, chosen by `REWRITER_OUT`: a folder (the default) or an
//! S3-compatible bucket (`s3://BUCKET[/PREFIX]`, [`s3`]), byte for byte the same under the root.
//! They are the two arms of one enum rather than two implementations of a trait object: the
//! folder's hot path (one `has_version`, one `save` a job) stays a direct call into the group
//! commit below, with no boxed future, and each public method shows both backends side by side.
//!
//! In a folder every file is written whole or not at all: a temporary file beside the target,
//! flushed to disk, renamed, the rename flushed. Writes go through one thread that commits the
//! saves waiting for it as a group, with one pair of flushes for all ([`commit`]). Reads,
//! listings and checks run on tokio's blocking pool, off the reactor. In a bucket every put is
//! whole by the store's own guarantee; a version is created with `If-None-Match: *` so that of
//! two hosts racing on one job exactly one writes it ([`ContentStore::create`]), and the
//! published copy is repaired with `If-Match` ([`ContentStore::ensure_complete`]). Paths and
//! keys are built only from a validated [`ExternalId`] and a [`PromptVersion`].

mod bucket;
mod commit;
pub mod feeds;
pub mod s3;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use crate::job::{ExternalId, PromptVersion};

use commit::{Committer, Files};
use futures_util::future::Either;
use s3::Bucket;

const TMP_SUFFIX: &str = ".tmp";

/// The file naming an evaluation's parameters in its scratch folder ([`ContentStore::plan_path`]).
pub const PLAN_FILE: &str = "eval.json";

/// A storage failure. All are worth retrying later: a full or read-only disk can be fixed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("version {version} of article {id} does not exist")]
    NoSuchVersion {
        id: ExternalId,
        version: PromptVersion,
    },
    #[error("the blocking file task failed: {0}")]
    Join(String),
    /// `REWRITER_OUT` names a store that cannot be used: unknown scheme, no such bucket, no
    /// credentials, unreachable endpoint.
    #[error("REWRITER_OUT {location}: {problem}")]
    Config { location: String, problem: String },
    /// A request to the object store failed after its retries.
    #[error("{op} {location}: {reason}")]
    Remote {
        op: &'static str,
        location: String,
        reason: String,
    },
}

impl StoreError {
    fn io(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError + use<> {
        let path = path.to_owned();
        move |source| StoreError::Io { op, path, source }
    }
}

/// What [`ContentStore::save`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub version_path: PathBuf,
    pub article_path: PathBuf,
}

/// What [`ContentStore::create`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    Written(Saved),
    /// The version existed (another host wrote it first); the rest of its files were
    /// completed as [`ContentStore::ensure_complete`] does.
    AlreadyWritten,
}

/// The article archive: a folder or a bucket.
#[derive(Debug, Clone)]
pub struct ContentStore {
    /// The folder, or `s3://bucket/prefix` (for messages and the `*_path` methods).
    root: PathBuf,
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Folder(Committer),
    Bucket(Bucket),
}

/// Keys relative to the root: the same strings as the folder's relative paths.
fn version_key(id: &ExternalId, version: PromptVersion) -> String {
    format!("versions/{id}/{}.md", version.dir_name())
}

fn article_key(id: &ExternalId) -> String {
    format!("articles/{id}.md")
}

fn source_key(id: &ExternalId) -> String {
    format!("sources/{id}.json")
}

fn actions_key(id: &ExternalId) -> String {
    format!("desk/actions/{id}.ndjson")
}

/// The ids among listed names ending in `suffix`, with their stamps; other names are left out.
fn stamped_ids(listed: Vec<(String, SystemTime)>, suffix: &str) -> Vec<(ExternalId, SystemTime)> {
    listed
        .into_iter()
        .filter_map(|(name, at)| Some((ExternalId::parse(name.strip_suffix(suffix)?).ok()?, at)))
        .collect()
}

fn result_key(id: &ExternalId, version: PromptVersion) -> String {
    format!("results/{id}/{}.json", version.dir_name())
}

/// Whether an archive may exist at `location`, asked without creating one: a folder that
/// exists, or any URL (which [`ContentStore::open`] then checks, or refuses). Reports use it so
/// as not to create an output folder where there is none.
pub fn exists(location: &Path) -> bool {
    s3::is_bucket(location) || s3::unknown_scheme(location).is_some() || location.is_dir()
}

impl ContentStore {
    /// Opens (creating) the layout under `root` and removes temporary files that a killed
    /// process on this host left behind.
    /// `s3://bucket/prefix` opens the bucket instead, checking that it answers.
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root: PathBuf = root.into();
        if let Some(scheme) = s3::unknown_scheme(&root) {
            return Err(StoreError::Config {
                location: root.display().to_string(),
                problem: format!(
                    "unknown scheme {scheme}://; give a folder or s3://BUCKET[/PREFIX]"
                ),
            });
        }
        if let Some(location) = root.to_str().filter(|_| s3::is_bucket(&root)) {
            let bucket = Bucket::open(location).await?;
            return Ok(Self {
                root: bucket.root(),
                backend: Backend::Bucket(bucket),
            });
        }
        let dirs = ["articles", "versions", "sources"].map(|d| root.join(d));
        blocking(move || {
            for path in &dirs {
                fs::create_dir_all(path).map_err(StoreError::io("create", path))?;
            }
            sweep_orphaned_temporaries(&root);
            let committer = Committer::start(&root, &dirs)?;
            Ok(Self {
                root,
                backend: Backend::Folder(committer),
            })
        })
        .await
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn version_path(&self, id: &ExternalId, version: PromptVersion) -> PathBuf {
        self.root
            .join("versions")
            .join(id.as_ref())
            .join(format!("{}.md", version.dir_name()))
    }

    pub fn article_path(&self, id: &ExternalId) -> PathBuf {
        self.root.join("articles").join(format!("{id}.md"))
    }

    pub fn source_path(&self, id: &ExternalId) -> PathBuf {
        self.root.join("sources").join(format!("{id}.json"))
    }

    /// Whether version `version` of the article exists. The check starts on the blocking pool
    /// at this call, not at the first poll: the caller can do other work while it runs and
    /// await the answer after.
    pub fn has_version(
        &self,
        id: &ExternalId,
        version: PromptVersion,
    ) -> impl Future<Output = Result<bool, StoreError>> + use<> {
        if let Backend::Bucket(bucket) = &self.backend {
            let (bucket, key) = (bucket.clone(), version_key(id, version));
            return Either::Right(async move { Ok(bucket.head(&key).await?.is_some()) });
        }
        let path = self.version_path(id, version);
        Either::Left(blocking(move || match fs::metadata(&path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::io("stat", &path)(e)),
        }))
    }

    /// Writes a job's files like [`Self::save`], except that without `force` a version that
    /// exists already is not replaced: in a bucket the version is created with `If-None-Match:
    /// *`, so of two hosts racing on one job exactly one writes it, and the other completes the
    /// rest and reports [`Created::AlreadyWritten`]. (A folder is one host's: its saves replace,
    /// as they always have.)
    pub async fn create(
        &self,
        id: &ExternalId,
        version: PromptVersion,
        markdown: String,
        source_json: Vec<u8>,
        force: bool,
    ) -> Result<Created, StoreError> {
        match &self.backend {
            Backend::Folder(_) => Ok(Created::Written(
                self.save(id, version, markdown, source_json).await?,
            )),
            Backend::Bucket(bucket) => {
                if bucket
                    .create(id, version, markdown, source_json, force)
                    .await?
                {
                    Ok(Created::Written(self.saved(id, version)))
                } else {
                    Ok(Created::AlreadyWritten)
                }
            }
        }
    }

    fn saved(&self, id: &ExternalId, version: PromptVersion) -> Saved {
        Saved {
            version_path: self.version_path(id, version),
            article_path: self.article_path(id),
        }
    }

    /// Writes the source, the version and the published copy, each whole, durably, in that
    /// order. A crash before they are all durable leaves each file whole (old or new); the
    /// redelivered job finds its version and [`Self::ensure_complete`] repairs the rest.
    pub async fn save(
        &self,
        id: &ExternalId,
        version: PromptVersion,
        markdown: String,
        source_json: Vec<u8>,
    ) -> Result<Saved, StoreError> {
        let saved = self.saved(id, version);
        if let Backend::Bucket(bucket) = &self.backend {
            bucket
                .create(id, version, markdown, source_json, true)
                .await?;
            return Ok(saved);
        }
        self.write(vec![
            (self.source_path(id), source_json),
            (saved.version_path.clone(), markdown.clone().into_bytes()),
            (saved.article_path.clone(), markdown.into_bytes()),
        ])
        .await?;
        Ok(saved)
    }

    /// After a redelivery found `version` already written: make sure the source exists and the
    /// published copy is not older than the version (the first delivery may have died before
    /// all its files were durable). A copy written later — by a promote or a newer version — is
    /// left alone. Returns whether anything had to be written.
    pub async fn ensure_complete(
        &self,
        id: &ExternalId,
        version: PromptVersion,
        source_json: Vec<u8>,
    ) -> Result<bool, StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            return bucket.ensure_complete(id, version, source_json).await;
        }
        let version_path = self.version_path(id, version);
        let article_path = self.article_path(id);
        let source_path = self.source_path(id);
        let missing: Files = blocking(move || {
            let modified = |p: &Path| -> Result<Option<SystemTime>, StoreError> {
                match fs::metadata(p) {
                    Ok(m) => Ok(m.modified().ok()),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(StoreError::io("stat", p)(e)),
                }
            };
            let mut missing = Vec::new();
            if modified(&source_path)?.is_none() {
                missing.push((source_path, source_json));
            }
            let stale = match (modified(&version_path)?, modified(&article_path)?) {
                (Some(_), None) => true,
                (Some(v), Some(a)) => a < v,
                _ => false,
            };
            if stale {
                let text =
                    fs::read(&version_path).map_err(StoreError::io("read", &version_path))?;
                missing.push((article_path, text));
            }
            Ok(missing)
        })
        .await?;
        if missing.is_empty() {
            return Ok(false);
        }
        self.write(missing).await?;
        Ok(true)
    }

    /// Makes version `version` the published article again, without touching the versions.
    pub async fn promote(&self, id: &ExternalId, version: PromptVersion) -> Result<(), StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            return bucket.promote(id, version).await;
        }
        let version_path = self.version_path(id, version);
        let unknown = id.clone();
        let text = blocking(move || match fs::read(&version_path) {
            Ok(t) => Ok(t),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::NoSuchVersion {
                id: unknown,
                version,
            }),
            Err(e) => Err(StoreError::io("read", &version_path)(e)),
        })
        .await?;
        self.write(vec![(self.article_path(id), text)]).await
    }

    /// The versions written for an article, oldest first.
    pub async fn versions(&self, id: &ExternalId) -> Result<Vec<PromptVersion>, StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            return bucket.versions(id).await;
        }
        let dir = self.root.join("versions").join(id.as_ref());
        blocking(move || {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(StoreError::io("list", &dir)(e)),
            };
            let mut versions: Vec<PromptVersion> = entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_str()?.to_owned();
                    PromptVersion::parse(name.strip_suffix(".md")?).ok()
                })
                .collect();
            versions.sort();
            Ok(versions)
        })
        .await
    }

    /// The newest version written for an article, if any.
    pub async fn latest_version(
        &self,
        id: &ExternalId,
    ) -> Result<Option<PromptVersion>, StoreError> {
        Ok(self.versions(id).await?.pop())
    }

    /// The ids that have a stored source (`sources/<id>.json`), sorted: what reprocessing can
    /// start from. Files whose name is not a valid id are not ours and are left out.
    pub async fn ids(&self) -> Result<Vec<ExternalId>, StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            return bucket.ids().await;
        }
        self.folder_ids("sources", ".json").await
    }

    /// The ids that have at least one version folder (`versions/<id>/`), sorted.
    pub async fn versioned_ids(&self) -> Result<Vec<ExternalId>, StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            return Ok(bucket.all_versions().await?.into_keys().collect());
        }
        let dir = self.root.join("versions");
        blocking(move || {
            let mut ids = list_names(&dir)?
                .iter()
                .filter_map(|name| ExternalId::parse(name).ok())
                .collect::<Vec<_>>();
            ids.sort();
            Ok(ids)
        })
        .await
    }

    /// Every article's versions, oldest first, in one pass (one listing of `versions/` in a
    /// bucket, a request per 1,000 keys).
    pub async fn all_versions(
        &self,
    ) -> Result<BTreeMap<ExternalId, Vec<PromptVersion>>, StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            return bucket.all_versions().await;
        }
        let mut all = BTreeMap::new();
        for id in self.versioned_ids().await? {
            let versions = self.versions(&id).await?;
            all.insert(id, versions);
        }
        Ok(all)
    }

    /// Every article's newest version, in one pass (one listing of `versions/` in a bucket).
    pub async fn latest_versions(&self) -> Result<BTreeMap<ExternalId, PromptVersion>, StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            return Ok(bucket
                .all_versions()
                .await?
                .into_iter()
                .filter_map(|(id, versions)| Some((id, *versions.last()?)))
                .collect());
        }
        let dir = self.root.join("versions");
        blocking(move || {
            let mut latest = BTreeMap::new();
            for name in list_names(&dir)? {
                let Ok(id) = ExternalId::parse(&name) else {
                    continue;
                };
                let newest = list_names(&dir.join(&name))?
                    .iter()
                    .filter_map(|f| PromptVersion::parse(f.strip_suffix(".md")?).ok())
                    .max();
                if let Some(v) = newest {
                    latest.insert(id, v);
                }
            }
            Ok(latest)
        })
        .await
    }

    /// How many articles have each version (`versions/*/v<N>.md`), in one pass.
    pub async fn version_counts(&self) -> Result<BTreeMap<PromptVersion, usize>, StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            let mut counts = BTreeMap::new();
            for versions in bucket.all_versions().await?.into_values() {
                for v in versions {
                    *counts.entry(v).or_insert(0) += 1;
                }
            }
            return Ok(counts);
        }
        let dir = self.root.join("versions");
        blocking(move || {
            let mut counts = BTreeMap::new();
            for name in list_names(&dir)? {
                if ExternalId::parse(&name).is_err() {
                    continue;
                }
                for file in list_names(&dir.join(&name))? {
                    if let Some(v) = file
                        .strip_suffix(".md")
                        .and_then(|stem| PromptVersion::parse(stem).ok())
                    {
                        *counts.entry(v).or_insert(0) += 1;
                    }
                }
            }
            Ok(counts)
        })
        .await
    }

    /// The ids that have a published copy (`articles/<id>.md`), sorted.
    pub async fn published_ids(&self) -> Result<Vec<ExternalId>, StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            return bucket.published_ids().await;
        }
        self.folder_ids("articles", ".md").await
    }

    /// Reads an article's published copy.
    pub async fn read_article(&self, id: &ExternalId) -> Result<Vec<u8>, StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            return bucket.read_required(&article_key(id)).await;
        }
        let path = self.article_path(id);
        blocking(move || fs::read(&path).map_err(StoreError::io("read", &path))).await
    }

    /// Reads one version of an article.
    pub async fn read_version(
        &self,
        id: &ExternalId,
        version: PromptVersion,
    ) -> Result<String, StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            return bucket.read_version(id, version).await;
        }
        let path = self.version_path(id, version);
        let id = id.clone();
        blocking(move || match fs::read_to_string(&path) {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(StoreError::NoSuchVersion { id, version })
            }
            Err(e) => Err(StoreError::io("read", &path)(e)),
        })
        .await
    }

    /// Reads a stored source (the headline JSON).
    pub async fn read_source(&self, id: &ExternalId) -> Result<Vec<u8>, StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            return bucket.read_required(&source_key(id)).await;
        }
        let path = self.source_path(id);
        blocking(move || fs::read(&path).map_err(StoreError::io("read", &path))).await
    }

    /// Reads the published copy of an article (`articles/<id>.md`) as text; `None` when there
    /// is none.
    pub async fn read_published(&self, id: &ExternalId) -> Result<Option<String>, StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            let key = article_key(id);
            let Some((bytes, _)) = bucket.get(&key).await? else {
                return Ok(None);
            };
            return String::from_utf8(bytes)
                .map(Some)
                .map_err(|e| StoreError::Io {
                    op: "read",
                    path: bucket.root().join(&key),
                    source: io::Error::new(io::ErrorKind::InvalidData, e),
                });
        }
        let path = self.article_path(id);
        blocking(move || match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io("read", &path)(e)),
        })
        .await
    }

    /// Replaces the published copy with `markdown` (an editor's approval of a version),
    /// whole and durably; the versions are not touched.
    pub async fn publish(&self, id: &ExternalId, markdown: String) -> Result<(), StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            return bucket.put(&article_key(id), markdown.into_bytes()).await;
        }
        self.write(vec![(self.article_path(id), markdown.into_bytes())])
            .await
    }

    /// The published copies (`articles/<id>.md`) with when each was last written, so that an
    /// index can re-read only what changed. Unordered; names that are not ids are left out.
    pub async fn article_stamps(&self) -> Result<Vec<(ExternalId, SystemTime)>, StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            return Ok(stamped_ids(bucket.list_stamped("articles").await?, ".md"));
        }
        let dir = self.root.join("articles");
        blocking(move || stamps(&dir, ".md")).await
    }

    /// `desk/actions/<id>.ndjson`: the editors' decisions on one article, one JSON object a
    /// line, oldest first.
    pub fn actions_path(&self, id: &ExternalId) -> PathBuf {
        self.root
            .join("desk")
            .join("actions")
            .join(format!("{id}.ndjson"))
    }

    /// The recorded decisions on an article, one JSON text a line; empty when none.
    pub async fn read_actions(&self, id: &ExternalId) -> Result<String, StoreError> {
        let bytes = match &self.backend {
            Backend::Bucket(bucket) => bucket.get(&actions_key(id)).await?.map(|(b, _)| b),
            Backend::Folder(_) => read_if_present(self.actions_path(id)).await?,
        };
        Ok(bytes
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default())
    }

    /// Appends one line (a JSON object, no line break) to the article's decision record. The
    /// file is small and rewritten whole, like every file here, so a crash never leaves half a
    /// line; two writers appending to the same article at the same instant could lose one line.
    pub async fn append_action(&self, id: &ExternalId, line: &str) -> Result<(), StoreError> {
        let mut text = self.read_actions(id).await?;
        text.push_str(line);
        text.push('\n');
        if let Backend::Bucket(bucket) = &self.backend {
            return bucket.put(&actions_key(id), text.into_bytes()).await;
        }
        self.write(vec![(self.actions_path(id), text.into_bytes())])
            .await
    }

    /// The articles with recorded decisions, with when each record was last written.
    pub async fn action_stamps(&self) -> Result<Vec<(ExternalId, SystemTime)>, StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            return Ok(stamped_ids(
                bucket.list_stamped("desk/actions").await?,
                ".ndjson",
            ));
        }
        let dir = self.root.join("desk").join("actions");
        blocking(move || stamps(&dir, ".ndjson")).await
    }

    /// `results/<id>/v<N>.json`: what `rewriter eval` found for one article version, in the
    /// scratch folder of an evaluation (an archive has none).
    pub fn result_path(&self, id: &ExternalId, version: PromptVersion) -> PathBuf {
        self.root
            .join("results")
            .join(id.as_ref())
            .join(format!("{}.json", version.dir_name()))
    }

    /// `eval.json`: the parameters of the evaluation whose scratch folder this is.
    pub fn plan_path(&self) -> PathBuf {
        self.root.join(PLAN_FILE)
    }

    /// Writes an evaluation's result for one article version, whole and durably.
    pub async fn save_result(
        &self,
        id: &ExternalId,
        version: PromptVersion,
        json: Vec<u8>,
    ) -> Result<(), StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            return bucket.put(&result_key(id, version), json).await;
        }
        self.write(vec![(self.result_path(id, version), json)])
            .await
    }

    /// Writes the evaluation's parameters, whole and durably.
    pub async fn save_plan(&self, json: Vec<u8>) -> Result<(), StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            return bucket.put(PLAN_FILE, json).await;
        }
        self.write(vec![(self.plan_path(), json)]).await
    }

    /// An evaluation's result for one article version; `None` when none was saved.
    pub async fn read_result(
        &self,
        id: &ExternalId,
        version: PromptVersion,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            return Ok(bucket.get(&result_key(id, version)).await?.map(|(b, _)| b));
        }
        read_if_present(self.result_path(id, version)).await
    }

    /// The evaluation's parameters; `None` when none were saved.
    pub async fn read_plan(&self) -> Result<Option<Vec<u8>>, StoreError> {
        if let Backend::Bucket(bucket) = &self.backend {
            return Ok(bucket.get(PLAN_FILE).await?.map(|(b, _)| b));
        }
        read_if_present(self.plan_path()).await
    }

    /// The ids named by the files in `folder` that end in `suffix`, sorted; other names are
    /// not ours and are left out. The folder twin of the bucket's `ids_under`.
    async fn folder_ids(
        &self,
        folder: &str,
        suffix: &'static str,
    ) -> Result<Vec<ExternalId>, StoreError> {
        let dir = self.root.join(folder);
        blocking(move || {
            let mut ids = list_names(&dir)?
                .iter()
                .filter_map(|name| ExternalId::parse(name.strip_suffix(suffix)?).ok())
                .collect::<Vec<_>>();
            ids.sort();
            Ok(ids)
        })
        .await
    }

    /// Writes `files` whole, durably, in order, through the group commit; refuses any path
    /// outside the output folder.
    async fn write(&self, files: Files) -> Result<(), StoreError> {
        let Backend::Folder(committer) = &self.backend else {
            return Err(StoreError::Join("a folder write on a bucket".into()));
        };
        if let Some((path, _)) = files.iter().find(|(p, _)| !p.starts_with(&self.root)) {
            return Err(StoreError::io("refuse", path)(io::Error::new(
                io::ErrorKind::InvalidInput,
                "path is outside the output folder",
            )));
        }
        committer.write(files).await
    }
}

/// Temporary files are named `.<file>.<pid>.<n>.tmp`; those of processes that no longer run on
/// this host are the remains of a kill, and go.
fn sweep_orphaned_temporaries(root: &Path) {
    let mut dirs = vec![root.join("articles"), root.join("sources")];
    if let Ok(entries) = fs::read_dir(root.join("versions")) {
        dirs.extend(entries.filter_map(Result::ok).map(|e| e.path()));
    }
    for dir in dirs {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(pid) = temporary_owner(name)
                && !Path::new("/proc").join(pid.to_string()).exists()
            {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// The names in a folder, skipping temporaries (`.…`); a missing folder has none.
fn list_names(dir: &Path) -> Result<Vec<String>, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io("list", dir)(e)),
    };
    Ok(entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| !name.starts_with('.'))
        .collect())
}

/// `(id, modified)` for each `<id><suffix>` in `dir`; a missing folder has none.
fn stamps(dir: &Path, suffix: &str) -> Result<Vec<(ExternalId, SystemTime)>, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io("list", dir)(e)),
    };
    Ok(entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let id = ExternalId::parse(name.strip_suffix(suffix)?).ok()?;
            let modified = e.metadata().ok()?.modified().ok()?;
            Some((id, modified))
        })
        .collect())
}

fn temporary_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // `process::id` is a system call each time; three files a job ask for it.
    static PID: LazyLock<u32> = LazyLock::new(std::process::id);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    path.with_file_name(format!(".{name}.{}.{n}{TMP_SUFFIX}", *PID))
}

/// The pid in a temporary file's name, if it is one of ours.
fn temporary_owner(name: &str) -> Option<u32> {
    let stem = name.strip_prefix('.')?.strip_suffix(TMP_SUFFIX)?;
    let mut parts = stem.rsplitn(3, '.');
    let _counter: u64 = parts.next()?.parse().ok()?;
    parts.next()?.parse().ok()
}

/// The bytes of a file, `None` when it does not exist.
async fn read_if_present(path: PathBuf) -> Result<Option<Vec<u8>>, StoreError> {
    blocking(move || match fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io("read", &path)(e)),
    })
    .await
}

/// Runs `f` on the blocking pool, started at once (before the returned future is polled).
fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> impl Future<Output = Result<T, StoreError>> {
    let task = tokio::task::spawn_blocking(f);
    async move { task.await.map_err(|e| StoreError::Join(e.to_string()))? }
}

#[cfg(test)]
mod tests;
