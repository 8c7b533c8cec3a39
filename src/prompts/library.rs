//! Every prompt set under the prompts folder, which one is current, and which version a job
//! is rewritten with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{PromptError, PromptSet};
use crate::job::PromptVersion;

/// One prompt set as [`PromptLibrary::check`] found it.
pub type SetCheck = Result<PromptSet, PromptError>;

/// Every prompt set under the prompts folder, and which is current.
#[derive(Debug)]
pub struct PromptLibrary {
    root: PathBuf,
    sets: BTreeMap<PromptVersion, Arc<PromptSet>>,
    current: PromptVersion,
}

impl PromptLibrary {
    /// Loads every `v<N>` folder under `root`; `current` picks the default version (else the
    /// highest). The first broken set is the error.
    pub fn load(root: &Path, current: Option<PromptVersion>) -> Result<Self, PromptError> {
        let mut sets = BTreeMap::new();
        for (version, dir) in Self::folders(root)? {
            sets.insert(version, Arc::new(PromptSet::load(&dir, version)?));
        }
        let highest = *sets
            .keys()
            .next_back()
            .ok_or_else(|| PromptError::NoPromptSets(root.to_owned()))?;
        let current = current.unwrap_or(highest);
        if !sets.contains_key(&current) {
            return Err(PromptError::UnknownVersion(current));
        }
        Ok(Self {
            root: root.to_owned(),
            sets,
            current,
        })
    }

    /// Loads every set on its own, so that one broken set does not hide the next: what
    /// `rewriter prompts check` reports. Fails only when `root` cannot be listed.
    pub fn check(root: &Path) -> Result<Vec<(PromptVersion, SetCheck)>, PromptError> {
        Ok(Self::folders(root)?
            .into_iter()
            .map(|(version, dir)| (version, PromptSet::load(&dir, version)))
            .collect())
    }

    /// The `v<N>` folders under `root`, lowest version first.
    pub fn folders(root: &Path) -> Result<Vec<(PromptVersion, PathBuf)>, PromptError> {
        let io = |source| PromptError::Io {
            path: root.to_owned(),
            source,
        };
        let mut folders = Vec::new();
        for entry in std::fs::read_dir(root).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            let Some(version) = name
                .to_str()
                .filter(|n| n.starts_with('v'))
                .and_then(|n| PromptVersion::parse(n).ok())
            else {
                continue;
            };
            if entry.path().is_dir() {
                folders.push((version, entry.path()));
            }
        }
        folders.sort();
        Ok(folders)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn current(&self) -> PromptVersion {
        self.current
    }

    /// The version a job is rewritten with: the one it asks for, else the current one.
    pub fn version_for(&self, asked: Option<PromptVersion>) -> PromptVersion {
        asked.unwrap_or(self.current)
    }

    /// The versions loaded and the current one, as `/readyz` shows them: `v1, v2 (current v2)`.
    pub fn describe(&self) -> String {
        format!(
            "{} (current v{})",
            self.versions()
                .map(|v| v.dir_name())
                .collect::<Vec<_>>()
                .join(", "),
            self.current
        )
    }

    /// The versions loaded, lowest first.
    pub fn versions(&self) -> impl Iterator<Item = PromptVersion> + '_ {
        self.sets.keys().copied()
    }

    pub fn get(&self, version: PromptVersion) -> Result<&Arc<PromptSet>, PromptError> {
        self.sets
            .get(&version)
            .ok_or(PromptError::UnknownVersion(version))
    }
}
