//! The side-by-side report of an evaluation, and its gate. Pure: per-article results in, a
//! [`Comparison`] out, printed as a plain table ([`Comparison::table`]) or one JSON object
//! ([`Comparison::to_json`]); [`gate`] says which of the user's thresholds the candidate
//! crossed.
//!
//! Rates and counts are over the sampled articles; tokens, cost, unsupported claims and
//! section lengths are per *written* article (a failed job has no article to measure); re-asks
//! and LLM time exist only for a side that was run (the archive does not record them).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cost::round_usd;

/// What became of one article with one prompt version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Written and fit to publish.
    Valid,
    /// Written with `draft: true`.
    Draft,
    /// Not written: the job would have been dead-lettered.
    Failed,
}

/// One article with one prompt version: what the evaluation saved in
/// `results/<id>/v<N>.json` of its scratch folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArticleResult {
    pub id: String,
    pub version: u32,
    pub status: Status,
    /// Why it failed (the dead-letter reason); `None` unless failed.
    #[serde(default)]
    pub reason: Option<String>,
    /// `true`: read from the archive's stored version; `false`: written by this evaluation.
    pub from_archive: bool,
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default)]
    pub unsupported_claims: Vec<String>,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    /// At the current prices; `None` when a model has no price.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// `None` when read from the archive.
    #[serde(default)]
    pub reasks: Option<u32>,
    /// LLM time in milliseconds (requests, backoff, pacing); `None` when read from the archive.
    #[serde(default)]
    pub llm_ms: Option<u64>,
    /// Characters of each body section, in order.
    #[serde(default)]
    pub section_chars: Vec<u64>,
}

impl ArticleResult {
    /// A result with nothing measured yet: no flags, claims, model, tokens, cost or times.
    pub fn new(id: String, version: u32, status: Status, from_archive: bool) -> Self {
        Self {
            id,
            version,
            status,
            reason: None,
            from_archive,
            flags: Vec::new(),
            unsupported_claims: Vec::new(),
            model: String::new(),
            prompt_tokens: 0,
            completion_tokens: 0,
            cost_usd: None,
            reasks: None,
            llm_ms: None,
            section_chars: Vec::new(),
        }
    }

    pub fn written(&self) -> bool {
        self.status != Status::Failed
    }
}

/// The names of the body's four sections, in order, for the report.
pub const SECTIONS: [&str; 4] = ["overview", "story", "commentary", "impact"];

/// One side's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub version: u32,
    /// Read from the archive rather than run.
    pub from_archive: bool,
    pub articles: usize,
    pub valid: usize,
    pub drafted: usize,
    pub failed: usize,
    /// `(id, reason)` of each failure.
    pub failures: Vec<(String, String)>,
    /// Draft reasons by kind ([`kind_of`]), with how many articles have each.
    pub draft_kinds: BTreeMap<String, usize>,
    pub claims_per_article: Option<f64>,
    pub reasks_per_article: Option<f64>,
    /// Mean characters per section ([`SECTIONS`]).
    pub section_chars: Vec<Option<f64>>,
    pub prompt_tokens_per_article: Option<f64>,
    pub completion_tokens_per_article: Option<f64>,
    /// `None` when nothing was written or an article could not be priced.
    pub cost_per_article: Option<f64>,
    pub llm_ms_p50: Option<u64>,
    pub llm_ms_p95: Option<u64>,
}

impl Summary {
    /// Sums up one side's results.
    pub fn of(version: u32, results: &[&ArticleResult]) -> Self {
        let written: Vec<&&ArticleResult> = results.iter().filter(|r| r.written()).collect();
        let mean = |values: Vec<f64>| -> Option<f64> {
            (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
        };
        let mut draft_kinds = BTreeMap::new();
        for r in results.iter().filter(|r| r.status == Status::Draft) {
            let mut kinds: Vec<String> = r.flags.iter().map(|f| kind_of(f)).collect();
            kinds.sort();
            kinds.dedup();
            for k in kinds {
                *draft_kinds.entry(k).or_insert(0) += 1;
            }
        }
        let run: Vec<&&ArticleResult> = results.iter().filter(|r| !r.from_archive).collect();
        let reasks: Vec<f64> = run.iter().filter_map(|r| r.reasks).map(f64::from).collect();
        let mut llm_ms: Vec<u64> = written.iter().filter_map(|r| r.llm_ms).collect();
        llm_ms.sort_unstable();
        let costs: Option<Vec<f64>> = written.iter().map(|r| r.cost_usd).collect();
        Self {
            version,
            from_archive: !results.is_empty() && run.is_empty(),
            articles: results.len(),
            valid: results.iter().filter(|r| r.status == Status::Valid).count(),
            drafted: results.iter().filter(|r| r.status == Status::Draft).count(),
            failed: results.len() - written.len(),
            failures: results
                .iter()
                .filter(|r| !r.written())
                .map(|r| (r.id.clone(), r.reason.clone().unwrap_or_default()))
                .collect(),
            draft_kinds,
            claims_per_article: mean(
                written
                    .iter()
                    .map(|r| r.unsupported_claims.len() as f64)
                    .collect(),
            ),
            reasks_per_article: (!run.is_empty()).then(|| mean(reasks)).flatten(),
            section_chars: (0..SECTIONS.len())
                .map(|i| {
                    mean(
                        written
                            .iter()
                            .filter_map(|r| r.section_chars.get(i).map(|&c| c as f64))
                            .collect(),
                    )
                })
                .collect(),
            prompt_tokens_per_article: mean(
                written.iter().map(|r| r.prompt_tokens as f64).collect(),
            ),
            completion_tokens_per_article: mean(
                written.iter().map(|r| r.completion_tokens as f64).collect(),
            ),
            cost_per_article: costs.and_then(mean),
            llm_ms_p50: percentile(&llm_ms, 50),
            llm_ms_p95: percentile(&llm_ms, 95),
        }
    }

    /// Drafted articles over all sampled ones.
    pub fn draft_rate(&self) -> f64 {
        ratio(self.drafted, self.articles)
    }

    pub fn failure_rate(&self) -> f64 {
        ratio(self.failed, self.articles)
    }
}

fn ratio(n: usize, of: usize) -> f64 {
    if of == 0 { 0.0 } else { n as f64 / of as f64 }
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// A draft reason without its field and figures, so that reasons of the same kind count
/// together: `overview: figures not in the news item: 2031` → `figures not in the news
/// item`; `story[1]: 1400 characters; keep it under 1200` → `N characters`.
pub fn kind_of(flag: &str) -> String {
    let problem = flag.split_once(": ").map_or(flag, |(_, p)| p);
    let end = problem.find([':', ';', '(']).unwrap_or(problem.len());
    let mut kind = String::new();
    let mut in_number = false;
    for c in problem[..end].trim().chars() {
        if c.is_ascii_digit() {
            if !in_number {
                kind.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            kind.push(c);
        }
    }
    kind
}

/// How one article moved between the sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: String,
    pub reasons: Vec<String>,
}

/// Baseline and candidate side by side, and the articles that moved.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub baseline: Summary,
    pub candidate: Summary,
    pub worse: Vec<Change>,
    pub better: Vec<Change>,
}

impl Comparison {
    /// Pairs the results by id; an id on one side only is not compared.
    pub fn of(
        baseline_version: u32,
        candidate_version: u32,
        baseline: &[ArticleResult],
        candidate: &[ArticleResult],
    ) -> Self {
        let base: BTreeMap<&str, &ArticleResult> =
            baseline.iter().map(|r| (r.id.as_str(), r)).collect();
        let mut worse = Vec::new();
        let mut better = Vec::new();
        let mut paired_base = Vec::new();
        let mut paired_cand = Vec::new();
        for cand in candidate {
            let Some(base) = base.get(cand.id.as_str()) else {
                continue;
            };
            paired_base.push(*base);
            paired_cand.push(cand);
            let (w, b) = moved(base, cand);
            if !w.is_empty() {
                worse.push(Change {
                    id: cand.id.clone(),
                    reasons: w,
                });
            } else if !b.is_empty() {
                better.push(Change {
                    id: cand.id.clone(),
                    reasons: b,
                });
            }
        }
        Self {
            baseline: Summary::of(baseline_version, &paired_base),
            candidate: Summary::of(candidate_version, &paired_cand),
            worse,
            better,
        }
    }

    /// The plain table a person reads; `diff` is the command that shows one article's two
    /// versions, with `{id}` in place of the id.
    pub fn table(&self, diff: &str) -> String {
        let (b, c) = (&self.baseline, &self.candidate);
        let mut out = String::new();
        let head = |s: &Summary| {
            format!(
                "v{} ({})",
                s.version,
                if s.from_archive { "archive" } else { "run" }
            )
        };
        let _ = writeln!(out, "{:<44}{:>16}{:>16}", "", head(b), head(c));
        // One row: a name, and the cell of each side.
        let mut row = |name: &str, cell: &dyn Fn(&Summary) -> String| {
            let (bv, cv) = (cell(b), cell(c));
            let _ = writeln!(out, "{name:<44}{bv:>16}{cv:>16}");
        };
        row("articles", &|s| s.articles.to_string());
        row("valid", &|s| count(s.valid, s.articles));
        row("drafted", &|s| count(s.drafted, s.articles));
        row("failed", &|s| count(s.failed, s.articles));
        let kinds: std::collections::BTreeSet<&String> =
            b.draft_kinds.keys().chain(c.draft_kinds.keys()).collect();
        for kind in kinds {
            row(&format!("  draft: {}", shorten(kind, 34)), &|s| {
                s.draft_kinds.get(kind).copied().unwrap_or(0).to_string()
            });
        }
        row("unsupported claims / article", &|s| {
            number(s.claims_per_article, 2)
        });
        row("re-asks / article", &|s| number(s.reasks_per_article, 2));
        for (i, name) in SECTIONS.iter().enumerate() {
            row(&format!("{name} characters (mean)"), &|s| {
                number(s.section_chars.get(i).copied().flatten(), 0)
            });
        }
        row("prompt tokens / article", &|s| {
            number(s.prompt_tokens_per_article, 0)
        });
        row("completion tokens / article", &|s| {
            number(s.completion_tokens_per_article, 0)
        });
        row("cost / article (USD)", &|s| usd(s.cost_per_article));
        row("LLM time p50", &|s| millis(s.llm_ms_p50));
        row("LLM time p95", &|s| millis(s.llm_ms_p95));
        for s in [b, c] {
            for (id, reason) in &s.failures {
                let _ = writeln!(out, "failed with v{}: {id}: {reason}", s.version);
            }
        }
        let mut changes = |title: &str, list: &[Change]| {
            let _ = writeln!(out, "\n{title}: {}", list.len());
            for ch in list {
                let _ = writeln!(out, "  {}: {}", ch.id, ch.reasons.join("; "));
                let _ = writeln!(out, "    {}", diff.replace("{id}", &ch.id));
            }
        };
        changes(&format!("worse with v{}", c.version), &self.worse);
        changes(&format!("better with v{}", c.version), &self.better);
        out
    }

    /// One JSON object for machines; `diff` as for [`Self::table`].
    pub fn to_json(&self, diff: &str) -> Value {
        let side = |s: &Summary| {
            json!({
                "version": s.version,
                "source": if s.from_archive { "archive" } else { "run" },
                "articles": s.articles,
                "valid": s.valid,
                "drafted": s.drafted,
                "failed": s.failed,
                "draftRate": s.draft_rate(),
                "failures": s.failures.iter()
                    .map(|(id, reason)| json!({"id": id, "reason": reason}))
                    .collect::<Vec<_>>(),
                "draftReasons": s.draft_kinds,
                "unsupportedClaimsPerArticle": s.claims_per_article,
                "reasksPerArticle": s.reasks_per_article,
                "sectionChars": SECTIONS.iter().zip(&s.section_chars)
                    .map(|(name, chars)| (name.to_string(), json!(chars.map(f64::round))))
                    .collect::<serde_json::Map<_, _>>(),
                "promptTokensPerArticle": s.prompt_tokens_per_article,
                "completionTokensPerArticle": s.completion_tokens_per_article,
                "costPerArticleUsd": s.cost_per_article.map(round_usd),
                "llmMsP50": s.llm_ms_p50,
                "llmMsP95": s.llm_ms_p95,
            })
        };
        let changes = |list: &[Change]| {
            list.iter()
                .map(|ch| {
                    json!({
                        "id": ch.id,
                        "reasons": ch.reasons,
                        "diff": diff.replace("{id}", &ch.id),
                    })
                })
                .collect::<Vec<_>>()
        };
        json!({
            "baseline": side(&self.baseline),
            "candidate": side(&self.candidate),
            "worse": changes(&self.worse),
            "better": changes(&self.better),
        })
    }
}

/// What made an article worse, and what made it better, from `base` to `cand`.
fn moved(base: &ArticleResult, cand: &ArticleResult) -> (Vec<String>, Vec<String>) {
    let mut worse = Vec::new();
    let mut better = Vec::new();
    match (base.status, cand.status) {
        (Status::Valid, Status::Draft) => worse.push(format!(
            "published → draft ({})",
            cand.flags.first().map_or("", String::as_str)
        )),
        (Status::Valid | Status::Draft, Status::Failed) => worse.push(format!(
            "failed: {}",
            cand.reason.as_deref().unwrap_or("unknown")
        )),
        (Status::Draft, Status::Valid) => better.push("draft → published".to_owned()),
        (Status::Failed, Status::Valid | Status::Draft) => {
            better.push(format!("written (failed with v{})", base.version));
        }
        _ => {}
    }
    if cand.written() && base.written() {
        let new: Vec<&str> = cand
            .unsupported_claims
            .iter()
            .filter(|c| !base.unsupported_claims.contains(c))
            .map(String::as_str)
            .collect();
        let gone: Vec<&str> = base
            .unsupported_claims
            .iter()
            .filter(|c| !cand.unsupported_claims.contains(c))
            .map(String::as_str)
            .collect();
        if !new.is_empty() {
            worse.push(format!("new unsupported claims: {}", new.join(", ")));
        }
        if !gone.is_empty() {
            better.push(format!("unsupported claims gone: {}", gone.join(", ")));
        }
    }
    (worse, better)
}

/// The limits of a CI gate; `None` checks nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds {
    /// Most the draft rate may rise, in absolute terms (0.05: five points).
    pub max_draft_rate_increase: Option<f64>,
    /// Most the cost per article may rise, relative (0.2: by a fifth). Tokens per article
    /// stand in when a side cannot be priced.
    pub max_cost_increase: Option<f64>,
    /// Most candidate articles that may fail.
    pub max_failures: Option<usize>,
    /// Most the unsupported claims per article may rise, in absolute terms.
    pub max_claims_increase: Option<f64>,
    /// Most articles that may get worse.
    pub max_worse: Option<usize>,
}

/// The thresholds the candidate crossed, each as a sentence; empty when it passes.
pub fn gate(cmp: &Comparison, limits: &Thresholds) -> Vec<String> {
    let (b, c) = (&cmp.baseline, &cmp.candidate);
    let mut crossed = Vec::new();
    if let Some(max) = limits.max_draft_rate_increase {
        let rise = c.draft_rate() - b.draft_rate();
        if rise > max + f64::EPSILON {
            crossed.push(format!(
                "draft rate rose from {:.1}% to {:.1}% (+{:.1} points; at most +{:.1} allowed by --max-draft-rate-increase)",
                b.draft_rate() * 100.0,
                c.draft_rate() * 100.0,
                rise * 100.0,
                max * 100.0
            ));
        }
    }
    if let Some(max) = limits.max_cost_increase {
        let (before, after, what) = match (b.cost_per_article, c.cost_per_article) {
            (Some(x), Some(y)) => (x, y, "cost per article"),
            _ => (tokens(b), tokens(c), "tokens per article (unpriced)"),
        };
        let rise = if before > 0.0 {
            after / before - 1.0
        } else if after > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        if rise > max + f64::EPSILON {
            crossed.push(format!(
                "{what} rose by {:.0}% (at most {:.0}% allowed by --max-cost-increase)",
                rise * 100.0,
                max * 100.0
            ));
        }
    }
    if let Some(max) = limits.max_failures
        && c.failed > max
    {
        crossed.push(format!(
            "{} article(s) failed with v{} (at most {max} allowed by --max-failures)",
            c.failed, c.version
        ));
    }
    if let Some(max) = limits.max_claims_increase {
        let rise = c.claims_per_article.unwrap_or(0.0) - b.claims_per_article.unwrap_or(0.0);
        if rise > max + f64::EPSILON {
            crossed.push(format!(
                "unsupported claims per article rose by {rise:.2} (at most {max:.2} allowed by --max-claims-increase)"
            ));
        }
    }
    if let Some(max) = limits.max_worse
        && cmp.worse.len() > max
    {
        crossed.push(format!(
            "{} article(s) got worse (at most {max} allowed by --max-worse)",
            cmp.worse.len()
        ));
    }
    crossed
}

fn tokens(s: &Summary) -> f64 {
    s.prompt_tokens_per_article.unwrap_or(0.0) + s.completion_tokens_per_article.unwrap_or(0.0)
}

fn count(n: usize, of: usize) -> String {
    format!("{n} ({:.0}%)", ratio(n, of) * 100.0)
}

fn number(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
}

fn usd(v: Option<f64>) -> String {
    v.map_or_else(|| "unpriced".to_owned(), |v| format!("{:.6}", round_usd(v)))
}

fn millis(v: Option<u64>) -> String {
    v.map_or_else(
        || "-".to_owned(),
        |ms| {
            if ms >= 1000 {
                format!("{:.1} s", ms as f64 / 1000.0)
            } else {
                format!("{ms} ms")
            }
        },
    )
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests;
