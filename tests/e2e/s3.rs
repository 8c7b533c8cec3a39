//! The archive in a bucket: every command and the desk's decisions against `s3://` as against
//! a folder (one test, two backends, moto as the server); `cost` answered from listings, its
//! index healed; a redelivery completes a half-written job without the LLM; clear one-line
//! errors for a bad `REWRITER_OUT`, never the secret key.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use tempfile::TempDir;

use crate::reprocess::{add_v2, assert_success, prompts_with_v1, stderr, stdout};
use crate::support::desk::{Desk, EDITOR, PASSWORD, Visitor};
use crate::support::moto::{Backend, Bucket, Moto, PREFIX, SECRET_KEY};
use crate::support::s3_proxy::FaultProxy;
use crate::support::{TestEnv, assert_keeps_contract, example_headlines, example_sources};

/// Where a test reads the archive from: the folder itself, or a copy of the bucket.
struct Archive {
    bucket: Option<Bucket>,
    copy: TempDir,
}

impl Archive {
    /// The archive as files, fresh.
    async fn files(&mut self, env: &TestEnv) -> PathBuf {
        match &self.bucket {
            None => env.out().to_owned(),
            Some(bucket) => {
                self.copy = tempfile::tempdir().unwrap();
                bucket.mirror(self.copy.path()).await;
                self.copy.path().to_owned()
            }
        }
    }
}

fn read(root: &Path, relative: &str) -> String {
    std::fs::read_to_string(root.join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// A test environment whose archive is on `backend` (a moto server and a bucket of its own,
/// or the environment's folder), with a prompts folder holding v1; the test keeps the server
/// and the folder alive by holding them.
async fn archive_on(backend: Backend) -> (TestEnv, Option<Moto>, Archive, TempDir) {
    let mut env = TestEnv::new().await;
    let moto = (backend == Backend::Bucket).then(Moto::start);
    let bucket = moto.as_ref().map(|m| env.use_bucket(m));
    let archive = Archive {
        bucket,
        copy: tempfile::tempdir().unwrap(),
    };
    let prompts = prompts_with_v1(&mut env);
    (env, moto, archive, prompts)
}

/// Worker, redelivery, `reprocess` (dry run and for real), `diff`, `promote` (one and
/// `--all`), `audit`, `cost` and `prompts list`, in the order an editor meets them.
async fn every_command_works_against(backend: Backend) {
    // Arrange: an archive with the examples at v1, written by a worker process
    let (env, _moto, mut archive, prompts) = archive_on(backend).await;
    let sources = example_sources();
    assert_success(&env.run(&["enqueue", "-"], &example_headlines()));
    assert_success(&env.run(&["worker", "--exit-when-idle"], ""));
    let root = archive.files(&env).await;
    for (id, source) in &sources {
        let article = read(&root, &format!("articles/{id}.md"));
        assert_eq!(article, read(&root, &format!("versions/{id}/v1.md")));
        assert!(root.join(format!("sources/{id}.json")).exists());
        assert_keeps_contract(&root.join(format!("articles/{id}.md")), Some(source));
    }
    let requests = env.llm.requests();

    // Act + Assert: the same jobs again are acked without asking the LLM
    assert_success(&env.run(&["enqueue", "-"], &example_headlines()));
    assert_success(&env.run(&["worker", "--exit-when-idle"], ""));
    assert_eq!(
        env.llm.requests(),
        requests,
        "a written version is not asked again"
    );

    // … reprocess --outdated --dry-run lists, publishes nothing; for real, v2 is written
    add_v2(prompts.path());
    let dry = env.run(&["reprocess", "--outdated", "--dry-run"], "");
    assert_success(&dry);
    for id in sources.keys() {
        assert!(
            stdout(&dry).contains(&format!("{id}: v1 → v2")),
            "{}",
            stdout(&dry)
        );
    }
    assert_eq!(env.depth(&env.queue).await, 0);
    assert_success(&env.run(&["reprocess", "--outdated"], ""));
    assert_success(&env.run(&["worker", "--exit-when-idle"], ""));
    let root = archive.files(&env).await;
    let id = sources.keys().next().unwrap().clone();
    assert_eq!(
        read(&root, &format!("articles/{id}.md")),
        read(&root, &format!("versions/{id}/v2.md"))
    );

    // … diff names the versions; promote rolls one back, --all forward again
    let diff = env.run(&["diff", &id], "");
    assert_success(&diff);
    assert!(
        stdout(&diff).contains(&format!("{id}: v1 → v2")),
        "{}",
        stdout(&diff)
    );
    assert_success(&env.run(&["promote", &id, "1"], ""));
    let root = archive.files(&env).await;
    assert_eq!(
        read(&root, &format!("articles/{id}.md")),
        read(&root, &format!("versions/{id}/v1.md"))
    );
    let all = env.run(&["promote", "--all", "2"], "");
    assert_success(&all);
    assert!(
        stdout(&all).contains("promoted v2 for 6 article(s)"),
        "{}",
        stdout(&all)
    );
    let root = archive.files(&env).await;
    for id in sources.keys() {
        assert_eq!(
            read(&root, &format!("articles/{id}.md")),
            read(&root, &format!("versions/{id}/v2.md"))
        );
    }

    // … audit, cost and prompts list read the whole archive
    let audit = env.run(&["audit"], "");
    assert_success(&audit);
    assert!(
        stdout(&audit).contains("6 articles in"),
        "{}",
        stdout(&audit)
    );
    let cost = env.run(&["cost", "--json"], "");
    assert_success(&cost);
    let cost: serde_json::Value = serde_json::from_slice(&cost.stdout).unwrap();
    assert_eq!(cost["total"]["articles"], 12, "{cost}");
    let list = env.run(&["prompts", "list"], "");
    assert_success(&list);
    let listed = stdout(&list);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("v1") && l.contains(" 6  ")),
        "{listed}"
    );
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("v2") && l.contains(" 6  ")),
        "{listed}"
    );
    // Nothing of the bucket's leaked into the folder the commands ran in.
    if backend == Backend::Bucket {
        assert!(!env.out().join("articles").exists());
        for output in [&dry, &diff, &all, &audit, &list] {
            assert!(!stderr(output).contains(SECRET_KEY));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_works_against_a_folder() {
    every_command_works_against(Backend::Folder).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_works_against_a_bucket_with_the_same_layout() {
    every_command_works_against(Backend::Bucket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_completes_a_half_written_job_in_the_bucket_without_the_llm() {
    // Arrange: one article written, then its published copy and source lost (a crash)
    let mut env = TestEnv::new().await;
    let moto = Moto::start();
    let bucket = env.use_bucket(&moto);
    let line = example_headlines().lines().next().unwrap().to_owned();
    let source: serde_json::Value = serde_json::from_str(&line).unwrap();
    let id = source["externalId"].as_str().unwrap().to_owned();
    assert_success(&env.run(&["rewrite", "-"], &line));
    let version = bucket.read(&format!("versions/{id}/v1.md")).await.unwrap();
    bucket.delete(&format!("articles/{id}.md")).await;
    bucket.delete(&format!("sources/{id}.json")).await;
    let requests = env.llm.requests();

    // Act: the job comes again
    assert_success(&env.run(&["enqueue", "-"], &line));
    assert_success(&env.run(&["worker", "--exit-when-idle"], ""));

    // Assert
    assert_eq!(env.llm.requests(), requests);
    assert_eq!(
        bucket.read(&format!("articles/{id}.md")).await,
        Some(version)
    );
    assert!(bucket.read(&format!("sources/{id}.json")).await.is_some());
    let (index, keys): (Vec<String>, Vec<String>) = bucket
        .keys()
        .await
        .into_iter()
        .partition(|k| k.starts_with("index/"));
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert_eq!(index.len(), 1, "the version's cost index entry: {index:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_published_copy_is_replaced_and_a_later_promote_is_kept() {
    // Arrange: v1 and v2 written; the published copy put back to v1 as if v2's copy was lost
    let mut env = TestEnv::new().await;
    let moto = Moto::start();
    let bucket = env.use_bucket(&moto);
    let line = example_headlines().lines().next().unwrap().to_owned();
    let source: serde_json::Value = serde_json::from_str(&line).unwrap();
    let id = source["externalId"].as_str().unwrap().to_owned();
    let prompts = prompts_with_v1(&mut env);
    assert_success(&env.run(&["rewrite", "-"], &line));
    add_v2(prompts.path());
    assert_success(&env.run(&["rewrite", "-"], &line));
    let v1 = bucket.read(&format!("versions/{id}/v1.md")).await.unwrap();
    let v2 = bucket.read(&format!("versions/{id}/v2.md")).await.unwrap();
    bucket.delete(&format!("articles/{id}.md")).await;
    let requests = env.llm.requests();

    // Act: the v2 job again
    assert_success(&env.run(&["rewrite", "-"], &line));

    // Assert: the copy is v2 again, without the LLM; a promote afterwards stands
    assert_eq!(env.llm.requests(), requests);
    assert_eq!(bucket.read(&format!("articles/{id}.md")).await, Some(v2));
    // S3 times have a one-second grain: the promote comes in a later second than v2's copy.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_success(&env.run(&["promote", &id, "1"], ""));
    assert_success(&env.run(&["rewrite", "-"], &line));
    assert_eq!(bucket.read(&format!("articles/{id}.md")).await, Some(v1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_reads_two_listings_not_every_version_and_heals_a_lost_index_entry() {
    // Arrange: the examples written by a worker, the product's requests counted by a proxy
    let mut env = TestEnv::new().await;
    let moto = Moto::start();
    let proxy = FaultProxy::start(moto.port, 0.0).await;
    let name = moto.bucket();
    let bucket = env.use_bucket_at(&moto.endpoint(), &name, &proxy.endpoint());
    assert_success(&env.run(&["enqueue", "-"], &example_headlines()));
    assert_success(&env.run(&["worker", "--exit-when-idle"], ""));
    let requests = || proxy.counts.forwarded.load(Ordering::SeqCst);
    let cost_counted = |env: &TestEnv| {
        let before = requests();
        let output = env.run(&["cost"], "");
        assert_success(&output);
        (stdout(&output), requests() - before)
    };

    // Act: cost on the bucket, then on a folder copy of it
    let (from_bucket, listed) = cost_counted(&env);
    let copy = tempfile::tempdir().unwrap();
    bucket.mirror(copy.path()).await;
    env.set("REWRITER_OUT", copy.path().to_str().unwrap());
    let from_folder = env.run(&["cost"], "");
    env.set("REWRITER_OUT", &format!("s3://{name}/{PREFIX}"));

    // Assert: the same report; the check that the bucket answers, a page of `versions/` and
    // a page of the index, and no read of a version
    assert_success(&from_folder);
    assert_eq!(from_bucket, stdout(&from_folder));
    assert!(
        from_bucket
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["total", "6"])),
        "{from_bucket}"
    );
    assert_eq!(listed, 3);

    // Act + Assert: an entry lost (a crash between the version and its entry, or a version
    // older than the index) costs one read and one write, once
    let entry = bucket
        .keys()
        .await
        .into_iter()
        .find(|k| k.starts_with("index/cost/"))
        .unwrap();
    bucket.delete(&entry).await;
    let (healing, requests_healing) = cost_counted(&env);
    assert_eq!(healing, from_bucket);
    assert_eq!(
        requests_healing,
        3 + 2,
        "a GET of the version, a PUT of its entry"
    );
    assert!(
        bucket.keys().await.contains(&entry),
        "{entry} written again"
    );
    assert_eq!(cost_counted(&env), (from_bucket, 3));
}

/// The article's decision record, by kind, oldest first.
fn decisions(root: &Path, id: &str) -> Vec<String> {
    read(root, &format!("desk/actions/{id}.ndjson"))
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["action"].to_string())
        .collect()
}

/// Approve, reject and roll back through the desk's HTTP forms; in a bucket also approvals
/// from four sessions at once, none of whose records may be lost.
async fn the_desk_decides_over_http_against(backend: Backend) {
    // Arrange: one article at v1 and v2, the desk running, an editor signed in
    let (env, _moto, mut archive, prompts) = archive_on(backend).await;
    let line = example_headlines().lines().next().unwrap().to_owned();
    let source: serde_json::Value = serde_json::from_str(&line).unwrap();
    let id = source["externalId"].as_str().unwrap().to_owned();
    assert_success(&env.run(&["rewrite", "-"], &line));
    add_v2(prompts.path());
    assert_success(&env.run(&["rewrite", "-"], &line));
    let desk = Desk::start(&env).await;
    let mut ana = Visitor::new(&desk);
    assert_eq!(ana.sign_in(EDITOR, PASSWORD).await.status, 303);
    let csrf = ana.csrf.clone();
    let article = format!("articles/{id}.md");

    // Act + Assert: approving v1 publishes it approved, the version untouched
    let approved = ana
        .post(
            &format!("/articles/{id}/approve"),
            &[("csrf", &csrf), ("version", "1")],
        )
        .await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    let root = archive.files(&env).await;
    let v1 = read(&root, &format!("versions/{id}/v1.md"));
    let v2 = read(&root, &format!("versions/{id}/v2.md"));
    let published = read(&root, &article);
    assert!(
        published.contains("draft: false") && published.contains("  approved:\n    by: ana\n"),
        "{published}"
    );
    assert!(published.contains("\n  version: 1\n"), "{published}");

    // … rejecting withdraws the approval: the copy is v1 as written again
    let rejected = ana
        .post(
            &format!("/articles/{id}/reject"),
            &[("csrf", &csrf), ("reason", "the figures are made up")],
        )
        .await;
    assert_eq!(rejected.status, 303, "{}", rejected.body);
    let root = archive.files(&env).await;
    assert_eq!(read(&root, &article), v1);

    // … a rollback forward to v2 publishes v2 as written
    let promoted = ana
        .post(
            &format!("/articles/{id}/promote"),
            &[("csrf", &csrf), ("version", "2")],
        )
        .await;
    assert_eq!(promoted.status, 303, "{}", promoted.body);
    let root = archive.files(&env).await;
    assert_eq!(read(&root, &article), v2);
    assert_eq!(
        decisions(&root, &id),
        ["\"approve\"", "\"reject\"", "\"promote\""]
    );
    if backend == Backend::Folder {
        return;
    }

    // Act: four sessions approve at once, two v1 and two v2
    let mut editors = Vec::new();
    for _ in 0..4 {
        let mut editor = Visitor::new(&desk);
        assert_eq!(editor.sign_in(EDITOR, PASSWORD).await.status, 303);
        editors.push(editor);
    }
    let statuses =
        futures_util::future::join_all(editors.iter_mut().enumerate().map(|(i, editor)| {
            let (path, csrf) = (format!("/articles/{id}/approve"), editor.csrf.clone());
            async move {
                let version = (1 + i % 2).to_string();
                editor
                    .post(&path, &[("csrf", &csrf), ("version", &version)])
                    .await
                    .status
            }
        }))
        .await;

    // Assert: every approval recorded, the copy an approved copy of one of the versions
    assert_eq!(statuses, [303; 4]);
    let root = archive.files(&env).await;
    let record = decisions(&root, &id);
    assert_eq!(record.len(), 3 + 4, "{record:?}");
    let published = read(&root, &article);
    // An approved copy is its version with `draft: false` and `ai.approved` added.
    let bare = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with("draft: ") && !l.starts_with("  approved:"))
            .filter(|l| !l.starts_with("    by: ") && !l.starts_with("    at: "))
            .map(str::to_owned)
            .collect()
    };
    let as_written = |version: &str| bare(&published) == bare(version);
    assert!(as_written(&v1) || as_written(&v2), "{published}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_decides_over_http_in_a_folder() {
    the_desk_decides_over_http_against(Backend::Folder).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_decides_over_http_in_a_bucket_and_loses_no_concurrent_decision() {
    the_desk_decides_over_http_against(Backend::Bucket).await;
}

/// Runs `args` and asserts one line on standard error naming `problem`, exit 3, and no secret.
fn assert_refused(env: &TestEnv, args: &[&str], problem: &str) {
    let output = env.run(args, "");
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(3), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(problem), "{args:?}: {err}");
    assert!(!err.contains(SECRET_KEY), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_archive_location_is_one_line_that_names_the_problem_and_never_the_secret() {
    // Arrange
    let mut env = TestEnv::new().await;
    let moto = Moto::start();
    env.use_bucket(&moto);
    env.set("RUST_LOG", "off");
    let commands: [&[&str]; 3] = [&["worker"], &["prompts", "list"], &["diff", "a1"]];

    // Act + Assert: an unknown scheme
    env.set("REWRITER_OUT", "gs://bucket/news");
    for args in commands {
        assert_refused(&env, args, "unknown scheme gs://");
    }
    // … a bucket that does not exist
    env.set(
        "REWRITER_OUT",
        &format!("s3://no-such-bucket-{:x}/{PREFIX}", fastrand::u32(..)),
    );
    for args in commands {
        assert_refused(&env, args, "does not exist");
    }
    // … no credentials
    let mut bare = TestEnv::new().await;
    bare.use_bucket(&moto);
    bare.vars.remove("AWS_ACCESS_KEY_ID");
    bare.vars.remove("AWS_SECRET_ACCESS_KEY");
    for args in commands {
        assert_refused(&bare, args, "no credentials");
    }
    // … an endpoint where nothing listens
    let closed = format!("http://127.0.0.1:{}", crate::support::moto::free_port());
    env.use_bucket_at(&moto.endpoint(), &moto.bucket(), &closed);
    for args in commands {
        assert_refused(&env, args, "127.0.0.1");
    }
}
