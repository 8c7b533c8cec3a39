//! What the article page shows, as plain data for the templates (which escape it): the body as
//! sections of paragraphs and bullets cut into runs, unsupported claims marked where they
//! occur; flags as reason kinds and advice; the overview chart's bar geometry.
//!
//! No HTML is built here: the templates do that, escaping every string.

use serde::Serialize;

use super::index::Counts;

/// A run of text; `claim` marks an unsupported claim.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub text: String,
    pub claim: bool,
}

/// A paragraph or a bullet list.
#[derive(Debug, Clone, Serialize)]
pub struct Block {
    /// `list` for bullets, `p` for a paragraph.
    pub kind: &'static str,
    pub items: Vec<Vec<Run>>,
}

/// A `## ` section of the body.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub heading: Vec<Run>,
    pub blocks: Vec<Block>,
}

/// The body as sections, each claim marked wherever it occurs.
pub fn sections(body: &str, claims: &[String]) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for chunk in body.split("\n\n").map(str::trim).filter(|c| !c.is_empty()) {
        if let Some(heading) = chunk.strip_prefix("## ") {
            out.push(Section {
                heading: runs(heading, claims),
                blocks: Vec::new(),
            });
            continue;
        }
        if out.is_empty() {
            out.push(Section {
                heading: Vec::new(),
                blocks: Vec::new(),
            });
        }
        let block = if chunk.lines().all(|l| l.starts_with("- ")) {
            Block {
                kind: "list",
                items: chunk
                    .lines()
                    .map(|l| runs(l.trim_start_matches("- "), claims))
                    .collect(),
            }
        } else {
            Block {
                kind: "p",
                items: vec![runs(chunk, claims)],
            }
        };
        if let Some(section) = out.last_mut() {
            section.blocks.push(block);
        }
    }
    out
}

/// `text` cut into runs, each occurrence of a claim its own marked run (longest claim first
/// where two overlap).
pub fn runs(text: &str, claims: &[String]) -> Vec<Run> {
    let mut marks: Vec<(usize, usize)> = Vec::new();
    let mut sorted: Vec<&str> = claims
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .collect();
    sorted.sort_by_key(|c| std::cmp::Reverse(c.len()));
    for claim in sorted {
        for (at, _) in text.match_indices(claim) {
            let end = at + claim.len();
            if marks.iter().all(|&(s, e)| end <= s || at >= e) {
                marks.push((at, end));
            }
        }
    }
    marks.sort_unstable();
    let mut out = Vec::new();
    let mut from = 0;
    for (start, end) in marks {
        if start > from {
            out.push(Run {
                text: text[from..start].to_owned(),
                claim: false,
            });
        }
        out.push(Run {
            text: text[start..end].to_owned(),
            claim: true,
        });
        from = end;
    }
    if from < text.len() || out.is_empty() {
        out.push(Run {
            text: text[from..].to_owned(),
            claim: false,
        });
    }
    out
}

/// A flag as an editor reads it.
#[derive(Debug, Clone, Serialize)]
pub struct Flag {
    /// Where in the article (`overview`, `paragraphs[1]`, …).
    pub place: String,
    pub problem: String,
    pub advice: &'static str,
}

/// The kind of problem a flag names, for grouping and filtering.
pub fn reason_kind(flag: &str) -> &'static str {
    let problem = flag.split_once(':').map_or(flag, |(_, p)| p).to_lowercase();
    if problem.contains("not in the news item") {
        "unsupported claims"
    } else if problem.contains("written in") {
        "wrong language"
    } else if problem.contains("html") || problem.contains("markdown") {
        "markup"
    } else if problem.contains("characters") || problem.contains("write at least") {
        "length"
    } else if problem.contains("repeat") {
        "repetition"
    } else if problem.contains("copies the prompt") {
        "copied example"
    } else if problem.contains("does not mention") {
        "off topic"
    } else {
        "other"
    }
}

/// What an editor can do about a kind of problem.
fn advice(kind: &str) -> &'static str {
    match kind {
        "unsupported claims" => {
            "The highlighted figures, dates or names are not in the source headline: check them \
             against the original story before approving, or reject."
        }
        "wrong language" => {
            "The text is not in the headline's language: reject, or re-queue with another prompt version."
        }
        "markup" => {
            "Formatting leaked into the text; it was removed. Read it through before approving."
        }
        "length" => "A section is too long or too short; approve if it still reads well.",
        "repetition" => {
            "The text repeats itself or the headline; approve only if it still reads well."
        }
        "copied example" => "The model copied the prompt's example: reject or re-queue.",
        "off topic" => "The overview does not say what the headline is about: reject or re-queue.",
        _ => "Read the article against its source before deciding.",
    }
}

/// The flags as editors read them.
pub fn flags(flags: &[String]) -> Vec<Flag> {
    flags
        .iter()
        .map(|f| {
            let (place, problem) = f.split_once(':').unwrap_or(("article", f));
            Flag {
                place: place.trim().to_owned(),
                problem: problem.trim().to_owned(),
                advice: advice(reason_kind(f)),
            }
        })
        .collect()
}

/// One day's pair of bars in the overview chart, in SVG user units.
#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    pub day: String,
    pub x: u32,
    pub published_y: u32,
    pub published_h: u32,
    pub drafts_y: u32,
    pub drafts_h: u32,
    pub counts: Counts,
}

/// Chart height, and the width of a day's column.
pub const CHART_H: u32 = 160;
const COLUMN_W: u32 = 36;

/// Stacked bars (published below, drafts above) for the last `days` days present.
pub fn bars(days: &[(String, Counts)]) -> Vec<Bar> {
    let max = days
        .iter()
        .map(|(_, c)| c.published + c.drafts)
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |n: usize| u32::try_from(n * CHART_H as usize / max).unwrap_or(CHART_H);
    days.iter()
        .enumerate()
        .map(|(i, (day, c))| {
            let published_h = scale(c.published);
            let drafts_h = scale(c.drafts);
            Bar {
                day: day.get(5..).unwrap_or(day).to_owned(),
                x: u32::try_from(i).unwrap_or(0) * COLUMN_W + 30,
                published_y: CHART_H - published_h + 10,
                published_h,
                drafts_y: CHART_H - published_h - drafts_h + 10,
                drafts_h,
                counts: *c,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_occurrence_of_a_claim_is_its_own_marked_run() {
        let claims = vec!["42%".to_owned(), "$1.2 billion".to_owned()];
        let got = runs("Up 42% to $1.2 billion, then 42% again", &claims);
        let marked: Vec<&str> = got
            .iter()
            .filter(|r| r.claim)
            .map(|r| r.text.as_str())
            .collect();
        assert_eq!(marked, vec!["42%", "$1.2 billion", "42%"]);
        let whole: String = got.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(whole, "Up 42% to $1.2 billion, then 42% again");
    }

    #[test]
    fn a_body_becomes_sections_of_paragraphs_and_lists() {
        let body = "## Overview\n\nOne.\n\n## Impact\n\n- a\n- b\n";
        let got = sections(body, &[]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].blocks[0].kind, "list");
        assert_eq!(got[1].blocks[0].items.len(), 2);
    }
}
