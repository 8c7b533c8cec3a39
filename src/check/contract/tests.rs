//! One failing example per check of the contract: an article that breaks the rule is reported
//! with the script's message, and the valid article it was made from passes. The messages were
//! compared with `shared/tools/check_article.py`'s where the script has the same check.

use serde_json::{Value as Json, json};

use super::check_article;

const VALID: &str = "---
title: Bitcoin Mining Revenue Gauge Falls
description: Miners earned less per unit of hashpower than ever before during the selloff.
publishedAt: '2026-02-05T17:45:43.000Z'
updatedAt: '2026-02-05T18:45:11.000Z'
lang: en
externalId: '57763812'
source:
  name: Bloomberg (Crypto)
  key: bloomberg_crypto_
  type: RSS
category: BTC
tags:
- BTC
- MINING
stickyWeight: 0
sentiment: NEGATIVE
score: 0
draft: false
coverImage:
  thumb: https://example.com/t.jpg
ai:
  rewritten: true
  expandedAt: '2026-02-05T18:45:11.000Z'
  version: 2
---
## Overview

Miners earned less per unit of hashpower than ever before during the selloff.

## Hashprice Hits a Low

First paragraph of the story.

Second paragraph of the story.

## From author

A view.

## Impact on the crypto market

- One
- Two
- Three
";

/// The headline `VALID` was written from.
fn headline() -> Json {
    json!({
        "externalId": "57763812",
        "title": "Bitcoin Mining Revenue Gauge Falls",
        "publishedAt": "2026-02-05T17:45:43.000Z",
        "lang": "en",
        "source": {"name": "Bloomberg (Crypto)", "key": "bloomberg_crypto_", "type": "RSS"},
        "category": "BTC",
        "coverImage": {"thumb": "https://example.com/t.jpg"},
    })
}

/// `VALID` with the first `from` replaced by `to`.
fn with(from: &str, to: &str) -> String {
    assert!(VALID.contains(from), "VALID lacks {from:?}");
    VALID.replacen(from, to, 1)
}

/// The problems of an article on its own (no headline, any version).
fn problems(text: &str) -> Vec<String> {
    check_article(text, None, None)
}

#[test]
fn the_valid_article_keeps_the_contract_with_or_without_its_headline() {
    assert_eq!(problems(VALID), [""; 0]);
    assert_eq!(check_article(VALID, Some(&headline()), Some(2)), [""; 0]);
    let job = json!({"headline": headline(), "promptVersion": 2});
    assert_eq!(check_article(VALID, Some(&job), Some(2)), [""; 0]);
    // coverImage is the one key that may be left out.
    let bare = with("coverImage:\n  thumb: https://example.com/t.jpg\n", "");
    assert_eq!(problems(&bare), [""; 0]);
}

#[test]
fn a_text_without_a_closed_frontmatter_is_reported() {
    assert_eq!(
        problems("## Overview\n"),
        ["does not start with a '---' frontmatter line"]
    );
    assert_eq!(
        problems("---\ntitle: T\n"),
        ["frontmatter is not closed by a '---' line"]
    );
}

#[test]
fn a_frontmatter_that_is_no_yaml_mapping_is_reported() {
    let broken = problems(&with("lang: en", "lang: [en"));
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert!(
        broken[0].starts_with("frontmatter is not YAML: "),
        "{broken:?}"
    );
    assert_eq!(
        problems(&with("category: BTC", "category: !foo BTC")),
        ["frontmatter is not YAML: unknown tag !foo"]
    );
    assert_eq!(
        problems("---\n- a list\n---\n## Overview\n"),
        ["frontmatter is not a mapping"]
    );
}

#[test]
fn missing_and_misordered_keys_are_reported() {
    assert_eq!(
        problems(&with("stickyWeight: 0\n", "").replace("score: 0\n", "")),
        [
            "frontmatter lacks ['score', 'stickyWeight']",
            "stickyWeight is None, not 0",
            "score is None, not 0",
        ]
    );
    let swapped = with(
        "lang: en\nexternalId: '57763812'\n",
        "externalId: '57763812'\nlang: en\n",
    );
    assert_eq!(
        problems(&swapped),
        [
            "frontmatter keys out of order: ['title', 'description', 'publishedAt', 'updatedAt', \
             'externalId', 'lang', 'source', 'category', 'tags', 'stickyWeight', 'sentiment', \
             'score', 'draft', 'coverImage', 'ai']"
        ]
    );
}

#[test]
fn a_timestamp_in_another_form_is_reported() {
    assert_eq!(
        problems(&with(
            "publishedAt: '2026-02-05T17:45:43.000Z'",
            "publishedAt: '2026-02-05T17:45:43Z'"
        )),
        ["publishedAt is not YYYY-MM-DDTHH:MM:SS.sssZ: '2026-02-05T17:45:43Z'"]
    );
    // Digits other than ASCII ones, which Python's `\d` would let through.
    assert_eq!(
        problems(&with(
            "updatedAt: '2026-02-05T18:45:11.000Z'",
            "updatedAt: '२026-02-05T18:45:11.000Z'"
        )),
        [
            "updatedAt is not YYYY-MM-DDTHH:MM:SS.sssZ: '२026-02-05T18:45:11.000Z'",
            "ai.expandedAt differs from updatedAt",
        ]
    );
}

#[test]
fn an_external_id_that_is_no_string_and_an_incomplete_source_are_reported() {
    assert_eq!(
        problems(&with("externalId: '57763812'", "externalId: 57763812")),
        ["externalId is not a string: 57763812"]
    );
    assert_eq!(
        problems(&with("  type: RSS\n", "")),
        ["source needs name, key and type: \
             {'name': 'Bloomberg (Crypto)', 'key': 'bloomberg_crypto_'}"]
    );
    assert_eq!(
        problems(&with(
            "source:\n  name: Bloomberg (Crypto)\n  key: bloomberg_crypto_\n  type: RSS\n",
            "source: Bloomberg\n"
        )),
        ["source needs name, key and type: 'Bloomberg'"]
    );
}

#[test]
fn a_bad_sentiment_tags_or_category_are_reported() {
    assert_eq!(
        problems(&with("sentiment: NEGATIVE", "sentiment: BAD")),
        ["sentiment is 'BAD'"]
    );
    assert_eq!(
        problems(&with("- MINING", "- Mining")),
        ["tags must be a non-empty list of upper-case strings: ['BTC', 'Mining']"]
    );
    assert_eq!(
        problems(&with("tags:\n- BTC\n- MINING\n", "tags: []\n")),
        ["tags must be a non-empty list of upper-case strings: []"]
    );
    assert_eq!(
        problems(&with("category: BTC", "category: ''")),
        ["category is ''"]
    );
}

#[test]
fn flags_other_than_zero_and_a_draft_that_is_no_boolean_are_reported() {
    assert_eq!(
        problems(&with("stickyWeight: 0", "stickyWeight: 5")),
        ["stickyWeight is 5, not 0"]
    );
    // Stricter than the script, for which 0.0 == 0.
    assert_eq!(
        problems(&with("score: 0", "score: 0.0")),
        ["score is 0.0, not 0"]
    );
    assert_eq!(
        problems(&with("draft: false", "draft: 'false'")),
        ["draft is not a boolean: 'false'"]
    );
    // Stricter than the script, whose YAML 1.1 reader takes `no` for false.
    assert_eq!(
        problems(&with("draft: false", "draft: no")),
        ["draft is not a boolean: 'no'"]
    );
}

#[test]
fn each_broken_ai_field_is_reported() {
    assert_eq!(
        problems(&with(
            "ai:\n  rewritten: true\n  expandedAt: '2026-02-05T18:45:11.000Z'\n  version: 2\n",
            "ai: true\n"
        )),
        ["ai is not a mapping"]
    );
    assert_eq!(
        problems(&with("rewritten: true", "rewritten: false")),
        ["ai.rewritten is False"]
    );
    assert_eq!(
        problems(&with("version: 2", "version: 0")),
        ["ai.version is 0"]
    );
    assert_eq!(
        problems(&with("version: 2", "version: true")),
        ["ai.version is True"]
    );
    assert_eq!(
        check_article(VALID, None, Some(3)),
        ["ai.version is 2, expected 3"]
    );
    assert_eq!(
        problems(&with(
            "expandedAt: '2026-02-05T18:45:11.000Z'",
            "expandedAt: '2026-02-05T18:45:12.000Z'"
        )),
        ["ai.expandedAt differs from updatedAt"]
    );
}

#[test]
fn an_approval_without_editor_or_time_or_on_a_draft_is_reported() {
    let approved = |approval: &str| with("  version: 2\n", &format!("  version: 2\n{approval}"));
    let good = "  approved:\n    by: ed\n    at: '2026-02-06T09:00:00.000Z'\n";
    assert_eq!(problems(&approved(good)), [""; 0]);
    assert_eq!(
        problems(&approved("  approved:\n    by: ed\n")),
        ["ai.approved is {'by': 'ed'}, not {by, at}"]
    );
    assert_eq!(
        problems(&approved(good).replace("draft: false", "draft: true")),
        ["ai.approved on an article that is still a draft"]
    );
    assert_eq!(
        problems(&approved(
            &good.replace("2026-02-06T09:00:00.000Z", "yesterday")
        )),
        ["ai.approved.at is not YYYY-MM-DDTHH:MM:SS.sssZ"]
    );
}

#[test]
fn a_string_field_holding_something_else_is_reported() {
    // `title: 2026` is the number 2026 to every YAML reader.
    assert_eq!(
        problems(&with(
            "title: Bitcoin Mining Revenue Gauge Falls",
            "title: 2026"
        )),
        ["title is not a string: 2026"]
    );
    assert_eq!(
        problems(&with(
            "coverImage:\n  thumb: https://example.com/t.jpg\n",
            "coverImage: https://example.com/t.jpg\n"
        )),
        ["coverImage is not a mapping: 'https://example.com/t.jpg'"]
    );
    assert_eq!(
        problems(&with(
            "  thumb: https://example.com/t.jpg\n",
            "  thumb: https://example.com/t.jpg\n  small: 12\n"
        )),
        ["coverImage.small is not a string: 12"]
    );
}

#[test]
fn strings_written_bare_that_yaml_1_1_reads_otherwise_are_reported() {
    // Each is a string to YAML 1.2, and so passes every other check.
    let cases = [
        (
            "lang: en",
            "lang: no",
            "lang would be read as a non-string by YAML 1.1 readers: no",
        ),
        (
            "category: BTC",
            "category: ON",
            "category would be read as a non-string by YAML 1.1 readers: ON",
        ),
        (
            "- MINING",
            "- 1_000",
            "an item of tags would be read as a non-string by YAML 1.1 readers: 1_000",
        ),
        (
            "  key: bloomberg_crypto_",
            "  key: 12:30:00",
            "source.key would be read as a non-string by YAML 1.1 readers: 12:30:00",
        ),
        (
            "publishedAt: '2026-02-05T17:45:43.000Z'",
            "publishedAt: 2026-02-05T17:45:43.000Z",
            "publishedAt would be read as a non-string by YAML 1.1 readers: \
             2026-02-05T17:45:43.000Z",
        ),
        (
            "expandedAt: '2026-02-05T18:45:11.000Z'",
            "expandedAt: '2026-02-05T18:45:11.000Z' # quoted",
            "",
        ),
        (
            "tags:\n- BTC\n- MINING\n",
            "tags: [BTC, 'NO', Y]\n",
            "an item of tags would be read as a non-string by YAML 1.1 readers: Y",
        ),
        ("  thumb: https://example.com/t.jpg", "  thumb: ~t", ""),
    ];
    for (from, to, want) in cases {
        let found = problems(&with(from, to));
        let want: Vec<&str> = [want].into_iter().filter(|w| !w.is_empty()).collect();
        assert_eq!(found, want, "{to}");
    }
    // Quoted, the same values are fine.
    assert_eq!(problems(&with("lang: en", "lang: 'no'")), [""; 0]);
}

#[test]
fn mojibake_anywhere_in_the_article_is_reported() {
    assert_eq!(
        problems(&with("First paragraph", "First â€” paragraph")),
        ["mojibake 'â€' in the article"]
    );
    assert_eq!(
        problems(&with("A view.", "A vi\u{fffd}w.")),
        ["mojibake '\u{fffd}' in the article"]
    );
}

#[test]
fn missing_misnamed_or_repeated_sections_are_reported() {
    let expected = "expected Overview, <heading>, From author, Impact on the crypto market";
    assert_eq!(
        problems(&with("## From author\n\nA view.\n\n", "")),
        [format!(
            "body sections are ['Overview', 'Hashprice Hits a Low', \
             'Impact on the crypto market'], {expected}"
        )]
    );
    assert_eq!(
        problems(&with("## From author", "## From the author")),
        [format!(
            "body sections are ['Overview', 'Hashprice Hits a Low', 'From the author', \
             'Impact on the crypto market'], {expected}"
        )]
    );
    assert_eq!(
        problems(&with("## Hashprice Hits a Low", "## Overview")),
        [format!(
            "body sections are ['Overview', 'Overview', 'From author', \
             'Impact on the crypto market'], {expected}"
        )]
    );
    // In another language the fixed headings may be translated, but there are still four.
    let german = with("lang: en", "lang: de").replace("## Overview", "## Überblick");
    assert_eq!(problems(&german), [""; 0]);
    assert_eq!(
        problems(&german.replace("## From author\n\nA view.\n\n", "")),
        [format!(
            "body sections are ['Überblick', 'Hashprice Hits a Low', \
             'Impact on the crypto market'], {expected} \
             (or the same four in the article's language)"
        )]
    );
}

#[test]
fn an_overview_of_two_paragraphs_or_too_short_is_reported() {
    let overview = "Miners earned less per unit of hashpower than ever before during the selloff.";
    assert_eq!(
        problems(&with(
            &format!("\n{overview}\n"),
            &format!("\n{overview}\n\nA second paragraph.\n")
        )),
        [
            "Overview should be one paragraph of prose, found 2",
            "description is neither the overview nor its opening with '…'",
        ]
    );
    let short = with(overview, "Miners earned less.").replacen(overview, "Miners earned less.", 1);
    assert_eq!(
        problems(&short),
        ["Overview should be one paragraph of prose, found one of 19 characters (40 at least)"]
    );
}

#[test]
fn a_story_of_one_paragraph_or_with_an_empty_heading_is_reported() {
    assert_eq!(
        problems(&with("\n\nSecond paragraph of the story.", "")),
        ["the story section has 1 paragraphs, expected 2 to 4"]
    );
    // The fixed headings as the story's own, in an article whose first heading is translated.
    let german = with("lang: en", "lang: de").replace("## Overview", "## Überblick");
    assert_eq!(
        problems(&german.replace("## Hashprice Hits a Low", "## Overview")),
        ["story heading is 'Overview'"]
    );
    assert_eq!(
        problems(&with("## Hashprice Hits a Low", "##  ")),
        ["story heading is ' '"]
    );
}

#[test]
fn commentary_of_three_paragraphs_is_reported() {
    assert_eq!(
        problems(&with("A view.", "A view.\n\nAnother.\n\nA third.")),
        ["From author has 3 paragraphs, expected 1 or 2"]
    );
}

#[test]
fn too_few_or_malformed_impact_bullets_are_reported() {
    assert_eq!(
        problems(&with("- Three\n", "")),
        ["Impact should be 3 to 6 '- ' bullets, found ['- One', '- Two']"]
    );
    assert_eq!(
        problems(&with("- Three", "* Three")),
        ["Impact should be 3 to 6 '- ' bullets, found ['- One', '- Two', '* Three']"]
    );
    assert_eq!(
        problems(&with("- Three", "- ")),
        ["Impact should be 3 to 6 '- ' bullets, found ['- One', '- Two', '-']"]
    );
}

#[test]
fn a_description_that_is_not_the_overview_or_its_opening_is_reported() {
    let description = |d: &str| {
        with(
            "description: Miners earned less per unit of hashpower than ever before during the selloff.",
            &format!("description: {d}"),
        )
    };
    assert_eq!(
        problems(&description("Miners earned less per unit…")),
        [""; 0]
    );
    assert_eq!(
        problems(&description("Miners earned less per un…")),
        ["description is cut inside a word"]
    );
    assert_eq!(
        problems(&description("Miners earned more…")),
        ["description is not the overview's opening"]
    );
    assert_eq!(
        problems(&description("Miners earned less per unit")),
        ["description is neither the overview nor its opening with '…'"]
    );
    assert_eq!(problems(&description("''")), ["description is empty"]);
    let long = "word ".repeat(50);
    let overview = "Miners earned less per unit of hashpower than ever before during the selloff.";
    let too_long = description(&format!("{}…", long.trim_end())).replacen(
        &format!("\n{overview}\n"),
        &format!("\n{long}\n"),
        1,
    );
    assert_eq!(
        problems(&too_long),
        ["description is 250 characters, more than 200 and the ellipsis"]
    );
}

#[test]
fn fields_that_differ_from_the_headline_are_reported() {
    let source = headline();
    let against = |text: &str| check_article(text, Some(&source), None);
    assert_eq!(
        against(&with(
            "title: Bitcoin Mining Revenue Gauge Falls",
            "title: Bitcoin Falls"
        )),
        ["title 'Bitcoin Falls' differs from the headline's \
             'Bitcoin Mining Revenue Gauge Falls'"]
    );
    assert_eq!(
        against(&with("externalId: '57763812'", "externalId: '57763813'")),
        ["externalId differs from the headline's"]
    );
    assert_eq!(
        against(&with("  name: Bloomberg (Crypto)", "  name: Bloomberg")),
        ["source.name differs from the headline's"]
    );
    assert_eq!(
        against(&with("lang: en", "lang: fr")),
        ["lang is 'fr', the headline's is 'en'"]
    );
    assert_eq!(
        against(&with("category: BTC", "category: ETH")),
        ["category differs from the headline's"]
    );
    assert_eq!(
        against(&with("t.jpg", "u.jpg")),
        ["coverImage differs from the headline's"]
    );
    // The headline's integer id is compared as Python's str() of it.
    let numeric = json!({
        "externalId": 57763812,
        "title": "Bitcoin Mining Revenue Gauge Falls",
        "source": {"name": "Bloomberg (Crypto)"},
    });
    assert_eq!(check_article(VALID, Some(&numeric), None), [""; 0]);
}
