//! `rewriter reprocess`: pick stored articles, enqueue each once (with a confirm) for a prompt
//! version, report what was enqueued and what was passed over; `--dry-run` only lists.

use std::io::IsTerminal;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::ReprocessArgs;
use crate::config::Settings;
use crate::prompts::PromptLibrary;
use crate::queue::{Broker, Publisher};
use crate::reprocess::{Criteria, gather, select};
use crate::store::ContentStore;

/// Archives at least this large get a progress bar on a terminal.
const PROGRESS_FROM: usize = 50;

/// `Ok(false)` when a named id or a stored source could not be used, or a publish failed.
pub async fn run(settings: &Settings, args: ReprocessArgs) -> anyhow::Result<bool> {
    let library = PromptLibrary::load(&settings.prompts_dir, settings.prompt_version)
        .context("loading the prompt sets")?;
    let target = args.prompt_version.unwrap_or(library.current());
    library.get(target)?;
    let criteria = Criteria {
        target,
        outdated: args.outdated,
        ids: args.ids,
        since: args.since,
        source: args.source,
        force: args.force,
    };
    let store = ContentStore::open(&settings.out_dir).await?;
    let (candidates, unusable) = gather(&store, &criteria.ids).await?;
    if candidates.is_empty() && unusable.is_empty() {
        eprintln!(
            "no stored sources under {}",
            store.root().join("sources").display()
        );
    }
    let selection = select(candidates, &criteria);
    let mut ok = true;
    for u in &unusable {
        eprintln!("{}: skipped: {}", u.id, u.reason);
        ok = false;
    }
    for id in &selection.unknown {
        if !unusable.iter().any(|u| &u.id == id) {
            eprintln!("{id}: skipped: no stored source");
            ok = false;
        }
    }
    for id in &selection.up_to_date {
        eprintln!("{id}: already has v{target}; skipped (use --force to write it again)");
    }
    let jobs = selection.jobs(&criteria);
    if args.dry_run {
        for c in &selection.chosen {
            let from = c
                .latest
                .map_or_else(|| "none".to_owned(), |v| format!("v{v}"));
            println!("{}: {from} → v{target}", c.id());
        }
        println!(
            "would enqueue {} job(s) for prompt v{target} to {}; dry run, nothing published",
            jobs.len(),
            settings.queue
        );
        return Ok(ok);
    }
    if jobs.is_empty() {
        println!("enqueued 0 job(s) for prompt v{target}: nothing to do");
        return Ok(ok);
    }
    let broker = Broker::connect(&settings.amqp_url).await?;
    let publisher = Publisher::open(&broker, &settings.queue)
        .await
        .context("opening a confirm channel")?;
    let bar = if std::io::stderr().is_terminal() && jobs.len() >= PROGRESS_FROM {
        let bar = ProgressBar::new(jobs.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30} {pos}/{len} jobs enqueued · {per_sec} · ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let (mut enqueued, mut failed) = (0usize, 0usize);
    for job in &jobs {
        match publisher
            .publish(&settings.queue, &job.to_json(), Default::default())
            .await
        {
            Ok(()) => enqueued += 1,
            Err(e) => {
                failed += 1;
                bar.suspend(|| eprintln!("{}: not enqueued: {e}", job.id()));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    publisher.close().await;
    broker.close().await;
    println!(
        "enqueued {enqueued} job(s) for prompt v{target} to {}; {} already at v{target}; {failed} failed",
        settings.queue,
        selection.up_to_date.len()
    );
    Ok(ok && failed == 0)
}
