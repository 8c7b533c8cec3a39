//! `rewriter audit [DIR]`: read a folder of article files and report, per article and in total,
//! contract violations, drafts with their reasons, unsupported claims, section sizes and the
//! prompt versions present; exit 1 when any article breaks the contract. What is said about
//! one article is [`crate::article::audit`]; this file reads the folder and adds up.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::article::audit::audit;
use crate::cli::AuditArgs;
use crate::config::Settings;

/// `Ok(false)` when any article breaks the contract.
pub fn run(settings: &Settings, args: AuditArgs) -> anyhow::Result<bool> {
    let dir = args
        .dir
        .unwrap_or_else(|| settings.out_dir.join("articles"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "md")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    let (mut broken, mut drafts, mut claims) = (0, 0, 0);
    let mut versions: BTreeMap<Option<u32>, usize> = BTreeMap::new();
    for path in &files {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                println!("{name}: BROKEN\n  contract: cannot be read as UTF-8 text: {e}");
                broken += 1;
                continue;
            }
        };
        let report = audit(&text);
        *versions.entry(report.version).or_default() += 1;
        let version = report
            .version
            .map_or_else(|| "v?".to_owned(), |v| format!("v{v}"));
        let state = if !report.violations.is_empty() {
            "BROKEN"
        } else if report.draft {
            "draft"
        } else {
            "ok"
        };
        println!("{name}: {version} {state}");
        if let Some(approved) = &report.approved {
            println!("  approved by {approved}");
        }
        for v in &report.violations {
            println!("  contract: {v}");
        }
        for f in &report.flags {
            println!("  flag: {f}");
        }
        if !report.unsupported_claims.is_empty() {
            println!(
                "  unsupported claims: {}",
                report.unsupported_claims.join(", ")
            );
        }
        for s in &report.sections {
            println!("  section {s}");
        }
        broken += usize::from(!report.violations.is_empty());
        drafts += usize::from(report.draft);
        claims += report.unsupported_claims.len();
    }
    let present: Vec<String> = versions
        .iter()
        .map(|(v, n)| match v {
            Some(v) => format!("v{v}: {n}"),
            None => format!("unknown: {n}"),
        })
        .collect();
    println!(
        "{} articles in {}: {broken} break the contract, {drafts} drafts, {claims} unsupported claims; prompt versions: {}",
        files.len(),
        dir.display(),
        if present.is_empty() {
            "none".to_owned()
        } else {
            present.join(", ")
        }
    );
    Ok(broken == 0)
}
