//! The fake's HTTP side: an axum router served by hyper, one task per connection.
//!
//! The accept loop and the connection tasks are written here rather than left to
//! `axum::serve` for the faults that act on connections, not on answers:
//! [`Fault::Drop`](super::Fault::Drop) and [`Away::Hanging`] close the connection a request
//! came on without answering it (the handler answers [`HangUp`], and the connection task
//! drops the connection instead of sending it), and [`Away::Refusing`] drops every
//! connection at once (aborting the loop drops the [`JoinSet`] that owns them;
//! `axum::serve` detaches its connection tasks, so they would outlive it).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as Shared};
use axum::http::{Method, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use super::chat::{error_response, handle_chat, json_response};
use super::{Away, InFlight, State, lock};

/// The largest request body read.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Marks an answer that is never sent: the connection it would go on is closed instead.
#[derive(Clone, Copy)]
struct HangUp;

/// The answer that closes the connection.
fn hang_up() -> Response {
    let mut response = Response::default();
    response.extensions_mut().insert(HangUp);
    response
}

/// Accepts connections until aborted; aborting it closes every connection it accepted.
pub(super) async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    let app = router(Arc::clone(&state));
    let mut connections = JoinSet::new();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                state.connections.fetch_add(1, Ordering::SeqCst);
                connections.spawn(serve_connection(stream, app.clone(), Arc::clone(&state)));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
        while connections.try_join_next().is_some() {}
    }
}

/// HTTP/1.1 with keep-alive on one connection, until the client closes it or an answer is
/// [`HangUp`]. While the server is away, every request gets [`away`] instead of the router.
async fn serve_connection(stream: TcpStream, app: Router, state: Arc<State>) {
    let _ = stream.set_nodelay(true);
    let closing = CancellationToken::new();
    let service = {
        let closing = closing.clone();
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let (app, state, closing) = (app.clone(), Arc::clone(&state), closing.clone());
            async move {
                let away = *lock(&state.away);
                let response = match away {
                    None => app.oneshot(request).await?,
                    Some(how) => self::away(how, &state, request).await,
                };
                if response.extensions().get::<HangUp>().is_some() {
                    closing.cancel();
                    std::future::pending::<()>().await;
                }
                Ok::<_, Infallible>(response)
            }
        })
    };
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        () = closing.cancelled() => {}
    }
}

/// Chat completions and the model list, with or without `/v1` and a trailing slash; 404
/// with OpenAI's error body for anything else.
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
        .with_state(state)
}

/// The answer to any request while the server is away.
async fn away(how: Away, state: &State, request: Request<Incoming>) -> Response {
    match how {
        // Refusing also answers what reaches it before the listener is gone.
        Away::Unavailable | Away::Refusing => error_response(
            503,
            "The server is overloaded or not ready yet.",
            "server_error",
            None,
        ),
        Away::Hanging => {
            // Read the request, answer nothing until the server is back, then hang up.
            let _ = axum::body::to_bytes(Body::new(request.into_body()), MAX_BODY).await;
            while lock(&state.away).is_some() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            hang_up()
        }
    }
}

async fn chat(Shared(state): Shared<Arc<State>>, body: Body) -> Response {
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(e) => {
            return error_response(
                400,
                &format!("malformed HTTP request: {e}"),
                "invalid_request_error",
                None,
            );
        }
    };
    let _in_flight = InFlight::enter(&state);
    handle_chat(&state, &body).await.unwrap_or_else(hang_up)
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
