//! Prompt versions and reprocessing: an archive written with v1 follows a new v2 through
//! `reprocess` (v1 files kept byte for byte), `--dry-run` publishes nothing, `--id`, `--since`
//! and `--source` pick the right articles, `promote` rolls back without the LLM, `diff` names
//! the sections that changed, and a broken prompt set is caught by `prompts check` and stops a
//! worker from starting.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use lapin::options::BasicGetOptions;
use rewriter::worker::Worker;
use tempfile::TempDir;

use crate::support::{
    TestEnv, assert_keeps_contract, connect, example_headlines, example_sources, poll_until,
};

/// A prompts folder holding a copy of the shipped v1, which `env` now uses, with its highest
/// version as the current one.
pub(crate) fn prompts_with_v1(env: &mut TestEnv) -> TempDir {
    let root = tempfile::tempdir().unwrap();
    copy_v1(&root.path().join("v1"));
    env.set("REWRITER_PROMPTS", &root.path().display().to_string());
    env.current_prompts();
    root
}

/// Adds v2 as an editor would: a copy of v1 with one prompt improved (the commentary asks for
/// a closing question to watch), so only the commentary's LLM answer changes.
pub(crate) fn add_v2(prompts: &Path) {
    let v2 = prompts.join("v2");
    copy_v1(&v2);
    let manifest = std::fs::read_to_string(v2.join("manifest.toml")).unwrap();
    let manifest = manifest.replacen(
        "description = \"",
        "description = \"Test v2: commentary ends on what to watch. ",
        1,
    );
    std::fs::write(v2.join("manifest.toml"), manifest).unwrap();
    let commentary = std::fs::read_to_string(v2.join("commentary.hbs")).unwrap();
    let commentary = commentary.replacen(
        "what readers should watch next.",
        "what readers should watch next, ending on the one signal that matters most.",
        1,
    );
    assert!(commentary.contains("signal that matters most"));
    std::fs::write(v2.join("commentary.hbs"), commentary).unwrap();
}

fn copy_v1(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(crate::support::repo().join("prompts/v1")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Writes the example headlines with the current prompt version, without a broker.
fn rewrite_examples(env: &TestEnv, args: &[&str]) {
    let mut all = vec!["rewrite"];
    all.extend_from_slice(args);
    all.push("-");
    let output = env.run(&all, &example_headlines());
    assert_success(&output);
}

pub(crate) fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\n{}\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Takes every job from the jobs queue: (externalId, promptVersion).
async fn take_jobs(env: &TestEnv) -> Vec<(String, u64)> {
    let conn = connect().await;
    let channel = conn.create_channel().await.unwrap();
    let mut jobs = Vec::new();
    while let Some(msg) = channel
        .basic_get(env.queue.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        let job: serde_json::Value = serde_json::from_slice(&msg.delivery.data).unwrap();
        jobs.push((
            job["headline"]["externalId"].as_str().unwrap().to_owned(),
            job["promptVersion"].as_u64().unwrap(),
        ));
    }
    let _ = conn.close(200, "bye".into()).await;
    jobs.sort();
    jobs
}

fn ids_of(jobs: &[(String, u64)]) -> BTreeSet<&str> {
    jobs.iter().map(|(id, _)| id.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reprocess_outdated_brings_every_article_to_v2_and_keeps_v1_byte_identical() {
    // Arrange: a v1 archive written by a worker, then v2 added
    let mut env = TestEnv::new().await;
    let prompts = prompts_with_v1(&mut env);
    let sources = example_sources();
    assert_success(&env.run(&["enqueue"], &example_headlines()));
    let worker = env.spawn_worker().await;
    env.wait_for_articles(sources.len(), Duration::from_secs(30))
        .await;
    worker
        .wait_settled(sources.len() as u64, Duration::from_secs(10))
        .await;
    worker.stop().await;
    let v1_files: Vec<(String, Vec<u8>)> = sources
        .keys()
        .map(|id| {
            let path = env.out().join(format!("versions/{id}/v1.md"));
            (id.clone(), std::fs::read(path).unwrap())
        })
        .collect();
    add_v2(prompts.path());

    // Act
    let output = env.run(&["reprocess", "--outdated"], "");
    let depth = env.depth(&env.queue).await;
    let worker = env.spawn_worker().await;
    poll_until(Duration::from_secs(30), async || {
        let missing: Vec<&String> = sources
            .keys()
            .filter(|id| !env.out().join(format!("versions/{id}/v2.md")).exists())
            .collect();
        missing
            .is_empty()
            .then_some(())
            .ok_or_else(|| format!("articles without a v2: {missing:?}"))
    })
    .await;
    worker
        .wait_settled(sources.len() as u64, Duration::from_secs(10))
        .await;
    let summary = worker.stop().await;
    let again = env.run(&["reprocess", "--outdated"], "");

    // Assert
    assert_success(&output);
    assert!(
        stdout(&output).contains(&format!("enqueued {} job(s) for prompt v2", sources.len())),
        "{}",
        stdout(&output)
    );
    assert_eq!(depth, sources.len() as u32, "each article enqueued once");
    assert_eq!(summary.written, sources.len() as u64);
    for (id, v1) in &v1_files {
        let v1_now = std::fs::read(env.out().join(format!("versions/{id}/v1.md"))).unwrap();
        assert_eq!(&v1_now, v1, "{id}: v1 must stay byte-identical");
        let v2 = std::fs::read_to_string(env.out().join(format!("versions/{id}/v2.md"))).unwrap();
        let published =
            std::fs::read_to_string(env.out().join(format!("articles/{id}.md"))).unwrap();
        assert_eq!(published, v2, "{id}: the published copy follows v2");
        assert!(v2.contains("\n  version: 2\n"), "{v2}");
        assert_keeps_contract(
            &env.out().join(format!("articles/{id}.md")),
            sources.get(id),
        );
    }
    assert_success(&again);
    assert!(
        stdout(&again).contains("enqueued 0 job(s)"),
        "{}",
        stdout(&again)
    );
    assert_eq!(env.depth(&env.queue).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_lists_the_outdated_articles_and_publishes_nothing() {
    // Arrange
    let mut env = TestEnv::new().await;
    let prompts = prompts_with_v1(&mut env);
    rewrite_examples(&env, &[]);
    add_v2(prompts.path());

    // Act
    let output = env.run(&["reprocess", "--outdated", "--dry-run"], "");

    // Assert
    assert_success(&output);
    let out = stdout(&output);
    for id in example_sources().keys() {
        assert!(out.contains(&format!("{id}: v1 → v2")), "{out}");
    }
    assert!(
        out.contains("would enqueue 6 job(s) for prompt v2"),
        "{out}"
    );
    assert_eq!(env.depth(&env.queue).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reprocess_by_id_publishes_exactly_that_article_and_names_unknown_ids() {
    // Arrange
    let mut env = TestEnv::new().await;
    let prompts = prompts_with_v1(&mut env);
    rewrite_examples(&env, &[]);
    add_v2(prompts.path());

    // Act
    let one = env.run(&["reprocess", "--id", "57763813"], "");
    let jobs = take_jobs(&env).await;
    let unknown = env.run(&["reprocess", "--id", "57763814", "no-such-id"], "");
    let after_unknown = take_jobs(&env).await;
    let current = env.run(
        &["reprocess", "--id", "57763813", "--prompt-version", "1"],
        "",
    );

    // Assert
    assert_success(&one);
    assert!(stdout(&one).contains("enqueued 1 job(s) for prompt v2"));
    assert_eq!(jobs, vec![("57763813".to_owned(), 2)]);
    assert_eq!(unknown.status.code(), Some(1), "{}", stderr(&unknown));
    assert!(
        stderr(&unknown).contains("no-such-id: skipped: no stored source"),
        "{}",
        stderr(&unknown)
    );
    assert_eq!(after_unknown, vec![("57763814".to_owned(), 2)]);
    assert_success(&current);
    assert!(
        stderr(&current).contains("57763813: already has v1; skipped (use --force"),
        "{}",
        stderr(&current)
    );
    assert_eq!(env.depth(&env.queue).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_and_source_select_by_the_stored_headline() {
    // Arrange: publishedAt of the examples runs from 2026-02-05T17:45 to 2026-02-06T10:00
    let mut env = TestEnv::new().await;
    let prompts = prompts_with_v1(&mut env);
    rewrite_examples(&env, &[]);
    add_v2(prompts.path());

    // Act
    assert_success(&env.run(&["reprocess", "--since", "2026-02-06"], ""));
    let since_date = take_jobs(&env).await;
    assert_success(&env.run(&["reprocess", "--source", "coindesk"], ""));
    let by_source = take_jobs(&env).await;
    assert_success(&env.run(
        &[
            "reprocess",
            "--since",
            "2026-02-06T09:12:00Z",
            "--source",
            "decrypt",
            "--all",
        ],
        "",
    ));
    let both = take_jobs(&env).await;
    assert_success(&env.run(&["reprocess", "--all"], ""));
    let all = take_jobs(&env).await;

    // Assert
    assert_eq!(
        ids_of(&since_date),
        BTreeSet::from(["57763815", "57763816", "57763817"])
    );
    assert_eq!(ids_of(&by_source), BTreeSet::from(["57763813"]));
    assert_eq!(
        ids_of(&both),
        BTreeSet::from(["57763816"]),
        "inclusive, and both filters"
    );
    assert_eq!(all.len(), 6);
    assert!(all.iter().all(|(_, v)| *v == 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promote_rolls_back_to_v1_without_calling_the_llm() {
    // Arrange: every article at v1, then at v2
    let mut env = TestEnv::new().await;
    let prompts = prompts_with_v1(&mut env);
    rewrite_examples(&env, &[]);
    add_v2(prompts.path());
    rewrite_examples(&env, &[]);
    let requests = env.llm.requests();
    let article = |id: &str| std::fs::read(env.out().join(format!("articles/{id}.md"))).unwrap();
    let version =
        |id: &str, v: u32| std::fs::read(env.out().join(format!("versions/{id}/v{v}.md"))).unwrap();
    assert_eq!(article("57763812"), version("57763812", 2));

    // Act
    let one = env.run(&["promote", "57763812", "1"], "");
    let one_done = article("57763812");
    let all = env.run(&["promote", "--all", "v1"], "");
    let missing = env.run(&["promote", "57763812", "9"], "");

    // Assert
    assert_success(&one);
    assert_eq!(one_done, version("57763812", 1));
    assert_success(&all);
    assert!(
        stdout(&all).contains("promoted v1 for 6 article(s)"),
        "{}",
        stdout(&all)
    );
    for id in example_sources().keys() {
        assert_eq!(article(id), version(id, 1), "{id}");
        assert!(env.out().join(format!("versions/{id}/v2.md")).exists());
    }
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("57763812: has no v9 (it has v1, v2)"),
        "{}",
        stderr(&missing)
    );
    assert_eq!(env.llm.requests(), requests, "no LLM request");
    assert_eq!(env.depth(&env.queue).await, 0, "nothing enqueued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_names_the_sections_a_new_prompt_version_changed() {
    // Arrange: v2 changes only the commentary prompt
    let mut env = TestEnv::new().await;
    let prompts = prompts_with_v1(&mut env);
    rewrite_examples(&env, &[]);
    add_v2(prompts.path());
    rewrite_examples(&env, &[]);

    // Act
    let latest = env.run(&["diff", "57763812"], "");
    let named = env.run(&["diff", "57763812", "2", "1"], "");
    let lone = env.run(&["diff", "nothing-here"], "");

    // Assert
    assert_success(&latest);
    let text = stdout(&latest);
    assert!(text.starts_with("57763812: v1 → v2\n"), "{text}");
    assert!(text.contains("frontmatter: changed"), "{text}");
    assert!(text.contains("\n  ai:\n"), "{text}");
    assert!(!text.contains("\n  title:"), "{text}");
    assert!(text.contains("## Overview: unchanged"), "{text}");
    assert!(text.contains("## From author: changed"), "{text}");
    assert!(
        text.contains("## Impact on the crypto market: unchanged"),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("  + ")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("  - ")), "{text}");
    assert_success(&named);
    assert!(stdout(&named).starts_with("57763812: v2 → v1\n"));
    assert_eq!(lone.status.code(), Some(1));
    assert!(
        stderr(&lone).contains("diff needs two"),
        "{}",
        stderr(&lone)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_list_shows_each_version_the_current_one_and_its_articles() {
    // Arrange: six articles at v1, one of them also at v2
    let mut env = TestEnv::new().await;
    let prompts = prompts_with_v1(&mut env);
    rewrite_examples(&env, &[]);
    add_v2(prompts.path());
    let first = example_headlines().lines().next().unwrap().to_owned();
    assert_success(&env.run(&["rewrite", "-"], &first));

    // Act
    let output = env.run(&["prompts", "list"], "");

    // Assert
    assert_success(&output);
    let text = stdout(&output);
    let row = |v: &str| {
        text.lines()
            .find(|l| l.starts_with(v))
            .unwrap_or_else(|| panic!("no {v} row in\n{text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(row("v1")[..2], ["v1", "6"], "{text}");
    assert_eq!(row("v2")[..3], ["v2", "*", "1"], "{text}");
    assert!(text.contains("* current: v2"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_template_is_caught_by_prompts_check_and_at_worker_start() {
    // Arrange: v2's story template uses a variable no context has, on its third line
    let mut env = TestEnv::new().await;
    let prompts = prompts_with_v1(&mut env);
    add_v2(prompts.path());
    let story = prompts.path().join("v2/story.hbs");
    let text = std::fs::read_to_string(&story).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(2, "Write for {{audience}}.");
    std::fs::write(&story, lines.join("\n")).unwrap();

    // Act
    let check = env.run(&["prompts", "check"], "");
    let build = Worker::build(env.settings(), Default::default()).await;

    // Assert
    assert_eq!(check.status.code(), Some(3), "{}", stderr(&check));
    let err = stderr(&check);
    assert!(stdout(&check).contains("v1: ok"), "{}", stdout(&check));
    assert!(err.contains("v2: broken: "), "{err}");
    assert!(err.contains("v2/story.hbs:3:"), "{err}");
    assert!(err.contains("audience"), "{err}");
    let build_err = build
        .err()
        .expect("the worker refuses to start")
        .to_string();
    assert!(build_err.contains("v2/story.hbs:3:"), "{build_err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loose_schema_is_caught_by_prompts_check_and_at_worker_start() {
    // Arrange: v2's impact schema no longer closes its properties (not strict)
    let mut env = TestEnv::new().await;
    let prompts = prompts_with_v1(&mut env);
    add_v2(prompts.path());
    let schema = prompts.path().join("v2/impact.schema.json");
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&schema).unwrap()).unwrap();
    value
        .as_object_mut()
        .unwrap()
        .remove("additionalProperties");
    std::fs::write(&schema, value.to_string()).unwrap();

    // Act
    let check = env.run(&["prompts", "check"], "");
    let build = Worker::build(env.settings(), Default::default()).await;

    // Assert
    assert_eq!(check.status.code(), Some(3), "{}", stderr(&check));
    assert!(
        stderr(&check).contains(
            "v2/impact.schema.json: /: strict mode needs \"additionalProperties\": false"
        ),
        "{}",
        stderr(&check)
    );
    assert!(build.is_err(), "the worker refuses to start");
}
