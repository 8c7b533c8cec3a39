//! `rewriter rewrite`: the worker's pipeline in this process, no broker: headlines in, articles
//! out, with a progress bar on a terminal and one line per job otherwise.

use std::io::IsTerminal;

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::JobsArgs;
use crate::cli::input::read_jobs;
use crate::config::Settings;
use crate::pipeline::{Outcome, Pipeline};

/// `Ok(false)` when any item was rejected or any job failed.
pub async fn run(settings: &Settings, args: JobsArgs) -> anyhow::Result<bool> {
    let items = read_jobs(&args.files, args.prompt_version, args.force)?;
    let pipeline = Pipeline::build(settings).await?;
    let bar = if std::io::stderr().is_terminal() && items.len() > 1 {
        let bar = ProgressBar::new(items.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} articles · {per_sec} · ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let results: Vec<bool> = futures_util::stream::iter(items)
        .map(|item| {
            let pipeline = &pipeline;
            let bar = &bar;
            async move {
                let line = match &item.job {
                    Err(e) => Err(format!("{}: rejected: {e}", item.origin)),
                    Ok(job) => match pipeline.rewrite(job).await {
                        Ok(Outcome::Written { version, draft, .. }) => Ok(format!(
                            "{}: written v{version}{} → {}",
                            job.id(),
                            if draft { " as a draft" } else { "" },
                            pipeline.store().article_path(job.id()).display()
                        )),
                        Ok(Outcome::AlreadyWritten { version }) => Ok(format!(
                            "{}: v{version} exists; skipped (use --force to rewrite)",
                            job.id()
                        )),
                        Err(e) => Err(format!("{}: {} failed: {e}", item.origin, job.id())),
                    },
                };
                bar.inc(1);
                match line {
                    Ok(l) => {
                        bar.suspend(|| println!("{l}"));
                        true
                    }
                    Err(l) => {
                        bar.suspend(|| eprintln!("{l}"));
                        false
                    }
                }
            }
        })
        .buffer_unordered(usize::from(settings.concurrency))
        .collect()
        .await;
    bar.finish_and_clear();
    let failed = results.iter().filter(|ok| !**ok).count();
    println!(
        "{} of {} done; {failed} failed",
        results.len() - failed,
        results.len()
    );
    Ok(failed == 0)
}
