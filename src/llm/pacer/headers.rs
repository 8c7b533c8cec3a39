//! The provider's `x-ratelimit-*` response headers: reading them, whatever their case, and
//! their reset durations in Go's `time.Duration` form; garbage is ignored.

use std::time::Duration;

use reqwest::header::HeaderMap;

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

/// A header map of `pairs`, for tests.
#[cfg(test)]
pub(super) fn header_map(pairs: &[(&str, &str)]) -> HeaderMap {
    use reqwest::header::{HeaderName, HeaderValue};
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("header name");
        map.insert(name, HeaderValue::from_str(value).expect("header value"));
    }
    map
}

#[cfg(test)]
mod tests {
    use super::header_map as headers;
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const MINUTE: Duration = Duration::from_secs(60);

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
}
