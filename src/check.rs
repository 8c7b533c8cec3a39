//! Checks of articles already written: the contract checker, the audit of a folder's articles
//! and the difference between two versions of one article.
//!
//! These read stored Markdown back; nothing here writes or builds an article. They depend on
//! [`crate::article`] (the format they check), never the other way round.
//! [`contract::check_article`] lists what one article text breaks in `shared/CONTRACT.md`
//! (the end-to-end tests' oracle and `rewriter audit`'s judge); [`audit::audit`] adds what an
//! editor wants to know about one file (drafts, flags, sizes); [`diff::diff`] compares two
//! versions section by section (`rewriter diff`, the desk).

pub mod audit;
pub mod contract;
pub mod diff;
