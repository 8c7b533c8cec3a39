//! The review's rules, as examples: answers a model wrote and the verdicts they get. Several
//! also build the article, to show that what the review lets pass prints as it should.

use chrono::Utc;
use serde_json::{Value, json};

use super::*;
use crate::article::tests::{draft, english, headline};
use crate::article::{Article, Draft, Provenance};
use crate::job::PromptVersion;

/// Judges one answer against every article rule with the default bounds, the way the pipeline
/// does for a call whose prompt is `prompt`.
fn check_fields(answer: &Value, headline: &Headline, prompt: &str) -> Verdict {
    let facts = facts::Facts::of_headline(headline);
    check(
        answer,
        &Review::new(headline, &PromptText::new(prompt), &facts),
    )
}

/// [`check_fields`] for a prompt that holds no example to copy.
fn verdict(headline: &Headline, answer: &Value) -> Verdict {
    check_fields(answer, headline, "")
}

/// The verdicts on an overview whose claims the news item titled `title` supports, and on one
/// that invents some.
fn supported_and_invented(title: &str, supported: &str, invented: &str) -> (Verdict, Verdict) {
    let h = headline(title);
    (
        verdict(&h, &json!({"overview": supported})),
        verdict(&h, &json!({"overview": invented})),
    )
}

/// A news item with this title, written in language `lang`.
fn headline_in(lang: &str, title: &str) -> Headline {
    let mut h = headline(title);
    h.lang = lang.into();
    h
}

/// The article printed from `draft` for `h`, with the English headings.
fn printed(h: &Headline, draft: &Draft) -> Article {
    Article::assemble(
        h,
        draft,
        &english(),
        PromptVersion::new(1).unwrap(),
        Provenance::default(),
        Utc::now(),
    )
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
    let (ok, bad) = supported_and_invented(
        "Miners unplug 40% of machines",
        "Operators unplugged 40% of their machines as revenue fell to a record.",
        "Operators unplugged 40% of machines, cutting 1,250 jobs in 2031.",
    );
    assert!(ok.is_clean(), "{ok:?}");
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
        let v = verdict(&h, &case);
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
    let overview = verdict(&h, &overview);
    let bullets = verdict(&h, &bullets);

    let commentary = verdict(
        &h,
        &json!({"commentary": ["The story is about a company's decision to make a major shift in how they manage their finances."]}),
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
    let verdict = verdict(&h, &json!({"bullets": d.bullets}));
    let a = printed(&h, &d);

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
    let v = verdict(&h, &answer);

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
    let v = verdict(&h, &answer);

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
    let v = verdict(&h, &answer);
    let ignored = verdict(&tagged, &answer);

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
        assert!(!verdict(&h, &case).invalid.is_empty(), "{case}");
    }
}

#[test]
fn invented_names_are_flagged_but_sentence_starts_and_source_names_are_not() {
    let (clean, bad) = supported_and_invented(
        "Bloomberg Says Miners Unplug Machines",
        "Miners unplugged machines, Bloomberg reports. Revenue fell as prices dropped and Bitcoin slid.",
        "Miners unplugged machines, said Jane Doe of CointelPro. Revenue fell as prices dropped.",
    );
    assert!(clean.is_clean(), "{clean:?}");
    assert_eq!(
        bad.flawed,
        ["overview: names not in the news item: Jane Doe, CointelPro"]
    );
}

#[test]
fn german_nouns_are_not_taken_for_names() {
    let h = headline_in("de", "Börse Stuttgart startet Krypto-Handel");
    let v = verdict(
        &h,
        &json!({"overview": "Die Börse Stuttgart öffnet den Handel mit Kryptowährungen für private Anleger in Deutschland."}),
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
    let off_topic = verdict(
        &h,
        &json!({"overview": "Mining revenue has plummeted and the situation is getting worse for everyone."}),
    );
    assert!(
        off_topic
            .flawed
            .iter()
            .any(|f| f.contains("does not mention")),
        "{off_topic:?}"
    );
    let on_topic = verdict(
        &h,
        &json!({"overview": "Withdrawals of staked coins rose while the price of the second-largest token slipped."}),
    );
    assert!(on_topic.is_clean(), "{on_topic:?}");
}

#[test]
fn fragments_and_copies_in_lists_are_dropped_when_enough_remain() {
    let h = headline("T");
    let mut d = draft();
    d.bullets.push("Too short".into());
    d.bullets.push(d.bullets[0].clone());
    let v = verdict(&h, &json!({"bullets": d.bullets}));
    assert!(v.is_clean(), "{v:?}");
    let a = printed(&h, &d);
    assert_eq!(a.body.matches("\n- ").count(), 3, "{}", a.body);
}

#[test]
fn length_bounds_come_from_the_review_and_are_checked() {
    let h = headline("Bitcoin Mining Revenue Gauge Falls to Record Low");
    let prompt = PromptText::default();
    let long = "Mining revenue fell as operators unplugged machines. ".repeat(20);
    let facts = Facts::of_headline(&h);
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
    let v = verdict(
        &h,
        &json!({"paragraphs": [
            "Bitcoin mining revenue gauge falls to record low. Operators unplugged machines as prices fell.",
            "Revenue per unit of computing power has never been this low for the whole sector."
        ]}),
    );
    assert!(
        v.flawed
            .iter()
            .any(|f| f.contains("repeating the headline")),
        "{v:?}"
    );
    let de = headline_in("de", "Börse Stuttgart startet Krypto-Handel");
    let v = verdict(
        &de,
        &json!({"overview": "The exchange opens trading for private investors, and it is a step that has been expected for a while by the market."}),
    );
    assert!(
        v.flawed
            .iter()
            .any(|f| f == "overview: written in English, expected German"),
        "{v:?}"
    );
    let v = verdict(
        &h,
        &json!({"overview": "TODO: write about the mining revenue gauge and the record low it reached."}),
    );
    assert!(v.flawed.iter().any(|f| f.contains("placeholder")), "{v:?}");
    let es = headline_in("es", "Los mineros de bitcoin desconectan máquinas");
    let v = verdict(
        &es,
        &json!({"overview": "Todos los mineros desconectaron máquinas mientras los ingresos de todo el sector caían con los precios."}),
    );
    assert!(
        v.is_clean(),
        "Spanish 'todo' is a word, not a marker: {v:?}"
    );
}
