//! The metrics' exposition: every family declared with its help and type as documented,
//! cumulative histograms, counts that follow their recorders.

use super::*;

#[test]
fn histograms_are_cumulative_in_the_exposition() {
    let m = Metrics::new();
    m.llm_request(RequestResult::Ok, Duration::from_millis(3));
    m.llm_request(RequestResult::Ok, Duration::from_millis(200));
    m.llm_request(RequestResult::RateLimited, Duration::from_millis(1));
    let text = m.render(true);
    assert!(text.contains("rewriter_llm_request_duration_seconds_bucket{le=\"0.005\"} 1\n"));
    assert!(text.contains("rewriter_llm_request_duration_seconds_bucket{le=\"0.25\"} 2\n"));
    assert!(text.contains("rewriter_llm_request_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
    assert!(text.contains("rewriter_llm_request_duration_seconds_count 2\n"));
    assert!(text.contains("rewriter_llm_requests_total{result=\"rate_limited\"} 1\n"));
    assert!(text.contains("rewriter_ready 1\n"));
}

#[test]
fn every_sample_line_belongs_to_a_declared_family() {
    let m = Metrics::new();
    m.article_written(PromptVersion::new(2).unwrap(), 100, 50, Some(0.25));
    m.job_settled(JobOutcome::Written);
    let text = m.render(false);
    let mut declared = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            declared.push(rest.split(' ').next().unwrap().to_owned());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let name = line.split(['{', ' ']).next().unwrap();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .filter(|base| declared.iter().any(|d| d == base))
            .unwrap_or(name);
        assert!(declared.iter().any(|d| d == family), "{line}");
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
    assert!(text.contains("rewriter_llm_tokens_total{prompt_version=\"2\",kind=\"prompt\"} 100\n"));
    assert!(text.contains("rewriter_llm_cost_usd_total{prompt_version=\"2\"} 0.25\n"));
    assert!(text.contains("rewriter_jobs_total{outcome=\"written\"} 1\n"));
}

#[test]
fn an_outage_shows_as_an_open_circuit_and_counts_its_time() {
    let m = Metrics::new();
    assert!(m.render(true).contains("rewriter_llm_circuit_open 0\n"));
    m.llm_circuit_opened(SystemTime::now(), "could not connect");
    m.llm_circuit_opened(SystemTime::now(), "a later reason is not kept");
    assert_eq!(m.llm_outage().unwrap().reason, "could not connect");
    assert!(m.render(false).contains("rewriter_llm_circuit_open 1\n"));
    std::thread::sleep(Duration::from_millis(5));
    let open = m.llm_circuit_closed().unwrap();
    assert!(open >= Duration::from_millis(5));
    assert!(m.llm_circuit_closed().is_none());
    assert!(m.render(true).contains("rewriter_llm_circuit_open 0\n"));
    assert_eq!(m.llm_open_time(), open);
}

#[test]
fn quantiles_interpolate_inside_the_bucket() {
    let bounds = [1.0, 2.0, 4.0];
    assert_eq!(quantile(&bounds, &[0, 0, 0, 0], 0.5), None);
    // 10 in (1, 2]: the median is the middle of that bucket.
    assert_eq!(quantile(&bounds, &[0, 10, 0, 0], 0.5), Some(1.5));
    assert_eq!(quantile(&bounds, &[10, 0, 0, 0], 1.0), Some(1.0));
    // Beyond the last bound: the last bound.
    assert_eq!(quantile(&bounds, &[0, 0, 0, 5], 0.99), Some(4.0));
}

#[test]
fn the_in_flight_gauge_follows_its_guards() {
    let m = Metrics::new();
    let a = m.job_started();
    let b = m.job_started();
    assert!(m.render(true).contains("rewriter_jobs_in_flight 2\n"));
    drop(a);
    drop(b);
    assert!(m.render(true).contains("rewriter_jobs_in_flight 0\n"));
}

/// Every family's `# HELP` and `# TYPE` lines, in order, as documented in the README and
/// scraped by dashboards.
const FAMILIES: &str = "\
# HELP rewriter_jobs_total Jobs settled, by outcome.
# TYPE rewriter_jobs_total counter
# HELP rewriter_jobs_in_flight Jobs being worked on now.
# TYPE rewriter_jobs_in_flight gauge
# HELP rewriter_queue_ready_messages Jobs waiting in the queue at the last check (-1: not checked yet).
# TYPE rewriter_queue_ready_messages gauge
# HELP rewriter_broker_connected 1 while the worker holds a connection to the broker.
# TYPE rewriter_broker_connected gauge
# HELP rewriter_ready 1 when /readyz answers 200: broker connected, LLM answering, prompts loaded.
# TYPE rewriter_ready gauge
# HELP rewriter_llm_circuit_open 1 while the LLM is unreachable and jobs wait for it (the circuit breaker is open).
# TYPE rewriter_llm_circuit_open gauge
# HELP rewriter_broker_reconnects_total Times the worker lost the broker and connected again.
# TYPE rewriter_broker_reconnects_total counter
# HELP rewriter_llm_reasks_total Answers rejected (schema or article rules) and asked for again.
# TYPE rewriter_llm_reasks_total counter
# HELP rewriter_llm_pacing_wait_seconds_total Time requests waited for the rate limits (REWRITER_LLM_RPM/TPM, x-ratelimit-*).
# TYPE rewriter_llm_pacing_wait_seconds_total counter
# HELP rewriter_llm_circuit_open_seconds_total Time the LLM's circuit breaker has spent open (the LLM unreachable).
# TYPE rewriter_llm_circuit_open_seconds_total counter
# HELP rewriter_llm_probes_total Requests sent only to learn whether the LLM answers (open circuit, timeouts, start).
# TYPE rewriter_llm_probes_total counter
# HELP rewriter_jobs_parked_total Jobs held through an LLM outage for REWRITER_LLM_HOLD_MAX, then put back at the tail of the queue.
# TYPE rewriter_jobs_parked_total counter
# HELP rewriter_llm_requests_total LLM HTTP requests, by result (retries included).
# TYPE rewriter_llm_requests_total counter
# HELP rewriter_llm_request_duration_seconds Time of LLM requests that got an answer.
# TYPE rewriter_llm_request_duration_seconds histogram
# HELP rewriter_job_duration_seconds Time from delivery to settlement of jobs that wrote an article.
# TYPE rewriter_job_duration_seconds histogram
# HELP rewriter_job_overhead_seconds Time a written job spent outside LLM requests, their retries and pacing.
# TYPE rewriter_job_overhead_seconds histogram
# HELP rewriter_queue_lag_seconds Time from publish (AMQP timestamp) to delivery.
# TYPE rewriter_queue_lag_seconds histogram
# HELP rewriter_articles_total Articles written, by prompt version.
# TYPE rewriter_articles_total counter
# HELP rewriter_llm_tokens_total Tokens of written articles (every request), by prompt version and kind.
# TYPE rewriter_llm_tokens_total counter
# HELP rewriter_llm_cost_usd_total Money spent on written articles at the configured prices (REWRITER_PRICES), by prompt version.
# TYPE rewriter_llm_cost_usd_total counter
# HELP rewriter_feed_polls_total Feed polls by rewriter ingest, by result.
# TYPE rewriter_feed_polls_total counter
# HELP rewriter_feed_items_total Feed items seen by rewriter ingest, by outcome.
# TYPE rewriter_feed_items_total counter
";

#[test]
fn every_family_keeps_its_name_help_and_type() {
    let m = Metrics::new();
    m.article_written(PromptVersion::new(1).unwrap(), 1, 1, None);
    let text = m.render(true);
    let declared: String = text
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(declared, FAMILIES);
}

#[test]
fn every_series_is_there_before_anything_is_counted() {
    let text = Metrics::new().render(false);
    for series in [
        "rewriter_jobs_total{outcome=\"written\"} 0\n",
        "rewriter_jobs_total{outcome=\"already_written\"} 0\n",
        "rewriter_jobs_total{outcome=\"dead_lettered\"} 0\n",
        "rewriter_jobs_total{outcome=\"requeued\"} 0\n",
        "rewriter_jobs_in_flight 0\n",
        "rewriter_queue_ready_messages -1\n",
        "rewriter_broker_connected 0\n",
        "rewriter_ready 0\n",
        "rewriter_llm_circuit_open 0\n",
        "rewriter_broker_reconnects_total 0\n",
        "rewriter_llm_pacing_wait_seconds_total 0",
        "rewriter_llm_circuit_open_seconds_total 0",
        "rewriter_llm_requests_total{result=\"refused\"} 0\n",
        "rewriter_job_overhead_seconds_bucket{le=\"0.0001\"} 0\n",
        "rewriter_queue_lag_seconds_bucket{le=\"86400\"} 0\n",
        "rewriter_queue_lag_seconds_sum 0",
        "rewriter_queue_lag_seconds_count 0\n",
        "rewriter_feed_polls_total{result=\"not_modified\"} 0\n",
        "rewriter_feed_items_total{outcome=\"already_seen\"} 0\n",
    ] {
        assert!(text.contains(series), "{series} in\n{text}");
    }
}
