//! Group commit: one thread writes every file waiting to be written and makes the whole group
//! durable with two flushes, however many jobs it holds.
//!
//! ```text
//! save ─┐                          1. each file to a temporary beside its target (create_new)
//! save ─┼─▶ Committer ─▶ thread ─▶ 2. flush: the temporaries' data is durable
//! save ─┘   (channel)    (group)   3. rename each temporary over its target, in order
//!                                  4. flush: the new names are durable ─▶ answer each save
//! ```
//!
//! A file written alone costs two flushes (its data, then its folder) and each is a disk round
//! trip; a job writes three files. Here a job waiting behind a flush in progress joins the next
//! group, so a group's flushes are shared by all its jobs: on a disk whose flush takes
//! milliseconds, latency per job no longer grows with the files written before it, and
//! throughput no longer stops at flushes per second over threads.
//!
//! A flush is one `syncfs` of the output folder's file system when the folders written are all
//! on it (Linux), otherwise an fsync of every temporary, then of every folder renamed into. A
//! write that fails fails only its own save, whose temporaries are removed; a failed flush fails
//! the whole group, which is then retried by its jobs (renames already made are of whole,
//! durable files).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use tokio::sync::oneshot;

use super::StoreError;
use super::folder::temporary_path;

/// Saves a group holds at most: a bound on the work one flush waits for.
const MAX_GROUP: usize = 256;

/// One save: files written whole or not at all, renamed in the order given.
pub(super) type Files = Vec<(PathBuf, Vec<u8>)>;

struct Request {
    files: Files,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The handle to the committing thread, which runs until every handle is dropped.
#[derive(Debug, Clone)]
pub(super) struct Committer {
    requests: mpsc::Sender<Request>,
}

impl Committer {
    /// Starts the thread for the output folder `root`, whose sub-folders `dirs` hold the files.
    pub(super) fn start(root: &Path, dirs: &[PathBuf]) -> Result<Self, StoreError> {
        let flush = Flush::for_folders(root, dirs)?;
        let (requests, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("rewriter-store".into())
            .spawn(move || {
                while let Ok(first) = queue.recv() {
                    let mut group = vec![first];
                    group.extend(queue.try_iter().take(MAX_GROUP - 1));
                    commit(&flush, group);
                }
            })
            .map_err(StoreError::io("start the file thread for", root))?;
        Ok(Self { requests })
    }

    /// Writes `files` whole, durably, in order; returns once they are.
    pub(super) async fn write(&self, files: Files) -> Result<(), StoreError> {
        let (done, answer) = oneshot::channel();
        self.requests
            .send(Request { files, done })
            .map_err(|_| StoreError::Join("the file thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Join("the file thread dropped a save".into()))?
    }
}

/// How a group is made durable.
#[derive(Debug)]
enum Flush {
    /// One `syncfs` of the file system that every folder is on (the folder stays open, so
    /// that the kernel reports write-back errors since the last call to it).
    #[cfg(target_os = "linux")]
    FileSystem(File),
    /// An fsync of every file and folder concerned.
    EachFile,
}

impl Flush {
    fn for_folders(root: &Path, dirs: &[PathBuf]) -> Result<Self, StoreError> {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::MetadataExt;
            let device = |p: &Path| {
                fs::metadata(p)
                    .map(|m| m.dev())
                    .map_err(StoreError::io("stat", p))
            };
            let root_device = device(root)?;
            let mut one_file_system = true;
            for dir in dirs {
                one_file_system &= device(dir)? == root_device;
            }
            if one_file_system {
                let folder = File::open(root).map_err(StoreError::io("open", root))?;
                return Ok(Self::FileSystem(folder));
            }
        }
        let _ = (root, dirs);
        Ok(Self::EachFile)
    }

    /// Makes the temporaries' contents durable.
    fn data(&self, temporaries: &[&Path]) -> Result<(), FlushError> {
        match self {
            #[cfg(target_os = "linux")]
            Self::FileSystem(folder) => sync_file_system(folder),
            Self::EachFile => temporaries.iter().try_for_each(|p| fsync(p)),
        }
    }

    /// Makes the names renamed into `folders` durable.
    fn names(&self, folders: &[&Path]) -> Result<(), FlushError> {
        match self {
            #[cfg(target_os = "linux")]
            Self::FileSystem(folder) => sync_file_system(folder),
            Self::EachFile => folders.iter().try_for_each(|p| fsync(p)),
        }
    }
}

/// A failed flush, which every save of its group reports.
#[derive(Debug)]
struct FlushError {
    op: &'static str,
    path: PathBuf,
    source: io::Error,
}

impl FlushError {
    /// The error one save of the group gets (`io::Error` is not `Clone`).
    fn for_save(&self) -> StoreError {
        StoreError::Io {
            op: self.op,
            path: self.path.clone(),
            source: io::Error::new(self.source.kind(), self.source.to_string()),
        }
    }
}

#[cfg(target_os = "linux")]
fn sync_file_system(folder: &File) -> Result<(), FlushError> {
    rustix::fs::syncfs(folder).map_err(|e| FlushError {
        op: "syncfs",
        path: PathBuf::from("the output folder's file system"),
        source: e.into(),
    })
}

fn fsync(path: &Path) -> Result<(), FlushError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|source| FlushError {
            op: "fsync",
            path: path.to_owned(),
            source,
        })
}

/// A save on its way through a group: its (temporary, target) pairs once written.
struct Staged {
    request: Request,
    written: Result<Vec<(PathBuf, PathBuf)>, StoreError>,
}

/// Commits one group and answers each of its saves.
fn commit(flush: &Flush, group: Vec<Request>) {
    // 1. Temporaries: a save whose write fails drops out with its error.
    let mut staged: Vec<Staged> = group
        .into_iter()
        .map(|request| {
            let written = write_temporaries(&request.files);
            Staged { request, written }
        })
        .collect();
    // 2. Their data, durable before any of them takes a real name.
    let temporaries: Vec<&Path> = staged
        .iter()
        .filter_map(|s| s.written.as_ref().ok())
        .flatten()
        .map(|(tmp, _)| tmp.as_path())
        .collect();
    if !temporaries.is_empty()
        && let Err(e) = flush.data(&temporaries)
    {
        for s in &mut staged {
            if let Ok(pairs) = &s.written {
                remove_all(pairs);
                s.written = Err(e.for_save());
            }
        }
    }
    // 3. Renames, each save's in its order; a failed rename stops that save.
    for s in &mut staged {
        if let Ok(pairs) = &s.written
            && let Err(e) = rename_all(pairs)
        {
            s.written = Err(e);
        }
    }
    // 4. The names, durable before any save is answered.
    let mut folders: Vec<&Path> = staged
        .iter()
        .filter_map(|s| s.written.as_ref().ok())
        .flatten()
        .filter_map(|(_, target)| target.parent())
        .collect();
    folders.sort_unstable();
    folders.dedup();
    let named = if folders.is_empty() {
        Ok(())
    } else {
        flush.names(&folders)
    };
    for s in staged {
        let result = match (s.written, &named) {
            (Err(e), _) => Err(e),
            (Ok(_), Err(e)) => Err(e.for_save()),
            (Ok(_), Ok(())) => Ok(()),
        };
        // The save may have been given up (its task cancelled): nothing to tell.
        let _ = s.request.done.send(result);
    }
}

/// Writes each file to a temporary beside its target; on failure removes those written.
fn write_temporaries(files: &Files) -> Result<Vec<(PathBuf, PathBuf)>, StoreError> {
    let mut pairs = Vec::with_capacity(files.len());
    for (target, bytes) in files {
        let tmp = temporary_path(target);
        match write_new(&tmp, target, bytes) {
            Ok(()) => pairs.push((tmp, target.clone())),
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                remove_all(&pairs);
                return Err(e);
            }
        }
    }
    Ok(pairs)
}

fn write_new(tmp: &Path, target: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let create = || OpenOptions::new().write(true).create_new(true).open(tmp);
    // The folder usually exists: create it only when the file cannot be, which saves a mkdir
    // system call per file on the hot path.
    let mut file = match create() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let dir = target.parent().unwrap_or(target);
            fs::create_dir_all(dir).map_err(StoreError::io("create", dir))?;
            create()
        }
        other => other,
    }
    .map_err(StoreError::io("create", tmp))?;
    file.write_all(bytes).map_err(StoreError::io("write", tmp))
}

fn rename_all(pairs: &[(PathBuf, PathBuf)]) -> Result<(), StoreError> {
    for (i, (tmp, target)) in pairs.iter().enumerate() {
        if let Err(e) = fs::rename(tmp, target) {
            remove_all(&pairs[i..]);
            return Err(StoreError::io("rename", target)(e));
        }
    }
    Ok(())
}

fn remove_all(pairs: &[(PathBuf, PathBuf)]) {
    for (tmp, _) in pairs {
        let _ = fs::remove_file(tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temporaries_under;

    fn request(files: Files) -> (Request, oneshot::Receiver<Result<(), StoreError>>) {
        let (done, answer) = oneshot::channel();
        (Request { files, done }, answer)
    }

    #[test]
    fn a_group_writes_every_save_and_one_failing_save_fails_alone() {
        // Arrange: three saves, the second aimed into a folder that is a file.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("blocked"), "a file, not a folder").unwrap();
        let flush = Flush::for_folders(root, &[]).unwrap();
        let (first, first_answer) = request(vec![
            (root.join("a/one.md"), b"one".to_vec()),
            (root.join("b/one.md"), b"one, published".to_vec()),
        ]);
        let (second, mut second_answer) = request(vec![
            (root.join("a/two.md"), b"two".to_vec()),
            (root.join("blocked/two.md"), b"two, published".to_vec()),
        ]);
        let (third, third_answer) = request(vec![(root.join("a/three.md"), b"three".to_vec())]);

        // Act
        commit(&flush, vec![first, second, third]);

        // Assert
        assert!(first_answer.blocking_recv().unwrap().is_ok());
        assert!(third_answer.blocking_recv().unwrap().is_ok());
        let error = second_answer.try_recv().unwrap().unwrap_err().to_string();
        assert!(error.contains("blocked"), "{error}");
        assert_eq!(fs::read(root.join("a/one.md")).unwrap(), b"one");
        assert_eq!(fs::read(root.join("b/one.md")).unwrap(), b"one, published");
        assert_eq!(fs::read(root.join("a/three.md")).unwrap(), b"three");
        assert!(
            !root.join("a/two.md").exists(),
            "a failed save leaves none of its files"
        );
        assert_eq!(temporaries_under(root), Vec::<PathBuf>::new());
    }

    #[test]
    fn each_file_flushing_writes_the_same_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let (save, answer) = request(vec![
            (root.join("a/one.md"), b"one".to_vec()),
            (root.join("a/one.md"), b"one, again".to_vec()),
        ]);
        commit(&Flush::EachFile, vec![save]);
        assert!(answer.blocking_recv().unwrap().is_ok());
        assert_eq!(fs::read(root.join("a/one.md")).unwrap(), b"one, again");
        assert_eq!(temporaries_under(root), Vec::<PathBuf>::new());
    }

    #[tokio::test]
    async fn saves_sent_together_are_all_answered() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let committer = Committer::start(&root, &[]).unwrap();
        let saves = (0..50).map(|i| {
            let committer = committer.clone();
            let path = root.join(format!("n/{i}.md"));
            async move {
                committer
                    .write(vec![(path, i.to_string().into_bytes())])
                    .await
            }
        });
        let results = futures_util::future::join_all(saves).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        for i in 0..50 {
            assert_eq!(
                fs::read_to_string(root.join(format!("n/{i}.md"))).unwrap(),
                i.to_string()
            );
        }
    }
}
