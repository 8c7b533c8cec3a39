//! Sessions and CSRF tokens, held in memory (a restart signs everyone out).
//!
//! A session id is 32 random bytes in a `HttpOnly; SameSite=Strict` cookie; each session has
//! its own CSRF token, put in every form and compared on every POST. The login form has a
//! session too (signed out), so that it carries a token; signing in replaces it with a new id,
//! so an id planted before login is worth nothing after.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

use super::accounts::random_token;

/// The cookie's name.
pub const COOKIE_NAME: &str = "desk_session";

/// A session unused for this long is forgotten.
const IDLE: Duration = Duration::from_secs(12 * 3600);

/// Most sessions kept: the oldest go first (bounds what anonymous login pages can allocate).
const MAX_SESSIONS: usize = 10_000;

/// One browser's session.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    /// `None` before sign-in.
    pub user: Option<String>,
    pub csrf: String,
    last_seen: Instant,
}

/// Every live session.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// A new session, signed in as `user` or not.
    pub fn create(&self, user: Option<String>) -> Session {
        let session = Session {
            id: random_token(32),
            user,
            csrf: random_token(32),
            last_seen: Instant::now(),
        };
        let mut map = self.lock();
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| s.last_seen.elapsed() < IDLE);
            if map.len() >= MAX_SESSIONS
                && let Some(oldest) = map
                    .values()
                    .min_by_key(|s| s.last_seen)
                    .map(|s| s.id.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(session.id.clone(), session.clone());
        session
    }

    /// The session the request's cookie names, if it is live.
    pub fn get(&self, headers: &HeaderMap) -> Option<Session> {
        let id = cookie(headers)?;
        let mut map = self.lock();
        let session = map.get_mut(&id)?;
        if session.last_seen.elapsed() >= IDLE {
            map.remove(&id);
            return None;
        }
        session.last_seen = Instant::now();
        Some(session.clone())
    }

    /// Forgets a session (logout, or replaced at sign-in).
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the lock leaves the map itself intact.
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The `Set-Cookie` value that gives a browser session `id`.
pub fn set_cookie(id: &str) -> String {
    format!("{COOKIE_NAME}={id}; Path=/; HttpOnly; SameSite=Strict")
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The session id in the request's `Cookie` headers.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
}

/// Compares two tokens in time independent of where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
