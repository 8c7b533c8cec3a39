//! How logs and spans are formatted and where they go.
//!
//! One subscriber for the process: human-readable lines by default, one JSON object per line
//! with `REWRITER_LOG_FORMAT=json` (for log shippers), filtered by `RUST_LOG` (default `info`).
//! Logs go to standard error so that commands like `render` keep standard output for data.
//! Colour (ANSI escapes) only where a person reads them: on a terminal, unless `NO_COLOR` is
//! set; a log file or a pipe gets plain text. Tests pass their own writer (a sink unless
//! `TEST_LOG` is set).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::LogFormat;

/// Whether logs written to standard error may carry colour: it is a terminal and `NO_COLOR`
/// (passed in as `no_color`, read by `config`) is not set.
pub fn colour_on_stderr(no_color: bool) -> bool {
    !no_color && std::io::stderr().is_terminal()
}

/// Installs the global subscriber; a second call is a no-op (tests share one process).
/// `colour`: ANSI escapes in human-readable lines (never in JSON).
pub fn init<W>(format: LogFormat, filter: Option<&str>, colour: bool, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = filter
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new("info,lapin=warn,async_openai=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder
            .with_ansi(false)
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.with_ansi(colour).compact().try_init(),
    };
}
