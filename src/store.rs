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
//! Every file is written whole or not at all: a temporary file beside the target, flushed to
//! disk, renamed, the rename flushed. Writes go through one thread that commits the saves
//! waiting for it as a group, with one pair of flushes for all ([`commit`]). Paths are built
//! only from a validated [`ExternalId`] and a [`PromptVersion`], and checked to stay under the
//! root. The local folder is the one backend today; the public methods are the whole interface
//! an object-store backend would implement. Reads, listings and checks run on tokio's blocking
//! pool, off the reactor.

mod commit;
pub mod feeds;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use crate::job::{ExternalId, PromptVersion};

use commit::{Committer, Files};

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

/// The article folder.
#[derive(Debug, Clone)]
pub struct ContentStore {
    root: PathBuf,
    committer: Committer,
}

impl ContentStore {
    /// Opens (creating) the layout under `root` and removes temporary files that a killed
    /// process on this host left behind.
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root: PathBuf = root.into();
        let dirs = ["articles", "versions", "sources"].map(|d| root.join(d));
        blocking(move || {
            for path in &dirs {
                fs::create_dir_all(path).map_err(StoreError::io("create", path))?;
            }
            sweep_orphaned_temporaries(&root);
            let committer = Committer::start(&root, &dirs)?;
            Ok(Self { root, committer })
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
        let path = self.version_path(id, version);
        blocking(move || match fs::metadata(&path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::io("stat", &path)(e)),
        })
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
        let saved = Saved {
            version_path: self.version_path(id, version),
            article_path: self.article_path(id),
        };
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
        let dir = self.root.join("sources");
        blocking(move || {
            let mut ids = list_names(&dir)?
                .iter()
                .filter_map(|name| ExternalId::parse(name.strip_suffix(".json")?).ok())
                .collect::<Vec<_>>();
            ids.sort();
            Ok(ids)
        })
        .await
    }

    /// The ids that have at least one version folder (`versions/<id>/`), sorted.
    pub async fn versioned_ids(&self) -> Result<Vec<ExternalId>, StoreError> {
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

    /// How many articles have each version (`versions/*/v<N>.md`), in one pass.
    pub async fn version_counts(&self) -> Result<BTreeMap<PromptVersion, usize>, StoreError> {
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

    /// Reads one version of an article.
    pub async fn read_version(
        &self,
        id: &ExternalId,
        version: PromptVersion,
    ) -> Result<String, StoreError> {
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
        let path = self.source_path(id);
        blocking(move || fs::read(&path).map_err(StoreError::io("read", &path))).await
    }

    /// Reads the published copy of an article (`articles/<id>.md`); `None` when there is none.
    pub async fn read_article(&self, id: &ExternalId) -> Result<Option<String>, StoreError> {
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
        self.write(vec![(self.article_path(id), markdown.into_bytes())])
            .await
    }

    /// The published copies (`articles/<id>.md`) with when each was last written, so that an
    /// index can re-read only what changed. Unordered; names that are not ids are left out.
    pub async fn article_stamps(&self) -> Result<Vec<(ExternalId, SystemTime)>, StoreError> {
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
        let bytes = read_if_present(self.actions_path(id)).await?;
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
        self.write(vec![(self.actions_path(id), text.into_bytes())])
            .await
    }

    /// The articles with recorded decisions, with when each record was last written.
    pub async fn action_stamps(&self) -> Result<Vec<(ExternalId, SystemTime)>, StoreError> {
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
        self.write(vec![(self.result_path(id, version), json)])
            .await
    }

    /// Writes the evaluation's parameters, whole and durably.
    pub async fn save_plan(&self, json: Vec<u8>) -> Result<(), StoreError> {
        self.write(vec![(self.plan_path(), json)]).await
    }

    /// An evaluation's result for one article version; `None` when none was saved.
    pub async fn read_result(
        &self,
        id: &ExternalId,
        version: PromptVersion,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        read_if_present(self.result_path(id, version)).await
    }

    /// The evaluation's parameters; `None` when none were saved.
    pub async fn read_plan(&self) -> Result<Option<Vec<u8>>, StoreError> {
        read_if_present(self.plan_path()).await
    }

    /// Writes `files` whole, durably, in order, through the group commit; refuses any path
    /// outside the output folder.
    async fn write(&self, files: Files) -> Result<(), StoreError> {
        if let Some((path, _)) = files.iter().find(|(p, _)| !p.starts_with(&self.root)) {
            return Err(StoreError::io("refuse", path)(io::Error::new(
                io::ErrorKind::InvalidInput,
                "path is outside the output folder",
            )));
        }
        self.committer.write(files).await
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
mod tests {
    use super::*;

    fn id(s: &str) -> ExternalId {
        ExternalId::parse(s).unwrap()
    }

    fn v(n: u32) -> PromptVersion {
        PromptVersion::new(n).unwrap()
    }

    #[tokio::test]
    async fn save_writes_the_three_files_and_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContentStore::open(dir.path()).await.unwrap();
        let saved = store
            .save(&id("a1"), v(1), "# one".into(), b"{}".to_vec())
            .await
            .unwrap();
        assert_eq!(fs::read_to_string(&saved.version_path).unwrap(), "# one");
        assert_eq!(fs::read_to_string(&saved.article_path).unwrap(), "# one");
        assert!(store.source_path(&id("a1")).exists());
        assert!(store.has_version(&id("a1"), v(1)).await.unwrap());
        assert!(!store.has_version(&id("a1"), v(2)).await.unwrap());
        assert_eq!(temporaries_under(dir.path()), Vec::<PathBuf>::new());
    }

    #[tokio::test]
    async fn versions_accumulate_and_promote_republishes_an_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContentStore::open(dir.path()).await.unwrap();
        store
            .save(&id("a"), v(1), "one".into(), b"{}".to_vec())
            .await
            .unwrap();
        store
            .save(&id("a"), v(2), "two".into(), b"{}".to_vec())
            .await
            .unwrap();
        assert_eq!(store.versions(&id("a")).await.unwrap(), vec![v(1), v(2)]);
        store.promote(&id("a"), v(1)).await.unwrap();
        assert_eq!(
            fs::read_to_string(store.article_path(&id("a"))).unwrap(),
            "one"
        );
        assert!(matches!(
            store.promote(&id("a"), v(9)).await,
            Err(StoreError::NoSuchVersion { .. })
        ));
    }

    #[tokio::test]
    async fn listings_name_sources_versions_and_counts_and_skip_temporaries() {
        // Arrange
        let dir = tempfile::tempdir().unwrap();
        let store = ContentStore::open(dir.path()).await.unwrap();
        for (i, n) in [("b", 1), ("a", 1), ("a", 2)] {
            store
                .save(&id(i), v(n), format!("{i}{n}"), b"{}".to_vec())
                .await
                .unwrap();
        }
        fs::write(dir.path().join("sources/.c.json.1.0.tmp"), "torn").unwrap();
        fs::write(dir.path().join("sources/not an id.json"), "{}").unwrap();

        // Act
        let ids = store.ids().await.unwrap();
        let versioned = store.versioned_ids().await.unwrap();
        let counts = store.version_counts().await.unwrap();

        // Assert
        assert_eq!(ids, vec![id("a"), id("b")]);
        assert_eq!(versioned, vec![id("a"), id("b")]);
        assert_eq!(counts, BTreeMap::from([(v(1), 2), (v(2), 1)]));
        assert_eq!(store.latest_version(&id("a")).await.unwrap(), Some(v(2)));
        assert_eq!(store.latest_version(&id("z")).await.unwrap(), None);
        assert_eq!(store.read_version(&id("a"), v(1)).await.unwrap(), "a1");
        assert!(matches!(
            store.read_version(&id("a"), v(3)).await,
            Err(StoreError::NoSuchVersion { .. })
        ));
    }

    #[tokio::test]
    async fn a_redelivery_restores_a_missing_source_and_published_copy() {
        // Arrange: a crash left the version without its source and published copy.
        let dir = tempfile::tempdir().unwrap();
        let store = ContentStore::open(dir.path()).await.unwrap();
        store
            .save(&id("a"), v(1), "one".into(), b"{\"title\":1}".to_vec())
            .await
            .unwrap();
        fs::remove_file(store.article_path(&id("a"))).unwrap();
        fs::remove_file(store.source_path(&id("a"))).unwrap();
        // Act
        let repaired = store
            .ensure_complete(&id("a"), v(1), b"{\"title\":2}".to_vec())
            .await
            .unwrap();
        // Assert
        assert!(repaired);
        assert_eq!(
            fs::read_to_string(store.article_path(&id("a"))).unwrap(),
            "one"
        );
        assert_eq!(
            fs::read_to_string(store.source_path(&id("a"))).unwrap(),
            "{\"title\":2}"
        );
        assert!(
            !store
                .ensure_complete(&id("a"), v(1), b"{}".to_vec())
                .await
                .unwrap(),
            "a complete version is left alone"
        );
    }

    #[tokio::test]
    async fn temporaries_of_dead_processes_are_swept_at_open() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("articles")).unwrap();
        let orphan = dir.path().join("articles/.x.md.999999999.0.tmp");
        let ours = dir
            .path()
            .join(format!("articles/.y.md.{}.0.tmp", std::process::id()));
        fs::write(&orphan, "torn").unwrap();
        fs::write(&ours, "in flight").unwrap();
        ContentStore::open(dir.path()).await.unwrap();
        assert!(!orphan.exists());
        assert!(ours.exists());
    }

    #[tokio::test]
    async fn an_unwritable_folder_is_an_error_that_names_it() {
        // Arrange: `sources` is a file, so nothing can be created in it (even by root).
        let dir = tempfile::tempdir().unwrap();
        let store = ContentStore::open(dir.path()).await.unwrap();
        fs::remove_dir(dir.path().join("sources")).unwrap();
        fs::write(dir.path().join("sources"), "in the way").unwrap();
        // Act
        let result = store.save(&id("a"), v(1), "x".into(), b"{}".to_vec()).await;
        // Assert
        let err = result.unwrap_err().to_string();
        assert!(err.contains("sources"), "{err}");
        assert!(!store.has_version(&id("a"), v(1)).await.unwrap());
        assert_eq!(temporaries_under(dir.path()), Vec::<PathBuf>::new());
    }

    /// The temporary files left anywhere under `dir`.
    pub(super) fn temporaries_under(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for entry in fs::read_dir(dir).unwrap().filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                found.extend(temporaries_under(&path));
            } else if path.to_string_lossy().ends_with(TMP_SUFFIX) {
                found.push(path);
            }
        }
        found
    }
}
