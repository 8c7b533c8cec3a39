//! Everything AMQP: topology, publishing with confirms, consuming, ack / dead-letter.
//!
//! The only module that speaks lapin. Topology (see [`topology`]): a durable quorum queue for
//! jobs and `<queue>.dead` for the jobs that cannot be done. The jobs queue dead-letters to
//! `<queue>.dead` by itself once a message was delivered [`DELIVERY_LIMIT`] times (the last
//! guard against a message that crashes the process); every other dead letter is published by
//! [`Delivery::dead_letter`] with its reason in the `x-rewriter-error` header, confirmed, and
//! only then is the original acked. Every publish waits for the broker's confirm, is
//! persistent and mandatory, and a returned (unroutable) message is an error.

use std::collections::BTreeMap;

use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions,
    BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use crate::config::safe_url;

mod acks;

/// How long connecting (TCP and AMQP handshake) may take.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Deliveries after which the broker moves a message to `<queue>.dead` by itself.
pub const DELIVERY_LIMIT: i64 = 20;

/// Header carrying the reason a job was dead-lettered.
pub const ERROR_HEADER: &str = "x-rewriter-error";
/// Header carrying the LLM requests spent before a job was dead-lettered.
pub const ATTEMPTS_HEADER: &str = "x-rewriter-attempts";

/// A broker failure. All are transient from a job's point of view: the job stays in the queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("cannot connect to RabbitMQ at {url}: {source}")]
    Connect { url: String, source: lapin::Error },
    #[error("AMQP_URL {url} is not an AMQP URL: {problem}")]
    BadUrl { url: String, problem: String },
    #[error("RabbitMQ at {url} did not complete the connection within {}s", CONNECT_TIMEOUT.as_secs())]
    ConnectTimeout { url: String },
    #[error("RabbitMQ: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("the broker did not confirm the message (nack)")]
    Nacked,
    #[error("the broker could not route the message to queue {0:?}: does it exist?")]
    Unroutable(String),
    #[error(
        "the delivery can no longer be settled (its channel closed); the broker will redeliver it"
    )]
    ChannelGone,
}

/// One queue as the code declares it; `queue/definitions.json` must say the same.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSpec {
    pub name: String,
    pub durable: bool,
    pub arguments: Map<String, Value>,
}

/// The dead-letter queue of a jobs queue.
pub fn dead_letter_queue(queue: &str) -> String {
    format!("{queue}.dead")
}

/// The queues a worker needs, with their exact arguments.
pub fn topology(queue: &str) -> Vec<QueueSpec> {
    let object = |v: Value| match v {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    vec![
        QueueSpec {
            name: queue.to_owned(),
            durable: true,
            arguments: object(json!({
                "x-queue-type": "quorum",
                "x-delivery-limit": DELIVERY_LIMIT,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": dead_letter_queue(queue),
            })),
        },
        QueueSpec {
            name: dead_letter_queue(queue),
            durable: true,
            arguments: object(json!({ "x-queue-type": "quorum" })),
        },
    ]
}

fn field_table(arguments: &Map<String, Value>) -> FieldTable {
    let mut table = FieldTable::default();
    for (k, v) in arguments {
        let value = match v {
            Value::Number(n) => AMQPValue::LongLongInt(n.as_i64().unwrap_or_default()),
            Value::Bool(b) => AMQPValue::Boolean(*b),
            Value::String(s) => AMQPValue::LongString(LongString::from(s.as_str())),
            other => AMQPValue::LongString(LongString::from(other.to_string().as_str())),
        };
        table.insert(ShortString::from(k.as_str()), value);
    }
    table
}

/// The largest AMQP frame we ask for (bytes); bigger messages travel in several frames.
pub const FRAME_MAX: u32 = 16 * 1024;

/// A connection to the broker. Without automatic recovery: the worker reconnects itself,
/// with backoff, and declares its topology again.
pub struct Broker {
    connection: Connection,
}

impl Broker {
    pub async fn connect(url: &SecretString) -> Result<Self, QueueError> {
        Self::connect_as(url, "rewriter").await
    }

    /// Connects under a name that the management UI shows (and `rabbitmqctl
    /// list_connections client_properties`). Gives up after [`CONNECT_TIMEOUT`]: a broker
    /// that is still booting can accept the TCP connection and never finish the handshake.
    pub async fn connect_as(url: &SecretString, name: &str) -> Result<Self, QueueError> {
        let properties =
            ConnectionProperties::default().with_connection_name(LongString::from(name));
        let mut uri: lapin::uri::AMQPUri =
            url.expose_secret()
                .parse()
                .map_err(|problem: String| QueueError::BadUrl {
                    url: safe_url(url.expose_secret()),
                    problem,
                })?;
        // lapin keeps 32 frames of buffer each way; at RabbitMQ's default 128 KiB frames that
        // is 8 MiB per connection for jobs of a few KiB. A URL's own frame_max still wins.
        uri.query.frame_max.get_or_insert(FRAME_MAX);
        let connect = Connection::connect_uri(uri, properties);
        let connection = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(source)) => {
                return Err(QueueError::Connect {
                    url: safe_url(url.expose_secret()),
                    source,
                });
            }
            Err(_) => {
                return Err(QueueError::ConnectTimeout {
                    url: safe_url(url.expose_secret()),
                });
            }
        };
        Ok(Self { connection })
    }

    /// Closes the connection; unacked deliveries return to their queue.
    pub async fn close(self) {
        if let Err(e) = self.connection.close(200, ShortString::from("bye")).await {
            tracing::debug!(error.message = %e, "closing the broker connection");
        }
    }
}

/// Declares the topology of `queue`, idempotently.
pub async fn declare_topology(channel: &Channel, queue: &str) -> Result<(), QueueError> {
    for spec in topology(queue) {
        channel
            .queue_declare(
                ShortString::from(spec.name.as_str()),
                QueueDeclareOptions {
                    durable: spec.durable,
                    ..QueueDeclareOptions::default()
                },
                field_table(&spec.arguments),
            )
            .await?;
    }
    Ok(())
}

/// A channel in confirm mode.
#[derive(Clone)]
pub struct Publisher {
    channel: Channel,
}

impl Publisher {
    /// Opens a confirm-mode channel and declares the topology of `queue`.
    pub async fn open(broker: &Broker, queue: &str) -> Result<Self, QueueError> {
        let channel = broker.connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        declare_topology(&channel, queue).await?;
        Ok(Self { channel })
    }

    /// Publishes one persistent JSON message and waits for the broker's confirm.
    pub async fn publish(
        &self,
        queue: &str,
        body: &[u8],
        headers: FieldTable,
    ) -> Result<(), QueueError> {
        let confirm = self
            .channel
            .basic_publish(
                ShortString::from(""),
                ShortString::from(queue),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                body,
                BasicProperties::default()
                    .with_content_type(ShortString::from("application/json"))
                    .with_delivery_mode(2)
                    .with_timestamp(unix_now())
                    .with_headers(headers),
            )
            .await?
            .await?;
        if confirm.is_nack() {
            return Err(QueueError::Nacked);
        }
        if confirm.take_message().is_some() {
            return Err(QueueError::Unroutable(queue.to_owned()));
        }
        Ok(())
    }

    /// Closes the channel (before the connection, so that the close is orderly).
    pub async fn close(self) {
        let _ = self.channel.close(200, ShortString::from("bye")).await;
    }

    /// Messages ready in `queue` (declares nothing; the queue must exist).
    pub async fn depth(&self, queue: &str) -> Result<u32, QueueError> {
        let q = self
            .channel
            .queue_declare(
                ShortString::from(queue),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        Ok(q.message_count())
    }
}

/// A consumer of the jobs queue with its own channel, prefetch and dead-letter publisher.
pub struct Consumer {
    channel: Channel,
    tag: String,
    stream: lapin::Consumer,
    dead: Publisher,
    queue: String,
    acks: acks::AckBatch,
    _flusher: acks::Flusher,
}

impl Consumer {
    /// Declares the topology and starts consuming with `prefetch` unacked deliveries at most.
    pub async fn start(broker: &Broker, queue: &str, prefetch: u16) -> Result<Self, QueueError> {
        let dead = Publisher::open(broker, queue).await?;
        let channel = broker.connection.create_channel().await?;
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await?;
        let tag = format!("rewriter-{}-{}", std::process::id(), fastrand::u32(..));
        let stream = channel
            .basic_consume(
                ShortString::from(queue),
                ShortString::from(tag.as_str()),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let (acks, flusher) = acks::AckBatch::start(acks::limit(prefetch));
        Ok(Self {
            channel,
            tag,
            stream,
            dead,
            queue: queue.to_owned(),
            acks,
            _flusher: flusher,
        })
    }

    /// The next delivery; `None` when the consumer was cancelled or the connection is gone.
    pub async fn next(&mut self) -> Option<Result<Delivery, QueueError>> {
        let item = self.stream.next().await?;
        Some(
            item.map(|inner| Delivery {
                inner,
                dead: self.dead.clone(),
                queue: self.queue.clone(),
                acks: self.acks.clone(),
            })
            .map_err(QueueError::from),
        )
    }

    /// Messages ready in the consumed queue (not counting those delivered and unsettled).
    pub async fn ready(&self) -> Result<u32, QueueError> {
        self.dead.depth(&self.queue).await
    }

    /// Sends the acks still waiting, then closes both channels; deliveries not yet settled
    /// return to the queue.
    pub async fn close(self) {
        self.acks.send_waiting().await;
        let _ = self.channel.close(200, ShortString::from("bye")).await;
        self.dead.close().await;
    }

    /// Stops new deliveries; deliveries in hand can still be acked.
    pub async fn cancel(&self) -> Result<(), QueueError> {
        self.channel
            .basic_cancel(
                ShortString::from(self.tag.as_str()),
                BasicCancelOptions::default(),
            )
            .await?;
        Ok(())
    }
}

/// One delivered job message.
pub struct Delivery {
    inner: lapin::message::Delivery,
    dead: Publisher,
    queue: String,
    acks: acks::AckBatch,
}

impl Delivery {
    pub fn body(&self) -> &[u8] {
        &self.inner.data
    }

    /// When the message was published, from its AMQP `timestamp` (whole seconds) if the
    /// publisher set one, as `rewriter enqueue` does.
    pub fn published_at(&self) -> Option<std::time::SystemTime> {
        let secs = (*self.inner.properties.timestamp())?;
        std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(secs))
    }

    /// How often the broker delivered this message before (quorum queues' `x-delivery-count`;
    /// absent means 0).
    pub fn delivery_count(&self) -> i64 {
        self.inner
            .properties
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get("x-delivery-count").cloned())
            .and_then(|v| match v {
                AMQPValue::LongLongInt(n) => Some(n),
                AMQPValue::LongInt(n) => Some(n.into()),
                AMQPValue::LongUInt(n) => Some(n.into()),
                AMQPValue::ShortInt(n) => Some(n.into()),
                AMQPValue::LongString(s) => std::str::from_utf8(s.as_bytes()).ok()?.parse().ok(),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// Acks the message with others finishing near it: within [`acks::WINDOW`], or at once
    /// if the consumer is closed first. A failure is logged then; the broker redelivers the
    /// message, which must therefore be done already (its files written).
    pub fn ack(&self) {
        self.acks.push(self.inner.acker.clone());
    }

    /// Returns the message to the queue for another worker (or this one, later).
    pub async fn requeue(&self) -> Result<(), QueueError> {
        settled(
            self.inner
                .acker
                .nack(BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                })
                .await?,
        )
    }

    /// Puts a fresh copy of the message at the tail of its queue, waits for the confirm, then
    /// acks the original: back in the queue without a redelivery, so `x-delivery-limit` does
    /// not count it (a requeue would). For jobs held through an LLM outage. If the copy is not
    /// confirmed the original stays unacked; if the ack is lost, the job exists twice, and
    /// the second is a no-op once the first is written.
    pub async fn park(&self) -> Result<(), QueueError> {
        let mut headers = self
            .inner
            .properties
            .headers()
            .as_ref()
            .map(|h| h.inner().clone())
            .unwrap_or_default();
        headers
            .retain(|k, _| !k.as_str().starts_with("x-death") && k.as_str() != "x-delivery-count");
        self.dead
            .publish(&self.queue, &self.inner.data, FieldTable::from(headers))
            .await?;
        settled(self.inner.acker.ack(BasicAckOptions::default()).await?)
    }

    /// Publishes a copy to `<queue>.dead` with the reason, waits for its confirm, then acks
    /// the original. If the copy is not confirmed the original stays unacked (and returns to
    /// the queue when the channel closes): nothing is lost.
    pub async fn dead_letter(&self, reason: &str, attempts: u32) -> Result<(), QueueError> {
        let mut headers: BTreeMap<ShortString, AMQPValue> = self
            .inner
            .properties
            .headers()
            .as_ref()
            .map(|h| h.inner().clone())
            .unwrap_or_default();
        headers.insert(
            ShortString::from(ERROR_HEADER),
            AMQPValue::LongString(LongString::from(reason)),
        );
        headers.insert(
            ShortString::from(ATTEMPTS_HEADER),
            AMQPValue::LongLongInt(attempts.into()),
        );
        self.dead
            .publish(
                &dead_letter_queue(&self.queue),
                &self.inner.data,
                FieldTable::from(headers),
            )
            .await?;
        // At once, not batched: a dead letter is rare, and an ack lost with the process would
        // bring the job back to be dead-lettered twice.
        settled(self.inner.acker.ack(BasicAckOptions::default()).await?)
    }
}

/// lapin answers `false` for an ack on a closed channel: that is a failure, not a success.
fn settled(done: bool) -> Result<(), QueueError> {
    if done {
        Ok(())
    } else {
        Err(QueueError::ChannelGone)
    }
}

/// One message of `<queue>.dead`, held (unacked) until it is requeued or the batch is released.
pub struct DeadLetter {
    delivery: lapin::message::Delivery,
}

impl DeadLetter {
    pub fn body(&self) -> &[u8] {
        &self.delivery.data
    }

    /// The job's externalId when the body is a readable job, else a placeholder.
    pub fn external_id(&self) -> String {
        serde_json::from_slice::<serde_json::Value>(self.body())
            .ok()
            .and_then(|v| match &v["headline"]["externalId"] {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .unwrap_or_else(|| "(unreadable job)".to_owned())
    }

    /// The reason it was dead-lettered (`x-rewriter-error`), or how the broker put it there.
    pub fn reason(&self) -> String {
        match self.header(ERROR_HEADER) {
            Some(AMQPValue::LongString(s)) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
            Some(other) => format!("{other:?}"),
            None => {
                "no reason recorded: the broker dead-lettered it (delivery limit reached)".into()
            }
        }
    }

    /// LLM requests spent before it was dead-lettered, when recorded.
    pub fn attempts(&self) -> Option<i64> {
        match self.header(ATTEMPTS_HEADER)? {
            AMQPValue::LongLongInt(n) => Some(n),
            AMQPValue::LongInt(n) => Some(n.into()),
            _ => None,
        }
    }

    fn header(&self, name: &str) -> Option<AMQPValue> {
        self.delivery
            .properties
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get(name).cloned())
    }
}

/// The dead letters of a queue, taken off `<queue>.dead` for inspection. Those not requeued
/// return to `<queue>.dead`, in order, when the batch is released (or dropped).
pub struct DeadLetters {
    channel: Channel,
    publisher: Publisher,
    queue: String,
    pub letters: Vec<DeadLetter>,
}

impl Broker {
    /// Takes up to `limit` messages off `<queue>.dead` without settling them.
    pub async fn dead_letters(&self, queue: &str, limit: usize) -> Result<DeadLetters, QueueError> {
        let publisher = Publisher::open(self, queue).await?;
        let channel = self.connection.create_channel().await?;
        let mut letters = Vec::new();
        while letters.len() < limit {
            let got = channel
                .basic_get(
                    ShortString::from(dead_letter_queue(queue).as_str()),
                    lapin::options::BasicGetOptions { no_ack: false },
                )
                .await?;
            match got {
                Some(message) => letters.push(DeadLetter {
                    delivery: message.delivery,
                }),
                None => break,
            }
        }
        Ok(DeadLetters {
            channel,
            publisher,
            queue: queue.to_owned(),
            letters,
        })
    }
}

impl DeadLetters {
    /// Sends letter `index` back to the jobs queue (without its dead-letter headers), confirmed,
    /// then removes it from `<queue>.dead`.
    pub async fn requeue(&self, index: usize) -> Result<(), QueueError> {
        let Some(letter) = self.letters.get(index) else {
            return Ok(());
        };
        let mut headers = letter
            .delivery
            .properties
            .headers()
            .as_ref()
            .map(|h| h.inner().clone())
            .unwrap_or_default();
        headers.retain(|k, _| {
            !k.as_str().starts_with("x-rewriter-")
                && !k.as_str().starts_with("x-death")
                && k.as_str() != "x-delivery-count"
        });
        self.publisher
            .publish(&self.queue, letter.body(), FieldTable::from(headers))
            .await?;
        settled(
            letter
                .delivery
                .acker
                .ack(BasicAckOptions::default())
                .await?,
        )
    }

    /// Returns every letter not requeued to `<queue>.dead`.
    pub async fn release(self) {
        let _ = self.channel.close(200, ShortString::from("bye")).await;
        self.publisher.close().await;
    }
}

/// Seconds since the Unix epoch, for the AMQP `timestamp` property.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
