//! Fetching a feed politely: a conditional GET with the validators of the last complete fetch
//! (a 304 costs no body), a User-Agent naming the project, gzip, timeouts, at most
//! [`MAX_REDIRECTS`] redirects and at most [`MAX_FEED_BYTES`] of body (counted after
//! decompression, so a small gzip bomb is as refused as a huge file).
//!
//! The body is returned as raw bytes: the XML prolog names its encoding and `feed-rs` honours
//! it, where decoding by the HTTP charset first would turn ISO-8859-1 into mojibake.

use std::error::Error as _;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{
    CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
};

/// The largest feed body accepted. Real feeds are tens to hundreds of kilobytes.
pub const MAX_FEED_BYTES: usize = 8 * 1024 * 1024;
/// Redirects followed before a feed counts as failed (a loop ends here).
pub const MAX_REDIRECTS: usize = 5;
/// Time to open a connection (TCP and TLS).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for a whole request, body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Who is asking, for the feed's operators.
pub const USER_AGENT: &str = concat!("rewriter/", env!("CARGO_PKG_VERSION"), " (feed ingester)");

/// Why a feed could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The server answered with an error; `retry_after` is its `Retry-After` (seconds or an
    /// HTTP date), which `--watch` waits at least.
    #[error("HTTP {status}")]
    Status {
        status: StatusCode,
        retry_after: Option<Duration>,
    },
    #[error("the body is larger than {} MiB", MAX_FEED_BYTES / (1024 * 1024))]
    TooLarge,
    #[error("{0}")]
    Transport(String),
    #[error("cannot build the HTTP client: {0}")]
    Setup(String),
}

/// A fetch that got an answer.
#[derive(Debug)]
pub enum Fetched {
    /// 304: nothing changed since the validators were given.
    NotModified,
    /// 200 with the body and the validators to send next time.
    Body {
        bytes: Vec<u8>,
        /// The `charset` of the `Content-Type`, for bodies that declare no encoding themselves.
        charset: Option<String>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// One HTTP client for every feed (one connection pool).
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_bytes: usize,
}

impl Fetcher {
    pub fn new() -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .build()
            .map_err(|e| FetchError::Setup(chain(&e)))?;
        Ok(Self {
            client,
            max_bytes: MAX_FEED_BYTES,
        })
    }

    /// GETs `url`, conditionally when validators are given.
    pub async fn fetch(
        &self,
        url: &url::Url,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<Fetched, FetchError> {
        let mut request = self.client.get(url.as_str()).header(
            reqwest::header::ACCEPT,
            "application/rss+xml, application/atom+xml, application/feed+json, \
             application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5",
        );
        if let Some(etag) = etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(date) = last_modified {
            request = request.header(IF_MODIFIED_SINCE, date);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| FetchError::Transport(chain(&e.without_url())))?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after(v, chrono::Utc::now()));
            return Err(FetchError::Status {
                status,
                retry_after,
            });
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let (etag, last_modified) = (header(ETAG), header(LAST_MODIFIED));
        let charset = header(CONTENT_TYPE).and_then(|t| {
            t.split(';')
                .filter_map(|param| param.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("charset"))
                .map(|(_, value)| value.trim().trim_matches('"').to_owned())
        });
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(FetchError::TooLarge);
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| FetchError::Transport(chain(&e.without_url())))?
        {
            if bytes.len() + chunk.len() > self.max_bytes {
                return Err(FetchError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body {
            bytes,
            charset,
            etag,
            last_modified,
        })
    }
}

/// A `Retry-After` value, seconds or an HTTP date, as a wait from `now`; at most a day (a
/// server may not park a feed for longer than that), none when unreadable or past.
pub fn retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    const DAY: Duration = Duration::from_secs(86_400);
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            (at.to_utc() - now).to_std().ok()?
        }
    };
    Some(wait.min(DAY)).filter(|w| !w.is_zero())
}

/// An error and its causes, `a: b: c`: reqwest's own text alone says only "error sending
/// request", the cause says "connection refused" or which certificate check failed.
fn chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates_and_is_bounded() {
        let now: chrono::DateTime<chrono::Utc> = "2026-02-05T17:45:00Z".parse().unwrap();
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Thu, 05 Feb 2026 17:46:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(retry_after("Thu, 05 Feb 2026 17:00:00 GMT", now), None);
        assert_eq!(retry_after("0", now), None);
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(
            retry_after("99999999", now),
            Some(Duration::from_secs(86_400))
        );
    }
}
