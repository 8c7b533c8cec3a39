//! `rewriter worker`: build the worker, run it until SIGINT/SIGTERM; a second signal exits.
//! What it did is one line on standard output at the end.

use std::io::IsTerminal;
use std::sync::Arc;

use tokio::signal::unix::{SignalKind, signal};

use crate::cli::WorkerArgs;
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::worker::Worker;

pub async fn run(settings: Settings, args: WorkerArgs) -> anyhow::Result<bool> {
    let worker = Worker::build(settings, Arc::new(Metrics::new()))
        .await?
        .exit_when_idle(args.exit_when_idle);
    let (mut interrupt, mut terminate) = (
        signal(SignalKind::interrupt())?,
        signal(SignalKind::terminate())?,
    );
    let (first_tx, first_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        let _ = first_tx.send(());
        if std::io::stderr().is_terminal() {
            eprintln!("stopping: finishing jobs in flight (signal again to quit now)");
        }
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        tracing::warn!("second signal: exiting now; unfinished jobs return to the queue");
        std::process::exit(130);
    });
    let summary = worker
        .run_until(async {
            let _ = first_rx.await;
        })
        .await?;
    tracing::debug!(?summary, "worker exited");
    // On standard output, for scripts (scripts/quickstart.sh tells from it what happened).
    println!(
        "worker done: {} written, {} already written, {} dead-lettered, {} requeued",
        summary.written, summary.already_written, summary.dead_lettered, summary.requeued
    );
    Ok(true)
}
