//! The pacer's guarantees, each shown on a clock it is handed: spacing, windows, refunds,
//! holds and the provider's announcements.

use super::headers::header_map as headers;
use super::*;

const MS: Duration = Duration::from_millis(1);
const MINUTE: Duration = Duration::from_secs(60);

fn rpm(n: u32) -> Limits {
    Limits {
        requests_per_minute: Some(n),
        tokens_per_minute: None,
    }
}

fn tpm(n: u32) -> Limits {
    Limits {
        requests_per_minute: None,
        tokens_per_minute: Some(n),
    }
}

fn permit(estimated_tokens: u64) -> Permit {
    Permit {
        estimated_tokens,
        waited: Duration::ZERO,
    }
}

/// The largest number of `starts` (sorted) inside any half-open window of `width`.
fn busiest_window(starts: &[Instant], width: Duration) -> usize {
    starts
        .iter()
        .enumerate()
        .map(|(i, s)| starts[i..].iter().take_while(|t| **t < *s + width).count())
        .max()
        .unwrap_or(0)
}

#[test]
fn the_first_request_starts_at_once() {
    let t0 = Instant::now();
    let pacer = Pacer::new(rpm(600));
    assert_eq!(pacer.reserve(t0, 1).start, t0);
}

#[test]
fn requests_are_spaced_evenly_600_rpm_is_one_every_100_ms() {
    let t0 = Instant::now();
    let pacer = Pacer::new(rpm(600));
    let starts: Vec<Instant> = (0..10).map(|_| pacer.reserve(t0, 1).start).collect();
    for (i, start) in starts.iter().enumerate() {
        assert_eq!(*start, t0 + 100 * MS * u32::try_from(i).expect("small"));
    }
}

#[test]
fn no_half_open_minute_admits_more_than_the_limit() {
    // 7 does not divide a minute in nanoseconds: rounding must not let an 8th in.
    for limit in [600, 7, 13] {
        let t0 = Instant::now();
        let pacer = Pacer::new(rpm(limit));
        // Arrivals in bursts with pauses, as a worker's tasks would ask.
        let mut starts: Vec<Instant> = (0..500u32)
            .map(|i| {
                let now = t0 + Duration::from_secs(u64::from(i / 50) * 90);
                pacer.reserve(now, 1).start
            })
            .collect();
        starts.sort();
        let busiest = busiest_window(&starts, MINUTE);
        assert!(
            busiest <= usize::try_from(limit).expect("small"),
            "{busiest} requests in one minute under a limit of {limit}"
        );
    }
}

#[test]
fn a_backlog_fills_each_minute_exactly_to_the_limit() {
    for limit in [600, 7, 13] {
        let t0 = Instant::now();
        let pacer = Pacer::new(rpm(limit));
        let starts: Vec<Instant> = (0..500).map(|_| pacer.reserve(t0, 1).start).collect();
        let limit = usize::try_from(limit).expect("small");
        assert_eq!(busiest_window(&starts, MINUTE), limit.min(500));
    }
}

#[test]
fn idle_time_is_not_banked_as_burst() {
    let t0 = Instant::now();
    let pacer = Pacer::new(rpm(60));
    pacer.reserve(t0, 1);
    let later = t0 + Duration::from_secs(3600);
    assert_eq!(pacer.reserve(later, 1).start, later);
    assert_eq!(
        pacer.reserve(later, 1).start,
        later + Duration::from_secs(1)
    );
}

#[test]
fn a_tighter_token_limit_dominates() {
    let t0 = Instant::now();
    // 600 rpm alone would allow one request every 100 ms; 1000 tokens a minute at 100
    // tokens a request allows one every 6 s.
    let pacer = Pacer::new(Limits {
        requests_per_minute: Some(600),
        tokens_per_minute: Some(1000),
    });
    assert_eq!(pacer.reserve(t0, 100).start, t0);
    assert_eq!(pacer.reserve(t0, 100).start, t0 + Duration::from_secs(6));
    assert_eq!(pacer.reserve(t0, 100).start, t0 + Duration::from_secs(12));
}

#[test]
fn a_tighter_request_limit_dominates_small_requests() {
    let t0 = Instant::now();
    let pacer = Pacer::new(Limits {
        requests_per_minute: Some(60),
        tokens_per_minute: Some(1_000_000),
    });
    pacer.reserve(t0, 10);
    assert_eq!(pacer.reserve(t0, 10).start, t0 + Duration::from_secs(1));
}

#[test]
fn settling_below_the_estimate_refunds_the_difference() {
    let t0 = Instant::now();
    let pacer = Pacer::new(tpm(6000)); // 100 tokens a second
    pacer.reserve(t0, 1000); // 10 s of budget
    pacer.settle_at(t0 + MS, &permit(1000), 200); // 8 s back
    assert_eq!(
        pacer.reserve(t0 + MS, 100).start,
        t0 + Duration::from_secs(2)
    );
}

#[test]
fn settling_above_the_estimate_debits_the_difference() {
    let t0 = Instant::now();
    let pacer = Pacer::new(tpm(6000));
    pacer.reserve(t0, 1000);
    pacer.settle_at(t0 + MS, &permit(1000), 1500); // 5 s more
    assert_eq!(
        pacer.reserve(t0 + MS, 100).start,
        t0 + Duration::from_secs(15)
    );
}

#[test]
fn a_refund_never_creates_burst_credit() {
    let t0 = Instant::now();
    let pacer = Pacer::new(tpm(6000));
    pacer.reserve(t0, 1000); // tat = t0 + 10 s
    let now = t0 + Duration::from_secs(9);
    pacer.settle_at(now, &permit(1000), 0); // 10 s back would be t0: clamped to now
    assert_eq!(pacer.reserve(now, 100).start, now);
    // The clamp left nothing to spare: the next one waits its full second.
    assert_eq!(pacer.reserve(now, 100).start, now + Duration::from_secs(1));
}

#[test]
fn settling_without_a_token_limit_does_nothing() {
    let t0 = Instant::now();
    let pacer = Pacer::new(rpm(60));
    pacer.reserve(t0, 1000);
    pacer.settle_at(t0, &permit(1000), 1_000_000);
    assert_eq!(pacer.reserve(t0, 1).start, t0 + Duration::from_secs(1));
}

#[test]
fn without_limits_nothing_ever_waits() {
    let t0 = Instant::now();
    let pacer = Pacer::new(Limits::default());
    for _ in 0..1000 {
        assert_eq!(pacer.reserve(t0, 1_000_000).start, t0);
    }
    pacer.settle_at(t0, &permit(1), 10_000_000);
    assert_eq!(pacer.reserve(t0, 1).start, t0);
    // A configured 0 counts as no limit rather than dividing by zero.
    let zero = Pacer::new(Limits {
        requests_per_minute: Some(0),
        tokens_per_minute: Some(0),
    });
    assert_eq!(zero.reserve(t0, 5).start, t0);
    assert_eq!(zero.reserve(t0, 5).start, t0);
}

#[tokio::test]
async fn acquire_reserves_and_does_not_wait_when_free() {
    let pacer = Pacer::new(rpm(1));
    let got = pacer.acquire(42).await;
    assert_eq!(got.estimated_tokens, 42);
    assert!(got.waited < MINUTE);
    // The slot is taken: the next request is a minute away.
    let now = Instant::now();
    assert!(pacer.reserve(now, 1).start > now + Duration::from_secs(50));
}

#[test]
fn provider_headers_lower_the_limit() {
    let t0 = Instant::now();
    let pacer = Pacer::new(rpm(600));
    pacer.observe(
        t0,
        &RateLimitHeaders {
            limit_requests: Some(60),
            ..RateLimitHeaders::default()
        },
    );
    assert_eq!(pacer.limits().requests_per_minute, Some(60));
    pacer.reserve(t0, 1);
    assert_eq!(pacer.reserve(t0, 1).start, t0 + Duration::from_secs(1));
}

#[test]
fn provider_headers_never_raise_a_configured_limit() {
    let pacer = Pacer::new(rpm(60));
    pacer.observe(
        Instant::now(),
        &RateLimitHeaders {
            limit_requests: Some(10_000),
            ..RateLimitHeaders::default()
        },
    );
    assert_eq!(pacer.limits().requests_per_minute, Some(60));
}

#[test]
fn a_provider_limit_is_adopted_when_none_is_configured() {
    let t0 = Instant::now();
    let pacer = Pacer::new(Limits::default());
    pacer.observe(
        t0,
        &RateLimitHeaders::from_headers(&headers(&[("x-ratelimit-limit-tokens", "6000")])),
    );
    assert_eq!(pacer.limits(), tpm(6000));
    pacer.reserve(t0, 100);
    assert_eq!(pacer.reserve(t0, 100).start, t0 + Duration::from_secs(1));
}

#[test]
fn no_requests_remaining_holds_everything_until_the_reset() {
    let t0 = Instant::now();
    let pacer = Pacer::new(Limits::default());
    pacer.observe(
        t0,
        &RateLimitHeaders::from_headers(&headers(&[
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "6m0s"),
        ])),
    );
    let reset = t0 + Duration::from_secs(360);
    assert_eq!(pacer.reserve(t0, 1).start, reset);
    assert_eq!(pacer.reserve(t0 + MS, 1).start, reset);
    assert_eq!(pacer.reserve(reset + MS, 1).start, reset + MS);
}

#[test]
fn no_tokens_remaining_holds_until_the_token_reset_or_a_second() {
    let t0 = Instant::now();
    let pacer = Pacer::new(Limits::default());
    pacer.observe(
        t0,
        &RateLimitHeaders {
            remaining_tokens: Some(0),
            reset_tokens: Some(20 * MS),
            ..RateLimitHeaders::default()
        },
    );
    assert_eq!(pacer.reserve(t0, 1).start, t0 + 20 * MS);

    let pacer = Pacer::new(Limits::default());
    pacer.observe(
        t0,
        &RateLimitHeaders {
            remaining_tokens: Some(0),
            ..RateLimitHeaders::default()
        },
    );
    assert_eq!(pacer.reserve(t0, 1).start, t0 + Duration::from_secs(1));
}

#[test]
fn something_remaining_does_not_hold() {
    let t0 = Instant::now();
    let pacer = Pacer::new(Limits::default());
    pacer.observe(
        t0,
        &RateLimitHeaders {
            remaining_requests: Some(1),
            remaining_tokens: Some(5),
            reset_requests: Some(MINUTE),
            reset_tokens: Some(MINUTE),
            ..RateLimitHeaders::default()
        },
    );
    assert_eq!(pacer.reserve(t0, 1).start, t0);
}

#[test]
fn holds_only_ever_extend() {
    let t0 = Instant::now();
    let pacer = Pacer::new(Limits::default());
    pacer.hold_until(t0 + Duration::from_secs(5));
    pacer.hold_until(t0 + Duration::from_secs(2));
    assert_eq!(pacer.reserve(t0, 1).start, t0 + Duration::from_secs(5));
    pacer.hold_until(t0 + Duration::from_secs(8));
    assert_eq!(pacer.reserve(t0, 1).start, t0 + Duration::from_secs(8));
}

#[test]
fn a_hold_delays_paced_requests_and_they_stay_spaced_after_it() {
    let t0 = Instant::now();
    let pacer = Pacer::new(rpm(60));
    pacer.hold_until(t0 + Duration::from_secs(10));
    assert_eq!(pacer.reserve(t0, 1).start, t0 + Duration::from_secs(10));
    assert_eq!(pacer.reserve(t0, 1).start, t0 + Duration::from_secs(11));
}

#[test]
fn clones_share_one_state() {
    let t0 = Instant::now();
    let a = Pacer::new(rpm(600));
    let b = a.clone();
    a.reserve(t0, 1);
    assert_eq!(b.reserve(t0, 1).start, t0 + 100 * MS);
    b.hold_until(t0 + MINUTE);
    assert_eq!(a.reserve(t0, 1).start, t0 + MINUTE);
    b.observe(
        t0,
        &RateLimitHeaders {
            limit_tokens: Some(1000),
            ..RateLimitHeaders::default()
        },
    );
    assert_eq!(a.limits().tokens_per_minute, Some(1000));
}

#[test]
fn estimate_is_a_token_per_four_prompt_characters_rounded_up_plus_the_completion() {
    assert_eq!(estimate_tokens(0, 0), 0);
    assert_eq!(estimate_tokens(1, 0), 1);
    assert_eq!(estimate_tokens(4, 0), 1);
    assert_eq!(estimate_tokens(5, 100), 102);
    assert_eq!(estimate_tokens(4000, 1024), 2024);
}

#[test]
fn a_zero_announced_limit_is_ignored() {
    let pacer = Pacer::new(rpm(60));
    pacer.observe(
        Instant::now(),
        &RateLimitHeaders::from_headers(&headers(&[("x-ratelimit-limit-requests", "0")])),
    );
    assert_eq!(pacer.limits(), rpm(60));
}
