//! Every setting, its environment variable, its default, and secret handling.
//!
//! Settings are read once, at the edge, from the environment and an optional TOML file named by
//! `REWRITER_CONFIG` (the environment wins), then passed down as [`Settings`]. Nothing else in
//! the crate reads the environment. The API key and the broker URL (which carries a password)
//! are [`SecretString`]s: their `Debug` is redacted, and the URL is only ever shown through
//! [`safe_url`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::cost::PriceTable;
use crate::job::PromptVersion;
use crate::llm::pacer::Limits;

pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const DEFAULT_QUEUE: &str = "rewriter.jobs";
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// The desk listens on the loopback unless told otherwise: put a TLS proxy in front to share it.
pub const DEFAULT_DESK_ADDR: &str = "127.0.0.1:8080";

/// One setting: its environment variable, what it is when unset, and what it does. The one
/// source of `--help`'s settings list, the names a config file may use and the defaults
/// [`Settings::from_map`] falls back to; the README's table is checked against it.
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
/// is one entry here (and its field in [`Settings`]).
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
fn default_of(var: &str) -> Option<&'static str> {
    SETTINGS
        .iter()
        .find(|s| s.var == var)
        .and_then(|s| match s.unset {
            Unset::Value(v) => Some(v),
            Unset::Means(_) => None,
        })
}

/// A setting that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var}: {problem}")]
    Invalid { var: &'static str, problem: String },
    #[error("config file {path}: {problem}")]
    File { path: PathBuf, problem: String },
}

/// How the LLM is reached and how hard to try.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    /// Base URL including `/v1`.
    pub base_url: String,
    pub api_key: Option<SecretString>,
    /// Overrides the prompt set's model when set.
    pub model: Option<String>,
    /// One HTTP request, connect to last byte.
    pub request_timeout: Duration,
    /// Attempts per call for transient failures (429, 5xx, timeouts, dropped connections).
    pub max_attempts: u32,
    /// Cap on one backoff sleep (Retry-After is honoured up to this too).
    pub max_backoff: Duration,
    /// Extra asks per call when an answer breaks the schema or the article rules.
    pub max_reasks: u32,
    /// Requests and tokens per minute this process may send (`REWRITER_LLM_RPM`/`_TPM`).
    pub limits: Limits,
    /// USD per million tokens, per model (`REWRITER_PRICES`).
    pub prices: PriceTable,
    /// When the LLM counts as down, how it is watched, and how long work waits for it.
    pub outage: OutageSettings,
}

/// The LLM's circuit breaker and how long jobs wait through an outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutageSettings {
    /// Dependency failures in a row (refused, unreachable, timed out with the server silent,
    /// 5xx, 429), across all of a process's requests with no answer between them, that open
    /// the circuit (`REWRITER_LLM_CIRCUIT_FAILURES`).
    pub failures_to_open: u32,
    /// The first wait before probing an open circuit; it doubles up to `probe_max`, each
    /// wait drawn at random between its half and itself (`REWRITER_LLM_PROBE_MIN`).
    pub probe_min: Duration,
    /// `REWRITER_LLM_PROBE_MAX`.
    pub probe_max: Duration,
    /// How long a worker holds one delivery for an outage before it puts a fresh copy at the
    /// tail of the queue and acks the original (`REWRITER_LLM_HOLD_MAX`): under RabbitMQ's
    /// 30-minute consumer timeout, which would close the channel and count a redelivery.
    pub hold_max: Duration,
    /// How long `rewriter rewrite` waits for the LLM to come back before it gives up
    /// (`REWRITER_LLM_OUTAGE_MAX`).
    pub give_up_after: Duration,
}

impl Default for OutageSettings {
    fn default() -> Self {
        Self {
            failures_to_open: 5,
            probe_min: Duration::from_secs(1),
            probe_max: Duration::from_secs(60),
            hold_max: Duration::from_secs(10 * 60),
            give_up_after: Duration::from_secs(60 * 60),
        }
    }
}

/// What to do with an answer that states figures, dates, tickers or names the news item does
/// not contain (`REWRITER_FAITHFULNESS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Faithfulness {
    /// Write the article with `draft: true`, the claims under `ai.unsupportedClaims`.
    Flag,
    /// Ask again naming the claims; if they stay, flag as above.
    #[default]
    Retry,
    /// Do not check.
    Off,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// All settings, read once.
#[derive(Debug, Clone)]
pub struct Settings {
    pub amqp_url: SecretString,
    pub queue: String,
    pub llm: LlmSettings,
    pub out_dir: PathBuf,
    pub prompts_dir: PathBuf,
    /// `None`: the highest version present.
    pub prompt_version: Option<PromptVersion>,
    /// Jobs in flight per worker, and the broker prefetch.
    pub concurrency: u16,
    /// How long in-flight jobs may run on after SIGTERM before they are returned to the queue.
    pub shutdown_grace: Duration,
    pub log_format: LogFormat,
    /// Unsupported claims in answers: flag, retry then flag, or off.
    pub faithfulness: Faithfulness,
    /// `RUST_LOG`: which logs to show.
    pub log_filter: Option<String>,
    /// Where the worker serves /metrics, /healthz and /readyz; `None`: nowhere.
    pub metrics_addr: Option<SocketAddr>,
    /// The feeds file `rewriter ingest` polls (`REWRITER_FEEDS`).
    pub feeds_file: PathBuf,
    /// Where `rewriter desk` listens (`REWRITER_DESK_ADDR`, default the loopback's 8080).
    pub desk_addr: SocketAddr,
    /// The desk's accounts file (`REWRITER_DESK_USERS`); `None`: the desk will not start.
    pub desk_users: Option<PathBuf>,
    /// `NO_COLOR` set: no colour in logs, even on a terminal.
    pub no_color: bool,
}

impl Settings {
    /// Reads the process environment (and `REWRITER_CONFIG`, if set).
    pub fn from_env() -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = SETTINGS
            .iter()
            .filter_map(|s| std::env::var(s.var).ok().map(|v| (s.var.to_owned(), v)))
            .collect();
        Self::layered(env)
    }

    /// `vars` over the file that `vars["REWRITER_CONFIG"]` names, if any.
    pub fn layered(vars: HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut merged = match vars.get("REWRITER_CONFIG") {
            Some(path) => read_file(PathBuf::from(path))?,
            None => HashMap::new(),
        };
        merged.extend(vars);
        Self::from_map(&merged)
    }

    /// Builds settings from variable names to values; absent or blank names take their
    /// defaults from [`SETTINGS`].
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |k: &str| {
            // A name missing from SETTINGS would be missing from --help and config files too.
            debug_assert!(is_setting(k), "{k} is not in config::SETTINGS");
            vars.get(k)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .or_else(|| default_of(k))
        };
        // Unset and without a default: 0.
        let parse_u32 = |var: &'static str| -> Result<u32, ConfigError> {
            match get(var) {
                None => Ok(0),
                Some(v) => v.parse().map_err(|_| ConfigError::Invalid {
                    var,
                    problem: format!("{v:?} is not a whole number"),
                }),
            }
        };
        let concurrency = parse_u32("REWRITER_CONCURRENCY")?;
        if !(1..=u32::from(u16::MAX)).contains(&concurrency) {
            return Err(ConfigError::Invalid {
                var: "REWRITER_CONCURRENCY",
                problem: "must be between 1 and 65535".into(),
            });
        }
        let prompt_version = get("REWRITER_PROMPT_VERSION")
            .map(|v| {
                PromptVersion::parse(v).map_err(|e| ConfigError::Invalid {
                    var: "REWRITER_PROMPT_VERSION",
                    problem: e.to_string(),
                })
            })
            .transpose()?;
        let log_format = match get("REWRITER_LOG_FORMAT") {
            None | Some("pretty") | Some("text") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    var: "REWRITER_LOG_FORMAT",
                    problem: format!("{other:?} is not \"pretty\" or \"json\""),
                });
            }
        };
        let faithfulness = match get("REWRITER_FAITHFULNESS").map(str::to_ascii_lowercase) {
            None => Faithfulness::default(),
            Some(v) => match v.as_str() {
                "flag" => Faithfulness::Flag,
                "retry" => Faithfulness::Retry,
                "off" => Faithfulness::Off,
                _ => {
                    return Err(ConfigError::Invalid {
                        var: "REWRITER_FAITHFULNESS",
                        problem: format!("{v:?} is not \"flag\", \"retry\" or \"off\""),
                    });
                }
            },
        };
        let max_attempts = parse_u32("REWRITER_LLM_MAX_ATTEMPTS")?.max(1);
        // 0 or unset: no limit of our own (the provider's x-ratelimit-* headers still count).
        let per_minute = |var: &'static str| -> Result<Option<u32>, ConfigError> {
            Ok(Some(parse_u32(var)?).filter(|n| *n > 0))
        };
        let limits = Limits {
            requests_per_minute: per_minute("REWRITER_LLM_RPM")?,
            tokens_per_minute: per_minute("REWRITER_LLM_TPM")?,
        };
        let prices = PriceTable::parse(get("REWRITER_PRICES").unwrap_or("")).map_err(|e| {
            ConfigError::Invalid {
                var: "REWRITER_PRICES",
                problem: e.to_string(),
            }
        })?;
        // Every duration setting has its default in SETTINGS.
        let duration = |var: &'static str| -> Result<Duration, ConfigError> {
            let v = get(var).unwrap_or("0");
            parse_duration(v).ok_or_else(|| ConfigError::Invalid {
                var,
                problem: format!(
                    "{v:?} is not a duration such as 1h, 10m, 30s, 500ms (a bare number is seconds)"
                ),
            })
        };
        let probe_min = duration("REWRITER_LLM_PROBE_MIN")?.max(Duration::from_millis(10));
        let outage = OutageSettings {
            failures_to_open: parse_u32("REWRITER_LLM_CIRCUIT_FAILURES")?.max(1),
            probe_min,
            probe_max: duration("REWRITER_LLM_PROBE_MAX")?.max(probe_min),
            hold_max: duration("REWRITER_LLM_HOLD_MAX")?,
            give_up_after: duration("REWRITER_LLM_OUTAGE_MAX")?,
        };
        let base_url = parse_base_url(get("OPENAI_BASE_URL").unwrap_or(DEFAULT_OPENAI_BASE_URL))?;
        let metrics_addr = get("REWRITER_METRICS_ADDR")
            .map(|v| {
                v.parse::<SocketAddr>().map_err(|_| ConfigError::Invalid {
                    var: "REWRITER_METRICS_ADDR",
                    problem: format!("{v:?} is not an address and port such as 0.0.0.0:9100"),
                })
            })
            .transpose()?;
        let desk_addr = get("REWRITER_DESK_ADDR")
            .unwrap_or(DEFAULT_DESK_ADDR)
            .parse::<SocketAddr>()
            .map_err(|_| ConfigError::Invalid {
                var: "REWRITER_DESK_ADDR",
                problem: "not an address and port such as 127.0.0.1:8080".into(),
            })?;
        Ok(Self {
            amqp_url: SecretString::from(get("AMQP_URL").unwrap_or(DEFAULT_AMQP_URL)),
            queue: get("REWRITER_QUEUE").unwrap_or(DEFAULT_QUEUE).to_owned(),
            llm: LlmSettings {
                base_url,
                api_key: get("OPENAI_API_KEY").map(SecretString::from),
                model: get("REWRITER_MODEL").map(str::to_owned),
                request_timeout: Duration::from_secs(
                    parse_u32("REWRITER_LLM_TIMEOUT_SECS")?.max(1).into(),
                ),
                max_attempts,
                max_backoff: Duration::from_secs(8),
                max_reasks: 2,
                limits,
                prices,
                outage,
            },
            out_dir: PathBuf::from(get("REWRITER_OUT").unwrap_or_default()),
            prompts_dir: PathBuf::from(get("REWRITER_PROMPTS").unwrap_or_default()),
            prompt_version,
            concurrency: u16::try_from(concurrency).unwrap_or(u16::MAX),
            shutdown_grace: Duration::from_secs(parse_u32("REWRITER_SHUTDOWN_GRACE_SECS")?.into()),
            log_format,
            faithfulness,
            log_filter: get("RUST_LOG").map(str::to_owned),
            metrics_addr,
            feeds_file: PathBuf::from(get("REWRITER_FEEDS").unwrap_or_default()),
            desk_addr,
            desk_users: get("REWRITER_DESK_USERS").map(PathBuf::from),
            no_color: get("NO_COLOR").is_some(),
        })
    }
}

fn read_file(path: PathBuf) -> Result<HashMap<String, String>, ConfigError> {
    let fail = |problem: String| ConfigError::File {
        path: path.clone(),
        problem,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| fail(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| fail(e.to_string()))?;
    let mut out = HashMap::new();
    for (key, value) in table {
        let name = key.to_uppercase();
        if !is_setting(&name) {
            let known: Vec<&str> = SETTINGS.iter().map(|s| s.var).collect();
            return Err(fail(format!(
                "unknown setting {key:?}; known: {}",
                known.join(", ")
            )));
        }
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            other => return Err(fail(format!("{key}: {other} is not a string or a number"))),
        };
        out.insert(name, value);
    }
    Ok(out)
}

/// `1h`, `10m`, `30s`, `500ms`, or a bare number of seconds; whole numbers only.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    match unit.trim() {
        "" | "s" => Some(Duration::from_secs(n)),
        "ms" => Some(Duration::from_millis(n)),
        "m" => n.checked_mul(60).map(Duration::from_secs),
        "h" => n.checked_mul(3600).map(Duration::from_secs),
        _ => None,
    }
}

/// The LLM's base URL, checked at start: a value that is no http(s) URL would otherwise fail
/// every request of every job, each retried. Without its trailing `/`.
fn parse_base_url(raw: &str) -> Result<String, ConfigError> {
    let fail = |why: String| ConfigError::Invalid {
        var: "OPENAI_BASE_URL",
        problem: format!(
            "not an http:// or https:// URL such as {DEFAULT_OPENAI_BASE_URL} ({why})"
        ),
    };
    let url = reqwest::Url::parse(raw).map_err(|e| fail(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(fail(format!("the scheme is {:?}", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(fail("no host".into()));
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// A URL with any password replaced by `***`, for logs and errors.
pub fn safe_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".to_owned();
    };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let host = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{user}:***@{host}")
        }
        None => authority.to_owned(),
    };
    if path.is_empty() && !rest.contains('/') {
        format!("{scheme}://{host}")
    } else {
        format!("{scheme}://{host}/{path}")
    }
}

/// The broker URL, redacted.
pub fn safe_amqp_url(settings: &Settings) -> String {
    safe_url(settings.amqp_url.expose_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_the_contracts() {
        let s = Settings::from_map(&HashMap::new()).unwrap();
        assert_eq!(s.amqp_url.expose_secret(), DEFAULT_AMQP_URL);
        assert_eq!(s.queue, "rewriter.jobs");
        assert_eq!(s.llm.base_url, "https://api.openai.com/v1");
        assert!(s.llm.api_key.is_none());
        assert_eq!(s.out_dir, PathBuf::from("./content"));
        assert_eq!(s.prompts_dir, PathBuf::from("./prompts"));
        assert_eq!(s.prompt_version, None);
        assert_eq!(s.faithfulness, Faithfulness::Retry);
        assert_eq!(s.feeds_file, PathBuf::from("./feeds.toml"));
    }

    #[test]
    fn an_unset_setting_takes_the_value_the_settings_table_shows() {
        let s = Settings::from_map(&HashMap::new()).unwrap();
        let shown = |var: &str| match SETTINGS.iter().find(|s| s.var == var).unwrap().unset {
            Unset::Value(v) => v.to_owned(),
            Unset::Means(m) => panic!("{var} has no default value: {m}"),
        };
        assert_eq!(s.concurrency.to_string(), shown("REWRITER_CONCURRENCY"));
        assert_eq!(
            s.llm.request_timeout.as_secs().to_string(),
            shown("REWRITER_LLM_TIMEOUT_SECS")
        );
        assert_eq!(
            s.llm.max_attempts.to_string(),
            shown("REWRITER_LLM_MAX_ATTEMPTS")
        );
        assert_eq!(
            s.shutdown_grace.as_secs().to_string(),
            shown("REWRITER_SHUTDOWN_GRACE_SECS")
        );
        assert_eq!(s.out_dir, PathBuf::from(shown("REWRITER_OUT")));
        assert_eq!(s.log_format, LogFormat::Pretty);
        assert_eq!(
            s.log_filter, None,
            "the built-in filter, not a setting's value"
        );
        assert!(!s.no_color);
    }

    #[test]
    fn every_setting_is_listed_once() {
        let mut names: Vec<&str> = SETTINGS.iter().map(|s| s.var).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count, "a setting listed twice");
        assert!(SETTINGS.iter().all(|s| !s.help.is_empty()));
    }

    #[test]
    fn a_base_url_that_is_no_http_url_is_a_bad_setting_named_at_start() {
        for bad in [
            "notaurl",
            "ftp://example.com/v1",
            "http://",
            "localhost:8080/v1",
        ] {
            let err = Settings::from_map(&vars(&[("OPENAI_BASE_URL", bad)])).unwrap_err();
            let text = err.to_string();
            assert!(
                text.starts_with("OPENAI_BASE_URL: not an http"),
                "{bad}: {text}"
            );
        }
        let s =
            Settings::from_map(&vars(&[("OPENAI_BASE_URL", "http://127.0.0.1:8088/v1/")])).unwrap();
        assert_eq!(s.llm.base_url, "http://127.0.0.1:8088/v1");
    }

    #[test]
    fn no_color_is_any_value_but_empty() {
        let s = Settings::from_map(&vars(&[("NO_COLOR", "1")])).unwrap();
        assert!(s.no_color);
        let s = Settings::from_map(&vars(&[("NO_COLOR", "")])).unwrap();
        assert!(!s.no_color);
    }

    #[test]
    fn the_faithfulness_policy_is_read_and_checked() {
        let s = Settings::from_map(&vars(&[("REWRITER_FAITHFULNESS", "Flag")])).unwrap();
        assert_eq!(s.faithfulness, Faithfulness::Flag);
        let s = Settings::from_map(&vars(&[("REWRITER_FAITHFULNESS", "off")])).unwrap();
        assert_eq!(s.faithfulness, Faithfulness::Off);
        let err = Settings::from_map(&vars(&[("REWRITER_FAITHFULNESS", "strict")])).unwrap_err();
        assert!(
            err.to_string().starts_with("REWRITER_FAITHFULNESS"),
            "{err}"
        );
    }

    #[test]
    fn rate_limits_prices_and_the_metrics_address_are_read() {
        let s = Settings::from_map(&vars(&[
            ("REWRITER_LLM_RPM", "500"),
            ("REWRITER_LLM_TPM", "0"),
            ("REWRITER_PRICES", "gpt-4o-mini=0.15/0.60"),
            ("REWRITER_METRICS_ADDR", "0.0.0.0:9100"),
        ]))
        .unwrap();
        assert_eq!(s.llm.limits.requests_per_minute, Some(500));
        assert_eq!(s.llm.limits.tokens_per_minute, None);
        assert_eq!(s.llm.prices.cost("gpt-4o-mini", 1_000_000, 0), Some(0.15));
        assert_eq!(s.metrics_addr, Some("0.0.0.0:9100".parse().unwrap()));
        let defaults = Settings::from_map(&HashMap::new()).unwrap();
        assert_eq!(defaults.metrics_addr, None);
        assert!(defaults.llm.prices.is_empty());
        for (var, bad) in [
            ("REWRITER_METRICS_ADDR", "localhost"),
            ("REWRITER_PRICES", "gpt=cheap"),
            ("REWRITER_LLM_RPM", "-5"),
        ] {
            let err = Settings::from_map(&vars(&[(var, bad)])).unwrap_err();
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }

    #[test]
    fn outage_settings_read_durations_with_units() {
        let s = Settings::from_map(&vars(&[
            ("REWRITER_LLM_PROBE_MIN", "250ms"),
            ("REWRITER_LLM_PROBE_MAX", "2m"),
            ("REWRITER_LLM_HOLD_MAX", "90"),
            ("REWRITER_LLM_OUTAGE_MAX", "2h"),
            ("REWRITER_LLM_CIRCUIT_FAILURES", "3"),
        ]))
        .unwrap();
        let o = s.llm.outage;
        assert_eq!(o.probe_min, Duration::from_millis(250));
        assert_eq!(o.probe_max, Duration::from_secs(120));
        assert_eq!(o.hold_max, Duration::from_secs(90));
        assert_eq!(o.give_up_after, Duration::from_secs(7200));
        assert_eq!(o.failures_to_open, 3);
        let defaults = Settings::from_map(&HashMap::new()).unwrap().llm.outage;
        assert_eq!(defaults, OutageSettings::default());
        assert_eq!(defaults.give_up_after, Duration::from_secs(3600));
        for bad in ["an hour", "1.5h", "-1s", "10 parsecs"] {
            let err = Settings::from_map(&vars(&[("REWRITER_LLM_OUTAGE_MAX", bad)])).unwrap_err();
            assert!(
                err.to_string().starts_with("REWRITER_LLM_OUTAGE_MAX"),
                "{err}"
            );
        }
    }

    #[test]
    fn bad_values_name_their_variable() {
        let err = Settings::from_map(&vars(&[("REWRITER_CONCURRENCY", "many")])).unwrap_err();
        assert!(err.to_string().starts_with("REWRITER_CONCURRENCY"));
        let err = Settings::from_map(&vars(&[("REWRITER_PROMPT_VERSION", "v0")])).unwrap_err();
        assert!(err.to_string().starts_with("REWRITER_PROMPT_VERSION"));
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let s = Settings::from_map(&vars(&[
            ("OPENAI_API_KEY", "sk-canary-123"),
            ("AMQP_URL", "amqp://bob:hunter2@host:5672/%2f"),
        ]))
        .unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("sk-canary-123"));
        assert!(!debug.contains("hunter2"));
        assert_eq!(safe_amqp_url(&s), "amqp://bob:***@host:5672/%2f");
    }

    #[test]
    fn a_config_file_adds_settings_and_the_environment_wins() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rewriter.toml");
        std::fs::write(&file, "REWRITER_QUEUE = \"from.file\"\nrewriter_concurrency = 3\nREWRITER_OUT = \"/srv/out\"\n").unwrap();
        let path = file.display().to_string();
        let s = Settings::layered(vars(&[
            ("REWRITER_CONFIG", &path),
            ("REWRITER_OUT", "/env/out"),
        ]))
        .unwrap();
        assert_eq!(s.queue, "from.file");
        assert_eq!(s.concurrency, 3);
        assert_eq!(s.out_dir, PathBuf::from("/env/out"));
        std::fs::write(&file, "REWRITER_QUEUEE = \"typo\"\n").unwrap();
        let err = Settings::layered(vars(&[("REWRITER_CONFIG", &path)])).unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown setting \"REWRITER_QUEUEE\""),
            "{err}"
        );
    }

    #[test]
    fn safe_url_keeps_urls_without_passwords() {
        assert_eq!(
            safe_url("http://127.0.0.1:8080/v1"),
            "http://127.0.0.1:8080/v1"
        );
        assert_eq!(safe_url("amqp://u:p@h"), "amqp://u:***@h");
        assert_eq!(safe_url("garbage"), "***");
    }
}
