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

mod vars;

use vars::default_of;
pub use vars::{
    DEFAULT_AMQP_URL, DEFAULT_DESK_ADDR, DEFAULT_OPENAI_BASE_URL, DEFAULT_QUEUE, SETTINGS, Setting,
    Unset, is_setting,
};

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

/// Requests and tokens per minute this process may send to the LLM (`REWRITER_LLM_RPM`,
/// `REWRITER_LLM_TPM`), which `llm::pacer` keeps to; `None` (or 0) means no limit of our own in
/// that dimension.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u32>,
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
    /// Deliveries a worker holds, and jobs `rewriter rewrite` and `eval` keep going: the LLM
    /// slots (`REWRITER_CONCURRENCY`) and half as many again (at least one). The extra half
    /// covers jobs waiting for their files to be flushed (a disk shared with busy writers can
    /// stall a flush for most of a second) and jobs queued for the next free slot, so neither
    /// idles the LLM. Half, not all: each held job costs memory while it waits for its flush,
    /// and a worker's memory must stay small at the highest concurrency.
    pub fn prefetch(&self) -> u16 {
        self.concurrency
            .saturating_add(self.concurrency.div_ceil(2))
    }

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
mod tests;
