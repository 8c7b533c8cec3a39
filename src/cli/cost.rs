//! `rewriter cost [--json]`: what the stored articles cost, per prompt version. Adds up the
//! tokens and `ai.costUsd` of every `versions/<id>/v<N>.md` (not only the published copies),
//! as [`ContentStore::figures`] gives them, with [`crate::cost::Report`], which also prices the
//! tokens at the current `REWRITER_PRICES`. A file that cannot be read or parsed is named on
//! standard error and counted, and the exit code is 1.

use serde_json::{Map, Value, json};

use crate::cli::CostArgs;
use crate::config::Settings;
use crate::cost::{Report, Row, Totals, round_usd};
use crate::store::{ContentStore, StoreError, Unreadable};

/// `Ok(false)` when some version file could not be read or parsed.
pub async fn run(settings: &Settings, args: CostArgs) -> anyhow::Result<bool> {
    let prices = &settings.llm.prices;
    let mut report = Report::default();
    let mut unreadable = 0u64;
    // Reporting must not create an output folder where there is none.
    if crate::store::exists(&settings.out_dir) {
        let store = ContentStore::open(&settings.out_dir).await?;
        for counted in store.figures().await? {
            let path = counted.path.display();
            let (version, ai) = match counted.figures {
                Ok(figures) => figures,
                Err(Unreadable::List(e)) => {
                    eprintln!("{path}: cannot be listed: {}", reason(&e));
                    unreadable += 1;
                    continue;
                }
                Err(Unreadable::Read(e)) => {
                    eprintln!("{path}: cannot be read: {}", reason(&e));
                    unreadable += 1;
                    continue;
                }
                Err(Unreadable::Frontmatter(e)) => {
                    eprintln!("{path}: no readable frontmatter: {e}");
                    unreadable += 1;
                    continue;
                }
            };
            // The file's place says which version it is, as for `prompts list`.
            report.add(
                prices,
                Row {
                    version: version.get(),
                    model: &ai.model,
                    prompt_tokens: ai.prompt_tokens,
                    completion_tokens: ai.completion_tokens,
                    recorded_usd: ai.cost_usd,
                },
            );
        }
    } else {
        eprintln!("no article folder at {}", settings.out_dir.display());
    }
    if args.json {
        print_json(&report, unreadable);
    } else {
        print_table(&report, unreadable, prices.is_empty());
    }
    Ok(unreadable == 0)
}

/// The cause alone: the path is printed in front already.
fn reason(e: &StoreError) -> String {
    match e {
        StoreError::Io { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

fn usd(usd: Option<f64>) -> String {
    usd.map_or_else(|| "unpriced".to_owned(), |u| format!("{:.6}", round_usd(u)))
}

fn print_table(report: &Report, unreadable: u64, no_prices: bool) {
    println!(
        "{:<7}  {:>8}  {:>13}  {:>17}  {:>12}  {:>10}  {:>14}",
        "version",
        "articles",
        "prompt tokens",
        "completion tokens",
        "recorded USD",
        "unrecorded",
        "at current USD"
    );
    let line = |name: String, t: &Totals| {
        println!(
            "{name:<7}  {:>8}  {:>13}  {:>17}  {:>12}  {:>10}  {:>14}",
            t.articles,
            t.prompt_tokens,
            t.completion_tokens,
            usd(Some(t.recorded_usd)),
            t.unrecorded,
            usd(t.at_current_prices_usd)
        );
    };
    for (version, totals) in report.versions() {
        line(format!("v{version}"), totals);
    }
    line("total".to_owned(), &report.total());
    if no_prices {
        println!("(REWRITER_PRICES is empty: nothing can be priced at current prices)");
    }
    if unreadable > 0 {
        println!("{unreadable} file(s) could not be read and are not counted");
    }
}

fn print_json(report: &Report, unreadable: u64) {
    let totals = |t: &Totals| -> Value {
        json!({
            "articles": t.articles,
            "promptTokens": t.prompt_tokens,
            "completionTokens": t.completion_tokens,
            "recordedUsd": round_usd(t.recorded_usd),
            "unrecorded": t.unrecorded,
            "atCurrentPricesUsd": t.at_current_prices_usd.map(round_usd),
        })
    };
    let versions: Vec<Value> = report
        .versions()
        .map(|(version, t)| {
            let mut row = Map::new();
            row.insert("version".to_owned(), json!(version));
            if let Value::Object(fields) = totals(t) {
                row.extend(fields);
            }
            Value::Object(row)
        })
        .collect();
    let out = json!({
        "versions": versions,
        "total": totals(&report.total()),
        "unreadable": unreadable,
    });
    println!("{out}");
}
