//! Which language a text is written in, well enough to notice an answer in the wrong one.
//!
//! Two plain signals, no model: the writing system (Cyrillic, Hangul, kana, Han) for the
//! languages that have their own, and for the rest the share of very common words (articles,
//! prepositions, pronouns) of each language. A verdict is given only when the text has enough
//! such words and one language clearly leads; otherwise [`detect`] says nothing, so short or
//! mixed texts are never flagged.

use std::collections::HashMap;
use std::sync::LazyLock;

/// A language the detector knows: its tag and English name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    pub tag: &'static str,
    pub name: &'static str,
}

/// The English name of a language tag the detector knows (`de` → German).
pub fn name_of(tag: &str) -> Option<&'static str> {
    let primary = primary(tag);
    STOPWORDS
        .iter()
        .map(|(t, n, _)| (*t, *n))
        .chain(SCRIPTS.iter().map(|(t, n)| (*t, *n)))
        .find(|(t, _)| *t == primary)
        .map(|(_, n)| n)
}

fn primary(tag: &str) -> String {
    tag.split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

const SCRIPTS: &[(&str, &str)] = &[
    ("ru", "Russian"),
    ("uk", "Ukrainian"),
    ("ja", "Japanese"),
    ("zh", "Chinese"),
    ("ko", "Korean"),
];

/// Very common words of each language, chosen to overlap little with the others.
const STOPWORDS: &[(&str, &str, &[&str])] = &[
    (
        "en",
        "English",
        &[
            "the", "and", "of", "to", "is", "are", "was", "with", "that", "this", "for", "have",
            "has", "its", "their", "will", "would", "as", "by", "from", "which", "they", "been",
            "more", "than",
        ],
    ),
    (
        "de",
        "German",
        &[
            "der", "die", "das", "und", "ist", "sind", "mit", "für", "auf", "nicht", "ein", "eine",
            "einen", "dem", "den", "des", "sich", "auch", "wird", "werden", "noch", "nach", "bei",
            "wie", "zu",
        ],
    ),
    (
        "fr",
        "French",
        &[
            "le", "la", "les", "et", "des", "est", "sont", "une", "pour", "dans", "sur", "avec",
            "qui", "pas", "plus", "aux", "du", "ce", "cette", "ont", "été", "leur", "mais", "ou",
        ],
    ),
    (
        "es",
        "Spanish",
        &[
            "el", "los", "las", "y", "es", "son", "una", "para", "con", "por", "del", "que", "más",
            "pero", "como", "está", "sus", "han", "sobre", "entre", "muy", "también",
        ],
    ),
    (
        "it",
        "Italian",
        &[
            "il", "gli", "e", "è", "sono", "una", "per", "con", "che", "del", "della", "delle",
            "dei", "nel", "nella", "non", "più", "anche", "come", "alla", "sul", "ha", "hanno",
        ],
    ),
    (
        "pt",
        "Portuguese",
        &[
            "o", "os", "as", "e", "é", "são", "uma", "para", "com", "que", "do", "da", "dos",
            "das", "no", "na", "não", "mais", "também", "pelo", "pela", "em", "foi", "seu", "sua",
        ],
    ),
    (
        "nl",
        "Dutch",
        &[
            "de", "het", "een", "en", "is", "zijn", "van", "voor", "met", "op", "dat", "die",
            "niet", "ook", "maar", "bij", "naar", "wordt", "worden", "nog", "heeft", "hebben",
        ],
    ),
    (
        "tr",
        "Turkish",
        &[
            "ve", "bir", "bu", "da", "de", "için", "ile", "olarak", "daha", "çok", "gibi", "olan",
            "ama", "ancak", "sonra", "kadar", "göre", "en", "mi",
        ],
    ),
    (
        "no",
        "Norwegian",
        &[
            "og", "i", "er", "det", "som", "på", "en", "et", "til", "av", "for", "med", "har",
            "ikke", "den", "de", "om", "kan", "vil", "fra", "også", "etter",
        ],
    ),
];

/// Every stopword with the lists (indices into [`STOPWORDS`]) it is on.
#[derive(Default)]
struct Index {
    languages: HashMap<&'static str, Vec<usize>, foldhash::fast::FixedState>,
    /// The most characters a stopword has.
    longest: usize,
}

/// The language `text` is written in, when the evidence is clear.
pub fn detect(text: &str) -> Option<Detected> {
    let mut cyrillic = 0usize;
    let mut hangul = 0usize;
    let mut kana = 0usize;
    let mut han = 0usize;
    let mut latin = 0usize;
    // ASCII text has Latin letters only: counted byte by byte.
    if text.is_ascii() {
        latin = text.bytes().filter(u8::is_ascii_alphabetic).count();
    } else {
        for c in text.chars().filter(|c| c.is_alphabetic()) {
            match c as u32 {
                0x0400..=0x04FF => cyrillic += 1,
                0xAC00..=0xD7AF | 0x1100..=0x11FF => hangul += 1,
                0x3040..=0x30FF => kana += 1,
                0x4E00..=0x9FFF | 0x3400..=0x4DBF => han += 1,
                _ if c.is_ascii_alphabetic() || ('\u{C0}'..='\u{24F}').contains(&c) => latin += 1,
                _ => {}
            }
        }
    }
    let letters = cyrillic + hangul + kana + han + latin;
    if letters < 20 {
        return None;
    }
    let found = |tag: &'static str| {
        SCRIPTS
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(tag, name)| Detected { tag, name })
    };
    // A script of its own covers most letters; the rest (tickers, names) may be Latin.
    if hangul * 2 > letters {
        return found("ko");
    }
    if (kana + han) * 2 > letters {
        return if kana * 10 >= kana + han {
            found("ja")
        } else {
            found("zh")
        };
    }
    if cyrillic * 2 > letters {
        return found("ru");
    }
    if latin * 2 <= letters {
        return None;
    }
    // One lookup per word in an index of every list (built once), not a scan of each list.
    static INDEX: LazyLock<Index> = LazyLock::new(|| {
        let mut index = Index::default();
        for (i, (_, _, list)) in STOPWORDS.iter().enumerate() {
            for word in *list {
                index.languages.entry(word).or_default().push(i);
                index.longest = index.longest.max(word.chars().count());
            }
        }
        index
    });
    let mut hits = vec![0usize; STOPWORDS.len()];
    let mut lower = String::new();
    for word in text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
    {
        // Lower case never has fewer characters, so a longer word is no stopword (a word of
        // fewer bytes has fewer characters).
        if word.len() > INDEX.longest && word.chars().nth(INDEX.longest).is_some() {
            continue;
        }
        lower.clear();
        if word.is_ascii() {
            lower.push_str(word);
            lower.make_ascii_lowercase();
        } else {
            lower.extend(word.chars().flat_map(char::to_lowercase));
        }
        if let Some(languages) = INDEX.languages.get(lower.as_str()) {
            for &i in languages {
                hits[i] += 1;
            }
        }
    }
    let mut scores: Vec<(usize, &'static str, &'static str)> = STOPWORDS
        .iter()
        .zip(&hits)
        .map(|((tag, name, _), hits)| (*hits, *tag, *name))
        .collect();
    scores.sort_by_key(|s| std::cmp::Reverse(s.0));
    let (best, tag, name) = scores[0];
    let second = scores.get(1).map_or(0, |s| s.0);
    (best >= 5 && best * 2 >= second * 3).then_some(Detected { tag, name })
}

/// A complaint when `text` is clearly in another language than `expected` (a tag), naming
/// both: "written in English, expected German". Tags the detector does not know pass.
pub fn mismatch(text: &str, expected: &str) -> Option<String> {
    let want = primary(expected);
    let want_name = name_of(&want)?;
    let got = detect(text)?;
    if got.tag == want {
        return None;
    }
    // Close neighbours (Norwegian and Danish, Portuguese and Spanish) can be misread: only a
    // clear lead over the expected language counts.
    if let Some((_, _, words)) = STOPWORDS.iter().find(|(t, _, _)| *t == want) {
        let lower = text.to_lowercase();
        let hits = lower
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| words.contains(w))
            .count();
        if hits >= 5 {
            return None;
        }
    }
    Some(format!("written in {}, expected {want_name}", got.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EN: &str = "Market watchers describe the development as a notable moment for the wider digital asset market, and traders have been adjusting their positions as the news filters through order books.";
    const DE: &str = "Die Börse Stuttgart öffnet den Handel mit Kryptowährungen für private Anleger, und die Plattform bietet Bitcoin und Ether an. Das ist ein wichtiger Schritt für den Markt.";
    const FR: &str = "La bourse ouvre le commerce des cryptomonnaies pour les particuliers, et la plateforme propose le bitcoin et l'ether dans une offre qui est plus large.";
    const ES: &str = "La bolsa abre el comercio de criptomonedas para los inversores, y la plataforma ofrece bitcoin y ether con una oferta que es más amplia que antes.";

    #[test]
    fn common_languages_are_told_apart() {
        assert_eq!(detect(EN).map(|d| d.tag), Some("en"));
        assert_eq!(detect(DE).map(|d| d.tag), Some("de"));
        assert_eq!(detect(FR).map(|d| d.tag), Some("fr"));
        assert_eq!(detect(ES).map(|d| d.tag), Some("es"));
        assert_eq!(
            detect("Биржа открывает торговлю криптовалютами для частных инвесторов.")
                .map(|d| d.tag),
            Some("ru")
        );
        assert_eq!(detect("取引所は個人投資家向けに暗号資産の取引を開始しました。ビットコインとイーサを提供します。").map(|d| d.tag), Some("ja"));
        assert_eq!(
            detect("交易所向个人投资者开放加密货币交易，平台提供比特币和以太坊。").map(|d| d.tag),
            Some("zh")
        );
        assert_eq!(
            detect("거래소는 개인 투자자를 위한 암호화폐 거래를 시작했습니다.").map(|d| d.tag),
            Some("ko")
        );
    }

    #[test]
    fn an_answer_in_the_wrong_language_is_named() {
        assert_eq!(
            mismatch(EN, "de").as_deref(),
            Some("written in English, expected German")
        );
        assert_eq!(
            mismatch(DE, "en").as_deref(),
            Some("written in German, expected English")
        );
        assert_eq!(
            mismatch(EN, "ja").as_deref(),
            Some("written in English, expected Japanese")
        );
        assert_eq!(mismatch(DE, "de-AT"), None);
        assert_eq!(mismatch(EN, "en"), None);
    }

    #[test]
    fn short_texts_and_unknown_languages_pass() {
        assert_eq!(mismatch("Bitcoin rises.", "de"), None);
        assert_eq!(mismatch(EN, "sw"), None);
    }
}
