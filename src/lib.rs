//! `rewriter` turns raw crypto-news headlines into versioned Markdown articles with an
//! OpenAI-compatible LLM, fed by RabbitMQ.
//!
//! # Layout, in reading order
//!
//! A job flows top to bottom: [`job`] parses the wire format into trusted types, [`prompts`]
//! renders a prompt set for it, [`llm`] gets answers that [`review`] judges, [`article`] builds
//! the Markdown (with [`text`], which both use to clean the model's prose), [`store`] writes it
//! atomically. [`pipeline`] is that sequence for one job; [`queue`] and
//! [`worker`] run it off RabbitMQ; [`reprocess`] chooses stored articles to write again with
//! a newer prompt version; [`eval`] judges a prompt version on a sample of the archive before
//! a rollout; [`ingest`] polls RSS, Atom and JSON feeds into jobs, once each; [`cli`] is the
//! command line; [`config`] and [`telemetry`] are read once at start. Beside the flow:
//! [`cost`] prices tokens, [`metrics`] counts what the worker does and [`health`] serves it
//! (`/metrics`, `/healthz`, `/readyz`); [`desk`] is the editors' web application over the
//! archive; [`check`] reads stored articles back: the contract checker, `audit` and `diff`.

pub mod config;
pub mod telemetry;

pub mod cost;
pub mod desk;
pub mod health;
pub mod metrics;

pub mod article;
pub mod check;
pub mod eval;
pub mod ingest;
pub mod job;
pub mod llm;
pub mod pipeline;
pub mod prompts;
pub mod queue;
pub mod reprocess;
pub mod review;
pub mod store;
pub mod text;
pub mod worker;

pub mod cli;
