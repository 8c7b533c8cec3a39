//! `rewriter approve ID [--version N]` and `rewriter reject ID --reason TEXT`: an editor's
//! decision from a script, the same as the desk's buttons ([`crate::desk::decision`]).

use chrono::Utc;

use crate::cli::{ApproveArgs, RejectArgs};
use crate::config::Settings;
use crate::desk::decision::{self, DecisionError};
use crate::store::{ContentStore, StoreError};

/// `Ok(false)` when the article or version does not exist, or the request is not valid.
pub async fn approve(settings: &Settings, args: ApproveArgs) -> anyhow::Result<bool> {
    let store = ContentStore::open(&settings.out_dir).await?;
    match decision::approve(&store, &args.id, args.version, &args.by, Utc::now()).await {
        Ok(version) => {
            println!(
                "{}: v{version} is published, approved by {} ({})",
                args.id,
                args.by.trim(),
                store.article_path(&args.id).display()
            );
            Ok(true)
        }
        Err(e) => refused(&args.id, e),
    }
}

pub async fn reject(settings: &Settings, args: RejectArgs) -> anyhow::Result<bool> {
    let store = ContentStore::open(&settings.out_dir).await?;
    match decision::reject(&store, &args.id, &args.reason, &args.by, Utc::now()).await {
        Ok(()) => {
            println!("{}: rejected by {}, not published", args.id, args.by.trim());
            Ok(true)
        }
        Err(e) => refused(&args.id, e),
    }
}

/// A decision that cannot be made is the input's fault (exit 1); a failing disk is not (3).
fn refused(id: &crate::job::ExternalId, e: DecisionError) -> anyhow::Result<bool> {
    match e {
        DecisionError::Store(StoreError::Io { .. } | StoreError::Join(_)) => Err(e.into()),
        other => {
            eprintln!("{id}: nothing changed: {other}");
            Ok(false)
        }
    }
}
