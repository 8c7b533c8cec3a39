//! Text as the article prints it and the review compares it: whitespace made single spaces,
//! markup and list marks a model wrote removed, quotes made straight.
//!
//! Shared by [`crate::article`], which prints answers so, and [`crate::review`], which judges
//! them as they will be printed; it depends on neither.

/// One line, single spaces, trimmed: `s.split_whitespace()` joined by single spaces.
pub(crate) fn normalize_space(s: &str) -> String {
    if is_single_spaced(s) {
        return s.to_owned();
    }
    // Pieces between whitespace other than the plain space (line breaks, mostly) are copied
    // whole, or word by word where they hold runs of spaces.
    let mut out = String::with_capacity(s.len());
    let mut from = 0;
    while let Some((at, len)) = next_other_whitespace(s, from) {
        push_words(&mut out, &s[from..at]);
        from = at + len;
    }
    push_words(&mut out, &s[from..]);
    out
}

/// Appends the words of `piece`, whose only whitespace is plain spaces, with single spaces.
fn push_words(out: &mut String, piece: &str) {
    let piece = piece.trim_matches(' ');
    if piece.is_empty() {
        return;
    }
    if !out.is_empty() {
        out.push(' ');
    }
    if piece.contains("  ") {
        for (k, word) in piece.split(' ').filter(|w| !w.is_empty()).enumerate() {
            if k > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
    } else {
        out.push_str(piece);
    }
}

/// `normalize_space(s).to_lowercase()` (the review compares every sentence and prompt so).
pub(crate) fn normalize_lower(s: &str) -> String {
    let mut out = normalize_space(s);
    if out.is_ascii() {
        out.make_ascii_lowercase();
        out
    } else {
        out.to_lowercase()
    }
}

/// Whether `s` is already what [`normalize_space`] makes of it: no whitespace but single
/// spaces between words.
fn is_single_spaced(s: &str) -> bool {
    !s.starts_with(' ')
        && !s.ends_with(' ')
        && !s.contains("  ")
        && next_other_whitespace(s, 0).is_none()
}

/// The bytes that can start a whitespace character (`char::is_whitespace`) other than the
/// plain space: the ASCII controls `\t` to `\r`, and the lead bytes of U+0085, U+00A0,
/// U+1680, U+2000–U+205F and U+3000. Text is scanned for these and only they are decoded.
static MAY_START_OTHER_WHITESPACE: [bool; 256] = {
    let mut starts = [false; 256];
    let mut b = 0;
    while b < 256 {
        starts[b] = matches!(b, 0x09..=0x0D | 0xC2 | 0xE1 | 0xE2 | 0xE3);
        b += 1;
    }
    starts
};

/// The first whitespace character other than the plain space at or after byte `from` of `s`
/// (where a character starts): its start and its length in bytes.
fn next_other_whitespace(s: &str, mut from: usize) -> Option<(usize, usize)> {
    loop {
        let rest = s.get(from..)?;
        let at = from
            + rest
                .bytes()
                .position(|b| MAY_START_OTHER_WHITESPACE[usize::from(b)])?;
        let c = s.get(at..).and_then(|rest| rest.chars().next())?;
        if c.is_whitespace() {
            return Some((at, c.len_utf8()));
        }
        from = at + c.len_utf8();
    }
}

/// Prose as the article prints it: HTML tags and entities, Markdown emphasis and heading marks
/// removed (their words kept), curly quotes made straight (`“ ” „` → `"`, `‘ ’ ‚` → `'`;
/// guillemets stay), no space before a comma or full stop, single spaces. The answer that
/// needed it is still flagged by review; this only keeps the draft readable.
pub fn repair(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name_start = after.trim_start_matches('/');
        let is_tag = name_start.starts_with(|c: char| c.is_ascii_alphabetic())
            && after
                .find('>')
                .is_some_and(|close| !after[..close].contains('<'));
        match after.find('>').filter(|_| is_tag) {
            Some(close) => {
                out.push(' ');
                rest = &after[close + 1..];
            }
            None => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    // Each replacement only where it applies (`replace_in`): most answers need none.
    let mut text = out;
    if text.contains('&') {
        // `&amp;` last, so that `&amp;lt;` becomes `&lt;`, as written.
        for (entity, to) in [
            ("&nbsp;", " "),
            ("&quot;", "\""),
            ("&#39;", "'"),
            ("&lt;", "<"),
            ("&gt;", ">"),
            ("&amp;", "&"),
        ] {
            replace_in(&mut text, entity, to);
        }
    }
    replace_in(&mut text, "**", "");
    replace_in(&mut text, "__", "");
    const DOUBLE: [char; 5] = ['“', '”', '„', '‟', '″'];
    const SINGLE: [char; 5] = ['‘', '’', '‚', '‛', '′'];
    // None of the ten is ASCII: most answers are, and need no search for them.
    if !text.is_ascii() {
        if text.contains(DOUBLE) {
            text = text.replace(DOUBLE, "\"");
        }
        if text.contains(SINGLE) {
            text = text.replace(SINGLE, "'");
        }
    }
    // Heading marks at the start of lines; the lines themselves are joined by
    // `normalize_space` below.
    if text.contains('#') {
        text = text
            .lines()
            .map(|l| l.trim_start().trim_start_matches('#'))
            .collect::<Vec<_>>()
            .join("\n");
    }
    let mut text = normalize_space(&text);
    replace_in(&mut text, " ,", ",");
    replace_in(&mut text, " .", ".");
    text
}

/// `pattern` replaced by `to` in `text`, copying the text only if it occurs (a `replace` that
/// finds nothing still copies).
fn replace_in(text: &mut String, pattern: &str, to: &str) {
    if text.contains(pattern) {
        *text = text.replace(pattern, to);
    }
}

/// A heading as the article prints it: single spaces, no leading `#` marks, no trailing full
/// stop or colon.
pub(crate) fn clean_heading(s: &str) -> String {
    let h = normalize_space(s);
    h.trim_start_matches('#')
        .trim()
        .trim_end_matches(['.', ':'])
        .trim()
        .to_owned()
}

/// A bullet's text without the list marks a model put before it: dashes and dots (the article
/// prints its own `- `) and numbering (`1.`, `2)`, `(3)`), which a `- ` list cannot show.
pub(crate) fn clean_bullet(s: &str) -> String {
    let b = normalize_space(s);
    let mut rest = b.as_str();
    loop {
        let unmarked = rest
            .trim_start_matches(['-', '•', '*', '–', '—'])
            .trim_start();
        let unnumbered = without_numbering(unmarked).unwrap_or(unmarked);
        if unnumbered.len() == rest.len() {
            break;
        }
        rest = unnumbered;
    }
    rest.to_owned()
}

/// `text` after a leading list number (`1.`, `12)`, `(3)`) and the space after it, if it has
/// one. One or two digits only: "2026. A year…" is a sentence, not a list item.
fn without_numbering(text: &str) -> Option<&str> {
    let (inner, closing) = match text.strip_prefix('(') {
        Some(rest) => (rest, &[')'][..]),
        None => (text, &['.', ')'][..]),
    };
    let digits = inner.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=2).contains(&digits) {
        return None;
    }
    let after = inner[digits..].strip_prefix(closing)?;
    after.starts_with(' ').then_some(after.trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
