//! The archive under `REWRITER_OUT`: its layout, and the promise that every file in it is whole.
//!
//! ```text
//! versions/<id>/v<N>.md   the article as written with prompt version N (never overwritten
//!                         unless the job says force)
//! articles/<id>.md        a copy of the version written or promoted most recently
//! sources/<id>.json       the headline as last received, for reprocessing
//! desk/actions/<id>.ndjson  editors' decisions on the article (approve, reject, …), who, when
//! ```
//!
//! Two backends hold this layout, chosen by `REWRITER_OUT`: a folder (the default, [`folder`])
//! or an S3-compatible bucket (`s3://BUCKET[/PREFIX]`, [`s3`] and `bucket`), byte for byte the
//! same under the root; a bucket also keeps a cost index under `index/` ([`index`]).
//!
//! Each backend is a module with the same methods, and [`ContentStore`] is an enum of the two
//! whose methods each hand the call to the one it holds ([`on_backend!`]): every method names
//! both backends in one line, the compiler checks that each has it, and the folder's hot path
//! (one `has_version`, one `save` a job) stays a direct call with no boxed future. A trait
//! would state each signature a third time and buy nothing here: the set of backends is closed,
//! and async methods cannot go behind `dyn` without boxing.
//!
//! In a folder every file is written whole or not at all: a temporary file beside the target,
//! flushed to disk, renamed, the rename flushed, through one thread that commits the saves
//! waiting for it as a group ([`commit`]). In a bucket every put is whole by the store's own
//! guarantee; a version is created with `If-None-Match: *` so that of two hosts racing on one
//! job exactly one writes it ([`ContentStore::create`]), and where the published copy or a
//! decision record is read, changed and written back, it is replaced with `If-Match` on what
//! was read. Paths and keys are built only from a validated [`ExternalId`] and a
//! [`PromptVersion`].

mod bucket;
mod commit;
pub mod feeds;
mod folder;
pub mod index;
pub mod s3;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::job::{ExternalId, PromptVersion};

use folder::Folder;
use futures_util::future::Either;
use index::Figures;
use s3::Bucket;

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

/// The published copy as a read-modify-write saw it ([`ContentStore::read_published_seen`]),
/// so that it is replaced only if nobody replaced it since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen(SeenAs);

#[derive(Debug, Clone, PartialEq, Eq)]
enum SeenAs {
    /// A folder is one host's, written by one process's committer: no condition.
    Folder,
    Absent,
    /// The object's ETag (`If-Match`).
    Tag(Option<String>),
}

/// One stored version as `rewriter cost` counts it ([`ContentStore::figures`]).
#[derive(Debug)]
pub struct Counted {
    /// The version's file (or, when its article's versions cannot be listed, their folder).
    pub path: PathBuf,
    /// Which version (the file's place says so, as for `prompts list`) and what it records.
    pub figures: Result<(PromptVersion, Figures), Unreadable>,
}

/// Why a version's figures could not be had.
#[derive(Debug)]
pub enum Unreadable {
    List(StoreError),
    Read(StoreError),
    /// The frontmatter does not read; the parser's reason.
    Frontmatter(String),
}

/// The archive: a folder or a bucket.
#[derive(Debug, Clone)]
pub struct ContentStore {
    /// The folder, or `s3://bucket/prefix` (for messages and the `*_path` methods).
    root: PathBuf,
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Folder(Folder),
    Bucket(Bucket),
}

/// `on_backend!(self, b => b.method(args))`: the call on whichever backend the store holds.
macro_rules! on_backend {
    ($store:expr, $b:ident => $call:expr) => {
        match &$store.backend {
            Backend::Folder($b) => $call,
            Backend::Bucket($b) => $call,
        }
    };
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
        let folder = Folder::open(root.clone()).await?;
        Ok(Self {
            root,
            backend: Backend::Folder(folder),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn version_path(&self, id: &ExternalId, version: PromptVersion) -> PathBuf {
        self.root.join(version_key(id, version))
    }

    pub fn article_path(&self, id: &ExternalId) -> PathBuf {
        self.root.join(article_key(id))
    }

    pub fn source_path(&self, id: &ExternalId) -> PathBuf {
        self.root.join(source_key(id))
    }

    /// `desk/actions/<id>.ndjson`: the editors' decisions on one article, one JSON object a
    /// line, oldest first.
    pub fn actions_path(&self, id: &ExternalId) -> PathBuf {
        self.root.join(actions_key(id))
    }

    /// `results/<id>/v<N>.json`: what `rewriter eval` found for one article version, in the
    /// scratch folder of an evaluation (an archive has none).
    pub fn result_path(&self, id: &ExternalId, version: PromptVersion) -> PathBuf {
        self.root.join(result_key(id, version))
    }

    /// `eval.json`: the parameters of the evaluation whose scratch folder this is.
    pub fn plan_path(&self) -> PathBuf {
        self.root.join(PLAN_FILE)
    }

    /// Whether version `version` of the article exists. The check starts at this call, not at
    /// the first poll: the caller can do other work while it runs and await the answer after.
    pub fn has_version(
        &self,
        id: &ExternalId,
        version: PromptVersion,
    ) -> impl Future<Output = Result<bool, StoreError>> + use<> {
        match &self.backend {
            Backend::Folder(folder) => Either::Left(folder.has_version(id, version)),
            Backend::Bucket(bucket) => Either::Right(bucket.has_version(id, version)),
        }
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
        let written = match &self.backend {
            Backend::Folder(folder) => {
                folder.save(id, version, markdown, source_json).await?;
                true
            }
            Backend::Bucket(bucket) => {
                bucket
                    .create(id, version, markdown, source_json, force)
                    .await?
            }
        };
        Ok(if written {
            Created::Written(self.saved(id, version))
        } else {
            Created::AlreadyWritten
        })
    }

    fn saved(&self, id: &ExternalId, version: PromptVersion) -> Saved {
        Saved {
            version_path: self.version_path(id, version),
            article_path: self.article_path(id),
        }
    }

    /// Writes the source, the version and the published copy, each whole, durably, in that
    /// order (in a bucket the version's cost index entry too, after the version). A crash
    /// before they are all durable leaves each file whole (old or new); the redelivered job
    /// finds its version and [`Self::ensure_complete`] repairs the rest.
    pub async fn save(
        &self,
        id: &ExternalId,
        version: PromptVersion,
        markdown: String,
        source_json: Vec<u8>,
    ) -> Result<Saved, StoreError> {
        match &self.backend {
            Backend::Folder(folder) => folder.save(id, version, markdown, source_json).await?,
            Backend::Bucket(bucket) => {
                bucket
                    .create(id, version, markdown, source_json, true)
                    .await?;
            }
        }
        Ok(self.saved(id, version))
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
        on_backend!(self, b => b.ensure_complete(id, version, source_json).await)
    }

    /// Makes version `version` the published article again, without touching the versions.
    pub async fn promote(&self, id: &ExternalId, version: PromptVersion) -> Result<(), StoreError> {
        on_backend!(self, b => b.promote(id, version).await)
    }

    /// The versions written for an article, oldest first.
    pub async fn versions(&self, id: &ExternalId) -> Result<Vec<PromptVersion>, StoreError> {
        on_backend!(self, b => b.versions(id).await)
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
        on_backend!(self, b => b.ids().await)
    }

    /// The ids that have at least one version folder (`versions/<id>/`), sorted.
    pub async fn versioned_ids(&self) -> Result<Vec<ExternalId>, StoreError> {
        on_backend!(self, b => b.versioned_ids().await)
    }

    /// Every article's versions, oldest first, in one pass (one listing of `versions/` in a
    /// bucket, a request per 1,000 keys).
    pub async fn all_versions(
        &self,
    ) -> Result<BTreeMap<ExternalId, Vec<PromptVersion>>, StoreError> {
        on_backend!(self, b => b.all_versions().await)
    }

    /// Every article's newest version, in one pass (one listing of `versions/` in a bucket).
    pub async fn latest_versions(&self) -> Result<BTreeMap<ExternalId, PromptVersion>, StoreError> {
        on_backend!(self, b => b.latest_versions().await)
    }

    /// How many articles have each version (`versions/*/v<N>.md`), in one pass.
    pub async fn version_counts(&self) -> Result<BTreeMap<PromptVersion, usize>, StoreError> {
        on_backend!(self, b => b.version_counts().await)
    }

    /// What every stored version records under `ai` (model, tokens, cost), in order of id and
    /// version, for `rewriter cost`. A folder reads each version; a bucket answers from two
    /// listings (`versions/` and its cost index, a request per 1,000 keys each) and reads only
    /// the versions the index does not describe, writing their entries as it goes.
    pub async fn figures(&self) -> Result<Vec<Counted>, StoreError> {
        on_backend!(self, b => b.figures().await)
    }

    /// The ids that have a published copy (`articles/<id>.md`), sorted.
    pub async fn published_ids(&self) -> Result<Vec<ExternalId>, StoreError> {
        on_backend!(self, b => b.published_ids().await)
    }

    /// Reads an article's published copy.
    pub async fn read_article(&self, id: &ExternalId) -> Result<Vec<u8>, StoreError> {
        on_backend!(self, b => b.read_required(&article_key(id)).await)
    }

    /// Reads one version of an article.
    pub async fn read_version(
        &self,
        id: &ExternalId,
        version: PromptVersion,
    ) -> Result<String, StoreError> {
        on_backend!(self, b => b.read_version(id, version).await)
    }

    /// Reads a stored source (the headline JSON).
    pub async fn read_source(&self, id: &ExternalId) -> Result<Vec<u8>, StoreError> {
        on_backend!(self, b => b.read_required(&source_key(id)).await)
    }

    /// Reads the published copy of an article (`articles/<id>.md`) as text; `None` when there
    /// is none.
    pub async fn read_published(&self, id: &ExternalId) -> Result<Option<String>, StoreError> {
        Ok(self.read_published_seen(id).await?.0)
    }

    /// [`Self::read_published`], with what was seen, for [`Self::publish_if`] and
    /// [`Self::promote_if`].
    pub async fn read_published_seen(
        &self,
        id: &ExternalId,
    ) -> Result<(Option<String>, Seen), StoreError> {
        match &self.backend {
            Backend::Folder(folder) => Ok((folder.read_published(id).await?, Seen(SeenAs::Folder))),
            Backend::Bucket(bucket) => bucket.read_published(id).await,
        }
    }

    /// Replaces the published copy with `markdown` (an editor's approval of a version),
    /// whole and durably; the versions are not touched.
    pub async fn publish(&self, id: &ExternalId, markdown: String) -> Result<(), StoreError> {
        on_backend!(self, b => b.publish(id, markdown).await)
    }

    /// [`Self::publish`], only if the published copy is still as `seen` (in a bucket,
    /// `If-Match` on its ETag, or `If-None-Match: *` when there was none). `Ok(false)`: it
    /// changed meanwhile, and nothing was written.
    pub async fn publish_if(
        &self,
        id: &ExternalId,
        markdown: String,
        seen: &Seen,
    ) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Folder(folder) => folder.publish(id, markdown).await.map(|()| true),
            Backend::Bucket(bucket) => bucket.publish_if(id, markdown, seen).await,
        }
    }

    /// [`Self::promote`], only if the published copy is still as `seen`.
    pub async fn promote_if(
        &self,
        id: &ExternalId,
        version: PromptVersion,
        seen: &Seen,
    ) -> Result<bool, StoreError> {
        let text = self.read_version(id, version).await?;
        self.publish_if(id, text, seen).await
    }

    /// The published copies (`articles/<id>.md`) with when each was last written, so that an
    /// index can re-read only what changed. Unordered; names that are not ids are left out.
    pub async fn article_stamps(&self) -> Result<Vec<(ExternalId, SystemTime)>, StoreError> {
        on_backend!(self, b => b.article_stamps().await)
    }

    /// The recorded decisions on an article, one JSON text a line; empty when none.
    pub async fn read_actions(&self, id: &ExternalId) -> Result<String, StoreError> {
        on_backend!(self, b => b.read_actions(id).await)
    }

    /// Appends one line (a JSON object, no line break) to the article's decision record. The
    /// record is small and rewritten whole, like every file here, so a crash never leaves half
    /// a line; in a bucket it is replaced only if unchanged since read (`If-Match`), and read
    /// again when another writer came first, so no line is lost across hosts.
    pub async fn append_action(&self, id: &ExternalId, line: &str) -> Result<(), StoreError> {
        on_backend!(self, b => b.append_action(id, line).await)
    }

    /// The articles with recorded decisions, with when each record was last written.
    pub async fn action_stamps(&self) -> Result<Vec<(ExternalId, SystemTime)>, StoreError> {
        on_backend!(self, b => b.action_stamps().await)
    }

    /// Writes an evaluation's result for one article version, whole and durably.
    pub async fn save_result(
        &self,
        id: &ExternalId,
        version: PromptVersion,
        json: Vec<u8>,
    ) -> Result<(), StoreError> {
        on_backend!(self, b => b.save_result(id, version, json).await)
    }

    /// Writes the evaluation's parameters, whole and durably.
    pub async fn save_plan(&self, json: Vec<u8>) -> Result<(), StoreError> {
        on_backend!(self, b => b.save_plan(json).await)
    }

    /// An evaluation's result for one article version; `None` when none was saved.
    pub async fn read_result(
        &self,
        id: &ExternalId,
        version: PromptVersion,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        on_backend!(self, b => b.get(&result_key(id, version)).await)
    }

    /// The evaluation's parameters; `None` when none were saved.
    pub async fn read_plan(&self) -> Result<Option<Vec<u8>>, StoreError> {
        on_backend!(self, b => b.get(PLAN_FILE).await)
    }
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
