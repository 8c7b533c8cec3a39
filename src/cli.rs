//! Turning a command line into library calls and an exit code a script can trust.
//!
//! Exit codes, for every command: 0 all done; 1 some input was rejected or some job failed
//! (each is reported on standard error with its file and line); 2 the command line or a
//! setting is wrong; 3 the work could not run at all (broker unreachable, LLM misconfigured,
//! prompt set broken).

mod audit;
mod cost;
mod dead;
mod diff;
mod enqueue;
mod health;
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
/// would wake a worker thread in turn: one sleep and wake-up fewer per job (bench/README.md).
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
        Command::Worker(args) => worker::run(settings, args).await,
        Command::Enqueue(args) => enqueue::run(&settings, args).await,
        Command::Rewrite(args) => rewrite::run(&settings, args).await,
        Command::Render(args) => render::run(&settings, args),
        Command::Reprocess(args) => reprocess::run(&settings, args).await,
        Command::Promote(args) => promote::run(&settings, args).await,
        Command::Prompts { command } => prompts::run(&settings, command).await,
        Command::Diff(args) => diff::run(&settings, args).await,
        Command::Dead(args) => dead::run(&settings, args).await,
        Command::Audit(args) => audit::run(&settings, args),
        Command::Cost(args) => cost::run(&settings, args).await,
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
