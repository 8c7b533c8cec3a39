//! A fake OpenAI-compatible LLM for the end-to-end tests: a real HTTP/1.1
//! server on `127.0.0.1:0`, hand-rolled on tokio (keep-alive, `Content-Length`
//! and chunked request bodies, `Expect: 100-continue`), that answers
//! `POST /v1/chat/completions` (and `/chat/completions`) in the OpenAI wire
//! format with deterministic content generated to validate against the
//! request's `response_format.json_schema.schema`. Tests can add latency,
//! queue or randomise faults (HTTP errors, dropped connections, hangs,
//! malformed content), override answers per schema name and read back what
//! the client sent. `GET /v1/models` lists one model (what a client probes to learn whether
//! the server answers). Every other route answers 404 with an OpenAI error body. For outage
//! tests the whole server can go away ([`Away`]) and come back on the same port.
//!
//! Generated prose never contains digits, Markdown, HTML or capitalised words
//! other than at a sentence start, so articles built from it pass faithfulness
//! checks. Which sentences are used is derived from a hash of the request's
//! messages and schema name (same request, same answer). No sentence repeats
//! within an answer, and each style below draws on its own sentence pool, so
//! the overview, paragraphs, commentary and bullets of one article never share
//! a sentence (two calls in the same style may, rarely). Property names pick
//! the style: `overview`/`summary` (two sentences), `heading`/`title`/
//! `headline` (title-case heading), `paragraphs`/`commentary` items (three
//! sentences), `bullets` items (one short sentence), `tags` items (upper-case
//! words such as `MARKET`), anything else a single plain sentence.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// What the fake does to one chat-completion request instead of (or before)
/// answering it normally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status, optional `Retry-After` header and body (sent
    /// as `application/json` if it parses as JSON, else `text/plain`).
    Status {
        code: u16,
        retry_after: Option<String>,
        body: String,
    },
    /// 429 with `Retry-After: 1` and OpenAI's rate-limit error body.
    RateLimited,
    /// 500 with OpenAI's `server_error` body.
    ServerError,
    /// 429 with a `text/plain` body `Too Many Requests` and no `Retry-After`,
    /// as a proxy would answer.
    PlainText429,
    /// Read the request, then close the connection without answering.
    Drop,
    /// Read the request, wait this long (instead of the latency), then
    /// answer normally.
    Hang(Duration),
    /// 200 whose content is prose, not JSON.
    Prose,
    /// 200 whose content is valid JSON that violates the schema.
    BreakSchema,
    /// 200 with `finish_reason: "length"` and the normal content cut in half.
    Truncated,
    /// 200 with empty content.
    Empty,
    /// 200 with exactly this content.
    Content(String),
}

/// How the whole server is away ([`FakeLlm::go_away`]), every route alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Away {
    /// Nothing listens on the port and every open connection is closed: connections are
    /// refused.
    Refusing,
    /// Every request gets 503 with OpenAI's error body.
    Unavailable,
    /// Every request is read and not answered until the server comes back (then the
    /// connection is closed).
    Hanging,
}

/// Handle on a running fake server; dropping it stops the server and every
/// connection it holds.
pub struct FakeLlm {
    addr: SocketAddr,
    state: Arc<State>,
    /// The accept loop; `None` while away refusing connections.
    task: Mutex<Option<JoinHandle<()>>>,
}

impl FakeLlm {
    /// Binds `127.0.0.1:0` and spawns the accept loop on the current runtime.
    pub async fn start() -> FakeLlm {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake LLM on 127.0.0.1:0");
        let addr = listener.local_addr().expect("fake LLM local address");
        let state = Arc::new(State::new());
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
        FakeLlm {
            addr,
            state,
            task: Mutex::new(Some(task)),
        }
    }

    /// The whole server goes away, in the manner of `how`, until [`FakeLlm::come_back`].
    pub async fn go_away(&self, how: Away) {
        *lock(&self.state.away) = Some(how);
        if how == Away::Refusing {
            let task = lock(&self.task).take();
            if let Some(task) = task {
                // Dropping the accept loop drops the listener and every connection it owns.
                task.abort();
                let _ = task.await;
            }
        }
    }

    /// The server answers again, on the same port.
    pub async fn come_back(&self) {
        let refusing = lock(&self.task).is_none();
        if refusing {
            let mut tries = 0;
            let listener = loop {
                match TcpListener::bind(self.addr).await {
                    Ok(listener) => break listener,
                    Err(e) => {
                        tries += 1;
                        assert!(tries < 100, "rebind {}: {e}", self.addr);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            };
            let task = tokio::spawn(accept_loop(listener, Arc::clone(&self.state)));
            *lock(&self.task) = Some(task);
        }
        *lock(&self.state.away) = None;
    }

    /// `GET /models` requests received so far.
    pub fn model_list_requests(&self) -> usize {
        self.state.model_lists.load(Ordering::SeqCst)
    }

    /// Base URL for an OpenAI client: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Chat-completion requests received so far, faulted ones included.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// TCP connections accepted so far (shows whether clients keep them alive).
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// JSON bodies of the chat-completion requests, in arrival order (a body
    /// that is not JSON is recorded as a JSON string of its text).
    pub fn received(&self) -> Vec<Value> {
        lock(&self.state.received).clone()
    }

    /// Whether [`FakeLlm::received`] records bodies (on by default); a long
    /// benchmark turns it off to keep its memory flat.
    pub fn set_keep_bodies(&self, keep: bool) {
        self.state.keep_bodies.store(keep, Ordering::Relaxed);
    }

    /// When each chat-completion request arrived (its body read), faulted ones
    /// included, in arrival order.
    pub fn arrivals(&self) -> Vec<Instant> {
        lock(&self.state.arrivals).clone()
    }

    /// Highest number of chat-completion requests handled at the same moment.
    pub fn max_concurrent(&self) -> usize {
        self.state.max_concurrent.load(Ordering::SeqCst)
    }

    /// Delay before every answer, faulted ones included (but not `Drop`, and
    /// `Hang` waits its own duration instead).
    pub fn set_latency(&self, d: Duration) {
        *lock(&self.state.latency) = d;
    }

    /// Queues faults for the next requests, one per request, first in first out.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.state.faults).extend(faults);
    }

    /// Once the queue is empty, each request gets a fault drawn from `faults`
    /// with probability `rate`, from a generator reseeded with a fixed seed on
    /// every call; a rate of 0 (or no faults) turns it off.
    pub fn set_fault_rate(&self, rate: f64, faults: Vec<Fault>) {
        *lock(&self.state.random) = RandomFaults {
            rate,
            faults,
            rng: fastrand::Rng::with_seed(FAULT_SEED),
        };
    }

    /// Requests whose `response_format.json_schema.name` is `schema_name` get
    /// exactly this JSON (serialised) as content, in a normal 200 answer;
    /// queued or random faults still take precedence.
    pub fn set_answer(&self, schema_name: &str, content: Value) {
        lock(&self.state.answers).insert(schema_name.to_owned(), content);
    }

    /// Extra headers (such as `x-ratelimit-remaining-requests`) on every 200
    /// chat-completion answer, faulted 200s included; replaces the previous set.
    pub fn set_response_headers(&self, headers: Vec<(String, String)>) {
        *lock(&self.state.response_headers) = headers;
    }

    /// From now on, an answer to a request whose messages contain `marker` invents facts: its
    /// `overview` gains a sentence with a percentage and a year that no headline of the tests
    /// holds. A test gives only one prompt set the marker (in its system message), so that two
    /// versions of the prompts get different answers, as a real model would.
    pub fn invent_claims_when(&self, marker: &str) {
        *lock(&self.state.inventing) = Some(marker.to_owned());
    }

    /// Value chosen for a property named `sentiment` when it is one of that
    /// property's enum values (otherwise the first enum value is used).
    pub fn set_sentiment(&self, s: &str) {
        *lock(&self.state.sentiment) = Some(s.to_owned());
    }
}

impl std::fmt::Debug for FakeLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeLlm")
            .field("addr", &self.addr)
            .field("requests", &self.requests())
            .finish_non_exhaustive()
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
    }
}

/// The `response_format.json_schema.name` of a chat-completion request body.
pub fn schema_name(body: &Value) -> Option<String> {
    body.get("response_format")?
        .get("json_schema")?
        .get("name")?
        .as_str()
        .map(str::to_owned)
}

// ---------------------------------------------------------------------------
// Shared state

const FAULT_SEED: u64 = 0x5EED_FA17;

struct RandomFaults {
    rate: f64,
    faults: Vec<Fault>,
    rng: fastrand::Rng,
}

struct State {
    requests: AtomicUsize,
    connections: AtomicUsize,
    in_flight: AtomicUsize,
    max_concurrent: AtomicUsize,
    next_id: AtomicU64,
    received: Mutex<Vec<Value>>,
    keep_bodies: std::sync::atomic::AtomicBool,
    arrivals: Mutex<Vec<Instant>>,
    latency: Mutex<Duration>,
    faults: Mutex<VecDeque<Fault>>,
    random: Mutex<RandomFaults>,
    answers: Mutex<HashMap<String, Value>>,
    sentiment: Mutex<Option<String>>,
    response_headers: Mutex<Vec<(String, String)>>,
    /// See [`FakeLlm::invent_claims_when`].
    inventing: Mutex<Option<String>>,
    away: Mutex<Option<Away>>,
    model_lists: AtomicUsize,
}

impl State {
    fn new() -> State {
        State {
            requests: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_concurrent: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
            received: Mutex::new(Vec::new()),
            keep_bodies: std::sync::atomic::AtomicBool::new(true),
            arrivals: Mutex::new(Vec::new()),
            latency: Mutex::new(Duration::ZERO),
            faults: Mutex::new(VecDeque::new()),
            random: Mutex::new(RandomFaults {
                rate: 0.0,
                faults: Vec::new(),
                rng: fastrand::Rng::with_seed(FAULT_SEED),
            }),
            answers: Mutex::new(HashMap::new()),
            sentiment: Mutex::new(None),
            response_headers: Mutex::new(Vec::new()),
            inventing: Mutex::new(None),
            away: Mutex::new(None),
            model_lists: AtomicUsize::new(0),
        }
    }

    fn next_fault(&self) -> Option<Fault> {
        if let Some(fault) = lock(&self.faults).pop_front() {
            return Some(fault);
        }
        let mut guard = lock(&self.random);
        let random = &mut *guard;
        if random.rate <= 0.0 || random.faults.is_empty() {
            return None;
        }
        if random.rng.f64() < random.rate {
            let i = random.rng.usize(..random.faults.len());
            Some(random.faults[i].clone())
        } else {
            None
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counts a request as in flight for as long as it lives.
struct InFlight<'a>(&'a State);

impl<'a> InFlight<'a> {
    fn enter(state: &'a State) -> InFlight<'a> {
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_concurrent.fetch_max(now, Ordering::SeqCst);
        InFlight(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------
// HTTP/1.1

const MAX_LINE: u64 = 64 * 1024;
const MAX_HEADERS: usize = 128;
const MAX_BODY: usize = 64 * 1024 * 1024;

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    // Owning the connection tasks here means aborting this task aborts them.
    let mut connections = JoinSet::new();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                state.connections.fetch_add(1, Ordering::SeqCst);
                connections.spawn(serve_connection(stream, Arc::clone(&state)));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
        while connections.try_join_next().is_some() {}
    }
}

struct Request {
    method: String,
    path: String,
    keep_alive: bool,
    body: Vec<u8>,
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn serve_connection(stream: TcpStream, state: Arc<State>) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream);
    loop {
        let request = match read_request(&mut reader).await {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(e) => {
                let response = error_response(
                    400,
                    &format!("malformed HTTP request: {e}"),
                    "invalid_request_error",
                    None,
                );
                let _ = write_response(reader.get_mut(), &response, false).await;
                return;
            }
        };
        let keep_alive = request.keep_alive;
        let away = *lock(&state.away);
        if away == Some(Away::Hanging) {
            while lock(&state.away).is_some() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            return;
        }
        if away.is_some() {
            let response = error_response(
                503,
                "The server is overloaded or not ready yet.",
                "server_error",
                None,
            );
            if write_response(reader.get_mut(), &response, keep_alive)
                .await
                .is_err()
            {
                return;
            }
        } else if request.method == "GET"
            && matches!(request.path.trim_end_matches('/'), "/v1/models" | "/models")
        {
            state.model_lists.fetch_add(1, Ordering::SeqCst);
            let response = json_response(
                200,
                &json!({"object": "list", "data": [
                    {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "fake"}
                ]}),
            );
            if write_response(reader.get_mut(), &response, keep_alive)
                .await
                .is_err()
            {
                return;
            }
        } else if request.method == "POST" && is_chat_path(&request.path) {
            let _in_flight = InFlight::enter(&state);
            let Some(response) = handle_chat(&state, &request.body).await else {
                return; // Fault::Drop: close without answering.
            };
            if write_response(reader.get_mut(), &response, keep_alive)
                .await
                .is_err()
            {
                return;
            }
        } else {
            let response = error_response(
                404,
                &format!("Unknown request URL: {} {}", request.method, request.path),
                "invalid_request_error",
                Some("unknown_url"),
            );
            if write_response(reader.get_mut(), &response, keep_alive)
                .await
                .is_err()
            {
                return;
            }
        }
        if !keep_alive {
            return;
        }
    }
}

fn is_chat_path(path: &str) -> bool {
    matches!(
        path.trim_end_matches('/'),
        "/v1/chat/completions" | "/chat/completions"
    )
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

fn eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "connection closed mid-request",
    )
}

/// One line without its CRLF; `None` at a clean end of stream.
async fn read_line(reader: &mut BufReader<TcpStream>) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = (&mut *reader)
        .take(MAX_LINE)
        .read_until(b'\n', &mut buf)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') {
        return Err(invalid("line too long or cut short"));
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| invalid("line is not UTF-8"))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

async fn read_request(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Request>> {
    let line = loop {
        match read_line(reader).await? {
            None => return Ok(None),
            Some(line) if line.is_empty() => {}
            Some(line) => break line,
        }
    };
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("bad request line"));
    };
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader).await?.ok_or_else(eof)?;
        if line.is_empty() {
            break;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(invalid("too many headers"));
        }
        let (name, value) = line.split_once(':').ok_or_else(|| invalid("bad header"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let connection = header(&headers, "connection")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let keep_alive = if version.eq_ignore_ascii_case("HTTP/1.0") {
        connection.contains("keep-alive")
    } else {
        !connection.contains("close")
    };
    if header(&headers, "expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await?;
    }
    let chunked = header(&headers, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        read_chunked(reader).await?
    } else if let Some(len) = header(&headers, "content-length") {
        let len: usize = len.parse().map_err(|_| invalid("bad Content-Length"))?;
        if len > MAX_BODY {
            return Err(invalid("body too large"));
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).await?;
        body
    } else {
        Vec::new()
    };
    Ok(Some(Request {
        method: method.to_owned(),
        path: target.split('?').next().unwrap_or_default().to_owned(),
        keep_alive,
        body,
    }))
}

async fn read_chunked(reader: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader).await?.ok_or_else(eof)?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| invalid("bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(reader).await?.ok_or_else(eof)?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(invalid("body too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).await?;
        if !read_line(reader).await?.ok_or_else(eof)?.is_empty() {
            return Err(invalid("chunk not followed by CRLF"));
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

async fn write_response(
    stream: &mut TcpStream,
    response: &Response,
    keep_alive: bool,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    let connection = if keep_alive { "keep-alive" } else { "close" };
    let _ = write!(
        head,
        "Content-Length: {}\r\nConnection: {connection}\r\n\r\n",
        response.body.len()
    );
    let mut out = head.into_bytes();
    out.extend_from_slice(&response.body);
    stream.write_all(&out).await?;
    stream.flush().await
}

fn json_response(status: u16, value: &Value) -> Response {
    Response {
        status,
        headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
        body: value.to_string().into_bytes(),
    }
}

fn error_response(status: u16, message: &str, kind: &str, code: Option<&str>) -> Response {
    json_response(
        status,
        &json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
    )
}

fn status_response(code: u16, retry_after: Option<String>, body: String) -> Response {
    let content_type = if serde_json::from_str::<Value>(&body).is_ok() {
        "application/json"
    } else {
        "text/plain"
    };
    let mut headers = vec![("Content-Type".to_owned(), content_type.to_owned())];
    if let Some(retry_after) = retry_after {
        headers.push(("Retry-After".to_owned(), retry_after));
    }
    Response {
        status: code,
        headers,
        body: body.into_bytes(),
    }
}

// ---------------------------------------------------------------------------
// Chat completions

/// `None` means: close the connection without answering.
async fn handle_chat(state: &State, body: &[u8]) -> Option<Response> {
    state.requests.fetch_add(1, Ordering::SeqCst);
    lock(&state.arrivals).push(Instant::now());
    let request = match serde_json::from_slice::<Value>(body) {
        Ok(request) => {
            if state.keep_bodies.load(Ordering::Relaxed) {
                lock(&state.received).push(request.clone());
            }
            request
        }
        Err(e) => {
            let text = String::from_utf8_lossy(body).into_owned();
            lock(&state.received).push(Value::String(text));
            return Some(error_response(
                400,
                &format!("We could not parse the JSON body of your request: {e}"),
                "invalid_request_error",
                None,
            ));
        }
    };
    let fault = state.next_fault();
    let latency = *lock(&state.latency);
    match &fault {
        Some(Fault::Drop) => return None,
        Some(Fault::Hang(d)) => tokio::time::sleep(*d).await,
        _ if !latency.is_zero() => tokio::time::sleep(latency).await,
        _ => {}
    }
    let mut response = match fault {
        None | Some(Fault::Hang(_) | Fault::Drop) => {
            completion(state, &request, normal_content(state, &request), "stop")
        }
        Some(Fault::Status {
            code,
            retry_after,
            body,
        }) => status_response(code, retry_after, body),
        Some(Fault::RateLimited) => status_response(
            429,
            Some("1".to_owned()),
            json!({"error": {"message": "Rate limit reached", "type": "requests",
                "param": null, "code": "rate_limit_exceeded"}})
            .to_string(),
        ),
        Some(Fault::ServerError) => status_response(
            500,
            None,
            json!({"error": {"message": "The server had an error", "type": "server_error",
                "param": null, "code": null}})
            .to_string(),
        ),
        Some(Fault::PlainText429) => status_response(429, None, "Too Many Requests".to_owned()),
        Some(Fault::Prose) => completion(
            state,
            &request,
            "Sure! Here is your article: Bitcoin is great.".to_owned(),
            "stop",
        ),
        Some(Fault::BreakSchema) => completion(
            state,
            &request,
            json!({"unexpected": true}).to_string(),
            "stop",
        ),
        Some(Fault::Truncated) => {
            let content = normal_content(state, &request);
            let half: String = content.chars().take(content.chars().count() / 2).collect();
            completion(state, &request, half, "length")
        }
        Some(Fault::Empty) => completion(state, &request, String::new(), "stop"),
        Some(Fault::Content(content)) => completion(state, &request, content, "stop"),
    };
    if response.status == 200 {
        response
            .headers
            .extend(lock(&state.response_headers).iter().cloned());
    }
    Some(response)
}

fn message_text(message: &Value) -> String {
    match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn prompt_text(request: &Value) -> String {
    request
        .get("messages")
        .and_then(Value::as_array)
        .map(|messages| {
            messages
                .iter()
                .map(message_text)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn tokens(chars: usize) -> usize {
    (chars / 4).max(1)
}

fn completion(state: &State, request: &Value, content: String, finish_reason: &str) -> Response {
    let id = state.next_id.fetch_add(1, Ordering::SeqCst) + 1;
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("fake-model");
    let prompt_tokens = tokens(prompt_text(request).chars().count());
    let completion_tokens = tokens(content.chars().count());
    json_response(
        200,
        &json!({
            "id": format!("chatcmpl-fake-{id}"),
            "object": "chat.completion",
            "created": created,
            "model": model,
            "system_fingerprint": "fake",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
                "logprobs": null
            }],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": 0}
            },
            "timings": {"predicted_ms": 1.0}
        }),
    )
}

/// The content of a normal answer: the override for the schema name, else
/// JSON generated from the schema (or plain prose when none is requested).
fn normal_content(state: &State, request: &Value) -> String {
    let name = schema_name(request);
    if let Some(name) = &name
        && let Some(answer) = lock(&state.answers).get(name)
    {
        return answer.to_string();
    }
    let sentiment = lock(&state.sentiment).clone();
    let seed =
        fnv1a(format!("{}\u{0}{}", prompt_text(request), name.unwrap_or_default()).as_bytes());
    let format = request.get("response_format");
    let kind = format
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "json_schema" => {
            let schema = format
                .and_then(|f| f.get("json_schema"))
                .and_then(|s| s.get("schema"))
                .unwrap_or(&Value::Null);
            let mut generator = Generator::new(schema, seed, sentiment);
            let mut value = if schema.is_object() {
                generator.value(schema, "", 0)
            } else {
                Value::Object(Map::new())
            };
            mention_the_subject(&mut value, request);
            if let Some(marker) = lock(&state.inventing).as_deref()
                && prompt_text(request).contains(marker)
            {
                invent_a_claim(&mut value);
            }
            value.to_string()
        }
        "json_object" => {
            let mut generator = Generator::new(&Value::Null, seed, sentiment);
            json!({"text": generator.prose(Pool::Paragraph, 3)}).to_string()
        }
        _ => Generator::new(&Value::Null, seed, sentiment).prose(Pool::Paragraph, 3),
    }
}

/// Like a real writer, the overview names what the story is about: the longest word of the
/// news item's title, in lower case (so it never reads as an invented name).
fn mention_the_subject(value: &mut Value, request: &Value) {
    let text = prompt_text(request);
    let Some(start) = text.find("\"title\": \"") else {
        return;
    };
    let rest = &text[start + 10..];
    let title = &rest[..rest.find('"').unwrap_or(rest.len())];
    let subject = title
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() >= 4)
        .max_by_key(|w| w.chars().count())
        .map(str::to_lowercase);
    if let (Some(subject), Some(Value::String(overview))) = (subject, value.get_mut("overview")) {
        overview.push_str(&format!(
            " The news concerns {subject} and what comes next for the wider market."
        ));
    }
}

/// The figures [`FakeLlm::invent_claims_when`] adds to an overview.
pub const INVENTED_CLAIM: &str = "Analysts expect a 37 percent rise by 2031.";

fn invent_a_claim(value: &mut Value) {
    if let Some(Value::String(overview)) = value.get_mut("overview") {
        overview.push(' ');
        overview.push_str(INVENTED_CLAIM);
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

// ---------------------------------------------------------------------------
// Content generation

/// Sentence pools: every sentence is `opener + subject + " " + predicate +
/// "."`; the first `openers·subjects²` sentences drawn from a pool in one
/// answer are all different, and pools share no sentence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pool {
    Overview,
    Paragraph,
    Commentary,
    Bullet,
    Plain,
}

impl Pool {
    const ALL: [Pool; 5] = [
        Pool::Overview,
        Pool::Paragraph,
        Pool::Commentary,
        Pool::Bullet,
        Pool::Plain,
    ];

    fn index(self) -> usize {
        match self {
            Pool::Overview => 0,
            Pool::Paragraph => 1,
            Pool::Commentary => 2,
            Pool::Bullet => 3,
            Pool::Plain => 4,
        }
    }

    /// Openers (may be empty), subjects and as many predicates as subjects.
    fn parts(
        self,
    ) -> (
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
    ) {
        match self {
            Pool::Overview => (NO_OPENERS, OVERVIEW_SUBJECTS, OVERVIEW_PREDICATES),
            Pool::Paragraph => (PARAGRAPH_OPENERS, PARAGRAPH_SUBJECTS, PARAGRAPH_PREDICATES),
            Pool::Commentary => (
                COMMENTARY_OPENERS,
                COMMENTARY_SUBJECTS,
                COMMENTARY_PREDICATES,
            ),
            Pool::Bullet => (NO_OPENERS, BULLET_SUBJECTS, BULLET_PREDICATES),
            Pool::Plain => (NO_OPENERS, PLAIN_SUBJECTS, PLAIN_PREDICATES),
        }
    }
}

const NO_OPENERS: &[&str] = &[""];
const PARAGRAPH_OPENERS: &[&str] = &[
    "",
    "For now, ",
    "So far, ",
    "In practice, ",
    "At this stage, ",
    "Meanwhile, ",
];
const COMMENTARY_OPENERS: &[&str] = &[
    "",
    "Even so, ",
    "On balance, ",
    "Over time, ",
    "Still, ",
    "In the end, ",
];
const OVERVIEW_SUBJECTS: &[&str] = &[
    "Market watchers",
    "Seasoned traders",
    "Industry observers",
    "Participants across the sector",
    "Several analysts",
    "Longer-term investors",
    "Observers close to the matter",
    "Commentators in the space",
];
const OVERVIEW_PREDICATES: &[&str] = &[
    "describe the development as a notable moment for the wider digital asset market",
    "suggest the news adds a fresh layer of uncertainty to an already busy week",
    "expect the announcement to shape sentiment over the near term",
    "see the move as part of a broader shift in how the industry operates",
    "note that the details are still emerging and could change",
    "think the update may influence how investors position themselves",
    "point out that similar events have drawn mixed responses in the past",
    "caution that the full impact will take time to become clear",
];
const PARAGRAPH_SUBJECTS: &[&str] = &[
    "Traders on major venues",
    "Analysts tracking the sector",
    "Liquidity providers",
    "Institutional desks",
    "Retail participants",
    "Risk managers",
    "Long-term holders",
    "Derivatives traders",
    "Portfolio managers",
    "Market makers",
    "Independent researchers",
    "Funds with exposure to the space",
];
const PARAGRAPH_PREDICATES: &[&str] = &[
    "have been adjusting their positions as the news filters through order books",
    "are weighing how the development could affect liquidity in the weeks ahead",
    "tend to react cautiously when headlines arrive without firm confirmation",
    "are watching funding rates and open interest for signs of a sharper move",
    "point to thinner weekend volumes as a reason for exaggerated price swings",
    "argue that the broader macro backdrop still matters more than any single story",
    "expect volatility to stay elevated until the details become clearer",
    "have noted a modest pickup in activity across spot and futures markets",
    "say that regulatory clarity remains the key factor for sustained inflows",
    "warn that sentiment can turn quickly when leverage builds up in the system",
    "suggest that the reaction so far looks orderly rather than panicked",
    "believe that the story reinforces trends that were already under way",
];
const COMMENTARY_SUBJECTS: &[&str] = &[
    "Observers with a longer view",
    "Seasoned commentators",
    "Cautious strategists",
    "Some market veterans",
    "Skeptics in the industry",
    "Optimists in the community",
    "Researchers who follow adoption",
    "Critics of the current cycle",
];
const COMMENTARY_PREDICATES: &[&str] = &[
    "would argue that patience has usually paid off after headlines like this",
    "see little reason to change a long-term thesis on the back of one story",
    "think the market may be underestimating how slowly real change tends to arrive",
    "would caution against reading too much into the first hours of trading",
    "believe that transparency from the parties involved will decide the outcome",
    "suspect that the real test will come once liquidity returns to normal levels",
    "consider the episode a reminder that risk management still comes first",
    "expect the conversation to move on quickly unless new details surface",
];
const BULLET_SUBJECTS: &[&str] = &[
    "Short-term traders",
    "Independent analysts",
    "Long-term investors",
    "Large market makers",
    "Industry watchers",
    "Crypto-focused funds",
    "Major trading venues",
    "Protocol developers",
];
const BULLET_PREDICATES: &[&str] = &[
    "are reassessing their short-term risk",
    "expect volatility to stay elevated",
    "are watching liquidity closely",
    "see the news as a driver of sentiment",
    "want more detail before acting",
    "report a rise in trading activity",
    "flag regulation as the key unknown",
    "view the move as part of a wider trend",
];
const PLAIN_SUBJECTS: &[&str] = &[
    "The development",
    "The latest update",
    "This story",
    "The announcement",
    "The report",
    "The change",
];
const PLAIN_PREDICATES: &[&str] = &[
    "is likely to stay in focus for the rest of the week",
    "has drawn attention from across the market",
    "raises questions that remain open for now",
    "adds context to a busy period for the industry",
    "could shape expectations in the near term",
    "reflects a wider trend in the digital asset space",
];
const HEADINGS: &[&str] = &[
    "What the Shift Means for Holders",
    "Why Traders Are Paying Attention",
    "How the Market Is Responding",
    "The Bigger Picture for Investors",
    "Reading the Early Signals",
    "What Comes Next for the Sector",
    "Weighing the Risks Ahead",
    "Where Liquidity Goes From Here",
    "Key Questions Still Unanswered",
    "A Closer Look at the Reaction",
];
const TAGS: &[&str] = &[
    "MARKET",
    "ANALYSIS",
    "TRADING",
    "REGULATION",
    "ADOPTION",
    "LIQUIDITY",
    "SENTIMENT",
    "OUTLOOK",
];

/// How a string is written, chosen from the nearest property name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Overview,
    Heading,
    Paragraph,
    Commentary,
    Bullet,
    Tag,
    Plain,
}

impl Style {
    fn of(name: &str) -> Style {
        match name.to_ascii_lowercase().as_str() {
            "overview" | "summary" => Style::Overview,
            "heading" | "title" | "headline" | "subheading" => Style::Heading,
            "paragraphs" | "paragraph" => Style::Paragraph,
            "commentary" => Style::Commentary,
            "bullets" | "bullet" | "key_points" | "takeaways" => Style::Bullet,
            "tags" | "tag" | "keywords" => Style::Tag,
            _ => Style::Plain,
        }
    }

    fn default_items(self) -> usize {
        match self {
            Style::Paragraph | Style::Bullet | Style::Tag => 3,
            _ => 1,
        }
    }
}

const MAX_DEPTH: usize = 32;

struct Generator<'a> {
    root: &'a Value,
    seed: u64,
    sentiment: Option<String>,
    drawn: [usize; Pool::ALL.len()],
    headings: usize,
    depth: usize,
}

impl<'a> Generator<'a> {
    fn new(root: &'a Value, seed: u64, sentiment: Option<String>) -> Generator<'a> {
        Generator {
            root,
            seed,
            sentiment,
            drawn: [0; Pool::ALL.len()],
            headings: 0,
            depth: 0,
        }
    }

    /// The next sentence of `pool` for this answer. Sentence `m` of a pool
    /// is opener `(a + s) % o`, subject `s`, predicate `(s + b) % n` where
    /// `m = a·n² + b·n + s`: distinct for the first `o·n²` draws, and
    /// consecutive sentences differ in every part.
    fn sentence(&mut self, pool: Pool) -> String {
        let (openers, subjects, predicates) = pool.parts();
        let n = subjects.len().min(predicates.len());
        let o = openers.len();
        let total = o * n * n;
        let offset = splitmix(self.seed ^ (pool.index() as u64 + 1)) % total as u64;
        let drawn = &mut self.drawn[pool.index()];
        let m = (offset as usize + *drawn) % total;
        *drawn += 1;
        let (s, b, a) = (m % n, (m / n) % n, m / (n * n));
        let opener = openers[(a + s) % o];
        let subject = subjects[s];
        let predicate = predicates[(s + b) % n];
        if opener.is_empty() {
            format!("{subject} {predicate}.")
        } else {
            format!(
                "{opener}{}{} {predicate}.",
                subject[..1].to_ascii_lowercase(),
                &subject[1..]
            )
        }
    }

    fn prose(&mut self, pool: Pool, sentences: usize) -> String {
        (0..sentences)
            .map(|_| self.sentence(pool))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn heading(&mut self) -> String {
        let offset = splitmix(self.seed ^ 0x4ead) as usize;
        let heading = HEADINGS[(offset.wrapping_add(self.headings)) % HEADINGS.len()];
        self.headings += 1;
        heading.to_owned()
    }

    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        let pointer = reference.strip_prefix('#')?;
        if pointer.is_empty() {
            return Some(self.root);
        }
        self.root.pointer(pointer)
    }

    fn value(&mut self, schema: &Value, name: &str, index: usize) -> Value {
        if self.depth >= MAX_DEPTH {
            return Value::Null;
        }
        self.depth += 1;
        let value = self.value_inner(schema, name, index);
        self.depth -= 1;
        value
    }

    fn value_inner(&mut self, schema: &Value, name: &str, index: usize) -> Value {
        let Some(obj) = schema.as_object() else {
            // `true` or a missing schema: anything goes, write prose.
            return Value::String(self.string(&Map::new(), name, index));
        };
        if let Some(target) = obj
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| self.resolve(r))
        {
            return self.value(target, name, index);
        }
        if let Some(value) = obj.get("const") {
            return value.clone();
        }
        if let Some(values) = obj.get("enum").and_then(Value::as_array)
            && !values.is_empty()
        {
            return self.pick_enum(values, name, index);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(branches) = obj.get(key).and_then(Value::as_array)
                && let Some(first) = branches
                    .iter()
                    .find(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                    .or_else(|| branches.first())
            {
                return self.value(first, name, index);
            }
        }
        if let Some(parts) = obj.get("allOf").and_then(Value::as_array) {
            let merged = self.merge_all_of(obj, parts);
            return self.value(&merged, name, index);
        }
        let kind = match obj.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Array(types)) => types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("null"),
            _ if obj.contains_key("properties") => "object",
            _ if obj.contains_key("items") || obj.contains_key("prefixItems") => "array",
            _ => "string",
        };
        match kind {
            "object" => self.object(obj),
            "array" => self.array(obj, name),
            "integer" => self.integer(obj),
            "number" => self.number(obj),
            "boolean" => Value::Bool(false),
            "null" => Value::Null,
            _ => Value::String(self.string(obj, name, index)),
        }
    }

    fn merge_all_of(&self, obj: &Map<String, Value>, parts: &[Value]) -> Value {
        let mut merged = obj.clone();
        merged.remove("allOf");
        let mut properties = Map::new();
        let mut required = Vec::new();
        let mut absorb = |m: &Map<String, Value>, merged: &mut Map<String, Value>| {
            for (k, v) in m {
                match k.as_str() {
                    "properties" => {
                        if let Some(p) = v.as_object() {
                            properties.extend(p.clone());
                        }
                    }
                    "required" => {
                        if let Some(r) = v.as_array() {
                            required.extend(r.iter().cloned());
                        }
                    }
                    "allOf" => {}
                    _ => {
                        merged.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
        };
        let own = merged.clone();
        absorb(&own, &mut merged);
        for part in parts {
            let part = match part.get("$ref").and_then(Value::as_str) {
                Some(r) => self.resolve(r).unwrap_or(part),
                None => part,
            };
            if let Some(m) = part.as_object() {
                absorb(m, &mut merged);
            }
        }
        if !properties.is_empty() {
            merged.insert("properties".to_owned(), Value::Object(properties));
            merged
                .entry("type".to_owned())
                .or_insert_with(|| Value::String("object".to_owned()));
        }
        if !required.is_empty() {
            merged.insert("required".to_owned(), Value::Array(required));
        }
        Value::Object(merged)
    }

    fn pick_enum(&self, values: &[Value], name: &str, index: usize) -> Value {
        if name == "sentiment"
            && let Some(wanted) = &self.sentiment
            && let Some(found) = values.iter().find(|v| v.as_str() == Some(wanted))
        {
            return found.clone();
        }
        values[index % values.len()].clone()
    }

    fn object(&mut self, obj: &Map<String, Value>) -> Value {
        let mut out = Map::new();
        if let Some(properties) = obj.get("properties").and_then(Value::as_object) {
            for (key, schema) in properties {
                let value = self.value(schema, key, 0);
                out.insert(key.clone(), value);
            }
        }
        let closed = obj.get("additionalProperties") == Some(&Value::Bool(false));
        if !closed && let Some(required) = obj.get("required").and_then(Value::as_array) {
            for key in required.iter().filter_map(Value::as_str) {
                if !out.contains_key(key) {
                    let value = Value::String(self.string(&Map::new(), key, 0));
                    out.insert(key.to_owned(), value);
                }
            }
        }
        Value::Object(out)
    }

    fn array(&mut self, obj: &Map<String, Value>, name: &str) -> Value {
        let bound = |key: &str| {
            obj.get(key)
                .and_then(Value::as_u64)
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        };
        let min = bound("minItems").unwrap_or(0);
        let mut count = Style::of(name).default_items().max(min);
        if let Some(max) = bound("maxItems") {
            count = count.min(max);
        }
        let prefix = obj
            .get("prefixItems")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let any = Value::Bool(true);
        let items = (0..count)
            .map(|i| {
                let schema = match (prefix.get(i), obj.get("items")) {
                    (Some(schema), _) => schema,
                    (None, Some(Value::Array(tuple))) => {
                        tuple.get(i).or_else(|| tuple.last()).unwrap_or(&any)
                    }
                    (None, Some(schema)) => schema,
                    (None, None) => &any,
                };
                self.value(schema, name, i)
            })
            .collect();
        Value::Array(items)
    }

    fn integer(&self, obj: &Map<String, Value>) -> Value {
        let lower = obj.get("minimum").and_then(Value::as_i64).or_else(|| {
            obj.get("exclusiveMinimum")
                .and_then(Value::as_i64)
                .map(|n| n + 1)
        });
        let upper = obj.get("maximum").and_then(Value::as_i64).or_else(|| {
            obj.get("exclusiveMaximum")
                .and_then(Value::as_i64)
                .map(|n| n - 1)
        });
        let n = match (lower, upper) {
            (Some(lo), Some(hi)) => lo + (hi - lo) / 2,
            (Some(lo), None) => lo.max(1),
            (None, Some(hi)) => hi.min(1),
            (None, None) => 1,
        };
        json!(n)
    }

    fn number(&self, obj: &Map<String, Value>) -> Value {
        let get = |key: &str| obj.get(key).and_then(Value::as_f64);
        let lower = get("minimum").or_else(|| get("exclusiveMinimum"));
        let upper = get("maximum").or_else(|| get("exclusiveMaximum"));
        let n = match (lower, upper) {
            (Some(lo), Some(hi)) => lo + (hi - lo) / 2.0,
            (Some(lo), None) => lo + 1.0,
            (None, Some(hi)) => hi - 1.0,
            (None, None) => 0.5,
        };
        json!(n)
    }

    fn string(&mut self, obj: &Map<String, Value>, name: &str, index: usize) -> String {
        match obj.get("format").and_then(Value::as_str) {
            Some("date-time") => return "2025-01-01T00:00:00Z".to_owned(),
            Some("date") => return "2025-01-01".to_owned(),
            Some("time") => return "00:00:00Z".to_owned(),
            Some("uri" | "url") => return "https://example.com/article".to_owned(),
            Some("email") => return "desk@example.com".to_owned(),
            Some("uuid") => return "00000000-0000-4000-8000-000000000000".to_owned(),
            _ => {}
        }
        let style = Style::of(name);
        let pattern = obj.get("pattern").and_then(Value::as_str);
        if style == Style::Tag {
            return tag(index, pattern);
        }
        let pool = match style {
            Style::Overview => Pool::Overview,
            Style::Paragraph => Pool::Paragraph,
            Style::Commentary => Pool::Commentary,
            Style::Bullet => Pool::Bullet,
            _ => Pool::Plain,
        };
        let mut s = match style {
            Style::Overview => self.prose(pool, 2),
            Style::Heading => self.heading(),
            Style::Paragraph | Style::Commentary => self.prose(pool, 3),
            _ => self.prose(pool, 1),
        };
        if let Some(pattern) = pattern {
            if let Some(regex) = MiniRegex::parse(pattern)
                && !regex.is_match(&s)
            {
                s = regex.generate();
            }
            return s;
        }
        let len = |key: &str| {
            obj.get(key)
                .and_then(Value::as_u64)
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        };
        if let Some(min) = len("minLength") {
            while s.chars().count() < min {
                s.push(' ');
                let more = self.sentence(pool);
                s.push_str(&more);
            }
        }
        if let Some(max) = len("maxLength") {
            s = shorten(&s, max);
        }
        s
    }
}

/// The `index`-th tag: an upper-case word, lower-cased or rebuilt from the
/// pattern when the pattern wants something else.
fn tag(index: usize, pattern: Option<&str>) -> String {
    let word = if index < TAGS.len() {
        TAGS[index].to_owned()
    } else {
        format!(
            "{}_{}",
            TAGS[index % TAGS.len()],
            TAGS[(index / TAGS.len()) % TAGS.len()]
        )
    };
    let Some(regex) = pattern.and_then(MiniRegex::parse) else {
        return word;
    };
    let lower = word.to_ascii_lowercase();
    let mut capitalised = lower.clone();
    capitalised[..1].make_ascii_uppercase();
    [word, lower, capitalised]
        .into_iter()
        .find(|w| regex.is_match(w))
        .unwrap_or_else(|| regex.generate())
}

/// Cuts `s` to at most `max` characters at a word boundary, keeping a final
/// period when there is room for it.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut cut: String = s.chars().take(max).collect();
    if let Some(space) = cut.rfind(' ')
        && space > 0
    {
        cut.truncate(space);
    }
    let mut cut = cut.trim_end_matches([' ', ',', ';', ':', '.']).to_owned();
    if s.ends_with('.') && cut.chars().count() < max {
        cut.push('.');
    }
    cut
}

// ---------------------------------------------------------------------------
// A tiny regex subset for `pattern`: anchors, literals, `.`, classes,
// `\d \w \s` (and negations), quantifiers `* + ? {n} {n,} {n,m}`. Groups and
// alternation are not supported (the pattern is then ignored).

#[derive(Debug)]
enum Atom {
    Any,
    Literal(char),
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Atom {
    fn matches(&self, c: char) -> bool {
        match self {
            Atom::Any => c != '\n',
            Atom::Literal(l) => *l == c,
            Atom::Class { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
            }
        }
    }

    fn sample(&self) -> char {
        const PREFERRED: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_- ";
        match self {
            Atom::Literal(c) => *c,
            _ => PREFERRED
                .chars()
                .chain(('!'..='~').filter(|c| !c.is_ascii_digit()))
                .chain('0'..='9')
                .find(|c| self.matches(*c))
                .unwrap_or('x'),
        }
    }
}

#[derive(Debug)]
struct Piece {
    atom: Atom,
    min: usize,
    max: usize,
}

#[derive(Debug)]
struct MiniRegex {
    pieces: Vec<Piece>,
    anchored_start: bool,
    anchored_end: bool,
}

fn shorthand(c: char) -> Option<(bool, Vec<(char, char)>)> {
    let (negated, ranges) = match c {
        'd' => (false, vec![('0', '9')]),
        'D' => (true, vec![('0', '9')]),
        'w' => (false, vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')]),
        'W' => (true, vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')]),
        's' => (false, vec![(' ', ' '), ('\t', '\r')]),
        'S' => (true, vec![(' ', ' '), ('\t', '\r')]),
        _ => return None,
    };
    Some((negated, ranges))
}

fn unescape(c: char) -> char {
    match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        other => other,
    }
}

impl MiniRegex {
    fn parse(pattern: &str) -> Option<MiniRegex> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        let anchored_start = chars.first() == Some(&'^');
        if anchored_start {
            i = 1;
        }
        let mut anchored_end = false;
        let mut pieces = Vec::new();
        while i < chars.len() {
            let atom = match chars[i] {
                '$' if i + 1 == chars.len() => {
                    anchored_end = true;
                    i += 1;
                    continue;
                }
                '.' => {
                    i += 1;
                    Atom::Any
                }
                '[' => Self::class(&chars, &mut i)?,
                '\\' => {
                    let c = *chars.get(i + 1)?;
                    i += 2;
                    match shorthand(c) {
                        Some((negated, ranges)) => Atom::Class { negated, ranges },
                        None => Atom::Literal(unescape(c)),
                    }
                }
                '(' | ')' | '|' | '*' | '+' | '?' | '{' | '}' | '^' | '$' => return None,
                c => {
                    i += 1;
                    Atom::Literal(c)
                }
            };
            let (min, max) = match chars.get(i) {
                Some('*') => {
                    i += 1;
                    (0, usize::MAX)
                }
                Some('+') => {
                    i += 1;
                    (1, usize::MAX)
                }
                Some('?') => {
                    i += 1;
                    (0, 1)
                }
                Some('{') => {
                    let close = i + chars[i..].iter().position(|c| *c == '}')?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    i = close + 1;
                    match inner.split_once(',') {
                        None => {
                            let n = inner.trim().parse().ok()?;
                            (n, n)
                        }
                        Some((lo, hi)) => {
                            let lo = lo.trim().parse().ok()?;
                            let hi = if hi.trim().is_empty() {
                                usize::MAX
                            } else {
                                hi.trim().parse().ok()?
                            };
                            (lo, hi)
                        }
                    }
                }
                _ => (1, 1),
            };
            if matches!(chars.get(i), Some('?' | '+')) && (min, max) != (1, 1) {
                i += 1; // lazy or possessive: same language
            }
            if min > max {
                return None;
            }
            pieces.push(Piece { atom, min, max });
        }
        Some(MiniRegex {
            pieces,
            anchored_start,
            anchored_end,
        })
    }

    /// Parses `[...]` starting at `chars[*i] == '['`.
    fn class(chars: &[char], i: &mut usize) -> Option<Atom> {
        let mut j = *i + 1;
        let negated = chars.get(j) == Some(&'^');
        if negated {
            j += 1;
        }
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let c = *chars.get(j)?;
            if c == ']' && !first {
                j += 1;
                break;
            }
            first = false;
            let lo = if c == '\\' {
                let e = *chars.get(j + 1)?;
                j += 2;
                if let Some((neg, more)) = shorthand(e) {
                    if neg {
                        return None;
                    }
                    ranges.extend(more);
                    continue;
                }
                unescape(e)
            } else {
                j += 1;
                c
            };
            if chars.get(j) == Some(&'-') && chars.get(j + 1).is_some_and(|c| *c != ']') {
                let hi = match chars[j + 1] {
                    '\\' => unescape(*chars.get(j + 2)?),
                    c => c,
                };
                j += if chars[j + 1] == '\\' { 3 } else { 2 };
                ranges.push((lo, hi));
            } else {
                ranges.push((lo, lo));
            }
        }
        *i = j;
        Some(Atom::Class { negated, ranges })
    }

    fn match_at(&self, piece: usize, s: &[char], at: usize) -> bool {
        let Some(p) = self.pieces.get(piece) else {
            return !self.anchored_end || at == s.len();
        };
        let mut n = 0;
        while n < p.max && at + n < s.len() && p.atom.matches(s[at + n]) {
            n += 1;
        }
        n >= p.min
            && (p.min..=n)
                .rev()
                .any(|k| self.match_at(piece + 1, s, at + k))
    }

    fn is_match(&self, s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        if self.anchored_start {
            self.match_at(0, &chars, 0)
        } else {
            (0..=chars.len()).any(|at| self.match_at(0, &chars, at))
        }
    }

    /// A short string the pattern accepts.
    fn generate(&self) -> String {
        self.pieces
            .iter()
            .flat_map(|p| std::iter::repeat_n(p.atom.sample(), p.min))
            .collect()
    }
}
