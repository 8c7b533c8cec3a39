//! Turning a command line into library calls and an exit code a script can trust.
//!
//! Exit codes, for every command: 0 all done; 1 some input was rejected or some job failed
//! (each is reported on standard error with its file and line); 2 the command line or a
//! setting is wrong; 3 the work could not run at all (broker unreachable, LLM misconfigured,
//! prompt set broken).

mod dead;
mod enqueue;
mod input;
mod render;
mod rewrite;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::Settings;
use crate::job::PromptVersion;

/// Every subcommand name, for the deployment checks.
pub const COMMANDS: &[&str] = &["worker", "enqueue", "rewrite", "render", "dead"];

const SETTINGS_HELP: &str = "\
Settings (environment variables; a TOML file named by REWRITER_CONFIG may add to them):
  AMQP_URL                  broker [default: amqp://guest:guest@127.0.0.1:5672/%2f]
  REWRITER_QUEUE            jobs queue; dead letters go to <queue>.dead [default: rewriter.jobs]
  OPENAI_BASE_URL           any OpenAI-compatible server, with /v1 [default: https://api.openai.com/v1]
  OPENAI_API_KEY            API key (never printed or logged) [default: none]
  REWRITER_MODEL            overrides the prompt set's model
  REWRITER_OUT              article folder [default: ./content]
  REWRITER_PROMPTS          prompt sets folder [default: ./prompts]
  REWRITER_PROMPT_VERSION   prompt version to use [default: the highest present]
  REWRITER_CONCURRENCY      jobs in flight per worker or rewrite [default: 8]
  REWRITER_LLM_TIMEOUT_SECS one LLM request's timeout [default: 120]
  REWRITER_LLM_MAX_ATTEMPTS attempts per LLM call on transient failures [default: 10]
  REWRITER_SHUTDOWN_GRACE_SECS  time jobs in flight get after SIGTERM [default: 30]
  REWRITER_LOG_FORMAT       pretty or json [default: pretty]
  RUST_LOG                  log filter [default: info]

Exit codes: 0 done; 1 some input rejected or some job failed; 2 bad command line or setting;
3 could not run (broker unreachable, LLM misconfigured, prompt set broken).";

/// Turns raw crypto-news headlines into versioned Markdown articles with an OpenAI-compatible
/// LLM, fed by RabbitMQ.
#[derive(Debug, Parser)]
#[command(name = "rewriter", version, after_long_help = SETTINGS_HELP)]
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
    Worker(WorkerArgs),
    /// Publish one job per headline read from NDJSON or a JSON array, with publisher confirms.
    ///
    /// Each input item is a headline object (as in a feed) or a whole job
    /// ({"headline": …, "promptVersion": N, "force": bool}). Every rejected item is reported
    /// with its line number and reason, and the exit code is 1.
    Enqueue(JobsArgs),
    /// Do the whole job in this process, without a broker: headlines in, articles out.
    Rewrite(JobsArgs),
    /// Print the prompts that headlines would produce, without calling the LLM.
    Render(RenderArgs),
    /// Inspect or requeue the jobs in `<queue>.dead`.
    Dead(DeadArgs),
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

fn parse_version(s: &str) -> Result<PromptVersion, String> {
    PromptVersion::parse(s).map_err(|e| e.to_string())
}

/// Runs a parsed command line.
pub async fn run(cli: Cli, settings: Settings) -> ExitCode {
    let result = match cli.command {
        Command::Worker(args) => worker::run(settings, args).await,
        Command::Enqueue(args) => enqueue::run(&settings, args).await,
        Command::Rewrite(args) => rewrite::run(&settings, args).await,
        Command::Render(args) => render::run(&settings, args),
        Command::Dead(args) => dead::run(&settings, args).await,
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
