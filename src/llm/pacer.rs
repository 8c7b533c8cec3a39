//! Pacing LLM requests under requests-per-minute and tokens-per-minute limits.
//!
//! One [`Pacer`] is shared by every task of a process: clones share the same state, so the
//! whole worker stays under the limits, not each task on its own. Before a request, a task
//! calls [`Pacer::acquire`] with the request's estimated token cost
//! ([`estimate_tokens`]); once the answer is in, [`Pacer::settle`] corrects the token
//! account with the real usage. The provider's `x-ratelimit-*` headers ([`RateLimitHeaders`],
//! read in `pacer/headers.rs`; [`Pacer::observe`]) lower the limits to what it announces and
//! pause everything when it says nothing is left; a 429 with `Retry-After` pauses everything
//! through [`Pacer::hold_until`].
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

use crate::config::Limits;

mod headers;

pub use headers::RateLimitHeaders;

/// Longest a single request may push a dimension's `tat` forward (a guard against absurd
/// estimates; real ones are a few seconds at most).
const MAX_INCREMENT: Duration = Duration::from_secs(24 * 60 * 60);

/// How long to hold when the provider says nothing is left but not when it resets.
const DEFAULT_RESET: Duration = Duration::from_secs(1);

const NANOS_PER_MINUTE: u128 = 60_000_000_000;

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

#[cfg(test)]
mod tests;
