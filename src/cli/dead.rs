//! `rewriter dead list|requeue`: show the jobs that could not be done, with their reasons, and
//! send them back to the queue once the cause is fixed.

use anyhow::Context;

use crate::cli::{DeadArgs, DeadCommand};
use crate::config::Settings;
use crate::queue::{Broker, dead_letter_queue};

/// Most letters looked at in one run.
const LIMIT: usize = 100_000;

pub async fn run(settings: &Settings, args: DeadArgs) -> anyhow::Result<bool> {
    let broker = Broker::connect(&settings.amqp_url).await?;
    let batch = broker
        .dead_letters(&settings.queue, LIMIT)
        .await
        .context("reading the dead-letter queue")?;
    let dead = dead_letter_queue(&settings.queue);
    let mut ok = true;
    match args.command {
        DeadCommand::List => {
            for letter in &batch.letters {
                let attempts = letter
                    .attempts()
                    .map(|n| format!(" after {n} LLM request(s)"))
                    .unwrap_or_default();
                println!("{}: {}{attempts}", letter.external_id(), letter.reason());
            }
            println!("{} dead letter(s) in {dead}", batch.letters.len());
        }
        DeadCommand::Requeue { ids } => {
            let mut requeued = 0;
            for (i, letter) in batch.letters.iter().enumerate() {
                if !ids.is_empty() && !ids.contains(&letter.external_id()) {
                    continue;
                }
                match batch.requeue(i).await {
                    Ok(()) => requeued += 1,
                    Err(e) => {
                        ok = false;
                        eprintln!("{}: not requeued: {e}", letter.external_id());
                    }
                }
            }
            println!(
                "requeued {requeued} job(s) from {dead} to {}",
                settings.queue
            );
        }
    }
    batch.release().await;
    broker.close().await;
    Ok(ok)
}
