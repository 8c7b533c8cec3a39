//! The facts reader's rules, as examples.

use super::words::{MONTHS, WEEKDAYS, month_of, weekday};
use super::*;

fn unsupported(source: &str, text: &str, lang: &str) -> Vec<String> {
    Facts::of_text(source, lang)
        .unsupported(text, lang, true)
        .into_iter()
        .map(|c| c.text)
        .collect()
}

fn supported(source: &str, text: &str, lang: &str) {
    let left = unsupported(source, text, lang);
    assert!(left.is_empty(), "{text:?} against {source:?}: {left:?}");
}

/// For each `(source, text, claims)`: the claims of `text` that `source` does not support are
/// exactly `claims`, in order.
fn all_unsupported(lang: &str, cases: &[(&str, &str, &[&str])]) {
    for (source, text, claims) in cases {
        assert_eq!(
            unsupported(source, text, lang),
            *claims,
            "{text:?} against {source:?}"
        );
    }
}

/// [`supported`] for each of `texts`.
fn all_supported(source: &str, texts: &[&str], lang: &str) {
    for text in texts {
        supported(source, text, lang);
    }
}

#[test]
fn every_month_and_weekday_is_known_in_any_case_and_abbreviated_with_a_stop() {
    for (month, names) in MONTHS {
        for name in *names {
            for written in [
                name.to_string(),
                name.to_uppercase(),
                format!("{name}."),
                format!("{}.", name.to_uppercase()),
            ] {
                assert_eq!(month_of(&written), Some(*month), "{written:?}");
            }
        }
    }
    for name in WEEKDAYS {
        assert!(weekday(name) && weekday(&name.to_uppercase()), "{name:?}");
    }
    for word in ["Septembers", "septiembre..", "Wednesdays", "Bitcoin"] {
        assert_eq!(month_of(word), None, "{word:?}");
        assert!(!weekday(word), "{word:?}");
    }
}

#[test]
fn a_hyphenated_word_of_the_news_item_supports_its_parts_and_the_whole() {
    let facts = Facts::of_text("Coinbase-Backed fund rises", "en");
    for word in ["coinbase-backed", "coinbase", "backed"] {
        assert!(facts.words.contains(word), "{word:?}: {:?}", facts.words);
    }
}

#[test]
fn money_restated_in_another_form_is_supported() {
    for source in [
        "Fund raises $1B",
        "Fund raises $1,000,000,000",
        "Fund raises 1 billion dollars",
        "Fund raises 1bn USD",
    ] {
        all_supported(
            source,
            &[
                "It raised $1B.",
                "It raised 1 billion dollars.",
                "It raised $1,000,000,000.",
                "It raised 1bn.",
                "It raised USD 1 billion.",
                "It raised US$1 billion.",
            ],
            "en",
        );
    }
    supported(
        "Exchange loses $1.2 billion",
        "It lost 1.2bn, or $1,200 million.",
        "en",
    );
    supported(
        "Exchange loses $1.23 billion",
        "It lost about $1.2 billion.",
        "en",
    );
    supported(
        "Miners sold 3 million coins",
        "They sold 3,000,000 coins.",
        "en",
    );
    supported("Token raises $250k", "It raised $250,000.", "en");
}

#[test]
fn percentages_restated_in_another_form_are_supported() {
    all_supported(
        "Hashrate falls 40.3%",
        &[
            "Hashrate fell 40%.",
            "Hashrate fell 40 percent.",
            "Hashrate fell 40 per cent.",
            "Hashrate fell by 40.3%.",
        ],
        "en",
    );
}

#[test]
fn invented_figures_are_not_supported() {
    all_unsupported(
        "en",
        &[
            (
                "Fund raises $1.2 billion",
                "It raised $1 billion.",
                &["$1 billion"],
            ),
            (
                "Hashrate falls 40%",
                "It fell 45% in 2031.",
                &["45%", "2031"],
            ),
            ("Miners sell coins", "They sold 1,250 coins.", &["1,250"]),
            ("Fund raises $1B", "It raised $1 million.", &["$1 million"]),
        ],
    );
}

#[test]
fn single_digits_used_as_words_are_not_claims() {
    supported(
        "Miners sell coins",
        "There are 3 reasons, and 2 of them matter.",
        "en",
    );
    assert_eq!(
        unsupported(
            "Miners sell coins",
            "They sold 3 million coins for $5.",
            "en"
        ),
        ["3 million", "$5"]
    );
}

#[test]
fn dates_in_several_forms_are_the_same_date() {
    let source = "Exchange halts withdrawals on February 5, 2026";
    all_supported(
        source,
        &[
            "It halted them on Feb. 5.",
            "It halted them on 2026-02-05.",
            "It halted them on 5 February 2026.",
            "It halted them on February 5th.",
            "It happened in February 2026, in 2026.",
        ],
        "en",
    );
    all_unsupported(
        "en",
        &[
            (source, "It resumed on March 3, 2026.", &["March 3, 2026"]),
            (source, "Trading resumes Feb. 9.", &["Feb. 9"]),
        ],
    );
    supported(
        "Börse startet am 5. Februar 2026",
        "Der Handel beginnt am 5. Februar.",
        "de",
    );
    assert_eq!(
        unsupported(
            "Börse startet am 5. Februar 2026",
            "Der Handel beginnt am 9. März 2026.",
            "de"
        ),
        ["9. März 2026"]
    );
}

#[test]
fn the_published_date_supports_its_day_and_year() {
    let headline = Headline::from_value(serde_json::json!({
        "externalId": "1", "title": "Miners unplug machines", "publishedAt": "2026-02-05T17:45:43Z",
        "source": {"name": "Bloomberg (Crypto)", "key": "b"}, "tags": ["BTC", "MINING"]
    }))
    .unwrap();
    let facts = Facts::of_headline(&headline);
    let left: Vec<String> = facts
        .unsupported(
            "On Feb. 5, 2026, Bloomberg reported that BTC miners unplugged rigs in 2026.",
            "en",
            true,
        )
        .into_iter()
        .map(|c| c.text)
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn tickers_and_their_assets_support_each_other() {
    supported(
        "Bitcoin, Solana and ether rally",
        "BTC rose while $SOL and ETH lagged behind ether.",
        "en",
    );
    assert_eq!(
        unsupported(
            "Bitcoin rallies",
            "BTC rose while $SOL lagged and the SEC said nothing.",
            "en"
        ),
        ["$SOL", "SEC"]
    );
    supported(
        "Bitcoin rallies",
        "An ETF and a DAO were in the news, the CEO said.",
        "en",
    );
}

#[test]
fn names_are_runs_of_capitals_not_sentence_starts() {
    let source = "Bloomberg says miners unplug machines";
    supported(
        source,
        "Miners unplugged machines, Bloomberg reports. Revenue fell in February as Bitcoin slid on Monday.",
        "en",
    );
    all_unsupported(
        "en",
        &[
            (
                source,
                "Miners unplugged machines, said Jane Doe of CointelPro. Jane Doe added more.",
                &["Jane Doe", "CointelPro"],
            ),
            (
                source,
                "In Germany, miners unplugged machines.",
                &["Germany"],
            ),
            (source, "The Bank of America said so.", &["Bank of America"]),
        ],
    );
    supported(
        "Jane Doe leaves Coinbase",
        "Miners reacted after Doe's exit from Coinbase. Jane Doe said little.",
        "en",
    );
    supported(
        "German regulator fines exchange",
        "Regulators in Germany fined it.",
        "en",
    );
    supported(
        "Miners unplug machines",
        "\"Mining is hard,\" one operator said: \"We unplug.\"",
        "en",
    );
}

#[test]
fn german_nouns_are_not_names_but_multi_word_names_are() {
    let source = "Börse Stuttgart startet Krypto-Handel für Privatkunden";
    supported(
        source,
        "Die Börse Stuttgart öffnet den Handel mit Kryptowährungen für Anleger in Deutschland. Neue Regeln gelten.",
        "de",
    );
    assert_eq!(
        unsupported(source, "Laut der Deutschen Bank ist das wichtig.", "de"),
        ["Deutschen Bank"]
    );
}

#[test]
fn german_numbers_use_the_decimal_comma() {
    let source = "Börse sammelt 1,2 Milliarden Dollar ein; Kurs fällt um 40 Prozent";
    all_supported(
        source,
        &[
            "Sie sammelte 1,2 Mrd. US-Dollar ein.",
            "Sie sammelte 1.200 Mio. Dollar ein.",
            "Der Kurs fiel um 40 %.",
            "Es waren 1.200.000.000 Dollar.",
        ],
        "de",
    );
    assert_eq!(
        unsupported(source, "Der Kurs fiel um 45,5 Prozent.", "de"),
        ["45,5 Prozent"]
    );
    // German "Billion" is a million million.
    assert_eq!(
        unsupported(
            "Markt erreicht 1 Billion Euro",
            "Der Markt erreichte 1.000 Milliarden Euro.",
            "de"
        ),
        Vec::<String>::new()
    );
}

#[test]
fn french_and_spanish_forms() {
    supported(
        "La bourse lève 3 000 euros",
        "Elle a levé 3000 euros.",
        "fr",
    );
    supported(
        "La plateforme recauda 1.200 millones",
        "Recaudó 1,2 mil millones de dólares.",
        "es",
    );
}
