//! `rewriter render`: print the prompts headlines would produce; no LLM, no output folder.

use std::io::Write;

use anyhow::Context;

use crate::cli::RenderArgs;
use crate::cli::input::read_jobs;
use crate::config::Settings;
use crate::prompts::PromptLibrary;

pub fn run(settings: &Settings, args: RenderArgs) -> anyhow::Result<bool> {
    let library = PromptLibrary::load(&settings.prompts_dir, settings.prompt_version)?;
    let items = read_jobs(std::slice::from_ref(&args.file), args.prompt_version, false)?;
    let mut out = std::io::stdout().lock();
    let mut ok = true;
    for item in items {
        let job = match item.job {
            Ok(job) => job,
            Err(e) => {
                eprintln!("{}: rejected: {e}", item.origin);
                ok = false;
                continue;
            }
        };
        let version = library.version_for(job.prompt_version);
        let rendered = library
            .get(version)
            .map_err(anyhow::Error::from)
            .and_then(|set| Ok((set, set.render(&job.headline)?)));
        let (set, calls) = match rendered {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{}: {e}", item.origin);
                ok = false;
                continue;
            }
        };
        let model = settings.llm.model.as_deref().unwrap_or(&set.model);
        for call in calls {
            writeln!(
                out,
                "=== {} · prompt v{version} · call {} · model {model} · max_tokens {}\n--- system\n{}\n--- user\n{}\n--- schema\n{}\n",
                job.id(),
                call.spec.name,
                call.spec.max_tokens,
                call.system.text.trim_end(),
                call.user.trim_end(),
                serde_json::to_string_pretty(&call.spec.schema).unwrap_or_default(),
            )
            .context("writing to standard output")?;
        }
    }
    Ok(ok)
}
