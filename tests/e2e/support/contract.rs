//! The article contract as a test oracle: the library's checker (`rewriter::check::contract`,
//! which `rewriter audit` runs too), so tests and the command agree on what a good article is.

pub use rewriter::check::contract::check_article;
