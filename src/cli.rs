//! Turning a command line into library calls and an exit code a script can trust.
//!
//! Exit codes, for every command: 0 all done; 1 some input was rejected or some job failed
//! (each is reported on standard error with its file and line); 2 the command line or a
//! setting is wrong; 3 the work could not run at all (broker unreachable, LLM misconfigured,
//! prompt set broken).

mod approve;
mod audit;
mod cost;
mod dead;
mod desk;
mod diff;
mod enqueue;
mod eval;
mod health;
mod ingest;
mod input;
mod progress;
mod promote;
mod prompts;
mod render;
mod reprocess;
mod rewrite;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, Settings};
use crate::job::{ExternalId, PromptVersion};

/// Every subcommand name, for the deployment checks.
pub const COMMANDS: &[&str] = &[
    "worker",
    "enqueue",
    "rewrite",
    "render",
    "reprocess",
    "promote",
    "prompts",
    "diff",
    "dead",
    "audit",
    "cost",
    "health",
    "eval",
    "ingest",
    "approve",
    "reject",
    "desk",
];

/// `--help`'s list of settings, from [`config::SETTINGS`], and the exit codes.
fn settings_help() -> String {
    const NAME_WIDTH: usize = 30;
    const WIDTH: usize = 100;
    let mut out = String::from(
        "Settings (environment variables; a TOML file named by REWRITER_CONFIG may set the same\n\
         names, the environment wins):\n",
    );
    for setting in config::SETTINGS {
        let mut line = format!("  {:<w$}", setting.var, w = NAME_WIDTH - 2);
        if setting.var.len() > NAME_WIDTH - 3 {
            line = format!("  {}\n{:NAME_WIDTH$}", setting.var, "");
        }
        let text = format!("{} [default: {}]", setting.help, setting.unset);
        let mut column = NAME_WIDTH;
        for (i, word) in text.split(' ').enumerate() {
            if i > 0 && column + 1 + word.len() > WIDTH {
                line.push('\n');
                line.push_str(&" ".repeat(NAME_WIDTH));
                column = NAME_WIDTH;
            } else if i > 0 {
                line.push(' ');
                column += 1;
            }
            line.push_str(word);
            column += word.chars().count();
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(
        "\nExit codes: 0 done; 1 some input rejected or some job failed; 2 bad command line or \
         setting;\n3 could not run (broker unreachable, LLM misconfigured, prompt set broken).",
    );
    out
}

/// Turns raw crypto-news headlines into versioned Markdown articles with an OpenAI-compatible
/// LLM, fed by RabbitMQ.
#[derive(Debug, Parser)]
#[command(name = "rewriter", version, after_long_help = settings_help())]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Consume jobs from the queue until SIGINT/SIGTERM, writing one article per job.
    ///
    /// On the first signal the worker takes no new jobs, lets jobs in flight finish for
    /// REWRITER_SHUTDOWN_GRACE_SECS, returns the rest to the queue and exits 0. A second
    /// signal exits at once (unacked jobs return to the queue).
    #[command(after_long_help = settings_help())]
    Worker(WorkerArgs),
    /// Publish one job per headline read from NDJSON or a JSON array, with publisher confirms.
    ///
    /// Each input item is a headline object (as in a feed) or a whole job
    /// ({"headline": …, "promptVersion": N, "force": bool}). Every rejected item is reported
    /// with its line number and every problem of it, and the exit code is 1.
    Enqueue(JobsArgs),
    /// Do the whole job in this process, without a broker: headlines in, articles out.
    #[command(after_long_help = settings_help())]
    Rewrite(JobsArgs),
    /// Print the prompts that headlines would produce, without calling the LLM.
    Render(RenderArgs),
    /// Enqueue stored articles again (from sources/<id>.json) for a prompt version.
    ///
    /// Pick articles with --outdated, --id, --since, --source or --all (filters combine: an
    /// article must pass each one given). Each job is published once, with a confirm, naming
    /// the target version; articles that already have it are skipped unless --force.
    Reprocess(ReprocessArgs),
    /// Publish an existing version of an article again (a rollback), without calling the LLM.
    ///
    /// `promote ID N` makes versions/ID/vN.md the published articles/ID.md again;
    /// `promote --all N` does it for every article that has version N.
    Promote(PromoteArgs),
    /// Check the prompt sets, or list them with how many articles each version has.
    Prompts {
        #[command(subcommand)]
        command: PromptsCommand,
    },
    /// Show how two versions of an article differ, section by section (default: the two
    /// latest).
    Diff(DiffArgs),
    /// Inspect or requeue the jobs in `<queue>.dead`.
    Dead(DeadArgs),
    /// Check a folder of article files: contract violations, drafts and their reasons,
    /// unsupported claims, section sizes and prompt versions, per article and in total.
    ///
    /// DIR defaults to $REWRITER_OUT/articles; a versions/<id>/ folder works too. Exits 1 when
    /// any article breaks the contract (drafts do not), so a site's CI can run it.
    Audit(AuditArgs),
    /// What the stored articles cost, per prompt version: every versions/<id>/v<N>.md, its
    /// tokens and recorded ai.costUsd, and the same tokens at the current REWRITER_PRICES.
    ///
    /// Files that cannot be read or parsed are named on standard error and the exit code is 1.
    Cost(CostArgs),
    /// Ask a worker's operations endpoint whether it is ready (GET /readyz), for health checks.
    ///
    /// The address is --addr or REWRITER_METRICS_ADDR (0.0.0.0 or [::] there means the loopback
    /// of that family). Exits 0 on HTTP 200, 1 on any other answer or none within 3 s (the
    /// reason on standard error), 2 when no address is configured. Needs no curl in the image.
    Health(HealthArgs),
    /// Judge a prompt version on a sample of the archive, side by side with a baseline,
    /// publishing nothing: drafts, failures, unsupported claims, re-asks, tokens, cost, time.
    ///
    /// The baseline (default: the version before the candidate) is read from the archive's
    /// versions/ID/vM.md, or written again with --rerun-baseline. The candidate runs through
    /// the worker's pipeline into a scratch folder (--out, default $REWRITER_OUT/evals/TIME/);
    /// a rerun with the same --out skips the articles done. The sample is seeded and stratified
    /// by source and language; --id, --since and --source select as for reprocess. The
    /// estimated tokens and cost are printed first; on a terminal it asks before starting,
    /// otherwise it needs --yes. Exit 1 when a --max-… threshold is crossed; 2 on a bad
    /// request; 3 when it cannot run.
    Eval(EvalArgs),
    /// Poll the RSS, Atom and JSON feeds in REWRITER_FEEDS and enqueue each new item once.
    ///
    /// Prints per feed: fetched / not modified, new, already seen, rejected items with their
    /// reasons, or why the feed failed; exits 1 if any feed failed, 2 if the feeds file has a
    /// mistake (each reported with its line; nothing is fetched). What was enqueued is
    /// remembered under REWRITER_OUT/ingest/, shared by every ingester of that archive.
    Ingest(IngestArgs),
    /// Publish a draft as an editor: articles/ID.md becomes version N (default: the published
    /// copy's) with draft: false and ai.approved {by, at}; versions/ID/vN.md is not touched.
    ///
    /// Recorded in desk/actions/ID.ndjson. Who: --by, else $USER.
    Approve(ApproveArgs),
    /// Keep an article unpublished, with a reason (an earlier approval is withdrawn: the
    /// published copy becomes its version as written). Recorded with --by (else $USER).
    Reject(RejectArgs),
    /// The editors' web desk over the archive (REWRITER_DESK_ADDR, accounts in
    /// REWRITER_DESK_USERS); `desk add-user NAME` adds an account.
    Desk(DeskArgs),
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The article's externalId.
    #[arg(value_parser = parse_id)]
    pub id: ExternalId,
    /// The version to publish [default: the published copy's version].
    #[arg(long, value_name = "N", value_parser = parse_version)]
    pub version: Option<PromptVersion>,
    /// Who decides, as recorded [default: $USER].
    #[arg(long, value_name = "NAME", env = "USER")]
    pub by: String,
}

#[derive(Debug, Args)]
pub struct RejectArgs {
    /// The article's externalId.
    #[arg(value_parser = parse_id)]
    pub id: ExternalId,
    /// Why it stays unpublished.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Who decides, as recorded [default: $USER].
    #[arg(long, value_name = "NAME", env = "USER")]
    pub by: String,
}

#[derive(Debug, Args)]
pub struct DeskArgs {
    #[command(subcommand)]
    pub command: Option<DeskCommand>,
}

#[derive(Debug, Subcommand)]
pub enum DeskCommand {
    /// Add an editor account to REWRITER_DESK_USERS (or set its password): the password is
    /// asked for without echo on a terminal, else read as one line from standard input.
    AddUser {
        /// The account name (letters, digits, '.', '_', '-', '@').
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The prompt version to judge (e.g. 3 or v3).
    #[arg(long, value_name = "N", value_parser = parse_version)]
    pub candidate: PromptVersion,
    /// The version to compare with [default: the newest prompt version below the candidate].
    #[arg(long, value_name = "M", value_parser = parse_version)]
    pub baseline: Option<PromptVersion>,
    /// Write the baseline again with the LLM instead of reading the archive's stored version.
    #[arg(long)]
    pub rerun_baseline: bool,
    /// Judge K articles, drawn at random [default: 50 without a selector; every selected
    /// article with one, which above 500 articles requires --sample].
    #[arg(long, value_name = "K", value_parser = parse_sample)]
    pub sample: Option<usize>,
    /// The random draw's seed: the same seed and archive give the same sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Only these articles (externalIds); repeat or list several.
    #[arg(long = "id", value_name = "ID", num_args = 1.., value_parser = parse_id)]
    pub ids: Vec<ExternalId>,
    /// Only articles whose headline was published at or after DATE (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = crate::reprocess::parse_since)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only articles whose headline's source.key is KEY.
    #[arg(long, value_name = "KEY")]
    pub source: Option<String>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// The scratch folder [default: $REWRITER_OUT/evals/TIME/, TIME in UTC]; an existing one of the
    /// same evaluation is resumed.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Start without asking (needed when standard input is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Exit 1 when the draft rate rises by more than this (0.05: five points).
    #[arg(long, value_name = "RATE")]
    pub max_draft_rate_increase: Option<f64>,
    /// Exit 1 when the cost per article rises by more than this fraction (0.2: a fifth);
    /// tokens per article when a side cannot be priced.
    #[arg(long, value_name = "FRACTION")]
    pub max_cost_increase: Option<f64>,
    /// Exit 1 when more candidate articles than this fail.
    #[arg(long, value_name = "N")]
    pub max_failures: Option<usize>,
    /// Exit 1 when unsupported claims per article rise by more than this.
    #[arg(long, value_name = "N")]
    pub max_claims_increase: Option<f64>,
    /// Exit 1 when more articles than this get worse.
    #[arg(long, value_name = "N")]
    pub max_worse: Option<usize>,
}

fn parse_sample(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(k) if k >= 1 => Ok(k),
        _ => Err(format!("{s:?} is not a number of articles ≥ 1")),
    }
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Keep polling each feed on its interval until SIGINT/SIGTERM (serves
    /// REWRITER_METRICS_ADDR like the worker).
    #[arg(long, conflicts_with = "dry_run")]
    pub watch: bool,
    /// List what would be enqueued; publish nothing, remember nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Ask whether the process is alive (GET /healthz) rather than ready.
    #[arg(long)]
    pub live: bool,
    /// The endpoint to ask [default: REWRITER_METRICS_ADDR].
    #[arg(long, value_name = "HOST:PORT", value_parser = health::parse_addr)]
    pub addr: Option<String>,
}

#[derive(Debug, Args)]
pub struct CostArgs {
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The folder of `.md` article files [default: $REWRITER_OUT/articles].
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DeadArgs {
    #[command(subcommand)]
    pub command: DeadCommand,
}

#[derive(Debug, Subcommand)]
pub enum DeadCommand {
    /// List dead-lettered jobs with their reasons (they stay in the dead-letter queue).
    List,
    /// Send dead-lettered jobs back to the jobs queue, all or those with the given ids.
    Requeue {
        /// Only the jobs with these externalIds.
        #[arg(long = "id", value_name = "ID")]
        ids: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Exit (0) once the queue is empty and no job is in flight, instead of waiting for more:
    /// for batch runs and scripts.
    #[arg(long)]
    pub exit_when_idle: bool,
}

/// Input files and job options shared by `enqueue` and `rewrite`.
#[derive(Debug, Args)]
pub struct JobsArgs {
    /// NDJSON or JSON-array files of headlines or jobs; `-` or none reads standard input.
    pub files: Vec<PathBuf>,
    /// Write with this prompt version instead of the current one (e.g. 2 or v2).
    #[arg(long, value_parser = parse_version)]
    pub prompt_version: Option<PromptVersion>,
    /// Rewrite even if that version of the article exists (it is replaced).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// An NDJSON or JSON-array file of headlines or jobs; `-` reads standard input.
    pub file: PathBuf,
    /// Render with this prompt version instead of the current one.
    #[arg(long, value_parser = parse_version)]
    pub prompt_version: Option<PromptVersion>,
}

#[derive(Debug, Args)]
#[group(skip)]
#[command(group(clap::ArgGroup::new("selection").required(true).multiple(true)
    .args(["all", "outdated", "ids", "since", "source"])))]
pub struct ReprocessArgs {
    /// Every stored article.
    #[arg(long)]
    pub all: bool,
    /// Articles whose latest version is older than the target (or that have none).
    #[arg(long)]
    pub outdated: bool,
    /// These articles (externalIds); repeat or list several.
    #[arg(long = "id", value_name = "ID", num_args = 1.., value_parser = parse_id)]
    pub ids: Vec<ExternalId>,
    /// Articles whose headline was published at or after DATE (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = crate::reprocess::parse_since)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Articles whose headline's source.key is KEY.
    #[arg(long, value_name = "KEY")]
    pub source: Option<String>,
    /// The version to write [default: the current one].
    #[arg(long, value_parser = parse_version)]
    pub prompt_version: Option<PromptVersion>,
    /// List what would be enqueued; publish nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the target version again where it exists (it is replaced).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The article's externalId.
    #[arg(value_parser = parse_id, required_unless_present = "all", conflicts_with = "all")]
    pub id: Option<ExternalId>,
    /// The version to publish (e.g. 1 or v1).
    #[arg(value_name = "N", value_parser = parse_version, required_unless_present = "all")]
    pub version: Option<PromptVersion>,
    /// Publish version N of every article that has it.
    #[arg(long, value_name = "N", value_parser = parse_version)]
    pub all: Option<PromptVersion>,
}

#[derive(Debug, Subcommand)]
pub enum PromptsCommand {
    /// Load every prompt set, render each template in every language, check every schema;
    /// name the file and line of the first problem of each broken set (exit 3).
    Check,
    /// The versions, which is current (*), and how many articles have each.
    List,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The article's externalId.
    #[arg(value_parser = parse_id)]
    pub id: ExternalId,
    /// The older version [default: the second latest].
    #[arg(value_name = "A", value_parser = parse_version, requires = "new")]
    pub old: Option<PromptVersion>,
    /// The newer version [default: the latest].
    #[arg(value_name = "B", value_parser = parse_version)]
    pub new: Option<PromptVersion>,
}

fn parse_id(s: &str) -> Result<ExternalId, String> {
    ExternalId::parse(s).map_err(|e| e.to_string())
}

fn parse_version(s: &str) -> Result<PromptVersion, String> {
    PromptVersion::parse(s).map_err(|e| e.to_string())
}

/// Threads for blocking file work (stats, reads, listings; writes have the store's own thread).
/// Tokio's default, 512, lets a worker with hundreds of jobs in flight start a thread per
/// concurrent check, each with its stack and allocator cache: more memory and context switches.
pub const BLOCKING_THREADS: usize = 8;

/// The async runtime every command runs on.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
}

/// Runs a parsed command line to its exit code on a new [`runtime`]: what `main` does.
///
/// The command runs as a task on the runtime's worker threads, not on the calling thread. A
/// worker's consume loop then wakes on the worker thread that lapin's delivery reaches and
/// spawns each job's task into that thread's queue, instead of waking the calling thread, which
/// would wake a worker thread in turn: one sleep and wake-up fewer per job.
pub fn execute(cli: Cli, settings: Settings) -> ExitCode {
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let command = runtime.spawn(run(cli, settings));
    match runtime.block_on(command) {
        Ok(code) => code,
        // A panic stays a panic, as if the command had run on this thread.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => {
            eprintln!("error: the command was cancelled: {e}");
            ExitCode::from(3)
        }
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli, settings: Settings) -> ExitCode {
    let result = match cli.command {
        // Its own exit codes: 2 also when no address is configured.
        Command::Health(args) => return health::run(&settings, args).await,
        // Its own exit codes: 1 is a crossed threshold, 2 a bad request.
        Command::Eval(args) => return eval::run(&settings, args).await,
        // Its own exit codes: 2 also for a mistake in the feeds file.
        Command::Ingest(args) => return ingest::run(settings, args).await,
        Command::Worker(args) => worker::run(settings, args).await,
        Command::Enqueue(args) => enqueue::run(&settings, args).await,
        Command::Rewrite(args) => rewrite::run(&settings, args).await,
        Command::Render(args) => render::run(&settings, args),
        Command::Reprocess(args) => reprocess::run(&settings, args).await,
        Command::Promote(args) => promote::run(&settings, args).await,
        Command::Prompts { command } => prompts::run(&settings, command).await,
        Command::Diff(args) => diff::run(&settings, args).await,
        Command::Dead(args) => dead::run(&settings, args).await,
        Command::Audit(args) => audit::run(&settings, args).await,
        Command::Cost(args) => cost::run(&settings, args).await,
        Command::Approve(args) => approve::approve(&settings, args).await,
        Command::Reject(args) => approve::reject(&settings, args).await,
        Command::Desk(args) => desk::run(settings, args).await,
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(3)
        }
    }
}
