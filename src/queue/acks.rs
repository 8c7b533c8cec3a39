//! Acks sent in small batches instead of one at a time.
//!
//! ```text
//! Delivery::ack ─┐                       ┌─▶ lapin: k basic.ack frames, one wake-up of its
//! Delivery::ack ─┼─▶ pending ─▶ flusher ─┤         RPC task and I/O thread, one write
//! Delivery::ack ─┘   (≤ limit, ≤ window)  └─▶ RabbitMQ: k credits back at once, so the next
//!                                                       deliveries arrive together too
//! ```
//!
//! An ack sent alone wakes lapin's RPC task, then its I/O thread, then the acking task again,
//! and frees one prefetch credit, so the broker's next delivery arrives alone and wakes them
//! once more. A job that is written waits up to [`WINDOW`] (or until `limit` acks are waiting)
//! for the others finishing near it, and they are acked together.
//!
//! Nothing is lost by waiting: an ack still waiting when the process dies is a job whose files
//! are written, which the broker redelivers and the pipeline turns into a no-op
//! (`AlreadyWritten`). [`AckBatch::send_waiting`] sends what waits before the channel closes.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use lapin::Acker;
use lapin::options::BasicAckOptions;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::{QueueError, settled};

/// How long a written job's ack may wait for others to join it: short against a job (the
/// LLM's seconds), long against the gap between two jobs finishing when dozens are in flight.
pub const WINDOW: Duration = Duration::from_millis(20);

/// Acks waiting at most, from the consumer's prefetch: an ack that waits holds a prefetch
/// credit, and an eighth of them leaves the rest for the jobs in flight and in hand.
pub fn limit(prefetch: u16) -> usize {
    usize::from(prefetch / 8).max(1)
}

/// The acks of one consumer's channel; clones share the batch.
#[derive(Clone)]
pub struct AckBatch {
    shared: Arc<Shared>,
}

/// The batch's flusher task, stopped when this is dropped (with its consumer).
pub struct Flusher(AbortHandle);

impl Drop for Flusher {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Shared {
    pending: Mutex<Vec<Acker>>,
    limit: usize,
    /// The first ack of a batch is waiting.
    started: Notify,
    /// `limit` acks are waiting.
    full: Notify,
    /// Held while a batch is being sent, so that [`AckBatch::send_waiting`] sends after it.
    sending: tokio::sync::Mutex<()>,
}

impl Shared {
    /// The acks waiting. A panic while the lock was held (there is no code that can panic
    /// there) leaves the list whole, so the lock is taken anyway.
    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<Acker>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl AckBatch {
    /// Starts the flusher task for a channel, with at most `limit` acks waiting.
    pub fn start(limit: usize) -> (Self, Flusher) {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Vec::new()),
            limit: limit.max(1),
            started: Notify::new(),
            full: Notify::new(),
            sending: tokio::sync::Mutex::new(()),
        });
        let task = tokio::spawn(flush_forever(Arc::clone(&shared)));
        (Self { shared }, Flusher(task.abort_handle()))
    }

    /// Queues the ack of a delivery: it is sent within [`WINDOW`].
    pub fn push(&self, acker: Acker) {
        let waiting = {
            let mut pending = self.shared.pending();
            pending.push(acker);
            pending.len()
        };
        if waiting == 1 {
            self.shared.started.notify_one();
        }
        if waiting >= self.shared.limit {
            self.shared.full.notify_one();
        }
    }

    /// Sends every ack waiting now, after the batch being sent, if any: call before closing
    /// the channel.
    pub async fn send_waiting(&self) {
        let _sending = self.shared.sending.lock().await;
        send(&self.shared).await;
    }
}

/// The flusher: waits for a first ack, then for the window to pass or the batch to fill.
async fn flush_forever(shared: Arc<Shared>) {
    loop {
        shared.started.notified().await;
        tokio::select! {
            () = tokio::time::sleep(WINDOW) => {}
            () = shared.full.notified() => {}
        }
        let _sending = shared.sending.lock().await;
        send(&shared).await;
    }
}

/// Acks everything waiting, all handed to lapin before any is awaited.
async fn send(shared: &Shared) {
    let batch = std::mem::take(&mut *shared.pending());
    if batch.is_empty() {
        return;
    }
    let results = futures_util::future::join_all(
        batch
            .iter()
            .map(|acker| acker.ack(BasicAckOptions::default())),
    )
    .await;
    let errors: Vec<QueueError> = results
        .into_iter()
        .filter_map(|r| r.map_err(QueueError::from).and_then(settled).err())
        .collect();
    if let Some(first) = errors.first() {
        tracing::warn!(
            failed = errors.len(),
            of = batch.len(),
            error.message = %first,
            "could not ack written jobs; the broker will redeliver them, and they will be no-ops"
        );
    }
}
