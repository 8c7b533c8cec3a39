//! Process entry: parse the command line, read settings, start logging, run, exit with the
//! command's code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use rewriter::cli::{self, Cli};
use rewriter::config::Settings;
use rewriter::telemetry;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(
        settings.log_format,
        settings.log_filter.as_deref(),
        std::io::stderr,
    );
    let runtime = match cli::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    runtime.block_on(cli::run(cli, settings))
}
