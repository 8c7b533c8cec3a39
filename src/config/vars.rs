//! The table of settings: every environment variable the code reads, what it means when
//! unset, and its one-line help. The one source of `--help`'s settings list, of the names a
//! config file may use and of the defaults; the README's table is checked against it.

pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const DEFAULT_QUEUE: &str = "rewriter.jobs";
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// The desk listens on the loopback unless told otherwise: put a TLS proxy in front to share it.
pub const DEFAULT_DESK_ADDR: &str = "127.0.0.1:8080";

/// One setting: its environment variable, what it is when unset, and what it does. The one
/// source of `--help`'s settings list, the names a config file may use and the defaults
/// [`super::Settings::from_map`] falls back to; the README's table is checked against it.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub var: &'static str,
    pub unset: Unset,
    /// One line or two for `--help`: what the setting does, without its default.
    pub help: &'static str,
}

/// What an unset (or blank) setting means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unset {
    /// This value is used, as if it had been set.
    Value(&'static str),
    /// No value is used; the text says what happens then ("no limit").
    Means(&'static str),
}

impl std::fmt::Display for Unset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Value(v) | Self::Means(v) => f.write_str(v),
        }
    }
}

const fn setting(var: &'static str, unset: Unset, help: &'static str) -> Setting {
    Setting { var, unset, help }
}

/// Every setting the code reads, in the order `--help` and the README list them. A new setting
/// is one entry here (and its field in [`super::Settings`]).
pub const SETTINGS: &[Setting] = &[
    setting(
        "AMQP_URL",
        Unset::Value(DEFAULT_AMQP_URL),
        "the broker (its password is never printed or logged)",
    ),
    setting(
        "REWRITER_QUEUE",
        Unset::Value(DEFAULT_QUEUE),
        "the jobs queue; dead letters go to <queue>.dead",
    ),
    setting(
        "OPENAI_BASE_URL",
        Unset::Value(DEFAULT_OPENAI_BASE_URL),
        "any OpenAI-compatible server, with /v1 (an http:// or https:// URL)",
    ),
    setting(
        "OPENAI_API_KEY",
        Unset::Means("none"),
        "the LLM's API key (never printed or logged)",
    ),
    setting(
        "REWRITER_MODEL",
        Unset::Means("the prompt set's model"),
        "the model to ask, instead of the prompt set's",
    ),
    setting(
        "REWRITER_OUT",
        Unset::Value("./content"),
        "where articles are written",
    ),
    setting(
        "REWRITER_PROMPTS",
        Unset::Value("./prompts"),
        "the folder of prompt sets (prompts/v<N>/)",
    ),
    setting(
        "REWRITER_PROMPT_VERSION",
        Unset::Means("the highest present"),
        "the prompt version to write with (e.g. 3 or v3)",
    ),
    setting(
        "REWRITER_CONCURRENCY",
        Unset::Value("8"),
        "jobs at the LLM at once per worker or rewrite; the broker prefetch is 1.5 times this",
    ),
    setting(
        "REWRITER_LLM_TIMEOUT_SECS",
        Unset::Value("120"),
        "one LLM request's timeout",
    ),
    setting(
        "REWRITER_LLM_MAX_ATTEMPTS",
        Unset::Value("10"),
        "attempts per LLM call on 429, 5xx, timeouts and dropped connections",
    ),
    setting(
        "REWRITER_LLM_RPM",
        Unset::Means("no limit"),
        "LLM requests per minute for this process, paced evenly; the provider's x-ratelimit-* headers lower it",
    ),
    setting(
        "REWRITER_LLM_TPM",
        Unset::Means("no limit"),
        "LLM tokens per minute for this process, likewise",
    ),
    setting(
        "REWRITER_LLM_CIRCUIT_FAILURES",
        Unset::Value("5"),
        "outage failures in a row (refused, timed out, 5xx, 429) that open the LLM circuit: no job is sent, the LLM is probed",
    ),
    setting(
        "REWRITER_LLM_PROBE_MIN",
        Unset::Value("1s"),
        "first wait between probes of an unreachable LLM (durations: 500ms, 30s, 10m, 1h)",
    ),
    setting(
        "REWRITER_LLM_PROBE_MAX",
        Unset::Value("60s"),
        "longest wait between probes; the wait doubles up to it, with jitter",
    ),
    setting(
        "REWRITER_LLM_HOLD_MAX",
        Unset::Value("10m"),
        "how long a worker holds a delivery through an outage before it parks it at the queue's tail",
    ),
    setting(
        "REWRITER_LLM_OUTAGE_MAX",
        Unset::Value("1h"),
        "how long rewrite waits for an unreachable LLM before it gives up (exit 1, unfinished headlines listed)",
    ),
    setting(
        "REWRITER_PRICES",
        Unset::Means("none"),
        "USD per million tokens, model=prompt/completion separated by commas, e.g. gpt-4o-mini=0.15/0.60; fills ai.costUsd and rewriter cost",
    ),
    setting(
        "REWRITER_METRICS_ADDR",
        Unset::Means("off"),
        "where the worker serves /metrics, /healthz and /readyz, e.g. 0.0.0.0:9100 (rewriter health asks it)",
    ),
    setting(
        "REWRITER_SHUTDOWN_GRACE_SECS",
        Unset::Value("30"),
        "how long jobs in flight may finish after SIGTERM",
    ),
    setting(
        "REWRITER_LOG_FORMAT",
        Unset::Value("pretty"),
        "pretty or json (one object per line, for log shippers)",
    ),
    setting(
        "REWRITER_FAITHFULNESS",
        Unset::Value("retry"),
        "figures, dates, tickers or names the headline lacks: flag (draft), retry (ask again, then draft) or off",
    ),
    setting(
        "REWRITER_FEEDS",
        Unset::Value("./feeds.toml"),
        "the feeds file rewriter ingest polls",
    ),
    setting(
        "REWRITER_DESK_ADDR",
        Unset::Value(DEFAULT_DESK_ADDR),
        "where rewriter desk listens",
    ),
    setting(
        "REWRITER_DESK_USERS",
        Unset::Means("none: the desk refuses to start"),
        "the desk's accounts file (rewriter desk add-user)",
    ),
    setting(
        "REWRITER_CONFIG",
        Unset::Means("none"),
        "a TOML file of these settings (the environment wins)",
    ),
    setting(
        "RUST_LOG",
        Unset::Means("info, lapin and async_openai at warn"),
        "which logs to show (tracing's filter syntax)",
    ),
    setting(
        "NO_COLOR",
        Unset::Means("colour on a terminal"),
        "any value but empty: logs without colour (logs to a file or a pipe never have colour)",
    ),
];

/// Whether `var` is a setting the code reads.
pub fn is_setting(var: &str) -> bool {
    SETTINGS.iter().any(|s| s.var == var)
}

/// The value an unset `var` takes, if it takes one.
pub(super) fn default_of(var: &str) -> Option<&'static str> {
    SETTINGS
        .iter()
        .find(|s| s.var == var)
        .and_then(|s| match s.unset {
            Unset::Value(v) => Some(v),
            Unset::Means(_) => None,
        })
}
