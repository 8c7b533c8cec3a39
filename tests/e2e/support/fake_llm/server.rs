//! The fake's HTTP side: an axum router served by hyper, one task per connection.
//!
//! The accept loop is written here rather than left to `axum::serve` for two faults that
//! act on the connection, not on a response: [`Fault::Drop`] and [`Away::Hanging`] close the
//! connection a request came on without answering it (each connection has a [`HangUp`]
//! token its requests carry), and [`Away::Refusing`] drops every connection at once
//! (aborting the loop drops the [`JoinSet`] that owns them; `axum::serve` detaches its
//! connection tasks, so they would outlive it).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, Request, State as Shared};
use axum::http::{Method, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use super::chat::{error_response, handle_chat, json_response};
use super::{Away, InFlight, State, lock};

/// The largest request body read.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Closes the connection a request came on, without answering it.
#[derive(Clone)]
struct HangUp(CancellationToken);

impl HangUp {
    /// Closes the connection; the handler calling this is dropped with it.
    async fn now(&self) -> Response {
        self.0.cancel();
        std::future::pending().await
    }
}

/// Accepts connections until aborted; aborting it closes every connection it accepted.
pub(super) async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    let app = router(Arc::clone(&state));
    let mut connections = JoinSet::new();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                state.connections.fetch_add(1, Ordering::SeqCst);
                connections.spawn(serve_connection(stream, app.clone()));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
        while connections.try_join_next().is_some() {}
    }
}

/// HTTP/1.1 with keep-alive on one connection, until the client closes it or a handler
/// hangs up.
async fn serve_connection(stream: TcpStream, app: Router) {
    let _ = stream.set_nodelay(true);
    let hang_up = HangUp(CancellationToken::new());
    let service = {
        let hang_up = hang_up.clone();
        hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(hang_up.clone());
            app.clone().oneshot(request)
        })
    };
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        () = hang_up.0.cancelled() => {}
    }
}

/// Chat completions and the model list, with or without `/v1` and a trailing slash; 404
/// with OpenAI's error body for anything else; every route behind [`away`].
fn router(state: Arc<State>) -> Router {
    let mut router = Router::new();
    for path in ["/v1/chat/completions", "/chat/completions"] {
        router = router
            .route(path, post(chat))
            .route(&format!("{path}/"), post(chat));
    }
    for path in ["/v1/models", "/models"] {
        router = router
            .route(path, get(models))
            .route(&format!("{path}/"), get(models));
    }
    router
        .fallback(unknown)
        .method_not_allowed_fallback(unknown)
        .layer(middleware::from_fn_with_state(Arc::clone(&state), away))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// While the server is away, every route answers as [`Away`] says instead of itself.
async fn away(
    Shared(state): Shared<Arc<State>>,
    Extension(hang_up): Extension<HangUp>,
    request: Request,
    next: Next,
) -> Response {
    let away = *lock(&state.away);
    match away {
        None => next.run(request).await,
        // Refusing also answers 503 to what reaches it before the listener is gone.
        Some(Away::Unavailable | Away::Refusing) => error_response(
            503,
            "The server is overloaded or not ready yet.",
            "server_error",
            None,
        ),
        Some(Away::Hanging) => {
            // Read the request, answer nothing until the server is back, then hang up.
            let _ = axum::body::to_bytes(request.into_body(), MAX_BODY).await;
            while lock(&state.away).is_some() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            hang_up.now().await
        }
    }
}

async fn chat(
    Shared(state): Shared<Arc<State>>,
    Extension(hang_up): Extension<HangUp>,
    body: Bytes,
) -> Response {
    let _in_flight = InFlight::enter(&state);
    match handle_chat(&state, &body).await {
        Some(response) => response,
        None => hang_up.now().await,
    }
}

async fn models(Shared(state): Shared<Arc<State>>) -> Response {
    state.model_lists.fetch_add(1, Ordering::SeqCst);
    json_response(
        200,
        &serde_json::json!({"object": "list", "data": [
            {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "fake"}
        ]}),
    )
}

async fn unknown(method: Method, uri: Uri) -> Response {
    error_response(
        404,
        &format!("Unknown request URL: {method} {}", uri.path()),
        "invalid_request_error",
        Some("unknown_url"),
    )
}
