//! `rewriter diff`: compare two versions of an article section by section (default: the two
//! latest); the comparing itself is [`crate::check::diff`].

use crate::check::diff::diff;
use crate::cli::DiffArgs;
use crate::config::Settings;
use crate::store::ContentStore;

/// `Ok(false)` when the article or a named version does not exist.
pub async fn run(settings: &Settings, args: DiffArgs) -> anyhow::Result<bool> {
    let store = ContentStore::open(&settings.out_dir).await?;
    let versions = store.versions(&args.id).await?;
    let (old, new) = match (args.old, args.new) {
        (Some(a), Some(b)) => (a, b),
        _ => match versions[..] {
            [.., a, b] => (a, b),
            _ => {
                eprintln!(
                    "{}: {} version(s) on disk; diff needs two",
                    args.id,
                    versions.len()
                );
                return Ok(false);
            }
        },
    };
    for v in [old, new] {
        if !versions.contains(&v) {
            eprintln!("{}: has no v{v}", args.id);
            return Ok(false);
        }
    }
    let old_text = store.read_version(&args.id, old).await?;
    let new_text = store.read_version(&args.id, new).await?;
    println!("{}: v{old} → v{new}", args.id);
    print!("{}", diff(&old_text, &new_text));
    Ok(true)
}
