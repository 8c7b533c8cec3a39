//! Tidy checks, in the manner of rust-analyzer's `xtask/src/tidy.rs`: rules about the source
//! tree that no single file can show. Every file says what it owns; each outside system is
//! spoken to by one module only; product code does not `unwrap`. The checks read the files as
//! text (comment lines skipped, unit-test code cut off) and each failure lists every offender
//! as `path:line: text`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

#[test]
fn every_source_file_starts_with_a_module_doc() {
    let mut files = rust_files("src");
    files.extend(rust_files("tests"));

    let undocumented: Vec<String> = files
        .iter()
        .filter(|(_, text)| !text.lines().next().is_some_and(|l| l.starts_with("//!")))
        .map(|(path, _)| path.clone())
        .collect();

    assert!(
        undocumented.is_empty(),
        "these files must start with a `//!` line saying what the module owns:\n{}",
        undocumented.join("\n")
    );
}

#[test]
fn only_queue_speaks_amqp() {
    let offenders = product_lines_containing(
        &["lapin::", "use lapin"],
        &["src/queue.rs", "src/queue/acks.rs"],
    );
    assert!(
        offenders.is_empty(),
        "only src/queue.rs (and its submodules) may use lapin; wrap what you need there:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn only_llm_speaks_async_openai() {
    // Log filter directives such as `async_openai=warn` name a log target, not the crate.
    let offenders = product_lines_containing(
        &["async_openai::", "use async_openai"],
        &["src/llm.rs", "src/llm/transport.rs"],
    );
    assert!(
        offenders.is_empty(),
        "only src/llm.rs and its transport may use async_openai:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn only_the_store_speaks_s3() {
    let offenders = product_lines_containing(&["object_store::"], &["src/store/s3.rs"]);
    assert!(
        offenders.is_empty(),
        "only src/store/s3.rs may use object_store; the rest of the store sees its primitives:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn only_config_reads_the_environment() {
    // `env::var` also catches `env::vars` and `env::var_os`.
    let offenders = product_lines_containing(&["env::var", "from_default_env"], &["src/config.rs"]);
    assert!(
        offenders.is_empty(),
        "only src/config.rs may read the environment; add a field to Settings instead:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn only_store_writes_files_under_the_output_folder() {
    let writes = [
        "fs::write",
        "File::create",
        "OpenOptions",
        "fs::copy",
        "fs::rename",
        "create_dir",
        "remove_file",
        "remove_dir",
    ];
    // The desk's accounts file is configuration outside REWRITER_OUT, written by its owner.
    let offenders = product_lines_containing(
        &writes,
        &[
            "src/store.rs",
            "src/store/commit.rs",
            "src/store/feeds.rs",
            "src/store/folder.rs",
            "src/desk/accounts.rs",
        ],
    );
    assert!(
        offenders.is_empty(),
        "only src/store.rs, its group commit and its feed-state files may write files \
         (atomically, under REWRITER_OUT), and src/desk/accounts.rs the desk's accounts file:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn no_unwrap_in_product_code() {
    let offenders = product_lines_containing(&[".unwrap()"], &[]);
    assert!(
        offenders.is_empty(),
        "product code must not unwrap: return an error, or use `expect` with a why-comment:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn no_source_file_is_over_700_lines() {
    // A file past 700 lines has, in this codebase so far, always held more than one
    // responsibility: split it along its seams instead of raising the bar.
    let long: Vec<String> = rust_files("src")
        .iter()
        .filter(|(_, text)| text.lines().count() > 700)
        .map(|(path, text)| format!("{path}: {} lines", text.lines().count()))
        .collect();
    assert!(
        long.is_empty(),
        "no file in src/ may be over 700 lines; split it along its responsibilities:\n{}",
        long.join("\n")
    );
}

#[test]
fn top_level_modules_import_in_one_direction() {
    // The flow reads top-down only if the arrows between the crate's top-level modules form
    // no circle: a module never imports from one that imports it, directly or around a loop.
    let graph = module_imports();
    let mut cycles = Vec::new();
    for start in graph.keys() {
        find_cycles(&graph, start, &mut vec![start.clone()], &mut cycles);
    }
    cycles.sort();
    cycles.dedup();
    assert!(
        cycles.is_empty(),
        "these top-level modules import each other in a circle (each arrow with its first \
         `path:line`); move the shared type to the module it describes:\n{}",
        cycles.join("\n")
    );
}

/// For every top-level module of `src/` (`src/x.rs` and everything under `src/x/`), the other
/// top-level modules its product code names as `crate::y`, each with the first line that does.
fn module_imports() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (path, text) in rust_files("src") {
        let relative = path.trim_start_matches("src/");
        let module = relative
            .split('/')
            .next()
            .unwrap_or(relative)
            .trim_end_matches(".rs")
            .to_string();
        let edges = graph.entry(module.clone()).or_default();
        for (number, line) in product_lines(&path, &text) {
            let code = line.trim();
            if code.starts_with("//") {
                continue;
            }
            for (at, _) in code.match_indices("crate::") {
                let rest = &code[at + "crate::".len()..];
                let target: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !target.is_empty() && target != module {
                    edges
                        .entry(target)
                        .or_insert_with(|| format!("{path}:{number}"));
                }
            }
        }
    }
    graph
}

/// Every loop through `path`'s last module that comes back to `path[0]`, written once from
/// its smallest module name (so each circle is reported once).
fn find_cycles(
    graph: &BTreeMap<String, BTreeMap<String, String>>,
    from: &str,
    path: &mut Vec<String>,
    found: &mut Vec<String>,
) {
    let Some(edges) = graph.get(from) else { return };
    for next in edges.keys() {
        if *next == path[0] {
            if path.iter().all(|m| *m >= path[0]) {
                let mut arrows = Vec::new();
                for (i, m) in path.iter().enumerate() {
                    let to = path.get(i + 1).unwrap_or(&path[0]);
                    arrows.push(format!("{m} -> {to} ({})", graph[m][to]));
                }
                found.push(arrows.join(", "));
            }
        } else if !path.contains(next) {
            path.push(next.clone());
            find_cycles(graph, next, path, found);
            path.pop();
        }
    }
}

/// `path:line: text` for every product line of `src/` (outside the `allowed` files) that
/// contains one of `needles`. Comment lines do not count.
fn product_lines_containing(needles: &[&str], allowed: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, text) in rust_files("src") {
        if allowed.contains(&path.as_str()) {
            continue;
        }
        for (number, line) in product_lines(&path, &text) {
            let code = line.trim();
            if !code.starts_with("//") && needles.iter().any(|n| code.contains(n)) {
                found.push(format!("{path}:{number}: {code}"));
            }
        }
    }
    found
}

/// The product code of a `src/` file as numbered lines: everything before its first
/// `#[cfg(test)]` line, and nothing of a unit-test file (`src/**/tests.rs`).
fn product_lines<'a>(path: &str, text: &'a str) -> Vec<(usize, &'a str)> {
    if path.ends_with("/tests.rs") {
        return Vec::new();
    }
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
        .collect()
}

/// Every `.rs` file under `dir` (relative to the repository root) as (relative path with `/`
/// separators, text), sorted by path.
fn rust_files(dir: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    collect_rust_files(&root.join(dir), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let relative = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            (relative, text)
        })
        .collect()
}

fn collect_rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a readable directory entry").path();
        if path.is_dir() {
            collect_rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}
