//! The archive in an S3-compatible bucket (`REWRITER_OUT=s3://BUCKET[/PREFIX]`): the same keys
//! under the prefix as the folder's paths under its root, through five primitives — get, head,
//! put, put if absent (`If-None-Match: *`), put if unchanged (`If-Match` on an ETag) — and a
//! listing. Everything the archive promises across hosts is built from these in `store`.
//!
//! Credentials and endpoint come from the standard AWS variables
//! ([`AmazonS3Builder::from_env`]). Faults (5xx, SlowDown, timeouts, dropped connections) are
//! retried by `object_store` with exponential backoff ([`RETRY`]); what still fails is a
//! [`StoreError::Remote`], which a worker answers by returning the job to the queue. Errors name
//! the bucket and key and the server's answer, never a credential: requests are signed in a
//! header that no error prints.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as Key;
use object_store::{
    BackoffConfig, ClientConfigKey, ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload, RetryConfig, UpdateVersion,
};
use secrecy::{ExposeSecret, SecretString};

use super::StoreError;

/// The URL scheme that selects this backend.
pub const SCHEME: &str = "s3://";

/// Retries within one request: about 0.1 + 0.2 + … + 3.2 s of backoff over six tries, bounded
/// at 30 s in all. Long enough to ride out a SlowDown or a restarting server; short enough that
/// a store that stays down fails the job soon, so the worker returns it to the queue (where it
/// waits without holding a connection) and `/readyz` says so.
const RETRY: RetryConfig = RetryConfig {
    backoff: BackoffConfig {
        init_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(4),
        base: 2.0,
    },
    max_retries: 6,
    retry_timeout: Duration::from_secs(30),
};

/// Extra tries of a conditional create that failed fast (see [`Bucket::put_if_absent`]).
const CREATE_RETRIES: u32 = 4;
const QUICK_FAILURE: Duration = Duration::from_secs(5);

/// One request, connect to last byte (articles are a few kilobytes); then connecting alone.
const REQUEST_TIMEOUT: &str = "20s";
const CONNECT_TIMEOUT: &str = "5s";

/// A bucket and a prefix in it.
#[derive(Debug, Clone)]
pub(super) struct Bucket {
    store: Arc<AmazonS3>,
    /// Without slashes at either end; empty for the bucket's root.
    prefix: String,
    /// `s3://bucket/prefix`, for messages.
    url: String,
    redact: Redact,
}

/// Whether `location` names a bucket rather than a folder.
pub fn is_bucket(location: &std::path::Path) -> bool {
    location.to_str().is_some_and(|s| s.starts_with(SCHEME))
}

/// A scheme other than `s3://` (`gs://`, `http://`): refused rather than taken for a folder.
pub(super) fn unknown_scheme(location: &std::path::Path) -> Option<String> {
    let s = location.to_str()?;
    let (scheme, _) = s.split_once("://")?;
    let plausible = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    (plausible && scheme != "s3").then(|| scheme.to_owned())
}

impl Bucket {
    /// Connects to `s3://bucket/prefix` and checks that the bucket answers (one listing of at
    /// most a page, under the prefix), so that a wrong name, endpoint or key fails here in one
    /// line rather than at the first job.
    pub(super) async fn open(location: &str) -> Result<Self, StoreError> {
        let rest = location.strip_prefix(SCHEME).unwrap_or(location);
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/').to_owned();
        let url = if prefix.is_empty() {
            format!("{SCHEME}{bucket}")
        } else {
            format!("{SCHEME}{bucket}/{prefix}")
        };
        let config = |problem: String| StoreError::Config {
            location: url.clone(),
            problem,
        };
        if bucket.is_empty() {
            return Err(config("no bucket named (s3://BUCKET[/PREFIX])".into()));
        }
        let builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_retry(RETRY)
            // Set key by key: `with_client_options` would replace what the environment set
            // (AWS_ALLOW_HTTP among it).
            .with_config(
                AmazonS3ConfigKey::Client(ClientConfigKey::Timeout),
                REQUEST_TIMEOUT,
            )
            .with_config(
                AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
                CONNECT_TIMEOUT,
            );
        // Without a key the client would ask the EC2 instance metadata service, which off AWS
        // only answers with a long wait; web identity and container credentials are kept.
        let has = |key| builder.get_config_value(&key).is_some();
        let federated = has(AmazonS3ConfigKey::WebIdentityTokenFile)
            || has(AmazonS3ConfigKey::ContainerCredentialsRelativeUri)
            || has(AmazonS3ConfigKey::ContainerCredentialsFullUri);
        let secrets: Arc<[SecretString]> =
            [AmazonS3ConfigKey::SecretAccessKey, AmazonS3ConfigKey::Token]
                .into_iter()
                .filter_map(|key| builder.get_config_value(&key))
                .filter(|s| s.len() >= 4)
                .map(SecretString::from)
                .collect();
        let redact = Redact(secrets);
        match (
            has(AmazonS3ConfigKey::AccessKeyId),
            has(AmazonS3ConfigKey::SecretAccessKey),
        ) {
            (true, true) => {}
            (false, false) if federated => {}
            (true, false) => return Err(config("AWS_SECRET_ACCESS_KEY is not set".into())),
            _ => {
                return Err(config(
                    "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into(),
                ));
            }
        }
        let store = builder.build().map_err(|e| config(redact.text(&e)))?;
        let bucket = Self {
            store: Arc::new(store),
            prefix,
            url: url.clone(),
            redact,
        };
        let probe = bucket.key("");
        bucket
            .store
            .list_with_delimiter(Some(&probe))
            .await
            .map_err(|e| {
                let text = bucket.redact.text(&e);
                if text.contains("NoSuchBucket") {
                    config("the bucket does not exist (NoSuchBucket)".into())
                } else {
                    config(text)
                }
            })?;
        Ok(bucket)
    }

    /// `s3://bucket/prefix`, as a path for messages and for the `*_path` methods.
    pub(super) fn root(&self) -> PathBuf {
        PathBuf::from(&self.url)
    }

    fn key(&self, relative: &str) -> Key {
        if self.prefix.is_empty() {
            Key::from(relative)
        } else if relative.is_empty() {
            Key::from(self.prefix.as_str())
        } else {
            Key::from(format!("{}/{relative}", self.prefix))
        }
    }

    fn remote(
        &self,
        op: &'static str,
        relative: &str,
    ) -> impl FnOnce(object_store::Error) -> StoreError {
        let location = format!("{}/{relative}", self.url);
        let redact = self.redact.clone();
        move |e| StoreError::Remote {
            op,
            location,
            reason: redact.text(&e),
        }
    }

    /// The object's bytes and metadata; `None` when there is none.
    pub(super) async fn get_with_meta(
        &self,
        relative: &str,
    ) -> Result<Option<(Vec<u8>, ObjectMeta)>, StoreError> {
        match self.store.get(&self.key(relative)).await {
            Ok(got) => {
                let meta = got.meta.clone();
                let bytes = got.bytes().await.map_err(self.remote("read", relative))?;
                Ok(Some((bytes.to_vec(), meta)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.remote("read", relative)(e)),
        }
    }

    /// The object's metadata; `None` when there is none.
    pub(super) async fn head(&self, relative: &str) -> Result<Option<ObjectMeta>, StoreError> {
        match self.store.head(&self.key(relative)).await {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.remote("stat", relative)(e)),
        }
    }

    /// Writes the object whole, replacing any (S3 puts are atomic: readers see old or new).
    pub(super) async fn put(&self, relative: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.put_tagged(relative, bytes).await.map(drop)
    }

    /// [`Self::put`], answering the ETag the store gave the object.
    pub(super) async fn put_tagged(
        &self,
        relative: &str,
        bytes: Vec<u8>,
    ) -> Result<Option<String>, StoreError> {
        let put = self
            .store
            .put(&self.key(relative), PutPayload::from(bytes))
            .await
            .map_err(self.remote("write", relative))?;
        Ok(put.e_tag)
    }

    /// Creates the object unless one exists (`If-None-Match: *`). `Ok(false)`: one existed, or
    /// appeared — another writer won, or an earlier try of this very request did and its answer
    /// was lost.
    pub(super) async fn put_if_absent(
        &self,
        relative: &str,
        bytes: Vec<u8>,
    ) -> Result<bool, StoreError> {
        Ok(self.create_tagged(relative, bytes).await?.is_some())
    }

    /// [`Self::put_if_absent`], answering `Some(ETag)` when this call created the object.
    pub(super) async fn create_tagged(
        &self,
        relative: &str,
        bytes: Vec<u8>,
    ) -> Result<Option<Option<String>>, StoreError> {
        let payload = PutPayload::from(bytes);
        let mut tries = 0;
        loop {
            let opts = PutOptions::from(PutMode::Create);
            let started = std::time::Instant::now();
            match self
                .store
                .put_opts(&self.key(relative), payload.clone(), opts)
                .await
            {
                Ok(put) => return Ok(Some(put.e_tag)),
                Err(object_store::Error::AlreadyExists { .. }) => return Ok(None),
                // `object_store` does not retry a conditional put whose connection dropped
                // after sending (it cannot know it is idempotent). It is: a try that did land
                // makes the next one answer "exists", which is the truth. A quick failure is
                // such a drop; a slow one already had `RETRY`'s tries.
                Err(_) if tries < CREATE_RETRIES && started.elapsed() < QUICK_FAILURE => {
                    tries += 1;
                    tokio::time::sleep(RETRY.backoff.init_backoff * 2u32.pow(tries)).await;
                }
                Err(e) => return Err(self.remote("create", relative)(e)),
            }
        }
    }

    /// Replaces the object only if it is still the one read with `e_tag` (`If-Match`).
    /// `Ok(false)`: it changed (or went) since.
    pub(super) async fn put_if_match(
        &self,
        relative: &str,
        bytes: Vec<u8>,
        e_tag: Option<String>,
    ) -> Result<bool, StoreError> {
        let mode = PutMode::Update(UpdateVersion {
            e_tag,
            version: None,
        });
        match self
            .store
            .put_opts(&self.key(relative), PutPayload::from(bytes), mode.into())
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::Precondition { .. }) => Ok(false),
            Err(e) => Err(self.remote("update", relative)(e)),
        }
    }

    /// Every key under `relative` with when it was last written, relative to it: one request
    /// per 1,000 keys, like [`Self::list`].
    pub(super) async fn list_stamped(
        &self,
        relative: &str,
    ) -> Result<Vec<(String, std::time::SystemTime)>, StoreError> {
        self.list_with(relative, |meta| meta.last_modified.into())
            .await
    }

    /// Every key under `relative` (a folder-like prefix such as `versions`), relative to it,
    /// in byte order: one request per 1,000 keys.
    pub(super) async fn list(&self, relative: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .list_tagged(relative)
            .await?
            .into_iter()
            .map(|(name, _)| name)
            .collect())
    }

    /// [`Self::list`], with each object's ETag.
    pub(super) async fn list_tagged(
        &self,
        relative: &str,
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        self.list_with(relative, |meta| meta.e_tag).await
    }

    /// Every key under `relative`, relative to it, with what `pick` takes of its listing entry.
    async fn list_with<T>(
        &self,
        relative: &str,
        pick: impl Fn(ObjectMeta) -> T,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let base = self.key(relative);
        let skip = base.as_ref().len() + 1;
        self.store
            .list(Some(&base))
            .map_ok(|meta| {
                let name = meta.location.as_ref().get(skip..).unwrap_or("").to_owned();
                (name, pick(meta))
            })
            .try_collect()
            .await
            .map_err(self.remote("list", relative))
    }
}

/// Blanks credentials out of error text. `object_store` signs requests in headers and prints
/// neither them nor its configuration; this is the belt to those braces, for a secret pasted
/// into a URL or a bucket name by mistake.
#[derive(Debug, Clone)]
struct Redact(Arc<[SecretString]>);

impl Redact {
    /// The error on one line, credentials blanked.
    fn text(&self, e: &impl std::fmt::Display) -> String {
        let mut text = one_line(&e.to_string());
        for secret in self.0.iter() {
            text = text.replace(secret.expose_secret(), "[redacted]");
        }
        text
    }
}

/// An S3 error on one line: the server's XML body (request ids and all) cut down to its
/// `<Code>` and `<Message>`, whitespace folded.
fn one_line(text: &str) -> String {
    let (head, body) = match text.find("<?xml") {
        Some(i) => (&text[..i], Some(&text[i..])),
        None => (text, None),
    };
    let between = |body: &str, open: &str, close: &str| -> Option<String> {
        let start = body.find(open)? + open.len();
        let end = body[start..].find(close)? + start;
        Some(body[start..end].to_owned())
    };
    let mut out = head.trim_end_matches([':', ' ', '\n']).to_owned();
    if let Some(body) = body {
        if let Some(code) = between(body, "<Code>", "</Code>") {
            out.push_str(": ");
            out.push_str(&code);
        }
        if let Some(message) = between(body, "<Message>", "</Message>") {
            out.push_str(&format!(" ({message})"));
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_other_than_s3_are_named_and_paths_are_folders() {
        assert_eq!(unknown_scheme("gs://b/p".as_ref()), Some("gs".into()));
        assert_eq!(unknown_scheme("s3://b/p".as_ref()), None);
        assert_eq!(unknown_scheme("./content".as_ref()), None);
        assert!(is_bucket("s3://b".as_ref()));
        assert!(!is_bucket("/tmp/s3:/b".as_ref()));
    }

    #[test]
    fn a_server_error_body_is_cut_to_its_code_and_message_on_one_line() {
        let text = "GET http://h/b in 3ms - 404 Not Found: <?xml version=\"1.0\"?>\n<Error><Code>NoSuchKey</Code><Message>gone</Message><RequestId>x</RequestId></Error>";
        assert_eq!(
            one_line(text),
            "GET http://h/b in 3ms - 404 Not Found: NoSuchKey (gone)"
        );
    }
}
