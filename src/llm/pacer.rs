//! Pacing LLM requests under requests-per-minute and tokens-per-minute limits.
//!
//! One [`Pacer`] is shared by every task of a process: clones share the same state, so the
//! whole worker stays under the limits, not each task on its own. Before a request, a task
//! calls [`Pacer::acquire`] with the request's estimated token cost
//! ([`estimate_tokens`]); once the answer is in, [`Pacer::settle`] corrects the token
//! account with the real usage. The provider's `x-ratelimit-*` headers
//! ([`RateLimitHeaders`], [`Pacer::observe`]) lower the limits to what it announces and
//! pause everything when it says nothing is left; a 429 with `Retry-After` pauses
//! everything through [`Pacer::hold_until`].
//!
//! # Algorithm
//!
//! Each dimension (requests, tokens) runs GCRA (the generic cell rate algorithm, a leaky
//! bucket kept as one timestamp) with zero burst tolerance. A dimension keeps a
//! *theoretical arrival time* `tat`. A request costing `c` (1 for requests, its estimated
//! tokens for tokens) under a limit of `L` per minute has an increment `c × 60 s / L`
//! (rounded up to the nanosecond). It may start at `max(now, tat)` over both dimensions and
//! any hold; reserving it sets `tat = start + increment` in each limited dimension.
//!
//! Requests are thus spaced evenly instead of bursting at the start of each minute, and idle
//! time is never banked: after a pause the next two requests are still one increment apart.
//!
//! **Invariant.** Consecutive starts are at least the earlier one's increment apart, so the
//! starts inside any half-open 60 s window `[w, w + 60 s)` span less than 60 s of
//! increments, all but the last one's:
//!
//! * requests: any half-open 60 s window admits at most `L` requests;
//! * tokens: the estimated tokens of the requests starting in any half-open 60 s window,
//!   all but the last one's, add up to less than `L` (a request is never refused for being
//!   large; it just delays the ones after it).
//!
//! Settling moves the token account to real usage. A debit only delays later requests. A
//! refund moves `tat` back, never before `now`, so it frees budget at the end of the queue
//! rather than in the refunded request's own slot: with other requests already queued, one
//! window may then hold up to the refunded amount more than the bound above, while over
//! longer runs the token rate still averages at most `L`.
//!
//! The lock is a plain [`std::sync::Mutex`] held only for a few arithmetic steps, never
//! across an `.await`; reservations are made at once and only then slept on.
//!
//! [`Pacer::acquire`] is not cancel-safe in one respect: a task dropped while it waits keeps
//! its reservation, so the slot it took is lost (never the other way round).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

/// Longest a single request may push a dimension's `tat` forward (a guard against absurd
/// estimates; real ones are a few seconds at most).
const MAX_INCREMENT: Duration = Duration::from_secs(24 * 60 * 60);

/// How long to hold when the provider says nothing is left but not when it resets.
const DEFAULT_RESET: Duration = Duration::from_secs(1);

const NANOS_PER_MINUTE: u128 = 60_000_000_000;

/// Configured limits; `None` (or 0) means no limit of our own in that dimension.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u32>,
}

/// Paces requests for a whole process; clones share the same state.
#[derive(Clone, Debug, Default)]
pub struct Pacer {
    state: Arc<Mutex<State>>,
}

/// The slot a request was given by [`Pacer::reserve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// When the request may be sent.
    pub start: Instant,
    /// The token cost it was charged.
    pub estimated_tokens: u64,
}

/// Leave to send one request, from [`Pacer::acquire`]; hand it back to [`Pacer::settle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permit {
    /// The token cost the request was charged.
    pub estimated_tokens: u64,
    /// How long [`Pacer::acquire`] waited for it.
    pub waited: Duration,
}

#[derive(Debug, Default)]
struct State {
    configured: Limits,
    /// The latest limits the provider announced.
    announced: Limits,
    requests_tat: Option<Instant>,
    tokens_tat: Option<Instant>,
    /// No request starts before this.
    hold: Option<Instant>,
}

impl State {
    fn effective(&self) -> Limits {
        Limits {
            requests_per_minute: tighter(
                self.configured.requests_per_minute,
                self.announced.requests_per_minute,
            ),
            tokens_per_minute: tighter(
                self.configured.tokens_per_minute,
                self.announced.tokens_per_minute,
            ),
        }
    }

    fn extend_hold(&mut self, until: Instant) {
        self.hold = Some(self.hold.map_or(until, |h| h.max(until)));
    }
}

/// The smaller of two optional limits; a missing (or zero) one does not count.
fn tighter(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a.filter(|n| *n > 0), b.filter(|n| *n > 0)) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `cost × 60 s / per_minute`, rounded up to the nanosecond (rounding down would let
/// `L + 1` starts fit in a minute), capped at [`MAX_INCREMENT`]. `per_minute` is not 0.
fn increment(cost: u64, per_minute: u32) -> Duration {
    let nanos = (u128::from(cost) * NANOS_PER_MINUTE).div_ceil(u128::from(per_minute.max(1)));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)).min(MAX_INCREMENT)
}

/// `t + d`, or `t` itself in the (theoretical) case the clock cannot represent it.
fn after(t: Instant, d: Duration) -> Instant {
    t.checked_add(d).unwrap_or(t)
}

/// OpenAI's own estimate of a request's token cost: a token per 4 characters of prompt
/// (rounded up) plus every completion token the request allows.
pub fn estimate_tokens(prompt_chars: usize, max_completion_tokens: u32) -> u64 {
    let prompt = u64::try_from(prompt_chars.div_ceil(4)).unwrap_or(u64::MAX);
    prompt.saturating_add(u64::from(max_completion_tokens))
}

impl Pacer {
    /// A pacer under these configured limits (the provider may lower them).
    pub fn new(limits: Limits) -> Pacer {
        Pacer {
            state: Arc::new(Mutex::new(State {
                configured: limits,
                ..State::default()
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The limits in force: the smaller of configured and provider-announced in each
    /// dimension, or the announced one when none is configured.
    pub fn limits(&self) -> Limits {
        self.lock().effective()
    }

    /// Reserves the next slot for a request costing `estimated_tokens`, as of `now`, and
    /// says when it may start. The pure core of [`Pacer::acquire`].
    pub fn reserve(&self, now: Instant, estimated_tokens: u64) -> Reservation {
        let mut state = self.lock();
        let limits = state.effective();
        let mut start = now;
        if let Some(hold) = state.hold {
            start = start.max(hold);
        }
        if limits.requests_per_minute.is_some()
            && let Some(tat) = state.requests_tat
        {
            start = start.max(tat);
        }
        if limits.tokens_per_minute.is_some()
            && let Some(tat) = state.tokens_tat
        {
            start = start.max(tat);
        }
        if let Some(rpm) = limits.requests_per_minute {
            state.requests_tat = Some(after(start, increment(1, rpm)));
        }
        if let Some(tpm) = limits.tokens_per_minute {
            state.tokens_tat = Some(after(start, increment(estimated_tokens, tpm)));
        }
        Reservation {
            start,
            estimated_tokens,
        }
    }

    /// Waits until a request costing `estimated_tokens` may be sent under the limits.
    pub async fn acquire(&self, estimated_tokens: u64) -> Permit {
        let now = Instant::now();
        let reservation = self.reserve(now, estimated_tokens);
        if reservation.start > now {
            tokio::time::sleep_until(reservation.start.into()).await;
        }
        Permit {
            estimated_tokens,
            waited: now.elapsed(),
        }
    }

    /// Corrects the token account once the request's real usage is known: the difference
    /// from the estimate is refunded or debited. See [`Pacer::settle_at`].
    pub fn settle(&self, permit: &Permit, actual_tokens: u64) {
        self.settle_at(Instant::now(), permit, actual_tokens);
    }

    /// [`Pacer::settle`] as of `now`. A debit moves the token `tat` forward by the extra
    /// tokens' increment; a refund moves it back, but never before `now`, so unused
    /// estimates never turn into burst credit. Without a token limit this does nothing.
    pub fn settle_at(&self, now: Instant, permit: &Permit, actual_tokens: u64) {
        let mut state = self.lock();
        let Some(tpm) = state.effective().tokens_per_minute else {
            return;
        };
        let estimated = permit.estimated_tokens;
        if actual_tokens > estimated {
            let debit = increment(actual_tokens - estimated, tpm);
            let tat = state.tokens_tat.unwrap_or(now);
            state.tokens_tat = Some(after(tat, debit));
        } else if actual_tokens < estimated
            && let Some(tat) = state.tokens_tat
        {
            let refund = increment(estimated - actual_tokens, tpm);
            let back = tat.checked_sub(refund).unwrap_or(now);
            state.tokens_tat = Some(back.max(now));
        }
    }

    /// No request starts before `until` (after a 429 with `Retry-After`, or when the
    /// provider says nothing is left). Holds only ever extend: an earlier `until` than the
    /// current hold changes nothing.
    pub fn hold_until(&self, until: Instant) {
        self.lock().extend_hold(until);
    }

    /// Takes in the provider's rate-limit headers as of `now`: announced limits are adopted
    /// (they can only make ours tighter, or stand in for a missing one), and a remaining
    /// count of 0 holds every request until that dimension resets (1 s if the provider does
    /// not say when).
    pub fn observe(&self, now: Instant, headers: &RateLimitHeaders) {
        let mut state = self.lock();
        if let Some(rpm) = headers.limit_requests.filter(|n| *n > 0) {
            state.announced.requests_per_minute = Some(rpm);
        }
        if let Some(tpm) = headers.limit_tokens.filter(|n| *n > 0) {
            state.announced.tokens_per_minute = Some(tpm);
        }
        if headers.remaining_requests == Some(0) {
            let reset = headers.reset_requests.unwrap_or(DEFAULT_RESET);
            state.extend_hold(after(now, reset));
        }
        if headers.remaining_tokens == Some(0) {
            let reset = headers.reset_tokens.unwrap_or(DEFAULT_RESET);
            state.extend_hold(after(now, reset));
        }
    }
}

/// OpenAI's `x-ratelimit-*` response headers; any that are missing or unreadable are `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitHeaders {
    /// `x-ratelimit-limit-requests`: requests per minute.
    pub limit_requests: Option<u32>,
    /// `x-ratelimit-limit-tokens`: tokens per minute.
    pub limit_tokens: Option<u32>,
    /// `x-ratelimit-remaining-requests`.
    pub remaining_requests: Option<u64>,
    /// `x-ratelimit-remaining-tokens`.
    pub remaining_tokens: Option<u64>,
    /// `x-ratelimit-reset-requests`: until the request budget is full again.
    pub reset_requests: Option<Duration>,
    /// `x-ratelimit-reset-tokens`: until the token budget is full again.
    pub reset_tokens: Option<Duration>,
}

impl RateLimitHeaders {
    /// Reads the headers (names are case-insensitive); garbage values are ignored. Limits
    /// above `u32::MAX` are taken as `u32::MAX`.
    pub fn from_headers(h: &HeaderMap) -> RateLimitHeaders {
        let text = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let count = |name: &str| text(name).and_then(|v| v.parse::<u64>().ok());
        let limit = |name: &str| count(name).map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        RateLimitHeaders {
            limit_requests: limit("x-ratelimit-limit-requests"),
            limit_tokens: limit("x-ratelimit-limit-tokens"),
            remaining_requests: count("x-ratelimit-remaining-requests"),
            remaining_tokens: count("x-ratelimit-remaining-tokens"),
            reset_requests: text("x-ratelimit-reset-requests").and_then(parse_reset),
            reset_tokens: text("x-ratelimit-reset-tokens").and_then(parse_reset),
        }
    }

    /// Whether none of the headers was there (or readable).
    pub fn is_empty(&self) -> bool {
        *self == RateLimitHeaders::default()
    }
}

/// A reset duration: Go's `time.Duration` form as OpenAI sends it (`1s`, `6m0s`, `20ms`,
/// `1h2m3.5s`, `0.5s`; also `us`, `µs`, `ns`) or plain seconds (`12`, `1.5`).
fn parse_reset(s: &str) -> Option<Duration> {
    const NANOS_PER_SECOND: f64 = 1e9;
    // Longer units first, so `ms` is not read as `m` followed by garbage.
    const UNITS: [(&str, f64); 7] = [
        ("ns", 1.0),
        ("us", 1e3),
        ("µs", 1e3),
        ("ms", 1e6),
        ("h", 3600.0 * NANOS_PER_SECOND),
        ("m", 60.0 * NANOS_PER_SECOND),
        ("s", NANOS_PER_SECOND),
    ];
    let s = s.trim();
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return nanos(s, NANOS_PER_SECOND);
    }
    let mut rest = s;
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..digits];
        rest = &rest[digits..];
        let (unit, scale) = UNITS.iter().find(|(unit, _)| rest.starts_with(unit))?;
        rest = &rest[unit.len()..];
        total = total.checked_add(nanos(number, *scale)?)?;
    }
    Some(total)
}

/// `number` (digits and at most one point) times `scale` nanoseconds, rounded to the nearest.
fn nanos(number: &str, scale: f64) -> Option<Duration> {
    let value = number.parse::<f64>().ok()? * scale;
    // `u64::MAX as f64` rounds up to 2^64, which is why the bound is strict.
    let fits = value.is_finite() && value >= 0.0 && value < u64::MAX as f64;
    fits.then(|| Duration::from_nanos(value.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

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

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("header name");
            map.insert(name, HeaderValue::from_str(value).expect("header value"));
        }
        map
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
    fn all_openai_headers_are_read_whatever_their_case() {
        let parsed = RateLimitHeaders::from_headers(&headers(&[
            ("X-RateLimit-Limit-Requests", "500"),
            ("x-ratelimit-limit-tokens", "30000"),
            ("X-RATELIMIT-REMAINING-REQUESTS", "499"),
            ("x-ratelimit-remaining-tokens", "29000"),
            ("x-ratelimit-reset-requests", "120ms"),
            ("x-ratelimit-reset-tokens", "2s"),
        ]));
        assert_eq!(
            parsed,
            RateLimitHeaders {
                limit_requests: Some(500),
                limit_tokens: Some(30_000),
                remaining_requests: Some(499),
                remaining_tokens: Some(29_000),
                reset_requests: Some(120 * MS),
                reset_tokens: Some(Duration::from_secs(2)),
            }
        );
        assert!(!parsed.is_empty());
    }

    #[test]
    fn reset_durations_in_go_form_and_plain_seconds() {
        let cases = [
            ("1s", Duration::from_secs(1)),
            ("6m0s", Duration::from_secs(360)),
            ("20ms", 20 * MS),
            ("1h2m3.5s", Duration::from_millis(3_723_500)),
            ("0.5s", 500 * MS),
            ("0s", Duration::ZERO),
            ("1m", MINUTE),
            ("250us", Duration::from_micros(250)),
            ("250µs", Duration::from_micros(250)),
            ("12", Duration::from_secs(12)),
            ("1.5", 1500 * MS),
            (" 3s ", Duration::from_secs(3)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_reset(text), Some(expected), "{text:?}");
        }
    }

    #[test]
    fn garbage_headers_are_ignored() {
        for bad in [
            "", "soon", "-1s", "1x", "s", "1.2.3s", "1s2", "NaN", "inf", "-5",
        ] {
            assert_eq!(parse_reset(bad), None, "{bad:?}");
        }
        let parsed = RateLimitHeaders::from_headers(&headers(&[
            ("x-ratelimit-limit-requests", "many"),
            ("x-ratelimit-limit-tokens", "-1"),
            ("x-ratelimit-remaining-requests", "1.5"),
            ("x-ratelimit-remaining-tokens", ""),
            ("x-ratelimit-reset-requests", "later"),
            ("x-ratelimit-reset-tokens", "5 minutes"),
            ("x-request-id", "req_123"),
        ]));
        assert!(parsed.is_empty(), "{parsed:?}");
        assert!(RateLimitHeaders::from_headers(&HeaderMap::new()).is_empty());
    }

    #[test]
    fn a_limit_too_large_for_u32_is_taken_as_the_largest() {
        let parsed = RateLimitHeaders::from_headers(&headers(&[(
            "x-ratelimit-limit-tokens",
            "99999999999",
        )]));
        assert_eq!(parsed.limit_tokens, Some(u32::MAX));
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
}
