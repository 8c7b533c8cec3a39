//! The one integration-test binary: the real `rewriter` library and binary against the real
//! RabbitMQ on 127.0.0.1:5672 and the project's fake OpenAI-compatible server. Every test gets
//! its own uniquely named queues and output folder, and removes its queues when done.

// Tests assert by panicking; `unwrap`/`expect` are how they say "this must hold".
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Shared harness: `TestEnv`, the fake LLM, the article contract checker.
mod support;

/// `rewriter cost`: tokens and money per prompt version, as recorded and at current prices.
mod cost;
/// `docker-compose.yml`, `queue/` and the `Dockerfile` agree with the code.
mod deployment;
/// The editors' desk in a real browser and over HTTP; `rewriter approve` / `reject`.
mod desk;
/// `rewriter enqueue`: confirms, rejected lines with their numbers, exit codes.
mod enqueue;
/// `rewriter eval`: a candidate prompt set judged against the archive, publishing nothing.
mod eval;
/// Faults: dead letters and their requeue, SIGKILL mid-batch, broker-side disconnects.
mod faults;
/// `rewriter ingest`: feeds from a local HTTP server into jobs, each item once.
mod ingest;
/// The LLM client against misbehaving servers: retries, re-asks, drafts, dead letters.
mod llm;
/// `/metrics`, `/healthz`, `/readyz`; token cost; rate-limit pacing and provider headers.
mod observability;
/// LLM outages cost time, not jobs: held, probed, resumed; the request's own errors stay its.
mod outage;
/// Article quality: invented figures and names make drafts with the claims, restatements do
/// not; clean text; the wrong language; `rewriter audit`.
mod quality;
/// A real model (llama.cpp + SmolLM2) end to end.
mod real_llm;
/// Prompt versions: `reprocess`, `promote`, `diff`, `prompts check` / `list`; v1 kept as written.
mod reprocess;
/// `rewriter rewrite` and `rewriter render`: the pipeline without a broker, prompts without an LLM.
mod rewrite;
/// The archive in an S3-compatible bucket (moto): every command, redelivery, bad locations.
mod s3;
/// Many hosts on one bucket: racing workers, a SIGKILL, a faulting network; one version a job.
mod s3_hosts;
/// House rules that no single file shows: module docs, module boundaries, no unwrap.
mod tidy;
/// Responses recorded from llama.cpp's server, replayed.
mod wire;
/// Headlines through `enqueue` and a worker into articles; poison, shutdown, redelivery.
mod worker;
