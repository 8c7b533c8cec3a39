//! `rewriter eval`: judge a candidate prompt version against a baseline on a sample of the
//! archive, publishing nothing, and print the comparison (a table, or `--json`); exit 1 when the
//! candidate crosses a threshold the user set. The work is [`crate::eval`]'s.
//!
//! Exit codes: 0 done (and every threshold kept); 1 a threshold crossed; 2 a bad request (an
//! unknown version, a baseline no selected article has, a sample larger than the selection,
//! no `--sample` above 500 articles, `--out` holding another evaluation, no confirmation);
//! 3 could not run (an empty archive, a broken prompt set, the LLM misconfigured). Everything
//! that exits 2 or 3 before the run writes nothing.
//!
//! Confirmation: the estimate is printed on standard error first. On a terminal the command
//! asks before spending; without a terminal it refuses unless `--yes` is given, as
//! `terraform apply` does without `-auto-approve`: a script that can spend money says so.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::Utc;

use crate::cli::EvalArgs;
use crate::cli::progress::Progress;
use crate::config::Settings;
use crate::cost::round_usd;
use crate::eval::report::{Comparison, Thresholds, gate};
use crate::eval::{self, EvalError, Spec};
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::prompts::PromptLibrary;
use crate::store::ContentStore;

pub async fn run(settings: &Settings, args: EvalArgs) -> ExitCode {
    match try_run(settings, args).await {
        Ok(code) => code,
        Err(Failure::BadInput(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::CannotRun(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(3)
        }
    }
}

enum Failure {
    BadInput(String),
    CannotRun(anyhow::Error),
}

impl From<EvalError> for Failure {
    fn from(e: EvalError) -> Self {
        if e.is_bad_input() {
            Self::BadInput(e.to_string())
        } else {
            Self::CannotRun(e.into())
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::CannotRun(e)
    }
}

async fn try_run(settings: &Settings, args: EvalArgs) -> Result<ExitCode, Failure> {
    let library = PromptLibrary::load(&settings.prompts_dir, settings.prompt_version)
        .map_err(|e| anyhow::Error::new(e).context("loading the prompt sets"))?;
    let spec = Spec {
        candidate: args.candidate,
        baseline: args.baseline,
        rerun_baseline: args.rerun_baseline,
        sample: args.sample,
        seed: args.seed,
        ids: args.ids,
        since: args.since,
        source: args.source,
    };
    let thresholds = Thresholds {
        max_draft_rate_increase: args.max_draft_rate_increase,
        max_cost_increase: args.max_cost_increase,
        max_failures: args.max_failures,
        max_claims_increase: args.max_claims_increase,
        max_worse: args.max_worse,
    };
    // An unknown candidate is a bad request even when there is no archive to judge it on.
    if library.get(spec.candidate).is_err() {
        return Err(EvalError::UnknownVersion {
            version: spec.candidate,
            known: library
                .versions()
                .map(|v| format!("v{v}"))
                .collect::<Vec<_>>()
                .join(", "),
        }
        .into());
    }
    let archive = eval::open_archive(&settings.out_dir).await?;
    let plan = eval::plan(&archive, &library, &spec).await?;
    for (id, reason) in &plan.left_out {
        eprintln!("{id}: left out: {reason}");
    }
    // A default scratch folder is new; one named with --out may hold this evaluation begun.
    let judged = match &args.out {
        Some(dir) => eval::judged_before(dir, &plan).await?,
        None => Vec::new(),
    };
    let prices = &settings.llm.prices;
    let estimate = eval::estimate(
        &plan,
        &library,
        settings.llm.model.as_deref(),
        prices,
        &judged,
    )?;
    let runs = plan
        .versions_run()
        .iter()
        .map(|v| format!("v{v}"))
        .collect::<Vec<_>>()
        .join(" and ");
    eprintln!(
        "eval: v{} against v{} ({}) on {} of {} selected article(s), seed {}",
        plan.candidate,
        plan.baseline,
        if plan.rerun_baseline {
            "re-run"
        } else {
            "as stored"
        },
        plan.headlines.len(),
        plan.selected,
        plan.seed
    );
    if !judged.is_empty() {
        eprintln!(
            "{} article(s) were judged by an earlier run into the same --out; not asked again",
            judged.len()
        );
    }
    eprintln!(
        "estimate for {runs}: {} LLM request(s), about {} prompt tokens and at most {} completion tokens before re-asks; {}",
        estimate.requests,
        estimate.prompt_tokens,
        estimate.max_completion_tokens,
        estimate.max_cost_usd.map_or_else(
            || "unpriced (REWRITER_PRICES has no price for the model)".to_owned(),
            |usd| format!("at most ${:.4} at REWRITER_PRICES", round_usd(usd))
        )
    );
    if !args.yes && !confirmed()? {
        return Ok(ExitCode::from(2));
    }

    let scratch_dir = args
        .out
        .clone()
        .unwrap_or_else(|| eval::default_scratch(&settings.out_dir, Utc::now()));
    let mut scratch_settings = settings.clone();
    scratch_settings.out_dir = scratch_dir.clone();
    let pipeline = Pipeline::build(&scratch_settings, Arc::new(Metrics::new()))
        .await
        .map_err(|e| anyhow::Error::new(e).context("building the pipeline"))?;
    eval::prepare_scratch(pipeline.store(), &plan).await?;
    let progress = Progress::new(plan.headlines.len() as u64, "articles evaluated");
    let concurrency = usize::from(settings.prefetch());
    let results = eval::run(&plan, &archive, &pipeline, prices, concurrency, &|_| {
        progress.inc(1)
    })
    .await;
    progress.finish();
    let results = results?;
    let comparison = Comparison::of(
        plan.baseline.get(),
        plan.candidate.get(),
        &results.baseline,
        &results.candidate,
    );
    let diff = diff_command(pipeline.store(), plan.baseline.get(), plan.candidate.get());
    let crossed = gate(&comparison, &thresholds);
    if args.json {
        let mut out = comparison.to_json(&diff);
        out["seed"] = plan.seed.into();
        out["sample"] = plan.record()["ids"].take();
        out["resumed"] = results.resumed.into();
        out["scratch"] = scratch_dir.display().to_string().into();
        out["gate"] = serde_json::json!({"passed": crossed.is_empty(), "crossed": crossed});
        println!("{out}");
    } else {
        print!("{}", comparison.table(&diff));
        println!("\nscratch folder: {}", scratch_dir.display());
        if crossed.is_empty() {
            println!("gate: passed");
        } else {
            println!("gate: FAILED");
            for reason in &crossed {
                println!("  {reason}");
            }
        }
    }
    for reason in &crossed {
        eprintln!("eval: threshold crossed: {reason}");
    }
    Ok(if crossed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Asks on the terminal; refuses without one (see the module doc).
fn confirmed() -> Result<bool, Failure> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Failure::BadInput(
            "not asking the LLM without a confirmation: standard input is not a terminal; add --yes to go ahead".to_owned(),
        ));
    }
    eprint!("Go ahead? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| anyhow::Error::new(e).context("reading the answer"))?;
    let yes = matches!(answer.trim().to_lowercase().as_str(), "y" | "yes");
    if !yes {
        eprintln!("nothing done");
    }
    Ok(yes)
}

/// `REWRITER_OUT=<scratch> rewriter diff {id} M N`, the scratch path quoted for a shell when
/// it needs it.
fn diff_command(scratch: &ContentStore, baseline: u32, candidate: u32) -> String {
    let path = scratch.root().display().to_string();
    let plain = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@,".contains(c));
    let path = if plain {
        path
    } else {
        format!("'{}'", path.replace('\'', "'\\''"))
    };
    format!("REWRITER_OUT={path} rewriter diff {{id}} {baseline} {candidate}")
}
