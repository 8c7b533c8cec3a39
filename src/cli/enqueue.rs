//! `rewriter enqueue`: read headlines, validate each, publish each with a confirm, report
//! (with progress on standard error).

use anyhow::Context;

use crate::cli::JobsArgs;
use crate::cli::input::read_jobs;
use crate::cli::progress::Progress;
use crate::config::Settings;
use crate::queue::{Broker, Publisher};

/// Publishes every valid item; `Ok(false)` when any item was rejected or not confirmed.
pub async fn run(settings: &Settings, args: JobsArgs) -> anyhow::Result<bool> {
    let items = read_jobs(&args.files, args.prompt_version, args.force)?;
    let broker = Broker::connect(&settings.amqp_url).await?;
    let publisher = Publisher::open(&broker, &settings.queue)
        .await
        .context("opening a confirm channel")?;
    // The progress counts jobs confirmed by the broker, out of the items that are jobs: a
    // rejected line is never "enqueued".
    let valid = items.iter().filter(|item| item.job.is_ok()).count();
    let progress = Progress::new(valid as u64, "jobs enqueued");
    let (mut enqueued, mut rejected) = (0usize, 0usize);
    for item in items {
        let outcome = match item.job {
            Ok(job) => publisher
                .publish(&settings.queue, &job.to_json(), Default::default())
                .await
                .map_err(|e| format!("not enqueued: {e}")),
            Err(invalid) => Err(format!("rejected: {invalid}")),
        };
        match outcome {
            Ok(()) => {
                enqueued += 1;
                progress.inc(1);
            }
            Err(reason) => {
                rejected += 1;
                progress.eprintln(format_args!("{}: {reason}", item.origin));
            }
        }
    }
    progress.finish();
    publisher.close().await;
    broker.close().await;
    println!(
        "enqueued {enqueued} job(s) to {}; rejected {rejected}",
        settings.queue
    );
    Ok(rejected == 0)
}
