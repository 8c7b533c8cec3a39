//! A real S3-compatible server for the tests: moto's standalone server (`moto[server]` 5.2.x,
//! installed by `.ci/run` into a virtual environment), one process and one bucket per test.
//! It honours `If-None-Match: *` and `If-Match` with 412, which the archive's invariants need.
//!
//! The binary is `$REWRITER_MOTO_SERVER`, else `${REWRITER_CACHE:-$HOME/.cache/rewriter}/
//! moto-venv/bin/moto_server`; buckets are made with the boto3 beside it (moto depends on it).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt};

use super::TestEnv;

/// Any key works with moto; the secret is a canary that no output may contain.
pub const ACCESS_KEY: &str = "AKIATESTREWRITER";
pub const SECRET_KEY: &str = "s3-secret-canary-7f3a9c";
pub const REGION: &str = "us-east-1";
/// Every test's archive sits under this prefix, so that the prefix handling is exercised.
pub const PREFIX: &str = "news";

/// A running moto server, stopped on drop.
pub struct Moto {
    child: Child,
    pub port: u16,
}

fn moto_server() -> PathBuf {
    if let Some(path) = std::env::var_os("REWRITER_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let cache = std::env::var_os("REWRITER_CACHE").map_or_else(
        || PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/rewriter"),
        PathBuf::from,
    );
    cache.join("moto-venv/bin/moto_server")
}

/// A port free right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Moto {
    /// Starts a server on a free port and waits until it answers.
    pub fn start() -> Self {
        let binary = moto_server();
        assert!(
            binary.exists(),
            "{} is missing: run .ci/run, or pip install 'moto[server]>=5.2,<5.3' into a venv and set REWRITER_MOTO_SERVER",
            binary.display()
        );
        let port = free_port();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let moto = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket with a unique name and returns the name.
    pub fn bucket(&self) -> String {
        let name = format!("rewriter-{:08x}", fastrand::u32(..));
        create_bucket(&self.endpoint(), &name);
        name
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates `bucket` at `endpoint` with boto3 (a signed CreateBucket, which moto requires).
pub fn create_bucket(endpoint: &str, bucket: &str) {
    let python = moto_server().with_file_name("python");
    let script = format!(
        "import boto3; boto3.client('s3', endpoint_url='{endpoint}', aws_access_key_id='{ACCESS_KEY}', aws_secret_access_key='{SECRET_KEY}', region_name='{REGION}').create_bucket(Bucket='{bucket}')"
    );
    let status = Command::new(python)
        .args(["-c", &script])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "bucket {bucket} not created");
}

/// A bucket as the tests see it: read and change objects behind the product's back.
pub struct Bucket {
    store: Arc<AmazonS3>,
}

impl Bucket {
    pub fn at(endpoint: &str, name: &str) -> Self {
        let store = AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_bucket_name(name)
            .with_access_key_id(ACCESS_KEY)
            .with_secret_access_key(SECRET_KEY)
            .with_region(REGION)
            .with_allow_http(true)
            .build()
            .unwrap();
        Self {
            store: Arc::new(store),
        }
    }

    fn key(relative: &str) -> Key {
        Key::from(format!("{PREFIX}/{relative}"))
    }

    /// Every key under the prefix, relative to it, sorted.
    pub async fn keys(&self) -> Vec<String> {
        let prefix = Key::from(PREFIX);
        let mut keys: Vec<String> = self
            .store
            .list(Some(&prefix))
            .map_ok(|m| m.location.as_ref()[PREFIX.len() + 1..].to_owned())
            .try_collect()
            .await
            .unwrap();
        keys.sort();
        keys
    }

    pub async fn read(&self, relative: &str) -> Option<Vec<u8>> {
        match self.store.get(&Self::key(relative)).await {
            Ok(got) => Some(got.bytes().await.unwrap().to_vec()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("{relative}: {e}"),
        }
    }

    pub async fn delete(&self, relative: &str) {
        self.store.delete(&Self::key(relative)).await.unwrap();
    }

    /// Copies the archive into `dir`, so that the folder helpers can check it.
    pub async fn mirror(&self, dir: &Path) {
        for key in self.keys().await {
            let path = dir.join(&key);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, self.read(&key).await.unwrap()).unwrap();
        }
    }
}

/// Which archive a test runs against: the same test, two backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Folder,
    Bucket,
}

impl TestEnv {
    /// Points `REWRITER_OUT` at a new bucket of `moto` (under [`PREFIX`]) with credentials in
    /// the standard AWS variables. Commands run as processes see them; the test's own process
    /// does not (`AmazonS3Builder::from_env` reads the process environment).
    pub fn use_bucket(&mut self, moto: &Moto) -> Bucket {
        self.use_bucket_at(&moto.endpoint(), &moto.bucket(), &moto.endpoint())
    }

    /// As [`Self::use_bucket`], with the product talking to `product_endpoint` (a proxy) and
    /// the test to `endpoint`.
    pub fn use_bucket_at(
        &mut self,
        endpoint: &str,
        bucket: &str,
        product_endpoint: &str,
    ) -> Bucket {
        self.set("REWRITER_OUT", &format!("s3://{bucket}/{PREFIX}"));
        self.set("AWS_ACCESS_KEY_ID", ACCESS_KEY);
        self.set("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
        self.set("AWS_REGION", REGION);
        self.set("AWS_ENDPOINT_URL", product_endpoint);
        self.set("AWS_ALLOW_HTTP", "true");
        Bucket::at(endpoint, bucket)
    }
}
