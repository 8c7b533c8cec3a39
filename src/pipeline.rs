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
//! [`Pipeline::rewrite`] reads as this diagram; beside it, named: the early existence check
//! (a speed trick), the faithfulness policy ([`crate::config::Faithfulness`]) and the
//! bookkeeping of an article's tokens, cost, models and flags.
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

use crate::article::{Article, ArticleError, Draft, Provenance};
use crate::config::{Faithfulness, Settings};
use crate::cost::PriceTable;
use crate::job::{Headline, InvalidJob, Job, PromptVersion};
use crate::llm::{Answer, LlmClient, LlmError, Usage};
use crate::metrics::Metrics;
use crate::prompts::{PromptError, PromptLibrary, PromptSet, RenderedCall};
use crate::review::{self, facts::Facts};
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
    /// Loads the prompt sets, opens the store and builds the LLM client, all counted in the
    /// caller's `metrics`; at most `settings.concurrency` jobs at the LLM at once.
    pub async fn build(settings: &Settings, metrics: Arc<Metrics>) -> Result<Self, JobError> {
        let prompts = PromptLibrary::load(&settings.prompts_dir, settings.prompt_version)?;
        let store = ContentStore::open(&settings.out_dir)
            .await
            .map_err(JobError::Archive)?;
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

    /// The LLM client, for its circuit breaker and start check.
    pub fn llm(&self) -> &LlmClient {
        &self.llm
    }

    pub fn prompts(&self) -> &PromptLibrary {
        &self.prompts
    }

    /// The prompt versions this pipeline rewrites with, for `/readyz`.
    pub fn describe_prompts(&self) -> String {
        self.prompts.describe()
    }

    pub fn store(&self) -> &ContentStore {
        &self.store
    }

    /// Rewrites one headline into one article version: the module's diagram, step by step.
    #[tracing::instrument(name = "job", skip_all, fields(external_id = %job.id(), prompt_version = tracing::field::Empty))]
    pub async fn rewrite(&self, job: &Job) -> Result<Outcome, JobError> {
        let version = self.prompts.version_for(job.prompt_version);
        tracing::Span::current().record("prompt_version", version.get());
        let set = self.prompts.get(version)?;
        let headline = &job.headline;

        let on_disk = start_early_existence_check(&self.store, job, version);
        let policy = FaithfulnessPolicy::new(self.faithfulness, headline);
        let prepared = set
            .language(&headline.lang)
            .and_then(|headings| Ok((headings, set.render(headline)?)));
        if on_disk.await? {
            return self.already_written(job, version).await;
        }
        let (headings, calls) = prepared?;

        let waiting = Instant::now();
        let slot = self
            .llm_slots
            .acquire()
            .await
            .map_err(|_| JobError::Stopping)?;
        // Waiting for the slot is waiting for the LLM, like pacing.
        let tally = self
            .ask(set, &calls, headline, &policy, waiting.elapsed())
            .await?;
        let written = tally.outcome(version);
        let (draft, provenance) = tally.finish()?;
        let article =
            Article::assemble(headline, &draft, headings, version, provenance, Utc::now());
        let markdown = article.to_markdown()?;
        drop(slot);

        self.write_article(job, version, markdown, written).await
    }

    /// llm → review: one answer per call, within the job's budget, each checked against its
    /// schema and the article rules, judged by the faithfulness policy, and tallied.
    async fn ask(
        &self,
        set: &PromptSet,
        calls: &[RenderedCall],
        headline: &Headline,
        policy: &FaithfulnessPolicy,
        waited_for_slot: Duration,
    ) -> Result<Tally, JobError> {
        let deadline = Instant::now() + JOB_BUDGET;
        let mut tally = Tally::new(waited_for_slot);
        for call in calls {
            let rules = review::Review {
                headline,
                prompt: &call.spec.wording,
                faithfulness: policy.facts_for_reasks(),
                bounds: set.bounds,
            };
            let answer = self
                .llm
                .complete(set, call, deadline, |value| review::check(value, &rules))
                .await?;
            policy.judge(&answer, headline, &mut tally);
            tally.add(answer, &self.prices);
        }
        Ok(tally)
    }

    /// The version is on disk already: completes its files if a crash left them incomplete.
    async fn already_written(
        &self,
        job: &Job,
        version: PromptVersion,
    ) -> Result<Outcome, JobError> {
        let source = job.headline.to_source_json();
        if self
            .store
            .ensure_complete(job.id(), version, source)
            .await?
        {
            tracing::info!("completed the files of an existing version left incomplete by a crash");
        }
        Ok(Outcome::AlreadyWritten { version })
    }

    /// Writes the article, counts and logs it as `written`; another host's copy of the
    /// version stands.
    async fn write_article(
        &self,
        job: &Job,
        version: PromptVersion,
        markdown: String,
        written: Outcome,
    ) -> Result<Outcome, JobError> {
        let created = self
            .store
            .create(
                job.id(),
                version,
                markdown,
                job.headline.to_source_json(),
                job.force,
            )
            .await?;
        if created == Created::AlreadyWritten {
            // Another host wrote this version while this one asked the LLM; theirs stands.
            tracing::info!("the version was written by another worker meanwhile; keeping it");
            return Ok(Outcome::AlreadyWritten { version });
        }
        if let Outcome::Written {
            draft,
            requests,
            usage,
            cost_usd,
            ..
        } = &written
        {
            self.metrics.article_written(
                version,
                usage.prompt_tokens,
                usage.completion_tokens,
                *cost_usd,
            );
            tracing::info!(
                draft,
                requests,
                prompt_tokens = usage.prompt_tokens,
                completion_tokens = usage.completion_tokens,
                cost_usd,
                "article written"
            );
        }
        Ok(written)
    }
}

/// A speed trick: whether the job's version is on disk is asked of the store (its blocking
/// pool) now, before the headline's facts and prompts are prepared, and the answer awaited
/// after, so that the task seldom sleeps for it. A job whose version exists wastes the
/// preparation. A forced job asks nothing (and finds nothing).
fn start_early_existence_check(
    store: &ContentStore,
    job: &Job,
    version: PromptVersion,
) -> impl Future<Output = Result<bool, StoreError>> + use<> {
    let on_disk = (!job.force).then(|| store.has_version(job.id(), version));
    async move {
        match on_disk {
            Some(on_disk) => on_disk.await,
            None => Ok(false),
        }
    }
}

/// `REWRITER_FAITHFULNESS` applied to one job: which answers are judged against the
/// headline's facts, and whether their flaws become flags.
struct FaithfulnessPolicy {
    mode: Faithfulness,
    /// Read only when some check uses them.
    facts: Option<Facts>,
}

impl FaithfulnessPolicy {
    fn new(mode: Faithfulness, headline: &Headline) -> Self {
        let facts = (mode != Faithfulness::Off).then(|| Facts::of_headline(headline));
        Self { mode, facts }
    }

    /// The facts the article rules judge each answer by, so that an unfaithful answer is
    /// asked for again (`retry` only).
    fn facts_for_reasks(&self) -> Option<&Facts> {
        self.facts
            .as_ref()
            .filter(|_| self.mode == Faithfulness::Retry)
    }

    /// Records the unsupported claims of an accepted answer (and, under `flag`, its flaws).
    /// `retry` named the claims in the re-asks and its flaws already (so a clean answer has
    /// none); `flag` judges the accepted answer only now, so its claims cost no extra request.
    fn judge(&self, answer: &Answer, headline: &Headline, tally: &mut Tally) {
        let judged = match self.mode {
            Faithfulness::Off => false,
            Faithfulness::Retry => !answer.flaws.is_empty(),
            Faithfulness::Flag => true,
        };
        let Some(facts) = self.facts.as_ref().filter(|_| judged) else {
            return;
        };
        let (unsupported, flaws) = review::unsupported_and_flaws(&answer.value, headline, facts);
        if self.mode == Faithfulness::Flag {
            tally.flags.extend(flaws);
        }
        for claim in unsupported {
            if !tally.claims.contains(&claim) {
                tally.claims.push(claim);
            }
        }
    }
}

/// The bookkeeping of one job's answers: their fields, what they cost, who answered, and
/// what is wrong with them.
struct Tally {
    fields: Map<String, Value>,
    usage: Usage,
    requests: u32,
    reasks: u32,
    llm_time: Duration,
    /// Each call's tokens at its answering model's price; one unpriced model leaves the
    /// article unpriced rather than under-counted.
    cost_usd: Option<f64>,
    models: Vec<String>,
    flags: Vec<String>,
    claims: Vec<String>,
}

impl Tally {
    fn new(llm_time: Duration) -> Self {
        Self {
            fields: Map::new(),
            usage: Usage::default(),
            requests: 0,
            reasks: 0,
            llm_time,
            cost_usd: Some(0.0),
            models: Vec::new(),
            flags: Vec::new(),
            claims: Vec::new(),
        }
    }

    fn add(&mut self, answer: Answer, prices: &PriceTable) {
        self.usage += answer.usage;
        self.requests += answer.requests;
        self.reasks += answer.asks.saturating_sub(1);
        self.llm_time += answer.waiting;
        self.cost_usd = self
            .cost_usd
            .zip(prices.cost(
                &answer.model,
                answer.usage.prompt_tokens,
                answer.usage.completion_tokens,
            ))
            .map(|(sum, call)| sum + call);
        if !self.models.contains(&answer.model) {
            self.models.push(answer.model);
        }
        self.flags.extend(answer.flaws);
        if let Value::Object(part) = answer.value {
            self.fields.extend(part);
        }
    }

    /// What the job spent, as the outcome of writing its article as `version`.
    fn outcome(&self, version: PromptVersion) -> Outcome {
        Outcome::Written {
            version,
            draft: !self.flags.is_empty(),
            requests: self.requests,
            usage: self.usage,
            cost_usd: self.cost_usd,
            llm_time: self.llm_time,
            reasks: self.reasks,
        }
    }

    /// The draft the answers make, and its provenance.
    fn finish(self) -> Result<(Draft, Provenance), JobError> {
        // Every key was checked against the schemas, which the prompt set's loader matched
        // with the draft's fields; a failure here is a prompt-set bug, reported as such.
        let draft: Draft = serde_json::from_value(Value::Object(self.fields))
            .map_err(|e| JobError::Answers(e.to_string()))?;
        let provenance = Provenance {
            model: self.models.join(", "),
            prompt_tokens: self.usage.prompt_tokens,
            completion_tokens: self.usage.completion_tokens,
            cost_usd: self.cost_usd,
            flags: self.flags,
            unsupported_claims: self.claims,
        };
        Ok((draft, provenance))
    }
}
