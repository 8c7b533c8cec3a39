//! The difference between two versions of an article, section by section: which frontmatter
//! keys changed, then each `## ` section of the body, unchanged or changed with a line diff.
//!
//! Pure and dependency-free. Sections are paired by position, not by heading: the second
//! section's heading is the LLM's own and usually differs between versions, while the four
//! sections always come in the same order. The line diff is a longest-common-subsequence over
//! lines; an article is a few dozen lines, so its quadratic table is small.

use std::fmt;

/// One line of a line diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Same(String),
    Removed(String),
    Added(String),
}

/// A top-level frontmatter key whose value text differs (`None`: the key is absent there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    pub key: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// One body section in both versions (`None`: the section is absent there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionDiff {
    pub old_heading: Option<String>,
    pub new_heading: Option<String>,
    pub lines: Vec<Line>,
}

impl SectionDiff {
    pub fn is_unchanged(&self) -> bool {
        self.old_heading == self.new_heading
            && self.lines.iter().all(|l| matches!(l, Line::Same(_)))
    }
}

/// Two versions of an article compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleDiff {
    pub frontmatter: Vec<KeyChange>,
    pub sections: Vec<SectionDiff>,
}

impl ArticleDiff {
    pub fn is_unchanged(&self) -> bool {
        self.frontmatter.is_empty() && self.sections.iter().all(SectionDiff::is_unchanged)
    }
}

/// Compares two article files (frontmatter between `---` lines, then the body).
pub fn diff(old: &str, new: &str) -> ArticleDiff {
    let (old_front, old_body) = split_frontmatter(old);
    let (new_front, new_body) = split_frontmatter(new);
    let old_keys = top_level_keys(old_front);
    let new_keys = top_level_keys(new_front);
    let mut frontmatter = Vec::new();
    for (key, value) in &old_keys {
        let now = new_keys.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        if now != Some(value) {
            frontmatter.push(KeyChange {
                key: key.clone(),
                old: Some(value.clone()),
                new: now.cloned(),
            });
        }
    }
    for (key, value) in &new_keys {
        if !old_keys.iter().any(|(k, _)| k == key) {
            frontmatter.push(KeyChange {
                key: key.clone(),
                old: None,
                new: Some(value.clone()),
            });
        }
    }
    let old_sections = sections(old_body);
    let new_sections = sections(new_body);
    let count = old_sections.len().max(new_sections.len());
    let sections = (0..count)
        .map(|i| {
            let (a, b) = (old_sections.get(i), new_sections.get(i));
            let none = Vec::new();
            SectionDiff {
                old_heading: a.map(|(h, _)| h.clone()),
                new_heading: b.map(|(h, _)| h.clone()),
                lines: lines(a.map_or(&none, |(_, l)| l), b.map_or(&none, |(_, l)| l)),
            }
        })
        .collect();
    ArticleDiff {
        frontmatter,
        sections,
    }
}

/// A line diff of `a` into `b` by longest common subsequence.
pub fn lines(a: &[&str], b: &[&str]) -> Vec<Line> {
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out.push(Line::Same(a[i].to_owned()));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            out.push(Line::Removed(a[i].to_owned()));
            i += 1;
        } else {
            out.push(Line::Added(b[j].to_owned()));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|l| Line::Removed((*l).to_owned())));
    out.extend(b[j..].iter().map(|l| Line::Added((*l).to_owned())));
    out
}

/// (frontmatter text, body); a file without frontmatter is all body.
fn split_frontmatter(text: &str) -> (&str, &str) {
    text.strip_prefix("---\n")
        .and_then(|rest| {
            let end = rest.find("\n---\n")?;
            Some((&rest[..=end], &rest[end + 5..]))
        })
        .unwrap_or(("", text))
}

/// Each top-level key with the text of its value (its own line's rest and the indented lines
/// under it), in file order.
fn top_level_keys(front: &str) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = Vec::new();
    for line in front.lines() {
        let nested = line.starts_with(' ') || line.starts_with('-') || line.is_empty();
        match (nested, keys.last_mut(), line.split_once(':')) {
            (false, _, Some((key, rest))) => keys.push((key.to_owned(), rest.trim().to_owned())),
            (_, Some((_, value)), _) => {
                value.push('\n');
                value.push_str(line);
            }
            _ => {}
        }
    }
    keys
}

/// The body's `## ` sections as (heading, non-blank lines); text before the first heading, if
/// any, is a section with an empty heading.
fn sections(body: &str) -> Vec<(String, Vec<&str>)> {
    let mut out: Vec<(String, Vec<&str>)> = Vec::new();
    for line in body.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            out.push((heading.trim().to_owned(), Vec::new()));
        } else if !line.trim().is_empty() {
            match out.last_mut() {
                Some((_, lines)) => lines.push(line),
                None => out.push((String::new(), vec![line])),
            }
        }
    }
    out
}

impl fmt::Display for ArticleDiff {
    /// `frontmatter:` with each changed key (`old → new`, or the changed lines of a nested
    /// value), then one block per section: its heading and `unchanged`, or `changed` followed
    /// by the line diff (`- ` old, `+ ` new, four spaces for lines both have).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.frontmatter.is_empty() {
            writeln!(f, "frontmatter: unchanged")?;
        } else {
            writeln!(f, "frontmatter: changed")?;
            for change in &self.frontmatter {
                let rows = |v: &Option<String>| -> Vec<String> {
                    v.iter()
                        .flat_map(|v| v.lines())
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned)
                        .collect()
                };
                let (old, new) = (rows(&change.old), rows(&change.new));
                if old.len() <= 1 && new.len() <= 1 {
                    let show = |r: &[String]| r.first().cloned().unwrap_or("(absent)".into());
                    writeln!(f, "  {}: {} → {}", change.key, show(&old), show(&new))?;
                    continue;
                }
                writeln!(f, "  {}:", change.key)?;
                let old: Vec<&str> = old.iter().map(String::as_str).collect();
                let new: Vec<&str> = new.iter().map(String::as_str).collect();
                for line in lines(&old, &new) {
                    match line {
                        Line::Same(_) => {}
                        Line::Removed(l) => writeln!(f, "    - {l}")?,
                        Line::Added(l) => writeln!(f, "    + {l}")?,
                    }
                }
            }
        }
        for section in &self.sections {
            let heading = match (&section.old_heading, &section.new_heading) {
                (Some(a), Some(b)) if a == b => format!("## {a}"),
                (Some(a), Some(b)) => format!("## {a} → ## {b}"),
                (Some(a), None) => format!("## {a} (removed)"),
                (None, Some(b)) => format!("## {b} (added)"),
                (None, None) => "##".to_owned(),
            };
            if section.is_unchanged() {
                writeln!(f, "{heading}: unchanged")?;
                continue;
            }
            writeln!(f, "{heading}: changed")?;
            for line in &section.lines {
                match line {
                    Line::Same(l) => writeln!(f, "    {l}")?,
                    Line::Removed(l) => writeln!(f, "  - {l}")?,
                    Line::Added(l) => writeln!(f, "  + {l}")?,
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = "---\ntitle: Bitcoin Rises\nupdatedAt: 2026-02-05T18:00:00.000Z\nai:\n  rewritten: true\n  version: 1\n---\n## Overview\n\nBitcoin rose.\n\n## Miners Cheer\n\nFirst paragraph.\n\nSecond paragraph.\n\n## From author\n\nA view.\n\n## Impact on the crypto market\n\n- One\n- Two\n";

    fn v2() -> String {
        V1.replace("18:00", "19:00")
            .replace("version: 1", "version: 2")
            .replace("Miners Cheer", "Miners Celebrate")
            .replace("Second paragraph.", "A better second paragraph.")
            .replace("- Two", "- Two\n- Three")
    }

    #[test]
    fn identical_versions_show_no_change() {
        let d = diff(V1, V1);
        assert!(d.is_unchanged());
        assert_eq!(d.sections.len(), 4);
        assert!(d.to_string().contains("## Overview: unchanged"));
    }

    #[test]
    fn changed_keys_and_sections_are_named_and_the_rest_is_unchanged() {
        // Act
        let d = diff(V1, &v2());

        // Assert
        let keys: Vec<&str> = d.frontmatter.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(keys, ["updatedAt", "ai"]);
        assert!(d.sections[0].is_unchanged());
        assert_eq!(
            d.sections[1].lines,
            vec![
                Line::Same("First paragraph.".into()),
                Line::Removed("Second paragraph.".into()),
                Line::Added("A better second paragraph.".into()),
            ]
        );
        assert!(d.sections[2].is_unchanged());
        assert_eq!(
            d.sections[3].lines.last(),
            Some(&Line::Added("- Three".into()))
        );
        let text = d.to_string();
        assert!(
            text.contains("## Miners Cheer → ## Miners Celebrate: changed"),
            "{text}"
        );
        assert!(text.contains("## From author: unchanged"), "{text}");
        assert!(text.contains("  + A better second paragraph."), "{text}");
        assert!(!text.contains("\n  title:"), "{text}");
        assert!(
            text.contains("  ai:\n    - version: 1\n    + version: 2\n"),
            "{text}"
        );
        assert!(
            text.contains("  updatedAt: 2026-02-05T18:00:00.000Z → 2026-02-05T19:00:00.000Z\n"),
            "{text}"
        );
    }

    #[test]
    fn the_line_diff_keeps_the_longest_common_subsequence() {
        let d = lines(&["a", "b", "c", "d"], &["b", "c", "x", "d"]);
        assert_eq!(
            d,
            vec![
                Line::Removed("a".into()),
                Line::Same("b".into()),
                Line::Same("c".into()),
                Line::Added("x".into()),
                Line::Same("d".into()),
            ]
        );
        assert_eq!(lines(&[], &["a"]), vec![Line::Added("a".into())]);
    }

    #[test]
    fn added_and_removed_sections_and_keys_are_reported() {
        let shorter = V1
            .replace("## From author\n\nA view.\n\n", "")
            .replace("title: Bitcoin Rises\n", "");
        let d = diff(V1, &shorter);
        assert_eq!(d.frontmatter[0].key, "title");
        assert_eq!(d.frontmatter[0].new, None);
        assert_eq!(d.sections.len(), 4);
        assert_eq!(d.sections[3].new_heading, None);
    }
}
