//! Article quality end to end: an answer that invents a figure or a name becomes a draft with
//! the claim recorded under `ai` (asked again first under the default `retry` policy, at once
//! under `flag`, not checked under `off`); figures restated in another form are not flagged; a
//! clean article has no flags; an answer in the wrong language is a draft; `rewriter audit`
//! reports drafts and fails on a broken article.

use rewriter::article::parse_frontmatter;
use rewriter::job::Job;
use rewriter::pipeline::{Outcome, Pipeline};
use serde_json::{Value, json};

use crate::support::{TestEnv, assert_keeps_contract};

fn headline(id: &str, title: &str, description: &str, lang: &str) -> Value {
    json!({
        "externalId": id,
        "title": title,
        "description": description,
        "publishedAt": "2026-02-05T17:45:43.000Z",
        "lang": lang,
        "source": {"name": "Bloomberg (Crypto)", "key": "bloomberg_crypto_"}
    })
}

fn mining(id: &str) -> Value {
    headline(
        id,
        "Bitcoin Mining Revenue Gauge Falls to Record Low During Selloff",
        "A measure of miners' revenue dropped to a record low as operators unplugged 40% of their machines.",
        "en",
    )
}

async fn rewrite(env: &TestEnv, headline: &Value) -> Outcome {
    let job = Job::from_value(json!({ "headline": headline })).unwrap();
    Pipeline::build(&env.settings(), Default::default())
        .await
        .unwrap()
        .rewrite(&job)
        .await
        .unwrap()
}

fn article(env: &TestEnv, id: &str) -> (String, rewriter::article::Frontmatter) {
    let path = env.out().join(format!("articles/{id}.md"));
    assert_keeps_contract(&path, None);
    let text = std::fs::read_to_string(path).unwrap();
    let fm = parse_frontmatter(&text).unwrap();
    (text, fm)
}

/// An overview inventing a figure, an amount, a date and a person.
fn invented_overview() -> Value {
    json!({"overview": "Revenue of the mining sector fell to a record low, wiping out $5 billion since March 3, according to Jane Doe, an analyst. Miners unplugged machines."})
}

#[tokio::test]
async fn invented_figures_and_names_are_asked_for_again_then_make_a_draft_with_the_claims() {
    // Arrange
    let env = TestEnv::new().await;
    env.llm.set_answer("overview", invented_overview());

    // Act
    let outcome = rewrite(&env, &mining("q1")).await;

    // Assert
    assert!(
        matches!(
            outcome,
            Outcome::Written {
                draft: true,
                requests: 6,
                ..
            }
        ),
        "the overview was asked for three times: {outcome:?}"
    );
    let reask = env.llm.received()[1]["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        reask.contains("figures not in the news item: $5 billion") && reask.contains("Jane Doe"),
        "the re-ask names the claims: {reask}"
    );
    let (text, fm) = article(&env, "q1");
    assert!(fm.draft, "{text}");
    assert_eq!(
        fm.ai.unsupported_claims,
        ["$5 billion", "March 3", "Jane Doe"],
        "{text}"
    );
    assert!(
        fm.ai
            .flags
            .iter()
            .any(|f| f == "overview: names not in the news item: Jane Doe"),
        "{:?}",
        fm.ai.flags
    );
}

#[tokio::test]
async fn the_flag_policy_drafts_at_once_and_off_does_not_check() {
    // Arrange
    let mut flag = TestEnv::new().await;
    flag.set("REWRITER_FAITHFULNESS", "flag");
    flag.llm.set_answer("overview", invented_overview());
    let mut off = TestEnv::new().await;
    off.set("REWRITER_FAITHFULNESS", "off");
    off.llm.set_answer("overview", invented_overview());

    // Act
    let flagged = rewrite(&flag, &mining("f1")).await;
    let unchecked = rewrite(&off, &mining("o1")).await;

    // Assert
    assert!(
        matches!(
            flagged,
            Outcome::Written {
                draft: true,
                requests: 4,
                ..
            }
        ),
        "no re-ask under flag: {flagged:?}"
    );
    let (_, fm) = article(&flag, "f1");
    assert_eq!(
        fm.ai.unsupported_claims,
        ["$5 billion", "March 3", "Jane Doe"]
    );
    assert!(
        fm.ai
            .flags
            .iter()
            .any(|f| f.contains("figures not in the news item: $5 billion"))
    );
    assert!(
        matches!(
            unchecked,
            Outcome::Written {
                draft: false,
                requests: 4,
                ..
            }
        ),
        "{unchecked:?}"
    );
    let (text, fm) = article(&off, "o1");
    assert!(fm.ai.flags.is_empty() && fm.ai.unsupported_claims.is_empty());
    assert!(!text.contains("unsupportedClaims"), "{text}");
}

#[tokio::test]
async fn figures_restated_in_another_form_are_not_flagged() {
    // Arrange
    let env = TestEnv::new().await;
    let news = headline(
        "r1",
        "Crypto Fund Raises $1.2 Billion as Bitcoin Climbs 40%",
        "The fund closed its round on February 5, 2026 with $1,000,000,000 from pensions, BlackRock said.",
        "en",
    );
    env.llm.set_answer(
        "overview",
        json!({"overview": "A crypto fund raised 1.2bn dollars, a billion of it ($1B) from pensions, while bitcoin climbed 40 percent. BlackRock said the round closed on Feb. 5."}),
    );

    // Act
    let outcome = rewrite(&env, &news).await;

    // Assert
    let (text, fm) = article(&env, "r1");
    assert!(
        matches!(
            outcome,
            Outcome::Written {
                draft: false,
                requests: 4,
                ..
            }
        ),
        "{outcome:?}\n{text}"
    );
    assert!(fm.ai.flags.is_empty(), "{:?}", fm.ai.flags);
}

#[tokio::test]
async fn a_clean_article_comes_out_with_no_flags_and_tidy_text() {
    // Arrange
    let env = TestEnv::new().await;
    env.llm.set_answer(
        "commentary",
        json!({"commentary": ["Some   observers call the drop a “capitulation” moment , though it’s early to say how long it lasts."]}),
    );

    // Act
    let outcome = rewrite(&env, &mining("c1")).await;

    // Assert
    assert!(
        matches!(
            outcome,
            Outcome::Written {
                draft: false,
                requests: 4,
                ..
            }
        ),
        "{outcome:?}"
    );
    let (text, fm) = article(&env, "c1");
    assert!(!fm.draft && fm.ai.flags.is_empty(), "{text}");
    assert!(
        text.contains(
            "Some observers call the drop a \"capitulation\" moment, though it's early to say"
        ),
        "whitespace and quotes normalised: {text}"
    );
    assert!(!text.contains("unsupportedClaims"));
}

#[tokio::test]
async fn an_answer_in_the_wrong_language_makes_a_draft() {
    // Arrange: the fake writes English; the headline is German.
    let env = TestEnv::new().await;
    let news = headline(
        "de1",
        "Börse Stuttgart startet Krypto-Handel für Privatkunden",
        "Die Plattform bietet Bitcoin und Ether an.",
        "de",
    );

    // Act
    let outcome = rewrite(&env, &news).await;

    // Assert
    assert!(
        matches!(outcome, Outcome::Written { draft: true, .. }),
        "{outcome:?}"
    );
    let (text, fm) = article(&env, "de1");
    assert!(
        fm.ai
            .flags
            .iter()
            .any(|f| f.ends_with("written in English, expected German")),
        "{text}"
    );
    assert!(text.contains("## Überblick"), "{text}");
}

#[tokio::test]
async fn audit_reports_drafts_and_their_claims_and_fails_on_a_broken_article() {
    // Arrange: one clean article, one draft with claims
    let env = TestEnv::new().await;
    rewrite(&env, &mining("a1")).await;
    env.llm.set_answer("overview", invented_overview());
    rewrite(&env, &mining("a2")).await;

    // Act
    let output = env.run(&["audit"], "");

    // Assert
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("a1.md: v1 ok\n"), "{stdout}");
    assert!(stdout.contains("a2.md: v1 draft\n"), "{stdout}");
    assert!(
        stdout.contains("  unsupported claims: $5 billion, March 3, Jane Doe\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  flag: overview: names not in the news item: Jane Doe\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  section Overview: 1 paragraph, "),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            ": 0 break the contract, 1 drafts, 3 unsupported claims; prompt versions: v1: 2"
        ),
        "{stdout}"
    );

    // Arrange: a version folder with a broken article beside a good one
    let versions = env.out().join("versions/a1");
    let good = std::fs::read_to_string(versions.join("v1.md")).unwrap();
    let broken = tempfile::tempdir().unwrap();
    std::fs::write(broken.path().join("v1.md"), &good).unwrap();
    std::fs::write(
        broken.path().join("v2.md"),
        good.replace("## From author", "## Opinion")
            .replace("version: 1", "version: 2"),
    )
    .unwrap();

    // Act
    let output = env.run(&["audit", &broken.path().display().to_string()], "");

    // Assert
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("v2.md: v2 BROKEN\n"), "{stdout}");
    assert!(stdout.contains("  contract: body sections are"), "{stdout}");
    assert!(
        stdout.contains("1 break the contract") && stdout.contains("prompt versions: v1: 1, v2: 1"),
        "{stdout}"
    );
}
