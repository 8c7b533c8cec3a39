//! Feeds in: polling RSS, Atom and JSON Feed, turning each new item into a job once, and
//! remembering what was sent beside the archive.
//!
//! One poll of one feed, under that feed's lock (`store::feeds`), so that ingesters sharing an
//! archive never both enqueue an item:
//!
//! ```text
//! lock ingest/<key>.lock ─▶ read ingest/<key>.json ─▶ conditional GET ─┬─ 304 ─▶ done
//!                                                                     └─ 200 ─▶ feed-rs parse
//!   ─▶ per item: externalId (guid, else clean link) ─▶ seen? ─▶ headline (job validates)
//!   ─▶ publish, wait for the confirm ─▶ mark seen ─▶ … ─▶ validators kept if all confirmed
//!   ─▶ write ingest/<key>.json (whole) ─▶ unlock
//! ```
//!
//! A crash between a confirm and the state write loses nothing: the item is enqueued again by
//! the next poll, and the worker finds its article already written. [`Ingester::watch`] polls
//! each feed on its interval, backing off a failing feed, until told to stop. Children:
//! [`feeds`] (the feeds file), [`fetch`] (HTTP), [`item`] (item → headline), [`state`] (what a
//! feed remembers).

pub mod feeds;
pub mod fetch;
pub mod item;
pub mod state;

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use futures_util::StreamExt;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use crate::config::safe_url;
use crate::ingest::feeds::Feed;
use crate::ingest::fetch::{FetchError, Fetched, Fetcher};
use crate::ingest::item::Identity;
use crate::ingest::state::FeedState;
use crate::job::{ExternalId, Job};
use crate::metrics::{FeedItems, FeedPoll, Metrics};
use crate::queue::{Broker, Publisher, QueueError};
use crate::store::StoreError;
use crate::store::feeds::FeedFiles;

/// The longest a failing feed waits between attempts under `--watch`.
pub const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);
/// Feeds `poll_all` polls at once: a slow or hanging server costs the others nothing, and each
/// poll holds only its own feed's lock, so ingesters cannot deadlock.
pub const POLLS_AT_ONCE: usize = 8;
/// How long `--watch` waits before trying an unreachable broker again.
pub const BROKER_RETRY: Duration = Duration::from_secs(5);

/// Ingesting could not start.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot read the feeds file {path} (REWRITER_FEEDS): {source}")]
    ReadFeeds {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Feeds(#[from] feeds::FeedsFileError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Where a poll's new items go.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    /// Published to `queue`, each confirmed, and remembered.
    Publish {
        publisher: &'a Publisher,
        queue: &'a str,
    },
    /// Listed only: nothing published, nothing remembered.
    DryRun,
}

/// What a poll got from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetch {
    Fetched { items: usize },
    NotModified,
    Failed(String),
}

/// A new item: enqueued, or listed by a dry run.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub id: ExternalId,
    pub title: String,
    /// The feed gave no date: `publishedAt` is the time the item was first seen.
    pub undated: bool,
}

/// What one poll of one feed did.
#[derive(Debug, Clone)]
pub struct FeedReport {
    pub key: ExternalId,
    /// The feed's URL with any password hidden.
    pub url: String,
    pub fetch: Fetch,
    pub new: Vec<NewItem>,
    pub already_seen: usize,
    /// `item N (…): reason`, one per item that is not a valid headline.
    pub rejected: Vec<String>,
    /// Why the poll stopped after fetching (a publish or the state write failed).
    pub failure: Option<String>,
    /// A publish failed: the broker connection is to be opened again.
    pub broker_lost: bool,
    /// The server asked to be left alone this long (`Retry-After` on an error answer).
    pub retry_after: Option<Duration>,
    pub dry_run: bool,
}

impl FeedReport {
    fn new(feed: &Feed, dry_run: bool) -> Self {
        Self {
            key: feed.key.clone(),
            url: safe_url(feed.url.as_str()),
            fetch: Fetch::NotModified,
            new: Vec::new(),
            already_seen: 0,
            rejected: Vec::new(),
            failure: None,
            broker_lost: false,
            retry_after: None,
            dry_run,
        }
    }

    /// The feed failed: not fetched, not parsed, or its items not all enqueued and remembered.
    pub fn failed(&self) -> bool {
        self.reason().is_some()
    }

    /// Why the feed failed, if it did.
    pub fn reason(&self) -> Option<&str> {
        match &self.fetch {
            Fetch::Failed(reason) => Some(reason),
            _ => self.failure.as_deref(),
        }
    }
}

impl fmt::Display for FeedReport {
    /// `key url: fetched: N items: a new, b already seen, c rejected`, then an indented line
    /// per new and per rejected item, then the failure if any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.key, self.url)?;
        match &self.fetch {
            Fetch::NotModified => write!(f, "not modified")?,
            Fetch::Failed(reason) => write!(f, "failed: {reason}")?,
            Fetch::Fetched { items } => write!(
                f,
                "fetched: {items} item(s): {} new, {} already seen, {} rejected",
                self.new.len(),
                self.already_seen,
                self.rejected.len()
            )?,
        }
        let verb = if self.dry_run { "would enqueue" } else { "new" };
        for item in &self.new {
            write!(f, "\n  {verb} {}: {}", item.id, item.title)?;
            if item.undated {
                write!(
                    f,
                    " (no date in the feed: publishedAt is the time first seen)"
                )?;
            }
        }
        for rejected in &self.rejected {
            write!(f, "\n  rejected {rejected}")?;
        }
        if let Some(failure) = &self.failure {
            write!(f, "\n  failed: {failure}")?;
        }
        Ok(())
    }
}

/// The feeds of one feeds file and what polling them needs.
pub struct Ingester {
    feeds: Vec<Feed>,
    fetcher: Fetcher,
    files: FeedFiles,
}

impl Ingester {
    /// Reads and checks the feeds file and opens the state folder under `out_dir`. Nothing is
    /// fetched when the file has a mistake.
    pub async fn load(feeds_file: &Path, out_dir: &Path) -> Result<Self, IngestError> {
        let text =
            std::fs::read_to_string(feeds_file).map_err(|source| IngestError::ReadFeeds {
                path: feeds_file.display().to_string(),
                source,
            })?;
        let feeds = feeds::parse(&feeds_file.display().to_string(), &text)?;
        Ok(Self {
            feeds,
            fetcher: Fetcher::new()?,
            files: FeedFiles::open(out_dir).await?,
        })
    }

    /// The feeds that are enabled, in file order.
    pub fn feeds(&self) -> impl Iterator<Item = &Feed> {
        self.feeds.iter().filter(|f| f.enabled)
    }

    /// Polls every enabled feed once, [`POLLS_AT_ONCE`] at a time; the reports in file order.
    pub async fn poll_all(&self, target: Target<'_>) -> Vec<FeedReport> {
        // The futures are made first (they do nothing until polled): a closure inside the
        // stream trips the compiler's higher-ranked lifetime check when the command is spawned.
        let polls: Vec<_> = self.feeds().map(|feed| self.poll(feed, target)).collect();
        futures_util::stream::iter(polls)
            .buffered(POLLS_AT_ONCE)
            .collect()
            .await
    }

    /// Polls one feed: see the module doc for the steps.
    pub async fn poll(&self, feed: &Feed, target: Target<'_>) -> FeedReport {
        let dry_run = matches!(target, Target::DryRun);
        let mut report = FeedReport::new(feed, dry_run);
        // A dry run writes nothing, so it needs no lock: state files are replaced whole.
        let _lock = if dry_run {
            None
        } else {
            match self.files.lock(&feed.key).await {
                Ok(lock) => Some(lock),
                Err(e) => {
                    report.fetch = Fetch::Failed(e.to_string());
                    return report;
                }
            }
        };
        let mut state = match self.files.read(&feed.key).await {
            Ok(bytes) => match FeedState::from_bytes(bytes.as_deref()) {
                Ok(state) => state,
                Err(e) => {
                    report.fetch = Fetch::Failed(format!(
                        "{e} ({})",
                        self.files.state_path(&feed.key).display()
                    ));
                    return report;
                }
            },
            Err(e) => {
                report.fetch = Fetch::Failed(e.to_string());
                return report;
            }
        };
        let (etag, last_modified) = state.validators_for(feed.url.as_str());
        let (bytes, charset, etag, last_modified) =
            match self.fetcher.fetch(&feed.url, etag, last_modified).await {
                Ok(Fetched::NotModified) => return report,
                Ok(Fetched::Body {
                    bytes,
                    charset,
                    etag,
                    last_modified,
                }) => (bytes, charset, etag, last_modified),
                Err(e) => {
                    if let FetchError::Status { retry_after, .. } = &e {
                        report.retry_after = *retry_after;
                    }
                    report.fetch = Fetch::Failed(e.to_string());
                    return report;
                }
            };
        let parsed = match parse_feed(&bytes, feed.url.as_str(), charset.as_deref()) {
            Ok(parsed) => parsed,
            Err(reason) => {
                report.fetch = Fetch::Failed(reason);
                return report;
            }
        };
        report.fetch = Fetch::Fetched {
            items: parsed.entries.len(),
        };
        let now = Utc::now();
        let mut in_feed = HashSet::new();
        let mut complete = true;
        for (n, entry) in parsed.entries.iter().enumerate() {
            let Some(identity) = Identity::of(entry) else {
                report.rejected.push(format!(
                    "item {}: it has neither a guid nor a link, nothing to know it by",
                    n + 1
                ));
                continue;
            };
            let id = identity.external_id(&feed.key);
            in_feed.insert(id.to_string());
            if state.has_seen(id.as_ref()) {
                report.already_seen += 1;
                continue;
            }
            let (headline, undated) = match item::headline(feed, entry, &id, now) {
                Ok(ok) => ok,
                Err(reason) => {
                    report.rejected.push(format!(
                        "item {} ({}): {reason}",
                        n + 1,
                        describe(&identity)
                    ));
                    continue;
                }
            };
            let title = headline.title.clone();
            if let Target::Publish { publisher, queue } = target {
                let job = Job::new(headline, None, false);
                if let Err(e) = publisher
                    .publish(queue, &job.to_json(), Default::default())
                    .await
                {
                    report.failure = Some(format!("enqueueing {id}: {e}"));
                    report.broker_lost = true;
                    complete = false;
                    break;
                }
            }
            // Only now: after the confirm (a dry run's state is not written, but an item listed
            // twice in the feed is still listed once).
            state.mark_seen(id.as_ref(), Utc::now());
            report.new.push(NewItem { id, title, undated });
        }
        if dry_run {
            return report;
        }
        if complete {
            state.completed(feed.url.as_str(), etag, last_modified, &in_feed, now);
        }
        if let Err(e) = self.files.write(&feed.key, state.to_bytes()).await {
            let previous = report.failure.take();
            report.failure = Some(match previous {
                Some(p) => format!("{p}; and remembering what was enqueued: {e}"),
                None => format!("remembering what was enqueued: {e}"),
            });
        }
        report
    }

    /// Polls each enabled feed on its interval until `stop` is cancelled; a poll in progress
    /// finishes first. Feeds are polled independently (a feed that hangs until its timeout
    /// delays no other); a failing feed waits its interval doubled per failure in a row (up to
    /// [`MAX_BACKOFF`]), and at least what its `Retry-After` asked. One broker connection serves all, opened at the first poll and again
    /// after a publish failed; `metrics` says whether it is connected and counts polls and
    /// items. Each report goes to `report`.
    pub async fn watch(
        &self,
        amqp_url: &SecretString,
        queue: &str,
        metrics: &Metrics,
        stop: CancellationToken,
        report: impl Fn(&FeedReport) + Sync,
    ) {
        let feeds: Vec<&Feed> = self.feeds().collect();
        if feeds.is_empty() {
            // Exiting would make a restarting service spin; say so and wait to be stopped.
            tracing::warn!("no enabled feed in the feeds file; nothing to poll");
            stop.cancelled().await;
            return;
        }
        let link = tokio::sync::Mutex::new(Link::default());
        let watch = Watch {
            amqp_url,
            queue,
            metrics,
            stop: &stop,
            link: &link,
            report: &report,
        };
        futures_util::future::join_all(feeds.into_iter().map(|feed| self.watch_feed(feed, &watch)))
            .await;
        if let Some((broker, publisher)) = link.into_inner().current.take() {
            publisher.close().await;
            broker.close().await;
        }
        metrics.set_broker_connected(false);
    }

    /// One feed's loop under [`Self::watch`].
    async fn watch_feed(&self, feed: &Feed, watch: &Watch<'_>) {
        let mut failures = 0u32;
        while !watch.stop.is_cancelled() {
            let delay = match watch.publisher().await {
                Some((publisher, generation)) => {
                    let target = Target::Publish {
                        publisher: &publisher,
                        queue: watch.queue,
                    };
                    let polled = self.poll(feed, target).await;
                    count(watch.metrics, &polled);
                    if polled.failed() {
                        failures = failures.saturating_add(1);
                        // Decided here: the feed waits longer and the others go on.
                        tracing::warn!(
                            feed = %polled.key,
                            error.message = polled.reason().unwrap_or_default(),
                            "feed failed; backing off"
                        );
                    } else {
                        failures = 0;
                    }
                    if polled.broker_lost {
                        watch.lost(generation).await;
                    }
                    (watch.report)(&polled);
                    next_delay(feed.interval, failures).max(polled.retry_after.unwrap_or_default())
                }
                None => BROKER_RETRY,
            };
            tokio::select! {
                () = watch.stop.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }
}

/// What every feed's loop under [`Ingester::watch`] shares.
struct Watch<'a> {
    amqp_url: &'a SecretString,
    queue: &'a str,
    metrics: &'a Metrics,
    stop: &'a CancellationToken,
    link: &'a tokio::sync::Mutex<Link>,
    report: &'a (dyn Fn(&FeedReport) + Sync),
}

/// The shared broker connection, and how many times it was opened (so that a loop whose
/// publish failed closes the connection it used, not a newer one another loop opened since).
#[derive(Default)]
struct Link {
    current: Option<(Broker, Publisher)>,
    generation: u64,
}

impl Watch<'_> {
    /// The publisher, connecting first if there is none; `None` (logged) if the broker cannot
    /// be reached.
    async fn publisher(&self) -> Option<(Publisher, u64)> {
        let mut link = self.link.lock().await;
        if link.current.is_none() {
            match connect(self.amqp_url, self.queue).await {
                Ok(opened) => {
                    link.current = Some(opened);
                    link.generation += 1;
                    self.metrics.set_broker_connected(true);
                }
                Err(e) => {
                    self.metrics.set_broker_connected(false);
                    tracing::warn!(error.message = %e, "cannot reach the broker; trying again");
                    return None;
                }
            }
        }
        let generation = link.generation;
        link.current
            .as_ref()
            .map(|(_, publisher)| (publisher.clone(), generation))
    }

    /// A publish on connection `generation` failed: close it, if it is still the current one.
    async fn lost(&self, generation: u64) {
        let mut link = self.link.lock().await;
        if link.generation == generation
            && let Some((broker, publisher)) = link.current.take()
        {
            self.metrics.set_broker_connected(false);
            publisher.close().await;
            broker.close().await;
        }
    }
}

async fn connect(amqp_url: &SecretString, queue: &str) -> Result<(Broker, Publisher), QueueError> {
    let broker = Broker::connect_as(amqp_url, "rewriter ingest").await?;
    match Publisher::open(&broker, queue).await {
        Ok(publisher) => Ok((broker, publisher)),
        Err(e) => {
            broker.close().await;
            Err(e)
        }
    }
}

/// Adds one poll to the metrics.
pub fn count(metrics: &Metrics, report: &FeedReport) {
    metrics.feeds.polled(match report.fetch {
        Fetch::Fetched { .. } if report.failure.is_none() => FeedPoll::Fetched,
        Fetch::NotModified => FeedPoll::NotModified,
        _ => FeedPoll::Failed,
    });
    if !report.dry_run {
        metrics
            .feeds
            .add_items(FeedItems::Enqueued, report.new.len() as u64);
    }
    metrics
        .feeds
        .add_items(FeedItems::AlreadySeen, report.already_seen as u64);
    metrics
        .feeds
        .add_items(FeedItems::Rejected, report.rejected.len() as u64);
}

/// The wait before the next poll: the interval, doubled per failure in a row, at most
/// [`MAX_BACKOFF`] (or the interval, if longer), with up to a tenth more at random so that
/// feeds that failed together do not retry together.
pub fn next_delay(interval: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return interval;
    }
    let doubled = interval.saturating_mul(1u32 << failures.min(16));
    let capped = doubled.min(MAX_BACKOFF.max(interval));
    capped + capped.mul_f64(fastrand::f64() / 10.0)
}

/// Parses a feed body with feed-rs: raw bytes (the prolog's encoding is honoured), no invented
/// ids (an item without a guid is known by its link), no sanitising (we reduce HTML to text).
///
/// A body that is not UTF-8 and declares no encoding breaks the XML and JSON rules, but is
/// common (a Latin-1 feed whose charset is only in the HTTP header, or nowhere): it is decoded
/// with the HTTP charset, or as Windows-1252 (which reads any Latin-1 text) when that is
/// missing or claims UTF-8, and parsed again.
fn parse_feed(
    bytes: &[u8],
    url: &str,
    http_charset: Option<&str>,
) -> Result<feed_rs::model::Feed, String> {
    let first = match parse_bytes(bytes, url) {
        Ok(feed) => return Ok(feed),
        Err(e) => e,
    };
    if std::str::from_utf8(bytes).is_ok() || declares_encoding(bytes) {
        return Err(first);
    }
    let encoding = http_charset
        .and_then(|label| encoding_rs::Encoding::for_label(label.trim().as_bytes()))
        .filter(|e| *e != encoding_rs::UTF_8)
        .unwrap_or(encoding_rs::WINDOWS_1252);
    let (text, _, _) = encoding.decode(bytes);
    parse_bytes(text.as_bytes(), url).map_err(|_| first)
}

/// Whether an XML prolog names an encoding (then feed-rs decodes by it, and so do we).
fn declares_encoding(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(256)];
    let head = String::from_utf8_lossy(head);
    head.trim_start_matches('\u{feff}')
        .trim_start()
        .strip_prefix("<?xml")
        .and_then(|rest| rest.split("?>").next())
        .is_some_and(|prolog| prolog.contains("encoding"))
}

fn parse_bytes(bytes: &[u8], url: &str) -> Result<feed_rs::model::Feed, String> {
    feed_rs::parser::Builder::new()
        .base_uri(Some(url))
        .id_generator(|_, _, _| String::new())
        .sanitize_content(false)
        .build()
        .parse(bytes)
        .map_err(|e| format!("not a feed: {e}"))
}

/// How a rejected item is named: its guid or link, printable and short.
fn describe(identity: &Identity) -> String {
    let (kind, text) = match identity {
        Identity::Guid(g) => ("guid", g),
        Identity::Link(l) => ("link", l),
    };
    format!("{kind} {:?}", item::cut(&item::html_to_text(text), 80))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LATIN1_RSS: &str = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>\
        <item><title>Caf\u{e9} \u{a3}5</title><guid>a</guid></item></channel></rss>";

    fn title(feed: &feed_rs::model::Feed) -> String {
        feed.entries[0].title.clone().unwrap().content
    }

    #[test]
    fn an_undeclared_latin1_feed_is_read_by_its_http_charset_or_as_windows_1252() {
        let latin1: Vec<u8> = LATIN1_RSS.chars().map(|c| c as u8).collect();
        let by_header = parse_feed(&latin1, "http://x/", Some("ISO-8859-1")).unwrap();
        assert_eq!(title(&by_header), "Caf\u{e9} \u{a3}5");
        let by_guess = parse_feed(&latin1, "http://x/", Some("utf-8")).unwrap();
        assert_eq!(title(&by_guess), "Caf\u{e9} \u{a3}5");
        let declared =
            LATIN1_RSS.replace("version=\"1.0\"?>", "version=\"1.0\" encoding=\"UTF-8\"?>");
        let declared: Vec<u8> = declared.chars().map(|c| c as u8).collect();
        assert!(parse_feed(&declared, "http://x/", Some("ISO-8859-1")).is_err());
    }

    #[test]
    fn rss_1_0_and_0_91_items_are_known_by_their_links_and_dated() {
        let rdf = r#"<?xml version="1.0"?>
            <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
                     xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
              <channel rdf:about="https://one.example/"><title>One</title></channel>
              <item rdf:about="https://one.example/a"><title>RDF story</title>
                <link>https://one.example/a?utm_medium=rss</link>
                <dc:date>2026-02-05T17:45:43Z</dc:date></item>
            </rdf:RDF>"#;
        let old = r#"<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title>
              <item><title>0.91 story</title><link>https://old.example/b</link></item>
            </channel></rss>"#;
        for (text, expected) in [(rdf, "RDF story"), (old, "0.91 story")] {
            let feed = parse_feed(text.as_bytes(), "https://x/", None).unwrap();
            let entry = &feed.entries[0];
            assert_eq!(title(&feed), expected);
            let identity = item::Identity::of(entry).unwrap();
            assert!(
                matches!(&identity, item::Identity::Link(l) if !l.contains("utm_")),
                "{identity:?}"
            );
        }
        let rdf_feed = parse_feed(rdf.as_bytes(), "https://x/", None).unwrap();
        assert_eq!(
            rdf_feed.entries[0]
                .published
                .or(rdf_feed.entries[0].updated)
                .map(|d| d.to_rfc3339()),
            Some("2026-02-05T17:45:43+00:00".to_owned())
        );
    }

    #[test]
    fn a_truncated_feed_is_not_a_feed() {
        let cut = &LATIN1_RSS[..LATIN1_RSS.find("</item>").unwrap() + 7];
        let err = parse_feed(cut.as_bytes(), "http://x/", None).unwrap_err();
        assert!(err.starts_with("not a feed: "), "{err}");
    }

    #[test]
    fn a_failing_feed_backs_off_doubling_up_to_the_cap() {
        let five = Duration::from_secs(300);
        assert_eq!(next_delay(five, 0), five);
        let once = next_delay(five, 1);
        assert!(once >= 2 * five && once <= 2 * five + five / 5, "{once:?}");
        let many = next_delay(five, 40);
        assert!(many >= MAX_BACKOFF && many <= MAX_BACKOFF + MAX_BACKOFF / 10);
        let daily = Duration::from_secs(86_400);
        assert!(next_delay(daily, 3) >= daily);
    }
}
