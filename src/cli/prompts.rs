//! `rewriter prompts check` and `rewriter prompts list`: every prompt set loaded and checked on
//! its own (templates rendered in every language, schemas strict), and how many articles each
//! version has.

use anyhow::Context;

use crate::cli::PromptsCommand;
use crate::config::Settings;
use crate::prompts::PromptLibrary;
use crate::store::ContentStore;

pub async fn run(settings: &Settings, command: PromptsCommand) -> anyhow::Result<bool> {
    match command {
        PromptsCommand::Check => check(settings),
        PromptsCommand::List => list(settings).await,
    }
}

/// Fails (exit 3) on the first problem of each broken set, named with its file and line.
fn check(settings: &Settings) -> anyhow::Result<bool> {
    let checks = PromptLibrary::check(&settings.prompts_dir)?;
    let mut broken = 0usize;
    for (version, result) in &checks {
        match result {
            Ok(set) => println!(
                "v{version}: ok ({} call{}; languages {})",
                set.calls().len(),
                if set.calls().len() == 1 { "" } else { "s" },
                set.languages().collect::<Vec<_>>().join(", ")
            ),
            Err(e) => {
                broken += 1;
                eprintln!("v{version}: broken: {e}");
            }
        }
    }
    if broken > 0 {
        anyhow::bail!(
            "{broken} of {} prompt set(s) under {} broken; a worker will not start",
            checks.len(),
            settings.prompts_dir.display()
        );
    }
    // The library's own rules too: a current version that exists.
    let library = PromptLibrary::load(&settings.prompts_dir, settings.prompt_version)
        .context("REWRITER_PROMPT_VERSION")?;
    println!("current: v{}", library.current());
    Ok(true)
}

async fn list(settings: &Settings) -> anyhow::Result<bool> {
    let checks = PromptLibrary::check(&settings.prompts_dir)?;
    let highest = checks.iter().map(|(v, _)| *v).next_back();
    let current = settings.prompt_version.or(highest);
    // Listing must not create an output folder where there is none.
    let counts = if crate::store::exists(&settings.out_dir) {
        ContentStore::open(&settings.out_dir)
            .await?
            .version_counts()
            .await?
    } else {
        Default::default()
    };
    let mut ok = true;
    println!("version  articles  description");
    for (version, result) in &checks {
        let marker = if Some(*version) == current {
            " *"
        } else {
            "  "
        };
        let count = counts.get(version).copied().unwrap_or(0);
        let about = match result {
            Ok(set) => set.description.clone(),
            Err(e) => {
                ok = false;
                format!("BROKEN: {e}")
            }
        };
        println!("{:<7}{marker}{count:>8}  {about}", format!("v{version}"));
    }
    for (version, count) in &counts {
        if !checks.iter().any(|(v, _)| v == version) {
            println!(
                "{:<7}  {count:>8}  (no prompts/{} folder)",
                format!("v{version}"),
                version.dir_name()
            );
        }
    }
    match current {
        Some(v) => println!("* current: v{v}"),
        None => println!("no prompt sets under {}", settings.prompts_dir.display()),
    }
    Ok(ok)
}
