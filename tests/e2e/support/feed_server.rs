//! A real HTTP/1.1 server on `127.0.0.1:0` serving feed files to `rewriter ingest`: per path a
//! status, body, content type, validators (a matching `If-None-Match` / `If-Modified-Since`
//! gets 304), gzip, redirects, a delay and a body cut short; every request recorded with its
//! conditional headers. Plain tokio, like the project's own health endpoint.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What one path answers.
#[derive(Debug, Clone)]
pub struct Route {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub location: Option<String>,
    /// Waits this long before answering (to make two ingesters overlap).
    pub delay: Duration,
    /// Promises the whole body in `Content-Length` but closes after this many bytes.
    pub cut_after: Option<usize>,
    /// Sends the body gzip-compressed (`Content-Encoding: gzip`) to a client that accepts it.
    pub gzip: bool,
    /// More response headers (`Retry-After`, say).
    pub headers: Vec<(String, String)>,
}

impl Route {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            content_type: content_type.to_owned(),
            body: body.into(),
            etag: None,
            last_modified: None,
            location: None,
            delay: Duration::ZERO,
            cut_after: None,
            gzip: false,
            headers: Vec::new(),
        }
    }

    pub fn rss(body: impl Into<Vec<u8>>) -> Self {
        Self::ok("application/rss+xml", body)
    }

    pub fn status(status: u16) -> Self {
        Self {
            status,
            ..Self::ok("text/plain", format!("status {status}\n"))
        }
    }

    pub fn redirect(to: &str) -> Self {
        Self {
            location: Some(to.to_owned()),
            ..Self::status(302)
        }
    }

    pub fn etag(mut self, etag: &str) -> Self {
        self.etag = Some(etag.to_owned());
        self
    }

    pub fn last_modified(mut self, date: &str) -> Self {
        self.last_modified = Some(date.to_owned());
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn gzip(mut self) -> Self {
        self.gzip = true;
        self
    }

    pub fn cut_after(mut self, bytes: usize) -> Self {
        self.cut_after = Some(bytes);
        self
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub user_agent: Option<String>,
    pub accept_encoding: Option<String>,
    pub status: u16,
}

impl Seen {
    pub fn conditional(&self) -> bool {
        self.if_none_match.is_some() || self.if_modified_since.is_some()
    }
}

#[derive(Default)]
struct Inner {
    routes: HashMap<String, Route>,
    seen: Vec<Seen>,
}

/// The running server; dropping it stops it.
pub struct FeedServer {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    task: JoinHandle<()>,
}

impl FeedServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let inner = Arc::new(Mutex::new(Inner::default()));
        let shared = Arc::clone(&inner);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = answer(stream, &shared).await;
                });
            }
        });
        Self { addr, inner, task }
    }

    /// `http://127.0.0.1:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sets (or replaces) what `path` answers.
    pub fn serve(&self, path: &str, route: Route) {
        self.inner
            .lock()
            .unwrap()
            .routes
            .insert(path.to_owned(), route);
    }

    /// The requests for `path` so far.
    pub fn requests(&self, path: &str) -> Vec<Seen> {
        let inner = self.inner.lock().unwrap();
        inner
            .seen
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }

    /// Every request so far.
    pub fn all_requests(&self) -> Vec<Seen> {
        self.inner.lock().unwrap().seen.clone()
    }
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(mut stream: TcpStream, inner: &Mutex<Inner>) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&chunk[..n]);
        if !head[0].is_ascii_alphabetic() {
            // Not HTTP (a TLS handshake, say): answer in plain text at once, as a real plain
            // HTTP server would, so the client fails now rather than at its timeout.
            stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                .await?;
            return stream.shutdown().await;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.lines();
    let path = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("/")
        .to_owned();
    let mut headers = HashMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let route = inner.lock().unwrap().routes.get(&path).cloned();
    let route = route.unwrap_or_else(|| Route::status(404));
    let not_modified = route
        .etag
        .as_ref()
        .is_some_and(|e| headers.get("if-none-match") == Some(e))
        || (!headers.contains_key("if-none-match")
            && route
                .last_modified
                .as_ref()
                .is_some_and(|d| headers.get("if-modified-since") == Some(d)));
    let status = if not_modified && route.status == 200 {
        304
    } else {
        route.status
    };
    inner.lock().unwrap().seen.push(Seen {
        path,
        if_none_match: headers.get("if-none-match").cloned(),
        if_modified_since: headers.get("if-modified-since").cloned(),
        user_agent: headers.get("user-agent").cloned(),
        accept_encoding: headers.get("accept-encoding").cloned(),
        status,
    });
    tokio::time::sleep(route.delay).await;
    let gzip = route.gzip
        && status != 304
        && headers
            .get("accept-encoding")
            .is_some_and(|e| e.contains("gzip"));
    let body: Vec<u8> = match (status, gzip) {
        (304, _) => Vec::new(),
        (_, true) => {
            use std::io::Write as _;
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(&route.body)?;
            encoder.finish()?
        }
        _ => route.body.clone(),
    };
    let mut response = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n",
        route.content_type,
        body.len()
    );
    if gzip {
        response.push_str("content-encoding: gzip\r\n");
    }
    for (name, value) in &route.headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    for (name, value) in [
        ("etag", &route.etag),
        ("last-modified", &route.last_modified),
        ("location", &route.location),
    ] {
        if let Some(value) = value {
            response.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    response.push_str("\r\n");
    stream.write_all(response.as_bytes()).await?;
    let sent = route.cut_after.map_or(body.len(), |n| n.min(body.len()));
    stream.write_all(&body[..sent]).await?;
    stream.shutdown().await
}
