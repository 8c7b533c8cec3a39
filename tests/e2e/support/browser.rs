//! A real browser for the desk's tests: headless Chromium driven by `chromedriver` over the W3C
//! WebDriver protocol, spoken directly with reqwest (the handful of commands the tests need:
//! navigate, find, type, click, read text, run a check script, take a screenshot).
//!
//! Needs `chromedriver` and `chromium-headless-shell` (Debian's `chromium-driver` and
//! `chromium-headless-shell`, installed by `.ci/run`).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use super::free_port;

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A running chromedriver with one browser session; both end on drop.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub async fn start() -> Self {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (apt-get install chromium-driver chromium-headless-shell)");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let mut ready = false;
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not answer on {base}");
        let mut browser = Self {
            driver,
            base,
            session: String::new(),
            http,
        };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                // The real binary: Debian's /usr/bin wrapper is a shell that does not exec,
                // so ending the session would stop the shell and leave the browser running.
                "binary": "/usr/lib/chromium/chromium-headless-shell",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000",
                         "--disable-dev-shm-usage"]
            }
        }}});
        let answer = browser.call("POST", "/session", Some(caps)).await;
        browser.session = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_owned();
        browser
    }

    /// One WebDriver command; its `value`, panicking on a WebDriver error.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.http.get(&url),
            "DELETE" => self.http.delete(&url),
            _ => self
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&body.unwrap_or(json!({}))).unwrap()),
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        let bytes = response.bytes().await.unwrap();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert!(
            status.is_success(),
            "WebDriver {method} {path}: {status} {value}"
        );
        value["value"].clone()
    }

    fn at(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub async fn goto(&self, url: &str) {
        self.call("POST", &self.at("/url"), Some(json!({ "url": url })))
            .await;
    }

    pub async fn url(&self) -> String {
        self.call("GET", &self.at("/url"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The element `css` selects (the first), panicking when there is none.
    pub async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                "POST",
                &self.at("/element"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{css}: {v}"))
            .to_owned()
    }

    /// How many elements `css` selects.
    pub async fn count(&self, css: &str) -> usize {
        self.call(
            "POST",
            &self.at("/elements"),
            Some(json!({"using": "css selector", "value": css})),
        )
        .await
        .as_array()
        .map_or(0, Vec::len)
    }

    /// The texts of every element `css` selects.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let found = self
            .call(
                "POST",
                &self.at("/elements"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        let mut out = Vec::new();
        for e in found.as_array().cloned().unwrap_or_default() {
            let id = e[ELEMENT].as_str().unwrap().to_owned();
            out.push(self.text_of(&id).await);
        }
        out
    }

    pub async fn text_of(&self, element: &str) -> String {
        self.call("GET", &self.at(&format!("/element/{element}/text")), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.text_of(&e).await
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(
            "POST",
            &self.at(&format!("/element/{e}/value")),
            Some(json!({ "text": text })),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call(
            "POST",
            &self.at(&format!("/element/{e}/click")),
            Some(json!({})),
        )
        .await;
    }

    /// Picks the option with `value` in the `<select>` that `css` selects.
    pub async fn select(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]"))
            .await;
    }

    /// Runs a check in the page (WebDriver's own channel: the page's CSP does not apply).
    pub async fn eval(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.at("/execute/sync"),
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// The page as rendered, as PNG bytes.
    pub async fn screenshot(&self) -> Vec<u8> {
        let b64 = self.call("GET", &self.at("/screenshot"), None).await;
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap()
    }

    /// Waits until `css` selects something (a form's answer has loaded), or panics after 10 s.
    pub async fn wait_for(&self, css: &str) {
        for _ in 0..100 {
            if self.count(css).await > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never appeared on {}", self.url().await);
    }

    /// Signs in through the login form and waits for the first page.
    pub async fn sign_in(&self, base: &str, user: &str, password: &str) {
        self.goto(&format!("{base}/login")).await;
        self.type_into("input[name=user]", user).await;
        self.type_into("input[name=password]", password).await;
        self.click("form.login button[type=submit]").await;
        self.wait_for("form.logout").await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session closes the browser; killing chromedriver alone would leave it
        // running. Drop cannot await, so this is one plain blocking HTTP request.
        if !self.session.is_empty()
            && let Some(addr) = self.base.strip_prefix("http://")
            && let Ok(mut stream) = std::net::TcpStream::connect(addr)
        {
            use std::io::{Read, Write};
            // chromedriver keeps the connection open after its answer: read only that.
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let request = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session
            );
            if stream.write_all(request.as_bytes()).is_ok() {
                let _ = stream.read(&mut [0u8; 1024]);
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
