//! A fake OpenAI-compatible LLM for the end-to-end tests (and the benchmark): a real HTTP/1.1
//! server on `127.0.0.1:0` (axum over hyper, [`server`]) that answers
//! `POST /v1/chat/completions` (and `/chat/completions`) in the OpenAI wire format
//! ([`chat`]) with deterministic content generated to validate against the request's
//! `response_format.json_schema.schema` ([`generator`], [`pools`], [`mini_regex`]). Tests can
//! add latency, queue or randomise faults (HTTP errors, dropped connections, hangs, malformed
//! content), override answers per schema name and read back what the client sent.
//! `GET /v1/models` lists one model (what a client probes to learn whether the server
//! answers). Every other route answers 404 with an OpenAI error body. For outage tests the
//! whole server can go away ([`Away`]) and come back on the same port.
//!
//! This module owns the handle tests hold ([`FakeLlm`]), the faults they can ask for and the
//! state the server shares with it.
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

mod chat;
mod generator;
mod mini_regex;
mod pools;
mod server;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use server::accept_loop;

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

/// The figures [`FakeLlm::invent_claims_when`] adds to an overview.
pub const INVENTED_CLAIM: &str = "Analysts expect a 37 percent rise by 2031.";

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

/// The seed [`FakeLlm::set_fault_rate`] restarts its generator from: the same faults each run.
const FAULT_SEED: u64 = 0x5EED_FA17;

/// Faults drawn at random once the queue of faults is empty.
struct RandomFaults {
    rate: f64,
    faults: Vec<Fault>,
    rng: fastrand::Rng,
}

/// What the server and the handle share: the knobs tests turn and the counts they read.
struct State {
    requests: AtomicUsize,
    connections: AtomicUsize,
    in_flight: AtomicUsize,
    max_concurrent: AtomicUsize,
    next_id: AtomicU64,
    received: Mutex<Vec<Value>>,
    keep_bodies: AtomicBool,
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
            keep_bodies: AtomicBool::new(true),
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
