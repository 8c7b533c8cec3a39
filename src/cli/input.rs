//! Reading headlines from NDJSON or JSON-array input, one validated job per item, each
//! rejected item reported with where it was.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use crate::job::{Headline, InvalidJob, Job, PromptVersion};

/// Where an item was read: `file:line` for NDJSON, `file:item N` for a JSON array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: usize,
    pub in_array: bool,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.in_array {
            write!(f, "{}: item {}", self.file, self.line)
        } else {
            write!(f, "{}:{}", self.file, self.line)
        }
    }
}

/// One input item: a job, or why it is not one.
#[derive(Debug)]
pub struct Item {
    pub origin: Origin,
    pub job: Result<Job, InvalidJob>,
}

/// Reads every item of `files` (standard input for none or `-`). Job options on the command
/// line override those in the items.
pub fn read_jobs(
    files: &[PathBuf],
    prompt_version: Option<PromptVersion>,
    force: bool,
) -> anyhow::Result<Vec<Item>> {
    let stdin = [PathBuf::from("-")];
    let files = if files.is_empty() { &stdin[..] } else { files };
    let mut items = Vec::new();
    for file in files {
        let (name, text) = read_text(file)?;
        items.extend(parse_items(&name, &text));
    }
    for item in &mut items {
        if let Ok(job) = &mut item.job {
            if prompt_version.is_some() {
                job.prompt_version = prompt_version;
            }
            job.force |= force;
        }
    }
    Ok(items)
}

fn read_text(file: &Path) -> anyhow::Result<(String, String)> {
    if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading standard input (is it UTF-8?)")?;
        Ok(("<stdin>".to_owned(), text))
    } else {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading {} (is it UTF-8?)", file.display()))?;
        Ok((file.display().to_string(), text))
    }
}

/// Splits NDJSON or a JSON array into items; blank lines are skipped.
pub fn parse_items(name: &str, text: &str) -> Vec<Item> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('[') {
        let origin = |n| Origin {
            file: name.to_owned(),
            line: n,
            in_array: true,
        };
        return match serde_json::from_str::<Vec<Value>>(text) {
            Ok(values) => values
                .into_iter()
                .enumerate()
                .map(|(i, v)| Item {
                    origin: origin(i + 1),
                    job: job_from_value(v),
                })
                .collect(),
            Err(e) => vec![Item {
                origin: Origin {
                    file: name.to_owned(),
                    line: e.line(),
                    in_array: false,
                },
                job: Err(InvalidJob::new(format!("not a JSON array: {e}"))),
            }],
        };
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| Item {
            origin: Origin {
                file: name.to_owned(),
                line: i + 1,
                in_array: false,
            },
            job: serde_json::from_str::<Value>(line)
                .map_err(|e| InvalidJob::new(format!("not JSON: {e}")))
                .and_then(job_from_value),
        })
        .collect()
}

/// A whole job (`{"headline": …}`) or a bare headline.
fn job_from_value(value: Value) -> Result<Job, InvalidJob> {
    if value.get("headline").is_some() {
        Job::from_value(value)
    } else {
        Ok(Job::new(Headline::from_value(value)?, None, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_errors_carry_their_line_numbers() {
        let text = "{\"externalId\":\"a\",\"title\":\"T\",\"publishedAt\":\"2026-01-01T00:00:00Z\",\"source\":{\"name\":\"S\",\"key\":\"s\"}}\n\nnot json\n{\"externalId\":\"../x\"}\n";
        let items = parse_items("in.ndjson", text);
        assert_eq!(items.len(), 3);
        assert!(items[0].job.is_ok());
        assert_eq!(items[1].origin.to_string(), "in.ndjson:3");
        assert!(
            items[1]
                .job
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("not JSON")
        );
        assert_eq!(items[2].origin.to_string(), "in.ndjson:4");
    }

    #[test]
    fn arrays_of_jobs_and_headlines_both_read() {
        let text = r#"[{"headline":{"externalId":1,"title":"T","publishedAt":"2026-01-01T00:00:00Z","source":{"name":"S","key":"s"}},"promptVersion":2},
                      {"externalId":"b","title":"","publishedAt":"2026-01-01T00:00:00Z","source":{"name":"S","key":"s"}}]"#;
        let items = parse_items("a.json", text);
        assert_eq!(
            items[0].job.as_ref().unwrap().prompt_version.unwrap().get(),
            2
        );
        assert_eq!(items[1].origin.to_string(), "a.json: item 2");
        assert!(items[1].job.is_err());
    }
}
