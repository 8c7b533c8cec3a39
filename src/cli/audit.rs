//! `rewriter audit [DIR]`: read a folder of article files and report, per article and in total,
//! contract violations, drafts with their reasons, unsupported claims, section sizes and the
//! prompt versions present; exit 1 when any article breaks the contract. Without DIR it reads
//! the published copies of `REWRITER_OUT`, a folder or a bucket. What is said about
//! one article is [`crate::check::audit`]; this file reads the folder and adds up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures_util::StreamExt as _;

use anyhow::Context as _;

use crate::check::audit::audit;
use crate::cli::AuditArgs;
use crate::config::Settings;
use crate::store::ContentStore;

/// `Ok(false)` when any article breaks the contract.
pub async fn run(settings: &Settings, args: AuditArgs) -> anyhow::Result<bool> {
    let (place, files) = match args.dir {
        None if crate::store::s3::is_bucket(&settings.out_dir) => {
            let store = ContentStore::open(&settings.out_dir).await?;
            let place = store.root().join("articles").display().to_string();
            (place, published(&store).await?)
        }
        dir => {
            let dir = dir.unwrap_or_else(|| settings.out_dir.join("articles"));
            (dir.display().to_string(), folder(&dir)?)
        }
    };
    let (mut broken, mut drafts, mut claims) = (0, 0, 0);
    let mut versions: BTreeMap<Option<u32>, usize> = BTreeMap::new();
    for (name, text) in &files {
        let text = match text {
            Ok(text) => text,
            Err(e) => {
                println!("{name}: BROKEN\n  contract: cannot be read as UTF-8 text: {e}");
                broken += 1;
                continue;
            }
        };
        let report = audit(text);
        *versions.entry(report.version).or_default() += 1;
        let version = report
            .version
            .map_or_else(|| "v?".to_owned(), |v| format!("v{v}"));
        let state = if !report.violations.is_empty() {
            "BROKEN"
        } else if report.draft {
            "draft"
        } else {
            "ok"
        };
        println!("{name}: {version} {state}");
        if let Some(approved) = &report.approved {
            println!("  approved by {approved}");
        }
        for v in &report.violations {
            println!("  contract: {v}");
        }
        for f in &report.flags {
            println!("  flag: {f}");
        }
        if !report.unsupported_claims.is_empty() {
            println!(
                "  unsupported claims: {}",
                report.unsupported_claims.join(", ")
            );
        }
        for s in &report.sections {
            println!("  section {s}");
        }
        broken += usize::from(!report.violations.is_empty());
        drafts += usize::from(report.draft);
        claims += report.unsupported_claims.len();
    }
    let present: Vec<String> = versions
        .iter()
        .map(|(v, n)| match v {
            Some(v) => format!("v{v}: {n}"),
            None => format!("unknown: {n}"),
        })
        .collect();
    println!(
        "{} articles in {}: {broken} break the contract, {drafts} drafts, {claims} unsupported claims; prompt versions: {}",
        files.len(),
        place,
        if present.is_empty() {
            "none".to_owned()
        } else {
            present.join(", ")
        }
    );
    Ok(broken == 0)
}

/// An article's file name and its text, or why it cannot be read as text.
type Read = (String, Result<String, String>);

/// The `.md` files of a folder, sorted, skipping temporaries (`.…`).
fn folder(dir: &Path) -> anyhow::Result<Vec<Read>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "md")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|path| {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            (
                name,
                std::fs::read_to_string(&path).map_err(|e| e.to_string()),
            )
        })
        .collect())
}

/// The published copies in a bucket, sorted by name; a few fetched at a time.
async fn published(store: &ContentStore) -> anyhow::Result<Vec<Read>> {
    let ids = store.published_ids().await?;
    let read = futures_util::stream::iter(ids)
        .map(|id| async move {
            let text = match store.read_article(&id).await {
                Ok(bytes) => String::from_utf8(bytes).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            (format!("{id}.md"), text)
        })
        .buffered(16)
        .collect()
        .await;
    Ok(read)
}
