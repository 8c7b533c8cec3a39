//! The desk's addresses and the pages they answer with; the state-changing POSTs are in
//! [`super::actions`].
//!
//! Pages answer 303 to `/login` when not signed in. Ids in paths are parsed as
//! [`ExternalId`]: anything else (`..%2f…`) is a 404 before the store is asked.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::Desk;
use super::actions;
use super::index::Filter;
use super::pages::{STYLESHEET, render, secure};
use super::session::{Session, set_cookie};
use super::view;
use crate::article::parse_frontmatter;
use crate::check::diff::{Line, diff};
use crate::job::{ExternalId, PromptVersion};
use crate::queue::{Broker, dead_letter_queue};

/// Drafts per page.
const PER_PAGE: usize = 50;

/// Most dead letters shown at once.
const DEAD_SHOWN: usize = 500;

/// Every address of the desk.
pub(crate) fn router(desk: Arc<Desk>) -> Router {
    Router::new()
        .route("/login", get(login_page).post(actions::login))
        .route("/logout", post(actions::logout))
        .route("/", get(overview))
        .route("/drafts", get(drafts))
        .route("/articles/{id}", get(article))
        .route("/articles/{id}/diff", get(diff_page))
        .route("/articles/{id}/approve", post(actions::approve))
        .route("/articles/{id}/reject", post(actions::reject))
        .route("/articles/{id}/promote", post(actions::promote))
        .route("/articles/{id}/requeue", post(actions::requeue))
        .route("/dead", get(dead))
        .route("/dead/requeue", post(actions::requeue_dead))
        .route("/static/desk.css", get(stylesheet))
        .fallback(not_found)
        .layer(axum::middleware::map_response(secure))
        .with_state(desk)
}

/// The signed-in editor's session: a page that takes it sends anyone else to sign in (303 to
/// `/login`).
pub(crate) struct Editor(Session);

impl FromRequestParts<Arc<Desk>> for Editor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, desk: &Arc<Desk>) -> Result<Self, Response> {
        match desk.sessions.get(&parts.headers) {
            Some(s) if s.user.is_some() => Ok(Editor(s)),
            _ => Err(Redirect::to("/login").into_response()),
        }
    }
}

/// [`Editor`] on the article the path names: the sign-in check comes first, then an id that is
/// not an [`ExternalId`] is a 404.
pub(crate) struct EditorOn {
    session: Session,
    id: ExternalId,
}

impl FromRequestParts<Arc<Desk>> for EditorOn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, desk: &Arc<Desk>) -> Result<Self, Response> {
        let Path(raw) = Path::<String>::from_request_parts(parts, desk)
            .await
            .map_err(IntoResponse::into_response)?;
        let Editor(session) = Editor::from_request_parts(parts, desk).await?;
        Ok(EditorOn {
            session,
            id: parse_id(&raw)?,
        })
    }
}

/// An id from a path, or a 404.
#[allow(clippy::result_large_err)]
pub(crate) fn parse_id(raw: &str) -> Result<ExternalId, Response> {
    ExternalId::parse(raw).map_err(|_| not_found_response())
}

fn not_found_response() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

async fn not_found() -> Response {
    not_found_response()
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// The sign-in form. A browser without a session gets a signed-out one, so the form has a
/// CSRF token to carry.
async fn login_page(State(desk): State<Arc<Desk>>, headers: HeaderMap) -> Response {
    if let Some(s) = desk.sessions.get(&headers).filter(|s| s.user.is_some()) {
        drop(s);
        return Redirect::to("/").into_response();
    }
    login_form(&desk, &headers, StatusCode::OK, None)
}

/// The sign-in form with an optional error, keeping or creating the signed-out session.
pub(crate) fn login_form(
    desk: &Desk,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let (session, fresh) = match desk.sessions.get(headers) {
        Some(s) => (s, false),
        None => (desk.sessions.create(None), true),
    };
    let mut response = render(
        &desk.templates,
        status,
        "login.html",
        context! { csrf => session.csrf, error => error },
    );
    if fresh && let Ok(v) = set_cookie(&session.id).parse() {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// The overview: counts per day and prompt version, draft reasons, dead letters, cost.
async fn overview(State(desk): State<Arc<Desk>>, Editor(session): Editor) -> Response {
    let (summary, total) = {
        let index = desk.index.read().await;
        (index.summary(), index.len())
    };
    let days: Vec<_> = summary
        .days
        .iter()
        .rev()
        .take(14)
        .rev()
        .map(|(d, c)| (d.clone(), *c))
        .collect();
    let bars = view::bars(&days);
    let width = bars.last().map_or(100, |b| b.x + 60);
    let versions: Vec<_> = summary
        .versions
        .iter()
        .map(|(v, c)| context! { version => v, published => c.published, drafts => c.drafts })
        .collect();
    let reasons: Vec<_> = summary
        .reasons
        .iter()
        .map(|(r, n)| context! { reason => r, count => n })
        .collect();
    let (dead, dead_error) = match dead_count(&desk).await {
        Ok(n) => (Some(n), None),
        Err(e) => (None, Some(e)),
    };
    let cost = desk.cost.read().await.clone();
    render(
        &desk.templates,
        StatusCode::OK,
        "overview.html",
        context! {
            user => session.user, csrf => session.csrf, total => total,
            approved => summary.approved, bars => bars, chart_w => width,
            chart_h => view::CHART_H + 40, versions => versions, reasons => reasons,
            dead => dead, dead_error => dead_error, cost => cost,
        },
    )
}

/// Dead letters waiting, or why it is not known.
async fn dead_count(desk: &Desk) -> Result<u32, String> {
    let broker = Broker::connect_as(&desk.settings.amqp_url, "rewriter-desk")
        .await
        .map_err(|e| format!("the broker cannot be reached: {e}"))?;
    let depth = match crate::queue::Publisher::open(&broker, &desk.settings.queue).await {
        Ok(p) => {
            let d = p
                .depth(&dead_letter_queue(&desk.settings.queue))
                .await
                .map_err(|e| e.to_string());
            p.close().await;
            d
        }
        Err(e) => Err(e.to_string()),
    };
    broker.close().await;
    depth
}

/// One prompt version's row of the cost table.
#[derive(Debug, Clone, Serialize)]
struct CostRow {
    version: u32,
    articles: u64,
    prompt_tokens: u64,
    completion_tokens: u64,
    recorded_usd: String,
    at_current_prices: String,
}

/// The cost table and when it was counted.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CostTable {
    rows: Vec<CostRow>,
    counted_at: String,
}

/// Tokens and cost per prompt version over every stored version, as `rewriter cost` counts
/// them (read from the version files, so counted in the background, not per request).
pub(crate) async fn cost_table(desk: &Desk) -> CostTable {
    CostTable {
        rows: cost_rows(desk).await,
        counted_at: crate::article::timestamp(chrono::Utc::now()),
    }
}

async fn cost_rows(desk: &Desk) -> Vec<CostRow> {
    let mut report = crate::cost::Report::default();
    let prices = &desk.settings.llm.prices;
    let Ok(ids) = desk.store.versioned_ids().await else {
        return Vec::new();
    };
    for id in ids {
        for version in desk.store.versions(&id).await.unwrap_or_default() {
            let Ok(text) = desk.store.read_version(&id, version).await else {
                continue;
            };
            if let Ok(fm) = parse_frontmatter(&text) {
                report.add(
                    prices,
                    crate::cost::Row {
                        version: version.get(),
                        model: &fm.ai.model,
                        prompt_tokens: fm.ai.prompt_tokens,
                        completion_tokens: fm.ai.completion_tokens,
                        recorded_usd: fm.ai.cost_usd,
                    },
                );
            }
        }
    }
    report
        .versions()
        .map(|(v, t)| CostRow {
            version: v,
            articles: t.articles,
            prompt_tokens: t.prompt_tokens,
            completion_tokens: t.completion_tokens,
            recorded_usd: format!("${:.4}", t.recorded_usd),
            at_current_prices: t
                .at_current_prices_usd
                .map_or_else(|| "not priced".to_owned(), |u| format!("${u:.4}")),
        })
        .collect()
}

/// The drafts list, filtered, newest first, a page at a time.
async fn drafts(
    State(desk): State<Arc<Desk>>,
    Query(filter): Query<Filter>,
    Editor(session): Editor,
) -> Response {
    let (rows, total, choices) = {
        let index = desk.index.read().await;
        let (rows, total) = index.drafts(&filter, PER_PAGE);
        (rows, total, index.choices())
    };
    let rows: Vec<_> = rows
        .into_iter()
        .map(|e| {
            let mut kinds: Vec<&str> = e.flags.iter().map(|f| view::reason_kind(f)).collect();
            kinds.sort_unstable();
            kinds.dedup();
            context! { entry => e, kinds => kinds }
        })
        .collect();
    let pages = total.div_ceil(PER_PAGE);
    let query = |page: usize| {
        let mut f = filter.clone();
        f.page = page;
        serde_urlencoded_query(&f)
    };
    render(
        &desk.templates,
        StatusCode::OK,
        "drafts.html",
        context! {
            user => session.user, csrf => session.csrf, rows => rows, total => total,
            filter => &filter, page => filter.page + 1, pages => pages,
            prev => (filter.page > 0).then(|| query(filter.page - 1)),
            next => (filter.page + 1 < pages).then(|| query(filter.page + 1)),
            reasons => choices.reasons.keys().collect::<Vec<_>>(),
            versions => choices.versions.keys().collect::<Vec<_>>(),
            sources => choices.sources.keys().collect::<Vec<_>>(),
            langs => choices.langs.keys().collect::<Vec<_>>(),
        },
    )
}

/// A filter as a query string (the template escapes it again for the attribute).
fn serde_urlencoded_query(f: &Filter) -> String {
    let pairs = [
        ("reason", f.reason.as_str()),
        ("version", f.version.as_str()),
        ("source", f.source.as_str()),
        ("lang", f.lang.as_str()),
        ("date", f.date.as_str()),
        ("status", f.status.as_str()),
    ];
    let mut out: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect();
    out.push(format!("page={}", f.page));
    out.join("&")
}

/// Percent-encodes everything but unreserved characters.
fn percent(s: &str) -> String {
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

/// An article as a reader sees it, beside its source headline, with claims, flags, versions
/// and the actions.
async fn article(State(desk): State<Arc<Desk>>, EditorOn { session, id }: EditorOn) -> Response {
    let Ok(Some(text)) = desk.store.read_published(&id).await else {
        return not_found_response();
    };
    let Ok(fm) = parse_frontmatter(&text) else {
        return message(
            &desk,
            &session,
            "This article's frontmatter cannot be read.",
        );
    };
    let body = crate::check::contract::split_frontmatter(&text)
        .map(|(_, b)| b)
        .unwrap_or("");
    let claims = &fm.ai.unsupported_claims;
    let source: Option<serde_json::Value> = desk
        .store
        .read_source(&id)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let source = source.map(|s| {
        context! {
            title => view::runs(s["title"].as_str().unwrap_or(""), &[]),
            description => s["description"].as_str(),
            url => s["url"].as_str().filter(|u| u.starts_with("https://") || u.starts_with("http://")),
            name => s["source"]["name"].as_str(),
            published_at => s["publishedAt"].as_str(),
        }
    });
    let versions: Vec<u32> = desk
        .store
        .versions(&id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(PromptVersion::get)
        .collect();
    let history = super::decision::history(&desk.store, &id)
        .await
        .unwrap_or_default();
    let diff_pair = match versions[..] {
        [.., a, b] => Some((a, b)),
        _ => None,
    };
    render(
        &desk.templates,
        StatusCode::OK,
        "article.html",
        context! {
            user => session.user, csrf => session.csrf, id => id.to_string(),
            title => fm.title, description => view::runs(&fm.description, claims),
            sections => view::sections(body, claims), flags => view::flags(&fm.ai.flags),
            claims => claims, draft => fm.draft, lang => fm.lang,
            source_name => fm.source.name, published_at => fm.published_at,
            updated_at => fm.updated_at, version => fm.ai.version, model => fm.ai.model,
            prompt_tokens => fm.ai.prompt_tokens, completion_tokens => fm.ai.completion_tokens,
            cost => fm.ai.cost_usd.map(|c| format!("${c:.6}")),
            approved => fm.ai.approved.map(|a| context! { by => a.by, at => a.at }),
            source => source, versions => versions, history => history, diff_pair => diff_pair,
        },
    )
}

/// A short page with one message and a way back.
pub(crate) fn message(desk: &Desk, session: &Session, text: &str) -> Response {
    render(
        &desk.templates,
        StatusCode::OK,
        "message.html",
        context! { user => session.user, csrf => session.csrf, message => text },
    )
}

#[derive(Debug, Deserialize)]
struct DiffQuery {
    a: Option<String>,
    b: Option<String>,
}

/// Two versions side by side, section by section.
async fn diff_page(
    State(desk): State<Arc<Desk>>,
    Query(q): Query<DiffQuery>,
    EditorOn { session, id }: EditorOn,
) -> Response {
    let versions = desk.store.versions(&id).await.unwrap_or_default();
    let pick = |s: Option<&String>| s.and_then(|v| PromptVersion::parse(v).ok());
    let (a, b) = match (pick(q.a.as_ref()), pick(q.b.as_ref())) {
        (Some(a), Some(b)) => (a, b),
        _ => match versions[..] {
            [.., a, b] => (a, b),
            _ => return message(&desk, &session, "This article has fewer than two versions."),
        },
    };
    let (Ok(old), Ok(new)) = (
        desk.store.read_version(&id, a).await,
        desk.store.read_version(&id, b).await,
    ) else {
        return not_found_response();
    };
    let d = diff(&old, &new);
    let keys: Vec<_> = d
        .frontmatter
        .iter()
        .map(|k| context! { key => k.key, old => k.old, new => k.new })
        .collect();
    let sections: Vec<_> = d
        .sections
        .iter()
        .map(|s| {
            let rows = side_by_side(&s.lines);
            context! {
                old_heading => s.old_heading, new_heading => s.new_heading,
                unchanged => s.is_unchanged(), rows => rows,
            }
        })
        .collect();
    render(
        &desk.templates,
        StatusCode::OK,
        "diff.html",
        context! {
            user => session.user, csrf => session.csrf, id => id.to_string(),
            a => a.get(), b => b.get(), keys => keys, sections => sections,
            versions => versions.iter().map(|v| v.get()).collect::<Vec<_>>(),
        },
    )
}

/// A line diff as rows of (old, new): unchanged lines on both sides, a run of removed lines
/// beside the run of added lines that replaced it.
fn side_by_side(lines: &[Line]) -> Vec<minijinja::Value> {
    let mut rows = Vec::new();
    let (mut removed, mut added): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    let flush = |rows: &mut Vec<minijinja::Value>,
                 removed: &mut Vec<&str>,
                 added: &mut Vec<&str>| {
        for i in 0..removed.len().max(added.len()) {
            rows.push(context! { kind => "changed", old => removed.get(i), new => added.get(i) });
        }
        removed.clear();
        added.clear();
    };
    for line in lines {
        match line {
            Line::Removed(t) => removed.push(t),
            Line::Added(t) => added.push(t),
            Line::Same(t) => {
                flush(&mut rows, &mut removed, &mut added);
                rows.push(context! { kind => "same", old => t, new => t });
            }
        }
    }
    flush(&mut rows, &mut removed, &mut added);
    rows
}

/// The dead-lettered jobs with their reasons (looked at, then returned to the queue).
async fn dead(State(desk): State<Arc<Desk>>, Editor(session): Editor) -> Response {
    let letters = match dead_letters(&desk).await {
        Ok(l) => l,
        Err(e) => return message(&desk, &session, &e),
    };
    render(
        &desk.templates,
        StatusCode::OK,
        "dead.html",
        context! {
            user => session.user, csrf => session.csrf, letters => letters,
            queue => dead_letter_queue(&desk.settings.queue),
        },
    )
}

/// Up to [`DEAD_SHOWN`] dead letters as (externalId, reason, attempts).
async fn dead_letters(desk: &Desk) -> Result<Vec<minijinja::Value>, String> {
    let broker = Broker::connect_as(&desk.settings.amqp_url, "rewriter-desk")
        .await
        .map_err(|e| format!("The broker cannot be reached: {e}"))?;
    let batch = broker
        .dead_letters(&desk.settings.queue, DEAD_SHOWN)
        .await
        .map_err(|e| format!("The dead-letter queue cannot be read: {e}"));
    let rows = batch.as_ref().map_err(Clone::clone).map(|b| {
        b.letters
            .iter()
            .map(|l| {
                context! {
                    id => l.external_id(), reason => l.reason(), attempts => l.attempts(),
                }
            })
            .collect()
    });
    if let Ok(b) = batch {
        b.release().await;
    }
    broker.close().await;
    rows
}
