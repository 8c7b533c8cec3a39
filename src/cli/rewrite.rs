//! `rewriter rewrite`: the worker's pipeline in this process, no broker: headlines in, articles
//! out, one line per job, and progress on standard error (a bar on a terminal, plain lines
//! otherwise). An LLM outage pauses the run (one line on standard error when it starts, one
//! when the LLM is back) instead of failing its jobs; after `REWRITER_LLM_OUTAGE_MAX` of one
//! outage the jobs still waiting are given up and listed, and the exit code is 1.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;

use crate::cli::JobsArgs;
use crate::cli::input::read_jobs;
use crate::cli::progress::Progress;
use crate::config::Settings;
use crate::llm::circuit::Circuit;
use crate::metrics::Metrics;
use crate::pipeline::{Disposition, Outcome, Pipeline};

/// `Ok(false)` when any item was rejected or any job failed or was given up.
pub async fn run(settings: &Settings, args: JobsArgs) -> anyhow::Result<bool> {
    let items = read_jobs(&args.files, args.prompt_version, args.force)?;
    let pipeline = Pipeline::build(settings, Arc::new(Metrics::new())).await?;
    let progress = Progress::new(items.len() as u64, "articles");
    let outages = Outages::new(&progress, settings.llm.outage.give_up_after);
    let unfinished: Mutex<Vec<String>> = Mutex::default();
    let results: Vec<bool> = futures_util::stream::iter(items)
        .map(|item| {
            let pipeline = &pipeline;
            let progress = &progress;
            let outages = &outages;
            let unfinished = &unfinished;
            async move {
                let line = match &item.job {
                    Err(e) => Err(format!("{}: rejected: {e}", item.origin)),
                    Ok(job) => match outages.rewrite(pipeline, job).await {
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
                        Err(e) if e.disposition() == Disposition::WaitForLlm => {
                            unfinished
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .push(format!(
                                    "  {}: {} {:?}",
                                    item.origin,
                                    job.id(),
                                    job.headline.title
                                ));
                            Err(format!("{}: {} not finished: {e}", item.origin, job.id()))
                        }
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
        .buffer_unordered(usize::from(settings.prefetch()))
        .collect()
        .await;
    progress.finish();
    let unfinished = unfinished
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !unfinished.is_empty() {
        eprintln!(
            "not finished, the LLM unreachable for longer than REWRITER_LLM_OUTAGE_MAX ({}s):\n{}",
            settings.llm.outage.give_up_after.as_secs(),
            unfinished.join("\n")
        );
    }
    let failed = results.iter().filter(|ok| !**ok).count();
    println!(
        "{} of {} done; {failed} failed",
        results.len() - failed,
        results.len()
    );
    Ok(failed == 0)
}

/// Waits out LLM outages for the jobs of one run, saying so once per outage.
struct Outages<'a> {
    progress: &'a Progress,
    give_up_after: Duration,
    /// The outage last announced, and whether its end was too.
    announced: Mutex<Option<(SystemTime, bool)>>,
}

impl<'a> Outages<'a> {
    fn new(progress: &'a Progress, give_up_after: Duration) -> Self {
        Self {
            progress,
            give_up_after,
            announced: Mutex::new(None),
        }
    }

    /// Rewrites `job`, running it again each time the LLM comes back from an outage; the
    /// `WaitForLlm` error once an outage lasted `give_up_after`.
    async fn rewrite(
        &self,
        pipeline: &Pipeline,
        job: &crate::job::Job,
    ) -> Result<Outcome, crate::pipeline::JobError> {
        loop {
            let result = pipeline.rewrite(job).await;
            match &result {
                Err(e) if e.disposition() == Disposition::WaitForLlm => {}
                _ => return result,
            }
            if !self.wait(pipeline.llm().circuit()).await {
                return result;
            }
        }
    }

    /// Waits for the circuit to close; `false` when the outage lasted too long.
    async fn wait(&self, circuit: &Circuit) -> bool {
        let Some(outage) = circuit.outage() else {
            return true;
        };
        {
            let mut announced = self
                .announced
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if announced.is_none_or(|(since, _)| since != outage.since) {
                *announced = Some((outage.since, false));
                self.progress.eprintln(format!(
                    "paused: the LLM is unreachable ({}); going on when it answers, giving up after {}s",
                    outage.reason,
                    self.give_up_after.as_secs()
                ));
            }
        }
        let left = self.give_up_after.saturating_sub(outage.open_for());
        if tokio::time::timeout(left, circuit.closed()).await.is_err() {
            return false;
        }
        let mut announced = self
            .announced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((since, resumed @ false)) = announced.as_mut()
            && *since == outage.since
        {
            *resumed = true;
            self.progress
                .eprintln("the LLM answers again; going on".to_owned());
        }
        true
    }
}
