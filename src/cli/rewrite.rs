//! `rewriter rewrite`: the worker's pipeline in this process, no broker: headlines in, articles
//! out, one line per job, and progress on standard error (a bar on a terminal, plain lines
//! otherwise).

use futures_util::StreamExt;

use crate::cli::JobsArgs;
use crate::cli::input::read_jobs;
use crate::cli::progress::Progress;
use crate::config::Settings;
use crate::pipeline::{Outcome, Pipeline};

/// `Ok(false)` when any item was rejected or any job failed.
pub async fn run(settings: &Settings, args: JobsArgs) -> anyhow::Result<bool> {
    let items = read_jobs(&args.files, args.prompt_version, args.force)?;
    let pipeline = Pipeline::build(settings).await?;
    let progress = Progress::new(items.len() as u64, "articles");
    let results: Vec<bool> = futures_util::stream::iter(items)
        .map(|item| {
            let pipeline = &pipeline;
            let progress = &progress;
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
                let ok = match line {
                    Ok(l) => {
                        progress.println(l);
                        true
                    }
                    Err(l) => {
                        progress.eprintln(l);
                        false
                    }
                };
                progress.inc(1);
                ok
            }
        })
        // More than the pipeline's LLM slots, as a worker: a job flushing its files holds none.
        .buffer_unordered(usize::from(crate::worker::prefetch(settings.concurrency)))
        .collect()
        .await;
    progress.finish();
    let failed = results.iter().filter(|ok| !**ok).count();
    println!(
        "{} of {} done; {failed} failed",
        results.len() - failed,
        results.len()
    );
    Ok(failed == 0)
}
