//! The body's checks: four `## ` sections in order (the fixed ones with their English headings
//! in an English article), each section's size, and the description as the overview or its
//! opening cut between words.

use serde_yaml::Mapping;

use super::python::{
    collapse_whitespace, py_list, py_rstrip, py_space, py_splitlines, py_strip, quote, text_or_repr,
};

/// The fixed English headings of the first, third and fourth body sections.
const OVERVIEW: &str = "Overview";
const FROM_AUTHOR: &str = "From author";
const IMPACT: &str = "Impact on the crypto market";

pub(super) fn check_body(fm: &Mapping, body: &str, bad: &mut Vec<String>) {
    let sections = sections(body);
    let names: Vec<&str> = sections.iter().map(|(name, _)| *name).collect();
    let lang = fm.get("lang").map_or_else(|| "en".to_owned(), text_or_repr);
    let english = lang.to_lowercase().starts_with("en");
    let [
        (_, overview),
        (story_heading, story),
        (_, author),
        (_, impact),
    ] = sections.as_slice()
    else {
        bad.push(sections_problem(&names, english));
        return;
    };
    let distinct = names
        .iter()
        .enumerate()
        .all(|(i, name)| !names[..i].contains(name));
    let fixed = !english || [names[0], names[2], names[3]] == [OVERVIEW, FROM_AUTHOR, IMPACT];
    if !distinct || !fixed {
        bad.push(sections_problem(&names, english));
        return;
    }
    check_overview(overview, bad);
    check_story(story_heading, story, bad);
    let count = paragraphs(author);
    if !(1..=2).contains(&count) {
        bad.push(format!(
            "From author has {count} paragraphs, expected 1 or 2"
        ));
    }
    check_impact(impact, bad);
    check_description(fm, overview, bad);
}

fn sections_problem(names: &[&str], english: bool) -> String {
    let translated = if english {
        ""
    } else {
        " (or the same four in the article's language)"
    };
    format!(
        "body sections are {}, expected Overview, <heading>, From author, Impact on the crypto market{translated}",
        py_list(names)
    )
}

/// Each `## ` heading of the body with its section's text, trimmed.
pub fn sections(body: &str) -> Vec<(&str, &str)> {
    let mut heads = Vec::new();
    let mut line_start = 0;
    for line in body.split('\n') {
        if let Some(name) = line.strip_prefix("## ").filter(|name| !name.is_empty()) {
            heads.push((line_start, name));
        }
        line_start += line.len() + 1;
    }
    heads
        .iter()
        .enumerate()
        .map(|(i, &(start, name))| {
            let end = heads.get(i + 1).map_or(body.len(), |next| next.0);
            let text = body[start..end]
                .split_once('\n')
                .map_or("", |(_, text)| text);
            (name, py_strip(text))
        })
        .collect()
}

fn check_overview(overview: &str, bad: &mut Vec<String>) {
    let count = paragraphs(overview);
    let length = overview.chars().count();
    if count != 1 {
        bad.push(format!(
            "Overview should be one paragraph of prose, found {count}"
        ));
    } else if length < 40 {
        bad.push(format!(
            "Overview should be one paragraph of prose, found one of {length} characters (40 at least)"
        ));
    }
}

fn check_story(heading: &str, story: &str, bad: &mut Vec<String>) {
    let count = paragraphs(story);
    if !(2..=4).contains(&count) {
        bad.push(format!(
            "the story section has {count} paragraphs, expected 2 to 4"
        ));
    }
    if matches!(py_strip(heading), "" | OVERVIEW | FROM_AUTHOR) {
        bad.push(format!("story heading is {}", quote(heading)));
    }
}

fn check_impact(impact: &str, bad: &mut Vec<String>) {
    let bullets: Vec<&str> = py_splitlines(impact)
        .into_iter()
        .filter(|line| !py_strip(line).is_empty())
        .collect();
    let well_formed = bullets
        .iter()
        .all(|line| line.starts_with("- ") && line.chars().count() > 3);
    if !(3..=6).contains(&bullets.len()) || !well_formed {
        let shown = &bullets[..bullets.len().min(8)];
        bad.push(format!(
            "Impact should be 3 to 6 '- ' bullets, found {}",
            py_list(shown)
        ));
    }
}

/// The description is the overview (whitespace runs made one space), or its opening cut
/// between words with `…` appended, 201 characters at most.
fn check_description(fm: &Mapping, overview: &str, bad: &mut Vec<String>) {
    let overview = collapse_whitespace(overview);
    let description = fm.get("description").map(text_or_repr).unwrap_or_default();
    let length = description.chars().count();
    if length > 201 {
        bad.push(format!(
            "description is {length} characters, more than 200 and the ellipsis"
        ));
    }
    if let Some(stem) = description.strip_suffix('…') {
        let stem = py_rstrip(stem);
        match overview.strip_prefix(stem) {
            None => bad.push("description is not the overview's opening".to_owned()),
            Some(rest) if !rest.is_empty() && !rest.starts_with([' ', '\t']) => {
                bad.push("description is cut inside a word".to_owned());
            }
            Some(_) => {}
        }
    } else if description.is_empty() {
        bad.push("description is empty".to_owned());
    } else if description != overview {
        bad.push("description is neither the overview nor its opening with '…'".to_owned());
    }
}

/// Paragraphs: runs of lines that are not blank (what `re.split(r"\n\s*\n")` counts).
fn paragraphs(text: &str) -> usize {
    let mut count = 0;
    let mut inside = false;
    for line in text.split('\n') {
        let blank = line.chars().all(py_space);
        if !blank && !inside {
            count += 1;
        }
        inside = !blank;
    }
    count
}
