//! `rewriter eval`: a candidate prompt set that makes the (fake) model invent figures shows a
//! higher draft rate and more unsupported claims than the archive's v1, names the articles that
//! got worse, exits 1 under a threshold and 0 without, resumes from its scratch folder, and
//! writes nothing into `articles/` or `versions/`; a re-run baseline is measured like the
//! candidate; failed articles come with their dead-letter reasons; the same seed draws the
//! same sample; bad requests get one clear line, exit 2 or 3, and write nothing.
//!
//! The real-model run (the one-call set against the four-call one with llama.cpp) is the last
//! step of `real_llm.rs`, on the archive that test writes.

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::support::fake_llm::INVENTED_CLAIM;
use crate::support::{TestEnv, copy_prompt_set, snapshot};

/// In the candidate's system message only: the fake LLM invents figures when it sees it.
const MARKER: &str = "Style note for the evaluation test: be vivid.";

/// 12 headlines: three sources, two languages, no figures in them.
fn headlines() -> String {
    let subjects = [
        "Miners",
        "Exchanges",
        "Regulators",
        "Stablecoins",
        "Validators",
        "Custodians",
    ];
    let mut lines = String::new();
    for i in 0..12 {
        let (key, lang) = match i % 4 {
            0 => ("wire", "en"),
            1 => ("desk", "en"),
            2 => ("wire", "de"),
            _ => ("blog", "en"),
        };
        let subject = subjects[i % subjects.len()];
        let headline = json!({
            "externalId": format!("ev-{i:02}"),
            "title": format!("{subject} Weigh Options After Quiet Trading Session"),
            "description": format!("{subject} are reviewing plans as markets stay calm."),
            "publishedAt": format!("2026-02-{:02}T10:00:00Z", 1 + i),
            "lang": lang,
            "source": {"name": key.to_uppercase(), "key": key},
            "category": "MARKETS",
            "tags": ["MARKETS"],
        });
        lines.push_str(&headline.to_string());
        lines.push('\n');
    }
    lines
}

/// An archive of the 12 headlines written with v1 (from a prompts folder of the test's own),
/// then a v2 that differs from v1 by the marker in its system message.
fn archive(env: &mut TestEnv) -> TempDir {
    let prompts = tempfile::tempdir().unwrap();
    copy_prompt_set("v1", &prompts.path().join("v1"));
    env.set("REWRITER_PROMPTS", &prompts.path().display().to_string());
    let written = env.run(&["rewrite", "--prompt-version", "1", "-"], &headlines());
    assert_exit(&written, 0);
    add_candidate(prompts.path(), "v2");
    env.llm.invent_claims_when(MARKER);
    prompts
}

fn add_candidate(prompts: &Path, version: &str) {
    let dir = prompts.join(version);
    copy_prompt_set("v1", &dir);
    let system = std::fs::read_to_string(dir.join("system.hbs")).unwrap();
    std::fs::write(dir.join("system.hbs"), format!("{system}\n{MARKER}\n")).unwrap();
}

fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            stderr(output)
        )
    })
}

/// `articles/`, `versions/` and `sources/` of the archive, with every byte.
fn archive_files(env: &TestEnv) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    ["articles", "versions", "sources"]
        .iter()
        .flat_map(|d| snapshot(&env.out().join(d)))
        .collect()
}

/// Runs `rewriter eval --candidate 2 --yes` with `args`.
fn evaluate_v2(env: &TestEnv, args: &[&str]) -> Output {
    let mut argv = vec!["eval", "--candidate", "2", "--yes"];
    argv.extend_from_slice(args);
    env.run(&argv, "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_that_invents_figures_is_reported_worse_and_fails_the_gate() {
    // Arrange
    let mut env = TestEnv::new().await;
    let _prompts = archive(&mut env);
    let before = archive_files(&env);
    let requests_before = env.llm.requests();

    // Act: a first run with the default scratch folder, no thresholds
    let first = evaluate_v2(&env, &["--json"]);
    let requests_first = env.llm.requests();
    let scratch = report(&first)["scratch"].as_str().unwrap().to_owned();
    // … the same evaluation again, in the same folder, under a threshold
    let gated = evaluate_v2(
        &env,
        &[
            "--json",
            "--out",
            &scratch,
            "--max-draft-rate-increase",
            "0.05",
            "--max-failures",
            "0",
        ],
    );
    let table = evaluate_v2(&env, &["--out", &scratch]);
    let other = evaluate_v2(&env, &["--rerun-baseline", "--out", &scratch]);

    // Assert: exit 0 without a threshold, and the candidate is worse
    assert_exit(&first, 0);
    let r = report(&first);
    let (base, cand) = (&r["baseline"], &r["candidate"]);
    assert_eq!(base["version"], 1);
    assert_eq!(base["source"], "archive");
    assert_eq!(cand["version"], 2);
    assert_eq!(cand["articles"], 12, "{r}");
    assert_eq!(cand["failed"], 0, "{r}");
    assert_eq!(cand["drafted"], 12, "every v2 answer invents: {r}");
    assert!(
        cand["drafted"].as_u64() > base["drafted"].as_u64(),
        "the candidate drafts more: {r}"
    );
    assert!(
        cand["unsupportedClaimsPerArticle"].as_f64().unwrap()
            > base["unsupportedClaimsPerArticle"].as_f64().unwrap(),
        "{r}"
    );
    assert!(
        cand["draftReasons"]["figures not in the news item"].as_u64() >= Some(1),
        "draft reasons by kind: {r}"
    );
    assert!(cand["reasksPerArticle"].as_f64().unwrap() >= 1.0, "{r}");
    assert!(cand["llmMsP95"].is_u64(), "{r}");
    let worse = r["worse"].as_array().unwrap();
    assert_eq!(worse.len(), 12, "{r}");
    let english = worse
        .iter()
        .find(|w| w["id"] == "ev-00")
        .expect("ev-00 got worse");
    let reasons = english["reasons"].to_string();
    assert!(reasons.contains("published → draft"), "{reasons}");
    assert!(reasons.contains("new unsupported claims"), "{reasons}");
    assert!(
        english["diff"]
            .as_str()
            .unwrap()
            .ends_with("rewriter diff ev-00 1 2"),
        "{english}"
    );
    assert!(Path::new(&scratch).starts_with(env.out().join("evals")));
    // … nothing in the archive changed; the candidate's articles are in the scratch folder
    assert_eq!(archive_files(&env), before, "the archive is only read");
    let v2 = std::fs::read_to_string(Path::new(&scratch).join("versions/ev-00/v2.md")).unwrap();
    assert!(v2.contains(INVENTED_CLAIM), "{v2}");
    assert!(requests_first > requests_before);
    // … the rerun resumed (no LLM request) and the gate failed with its reasons
    assert_exit(&gated, 1);
    assert_eq!(
        env.llm.requests(),
        requests_first,
        "nothing was asked again"
    );
    let resumed = stderr(&gated);
    assert!(
        resumed.contains("12 article(s) were judged by an earlier run"),
        "{resumed}"
    );
    assert!(
        resumed.contains("estimate for v2: 0 LLM request(s)"),
        "{resumed}"
    );
    let g = report(&gated);
    assert_eq!(g["resumed"], 12);
    assert_eq!(g["gate"]["passed"], false);
    assert_eq!(g["candidate"], r["candidate"], "the same figures");
    assert!(
        stderr(&gated).contains("--max-draft-rate-increase"),
        "{}",
        stderr(&gated)
    );
    assert!(!stderr(&gated).contains("--max-failures"));
    // … and a person sees a table
    assert_exit(&table, 0);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("v1 (archive)") && text.contains("v2 (run)"),
        "{text}"
    );
    assert!(text.contains("worse with v2: 12"), "{text}");
    assert!(text.contains("gate: passed"), "{text}");
    // … and the folder is not taken for another evaluation
    assert_exit(&other, 2);
    assert!(
        stderr(&other).contains("holds an evaluation with other settings (rerunBaseline)"),
        "{}",
        stderr(&other)
    );
    // … whose diff command works
    let mut diff_env = env.vars.clone();
    diff_env.insert("REWRITER_OUT".into(), scratch.clone());
    let diff = std::process::Command::new(env!("CARGO_BIN_EXE_rewriter"))
        .args(["diff", "ev-00", "1", "2"])
        .env_clear()
        .envs(&diff_env)
        .output()
        .unwrap();
    assert_exit(&diff, 0);
    assert!(String::from_utf8_lossy(&diff.stdout).contains("ev-00: v1 → v2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_draws_the_same_sample_and_another_seed_another() {
    // Arrange
    let mut env = TestEnv::new().await;
    let _prompts = archive(&mut env);
    let scratch = tempfile::tempdir().unwrap();
    let sample = |seed: &str, out: &str| {
        let out = scratch.path().join(out).display().to_string();
        let output = evaluate_v2(
            &env,
            &["--sample", "4", "--seed", seed, "--json", "--out", &out],
        );
        assert_exit(&output, 0);
        report(&output)["sample"].clone()
    };

    // Act
    let first = sample("1", "a");
    let again = sample("1", "b");
    let other = sample("2", "c");

    // Assert
    assert_eq!(first.as_array().unwrap().len(), 4, "{first}");
    assert_eq!(first, again);
    assert_ne!(first, other);
    // Four of 12 from three sources and two languages: every source is drawn.
    let sources: std::collections::BTreeSet<u64> = first
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap()[3..].parse::<u64>().unwrap() % 4)
        .map(|stratum| if stratum == 2 { 0 } else { stratum })
        .collect();
    assert_eq!(sources.len(), 3, "{first}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_one_clear_line_exit_2_or_3_and_write_nothing() {
    // Arrange: the archive has v1 only; v3 exists as a prompt set, v2 is the candidate
    let mut env = TestEnv::new().await;
    let prompts = archive(&mut env);
    add_candidate(prompts.path(), "v3");
    let empty = TestEnv::new().await;
    let before = snapshot(env.out());
    let cases: [(&TestEnv, &[&str], i32, &str); 6] = [
        (
            &env,
            &["--candidate", "9", "--yes"],
            2,
            "prompt version 9 does not exist",
        ),
        (
            &env,
            &["--candidate", "3", "--baseline", "2", "--yes"],
            2,
            "none of the 12 selected article(s) has a stored v2",
        ),
        (
            &env,
            &["--candidate", "2", "--sample", "13", "--yes"],
            2,
            "--sample 13 is more than the 12 article(s) selected",
        ),
        (
            &env,
            &["--candidate", "2", "--source", "nowhere", "--yes"],
            2,
            "no stored article matches the selection",
        ),
        (&env, &["--candidate", "2"], 2, "add --yes"),
        (
            &empty,
            &["--candidate", "1", "--baseline", "2", "--yes"],
            3,
            "holds no articles",
        ),
    ];

    for (env, args, code, message) in cases {
        // Act
        let mut argv = vec!["eval"];
        argv.extend_from_slice(args);
        let output = env.run(&argv, "");

        // Assert
        assert_exit(&output, code);
        let err = stderr(&output);
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: {err}");
        assert!(errors[0].contains(message), "{args:?}: {err}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(snapshot(env.out()), before, "nothing written");
    assert!(!env.out().join("evals").exists());
    assert!(
        snapshot(empty.out()).is_empty(),
        "the empty archive stays empty"
    );
    assert!(std::fs::read_dir(empty.out()).unwrap().next().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_baseline_is_measured_like_the_candidate_and_still_publishes_nothing() {
    // Arrange
    let mut env = TestEnv::new().await;
    let _prompts = archive(&mut env);
    let before = archive_files(&env);
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("run").display().to_string();

    // Act
    let output = evaluate_v2(
        &env,
        &[
            "--baseline",
            "1",
            "--rerun-baseline",
            "--id",
            "ev-00",
            "ev-01",
            "ev-02",
            "--json",
            "--out",
            &out,
        ],
    );

    // Assert
    assert_exit(&output, 0);
    let r = report(&output);
    let (base, cand) = (&r["baseline"], &r["candidate"]);
    assert_eq!(base["source"], "run", "{r}");
    assert_eq!(r["sample"], json!(["ev-00", "ev-01", "ev-02"]));
    assert!(base["reasksPerArticle"].is_number(), "{r}");
    assert!(
        base["llmMsP50"].is_u64() && cand["llmMsP50"].is_u64(),
        "{r}"
    );
    assert_eq!(base["unsupportedClaimsPerArticle"], 0.0, "{r}");
    assert_eq!(cand["drafted"], 3, "{r}");
    assert_eq!(base["drafted"], 1, "only the German one: {r}");
    for version in ["v1", "v2"] {
        assert!(
            Path::new(&out)
                .join(format!("versions/ev-00/{version}.md"))
                .exists()
        );
        assert!(
            Path::new(&out)
                .join(format!("results/ev-00/{version}.json"))
                .exists()
        );
    }
    assert_eq!(archive_files(&env), before, "the archive is only read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_candidate_articles_are_reported_with_their_reasons_and_fail_the_gate() {
    // Arrange: every overview the candidate gets is too short to use, even when asked again
    let mut env = TestEnv::new().await;
    let _prompts = archive(&mut env);
    env.llm
        .set_answer("overview", json!({"overview": "Too short."}));
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("run").display().to_string();

    // Act
    let output = evaluate_v2(
        &env,
        &[
            "--id",
            "ev-00",
            "ev-01",
            "--json",
            "--out",
            &out,
            "--max-failures",
            "0",
        ],
    );

    // Assert
    assert_exit(&output, 1);
    let r = report(&output);
    let cand = &r["candidate"];
    assert_eq!(cand["failed"], 2, "{r}");
    assert_eq!(cand["failures"][0]["id"], "ev-00", "{r}");
    let reason = cand["failures"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("no usable answer"), "{reason}");
    let worse = r["worse"][0]["reasons"][0].as_str().unwrap();
    assert!(worse.starts_with("failed: call overview"), "{worse}");
    assert!(stderr(&output).contains("2 article(s) failed with v2"));
    assert!(!Path::new(&out).join("versions/ev-00/v2.md").exists());
}
