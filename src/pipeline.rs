//! The order of steps for one job, independent of where the job came from.
//!
//! ```text
//! job ─→ store: is the version on disk? (asked of the blocking pool; meanwhile
//!           prompts: render the set's calls for the headline, and read its facts)
//!     ─→ on disk and not forced? ─yes─→ AlreadyWritten (no LLM call)
//!     ─→ (an LLM slot)
//!     ─→ llm: one answer per call, each checked against its schema and the article rules
//!     ─→ article: assemble, print
//!     ─→ (the slot is freed)
//!     ─→ store: sources/, versions/, articles/, each atomically ─→ Written
//! ```
//!
//! `REWRITER_CONCURRENCY` bounds the jobs between "an LLM slot" and "the slot is freed": the
//! work that spends LLM time. A job waiting for its files to be flushed holds no slot, so a
//! slow disk does not idle the LLM (the worker takes more deliveries than it has slots).
//!
//! Shared by `worker` (jobs from RabbitMQ) and `rewrite` (jobs from a file). Errors come back
//! as [`JobError`], whose [`JobError::disposition`] tells the caller what to do with the job.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;

use crate::article::facts::Facts;
use crate::article::{Article, ArticleError, Draft, Provenance, review};
use crate::config::{Faithfulness, Settings};
use crate::cost::PriceTable;
use crate::job::{InvalidJob, Job, PromptVersion};
use crate::llm::{LlmClient, LlmError, Usage};
use crate::metrics::Metrics;
use crate::prompts::{PromptError, PromptLibrary};
use crate::store::{ContentStore, Created, StoreError};

/// A job's whole time budget: every call, attempt and wait. Well inside RabbitMQ's default
/// 30-minute consumer acknowledgement timeout, after which the broker would close the channel.
pub const JOB_BUDGET: Duration = Duration::from_secs(15 * 60);

/// How long a job whose files could not be written waits before it is returned to the queue.
pub const STORE_RETRY_DELAY: Duration = Duration::from_secs(30);

/// What became of a job.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A new version was written (and published).
    Written {
        version: PromptVersion,
        draft: bool,
        requests: u32,
        usage: Usage,
        /// At the configured prices; `None` when a model has no price.
        cost_usd: Option<f64>,
        /// Time in LLM requests, their backoff and pacing, and waiting for an LLM slot.
        llm_time: Duration,
        /// Answers asked for again because they broke the schema or the article rules.
        reasks: u32,
    },
    /// The version existed already and the job did not say `force`: nothing was asked.
    AlreadyWritten { version: PromptVersion },
}

/// Why a job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("invalid job: {0}")]
    Invalid(#[from] InvalidJob),
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error("the article could not be written: {0}")]
    Store(#[from] StoreError),
    /// The archive could not be opened (`REWRITER_OUT`): named once, not as a failed write.
    #[error(transparent)]
    Archive(StoreError),
    #[error(transparent)]
    Article(#[from] ArticleError),
    #[error("the answers do not form an article (a prompt-set bug): {0}")]
    Answers(String),
    /// [`Pipeline::stop_starting`] was called before the job got an LLM slot.
    #[error("the worker is stopping; the job was not started")]
    Stopping,
}

/// What the caller does with a failed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Never retried: set aside with its reason.
    DeadLetter,
    /// Return it to the queue after this delay (the condition may clear: a full disk).
    RetryLater(Duration),
    /// Return it to the queue and stop: the worker is misconfigured.
    Fatal,
    /// Return it to the queue now: it was not started (the worker is stopping).
    Return,
    /// Keep it and run it again once the LLM answers ([`LlmClient::circuit`]): the LLM is
    /// unreachable, which says nothing about the job.
    WaitForLlm,
}

impl JobError {
    pub fn disposition(&self) -> Disposition {
        match self {
            Self::Invalid(_) | Self::Prompt(_) | Self::Article(_) | Self::Answers(_) => {
                Disposition::DeadLetter
            }
            Self::Llm(LlmError::Fatal { .. } | LlmError::Setup(_)) => Disposition::Fatal,
            Self::Llm(LlmError::Unavailable { .. }) => Disposition::WaitForLlm,
            Self::Llm(_) => Disposition::DeadLetter,
            Self::Store(_) | Self::Archive(_) => Disposition::RetryLater(STORE_RETRY_DELAY),
            Self::Stopping => Disposition::Return,
        }
    }

    /// LLM requests spent on the failed job.
    pub fn attempts(&self) -> u32 {
        match self {
            Self::Llm(e) => e.attempts(),
            _ => 0,
        }
    }
}

/// Everything one job needs, built once per process and shared by all its tasks.
#[derive(Debug, Clone)]
pub struct Pipeline {
    prompts: Arc<PromptLibrary>,
    llm: LlmClient,
    store: ContentStore,
    faithfulness: Faithfulness,
    prices: PriceTable,
    metrics: Arc<Metrics>,
    /// `REWRITER_CONCURRENCY` of them: held from the first request to the assembled article.
    llm_slots: Arc<Semaphore>,
}

impl Pipeline {
    /// Loads the prompt sets, opens the store and builds the LLM client, all counted in a new
    /// [`Metrics`]; at most `settings.concurrency` jobs at the LLM at once.
    pub async fn build(settings: &Settings) -> Result<Self, JobError> {
        let prompts = PromptLibrary::load(&settings.prompts_dir, settings.prompt_version)?;
        let store = ContentStore::open(&settings.out_dir)
            .await
            .map_err(JobError::Archive)?;
        let metrics = Arc::new(Metrics::new());
        let llm = LlmClient::new(&settings.llm, Arc::clone(&metrics))?;
        Ok(Self {
            prompts: Arc::new(prompts),
            llm,
            store,
            faithfulness: settings.faithfulness,
            prices: settings.llm.prices.clone(),
            metrics,
            llm_slots: Arc::new(Semaphore::new(usize::from(settings.concurrency))),
        })
    }

    /// From now on a job that has no LLM slot yet fails with [`JobError::Stopping`] instead
    /// of starting (jobs already at the LLM go on): a stopping worker returns the jobs it holds
    /// but has not begun. For good: a pipeline does not start again.
    pub fn stop_starting(&self) {
        self.llm_slots.close();
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The LLM client, for its circuit breaker and start check.
    pub fn llm(&self) -> &LlmClient {
        &self.llm
    }

    pub fn prompts(&self) -> &PromptLibrary {
        &self.prompts
    }

    pub fn store(&self) -> &ContentStore {
        &self.store
    }

    /// Rewrites one headline into one article version.
    #[tracing::instrument(name = "job", skip_all, fields(external_id = %job.id(), prompt_version = tracing::field::Empty))]
    pub async fn rewrite(&self, job: &Job) -> Result<Outcome, JobError> {
        let version = self.prompts.version_for(job.prompt_version);
        tracing::Span::current().record("prompt_version", version.get());
        let set = self.prompts.get(version)?;
        let id = job.id();
        // Asked now, answered below: the headline's facts and prompts are prepared while the
        // blocking pool looks at the disk, so that the task seldom sleeps for the answer (one
        // wake-up fewer per job, bench/README.md). A job whose version exists wastes them.
        let on_disk = (!job.force).then(|| self.store.has_version(id, version));
        let headline = &job.headline;
        // Only the faithfulness checks read the headline's facts.
        let facts = (self.faithfulness != Faithfulness::Off).then(|| Facts::of_headline(headline));
        let prepared = set
            .language(&headline.lang)
            .and_then(|headings| Ok((headings, set.render(headline)?)));
        if let Some(on_disk) = on_disk
            && on_disk.await?
        {
            let source = headline.to_source_json();
            if self.store.ensure_complete(id, version, source).await? {
                tracing::info!(
                    "completed the files of an existing version left incomplete by a crash"
                );
            }
            return Ok(Outcome::AlreadyWritten { version });
        }
        let (headings, calls) = prepared?;

        let waiting = Instant::now();
        let slot = self
            .llm_slots
            .acquire()
            .await
            .map_err(|_| JobError::Stopping)?;
        let deadline = Instant::now() + JOB_BUDGET;
        let mut fields = Map::new();
        let mut usage = Usage::default();
        let mut requests = 0;
        let mut reasks = 0;
        // Waiting for the slot is waiting for the LLM, like pacing.
        let mut llm_time = waiting.elapsed();
        // Each call's tokens at its answering model's price; one unpriced model leaves the
        // article unpriced rather than under-counted.
        let mut cost_usd = Some(0.0);
        let mut models: Vec<String> = Vec::new();
        let mut flags: Vec<String> = Vec::new();
        let mut claims: Vec<String> = Vec::new();
        for call in &calls {
            let rules = review::Review {
                headline,
                prompt: &call.spec.wording,
                faithfulness: facts
                    .as_ref()
                    .filter(|_| self.faithfulness == Faithfulness::Retry),
                bounds: set.bounds,
            };
            let answer = self
                .llm
                .complete(set, call, deadline, |value| review::check(value, &rules))
                .await?;
            // `retry` named the claims in the re-asks and its flaws already (so a clean answer
            // has none); `flag` judges the accepted answer only now, so its claims cost no
            // extra request.
            let judged = match self.faithfulness {
                Faithfulness::Off => false,
                Faithfulness::Retry => !answer.flaws.is_empty(),
                Faithfulness::Flag => true,
            };
            if let Some(facts) = facts.as_ref().filter(|_| judged) {
                let (unsupported, flaws) =
                    review::unsupported_and_flaws(&answer.value, headline, facts);
                if self.faithfulness == Faithfulness::Flag {
                    flags.extend(flaws);
                }
                for claim in unsupported {
                    if !claims.contains(&claim) {
                        claims.push(claim);
                    }
                }
            }
            usage += answer.usage;
            requests += answer.requests;
            reasks += answer.asks.saturating_sub(1);
            llm_time += answer.waiting;
            cost_usd = cost_usd
                .zip(self.prices.cost(
                    &answer.model,
                    answer.usage.prompt_tokens,
                    answer.usage.completion_tokens,
                ))
                .map(|(sum, call)| sum + call);
            if !models.contains(&answer.model) {
                models.push(answer.model);
            }
            flags.extend(answer.flaws);
            if let Value::Object(part) = answer.value {
                fields.extend(part);
            }
        }
        // Every key was checked against the schemas, which the prompt set's loader matched
        // with the draft's fields; a failure here is a prompt-set bug, reported as such.
        let draft: Draft = serde_json::from_value(Value::Object(fields))
            .map_err(|e| JobError::Answers(e.to_string()))?;
        let provenance = Provenance {
            model: models.join(", "),
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            cost_usd,
            flags,
            unsupported_claims: claims,
        };
        let draft_flag = !provenance.flags.is_empty();
        let article =
            Article::assemble(headline, &draft, headings, version, provenance, Utc::now());
        let markdown = article.to_markdown()?;
        drop(slot);
        let created = self
            .store
            .create(id, version, markdown, headline.to_source_json(), job.force)
            .await?;
        if created == Created::AlreadyWritten {
            // Another host wrote this version while this one asked the LLM; theirs stands.
            tracing::info!("the version was written by another worker meanwhile; keeping it");
            return Ok(Outcome::AlreadyWritten { version });
        }
        self.metrics.article_written(
            version,
            usage.prompt_tokens,
            usage.completion_tokens,
            cost_usd,
        );
        tracing::info!(
            draft = draft_flag,
            requests,
            prompt_tokens = usage.prompt_tokens,
            completion_tokens = usage.completion_tokens,
            cost_usd,
            "article written"
        );
        Ok(Outcome::Written {
            version,
            draft: draft_flag,
            requests,
            usage,
            cost_usd,
            llm_time,
            reasks,
        })
    }
}
