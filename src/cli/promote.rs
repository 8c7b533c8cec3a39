//! `rewriter promote`: make an existing version the published article again (a rollback),
//! for one article or every article that has it; no LLM, nothing enqueued.

use crate::cli::PromoteArgs;
use crate::config::Settings;
use crate::store::{ContentStore, StoreError};

/// `Ok(false)` when the version does not exist (for `--all`: for some article).
pub async fn run(settings: &Settings, args: PromoteArgs) -> anyhow::Result<bool> {
    let store = ContentStore::open(&settings.out_dir).await?;
    let (ids, version) = match (args.all, args.id, args.version) {
        (Some(version), _, _) => (store.versioned_ids().await?, version),
        (None, Some(id), Some(version)) => (vec![id], version),
        // clap requires ID and N unless --all is given.
        _ => anyhow::bail!("give ID N, or --all N"),
    };
    let (mut promoted, mut missing) = (0usize, 0usize);
    for id in &ids {
        match store.promote(id, version).await {
            Ok(()) => {
                promoted += 1;
                if args.all.is_none() {
                    println!(
                        "{id}: v{version} is published ({})",
                        store.article_path(id).display()
                    );
                }
            }
            Err(StoreError::NoSuchVersion { .. }) => {
                missing += 1;
                let have = store
                    .versions(id)
                    .await?
                    .iter()
                    .map(|v| format!("v{v}"))
                    .collect::<Vec<_>>();
                eprintln!(
                    "{id}: has no v{version} (it has {}); left as it is",
                    if have.is_empty() {
                        "none".to_owned()
                    } else {
                        have.join(", ")
                    }
                );
            }
            Err(e) => return Err(e.into()),
        }
    }
    if args.all.is_some() {
        println!(
            "promoted v{version} for {promoted} article(s); {missing} without v{version} left as they are"
        );
    }
    Ok(missing == 0)
}
