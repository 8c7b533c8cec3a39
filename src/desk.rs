//! The editors' desk: a web application over the archive where editors see what the model
//! wrote, why it was held back, and decide (approve, reject, roll back, re-queue).
//!
//! axum serves server-rendered pages (minijinja templates from `templates/desk/`, which escape
//! every value: headline and model text are untrusted); there is no JavaScript at all, and the
//! Content-Security-Policy says so. Everything it shows or does goes through the library:
//! [`crate::store`] for the archive, [`crate::check::diff`], [`crate::cost`],
//! [`crate::queue`] for re-queues and dead letters, and [`decision`] for approvals and their
//! record. Lists read an in-memory [`index`] refreshed in the background. Accounts are
//! Argon2id hashes in a file ([`accounts`]); sessions and CSRF tokens in [`session`].

pub mod accounts;
mod actions;
pub mod decision;
mod index;
mod pages;
mod routes;
mod session;
mod view;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::RwLock;

use crate::config::Settings;
use crate::store::{ContentStore, StoreError};

use accounts::{AccountError, Accounts};
use index::Index;
use session::Sessions;

/// How often the index looks for articles written or changed by others (workers, the CLI).
const REFRESH: Duration = Duration::from_secs(5);

/// The cost table is counted again every this many refreshes (ten minutes): it reads every
/// version file, where the index reads only what changed.
const COST_EVERY: u64 = 120;

/// Why the desk could not start.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(
        "REWRITER_DESK_USERS is not set: the desk needs a file of editor accounts (create one with `rewriter desk add-user NAME`)"
    )]
    NoUsersFile,
    #[error(transparent)]
    Accounts(#[from] AccountError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the desk stopped: {0}")]
    Serve(std::io::Error),
}

/// What every request handler shares.
pub(crate) struct Desk {
    pub settings: Settings,
    pub store: ContentStore,
    pub accounts: Accounts,
    pub sessions: Sessions,
    pub index: RwLock<Index>,
    pub templates: minijinja::Environment<'static>,
    /// The cost table, counted in the background (it reads every version file).
    pub cost: RwLock<Option<routes::CostTable>>,
}

/// The accounts file the settings name.
pub fn users_file(settings: &Settings) -> Result<PathBuf, DeskError> {
    settings.desk_users.clone().ok_or(DeskError::NoUsersFile)
}

/// Serves the desk on `REWRITER_DESK_ADDR` until `shutdown` completes.
pub async fn serve(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DeskError> {
    let accounts = Accounts::require(&users_file(&settings)?)?;
    let addr = settings.desk_addr;
    let store = ContentStore::open(&settings.out_dir).await?;
    let mut index = Index::default();
    let started = std::time::Instant::now();
    index.refresh(&store).await?;
    tracing::info!(
        articles = index.len(),
        millis = started.elapsed().as_millis() as u64,
        "desk index built"
    );
    let desk = Arc::new(Desk {
        settings,
        store,
        accounts,
        sessions: Sessions::default(),
        index: RwLock::new(index),
        templates: pages::environment(),
        cost: RwLock::new(None),
    });
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| DeskError::Bind { addr, source })?;
    let refresher = tokio::spawn(refresh_forever(Arc::clone(&desk)));
    tracing::info!(%addr, accounts = desk.accounts.len(), "desk listening on http://{addr}/");
    let result = axum::serve(listener, routes::router(desk))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(DeskError::Serve);
    refresher.abort();
    result
}

/// Keeps the index up to date with what others write, and the cost table every
/// [`COST_EVERY`] refreshes.
async fn refresh_forever(desk: Arc<Desk>) {
    let mut tick = tokio::time::interval(REFRESH);
    for n in 0u64.. {
        tick.tick().await;
        if n % COST_EVERY == 0 {
            let table = routes::cost_table(&desk).await;
            *desk.cost.write().await = Some(table);
        }
        if let Err(e) = refresh_once(&desk).await {
            tracing::warn!(error = %e, "desk index refresh failed; keeping the last one");
        }
    }
}

/// One refresh: list, work out the changes under a read lock, read them with no lock held,
/// apply them under a short write lock.
async fn refresh_once(desk: &Desk) -> Result<(), StoreError> {
    let articles = desk.store.article_stamps().await?;
    let actions = desk.store.action_stamps().await?;
    let changes = desk.index.read().await.changes(articles, actions);
    let loaded = changes.load(&desk.store).await?;
    desk.index.write().await.apply(changes, loaded);
    Ok(())
}
