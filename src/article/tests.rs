//! The article format's rules, as examples. The fixtures (a news item, a complete draft, the
//! English headings) serve the review's examples too.

use chrono::TimeZone;
use serde_json::json;

use super::*;

/// The contract's English headings.
pub(crate) fn english() -> Language {
    Language {
        name: "English".into(),
        overview: "Overview".into(),
        author: "From author".into(),
        impact: "Impact on the crypto market".into(),
    }
}

/// A news item with this title, a description with a figure, and its source.
pub(crate) fn headline(title: &str) -> Headline {
    Headline::from_value(json!({
        "externalId": "57763812",
        "title": title,
        "description": "Revenue dropped to a record as operators unplugged 40% of machines.",
        "publishedAt": "2026-02-05T17:45:43Z",
        "source": {"name": "Bloomberg (Crypto)", "key": "bloomberg_crypto_"},
    }))
    .unwrap()
}

/// A complete answer for the mining headline that passes every check.
pub(crate) fn draft() -> Draft {
    Draft {
        overview: "A significant decline in mining revenue has been observed. Large operations are switching off equipment amid falling prices.".into(),
        heading: "Mining Revenue Decline".into(),
        paragraphs: vec![
            "The current state of mining revenue has reached unprecedented lows for the sector.".into(),
            "As prices decrease, the profitability of mining diminishes for every operator.".into(),
        ],
        commentary: vec!["The decline highlights how closely prices and operating costs are linked.".into()],
        bullets: vec![
            "Network security could weaken as miners unplug.".into(),
            "- Fewer miners may reduce the hash rate.".into(),
            "New entrants may be discouraged.".into(),
        ],
        sentiment: Sentiment::Negative,
        category: "MINING".into(),
        tags: vec!["btc".into(), "MINING".into(), "btc".into()],
    }
}

fn article_for(title: &str) -> Article {
    let when = Utc.with_ymd_and_hms(2026, 2, 5, 18, 45, 11).unwrap();
    Article::assemble(
        &headline(title),
        &draft(),
        &english(),
        PromptVersion::new(1).unwrap(),
        Provenance {
            model: "m".into(),
            ..Provenance::default()
        },
        when,
    )
}

#[test]
fn the_article_has_the_seed_shape() {
    let md = article_for("Bitcoin Mining Revenue Gauge Falls to Record Low")
        .to_markdown()
        .unwrap();
    let headings: Vec<&str> = md.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(
        headings,
        [
            "## Overview",
            "## Mining Revenue Decline",
            "## From author",
            "## Impact on the crypto market"
        ]
    );
    assert!(md.starts_with("---\ntitle: Bitcoin Mining Revenue Gauge Falls to Record Low\n"));
    assert!(md.contains(
        "publishedAt: '2026-02-05T17:45:43.000Z'\nupdatedAt: '2026-02-05T18:45:11.000Z'\n"
    ));
    assert!(md.contains("externalId: '57763812'\n"));
    assert!(md.contains("\n- Fewer miners may reduce the hash rate.\n"));
    assert!(md.contains(
        "ai:\n  rewritten: true\n  expandedAt: '2026-02-05T18:45:11.000Z'\n  version: 1\n"
    ));
    let fm = parse_frontmatter(&md).unwrap();
    assert_eq!(fm.tags, ["BTC", "MINING"]);
    assert!(!fm.draft);
}

#[test]
fn hostile_titles_read_back_unchanged() {
    for title in [
        "no",
        "Yes: \"quoted\" and 'single'",
        "--- not a document marker",
        "# not a comment",
        "key: value # comment",
        "🧊 Solana Memecoin Frenzy Cools",
        "比特币价格突破新高：市场情绪高涨",
        "[link](x) {a: b} *star* &anchor !tag %pct @at `tick`",
        "Line\nbreak and \\ backslash\ttab",
        "2026-02-05",
        "0x1F",
        "   padded   ",
    ] {
        let md = article_for(title).to_markdown().unwrap();
        assert_eq!(parse_frontmatter(&md).unwrap().title, title, "{md}");
    }
}

#[test]
fn the_description_is_the_overview_when_short() {
    assert_eq!(
        description("One  short\nparagraph."),
        "One short paragraph."
    );
}

#[test]
fn the_description_is_cut_at_a_word_boundary_with_an_ellipsis() {
    let overview = "word ".repeat(60);
    let d = description(&overview);
    assert!(d.ends_with("word…"), "{d}");
    assert!(d.chars().count() <= DESCRIPTION_MAX_CHARS + 1);
    assert!(overview.starts_with(d.trim_end_matches('…')));
}

#[test]
fn the_description_never_cuts_an_emoji_or_a_cjk_character() {
    let emoji = "🧊".repeat(250);
    let d = description(&emoji);
    assert_eq!(d.chars().count(), DESCRIPTION_MAX_CHARS + 1);
    let family = "👨‍👩‍👧".repeat(100); // five code points per grapheme
    let d = description(&family);
    assert_eq!(
        d.trim_end_matches('…').chars().count() % 5,
        0,
        "cut inside a grapheme"
    );
    let cjk = "比特币价格突破新高，市场情绪高涨。".repeat(20);
    let d = description(&cjk);
    let stem = d.trim_end_matches('…');
    assert!(stem.ends_with('，') || stem.ends_with('。'), "{d}");
}

#[test]
fn a_word_longer_than_the_limit_is_cut_between_characters() {
    let d = description(&"a".repeat(300));
    assert_eq!(d, format!("{}…", "a".repeat(200)));
}

#[test]
fn flags_make_a_draft_and_are_recorded() {
    let mut a = article_for("T");
    a.frontmatter.draft = true;
    a.frontmatter.ai.flags = vec!["overview: figures not in the news item: 2026".into()];
    let fm = parse_frontmatter(&a.to_markdown().unwrap()).unwrap();
    assert!(fm.draft);
    assert_eq!(fm.ai.flags.len(), 1);
}

#[test]
fn any_frontmatter_reads_back_as_written() {
    // The emitter's property, over every string, number and map a job or an LLM can put in
    // the frontmatter; `to_markdown` relies on it instead of parsing each article again.
    use super::yaml::generated::{any_value, hostile_string};
    let mut rng = fastrand::Rng::with_seed(0xa271c1e);
    let list =
        |rng: &mut fastrand::Rng| (0..rng.usize(0..4)).map(|_| hostile_string(rng)).collect();
    for case in 0..3_000 {
        let mut a = article_for("T");
        let fm = &mut a.frontmatter;
        fm.title = hostile_string(&mut rng);
        fm.description = hostile_string(&mut rng);
        fm.lang = hostile_string(&mut rng);
        fm.external_id = hostile_string(&mut rng);
        fm.source.name = hostile_string(&mut rng);
        fm.source.key = hostile_string(&mut rng);
        fm.category = hostile_string(&mut rng);
        fm.tags = list(&mut rng);
        fm.sticky_weight = rng.i64(..);
        fm.score = rng.i64(..);
        fm.cover_image = rng.bool().then(|| {
            (0..rng.usize(0..4))
                .map(|_| (hostile_string(&mut rng), any_value(&mut rng, 2)))
                .collect()
        });
        fm.ai.model = hostile_string(&mut rng);
        fm.ai.prompt_tokens = rng.u64(..);
        fm.ai.cost_usd = rng.bool().then(|| rng.f64() * 10f64.powi(rng.i32(-9..9)));
        fm.ai.flags = list(&mut rng);
        fm.ai.unsupported_claims = list(&mut rng);
        let md = a.to_markdown().unwrap();
        let back = parse_frontmatter(&md).unwrap_or_else(|e| panic!("case {case}: {e}\n{md}"));
        assert_eq!(back, a.frontmatter, "case {case}:\n{md}");
    }
}

#[test]
fn unsupported_claims_are_recorded_under_ai_in_the_contracts_order() {
    let mut a = article_for("T");
    a.frontmatter.draft = true;
    a.frontmatter.ai.flags = vec!["overview: figures not in the news item: 2031".into()];
    a.frontmatter.ai.unsupported_claims =
        vec!["2031".into(), "$5 billion".into(), "Jane Doe".into()];
    let md = a.to_markdown().unwrap();
    let flags = md.find("  flags:").unwrap();
    let claims = md.find("  unsupportedClaims:").unwrap();
    assert!(flags < claims, "{md}");
    let fm = parse_frontmatter(&md).unwrap();
    assert_eq!(fm.ai.unsupported_claims, ["2031", "$5 billion", "Jane Doe"]);
}

#[test]
fn the_cost_is_recorded_as_a_plain_decimal_and_reads_back_the_same() {
    for (cost, written) in [
        (0.000_001_2, "  costUsd: 0.000001\n"),
        (0.012_345_67, "  costUsd: 0.012346\n"),
        (0.0, "  costUsd: 0.0\n"),
        (3.0, "  costUsd: 3.0\n"),
    ] {
        let mut a = article_for("T");
        a.frontmatter.ai.cost_usd = Some(crate::cost::round_usd(cost));
        let md = a.to_markdown().unwrap();
        assert!(md.contains(written), "{md}");
        let completion = md.find("  completionTokens:").unwrap();
        assert!(completion < md.find("  costUsd:").unwrap(), "{md}");
        assert_eq!(
            parse_frontmatter(&md).unwrap().ai.cost_usd,
            a.frontmatter.ai.cost_usd
        );
    }
    let unpriced = article_for("T").to_markdown().unwrap();
    assert!(!unpriced.contains("costUsd"), "{unpriced}");
}

#[test]
fn the_parts_are_the_drafts_fields_by_name() {
    // Draft denies unknown fields and needs every one: this reads only if the names agree.
    let fields: Map<String, Value> = Part::ALL
        .into_iter()
        .map(|part| {
            let value = match part {
                Part::Paragraphs | Part::Commentary | Part::Bullets | Part::Tags => json!([]),
                Part::Sentiment => json!("NEUTRAL"),
                Part::Overview | Part::Heading | Part::Category => json!(""),
            };
            (part.name().to_owned(), value)
        })
        .collect();
    let draft: Result<Draft, _> = serde_json::from_value(Value::Object(fields));
    assert!(draft.is_ok(), "{draft:?}");
    for part in Part::ALL {
        assert_eq!(Part::named(part.name()), Some(part));
    }
    assert_eq!(Part::named("summary"), None);
}
