//! Evaluating a prompt version on the site's own archive before a rollout: which articles to
//! judge, running the candidate through the worker's pipeline into a scratch folder, and
//! comparing it with a baseline version, side by side. Behind `rewriter eval`.
//!
//! ```text
//! plan:     prompt versions known? ─▶ reprocess::gather/select (the archive's sources)
//!           ─▶ only articles with a stored baseline (unless it is re-run)
//!           ─▶ sample::stratified (seeded; by source and language)
//! estimate: the candidate's prompts rendered for each sampled headline: tokens, cost
//! run:      per article, into a ContentStore on the scratch folder:
//!             baseline: the archive's versions/<id>/v<M>.md copied over (or re-run)
//!             candidate: Pipeline::rewrite(job for v<N>, force), as a worker would
//!             each result saved as results/<id>/v<N>.json: a rerun skips what is done
//! report:   report::Comparison ─▶ table or JSON; report::gate ─▶ exit code
//! ```
//!
//! An evaluation publishes nothing: its pipeline is built on the scratch folder, so the
//! archive's `versions/` and `articles/` are only read. Errors that mean "the command line asks
//! for something impossible" are told apart by [`EvalError::is_bad_input`], and are all found
//! before anything is written.

pub mod report;
pub mod sample;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use crate::article::parse_frontmatter;
use crate::check::audit::audit;
use crate::cost::PriceTable;
use crate::job::{ExternalId, Headline, Job, PromptVersion};
use crate::pipeline::{Disposition, JobError, Outcome, Pipeline};
use crate::prompts::{PromptError, PromptLibrary};
use crate::reprocess::{Criteria, gather, select};
use crate::store::{ContentStore, PLAN_FILE, StoreError};

use report::{ArticleResult, Status};

/// Articles judged when neither `--sample` nor a selector is given.
pub const DEFAULT_SAMPLE: usize = 50;

/// Above this many selected articles, `--sample` must say how many to judge: an evaluation
/// spends LLM time and money, and a selector that matches the whole archive is easy to type.
pub const MAX_UNSAMPLED: usize = 500;

/// How many stored articles are checked for a baseline at once.
const READ_AHEAD: usize = 16;

/// Why an evaluation cannot run or stopped.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("prompt version {version} does not exist (prompt sets: {known})")]
    UnknownVersion {
        version: PromptVersion,
        known: String,
    },
    #[error("the candidate and the baseline are both v{0}: name another --baseline")]
    SameVersion(PromptVersion),
    #[error("there is no prompt version before v{0} to compare with: name one with --baseline")]
    NoBaselineVersion(PromptVersion),
    #[error(
        "none of the {selected} selected article(s) has a stored v{version}: name another --baseline, or add --rerun-baseline to write it"
    )]
    NoBaseline {
        version: PromptVersion,
        selected: usize,
    },
    #[error("the archive at {0} holds no articles (no sources/<id>.json): nothing to evaluate")]
    EmptyArchive(PathBuf),
    #[error("no stored article matches the selection")]
    NothingSelected,
    #[error(
        "--sample {asked} is more than the {available} article(s) selected: ask for {available} or fewer"
    )]
    SampleTooLarge { asked: usize, available: usize },
    #[error(
        "{available} articles are selected: above {MAX_UNSAMPLED}, say how many to judge with --sample"
    )]
    SampleRequired { available: usize },
    #[error(
        "{path} holds an evaluation with other settings ({differs}): choose another --out, or remove that folder"
    )]
    OtherEvaluation { path: PathBuf, differs: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Prompt(#[from] PromptError),
    /// A job failed in a way that would stop a worker (the LLM is misconfigured, the scratch
    /// folder cannot be written): every further article would fail the same way.
    #[error("the evaluation stopped at article {id}: {source}")]
    Stopped { id: ExternalId, source: JobError },
    #[error("{path}: not an evaluation result: {reason}")]
    BadResult { path: PathBuf, reason: String },
}

impl EvalError {
    /// Whether the command line asked for something impossible (exit 2), as opposed to the
    /// evaluation not being able to run (exit 3).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Self::UnknownVersion { .. }
                | Self::SameVersion(_)
                | Self::NoBaselineVersion(_)
                | Self::NoBaseline { .. }
                | Self::NothingSelected
                | Self::SampleTooLarge { .. }
                | Self::SampleRequired { .. }
                | Self::OtherEvaluation { .. }
        )
    }
}

/// What the user asked to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub candidate: PromptVersion,
    /// `None`: the newest prompt version below the candidate.
    pub baseline: Option<PromptVersion>,
    /// Write the baseline again with the LLM instead of reading the archive's.
    pub rerun_baseline: bool,
    /// `None`: [`DEFAULT_SAMPLE`] without a selector, every selected article with one.
    pub sample: Option<usize>,
    pub seed: u64,
    pub ids: Vec<ExternalId>,
    pub since: Option<DateTime<Utc>>,
    pub source: Option<String>,
}

/// What an evaluation will judge, decided before anything is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub candidate: PromptVersion,
    pub baseline: PromptVersion,
    pub rerun_baseline: bool,
    pub seed: u64,
    /// Articles the selection matched (with a stored baseline unless it is re-run).
    pub selected: usize,
    /// The sample, in id order.
    pub headlines: Vec<Headline>,
    /// Selected articles that cannot be judged, and why.
    pub left_out: Vec<(ExternalId, String)>,
}

impl Plan {
    /// The parameters saved in the scratch folder's `eval.json`: a rerun into the same folder
    /// must have the same, or its results would mix two evaluations.
    pub fn record(&self) -> Value {
        json!({
            "candidate": self.candidate.get(),
            "baseline": self.baseline.get(),
            "rerunBaseline": self.rerun_baseline,
            "seed": self.seed,
            "ids": self.headlines.iter().map(|h| h.external_id.to_string()).collect::<Vec<_>>(),
        })
    }

    /// The prompt versions this evaluation asks the LLM for.
    pub fn versions_run(&self) -> Vec<PromptVersion> {
        if self.rerun_baseline {
            vec![self.baseline, self.candidate]
        } else {
            vec![self.candidate]
        }
    }
}

/// Opens the archive under `root` for reading. A folder without `sources/` is an empty
/// archive, and is left as it is (opening a store would create its folders).
pub async fn open_archive(root: &Path) -> Result<ContentStore, EvalError> {
    // A bucket is opened (and checked) whatever it holds; an empty one is found empty later.
    if !crate::store::s3::is_bucket(root) && !root.join("sources").is_dir() {
        return Err(EvalError::EmptyArchive(root.to_owned()));
    }
    Ok(ContentStore::open(root).await?)
}

/// Decides what to judge. Writes nothing.
pub async fn plan(
    archive: &ContentStore,
    library: &PromptLibrary,
    spec: &Spec,
) -> Result<Plan, EvalError> {
    let known = || {
        library
            .versions()
            .map(|v| format!("v{v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if library.get(spec.candidate).is_err() {
        return Err(EvalError::UnknownVersion {
            version: spec.candidate,
            known: known(),
        });
    }
    let baseline = match spec.baseline {
        Some(b) => b,
        None => library
            .versions()
            .filter(|v| *v < spec.candidate)
            .max()
            .ok_or(EvalError::NoBaselineVersion(spec.candidate))?,
    };
    if baseline == spec.candidate {
        return Err(EvalError::SameVersion(baseline));
    }
    // A baseline read from the archive needs no prompt set (an old one may be gone), only
    // articles written with it.
    let baseline_known = library.get(baseline).is_ok()
        || (!spec.rerun_baseline && archive.version_counts().await?.contains_key(&baseline));
    if !baseline_known {
        return Err(EvalError::UnknownVersion {
            version: baseline,
            known: known(),
        });
    }

    let (candidates, unusable) = gather(archive, &spec.ids).await?;
    if candidates.is_empty() && unusable.is_empty() && spec.ids.is_empty() {
        return Err(EvalError::EmptyArchive(archive.root().to_owned()));
    }
    let criteria = Criteria {
        target: spec.candidate,
        outdated: false,
        ids: spec.ids.clone(),
        since: spec.since,
        source: spec.source.clone(),
        // Every match is judged, whatever versions it has already.
        force: true,
    };
    let selection = select(candidates, &criteria);
    let mut left_out: Vec<(ExternalId, String)> =
        unusable.into_iter().map(|u| (u.id, u.reason)).collect();
    for id in selection.unknown {
        if !left_out.iter().any(|(u, _)| *u == id) {
            left_out.push((id, "no stored source".to_owned()));
        }
    }
    let matched = selection.chosen.len();
    if matched == 0 {
        return Err(EvalError::NothingSelected);
    }
    let chosen: Vec<Headline> = if spec.rerun_baseline {
        selection.chosen.into_iter().map(|c| c.headline).collect()
    } else {
        let checked: Vec<(Headline, bool)> = futures_util::stream::iter(selection.chosen)
            .map(|c| async move {
                let has = archive.has_version(c.id(), baseline).await?;
                Ok::<_, StoreError>((c.headline, has))
            })
            .buffered(READ_AHEAD)
            .try_collect()
            .await?;
        let mut with = Vec::new();
        for (headline, has) in checked {
            if has {
                with.push(headline);
            } else if !spec.ids.is_empty() {
                // Named one by one: say which cannot be compared. (From a sample, articles
                // without the baseline are simply not drawn.)
                left_out.push((
                    headline.external_id.clone(),
                    format!("no stored v{baseline}"),
                ));
            }
        }
        if with.is_empty() {
            return Err(EvalError::NoBaseline {
                version: baseline,
                selected: matched,
            });
        }
        with
    };
    let selected = chosen.len();
    let selectors = !spec.ids.is_empty() || spec.since.is_some() || spec.source.is_some();
    let k = match spec.sample {
        Some(k) if k > selected => {
            return Err(EvalError::SampleTooLarge {
                asked: k,
                available: selected,
            });
        }
        Some(k) => k,
        None if selectors && selected > MAX_UNSAMPLED => {
            return Err(EvalError::SampleRequired {
                available: selected,
            });
        }
        None if selectors => selected,
        None => DEFAULT_SAMPLE.min(selected),
    };
    Ok(Plan {
        candidate: spec.candidate,
        baseline,
        rerun_baseline: spec.rerun_baseline,
        seed: spec.seed,
        selected,
        headlines: sample::stratified(chosen, k, spec.seed),
        left_out,
    })
}

/// What an evaluation will ask of the LLM, before re-asks and retries.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub requests: u64,
    /// The rendered prompts, system message and schema, at four characters a token.
    pub prompt_tokens: u64,
    /// The calls' `max_tokens`: what the answers cannot exceed.
    pub max_completion_tokens: u64,
    /// Both at the current prices; `None` when the model has no price.
    pub max_cost_usd: Option<f64>,
}

/// Renders every call of each version the plan runs, for every sampled headline but those
/// `judged` already. `model` overrides the sets' own model, as `REWRITER_MODEL` does.
pub fn estimate(
    plan: &Plan,
    library: &PromptLibrary,
    model: Option<&str>,
    prices: &PriceTable,
    judged: &[ExternalId],
) -> Result<Estimate, EvalError> {
    let mut est = Estimate {
        requests: 0,
        prompt_tokens: 0,
        max_completion_tokens: 0,
        max_cost_usd: Some(0.0),
    };
    for version in plan.versions_run() {
        let set = library.get(version)?;
        let price = prices.get(model.unwrap_or(&set.model));
        for headline in plan
            .headlines
            .iter()
            .filter(|h| !judged.contains(&h.external_id))
        {
            // A headline the set cannot render fails at once in the run, asking nothing.
            let Ok(calls) = set.render(headline) else {
                continue;
            };
            for call in calls {
                let chars = call.system.text.chars().count()
                    + call.user.chars().count()
                    + call.spec.response_format.get().len();
                let prompt = (chars / 4) as u64;
                let completion = u64::from(call.spec.max_tokens);
                est.requests += 1;
                est.prompt_tokens += prompt;
                est.max_completion_tokens += completion;
                est.max_cost_usd = est
                    .max_cost_usd
                    .zip(price)
                    .map(|(sum, p)| sum + p.cost(prompt, completion));
            }
        }
    }
    Ok(est)
}

/// Both sides' results, in id order.
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    pub baseline: Vec<ArticleResult>,
    pub candidate: Vec<ArticleResult>,
    /// Results found in the scratch folder from an earlier run, not asked again.
    pub resumed: usize,
}

/// The articles an earlier run of the same evaluation judged already in the scratch folder
/// `dir`, which will not be asked again; none when `dir` holds no evaluation (it is then left
/// as it is). A folder holding another evaluation is refused.
pub async fn judged_before(dir: &Path, plan: &Plan) -> Result<Vec<ExternalId>, EvalError> {
    if !dir.join(PLAN_FILE).is_file() {
        return Ok(Vec::new());
    }
    let scratch = ContentStore::open(dir).await?;
    same_evaluation(&scratch, plan).await?;
    let mut judged = Vec::new();
    for headline in &plan.headlines {
        let mut done = true;
        for version in plan.versions_run() {
            done &= scratch
                .read_result(&headline.external_id, version)
                .await?
                .is_some();
        }
        if done {
            judged.push(headline.external_id.clone());
        }
    }
    Ok(judged)
}

/// Checks the scratch folder against the plan: a new folder gets its `eval.json`; one that
/// holds the same evaluation is resumed; one that holds another is refused.
pub async fn prepare_scratch(scratch: &ContentStore, plan: &Plan) -> Result<(), EvalError> {
    if same_evaluation(scratch, plan).await? {
        return Ok(());
    }
    scratch
        .save_plan(plan.record().to_string().into_bytes())
        .await
        .map_err(EvalError::from)
}

/// Whether the scratch folder holds this evaluation already (`false`: none); another is an
/// error.
async fn same_evaluation(scratch: &ContentStore, plan: &Plan) -> Result<bool, EvalError> {
    let record = plan.record();
    if let Some(bytes) = scratch.read_plan().await? {
        let earlier: Value = serde_json::from_slice(&bytes).map_err(|e| EvalError::BadResult {
            path: scratch.plan_path(),
            reason: e.to_string(),
        })?;
        let differs: Vec<&str> = ["candidate", "baseline", "rerunBaseline", "ids"]
            .into_iter()
            .filter(|k| earlier.get(k) != record.get(k))
            .collect();
        if !differs.is_empty() {
            return Err(EvalError::OtherEvaluation {
                path: scratch.root().to_owned(),
                differs: differs.join(", "),
            });
        }
        return Ok(true);
    }
    Ok(false)
}

/// Judges every sampled article with both versions, `concurrency` articles at once, through
/// `pipeline` (built on the scratch folder: [`Pipeline::store`]). `archive` is only read.
/// `done` is called once per article.
pub async fn run(
    plan: &Plan,
    archive: &ContentStore,
    pipeline: &Pipeline,
    prices: &PriceTable,
    concurrency: usize,
    done: &(dyn Fn(&ExternalId) + Sync),
) -> Result<Results, EvalError> {
    let pairs: Vec<((ArticleResult, bool), (ArticleResult, bool))> =
        // Indices rather than `&Headline`s: a closure over borrowed items trips the compiler's
        // higher-ranked lifetime check once the command's future is spawned.
        futures_util::stream::iter(0..plan.headlines.len())
            .map(|i| async move {
                let headline = &plan.headlines[i];
                let base = if plan.rerun_baseline {
                    run_one(pipeline, headline, plan.baseline).await?
                } else {
                    from_archive(archive, pipeline.store(), headline, plan.baseline, prices)
                        .await?
                };
                let cand = run_one(pipeline, headline, plan.candidate).await?;
                done(&headline.external_id);
                Ok::<_, EvalError>((base, cand))
            })
            .buffer_unordered(concurrency.max(1))
            .try_collect()
            .await?;
    let mut results = Results {
        baseline: Vec::new(),
        candidate: Vec::new(),
        resumed: 0,
    };
    for ((base, base_resumed), (cand, cand_resumed)) in pairs {
        results.resumed += usize::from(base_resumed && cand_resumed);
        results.baseline.push(base);
        results.candidate.push(cand);
    }
    results.baseline.sort_by(|a, b| a.id.cmp(&b.id));
    results.candidate.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(results)
}

/// A result saved by an earlier run into this scratch folder.
async fn saved(
    scratch: &ContentStore,
    id: &ExternalId,
    version: PromptVersion,
) -> Result<Option<ArticleResult>, EvalError> {
    let Some(bytes) = scratch.read_result(id, version).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| EvalError::BadResult {
            path: scratch.result_path(id, version),
            reason: e.to_string(),
        })
}

/// Saves a new result; the flag says it was not found done.
async fn keep(
    scratch: &ContentStore,
    id: &ExternalId,
    version: PromptVersion,
    result: ArticleResult,
) -> Result<(ArticleResult, bool), EvalError> {
    let json = serde_json::to_vec_pretty(&result).map_err(|e| EvalError::BadResult {
        path: scratch.result_path(id, version),
        reason: e.to_string(),
    })?;
    scratch.save_result(id, version, json).await?;
    Ok((result, false))
}

/// One article with one version, through the pipeline as a worker would run its job; the
/// flag says whether it was found done already.
async fn run_one(
    pipeline: &Pipeline,
    headline: &Headline,
    version: PromptVersion,
) -> Result<(ArticleResult, bool), EvalError> {
    let scratch = pipeline.store();
    let id = &headline.external_id;
    if let Some(done) = saved(scratch, id, version).await? {
        return Ok((done, true));
    }
    // `force`: a version left in the scratch folder by a run that died before saving its
    // result is written again, so that every result has its reasks and LLM time.
    let job = Job::new(headline.clone(), Some(version), true);
    let (reasks, llm_time, cost_usd) = match pipeline.rewrite(&job).await {
        Ok(Outcome::Written {
            reasks,
            llm_time,
            cost_usd,
            ..
        }) => (Some(reasks), Some(llm_time), cost_usd),
        Ok(Outcome::AlreadyWritten { .. }) => (None, None, None),
        Err(e) if e.disposition() == Disposition::DeadLetter => {
            let failed = ArticleResult {
                reason: Some(e.to_string()),
                ..ArticleResult::new(id.to_string(), version.get(), Status::Failed, false)
            };
            return keep(scratch, id, version, failed).await;
        }
        Err(source) => {
            return Err(EvalError::Stopped {
                id: id.clone(),
                source,
            });
        }
    };
    let text = scratch.read_version(id, version).await?;
    let mut result = measured(id, version, &text, false);
    result.reasks = reasks;
    result.llm_ms = llm_time.map(millis);
    result.cost_usd = cost_usd;
    keep(scratch, id, version, result).await
}

/// The baseline as the archive stores it, copied into the scratch folder beside the
/// candidate, so that `rewriter diff` can show the two there.
async fn from_archive(
    archive: &ContentStore,
    scratch: &ContentStore,
    headline: &Headline,
    version: PromptVersion,
    prices: &PriceTable,
) -> Result<(ArticleResult, bool), EvalError> {
    let id = &headline.external_id;
    if let Some(done) = saved(scratch, id, version).await? {
        return Ok((done, true));
    }
    let text = archive.read_version(id, version).await?;
    let mut result = measured(id, version, &text, true);
    // Priced like the candidate, at today's prices, so that a price change is not mistaken
    // for a change of prompts.
    result.cost_usd = prices.cost_as_recorded(
        &result.model,
        result.prompt_tokens,
        result.completion_tokens,
    );
    scratch
        .save(id, version, text, headline.to_source_json())
        .await?;
    keep(scratch, id, version, result).await
}

/// What an article file says about itself: draft or not, flags, claims, tokens, sections.
fn measured(
    id: &ExternalId,
    version: PromptVersion,
    text: &str,
    from_archive: bool,
) -> ArticleResult {
    let report = audit(text);
    let status = if report.draft {
        Status::Draft
    } else {
        Status::Valid
    };
    let mut result = ArticleResult {
        flags: report.flags,
        unsupported_claims: report.unsupported_claims,
        section_chars: report.sections.iter().map(|s| s.chars as u64).collect(),
        ..ArticleResult::new(id.to_string(), version.get(), status, from_archive)
    };
    match parse_frontmatter(text) {
        Ok(fm) => {
            result.model = fm.ai.model;
            result.prompt_tokens = fm.ai.prompt_tokens;
            result.completion_tokens = fm.ai.completion_tokens;
        }
        Err(e) => {
            // A stored article that does not read cannot be published either.
            result.status = Status::Failed;
            result.reason = Some(format!("the stored article does not read: {e}"));
        }
    }
    result
}

/// The default scratch folder: `<archive>/evals/<UTC time>/`.
pub fn default_scratch(archive_root: &Path, now: DateTime<Utc>) -> PathBuf {
    archive_root
        .join("evals")
        .join(now.format("%Y-%m-%dT%H-%M-%SZ").to_string())
}

/// A duration as whole milliseconds, for results.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
