//! The article format's rules, as examples.

use chrono::TimeZone;
use serde_json::json;

use crate::review::{self, PromptText, Review, check, facts};
use super::*;
use crate::prompts::Language;

fn english() -> Language {
    Language {
        name: "English".into(),
        overview: "Overview".into(),
        author: "From author".into(),
        impact: "Impact on the crypto market".into(),
    }
}

fn headline(title: &str) -> Headline {
    Headline::from_value(json!({
        "externalId": "57763812",
        "title": title,
        "description": "Revenue dropped to a record as operators unplugged 40% of machines.",
        "publishedAt": "2026-02-05T17:45:43Z",
        "source": {"name": "Bloomberg (Crypto)", "key": "bloomberg_crypto_"},
    }))
    .unwrap()
}

fn draft() -> Draft {
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

/// Judges one answer against every article rule with the default bounds, the way the pipeline
/// does for a call whose prompt is `prompt`.
fn check_fields(answer: &Value, headline: &Headline, prompt: &str) -> review::Verdict {
    let facts = facts::Facts::of_headline(headline);
    check(
        answer,
        &Review::new(headline, &PromptText::new(prompt), &facts),
    )
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
fn clean_answers_pass_the_checks() {
    let h = headline("Bitcoin Mining Revenue Gauge Falls to Record Low");
    let v = check_fields(
        &serde_json::to_value(json!({
            "overview": draft().overview,
            "heading": draft().heading,
            "paragraphs": draft().paragraphs,
            "bullets": draft().bullets,
        }))
        .unwrap(),
        &h,
        "",
    );
    assert!(v.is_clean(), "{v:?}");
}

#[test]
fn figures_that_the_source_gives_are_fine_and_invented_ones_are_flagged() {
    let h = headline("Miners unplug 40% of machines");
    let ok = check_fields(
        &json!({"overview": "Operators unplugged 40% of their machines as revenue fell to a record."}),
        &h,
        "",
    );
    assert!(ok.is_clean(), "{ok:?}");
    let bad = check_fields(
        &json!({"overview": "Operators unplugged 40% of machines, cutting 1,250 jobs in 2031."}),
        &h,
        "",
    );
    assert_eq!(
        bad.flawed,
        ["overview: figures not in the news item: 1,250, 2031"],
        "the year it was published (2026) is in the news item; 2031 is not"
    );
}

#[test]
fn junk_that_small_models_write_is_flagged() {
    let h = headline("Bitcoin Mining Revenue Gauge Falls to Record Low");
    let cases = [
        json!({"overview": "Bitcoin Mining Revenue Gauge Falls to Record Low"}),
        json!({"overview": "Bitcoin mining revenue gauge falls to record low. And more words follow here."}),
        json!({"overview": "<p>Mining revenue fell sharply as operators unplugged machines.</p>"}),
        json!({"overview": "As an AI language model, I cannot know the news, but revenue fell."}),
        json!({"overview": "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do."}),
        json!({"paragraphs": ["Mining revenue fell sharply across the whole sector. Mining revenue fell sharply across the whole sector.", "Another paragraph that is long enough to count."]}),
    ];
    for case in cases {
        let v = check_fields(&case, &h, "");
        assert!(
            v.invalid.is_empty() && !v.flawed.is_empty(),
            "{case} → {v:?}"
        );
    }
}

// The four below are built from what SmolLM2-135M wrote for the six example headlines (issue 27).

#[test]
fn text_about_the_task_instead_of_the_story_is_flagged() {
    // Arrange
    let h = headline("Bitcoin Mining Revenue Gauge Falls to Record Low");
    let overview = json!({"overview": "This is a new story, and it's not about the previous one. Bitcoin mining revenue fell to a record low as operators unplugged machines."});
    let bullets = json!({"bullets": [
        "Network security could weaken as miners unplug their machines.",
        "The news item was rejected.",
        "Fewer miners may reduce the hash rate of the network.",
    ]});

    // Act
    let overview = check_fields(&overview, &h, "");
    let bullets = check_fields(&bullets, &h, "");

    let commentary = check_fields(
        &json!({"commentary": ["The story is about a company's decision to make a major shift in how they manage their finances."]}),
        &h,
        "",
    );

    // Assert
    let flag = "talks about the task or the news item instead of telling the story";
    assert_eq!(
        commentary.flawed,
        [format!("commentary[0]: {flag}")],
        "{commentary:?}"
    );
    assert_eq!(
        overview.flawed,
        [format!("overview: {flag}")],
        "{overview:?}"
    );
    assert_eq!(
        bullets.flawed,
        [format!("bullets[1]: {flag}")],
        "{bullets:?}"
    );
}

#[test]
fn numbered_bullets_are_printed_without_their_numbers_and_pass() {
    // Arrange
    let h = headline("T");
    let mut d = draft();
    d.bullets = vec![
        "- 1. Network security could weaken as miners unplug.".into(),
        "2) Fewer miners may reduce the hash rate.".into(),
        "(3) New entrants may be discouraged.".into(),
        "2026. A year of lower rewards could follow for miners.".into(),
    ];

    // Act
    let verdict = check_fields(&json!({"bullets": d.bullets}), &h, "");
    let a = Article::assemble(
        &h,
        &d,
        &english(),
        PromptVersion::new(1).unwrap(),
        Provenance::default(),
        Utc::now(),
    );

    // Assert
    assert!(verdict.is_clean(), "{verdict:?}");
    assert!(
        a.body.ends_with(
            "- Network security could weaken as miners unplug.\n\
             - Fewer miners may reduce the hash rate.\n\
             - New entrants may be discouraged.\n\
             - 2026. A year of lower rewards could follow for miners.\n"
        ),
        "{}",
        a.body
    );
}

#[test]
fn a_bullet_that_repeats_the_headline_word_for_word_is_flagged() {
    // Arrange
    let h = headline("Ether Slips as Staking Withdrawals Climb");
    let answer = json!({"bullets": [
        "Ether slips as staking withdrawals climb.",
        "Withdrawals could add selling pressure on ether in the short term.",
        "Staking yields may rise for those who stay.",
    ]});

    // Act
    let v = check_fields(&answer, &h, "");

    // Assert
    assert_eq!(
        v.flawed,
        ["bullets[0]: repeats the headline word for word; say what it means for the market"],
        "{v:?}"
    );
}

#[test]
fn a_bullet_that_holds_the_description_word_for_word_is_flagged() {
    // Arrange: SmolLM2's bullet for the mining headline, with v3 (issue 27).
    let h = headline("Bitcoin Mining Revenue Gauge Falls to Record Low");
    let answer = json!({"bullets": [
        "Bloomberg (Crypto) has announced revenue dropped to a record as operators unplugged 40% of machines.",
        "Network security could weaken as miners unplug their machines.",
        "Fewer miners may reduce the hash rate of the network.",
    ]});

    // Act
    let v = check_fields(&answer, &h, "");

    // Assert
    assert_eq!(
        v.flawed,
        [
            "bullets[0]: repeats the news item's description word for word; say what it means for the market"
        ],
        "{v:?}"
    );
}

#[test]
fn a_tag_that_is_no_word_or_ticker_is_flagged_when_the_article_would_print_it() {
    // Arrange
    let h = headline("Stablecoin Issuer Adds Gold-Backed Token to Lineup");
    let answer = json!({"tags": ["GOLD", "MENERBURGESWITDUFFERGOLD", "STABLECOINS", "LAYER-2", "REAL_ESTATE", "CRYPTOCURRENCY", "BTC"]});
    let mut tagged = h.clone();
    tagged.tags = vec!["GOLD".into()];

    // Act
    let v = check_fields(&answer, &h, "");
    let ignored = check_fields(&answer, &tagged, "");

    // Assert
    assert_eq!(
        v.flawed,
        ["tags: \"MENERBURGESWITDUFFERGOLD\" is not a word or a ticker"],
        "{v:?}"
    );
    assert!(
        ignored.is_clean(),
        "the headline's own tags are printed: {ignored:?}"
    );
}

#[test]
fn answers_the_article_cannot_be_built_from_are_invalid() {
    let h = headline("T");
    let para = "A paragraph that is long enough to be printed as one.";
    for case in [
        json!({"overview": "Too short."}),
        json!({"heading": ""}),
        // Markup alone: the article would print an empty heading.
        json!({"heading": "<h2></h2>"}),
        json!({"heading": "**"}),
        json!({"paragraphs": ["ok but short", "x"]}),
        json!({"paragraphs": [para, para]}),
        json!({"bullets": ["-", "a", "b"]}),
        json!({"tags": [" "]}),
    ] {
        assert!(!check_fields(&case, &h, "").invalid.is_empty(), "{case}");
    }
}

#[test]
fn invented_names_are_flagged_but_sentence_starts_and_source_names_are_not() {
    let h = headline("Bloomberg Says Miners Unplug Machines");
    let clean = check_fields(
        &json!({"overview": "Miners unplugged machines, Bloomberg reports. Revenue fell as prices dropped and Bitcoin slid."}),
        &h,
        "",
    );
    assert!(clean.is_clean(), "{clean:?}");
    let bad = check_fields(
        &json!({"overview": "Miners unplugged machines, said Jane Doe of CointelPro. Revenue fell as prices dropped."}),
        &h,
        "",
    );
    assert_eq!(
        bad.flawed,
        ["overview: names not in the news item: Jane Doe, CointelPro"]
    );
}

#[test]
fn german_nouns_are_not_taken_for_names() {
    let mut h = headline("Börse Stuttgart startet Krypto-Handel");
    h.lang = "de".into();
    let v = check_fields(
        &json!({"overview": "Die Börse Stuttgart öffnet den Handel mit Kryptowährungen für private Anleger in Deutschland."}),
        &h,
        "",
    );
    assert!(v.is_clean(), "{v:?}");
}

#[test]
fn copying_the_prompts_example_is_flagged() {
    let h = headline("Ether Slips as Staking Withdrawals Climb");
    let prompt = "Example: {\"overview\": \"A significant decline in Bitcoin mining revenue has been observed, reaching a record low.\"}";
    let v = check_fields(
        &json!({"overview": "Ether slipped today. A significant decline in Bitcoin mining revenue has been observed, reaching a record low."}),
        &h,
        prompt,
    );
    assert!(
        v.flawed.iter().any(|f| f.contains("copies the prompt")),
        "{v:?}"
    );
}

#[test]
fn an_overview_that_never_mentions_the_subject_is_flagged() {
    let h = headline("Ether Slips as Staking Withdrawals Climb");
    let off_topic = check_fields(
        &json!({"overview": "Mining revenue has plummeted and the situation is getting worse for everyone."}),
        &h,
        "",
    );
    assert!(
        off_topic
            .flawed
            .iter()
            .any(|f| f.contains("does not mention")),
        "{off_topic:?}"
    );
    let on_topic = check_fields(
        &json!({"overview": "Withdrawals of staked coins rose while the price of the second-largest token slipped."}),
        &h,
        "",
    );
    assert!(on_topic.is_clean(), "{on_topic:?}");
}

#[test]
fn fragments_and_copies_in_lists_are_dropped_when_enough_remain() {
    let h = headline("T");
    let mut d = draft();
    d.bullets.push("Too short".into());
    d.bullets.push(d.bullets[0].clone());
    let v = check_fields(&json!({"bullets": d.bullets}), &h, "");
    assert!(v.is_clean(), "{v:?}");
    let a = Article::assemble(
        &h,
        &d,
        &english(),
        PromptVersion::new(1).unwrap(),
        Provenance::default(),
        Utc::now(),
    );
    assert_eq!(a.body.matches("\n- ").count(), 3, "{}", a.body);
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
fn repair_removes_markup_and_makes_quotes_and_spaces_consistent() {
    assert_eq!(
        repair("Miners lost <b>half</b> their  revenue ,&nbsp;says “the report”."),
        "Miners lost half their revenue, says \"the report\"."
    );
    assert_eq!(
        repair("## Heading\n**Bold** words and ‘single’ quotes, it’s fine."),
        "Heading Bold words and 'single' quotes, it's fine."
    );
    assert_eq!(
        repair("Prices < 5 and > 3 stay."),
        "Prices < 5 and > 3 stay."
    );
    assert_eq!(repair("« Le marché » baisse."), "« Le marché » baisse.");
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
fn length_bounds_come_from_the_review_and_are_checked() {
    use crate::review::Bounds;
    let h = headline("Bitcoin Mining Revenue Gauge Falls to Record Low");
    let prompt = PromptText::default();
    let long = "Mining revenue fell as operators unplugged machines. ".repeat(20);
    let facts = facts::Facts::of_headline(&h);
    let mut rules = Review::new(&h, &prompt, &facts);
    let v = check(&json!({"overview": long}), &rules);
    assert!(
        v.flawed
            .iter()
            .any(|f| f.contains("characters; keep it under 700")),
        "{v:?}"
    );
    rules.bounds = Bounds {
        overview_chars: [40, 2000],
        ..Bounds::default()
    };
    let v = check(&json!({"overview": long}), &rules);
    assert!(!v.flawed.iter().any(|f| f.contains("characters")), "{v:?}");
    assert!(Bounds::default().problem().is_none());
    assert!(
        Bounds {
            bullet_chars: [50, 20],
            ..Bounds::default()
        }
        .problem()
        .is_some()
    );
}

#[test]
fn the_title_as_first_sentence_an_answer_in_another_language_and_placeholders_are_flagged() {
    let h = headline("Bitcoin Mining Revenue Gauge Falls to Record Low");
    let v = check_fields(
        &json!({"paragraphs": [
            "Bitcoin mining revenue gauge falls to record low. Operators unplugged machines as prices fell.",
            "Revenue per unit of computing power has never been this low for the whole sector."
        ]}),
        &h,
        "",
    );
    assert!(
        v.flawed
            .iter()
            .any(|f| f.contains("repeating the headline")),
        "{v:?}"
    );
    let mut de = headline("Börse Stuttgart startet Krypto-Handel");
    de.lang = "de".into();
    let v = check_fields(
        &json!({"overview": "The exchange opens trading for private investors, and it is a step that has been expected for a while by the market."}),
        &de,
        "",
    );
    assert!(
        v.flawed
            .iter()
            .any(|f| f == "overview: written in English, expected German"),
        "{v:?}"
    );
    let v = check_fields(
        &json!({"overview": "TODO: write about the mining revenue gauge and the record low it reached."}),
        &h,
        "",
    );
    assert!(v.flawed.iter().any(|f| f.contains("placeholder")), "{v:?}");
    let mut es = headline("Los mineros de bitcoin desconectan máquinas");
    es.lang = "es".into();
    let v = check_fields(
        &json!({"overview": "Todos los mineros desconectaron máquinas mientras los ingresos de todo el sector caían con los precios."}),
        &es,
        "",
    );
    assert!(
        v.is_clean(),
        "Spanish 'todo' is a word, not a marker: {v:?}"
    );
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
fn spaces_are_normalised_the_same_whether_the_text_takes_the_fast_path_or_not() {
    // Every Unicode whitespace, and characters whose UTF-8 starts like one but is not.
    let unicode_spaces: Vec<char> = (0..=0x3000u32)
        .filter_map(char::from_u32)
        .filter(|c| c.is_whitespace())
        .collect();
    let lookalikes = [
        '’', '“', '—', '–', '…', '€', '¢', 'ᚁ', '\u{2060}', '、', 'é',
    ];
    let mut texts = vec![
        String::new(),
        " ".to_owned(),
        "one".to_owned(),
        "one two".to_owned(),
        "one  two".to_owned(),
        " one two".to_owned(),
        "one two ".to_owned(),
        "one\ttwo".to_owned(),
        "one\r\ntwo".to_owned(),
        "One\x0BTwo\x0C THREE\t".to_owned(),
        "\x1Fone\x1Ctwo\x7F".to_owned(),
        "ΟΔΟΣ  Two".to_owned(),
    ];
    for c in unicode_spaces.iter().chain(&lookalikes) {
        texts.push(format!("one{c}two"));
        texts.push(format!("{c}one two{c}"));
        texts.push(format!("one {c} two"));
    }
    for c in (0..0x80u8).map(char::from) {
        texts.push(format!("One{c}Two"));
        texts.push(format!("{c}ONE  two{c}"));
    }
    for text in &texts {
        let expected = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(normalize_space(text), expected, "{text:?}");
        assert_eq!(normalize_lower(text), expected.to_lowercase(), "{text:?}");
    }
    assert!(unicode_spaces.len() > 20, "{unicode_spaces:?}");
}
