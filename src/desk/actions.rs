//! The desk's state-changing requests, all POSTs with a CSRF token: sign-in and sign-out,
//! approve, reject, promote, re-queue, and requeue of a dead letter.
//!
//! Without a signed-in session an action answers 401; with one but a missing or wrong token,
//! 403; either way nothing is changed. Passwords are never logged; failed sign-ins are, by name.

use std::sync::Arc;

use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

use super::Desk;
use super::accounts::Accounts;
use super::decision::{self, Action, DecisionError, Kind};
use super::routes::{login_form, message, parse_id};
use super::session::{Session, clear_cookie, same_token, set_cookie};
use crate::article::timestamp;
use crate::job::{ExternalId, Headline, Job, PromptVersion};
use crate::queue::{Broker, Publisher};

/// Every form's fields; each action reads the ones it needs. All optional, so that a request
/// without the token is refused by the check, not by the form parser.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ActionForm {
    csrf: String,
    version: String,
    reason: String,
    id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct LoginForm {
    user: String,
    password: String,
    csrf: String,
}

/// The signed-in session whose token the form carries, or 401/403.
#[allow(clippy::result_large_err)]
fn authorised(desk: &Desk, headers: &HeaderMap, csrf: &str) -> Result<(Session, String), Response> {
    let Some(session) = desk.sessions.get(headers) else {
        return Err((StatusCode::UNAUTHORIZED, "sign in first").into_response());
    };
    let Some(user) = session.user.clone() else {
        return Err((StatusCode::UNAUTHORIZED, "sign in first").into_response());
    };
    if !same_token(&session.csrf, csrf) {
        return Err((
            StatusCode::FORBIDDEN,
            "this form is stale or not from the desk: reload the page and try again",
        )
            .into_response());
    }
    Ok((session, user))
}

/// An action's form, sent by a signed-in editor with the session's token: [`authorised`]
/// once the form is read.
pub(crate) struct Authorised {
    session: Session,
    user: String,
    form: ActionForm,
}

impl FromRequest<Arc<Desk>> for Authorised {
    type Rejection = Response;

    async fn from_request(request: Request, desk: &Arc<Desk>) -> Result<Self, Response> {
        let headers = request.headers().clone();
        let Form(form) = Form::<ActionForm>::from_request(request, desk)
            .await
            .map_err(IntoResponse::into_response)?;
        let (session, user) = authorised(desk, &headers, &form.csrf)?;
        Ok(Authorised {
            session,
            user,
            form,
        })
    }
}

/// [`Authorised`] on the article the path names: an action on an article answers 401 or 403
/// before it says whether the article could exist (404).
pub(crate) struct AuthorisedOn {
    session: Session,
    user: String,
    form: ActionForm,
    id: ExternalId,
}

impl FromRequest<Arc<Desk>> for AuthorisedOn {
    type Rejection = Response;

    async fn from_request(request: Request, desk: &Arc<Desk>) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let Path(raw) = Path::<String>::from_request_parts(&mut parts, desk)
            .await
            .map_err(IntoResponse::into_response)?;
        let Authorised {
            session,
            user,
            form,
        } = Authorised::from_request(Request::from_parts(parts, body), desk).await?;
        Ok(AuthorisedOn {
            session,
            user,
            form,
            id: parse_id(&raw)?,
        })
    }
}

/// Signs in: the form's token must be the signed-out session's, the password the account's.
pub(crate) async fn login(
    State(desk): State<Arc<Desk>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let Some(session) = desk.sessions.get(&headers) else {
        return login_form(
            &desk,
            &headers,
            StatusCode::FORBIDDEN,
            Some("Your sign-in form expired; try again."),
        );
    };
    if !same_token(&session.csrf, &form.csrf) {
        return (StatusCode::FORBIDDEN, "this form is not from the desk").into_response();
    }
    let check = Arc::clone(&desk);
    let (user, password) = (form.user.trim().to_owned(), form.password);
    let name = user.clone();
    // The file is read again at each sign-in, so that `desk add-user` needs no restart; if it
    // became unreadable, the accounts read at start still hold.
    let ok = tokio::task::spawn_blocking(move || {
        let fresh = check
            .settings
            .desk_users
            .as_deref()
            .and_then(|path| Accounts::read(path).ok());
        fresh
            .as_ref()
            .unwrap_or(&check.accounts)
            .verify(&name, &password)
    })
    .await
    .unwrap_or(false);
    if !ok {
        tracing::warn!(user = %user, "desk sign-in refused: wrong name or password");
        return login_form(
            &desk,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some("Wrong name or password."),
        );
    }
    // A new id at sign-in: an id planted in the browser beforehand is worth nothing now.
    desk.sessions.remove(&session.id);
    let signed_in = desk.sessions.create(Some(user.clone()));
    tracing::info!(user = %user, "desk sign-in");
    let mut response = Redirect::to("/").into_response();
    if let Ok(v) = set_cookie(&signed_in.id).parse() {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// Signs out and forgets the session.
pub(crate) async fn logout(
    State(desk): State<Arc<Desk>>,
    Authorised { session, .. }: Authorised,
) -> Response {
    desk.sessions.remove(&session.id);
    let mut response = Redirect::to("/login").into_response();
    if let Ok(v) = clear_cookie().parse() {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// After an action on an article: refresh its index entry, then show the article again.
async fn done(desk: &Desk, id: &ExternalId) -> Response {
    match super::index::read_entry(&desk.store, id, true).await {
        Ok(entry) => desk.index.write().await.put(id, entry),
        Err(e) => tracing::warn!(%id, error = %e, "desk index could not re-read the article"),
    }
    Redirect::to(&format!("/articles/{id}")).into_response()
}

/// What a failed decision tells the editor.
fn failed(desk: &Desk, session: &Session, e: &DecisionError) -> Response {
    let mut r = message(desk, session, &format!("Nothing was changed: {e}"));
    *r.status_mut() = match e {
        DecisionError::Invalid(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::CONFLICT,
    };
    r
}

/// The version a form names, or a 400.
#[allow(clippy::result_large_err)]
fn form_version(desk: &Desk, session: &Session, raw: &str) -> Result<PromptVersion, Response> {
    PromptVersion::parse(raw.trim()).map_err(|e| {
        let mut r = message(desk, session, &format!("Nothing was changed: {e}"));
        *r.status_mut() = StatusCode::BAD_REQUEST;
        r
    })
}

/// Publishes a version with `draft: false` and `ai.approved`.
pub(crate) async fn approve(
    State(desk): State<Arc<Desk>>,
    on: AuthorisedOn,
) -> Result<Response, Response> {
    let version = match on.form.version.trim() {
        "" => None,
        _ => Some(form_version(&desk, &on.session, &on.form.version)?),
    };
    let v = decision::approve(&desk.store, &on.id, version, &on.user, Utc::now())
        .await
        .map_err(|e| failed(&desk, &on.session, &e))?;
    tracing::info!(id = %on.id, version = v.get(), by = %on.user, "desk: approved");
    Ok(done(&desk, &on.id).await)
}

/// Keeps an article unpublished, with a reason.
pub(crate) async fn reject(
    State(desk): State<Arc<Desk>>,
    on: AuthorisedOn,
) -> Result<Response, Response> {
    decision::reject(&desk.store, &on.id, &on.form.reason, &on.user, Utc::now())
        .await
        .map_err(|e| failed(&desk, &on.session, &e))?;
    tracing::info!(id = %on.id, by = %on.user, "desk: rejected");
    Ok(done(&desk, &on.id).await)
}

/// Publishes version N again as written (a rollback).
pub(crate) async fn promote(
    State(desk): State<Arc<Desk>>,
    on: AuthorisedOn,
) -> Result<Response, Response> {
    let version = form_version(&desk, &on.session, &on.form.version)?;
    decision::promote(&desk.store, &on.id, version, &on.user, Utc::now())
        .await
        .map_err(|e| failed(&desk, &on.session, &e))?;
    tracing::info!(id = %on.id, version = version.get(), by = %on.user, "desk: promoted");
    Ok(done(&desk, &on.id).await)
}

/// Enqueues the stored headline again for prompt version N, with `force`.
pub(crate) async fn requeue(
    State(desk): State<Arc<Desk>>,
    on: AuthorisedOn,
) -> Result<Response, Response> {
    let AuthorisedOn {
        session,
        user,
        form,
        id,
    } = on;
    let version = form_version(&desk, &session, &form.version)?;
    let headline = stored_headline(&desk, &id)
        .await
        .map_err(|e| message(&desk, &session, &e))?;
    let job = Job::new(headline, Some(version), true);
    publish(&desk, &job)
        .await
        .map_err(|e| message(&desk, &session, &format!("Nothing was enqueued: {e}")))?;
    let action = Action {
        action: Kind::Requeue,
        by: user.clone(),
        at: timestamp(Utc::now()),
        version: Some(version.get()),
        reason: None,
    };
    if let Err(e) = decision::record(&desk.store, &id, &action).await {
        tracing::warn!(%id, error = %e, "desk: re-queue not recorded");
    }
    tracing::info!(%id, version = version.get(), by = %user, "desk: re-queued");
    Ok(done(&desk, &id).await)
}

/// The stored source of `id` as a headline, or what the editor is told instead.
async fn stored_headline(desk: &Desk, id: &ExternalId) -> Result<Headline, String> {
    let headline = desk
        .store
        .read_source(id)
        .await
        .map_err(|e| e.to_string())
        .and_then(|bytes| {
            serde_json::from_slice(&bytes)
                .map_err(|e| e.to_string())
                .and_then(|v| Headline::from_value(v).map_err(|e| e.to_string()))
        })
        .map_err(|e| format!("No usable stored source: {e}"))?;
    if headline.external_id != *id {
        return Err("The stored source names another article.".to_owned());
    }
    Ok(headline)
}

/// One confirmed publish on the jobs queue.
async fn publish(desk: &Desk, job: &Job) -> Result<(), String> {
    let broker = Broker::connect_as(&desk.settings.amqp_url, "rewriter-desk")
        .await
        .map_err(|e| format!("the broker cannot be reached: {e}"))?;
    let result = match Publisher::open(&broker, &desk.settings.queue).await {
        Ok(p) => {
            let r = p
                .publish(&desk.settings.queue, &job.to_json(), Default::default())
                .await
                .map_err(|e| e.to_string());
            p.close().await;
            r
        }
        Err(e) => Err(e.to_string()),
    };
    broker.close().await;
    result
}

/// Sends the dead letters of one externalId back to the jobs queue, as `rewriter dead
/// requeue --id` does.
pub(crate) async fn requeue_dead(
    State(desk): State<Arc<Desk>>,
    Authorised {
        session,
        user,
        form,
    }: Authorised,
) -> Response {
    let wanted = form.id.trim().to_owned();
    let requeued = match requeue_letters(&desk, &wanted).await {
        Ok(n) => n,
        Err(e) => return message(&desk, &session, &format!("Nothing was requeued: {e}")),
    };
    tracing::info!(id = %wanted, requeued, by = %user, "desk: dead letters requeued");
    if let Ok(id) = ExternalId::parse(&wanted) {
        let action = Action {
            action: Kind::RequeueDead,
            by: user,
            at: timestamp(Utc::now()),
            version: None,
            reason: None,
        };
        if let Err(e) = decision::record(&desk.store, &id, &action).await {
            tracing::warn!(%id, error = %e, "desk: requeue not recorded");
        }
    }
    Redirect::to("/dead").into_response()
}

/// Requeues every dead letter whose job names `wanted`; returns how many.
async fn requeue_letters(desk: &Desk, wanted: &str) -> Result<usize, String> {
    let broker = Broker::connect_as(&desk.settings.amqp_url, "rewriter-desk")
        .await
        .map_err(|e| format!("the broker cannot be reached: {e}"))?;
    let batch = broker
        .dead_letters(&desk.settings.queue, 100_000)
        .await
        .map_err(|e| e.to_string());
    let result = match &batch {
        Ok(b) => {
            let mut n = 0;
            let mut error = None;
            for (i, letter) in b.letters.iter().enumerate() {
                if letter.external_id() == wanted {
                    match b.requeue(i).await {
                        Ok(()) => n += 1,
                        Err(e) => error = Some(e.to_string()),
                    }
                }
            }
            error.map_or(Ok(n), Err)
        }
        Err(e) => Err(e.clone()),
    };
    if let Ok(b) = batch {
        b.release().await;
    }
    broker.close().await;
    result
}
