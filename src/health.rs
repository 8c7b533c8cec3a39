//! The worker's operations endpoint: `GET /metrics` (Prometheus), `/healthz` and `/readyz`,
//! served by axum, and [`get`], the matching client on reqwest.
//!
//! Three fixed routes, `GET`/`HEAD` only (405 otherwise, 404 off the routes), each answer with
//! `cache-control: no-store` and `connection: close`: all a Prometheus scraper, a load
//! balancer or a Docker health check needs.
//!
//! * `/healthz`: 200 while the process serves requests (liveness).
//! * `/readyz`: 200 when the worker is connected to the broker and consuming with its prompts
//!   loaded, and its LLM answers; 503 with the failing checks otherwise (while connecting,
//!   reconnecting, stopping; `llm: unreachable since …` while the LLM's circuit is open;
//!   `store: …` from a failed write until a job is written again).
//! * `/metrics`: [`Metrics::render`].
//!
//! [`get`] serves `rewriter health`, the tests and the benchmark.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONNECTION, CONTENT_TYPE};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get as route_get;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use crate::metrics::{self, Metrics};

/// The most of an answer [`get`] reads.
const MAX_RESPONSE: usize = 1024 * 1024;

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

/// How long a client may take to send a request's headers before its connection is closed;
/// a scraper or a health check sends them at once.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The pause after a failed accept (out of file descriptors, say) before the next one.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

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

    /// Answers requests until `stop` is cancelled. The listening socket closes as soon as this
    /// task sees `stop` (a connect right after the worker stopped is refused); a request under
    /// way is still answered.
    ///
    /// Connections are served by hyper here rather than by `axum::serve`, which sets no limit
    /// on how long a client may take to send its headers: a client that trickles them would
    /// hold a task and a socket of the worker for as long as it likes.
    pub async fn serve(self, health: Arc<Health>, stop: CancellationToken) {
        let app = router(health);
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT);
        loop {
            let accepted = tokio::select! {
                () = stop.cancelled() => return,
                accepted = self.listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(error.message = %e, "health endpoint cannot accept");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            };
            let app = app.clone();
            let service =
                service_fn(move |request: hyper::Request<Incoming>| app.clone().oneshot(request));
            let connection = http.serve_connection(TokioIo::new(stream), service);
            tokio::spawn(async move {
                // A client that hangs up or times out is its own problem, not the worker's.
                let _ = connection.await;
            });
        }
    }
}

/// The three routes; any method but `GET` and `HEAD` is refused before routing.
fn router(health: Arc<Health>) -> Router {
    Router::new()
        .route("/healthz", route_get(healthz))
        .route("/readyz", route_get(readyz))
        .route("/metrics", route_get(scrape))
        .fallback(not_found)
        .layer(middleware::from_fn(only_get_and_head))
        .with_state(health)
}

async fn only_get_and_head(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    answer(
        StatusCode::METHOD_NOT_ALLOWED,
        "text/plain",
        "only GET and HEAD\n".to_owned(),
    )
}

async fn healthz() -> Response {
    answer(StatusCode::OK, "text/plain", "ok\n".to_owned())
}

async fn readyz(State(health): State<Arc<Health>>) -> Response {
    let failing = health.not_ready();
    if failing.is_empty() {
        let body = format!(
            "ready\nbroker: connected\nllm: answering\nprompts: {}\n",
            health.prompts
        );
        answer(StatusCode::OK, "text/plain", body)
    } else {
        let body = format!("not ready\n{}\n", failing.join("\n"));
        answer(StatusCode::SERVICE_UNAVAILABLE, "text/plain", body)
    }
}

async fn scrape(State(health): State<Arc<Health>>) -> Response {
    let ready = health.not_ready().is_empty();
    let body = health.metrics.render(ready);
    answer(StatusCode::OK, metrics::CONTENT_TYPE, body)
}

async fn not_found() -> Response {
    answer(
        StatusCode::NOT_FOUND,
        "text/plain",
        "not found: try /metrics, /healthz, /readyz\n".to_owned(),
    )
}

fn answer(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let headers = [
        (CONTENT_TYPE, content_type),
        (CACHE_CONTROL, "no-store"),
        (CONNECTION, "close"),
    ];
    (status, headers, body).into_response()
}

/// `GET path` on `target` (`HOST:PORT`), one request with `Connection: close`, straight to the
/// target (no proxy, no redirect): the status and the body (up to 1 MiB). A refused
/// connection is a `ConnectionRefused` error; an answer that is not HTTP/1.x is `InvalidData`.
pub async fn get(target: &str, path: &str) -> std::io::Result<(u16, String)> {
    use reqwest::header::{ACCEPT, CONNECTION, USER_AGENT};
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .http1_only()
        .http1_title_case_headers()
        .no_gzip()
        .build()
        .map_err(io_error)?;
    let mut response = client
        .get(format!("http://{target}{path}"))
        .header(USER_AGENT, "rewriter")
        .header(ACCEPT, "text/plain")
        .header(CONNECTION, "close")
        .send()
        .await
        .map_err(io_error)?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(io_error)? {
        let room = MAX_RESPONSE - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == MAX_RESPONSE {
            break;
        }
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// reqwest's error as the I/O error that caused it (a refused connection stays
/// `ConnectionRefused`, for `rewriter health`'s hint), else `InvalidData`: the answer was not
/// HTTP. The message is the root cause, as the connection itself would have said it.
fn io_error(error: reqwest::Error) -> std::io::Error {
    let mut cause: &dyn std::error::Error = &error;
    let mut kind = std::io::ErrorKind::InvalidData;
    loop {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            kind = io.kind();
        }
        match cause.source() {
            Some(next) => cause = next,
            None => break,
        }
    }
    std::io::Error::new(kind, cause.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// A one-connection server that reads the request and answers `response` as given; it
    /// hands back the request it read.
    pub(crate) async fn answering(
        response: &'static str,
    ) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let served = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 4096];
            let n = stream.read(&mut request).await.unwrap();
            stream.write_all(response.as_bytes()).await.unwrap();
            stream.shutdown().await.unwrap();
            String::from_utf8_lossy(&request[..n]).into_owned()
        });
        (addr, served)
    }

    fn health(connected: bool) -> Health {
        let metrics = Arc::new(Metrics::new());
        metrics.set_broker_connected(connected);
        Health {
            metrics,
            prompts: "v1 (current v1)".into(),
        }
    }

    /// Sends `request` as bytes to a served endpoint and reads its whole answer.
    async fn respond(request: &[u8], health: Health) -> String {
        let server = HealthServer::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        let stop = CancellationToken::new();
        tokio::spawn(server.serve(Arc::new(health), stop.clone()));
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
            .await
            .unwrap()
            .unwrap();
        stop.cancel();
        String::from_utf8(answer).unwrap()
    }

    #[tokio::test]
    async fn readiness_follows_the_broker_connection() {
        let ready = respond(b"GET /readyz HTTP/1.1\r\n\r\n", health(true)).await;
        assert!(ready.starts_with("HTTP/1.1 200 OK\r\n"), "{ready}");
        assert!(ready.ends_with("prompts: v1 (current v1)\n"), "{ready}");
        let not = respond(b"GET /readyz HTTP/1.1\r\n\r\n", health(false)).await;
        assert!(not.starts_with("HTTP/1.1 503 "), "{not}");
        assert!(not.contains("broker: not connected"), "{not}");
    }

    #[tokio::test]
    async fn an_open_llm_circuit_makes_the_worker_not_ready_but_alive_and_says_since_when() {
        let h = Arc::new(health(true));
        h.metrics.llm_circuit_opened(
            std::time::UNIX_EPOCH + Duration::from_secs(1_765_000_000),
            "could not connect: connection refused",
        );
        let shared = || Health {
            metrics: Arc::clone(&h.metrics),
            prompts: h.prompts.clone(),
        };
        let not = respond(b"GET /readyz HTTP/1.1\r\n\r\n", shared()).await;
        assert!(not.starts_with("HTTP/1.1 503 "), "{not}");
        assert!(
            not.contains(
                "llm: unreachable since 2025-12-06T05:46:40Z: could not connect: connection refused"
            ),
            "{not}"
        );
        let live = respond(b"GET /healthz HTTP/1.1\r\n\r\n", shared()).await;
        assert!(live.starts_with("HTTP/1.1 200 OK\r\n"), "{live}");
        h.metrics.llm_circuit_closed();
        let ready = respond(b"GET /readyz HTTP/1.1\r\n\r\n", shared()).await;
        assert!(ready.starts_with("HTTP/1.1 200 OK\r\n"), "{ready}");
    }

    #[tokio::test]
    async fn a_client_that_never_finishes_its_headers_is_hung_up_on() {
        let server = HealthServer::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        let stop = CancellationToken::new();
        tokio::spawn(server.serve(Arc::new(health(true)), stop.clone()));
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n")
            .await
            .unwrap();

        let mut answer = Vec::new();
        let closed = tokio::time::timeout(
            HEADER_READ_TIMEOUT + Duration::from_secs(5),
            stream.read_to_end(&mut answer),
        )
        .await;

        stop.cancel();
        assert!(
            closed.is_ok(),
            "the connection stayed open past the header timeout"
        );
        let answer = String::from_utf8_lossy(&answer);
        assert!(!answer.contains("200 OK"), "{answer}");
    }

    #[tokio::test]
    async fn liveness_does_not_depend_on_the_broker() {
        let live = respond(b"GET /healthz HTTP/1.0\r\n\r\n", health(false)).await;
        // hyper answers in the version it was asked in.
        assert!(live.starts_with("HTTP/1.0 200 OK\r\n"), "{live}");
    }

    #[tokio::test]
    async fn metrics_are_served_in_the_prometheus_text_format() {
        let m = respond(
            b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n",
            health(true),
        )
        .await;
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

    #[tokio::test]
    async fn responses_give_their_status_and_body() {
        let (addr, _) =
            answering("HTTP/1.1 503 Service Unavailable\r\nx: y\r\n\r\nnot ready\n").await;
        assert_eq!(
            get(&addr, "/readyz").await.unwrap(),
            (503, "not ready\n".to_owned())
        );
        let (addr, _) = answering("HTTP/1.0 200 OK\r\n\r\n").await;
        assert_eq!(get(&addr, "/readyz").await.unwrap(), (200, String::new()));
        for not_http in ["SSH-2.0-OpenSSH\r\n", "ICY 200 OK\r\n\r\n", ""] {
            let (addr, _) = answering(not_http).await;
            let error = get(&addr, "/readyz").await.unwrap_err();
            assert_eq!(
                error.kind(),
                std::io::ErrorKind::InvalidData,
                "{not_http:?}"
            );
        }
    }

    #[tokio::test]
    async fn other_routes_and_methods_are_refused() {
        assert!(
            respond(b"GET /admin HTTP/1.1\r\n\r\n", health(true))
                .await
                .starts_with("HTTP/1.1 404")
        );
        assert!(
            respond(b"POST /metrics HTTP/1.1\r\n\r\n", health(true))
                .await
                .starts_with("HTTP/1.1 405")
        );
        assert!(
            respond(b"POST /admin HTTP/1.1\r\n\r\n", health(true))
                .await
                .starts_with("HTTP/1.1 405")
        );
        // Not HTTP at all: hyper refuses it before any route.
        assert!(
            respond(b"\xff\xfe garbage\r\n\r\n", health(true))
                .await
                .starts_with("HTTP/1.1 400")
        );
        let head = respond(b"HEAD /healthz HTTP/1.1\r\n\r\n", health(true)).await;
        assert!(head.ends_with("\r\n\r\n"), "{head}");
    }
}
