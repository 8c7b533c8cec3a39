//! How logs and spans are formatted and where they go.
//!
//! One subscriber for the process: human-readable lines by default, one JSON object per line
//! with `REWRITER_LOG_FORMAT=json` (for log shippers), filtered by `RUST_LOG` (default `info`).
//! Logs go to standard error so that commands like `render` keep standard output for data.
//! Tests pass their own writer (a sink unless `TEST_LOG` is set).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::LogFormat;

/// Installs the global subscriber; a second call is a no-op (tests share one process).
pub fn init<W>(format: LogFormat, filter: Option<&str>, writer: W)
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
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}
