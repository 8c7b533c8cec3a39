//! The ingesters' files beside the archive: `ingest/<source key>.json` (one feed's state,
//! written whole: temporary, fsync, rename, fsync of the folder) and `ingest/<source key>.lock`
//! (an exclusive advisory lock held around one poll of that feed).
//!
//! Every ingester pointed at the same `REWRITER_OUT` shares these files. The lock makes a poll
//! (read state, fetch, publish, write state) one step across processes: a second ingester
//! waits, then reads the state the first wrote, so no item is enqueued by both. The lock is
//! the kernel's (`flock`), released when its holder exits, however it exits; on a network file
//! system that does not support it, ingesters must not share a folder. Bytes only: what the
//! state means is `ingest::state`'s business.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::job::ExternalId;

use super::folder::temporary_path;
use super::{StoreError, blocking};

/// The folder under `REWRITER_OUT` that holds the ingesters' files.
pub const DIR: &str = "ingest";

/// The ingesters' folder.
#[derive(Debug, Clone)]
pub struct FeedFiles {
    dir: PathBuf,
}

/// A held per-feed lock; dropping it releases the lock.
#[derive(Debug)]
pub struct FeedLock {
    _file: File,
}

impl FeedFiles {
    /// Opens (creating) `<root>/ingest`.
    /// A bucket is refused: the per-feed lock is the kernel's, which no object store offers;
    /// ingesters keep their state in a folder of their own host for now.
    pub async fn open(root: &Path) -> Result<Self, StoreError> {
        if super::s3::is_bucket(root) {
            return Err(StoreError::Config {
                location: root.display().to_string(),
                problem: "ingest keeps its state in a folder (it locks feeds with flock); \
                          run ingest with REWRITER_OUT set to a folder"
                    .into(),
            });
        }
        let dir = root.join(DIR);
        let create = dir.clone();
        blocking(move || fs::create_dir_all(&create).map_err(StoreError::io("create", &create)))
            .await?;
        Ok(Self { dir })
    }

    pub fn state_path(&self, key: &ExternalId) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    fn lock_path(&self, key: &ExternalId) -> PathBuf {
        self.dir.join(format!("{key}.lock"))
    }

    /// Waits for the feed's exclusive lock. The lock file itself is never removed: removing it
    /// while another process waits on it would let a third lock a new file beside it.
    pub async fn lock(&self, key: &ExternalId) -> Result<FeedLock, StoreError> {
        let path = self.lock_path(key);
        blocking(move || {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(StoreError::io("open", &path))?;
            file.lock().map_err(StoreError::io("lock", &path))?;
            Ok(FeedLock { _file: file })
        })
        .await
    }

    /// The feed's state file, if it exists.
    pub async fn read(&self, key: &ExternalId) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.state_path(key);
        blocking(move || match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io("read", &path)(e)),
        })
        .await
    }

    /// Replaces the feed's state file whole and durably.
    pub async fn write(&self, key: &ExternalId, bytes: Vec<u8>) -> Result<(), StoreError> {
        let path = self.state_path(key);
        let dir = self.dir.clone();
        blocking(move || {
            let tmp = temporary_path(&path);
            let written = (|| {
                let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
                file.write_all(&bytes)?;
                file.sync_all()
            })();
            if let Err(e) = written {
                let _ = fs::remove_file(&tmp);
                return Err(StoreError::io("write", &tmp)(e));
            }
            if let Err(e) = fs::rename(&tmp, &path) {
                let _ = fs::remove_file(&tmp);
                return Err(StoreError::io("rename", &path)(e));
            }
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(StoreError::io("sync", &dir))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn state_is_replaced_whole_and_no_temporary_stays() {
        let root = tempfile::tempdir().unwrap();
        let files = FeedFiles::open(root.path()).await.unwrap();
        let key = ExternalId::parse("feed_a").unwrap();
        assert_eq!(files.read(&key).await.unwrap(), None);
        files.write(&key, b"one".to_vec()).await.unwrap();
        files.write(&key, b"two".to_vec()).await.unwrap();
        assert_eq!(
            files.read(&key).await.unwrap().as_deref(),
            Some(&b"two"[..])
        );
        let names: Vec<String> = fs::read_dir(root.path().join(DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["feed_a.json"]);
    }

    #[tokio::test]
    async fn a_second_lock_on_a_feed_waits_for_the_first() {
        let root = tempfile::tempdir().unwrap();
        let files = FeedFiles::open(root.path()).await.unwrap();
        let key = ExternalId::parse("feed_a").unwrap();
        let first = files.lock(&key).await.unwrap();
        let second = tokio::spawn({
            let files = files.clone();
            let key = key.clone();
            async move { files.lock(&key).await.map(|_| ()) }
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(!second.is_finished(), "the second lock waits");
        drop(first);
        tokio::time::timeout(std::time::Duration::from_secs(5), second)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}
