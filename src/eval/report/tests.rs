//! Tests of the evaluation report: summaries, comparisons, the table, the JSON and the gate.

use super::*;

fn result(id: &str, version: u32, status: Status) -> ArticleResult {
    ArticleResult {
        id: id.to_owned(),
        version,
        status,
        reason: (status == Status::Failed).then(|| "call overview: no usable answer".into()),
        from_archive: false,
        flags: if status == Status::Draft {
            vec!["overview: figures not in the news item: 2031".into()]
        } else {
            Vec::new()
        },
        unsupported_claims: if status == Status::Draft {
            vec!["2031".into()]
        } else {
            Vec::new()
        },
        model: "m".into(),
        prompt_tokens: 1000,
        completion_tokens: 500,
        cost_usd: Some(0.001),
        reasks: Some(0),
        llm_ms: Some(100),
        section_chars: vec![200, 900, 400, 150],
    }
}

fn comparison() -> Comparison {
    let base = vec![
        result("a", 1, Status::Valid),
        result("b", 1, Status::Valid),
        result("c", 1, Status::Draft),
        result("d", 1, Status::Valid),
    ];
    let cand = vec![
        result("a", 2, Status::Draft),
        result("b", 2, Status::Failed),
        result("c", 2, Status::Valid),
        result("d", 2, Status::Valid),
    ];
    Comparison::of(1, 2, &base, &cand)
}

#[test]
fn draft_reasons_count_by_kind_without_fields_or_figures() {
    assert_eq!(
        kind_of("overview: figures not in the news item: 2031"),
        "figures not in the news item"
    );
    assert_eq!(
        kind_of("paragraphs[1]: 1400 characters; keep it under 1200"),
        "N characters"
    );
    assert_eq!(
        kind_of("overview: does not mention what the headline is about (mining)"),
        "does not mention what the headline is about"
    );
}

#[test]
fn articles_that_got_worse_or_better_are_named_with_their_reasons() {
    let cmp = comparison();
    let worse: Vec<(&str, &str)> = cmp
        .worse
        .iter()
        .map(|c| (c.id.as_str(), c.reasons[0].as_str()))
        .collect();
    assert_eq!(
        worse,
        [
            (
                "a",
                "published → draft (overview: figures not in the news item: 2031)"
            ),
            ("b", "failed: call overview: no usable answer"),
        ]
    );
    assert_eq!(cmp.worse[0].reasons[1], "new unsupported claims: 2031");
    assert_eq!(cmp.better.len(), 1);
    assert_eq!(cmp.better[0].id, "c");
    assert_eq!(cmp.better[0].reasons[0], "draft → published");
}

#[test]
fn a_summary_counts_over_the_sample_and_measures_the_written() {
    let cmp = comparison();
    let c = &cmp.candidate;
    assert_eq!((c.articles, c.valid, c.drafted, c.failed), (4, 2, 1, 1));
    assert_eq!(c.failures[0].0, "b");
    assert_eq!(c.draft_kinds["figures not in the news item"], 1);
    assert_eq!(c.claims_per_article, Some(1.0 / 3.0));
    assert_eq!(c.prompt_tokens_per_article, Some(1000.0));
    assert_eq!(c.llm_ms_p95, Some(100));
    assert_eq!(c.draft_rate(), 0.25);
}

#[test]
fn percentiles_are_nearest_rank() {
    let v: Vec<u64> = (1..=20).collect();
    assert_eq!(percentile(&v, 50), Some(10));
    assert_eq!(percentile(&v, 95), Some(19));
    assert_eq!(percentile(&[7], 95), Some(7));
    assert_eq!(percentile(&[], 50), None);
}

#[test]
fn the_gate_names_each_threshold_crossed_and_passes_without_thresholds() {
    let cmp = comparison();
    assert!(gate(&cmp, &Thresholds::default()).is_empty());
    let crossed = gate(
        &cmp,
        &Thresholds {
            max_draft_rate_increase: Some(0.05),
            max_failures: Some(0),
            max_worse: Some(1),
            max_cost_increase: Some(0.2),
            max_claims_increase: Some(1.0),
        },
    );
    assert_eq!(crossed.len(), 2, "{crossed:?}");
    assert!(crossed[0].contains("--max-failures"), "{crossed:?}");
    assert!(crossed[1].contains("2 article(s) got worse"), "{crossed:?}");
    // 25% → 25% drafts: no rise; one more draft is +25 points.
    let mut worse = comparison();
    worse.candidate.drafted += 1;
    let crossed = gate(
        &worse,
        &Thresholds {
            max_draft_rate_increase: Some(0.05),
            ..Thresholds::default()
        },
    );
    assert!(crossed[0].contains("from 25.0% to 50.0%"), "{crossed:?}");
}

#[test]
fn the_table_lists_both_sides_and_the_diff_command() {
    let table = comparison().table("rewriter diff {id} 1 2");
    assert!(table.contains("v1 (run)"), "{table}");
    assert!(table.contains("drafted"), "{table}");
    assert!(table.contains("worse with v2: 2"), "{table}");
    assert!(table.contains("    rewriter diff a 1 2"), "{table}");
    let json = comparison().to_json("rewriter diff {id} 1 2");
    assert_eq!(json["candidate"]["failed"], 1);
    assert_eq!(json["worse"][0]["diff"], "rewriter diff a 1 2");
}
