//! `rewriter ingest`: poll the feeds once (or, with `--watch`, until SIGINT/SIGTERM), print
//! what each feed gave, and say by the exit code whether any feed failed.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use crate::cli::IngestArgs;
use crate::config::Settings;
use crate::health::{Health, HealthServer};
use crate::ingest::{FeedReport, IngestError, Ingester, Target};
use crate::metrics::Metrics;
use crate::queue::{Broker, Publisher};

/// Exit codes: 0 every feed polled; 1 some feed failed; 2 the feeds file is wrong (nothing
/// was fetched); 3 the broker or the state folder could not be used.
pub async fn run(settings: Settings, args: IngestArgs) -> ExitCode {
    let ingester = match Ingester::load(&settings.feeds_file, &settings.out_dir).await {
        Ok(ingester) => ingester,
        Err(e @ (IngestError::Feeds(_) | IngestError::ReadFeeds { .. })) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(3);
        }
    };
    match poll(&settings, &args, &ingester).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(3)
        }
    }
}

/// `Ok(false)` when any feed failed.
async fn poll(settings: &Settings, args: &IngestArgs, ingester: &Ingester) -> anyhow::Result<bool> {
    if args.watch {
        return watch(settings, ingester).await;
    }
    let reports = if args.dry_run {
        ingester.poll_all(Target::DryRun).await
    } else {
        let broker = Broker::connect_as(&settings.amqp_url, "rewriter ingest").await?;
        let publisher = Publisher::open(&broker, &settings.queue)
            .await
            .context("opening a confirm channel")?;
        let reports = ingester
            .poll_all(Target::Publish {
                publisher: &publisher,
                queue: &settings.queue,
            })
            .await;
        publisher.close().await;
        broker.close().await;
        reports
    };
    for report in &reports {
        print(report);
    }
    let failed = reports.iter().filter(|r| r.failed()).count();
    let new: usize = reports.iter().map(|r| r.new.len()).sum();
    let verb = if args.dry_run {
        "would enqueue"
    } else {
        "enqueued"
    };
    println!(
        "{verb} {new} new item(s) from {} feed(s); {failed} feed(s) failed",
        reports.len()
    );
    Ok(failed == 0)
}

/// Polls until the first signal; a second one exits at once (the poll in progress is then
/// repeated by the next ingester run: its items were not yet remembered, or were and are
/// skipped).
async fn watch(settings: &Settings, ingester: &Ingester) -> anyhow::Result<bool> {
    let metrics = Arc::new(Metrics::new());
    let stop = CancellationToken::new();
    if let Some(addr) = settings.metrics_addr {
        let server = HealthServer::bind(addr).await?;
        let health = Arc::new(Health {
            metrics: Arc::clone(&metrics),
            prompts: "none (ingest)".into(),
        });
        tokio::spawn(server.serve(health, stop.child_token()));
    }
    let (mut interrupt, mut terminate) = (
        signal(SignalKind::interrupt())?,
        signal(SignalKind::terminate())?,
    );
    let first = stop.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        first.cancel();
        if std::io::stderr().is_terminal() {
            eprintln!("stopping: finishing the poll in progress (signal again to quit now)");
        }
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        tracing::warn!("second signal: exiting now");
        std::process::exit(130);
    });
    ingester
        .watch(
            &settings.amqp_url,
            &settings.queue,
            &metrics,
            stop.clone(),
            print,
        )
        .await;
    stop.cancel();
    Ok(true)
}

fn print(report: &FeedReport) {
    let mut out = std::io::stdout().lock();
    // A closed standard output must not stop the ingester; the metrics still count.
    let _ = writeln!(out, "{report}");
    let _ = out.flush();
}
