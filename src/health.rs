//! The worker's operations endpoint: `GET /metrics` (Prometheus), `/healthz` and `/readyz`.
//!
//! A deliberately small HTTP/1.1 server on tokio: one request per connection, `GET`/`HEAD`
//! only, request heads up to 8 KiB read within 5 s, `Connection: close`. It has three fixed
//! routes and no body parsing, which is all a Prometheus scraper, a load balancer or a Docker
//! health check needs, without a web framework in the build.
//!
//! * `/healthz`: 200 while the process serves requests (liveness).
//! * `/readyz`: 200 when the worker is connected to the broker and consuming with its prompts
//!   loaded, and its LLM answers; 503 with the failing checks otherwise (while connecting,
//!   reconnecting, stopping; `llm: unreachable since …` while the LLM's circuit is open;
//!   `store: …` from a failed write until a job is written again).
//! * `/metrics`: [`Metrics::render`].
//!
//! [`get`] is the matching client (`rewriter health`, the tests, the benchmark).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

const MAX_HEAD: usize = 8 * 1024;
/// The most of an answer [`get`] reads.
const MAX_RESPONSE: u64 = 1024 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The endpoint could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr} (REWRITER_METRICS_ADDR): {source}")]
pub struct BindError {
    addr: String,
    source: std::io::Error,
}

/// What the endpoints report on.
#[derive(Debug)]
pub struct Health {
    pub metrics: Arc<Metrics>,
    /// The prompt versions loaded, e.g. "v1, v2 (current v2)".
    pub prompts: String,
}

impl Health {
    /// The failing readiness checks; empty when ready.
    pub fn not_ready(&self) -> Vec<String> {
        let mut failing = Vec::new();
        if !self.metrics.broker_connected() {
            failing.push("broker: not connected".to_owned());
        }
        if let Some(outage) = self.metrics.llm_outage() {
            let since = chrono::DateTime::<chrono::Utc>::from(outage.since)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            failing.push(format!("llm: unreachable since {since}: {}", outage.reason));
        }
        if let Some(reason) = self.metrics.store_failure() {
            failing.push(format!("store: {reason}"));
        }
        failing
    }
}

/// A bound, not yet serving, endpoint.
#[derive(Debug)]
pub struct HealthServer {
    listener: TcpListener,
}

impl HealthServer {
    pub async fn bind(addr: SocketAddr) -> Result<Self, BindError> {
        let listener = TcpListener::bind(addr).await.map_err(|source| BindError {
            addr: addr.to_string(),
            source,
        })?;
        Ok(Self { listener })
    }

    /// The address actually bound (port 0 picks one).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Answers requests until `stop` is cancelled.
    pub async fn serve(self, health: Arc<Health>, stop: CancellationToken) {
        loop {
            let accepted = tokio::select! {
                () = stop.cancelled() => return,
                accepted = self.listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, _)) => {
                    let health = Arc::clone(&health);
                    tokio::spawn(async move {
                        if let Err(e) = answer(stream, &health).await {
                            tracing::debug!(error.message = %e, "health endpoint request failed");
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error.message = %e, "health endpoint cannot accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

async fn answer(mut stream: TcpStream, health: &Health) -> std::io::Result<()> {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(head) => head?,
        Err(_) => return Ok(()),
    };
    let response = respond(&head, health);
    stream.write_all(&response).await?;
    stream.shutdown().await
}

async fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.len() >= MAX_HEAD {
            return Ok(buf);
        }
    }
}

/// The whole response to a request head.
fn respond(head: &[u8], health: &Health) -> Vec<u8> {
    let line = head
        .split(|b| *b == b'\n')
        .next()
        .map(|l| String::from_utf8_lossy(l).trim().to_owned())
        .unwrap_or_default();
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    if !matches!(method, "GET" | "HEAD") {
        return response(405, "text/plain", "only GET and HEAD\n", method == "HEAD");
    }
    let head_only = method == "HEAD";
    match path {
        "/healthz" => response(200, "text/plain", "ok\n", head_only),
        "/readyz" => {
            let failing = health.not_ready();
            if failing.is_empty() {
                let body = format!(
                    "ready\nbroker: connected\nllm: answering\nprompts: {}\n",
                    health.prompts
                );
                response(200, "text/plain", &body, head_only)
            } else {
                let body = format!("not ready\n{}\n", failing.join("\n"));
                response(503, "text/plain", &body, head_only)
            }
        }
        "/metrics" => {
            let ready = health.not_ready().is_empty();
            response(
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                &health.metrics.render(ready),
                head_only,
            )
        }
        _ => response(
            404,
            "text/plain",
            "not found: try /metrics, /healthz, /readyz\n",
            head_only,
        ),
    }
}

/// `GET path` on `target` (`HOST:PORT`), one request with `Connection: close`: the status and
/// the body (up to 1 MiB). An answer that is not HTTP/1.x is an `InvalidData` error.
pub async fn get(target: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(target).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: rewriter\r\n\
         Accept: text/plain\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    (&mut stream)
        .take(MAX_RESPONSE)
        .read_to_end(&mut response)
        .await?;
    parse_response(&response).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the answer is not an HTTP response",
        )
    })
}

/// `HTTP/1.x NNN …\r\n…\r\n\r\nbody` → `(NNN, body)`.
fn parse_response(response: &[u8]) -> Option<(u16, String)> {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut status_line = head.lines().next()?.split(' ');
    if !status_line.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let status = status_line.next()?.parse().ok()?;
    Some((status, body.to_owned()))
}

fn response(status: u16, content_type: &str, body: &str, head_only: bool) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(connected: bool) -> Health {
        let metrics = Arc::new(Metrics::new());
        metrics.set_broker_connected(connected);
        Health {
            metrics,
            prompts: "v1 (current v1)".into(),
        }
    }

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn readiness_follows_the_broker_connection() {
        let ready = text(respond(b"GET /readyz HTTP/1.1\r\n\r\n", &health(true)));
        assert!(ready.starts_with("HTTP/1.1 200 OK\r\n"), "{ready}");
        assert!(ready.ends_with("prompts: v1 (current v1)\n"), "{ready}");
        let not = text(respond(b"GET /readyz HTTP/1.1\r\n\r\n", &health(false)));
        assert!(not.starts_with("HTTP/1.1 503 "), "{not}");
        assert!(not.contains("broker: not connected"), "{not}");
    }

    #[test]
    fn an_open_llm_circuit_makes_the_worker_not_ready_but_alive_and_says_since_when() {
        let h = health(true);
        h.metrics.llm_circuit_opened(
            std::time::UNIX_EPOCH + Duration::from_secs(1_765_000_000),
            "could not connect: connection refused",
        );
        let not = text(respond(b"GET /readyz HTTP/1.1\r\n\r\n", &h));
        assert!(not.starts_with("HTTP/1.1 503 "), "{not}");
        assert!(
            not.contains(
                "llm: unreachable since 2025-12-06T05:46:40Z: could not connect: connection refused"
            ),
            "{not}"
        );
        let live = text(respond(b"GET /healthz HTTP/1.1\r\n\r\n", &h));
        assert!(live.starts_with("HTTP/1.1 200 OK\r\n"), "{live}");
        h.metrics.llm_circuit_closed();
        let ready = text(respond(b"GET /readyz HTTP/1.1\r\n\r\n", &h));
        assert!(ready.starts_with("HTTP/1.1 200 OK\r\n"), "{ready}");
    }

    #[test]
    fn liveness_does_not_depend_on_the_broker() {
        let live = text(respond(b"GET /healthz HTTP/1.0\r\n\r\n", &health(false)));
        assert!(live.starts_with("HTTP/1.1 200 OK\r\n"), "{live}");
    }

    #[test]
    fn metrics_are_served_in_the_prometheus_text_format() {
        let m = text(respond(
            b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n",
            &health(true),
        ));
        assert!(m.contains("content-type: text/plain; version=0.0.4"), "{m}");
        assert!(m.contains("\r\n\r\n# HELP rewriter_jobs_total"), "{m}");
        let declared_length: usize = m
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(declared_length, m.split_once("\r\n\r\n").unwrap().1.len());
    }

    #[test]
    fn responses_give_their_status_and_body() {
        assert_eq!(
            parse_response(b"HTTP/1.1 503 Service Unavailable\r\nx: y\r\n\r\nnot ready\n"),
            Some((503, "not ready\n".to_owned()))
        );
        assert_eq!(
            parse_response(b"HTTP/1.0 200 OK\r\n\r\n"),
            Some((200, String::new()))
        );
        assert_eq!(parse_response(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_response(b"ICY 200 OK\r\n\r\n"), None);
        assert_eq!(parse_response(b""), None);
    }

    #[test]
    fn other_routes_and_methods_are_refused() {
        assert!(
            text(respond(b"GET /admin HTTP/1.1\r\n\r\n", &health(true)))
                .starts_with("HTTP/1.1 404")
        );
        assert!(
            text(respond(b"POST /metrics HTTP/1.1\r\n\r\n", &health(true)))
                .starts_with("HTTP/1.1 405")
        );
        assert!(text(respond(b"\xff\xfe garbage", &health(true))).starts_with("HTTP/1.1 405"));
        let head = text(respond(b"HEAD /healthz HTTP/1.1\r\n\r\n", &health(true)));
        assert!(head.ends_with("\r\n\r\n"), "{head}");
    }
}
