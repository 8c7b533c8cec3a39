//! Editors' accounts: the `REWRITER_DESK_USERS` file, one `name:$argon2id$…` line each.
//!
//! Passwords are kept only as Argon2id hashes (the `argon2` crate's defaults, a random salt
//! each). Checking a password is deliberately slow, so it runs on the blocking pool; an unknown
//! name costs the same check against a fixed hash, so timing does not tell which names exist.
//! The file is the desk's own configuration, outside `REWRITER_OUT`, so this module writes it
//! itself (whole: a temporary file renamed over it), not through the store.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Longest password accepted (Argon2 takes any length; this bounds the work per attempt).
const MAX_PASSWORD: usize = 1024;

/// A problem with the accounts file or a new account.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} line {line}: not `name:$argon2id$…`")]
    Malformed { path: PathBuf, line: usize },
    #[error("no editor accounts in {0}: add one with `rewriter desk add-user NAME`")]
    Empty(PathBuf),
    #[error("{0}")]
    Invalid(String),
    #[error("the password could not be hashed: {0}")]
    Hash(String),
}

/// The accounts, name to PHC hash string.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    hashes: BTreeMap<String, String>,
}

/// A fixed hash checked for unknown names, so that they take as long as known ones.
static DECOY: LazyLock<String> =
    LazyLock::new(|| hash_password("not a password").unwrap_or_default());

impl Accounts {
    /// Reads the file; a missing file has no accounts.
    pub fn read(path: &Path) -> Result<Self, AccountError> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(AccountError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let mut hashes = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_once(':') {
                Some((name, hash))
                    if check_user_name(name).is_ok() && PasswordHash::new(hash).is_ok() =>
                {
                    hashes.insert(name.to_owned(), hash.to_owned());
                }
                _ => {
                    return Err(AccountError::Malformed {
                        path: path.to_owned(),
                        line: i + 1,
                    });
                }
            }
        }
        Ok(Self { hashes })
    }

    /// Reads the file and insists on at least one account: the desk does not start without.
    pub fn require(path: &Path) -> Result<Self, AccountError> {
        let accounts = Self::read(path)?;
        if accounts.hashes.is_empty() {
            return Err(AccountError::Empty(path.to_owned()));
        }
        Ok(accounts)
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Whether `password` is `name`'s. Slow by design: call it off the reactor.
    pub fn verify(&self, name: &str, password: &str) -> bool {
        let (hash, known) = match self.hashes.get(name) {
            Some(h) => (h.as_str(), true),
            None => (DECOY.as_str(), false),
        };
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        let matches = password.len() <= MAX_PASSWORD
            && Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
        known && matches
    }

    /// Adds `name` (or replaces its password) and writes the file whole.
    pub fn set(path: &Path, name: &str, password: &str) -> Result<(), AccountError> {
        check_user_name(name)?;
        if password.is_empty() || password.len() > MAX_PASSWORD {
            return Err(AccountError::Invalid(format!(
                "a password must have 1 to {MAX_PASSWORD} bytes"
            )));
        }
        let mut accounts = Self::read(path)?;
        accounts
            .hashes
            .insert(name.to_owned(), hash_password(password)?);
        let text: String = accounts
            .hashes
            .iter()
            .map(|(n, h)| format!("{n}:{h}\n"))
            .collect();
        write_whole(path, text.as_bytes())
    }
}

/// A name usable as an account: letters, digits, `.`, `_`, `-`, `@`; 1 to 64 characters.
pub fn check_user_name(name: &str) -> Result<(), AccountError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(AccountError::Invalid(format!(
            "{name:?}: an account name has 1 to 64 letters, digits, '.', '_', '-' or '@'"
        )))
    }
}

/// A PHC string: Argon2id, a random salt.
fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// `n` random bytes from the operating system, as hex: session ids and CSRF tokens.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `path` whole, readable by its owner only: a temporary file beside it, flushed, then
/// renamed over it.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), AccountError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |source| AccountError::Io {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    fs::rename(&tmp, path).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_password_verifies_and_others_do_not() {
        // Arrange
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");

        // Act
        Accounts::set(&path, "ana", "correct horse").unwrap();
        let accounts = Accounts::require(&path).unwrap();

        // Assert
        assert!(accounts.verify("ana", "correct horse"));
        assert!(!accounts.verify("ana", "wrong"));
        assert!(!accounts.verify("bob", "correct horse"));
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("ana:$argon2id$"), "{text}");
        assert!(!text.contains("correct horse"));
    }

    #[test]
    fn no_accounts_is_an_error_that_says_how_to_add_one() {
        let dir = tempfile::tempdir().unwrap();
        let err = Accounts::require(&dir.path().join("none")).unwrap_err();
        assert!(err.to_string().contains("add-user"), "{err}");
    }
}
