//! The archive in a folder, one host's: every file written whole or not at all through the
//! group commit ([`super::commit`]), reads, listings and checks on tokio's blocking pool, off the
//! reactor. Temporary files of processes killed on this host are swept at open.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use futures_util::StreamExt as _;

use crate::job::{ExternalId, PromptVersion};

use super::commit::{Committer, Files};
use super::index::Figures;
use super::{
    Counted, PLAN_FILE, StoreError, Unreadable, actions_key, article_key, blocking, result_key,
    source_key, version_key,
};

pub(super) const TMP_SUFFIX: &str = ".tmp";

/// Versions read at once by [`Folder::figures`].
const READ_AHEAD: usize = 32;

/// A folder and the thread that commits its writes.
#[derive(Debug, Clone)]
pub(super) struct Folder {
    root: PathBuf,
    committer: Committer,
}

impl Folder {
    /// Opens (creating) the layout under `root` and removes temporary files that a killed
    /// process on this host left behind.
    pub(super) async fn open(root: PathBuf) -> Result<Self, StoreError> {
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

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    pub(super) fn has_version(
        &self,
        id: &ExternalId,
        version: PromptVersion,
    ) -> impl Future<Output = Result<bool, StoreError>> + use<> {
        let path = self.path(&version_key(id, version));
        blocking(move || match fs::metadata(&path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::io("stat", &path)(e)),
        })
    }

    pub(super) async fn save(
        &self,
        id: &ExternalId,
        version: PromptVersion,
        markdown: String,
        source_json: Vec<u8>,
    ) -> Result<(), StoreError> {
        self.write(vec![
            (self.path(&source_key(id)), source_json),
            (
                self.path(&version_key(id, version)),
                markdown.clone().into_bytes(),
            ),
            (self.path(&article_key(id)), markdown.into_bytes()),
        ])
        .await
    }

    pub(super) async fn ensure_complete(
        &self,
        id: &ExternalId,
        version: PromptVersion,
        source_json: Vec<u8>,
    ) -> Result<bool, StoreError> {
        let version_path = self.path(&version_key(id, version));
        let article_path = self.path(&article_key(id));
        let source_path = self.path(&source_key(id));
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

    pub(super) async fn promote(
        &self,
        id: &ExternalId,
        version: PromptVersion,
    ) -> Result<(), StoreError> {
        let text = self.read_version(id, version).await?;
        self.publish(id, text).await
    }

    pub(super) async fn versions(&self, id: &ExternalId) -> Result<Vec<PromptVersion>, StoreError> {
        let dir = self.root.join("versions").join(id.as_ref());
        blocking(move || versions_in(&dir)).await
    }

    pub(super) async fn ids(&self) -> Result<Vec<ExternalId>, StoreError> {
        self.ids_in("sources", ".json").await
    }

    pub(super) async fn published_ids(&self) -> Result<Vec<ExternalId>, StoreError> {
        self.ids_in("articles", ".md").await
    }

    pub(super) async fn versioned_ids(&self) -> Result<Vec<ExternalId>, StoreError> {
        self.ids_in("versions", "").await
    }

    pub(super) async fn all_versions(
        &self,
    ) -> Result<BTreeMap<ExternalId, Vec<PromptVersion>>, StoreError> {
        let dir = self.root.join("versions");
        blocking(move || version_tree(&dir)).await
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
        for version in self.all_versions().await?.into_values().flatten() {
            *counts.entry(version).or_insert(0) += 1;
        }
        Ok(counts)
    }

    /// Every version's figures, read from the files: a folder's reads are local and cheap.
    /// Articles whose versions cannot be listed come first, as `rewriter cost` always named
    /// them; then every version in order of id and version.
    pub(super) async fn figures(&self) -> Result<Vec<Counted>, StoreError> {
        let mut counted = Vec::new();
        let mut listed = Vec::new();
        for id in self.versioned_ids().await? {
            match self.versions(&id).await {
                Ok(v) => listed.push((id, v)),
                Err(e) => counted.push(Counted {
                    path: self.root.join("versions").join(id.as_ref()),
                    figures: Err(Unreadable::List(e)),
                }),
            }
        }
        let pairs = listed
            .into_iter()
            .flat_map(|(id, versions)| versions.into_iter().map(move |v| (id.clone(), v)));
        let mut reads = futures_util::stream::iter(pairs)
            .map(|(id, version)| async move {
                let figures = match self.read_version(&id, version).await {
                    Ok(text) => Figures::of(&text)
                        .map(|f| (version, f))
                        .map_err(Unreadable::Frontmatter),
                    Err(e) => Err(Unreadable::Read(e)),
                };
                Counted {
                    path: self.path(&version_key(&id, version)),
                    figures,
                }
            })
            .buffered(READ_AHEAD);
        while let Some(one) = reads.next().await {
            counted.push(one);
        }
        Ok(counted)
    }

    pub(super) async fn read_required(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.path(key);
        blocking(move || fs::read(&path).map_err(StoreError::io("read", &path))).await
    }

    pub(super) async fn read_version(
        &self,
        id: &ExternalId,
        version: PromptVersion,
    ) -> Result<String, StoreError> {
        let path = self.path(&version_key(id, version));
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

    pub(super) async fn read_published(
        &self,
        id: &ExternalId,
    ) -> Result<Option<String>, StoreError> {
        let path = self.path(&article_key(id));
        blocking(move || match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io("read", &path)(e)),
        })
        .await
    }

    pub(super) async fn publish(
        &self,
        id: &ExternalId,
        markdown: String,
    ) -> Result<(), StoreError> {
        self.put(&article_key(id), markdown.into_bytes()).await
    }

    pub(super) async fn article_stamps(&self) -> Result<Vec<(ExternalId, SystemTime)>, StoreError> {
        let dir = self.root.join("articles");
        blocking(move || stamps(&dir, ".md")).await
    }

    pub(super) async fn action_stamps(&self) -> Result<Vec<(ExternalId, SystemTime)>, StoreError> {
        let dir = self.root.join("desk").join("actions");
        blocking(move || stamps(&dir, ".ndjson")).await
    }

    pub(super) async fn read_actions(&self, id: &ExternalId) -> Result<String, StoreError> {
        let bytes = self.get(&actions_key(id)).await?;
        Ok(bytes
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default())
    }

    /// The record is small and rewritten whole, so a crash never leaves half a line; the
    /// desk is one process on one host, whose appends to one article do not overlap.
    pub(super) async fn append_action(
        &self,
        id: &ExternalId,
        line: &str,
    ) -> Result<(), StoreError> {
        let mut text = self.read_actions(id).await?;
        text.push_str(line);
        text.push('\n');
        self.put(&actions_key(id), text.into_bytes()).await
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

    /// The bytes of a file, `None` when it does not exist.
    pub(super) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(key);
        blocking(move || match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io("read", &path)(e)),
        })
        .await
    }

    /// Writes one file whole and durably.
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.write(vec![(self.path(key), bytes)]).await
    }

    /// The ids named by the entries of `folder` that end in `suffix`, sorted; other names are
    /// not ours and are left out.
    async fn ids_in(
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

/// Every article's versions under `dir` (the `versions` folder), each oldest first: the one
/// walk that `all_versions`, `latest_versions` and `version_counts` read.
fn version_tree(dir: &Path) -> Result<BTreeMap<ExternalId, Vec<PromptVersion>>, StoreError> {
    let mut tree = BTreeMap::new();
    for name in list_names(dir)? {
        if let Ok(id) = ExternalId::parse(&name) {
            let versions = versions_in(&dir.join(&name))?;
            tree.insert(id, versions);
        }
    }
    Ok(tree)
}

/// The versions (`v<N>.md`) in one article's folder, oldest first (as numbers: `v2` before
/// `v10`); a missing folder has none.
fn versions_in(dir: &Path) -> Result<Vec<PromptVersion>, StoreError> {
    let mut versions: Vec<PromptVersion> = list_names(dir)?
        .iter()
        .filter_map(|name| PromptVersion::parse(name.strip_suffix(".md")?).ok())
        .collect();
    versions.sort();
    Ok(versions)
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

/// A name beside `path` for writing it whole before a rename.
pub(super) fn temporary_path(path: &Path) -> PathBuf {
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
