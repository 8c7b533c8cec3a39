//! Generates an archive of N articles straight into a folder or a bucket, without the LLM or a
//! broker, in the layout the store writes (`sources/<id>.json`, `versions/<id>/v1.md`,
//! `articles/<id>.md`, and in a bucket the version's cost index entry, as a worker writes it),
//! so that the commands that read a whole archive can be measured at scale (`bench/archive.sh`).
//!
//! ```sh
//! cargo run --example archive -- --articles 100000 --out s3://bench/news   # AWS_* from the env
//! cargo run --example archive -- --articles 100000 --out /tmp/archive
//! ```
//!
//! `--index-template FILE` (with a folder) also writes, per version, the key of its cost index
//! entry with `ETAG` where the version's ETag goes, for `bench/moto_loaded.py`, which loads the
//! folder into moto's memory far faster than moto takes PUTs.
//!
//! Articles go to a bucket 64 at a time (`--in-flight N` to change it); the credentials and endpoint are the same AWS variables
//! the product reads.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStoreExt, PutPayload};
use rewriter::job::{ExternalId, PromptVersion};
use rewriter::store::index::{Figures, entry_key};
use serde_json::json;

fn article(id: &str, n: usize) -> String {
    let frontmatter = json!({
        "title": format!("Bitcoin Holds Above Support as Traders Weigh Rates ({n})"),
        "description": "Bitcoin held its range as traders weighed the rate outlook.",
        "publishedAt": "2026-02-05T18:02:10.000Z",
        "updatedAt": "2026-02-05T18:02:10.000Z",
        "lang": "en",
        "externalId": id,
        "source": {"name": "CoinDesk", "key": "coindesk", "type": "rss"},
        "category": "markets",
        "tags": ["bitcoin", "markets"],
        "stickyWeight": 0,
        "sentiment": "NEUTRAL",
        "score": 50,
        "draft": false,
        "ai": {
            "rewritten": true,
            "expandedAt": "2026-02-05T18:03:00.000Z",
            "version": 1,
            "model": "gpt-4o-mini",
            "promptTokens": 1200 + n % 100,
            "completionTokens": 400 + n % 50,
            "costUsd": 0.00042,
        },
    });
    let yaml = serde_yaml::to_string(&frontmatter).unwrap();
    format!(
        "---\n{yaml}---\n\n## Summary\n\nBitcoin held its range.\n\n## Details\n\nTraders weighed the rate outlook.\n\n## Background\n\nThe range has held for weeks.\n\n## Commentary\n\nWatch the next rate decision.\n"
    )
}

fn source(id: &str) -> String {
    json!({
        "externalId": id,
        "title": "Bitcoin Holds Above Support as Traders Weigh Rates",
        "publishedAt": "2026-02-05T18:02:10.000Z",
        "source": {"name": "CoinDesk", "key": "coindesk"}
    })
    .to_string()
}

/// The three files of article `n`, as (relative path, bytes): source, version, published copy.
fn files(n: usize) -> [(String, Vec<u8>); 3] {
    let id = format!("gen{n:07}");
    let text = article(&id, n);
    [
        (format!("sources/{id}.json"), source(&id).into_bytes()),
        (format!("versions/{id}/v1.md"), text.clone().into_bytes()),
        (format!("articles/{id}.md"), text.into_bytes()),
    ]
}

/// Writes article `n` to the bucket in the worker's order: source, version, the version's cost
/// index entry (named after the ETag the store answered), published copy.
async fn put_article(store: &AmazonS3, prefix: &str, n: usize) -> object_store::Result<()> {
    let key = |path: &str| {
        if prefix.is_empty() {
            Key::from(path)
        } else {
            Key::from(format!("{prefix}/{path}"))
        }
    };
    let [
        (source_key, source),
        (version_key, version),
        (article_key, article),
    ] = files(n);
    let figures = Figures::of(std::str::from_utf8(&version).unwrap()).unwrap();
    store
        .put(&key(&source_key), PutPayload::from(source))
        .await?;
    let written = store
        .put(&key(&version_key), PutPayload::from(version))
        .await?;
    let id = ExternalId::parse(&format!("gen{n:07}")).unwrap();
    let v1 = PromptVersion::new(1).unwrap();
    let entry = entry_key(&id, v1, written.e_tag.as_deref().unwrap_or(""), &figures).unwrap();
    store.put(&key(&entry), PutPayload::new()).await?;
    store
        .put(&key(&article_key), PutPayload::from(article))
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (mut articles, mut out) = (10_000usize, std::env::var("REWRITER_OUT").ok());
    let mut in_flight = 64usize;
    let mut template = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--articles" => articles = args.next().unwrap().parse().unwrap(),
            "--out" => out = args.next(),
            "--in-flight" => in_flight = args.next().unwrap().parse().unwrap(),
            "--index-template" => template = args.next(),
            other => {
                panic!("unknown argument {other}; --articles N --out LOCATION [--in-flight N]")
            }
        }
    }
    let out = out.expect("--out LOCATION or REWRITER_OUT");
    let started = Instant::now();
    if let Some(rest) = out.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/').to_owned();
        let store = Arc::new(
            AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .unwrap(),
        );
        futures_util::stream::iter(0..articles)
            .map(|n| {
                let (store, prefix) = (Arc::clone(&store), prefix.clone());
                async move { put_article(&store, &prefix, n).await }
            })
            .buffer_unordered(in_flight)
            .try_for_each(|_| async { Ok(()) })
            .await
            .unwrap();
    } else {
        let root = PathBuf::from(out.clone());
        let mut lines = String::new();
        for n in 0..articles {
            if template.is_some() {
                let [_, (version_key, version), _] = files(n);
                let figures = Figures::of(std::str::from_utf8(&version).unwrap()).unwrap();
                let id = ExternalId::parse(&format!("gen{n:07}")).unwrap();
                let v1 = PromptVersion::new(1).unwrap();
                let entry = entry_key(&id, v1, "ETAG", &figures).unwrap();
                lines.push_str(&format!("{version_key}\t{entry}\n"));
            }
            for (path, bytes) in files(n) {
                let path = root.join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, bytes).unwrap();
            }
        }
        if let Some(template) = template {
            std::fs::write(template, lines).unwrap();
        }
    }
    eprintln!(
        "{articles} articles written to {out} in {:.1?}",
        started.elapsed()
    );
}
