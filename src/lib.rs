//! `rewriter` turns raw crypto-news headlines into versioned Markdown articles with an
//! OpenAI-compatible LLM, fed by RabbitMQ.
//!
//! # Layout, in reading order
//!
//! One job flows top to bottom, each module importing only from those above it:
//!
//! - [`job`] parses the wire format into trusted types;
//! - [`prompts`] renders the job's prompt set (and says which version that is);
//! - [`llm`] asks the model, paced, retried, through an outage's circuit;
//! - [`review`] judges each answer (rules, facts, language) before it may be used;
//! - [`article`] prints the Markdown and its YAML 1.1-safe frontmatter, with [`text`], the
//!   cleaning of prose that the review judges by too;
//! - [`store`] writes it whole, to a folder or a bucket;
//! - [`pipeline`] is that sequence for one job; [`queue`] (AMQP) and [`worker`] run it off
//!   RabbitMQ.
//!
//! Over the archive: [`reprocess`] chooses articles to write again with a newer prompt version,
//! [`eval`] judges a prompt version on a sample before a rollout, [`check`] reads stored
//! articles back (the contract checker, `audit`, `diff`), and [`desk`] is the editors' web
//! application. Into the queue: [`ingest`] polls RSS, Atom and JSON feeds. Beside the flow:
//! [`cost`] prices tokens, [`metrics`] counts what the worker does and [`health`] serves it
//! (`/metrics`, `/healthz`, `/readyz`). [`cli`] is the command line; [`config`] and
//! [`telemetry`] are read once at start.

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
