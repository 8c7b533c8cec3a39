//! Running many pipelines concurrently off the queue and shutting down cleanly.
//!
//! [`Worker::build`] loads everything a job needs and checks the broker; [`Worker::run_until`]
//! consumes until the `shutdown` future completes. Each delivery becomes a task; the broker's
//! prefetch ([`Settings::prefetch`]: one and a half times `REWRITER_CONCURRENCY`) and a semaphore
//! of the same size bound the tasks; the pipeline's LLM slots (`REWRITER_CONCURRENCY`) bound the
//! jobs at the LLM, so that jobs waiting for their files to be flushed, or for a slot, are the
//! rest. A task turns its job's `Result` into exactly one of: ack (written, or already written),
//! dead-letter (invalid, or out of LLM budget), requeue after a delay (the disk refused), requeue
//! now (not started before shutdown), or requeue and stop the worker (misconfiguration).
//!
//! An LLM outage is none of these: the job is held. Its task keeps the delivery unacked
//! (so the broker counts no redelivery), waits for the LLM client's circuit to close and runs
//! the job again. Held jobs fill the prefetch window, so the broker sends no more while the
//! outage lasts. A delivery held for `REWRITER_LLM_HOLD_MAX` (under RabbitMQ's 30-minute
//! consumer timeout, which would close the channel and count a redelivery of everything on it)
//! is parked instead: a fresh copy goes to the tail of the queue, then the original is acked
//! ([`Delivery::park`]), so no outage, however long, brings a job near `x-delivery-limit`. At
//! start the worker asks the LLM whether it answers ([`crate::llm::LlmClient::check`]): a
//! rejected key stops it; no answer keeps it from consuming (and not ready) until it answers.
//!
//! Shutdown protocol: when `shutdown` completes the consumer is cancelled (no new deliveries),
//! jobs not yet at the LLM go back to the queue at once, jobs at the LLM get `shutdown_grace`
//! to finish and be acked, then the connection is closed and the broker returns whatever is
//! still unacked to the queue. A lost connection is not a shutdown: the worker reconnects with
//! backoff, declares its topology again and resumes; deliveries from the old connection can no
//! longer be acked and come back by redelivery, which the pipeline turns into no-ops for
//! versions already on disk.
//!
//! Everything is counted in the [`Metrics`] the caller passes to [`Worker::build`]; with
//! `REWRITER_METRICS_ADDR` set, the worker also serves them with `/healthz` and `/readyz`
//! ([`crate::health`]) for as long as it runs, shutdown included (ready only while consuming).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Settings, safe_amqp_url};
use crate::health::{BindError, Health, HealthServer};
use crate::job::Job;
use crate::metrics::{JobOutcome, Metrics};
use crate::pipeline::{Disposition, JobError, Outcome, Pipeline};
use crate::queue::{self, Broker, Consumer, Delivery, QueueError};

pub use crate::metrics::RunSummary;

/// How often the worker looks at the queue's depth for `rewriter_queue_ready_messages`.
const DEPTH_CHECK_EVERY: Duration = Duration::from_secs(5);

/// The longest wait between two attempts to reach the broker.
const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(10);

/// Waits between attempts to reach the broker: 200 ms, doubling up to
/// [`RECONNECT_MAX_DELAY`], for as long as it takes; started again after each success.
const RECONNECT_BACKOFF: ExponentialBuilder = ExponentialBuilder::new()
    .with_min_delay(Duration::from_millis(200))
    .with_factor(2.0)
    .with_max_delay(RECONNECT_MAX_DELAY)
    .without_max_times();

/// Why the worker stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Setup(#[from] JobError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Health(#[from] BindError),
    #[error("stopped: {0}")]
    Fatal(String),
}

/// A worker, built and ready to run.
pub struct Worker {
    settings: Settings,
    pipeline: Pipeline,
    metrics: Arc<Metrics>,
    /// Bound at build (a taken port fails the start), served while running.
    health: Option<HealthServer>,
    /// Stop by itself once the queue is empty and nothing is in flight (batch runs).
    exit_when_idle: bool,
}

impl Worker {
    /// Loads prompts, opens the store, builds the LLM client, checks that the broker
    /// answers and the topology can be declared, and opens the metrics endpoint if asked;
    /// everything is counted in `metrics`.
    pub async fn build(settings: Settings, metrics: Arc<Metrics>) -> Result<Self, WorkerError> {
        let pipeline = Pipeline::build(&settings, Arc::clone(&metrics)).await?;
        pipeline.llm().check().await.map_err(JobError::from)?;
        let health = match settings.metrics_addr {
            Some(addr) => Some(HealthServer::bind(addr).await?),
            None => None,
        };
        let broker = Broker::connect(&settings.amqp_url).await?;
        queue::Publisher::open(&broker, &settings.queue)
            .await?
            .close()
            .await;
        broker.close().await;
        Ok(Self {
            settings,
            metrics,
            pipeline,
            health,
            exit_when_idle: false,
        })
    }

    /// Makes the worker stop by itself, following the shutdown protocol, once the queue has
    /// been empty with no job in flight for two checks a second apart.
    pub fn exit_when_idle(mut self, yes: bool) -> Self {
        self.exit_when_idle = yes;
        self
    }

    /// Live counters (shared with the running tasks).
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.metrics)
    }

    /// Where `/metrics`, `/healthz` and `/readyz` are served, if anywhere.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.health.as_ref().and_then(HealthServer::local_addr)
    }

    /// Consumes jobs until `shutdown` completes, then follows the shutdown protocol.
    pub async fn run_until(
        mut self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<RunSummary, WorkerError> {
        let serving = CancellationToken::new();
        if let Some(server) = self.health.take() {
            if let Some(addr) = server.local_addr() {
                tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
            }
            let health = Arc::new(Health {
                metrics: Arc::clone(&self.metrics),
                prompts: self.pipeline.describe_prompts(),
            });
            tokio::spawn(server.serve(health, serving.clone()));
        }
        let result = self.consume_until(shutdown).await;
        serving.cancel();
        result
    }

    async fn consume_until(
        &self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<RunSummary, WorkerError> {
        let settings = &self.settings;
        let metrics = &self.metrics;
        let tasks = TaskTracker::new();
        let stopping = CancellationToken::new();
        let fatal: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
        let slots = Arc::new(Semaphore::new(usize::from(settings.prefetch())));
        tokio::pin!(shutdown);
        tracing::info!(
            broker = %safe_amqp_url(settings),
            queue = %settings.queue,
            concurrency = settings.concurrency,
            prompt_version = %self.pipeline.prompts().current(),
            "worker started"
        );

        let mut backoff = RECONNECT_BACKOFF.build();
        // Kept past the loop: dropping a lapin consumer closes its channel, which would make
        // the acks of the jobs still in flight fail.
        let mut held: Option<(Broker, Consumer)> = None;
        let circuit = self.pipeline.llm().circuit();
        'connect: loop {
            // Ready (`/readyz`) only while consuming: not while (re)connecting, nor after.
            metrics.set_broker_connected(false);
            // Jobs taken now would only wait: leave them in the queue for workers that can reach
            // their LLM. (The circuit logged the outage when it opened.)
            if circuit.is_open() {
                tracing::info!("waiting for the LLM to answer before consuming");
                tokio::select! {
                    () = &mut shutdown => break 'connect,
                    () = stopping.cancelled() => break 'connect,
                    () = circuit.closed() => {}
                }
            }
            let consumer = tokio::select! {
                () = &mut shutdown => break 'connect,
                () = stopping.cancelled() => break 'connect,
                started = tokio::time::timeout(queue::CONNECT_TIMEOUT * 2, start_consumer(settings)) => {
                    started.unwrap_or_else(|_| Err(QueueError::ConnectTimeout { url: safe_amqp_url(settings) }))
                }
            };
            let (conn, mut consumer) = match consumer {
                Ok(pair) => pair,
                Err(e) => {
                    // Never `None`: the backoff has no limit of tries.
                    let delay = backoff.next().unwrap_or(RECONNECT_MAX_DELAY);
                    tracing::warn!(error.message = %e, retry_in_ms = delay.as_millis() as u64, "cannot reach the broker");
                    tokio::select! {
                        () = &mut shutdown => break 'connect,
                        () = tokio::time::sleep(delay) => {}
                    }
                    continue 'connect;
                }
            };
            backoff = RECONNECT_BACKOFF.build();
            metrics.set_broker_connected(true);
            tracing::info!(queue = %settings.queue, "consuming");
            let mut depth_checks = tokio::time::interval(DEPTH_CHECK_EVERY);
            depth_checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // Idle = no job in flight and nothing ready, at two checks a second apart, with
            // deliveries always taken before a check (`biased`): a delivery buffered by the
            // client or still on the wire is never mistaken for an empty queue.
            let mut idle_checks = tokio::time::interval(Duration::from_secs(1));
            idle_checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut idle_in_a_row = 0;
            loop {
                tokio::select! {
                    biased;
                    () = &mut shutdown => {
                        if let Err(e) = consumer.cancel().await {
                            tracing::debug!(error.message = %e, "cancelling the consumer failed");
                        }
                        held = Some((conn, consumer));
                        break 'connect;
                    }
                    () = stopping.cancelled() => {
                        let _ = consumer.cancel().await;
                        held = Some((conn, consumer));
                        break 'connect;
                    }
                    next = consumer.next() => match next {
                        Some(Ok(delivery)) => {
                            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                                // The semaphore is never closed.
                                continue;
                            };
                            let pipeline = self.pipeline.clone();
                            let metrics = Arc::clone(metrics);
                            let stopping = stopping.clone();
                            let fatal = Arc::clone(&fatal);
                            let hold_max = settings.llm.outage.hold_max;
                            tasks.spawn(async move {
                                handle_delivery(&pipeline, &metrics, delivery, &stopping, &fatal, hold_max).await;
                                drop(slot);
                            });
                        }
                        Some(Err(e)) => {
                            tracing::warn!(error.message = %e, "lost the broker; reconnecting");
                            metrics.reconnected();
                            continue 'connect;
                        }
                        None => {
                            tracing::warn!("the broker ended the consumer; reconnecting");
                            metrics.reconnected();
                            continue 'connect;
                        }
                    },
                    _ = depth_checks.tick() => {
                        if let Ok(n) = consumer.ready().await {
                            metrics.set_queue_ready(n);
                        }
                    }
                    _ = idle_checks.tick(), if self.exit_when_idle => {
                        let idle = tasks.is_empty() && matches!(consumer.ready().await, Ok(0));
                        idle_in_a_row = if idle { idle_in_a_row + 1 } else { 0 };
                        if idle_in_a_row >= 2 {
                            tracing::info!("the queue is empty and no job is in flight");
                            let _ = consumer.cancel().await;
                            held = Some((conn, consumer));
                            break 'connect;
                        }
                    }
                }
            }
        }

        metrics.set_broker_connected(false);
        // Jobs still waiting for an LLM slot return to the queue now.
        self.pipeline.stop_starting();
        tracing::info!(
            in_flight = tasks.len(),
            grace_secs = settings.shutdown_grace.as_secs(),
            "stopping: finishing jobs in flight"
        );
        // Jobs only waiting to be returned to the queue (RetryLater) return now.
        stopping.cancel();
        tasks.close();
        if tokio::time::timeout(settings.shutdown_grace, tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                in_flight = tasks.len(),
                "grace period over: returning unfinished jobs to the queue"
            );
        }
        if let Some((broker, consumer)) = held {
            consumer.close().await;
            broker.close().await;
        }
        let summary = metrics.summary();
        tracing::info!(?summary, "worker stopped");
        let fatal = fatal.lock().ok().and_then(|mut f| f.take());
        match fatal {
            Some(reason) => Err(WorkerError::Fatal(reason)),
            None => Ok(summary),
        }
    }
}

async fn start_consumer(settings: &Settings) -> Result<(Broker, Consumer), QueueError> {
    let name = format!(
        "rewriter worker {} (pid {})",
        settings.queue,
        std::process::id()
    );
    let broker = Broker::connect_as(&settings.amqp_url, &name).await?;
    let consumer = Consumer::start(&broker, &settings.queue, settings.prefetch()).await?;
    Ok((broker, consumer))
}

/// Parses and rewrites one delivered job.
async fn try_handle_delivery(
    pipeline: &Pipeline,
    delivery: &Delivery,
) -> Result<Outcome, JobError> {
    let job = Job::from_json(delivery.body())?;
    pipeline.rewrite(&job).await
}

/// Turns a job's result into ack, dead-letter or requeue, logs it once and counts it; holds it
/// through an LLM outage, for `hold_max` at most from its delivery, then parks it.
async fn handle_delivery(
    pipeline: &Pipeline,
    metrics: &Metrics,
    delivery: Delivery,
    stopping: &CancellationToken,
    fatal: &std::sync::Mutex<Option<String>>,
    hold_max: Duration,
) {
    let started = Instant::now();
    let in_flight = metrics.job_started();
    if let Some(lag) = delivery
        .published_at()
        .and_then(|at| SystemTime::now().duration_since(at).ok())
    {
        metrics.queue_lag_seconds.observe(lag);
    }
    let circuit = pipeline.llm().circuit();
    let result = loop {
        let result = try_handle_delivery(pipeline, &delivery).await;
        match &result {
            Err(e) if e.disposition() == Disposition::WaitForLlm => {}
            _ => break result,
        }
        // Logged at debug: the circuit said it once for every job.
        tracing::debug!("the LLM is unreachable; holding the job until it answers");
        tokio::select! {
            () = circuit.closed() => {}
            () = tokio::time::sleep_until((started + hold_max).into()) => {
                match delivery.park().await {
                    Ok(()) => {
                        metrics.job_parked();
                        tracing::debug!("held through the outage for REWRITER_LLM_HOLD_MAX; put back at the tail of the queue");
                    }
                    Err(e) => tracing::warn!(error.message = %e, "could not put the held job back; the broker will redeliver it"),
                }
                return;
            }
            () = stopping.cancelled() => break result,
        }
    };
    let mut llm_time = None;
    let (outcome, settled) = match result {
        Ok(outcome) => {
            metrics.store_recovered();
            let outcome = match outcome {
                Outcome::Written { llm_time: t, .. } => {
                    llm_time = Some(t);
                    JobOutcome::Written
                }
                Outcome::AlreadyWritten { .. } => JobOutcome::AlreadyWritten,
            };
            delivery.ack();
            (outcome, Ok(()))
        }
        Err(error) => match error.disposition() {
            Disposition::DeadLetter => {
                tracing::warn!(error.message = %error, error.cause_chain = ?error, delivery_count = delivery.delivery_count(), "job dead-lettered");
                let settled = delivery
                    .dead_letter(&error.to_string(), error.attempts())
                    .await;
                (JobOutcome::DeadLettered, settled)
            }
            Disposition::RetryLater(delay) => {
                metrics.store_failed(&error.to_string());
                tracing::error!(error.message = %error, retry_in_secs = delay.as_secs(), "job failed; it goes back to the queue later");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = stopping.cancelled() => {}
                }
                (JobOutcome::Requeued, delivery.requeue().await)
            }
            Disposition::Return | Disposition::WaitForLlm => {
                tracing::info!("not started before shutdown; returning the job to the queue");
                (JobOutcome::Requeued, delivery.requeue().await)
            }
            Disposition::Fatal => {
                tracing::error!(error.message = %error, "the worker cannot go on; returning the job and stopping");
                if let Ok(mut f) = fatal.lock() {
                    f.get_or_insert_with(|| error.to_string());
                }
                stopping.cancel();
                (JobOutcome::Requeued, delivery.requeue().await)
            }
        },
    };
    // Out of flight before it counts as settled, so that a reader who saw every job settled
    // also sees none in flight.
    drop(in_flight);
    metrics.job_settled(outcome);
    if let Some(llm_time) = llm_time {
        let took = started.elapsed();
        metrics.job_seconds.observe(took);
        metrics
            .job_overhead_seconds
            .observe(took.saturating_sub(llm_time));
    }
    if let Err(e) = settled {
        tracing::warn!(error.message = %e, "could not settle the delivery; the broker will redeliver it");
    }
}
