//! Process entry: parse the command line, read settings, start logging, run, exit with the
//! command's code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use rewriter::cli::{self, Cli};
use rewriter::config::Settings;
use rewriter::telemetry;

/// jemalloc instead of glibc's allocator: a worker allocates from many threads at once, where
/// glibc's arenas cost more CPU per job (lock contention, trimming) for the same peak memory.
/// Its options (`narenas:1`) are compiled in from `.cargo/config.toml`; `_RJEM_MALLOC_CONF`
/// overrides them at run time.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
        telemetry::colour_on_stderr(settings.no_color),
        std::io::stderr,
    );
    cli::execute(cli, settings)
}
