//! The word tables of the facts reader: currencies, scales, months and weekdays in the
//! languages it reads, assets by ticker and name, and the capitalised words that name no one.

pub(super) const CURRENCY_SIGNS: &[char] = &['$', '€', '£', '¥', '₿'];

pub(super) fn is_currency_code(w: &str) -> bool {
    matches!(
        w,
        "USD" | "EUR" | "GBP" | "JPY" | "CHF" | "CNY" | "AUD" | "CAD"
    )
}

pub(super) fn is_currency_word(w: &str) -> bool {
    matches!(
        w,
        "dollar"
            | "dollars"
            | "us-dollar"
            | "euro"
            | "euros"
            | "pound"
            | "pounds"
            | "yen"
            | "franc"
            | "francs"
            | "dólares"
            | "dolares"
            | "dólar"
            | "dollari"
            | "dólares,"
            | "yuan"
    )
}

pub(super) const PERCENT_WORDS: &[&str] = &[
    "percent",
    "pct",
    "prozent",
    "procent",
    "percentage",
    "prozentpunkte",
    "porcentaje",
];

pub(super) fn is_all_caps(w: &str) -> bool {
    // The first letter first: most words fail there.
    w.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() && c.is_uppercase())
        && w.chars()
            .all(|c| c.is_uppercase() || c.is_ascii_digit() || c == '-')
        && w.chars().filter(|c| c.is_alphabetic()).nth(1).is_some()
}

pub(super) fn is_capitalised(w: &str) -> bool {
    // Two letters or more: the scan stops at the second.
    w.chars().next().is_some_and(char::is_uppercase)
        && w.chars().filter(|c| c.is_alphabetic()).nth(1).is_some()
}

pub(super) fn strip_possessive(w: &str) -> &str {
    w.strip_suffix("'s")
        .or_else(|| w.strip_suffix("’s"))
        .or_else(|| w.strip_suffix("'S"))
        .unwrap_or(w)
        .trim_end_matches(['\'', '’'])
}

pub(super) fn month_of(word: &str) -> Option<u32> {
    // Most words are longer than any month's name and its full stop: not lower-cased.
    // (Lower-casing never makes a word fewer characters.)
    if word.chars().nth(LONGEST_MONTH + 1).is_some() {
        return None;
    }
    let w = word.to_lowercase();
    let w = w.trim_end_matches('.');
    MONTHS
        .iter()
        .find(|(_, names)| names.contains(&w))
        .map(|(m, _)| *m)
}

pub(super) fn weekday(word: &str) -> bool {
    word.chars().nth(LONGEST_WEEKDAY).is_none() && WEEKDAYS.contains(&word.to_lowercase().as_str())
}

/// `s.chars().count()`, at compile time: every byte but UTF-8's continuation bytes starts a
/// character.
const fn char_count(s: &str) -> usize {
    let (bytes, mut count, mut i) = (s.as_bytes(), 0, 0);
    while i < bytes.len() {
        count += (bytes[i] & 0xC0 != 0x80) as usize;
        i += 1;
    }
    count
}

/// Characters of the longest name in `names`, for a length check before a lookup.
const fn longest(names: &[&str]) -> usize {
    let (mut longest, mut i) = (0, 0);
    while i < names.len() {
        longest = max(longest, char_count(names[i]));
        i += 1;
    }
    longest
}

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

const LONGEST_MONTH: usize = {
    let (mut longest_month, mut i) = (0, 0);
    while i < MONTHS.len() {
        longest_month = max(longest_month, longest(MONTHS[i].1));
        i += 1;
    }
    longest_month
};

const LONGEST_WEEKDAY: usize = longest(WEEKDAYS);

pub(super) const MONTHS: &[(u32, &[&str])] = &[
    (
        1,
        &[
            "january", "jan", "januar", "janvier", "enero", "gennaio", "janeiro", "januari",
            "jänner",
        ],
    ),
    (
        2,
        &[
            "february",
            "feb",
            "februar",
            "février",
            "febrero",
            "febbraio",
            "fevereiro",
            "februari",
        ],
    ),
    (
        3,
        &["march", "mar", "märz", "mars", "marzo", "março", "maart"],
    ),
    (4, &["april", "apr", "avril", "abril", "aprile"]),
    (5, &["may", "mai", "mayo", "maggio", "maio", "mei"]),
    (
        6,
        &["june", "jun", "juni", "juin", "junio", "giugno", "junho"],
    ),
    (
        7,
        &["july", "jul", "juli", "juillet", "julio", "luglio", "julho"],
    ),
    (8, &["august", "aug", "août", "agosto", "augustus"]),
    (
        9,
        &[
            "september",
            "sep",
            "sept",
            "septembre",
            "septiembre",
            "settembre",
            "setembro",
        ],
    ),
    (
        10,
        &[
            "october", "oct", "oktober", "okt", "octobre", "octubre", "ottobre", "outubro",
        ],
    ),
    (
        11,
        &["november", "nov", "novembre", "noviembre", "novembro"],
    ),
    (
        12,
        &[
            "december",
            "dec",
            "dezember",
            "dez",
            "décembre",
            "diciembre",
            "dicembre",
            "dezembro",
        ],
    ),
];

pub(super) const WEEKDAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "montag",
    "dienstag",
    "mittwoch",
    "donnerstag",
    "freitag",
    "samstag",
    "sonntag",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
];

/// Words capitalised in prose without naming anyone in particular.
pub(super) const ORDINARY_CAPITALS: &[&str] = &[
    "i",
    "bitcoin",
    "bitcoins",
    "ethereum",
    "ether",
    "crypto",
    "defi",
    "web3",
    "ai",
    "internet",
    "stablecoin",
    "stablecoins",
    "altcoin",
    "altcoins",
    "blockchain",
    "krypto",
    "kryptowährung",
    "kryptowährungen",
];

/// Upper-case words that are vocabulary, not tickers or names.
pub(super) const GENERIC_ACRONYMS: &[&str] = &[
    "AI", "CEO", "CFO", "CTO", "COO", "ETF", "ETFS", "ETP", "NFT", "NFTS", "IPO", "OTC", "KYC",
    "AML", "DAO", "DAOS", "DEX", "CEX", "TVL", "ATH", "ATL", "API", "GDP", "CPI", "PR", "FAQ",
    "OK", "TV", "PDF", "Q1", "Q2", "Q3", "Q4", "H1", "H2", "YTD", "YOY", "P2P", "L1", "L2",
];

/// Assets by ticker and name, so that `BTC` is supported by "bitcoin" and "Solana" by `SOL`.
pub(super) const ASSETS: &[(&str, &[&str])] = &[
    ("btc", &["bitcoin", "bitcoins"]),
    ("eth", &["ether", "ethereum"]),
    ("sol", &["solana"]),
    ("xrp", &["ripple"]),
    ("doge", &["dogecoin"]),
    ("ada", &["cardano"]),
    ("bnb", &["binance"]),
    ("usdt", &["tether"]),
    ("usdc", &["circle"]),
    ("avax", &["avalanche"]),
    ("dot", &["polkadot"]),
    ("ltc", &["litecoin"]),
    ("trx", &["tron"]),
    ("link", &["chainlink"]),
    ("pol", &["polygon", "matic"]),
    ("ton", &["toncoin"]),
    ("shib", &["shiba"]),
];

/// Words that end with a full stop without ending the sentence.
pub(super) const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "inc", "corp", "ltd", "co", "st", "jr", "sr", "vs", "no",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mio",
    "mrd", "bzw", "ca", "nr", "z", "b", "e", "g", "i", "etc", "approx", "hr", "fr", "sig",
];

/// First words of sentences that are never part of a name.
pub(super) const SENTENCE_OPENERS: &[&str] = &[
    "the",
    "a",
    "an",
    "in",
    "on",
    "at",
    "for",
    "from",
    "with",
    "by",
    "as",
    "but",
    "and",
    "or",
    "so",
    "if",
    "when",
    "while",
    "after",
    "before",
    "this",
    "that",
    "these",
    "those",
    "its",
    "his",
    "her",
    "their",
    "our",
    "we",
    "they",
    "he",
    "she",
    "it",
    "what",
    "why",
    "how",
    "yet",
    "since",
    "although",
    "according",
    "unlike",
    "like",
    "both",
    "all",
    "some",
    "many",
    "most",
    "der",
    "die",
    "das",
    "ein",
    "eine",
    "im",
    "am",
    "le",
    "la",
    "les",
    "el",
    "los",
    "las",
    "il",
    "lo",
    "gli",
    "un",
    "une",
    "una",
    "o",
    "os",
    "de",
    "het",
    "en",
    "et",
    "y",
    "e",
];

/// Lower-case words inside names: "Bank of America", "Ursula von der Leyen".
pub(super) const CONNECTORS: &[&str] = &[
    "of", "van", "von", "der", "de", "del", "della", "di", "da", "du", "la", "le",
];
