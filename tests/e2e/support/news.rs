//! The news the tests feed in: Bloomberg's headline on miners' revenue as a job or a queue
//! message, one headline rewritten in-process by the real pipeline, and an overview that
//! invents claims, with the claims it invents.

use rewriter::job::Job;
use rewriter::pipeline::Outcome;
use serde_json::{Value, json};

use super::TestEnv;

/// A job for Bloomberg's headline on miners' revenue, with this external id.
pub fn job(id: &str) -> Job {
    Job::from_value(json!({
        "headline": {
            "externalId": id,
            "title": "Bitcoin Mining Revenue Gauge Falls to Record Low During Selloff",
            "description": "A measure of miners' revenue dropped to a record low.",
            "publishedAt": "2026-02-05T17:45:43.000Z",
            "source": {"name": "Bloomberg (Crypto)", "key": "bloomberg_crypto_"}
        }
    }))
    .unwrap()
}

/// [`job`] as the body of a queue message.
pub fn message(id: &str) -> Vec<u8> {
    job(id).to_json()
}

/// Rewrites `headline` (a job's `headline` object) with the real pipeline, in this process.
pub async fn rewrite(env: &TestEnv, headline: &Value) -> Outcome {
    let job = Job::from_value(json!({ "headline": headline })).unwrap();
    env.pipeline().await.rewrite(&job).await.unwrap()
}

/// What [`invented_overview`] claims that no headline of the tests holds.
pub const INVENTED_CLAIMS: [&str; 3] = ["$5 billion", "March 3", "Jane Doe"];

/// An overview inventing a figure, an amount, a date and a person: [`INVENTED_CLAIMS`].
pub fn invented_overview() -> Value {
    json!({"overview": "Revenue of the mining sector fell to a record low, wiping out $5 billion since March 3, according to Jane Doe, an analyst. Miners unplugged machines."})
}
