//! Tests of the settings: defaults, parsing, refusals, the config file and secret handling.

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
    let s = Settings::from_map(&vars(&[("OPENAI_BASE_URL", "http://127.0.0.1:8088/v1/")])).unwrap();
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
    std::fs::write(
        &file,
        "REWRITER_QUEUE = \"from.file\"\nrewriter_concurrency = 3\nREWRITER_OUT = \"/srv/out\"\n",
    )
    .unwrap();
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
