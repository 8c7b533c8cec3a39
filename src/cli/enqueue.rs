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
    let progress = Progress::new(items.len() as u64, "jobs enqueued");
    let (mut enqueued, mut rejected) = (0usize, 0usize);
    for item in items {
        let outcome = match item.job {
            Ok(job) => publisher
                .publish(&settings.queue, &job.to_json(), Default::default())
                .await
                .map_err(|e| e.to_string()),
            Err(invalid) => Err(invalid.to_string()),
        };
        match outcome {
            Ok(()) => enqueued += 1,
            Err(reason) => {
                rejected += 1;
                progress.eprintln(format_args!("{}: rejected: {reason}", item.origin));
            }
        }
        progress.inc(1);
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
