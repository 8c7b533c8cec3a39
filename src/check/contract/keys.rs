//! The frontmatter's keys as the contract lists them: their order, the one that may be left
//! out, and which hold strings. The key checks and the YAML 1.1 scan both read this one table.

/// Frontmatter keys in the contract's order, each with whether its value is a string (the
/// others hold a mapping, a list, a number or a boolean).
pub(super) const KEYS: [(&str, Holds); 15] = [
    ("title", Holds::Text),
    ("description", Holds::Text),
    ("publishedAt", Holds::Text),
    ("updatedAt", Holds::Text),
    ("lang", Holds::Text),
    ("externalId", Holds::Text),
    ("source", Holds::Other),
    ("category", Holds::Text),
    ("tags", Holds::Other),
    ("stickyWeight", Holds::Other),
    ("sentiment", Holds::Text),
    ("score", Holds::Other),
    ("draft", Holds::Other),
    ("coverImage", Holds::Other),
    ("ai", Holds::Other),
];

/// What a top-level frontmatter value is, as far as the YAML 1.1 check needs to know.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Holds {
    Text,
    Other,
}

/// Whether the contract wants a string as the value of the top-level `key`.
pub(super) fn holds_text(key: &str) -> bool {
    KEYS.contains(&(key, Holds::Text))
}

/// The one frontmatter key that may be left out.
pub(super) const OPTIONAL_KEY: &str = "coverImage";
