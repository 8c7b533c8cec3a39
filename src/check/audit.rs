//! What `rewriter audit` says about one article file: contract violations, draft flags and
//! their reasons, unsupported claims, the prompt version, and the size of each section.
//!
//! Pure: the text in, an [`ArticleReport`] out. The command reads the files and adds up.

use super::contract::{check_article, sections, split_frontmatter};
use crate::article::parse_frontmatter;

/// One body section's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionSize {
    pub heading: String,
    /// Paragraphs, or `- ` bullets for a list.
    pub blocks: usize,
    pub bullets: bool,
    pub chars: usize,
}

impl std::fmt::Display for SectionSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (n, what) = (
            self.blocks,
            if self.bullets { "bullet" } else { "paragraph" },
        );
        let s = if n == 1 { "" } else { "s" };
        write!(
            f,
            "{}: {n} {what}{s}, {} characters",
            self.heading, self.chars
        )
    }
}

/// Everything audit reports about one article.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArticleReport {
    /// What the article breaks in the contract; empty when it keeps it.
    pub violations: Vec<String>,
    pub draft: bool,
    pub flags: Vec<String>,
    pub unsupported_claims: Vec<String>,
    /// `ai.version`, when the frontmatter reads.
    pub version: Option<u32>,
    /// `by at` of `ai.approved`: an editor published it although it was flagged.
    pub approved: Option<String>,
    pub sections: Vec<SectionSize>,
}

/// Audits the text of one article file.
pub fn audit(text: &str) -> ArticleReport {
    let mut report = ArticleReport {
        violations: check_article(text, None, None),
        ..ArticleReport::default()
    };
    if let Ok(fm) = parse_frontmatter(text) {
        report.draft = fm.draft;
        report.flags = fm.ai.flags;
        report.unsupported_claims = fm.ai.unsupported_claims;
        report.version = Some(fm.ai.version);
        report.approved = fm.ai.approved.map(|a| format!("{} at {}", a.by, a.at));
    }
    if let Ok((_, body)) = split_frontmatter(text) {
        report.sections = sections(body)
            .into_iter()
            .map(|(heading, text)| {
                let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
                let bullets = !lines.is_empty() && lines.iter().all(|l| l.starts_with("- "));
                let blocks = if bullets {
                    lines.len()
                } else {
                    text.split("\n\n").filter(|p| !p.trim().is_empty()).count()
                };
                SectionSize {
                    heading: heading.to_owned(),
                    blocks,
                    bullets,
                    chars: text.chars().count(),
                }
            })
            .collect();
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARTICLE: &str = "---\ntitle: T\ndescription: An overview that is long enough to be one.\npublishedAt: '2026-02-05T17:45:43.000Z'\nupdatedAt: '2026-02-05T18:45:11.000Z'\nlang: en\nexternalId: '1'\nsource:\n  name: S\n  key: s\n  type: RSS\ncategory: BTC\ntags:\n- BTC\nstickyWeight: 0\nsentiment: NEUTRAL\nscore: 0\ndraft: true\nai:\n  rewritten: true\n  expandedAt: '2026-02-05T18:45:11.000Z'\n  version: 2\n  model: m\n  promptTokens: 1\n  completionTokens: 1\n  flags:\n  - 'overview: figures not in the news item: 2031'\n  unsupportedClaims:\n  - '2031'\n---\n## Overview\n\nAn overview that is long enough to be one.\n\n## Story\n\nOne paragraph.\n\nTwo paragraphs.\n\n## From author\n\nA view.\n\n## Impact on the crypto market\n\n- One\n- Two\n- Three\n";

    #[test]
    fn a_draft_is_reported_with_its_reasons_claims_version_and_sections() {
        let r = audit(ARTICLE);
        assert!(r.violations.is_empty(), "{:?}", r.violations);
        assert!(r.draft);
        assert_eq!(r.flags, ["overview: figures not in the news item: 2031"]);
        assert_eq!(r.unsupported_claims, ["2031"]);
        assert_eq!(r.version, Some(2));
        let sizes: Vec<String> = r.sections.iter().map(ToString::to_string).collect();
        assert_eq!(
            sizes,
            [
                "Overview: 1 paragraph, 42 characters",
                "Story: 2 paragraphs, 31 characters",
                "From author: 1 paragraph, 7 characters",
                "Impact on the crypto market: 3 bullets, 19 characters"
            ]
        );
    }

    #[test]
    fn a_broken_article_has_violations() {
        let broken = ARTICLE.replace("## From author\n\nA view.\n\n", "");
        let r = audit(&broken);
        assert!(
            r.violations.iter().any(|v| v.contains("body sections")),
            "{:?}",
            r.violations
        );
        assert!(!audit("no frontmatter").violations.is_empty());
    }
}
