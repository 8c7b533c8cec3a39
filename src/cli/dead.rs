//! `rewriter dead list|requeue`: show the jobs that could not be done, with their reasons, and
//! send them back to the queue once the cause is fixed.

use anyhow::Context;

use crate::cli::{DeadArgs, DeadCommand};
use crate::config::Settings;
use crate::queue::{Broker, DeadLetter, dead_letter_queue};

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
                println!("{}: {}{attempts}", external_id(letter), letter.reason());
            }
            println!("{} dead letter(s) in {dead}", batch.letters.len());
        }
        DeadCommand::Requeue { ids } => {
            let mut requeued = 0;
            for (i, letter) in batch.letters.iter().enumerate() {
                if !ids.is_empty() && !ids.contains(&external_id(letter)) {
                    continue;
                }
                match batch.requeue(i).await {
                    Ok(()) => requeued += 1,
                    Err(e) => {
                        ok = false;
                        eprintln!("{}: not requeued: {e}", external_id(letter));
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

/// The job's externalId when the body is a readable job, else a placeholder.
fn external_id(letter: &DeadLetter) -> String {
    serde_json::from_slice::<serde_json::Value>(letter.body())
        .ok()
        .and_then(|v| match &v["headline"]["externalId"] {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| "(unreadable job)".to_owned())
}
