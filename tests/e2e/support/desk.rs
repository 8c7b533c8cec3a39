//! The desk under test: an archive of drafts written by the real pipeline (the fake LLM
//! inventing figures and names), the `rewriter desk` binary serving it with one editor
//! account, and a plain HTTP visitor that keeps its own cookie and CSRF token.

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

use rewriter::job::Job;
use rewriter::pipeline::Pipeline;
use serde_json::{Value, json};

use super::TestEnv;
use super::browser::free_port;

pub const EDITOR: &str = "ana";
pub const PASSWORD: &str = "correct-horse-battery-staple";

/// A headline from the Bloomberg feed with the given title.
pub fn headline(id: &str, title: &str) -> Value {
    json!({
        "externalId": id,
        "title": title,
        "description": "A measure of miners' revenue dropped to a record low as operators unplugged 40% of their machines.",
        "url": "https://example.com/story",
        "publishedAt": "2026-02-05T17:45:43.000Z",
        "lang": "en",
        "source": {"name": "Bloomberg (Crypto)", "key": "bloomberg_crypto_"}
    })
}

/// The claims the fake LLM's overview invents.
pub const CLAIMS: [&str; 3] = ["$5 billion", "March 3", "Jane Doe"];

/// Makes the fake LLM invent figures and names, and drafts flagged at once.
pub fn inventing(env: &mut TestEnv) {
    env.set("REWRITER_FAITHFULNESS", "flag");
    env.llm.set_answer(
        "overview",
        json!({"overview": "Revenue of the mining sector fell to a record low, wiping out $5 billion since March 3, according to Jane Doe, an analyst. Miners unplugged machines."}),
    );
}

/// Writes one article from `headline` through the real pipeline.
pub async fn write(env: &TestEnv, headline: &Value) {
    let job = Job::from_value(json!({ "headline": headline })).unwrap();
    Pipeline::build(&env.settings(), Default::default())
        .await
        .unwrap()
        .rewrite(&job)
        .await
        .unwrap();
}

/// A running `rewriter desk`; killed on drop.
pub struct Desk {
    pub base: String,
    pub log: PathBuf,
    child: Child,
}

impl Desk {
    /// Adds the editor account, then starts the desk and waits until it answers.
    pub async fn start(env: &TestEnv) -> Self {
        let users = env.out().join("desk-users");
        let added = env
            .command(&["desk", "add-user", EDITOR])
            .env("REWRITER_DESK_USERS", &users)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map(|mut c| {
                use std::io::Write;
                c.stdin
                    .take()
                    .unwrap()
                    .write_all(format!("{PASSWORD}\n").as_bytes())
                    .unwrap();
                c.wait_with_output().unwrap()
            })
            .unwrap();
        assert!(added.status.success(), "{added:?}");
        let port = free_port();
        let log = env.out().join("desk.log");
        let mut child = env
            .command(&["desk"])
            .env("REWRITER_DESK_USERS", &users)
            .env("REWRITER_DESK_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "debug")
            .stdout(std::fs::File::create(env.out().join("desk.out")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client.get(format!("{base}/login")).send().await.is_ok() {
                return Self { base, log, child };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "the desk did not answer: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// What the desk logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Desk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser-less visitor: its own session cookie and the CSRF token of the last form seen.
pub struct Visitor {
    http: reqwest::Client,
    base: String,
    pub cookie: Option<String>,
    pub csrf: String,
}

/// An answer: status, `Location`, body.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Visitor {
    pub fn new(desk: &Desk) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: desk.base.clone(),
            cookie: None,
            csrf: String::new(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let request = match &self.cookie {
            Some(c) => request.header("cookie", format!("desk_session={c}")),
            None => request,
        };
        let response = request.send().await.unwrap();
        let headers = response.headers().clone();
        if let Some(set) = headers.get("set-cookie").and_then(|v| v.to_str().ok())
            && let Some(value) = set
                .split(';')
                .next()
                .and_then(|kv| kv.strip_prefix("desk_session="))
        {
            self.cookie = Some(value.to_owned()).filter(|v| !v.is_empty());
        }
        let status = response.status().as_u16();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.text().await.unwrap();
        if let Some(token) = body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        {
            self.csrf = token.to_owned();
        }
        Answer {
            status,
            location,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// POSTs a form (fields percent-encoded).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"));
        self.send(request).await
    }

    /// Opens the login form and signs in; the answer to the POST.
    pub async fn sign_in(&mut self, user: &str, password: &str) -> Answer {
        self.get("/login").await;
        let csrf = self.csrf.clone();
        let answer = self
            .post(
                "/login",
                &[("user", user), ("password", password), ("csrf", &csrf)],
            )
            .await;
        if answer.status == 303 {
            // The token belongs to the new session: fetch a page that carries it.
            self.get("/drafts").await;
        }
        answer
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
