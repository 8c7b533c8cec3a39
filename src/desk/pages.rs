//! The desk's templates (`templates/desk/*.html`, compiled into the binary) and the security
//! headers every answer carries.
//!
//! minijinja escapes every value in a template whose name ends in `.html`; no template marks
//! anything `safe`, so headline and model text always print as text. This is not the prompts'
//! Handlebars registry, which is set not to escape.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

/// The desk's stylesheet, served at `/static/desk.css`.
pub const STYLESHEET: &str = include_str!("../../templates/desk/desk.css");

/// No scripts from anywhere, styles and images only from the desk, forms only to it, and no
/// framing: an injected `<script>` or `onerror=` would not run even if it were not escaped.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const TEMPLATES: [(&str, &str); 8] = [
    ("base.html", include_str!("../../templates/desk/base.html")),
    (
        "login.html",
        include_str!("../../templates/desk/login.html"),
    ),
    (
        "overview.html",
        include_str!("../../templates/desk/overview.html"),
    ),
    (
        "drafts.html",
        include_str!("../../templates/desk/drafts.html"),
    ),
    (
        "article.html",
        include_str!("../../templates/desk/article.html"),
    ),
    ("diff.html", include_str!("../../templates/desk/diff.html")),
    ("dead.html", include_str!("../../templates/desk/dead.html")),
    (
        "message.html",
        include_str!("../../templates/desk/message.html"),
    ),
];

/// The templates, loaded once.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        if let Err(e) = env.add_template(name, source) {
            // A broken template is a build defect that the tests catch; the page says so.
            tracing::error!(template = name, error = %e, "desk template does not compile");
        }
    }
    env
}

/// Renders `name` with `context` as an HTML answer with `status`.
pub fn render(
    env: &Environment<'static>,
    status: StatusCode,
    name: &str,
    context: impl Serialize,
) -> Response {
    match env.get_template(name).and_then(|t| t.render(context)) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "desk page could not be rendered");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

/// Adds the security headers to an answer.
pub async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
