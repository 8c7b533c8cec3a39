//! `rewriter ingest`: RSS, Atom and JSON Feed from a local HTTP server into jobs, each item
//! once; conditional requests; hostile and failing feeds reported per feed; publishes the
//! broker refused left for the next poll; two ingesters at once; `--watch` until SIGTERM; and
//! the jobs through a worker into contract-valid articles.

use std::collections::{HashMap, HashSet};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use rewriter::job::{ExternalId, Job};

use crate::support::feed_server::{FeedServer, Route};
use crate::support::{TestEnv, assert_keeps_contract, poll_until};

const RSS_WITH_GUIDS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
<channel><title>Wire</title><link>https://wire.example/</link>
<item>
  <title>Bitcoin Mining Revenue Gauge Falls to Record Low</title>
  <link>https://wire.example/a?utm_source=rss</link>
  <guid isPermaLink="false">wire-57763812</guid>
  <description>&lt;p&gt;Miners earn &lt;b&gt;less&lt;/b&gt; than ever &amp;amp; sell.&lt;/p&gt;</description>
  <pubDate>Thu, 05 Feb 2026 17:45:43 GMT</pubDate>
  <media:content url="https://img.wire.example/a.jpg" medium="image" type="image/jpeg"/>
</item>
<item>
  <title>Ether Holds Gains as ETF Flows Turn Positive</title>
  <link>https://wire.example/b</link>
  <guid>https://wire.example/b</guid>
  <pubDate>Thu, 05 Feb 2026 18:00:00 +0100</pubDate>
</item>
</channel></rss>"#;

const RSS_WITHOUT_GUIDS: &str = r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>No guids</title>
<item><title>Solana Outage Ends After Five Hours</title>
  <link>https://noguid.example/solana?utm_campaign=x&amp;fbclid=y</link>
  <pubDate>Fri, 06 Feb 2026 09:00:00 GMT</pubDate></item>
<item><title>Stablecoin Supply Hits New High</title>
  <link>https://noguid.example/stable</link>
  <description>Plain text lede.</description>
  <pubDate>Fri, 06 Feb 2026 10:00:00 GMT</pubDate></item>
</channel></rss>"#;

const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Atom wire</title><id>urn:atom-wire</id><updated>2026-02-07T12:00:00Z</updated>
  <entry>
    <title type="html">Ripple &lt;em&gt;Wins&lt;/em&gt; Ruling</title>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <link rel="alternate" href="https://atom.example/ripple"/>
    <link rel="enclosure" type="image/png" href="https://atom.example/ripple.png"/>
    <updated>2026-02-07T11:00:00Z</updated>
    <summary type="html">&lt;p&gt;The court &amp;amp; the SEC.&lt;/p&gt;</summary>
  </entry>
  <entry>
    <title>Cardano Upgrade Goes Live</title>
    <id>tag:atom.example,2026:cardano</id>
    <link href="https://atom.example/cardano"/>
    <published>2026-02-07T10:00:00+02:00</published>
    <updated>2026-02-07T12:00:00Z</updated>
  </entry>
</feed>"#;

const JSON_FEED: &str = r#"{
  "version": "https://jsonfeed.org/version/1.1",
  "title": "JSON wire",
  "items": [
    {"id": "json-1", "url": "https://json.example/1", "title": "Dogecoin Jumps on Payment News",
     "summary": "Memes & money.", "date_published": "2026-02-08T08:00:00Z"},
    {"id": "json-2", "url": "https://json.example/2", "title": "Polygon Cuts Fees",
     "content_html": "<p>Fees fall.</p>", "date_published": "2026-02-08T09:30:00-05:00"}
  ]
}"#;

/// An RSS feed in ISO-8859-1, declared in its prolog (and not in the HTTP charset).
fn latin1_rss() -> Vec<u8> {
    let text = r#"<?xml version="1.0" encoding="ISO-8859-1"?>
<rss version="2.0"><channel><title>Actualité</title>
<item><title>Le bitcoin dépasse les 100 000 £ à Zürich</title>
  <link>https://fr.example/btc</link><guid>fr-1</guid>
  <description>Les marchés réagissent à l'été.</description>
  <pubDate>Sat, 07 Feb 2026 07:00:00 +0100</pubDate></item>
</channel></rss>"#;
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("Latin-1"))
        .collect()
}

/// A feeds file: one `[[feed]]` per (key, url), with extra lines where given.
fn feeds_file(feeds: &[(&str, String, &str)]) -> String {
    feeds
        .iter()
        .map(|(key, url, extra)| {
            format!(
                "[[feed]]\nurl = \"{url}\"\nsource = {{ name = \"{key} news\", key = \"{key}\", type = \"RSS\" }}\n{extra}\n"
            )
        })
        .collect()
}

/// Writes the feeds file where the binary looks by default (its working folder).
fn write_feeds(env: &TestEnv, text: &str) {
    std::fs::write(env.out().join("feeds.toml"), text).unwrap();
}

fn ingest(env: &TestEnv, args: &[&str]) -> Output {
    let mut full = vec!["ingest"];
    full.extend_from_slice(args);
    env.run(&full, "")
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The standard mix: RSS with and without guids, Atom, JSON Feed and Latin-1 RSS, every one
/// with validators, the Atom one gzip-compressed. Nine items.
fn mix_routes() -> Vec<(&'static str, Route)> {
    vec![
        ("/rss", Route::rss(RSS_WITH_GUIDS).etag("\"rss-v1\"")),
        (
            "/noguid",
            Route::rss(RSS_WITHOUT_GUIDS).last_modified("Fri, 06 Feb 2026 10:00:00 GMT"),
        ),
        (
            "/atom",
            Route::ok("application/atom+xml", ATOM)
                .gzip()
                .etag("W/\"atom-1\"")
                .last_modified("Sat, 07 Feb 2026 12:00:00 GMT"),
        ),
        (
            "/json",
            Route::ok("application/feed+json", JSON_FEED).etag("\"json-1\""),
        ),
        (
            "/latin1",
            Route::ok("text/xml", latin1_rss()).etag("\"fr-1\""),
        ),
    ]
}

/// The feeds file of the mix.
fn mix_feeds(server: &FeedServer) -> String {
    feeds_file(&[
        (
            "wire",
            server.url("/rss"),
            "lang = \"en\"\ntags = [\"btc\"]",
        ),
        ("noguid", server.url("/noguid"), ""),
        ("atom", server.url("/atom"), "category = \"XRP\""),
        ("json", server.url("/json"), ""),
        ("fr", server.url("/latin1"), "lang = \"fr\""),
    ])
}

fn serve_the_mix(server: &FeedServer) -> String {
    for (path, route) in mix_routes() {
        server.serve(path, route);
    }
    mix_feeds(server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_ingest_enqueues_every_item_once_and_the_second_only_asks_conditionally() {
    // Arrange
    let env = TestEnv::new().await;
    let server = FeedServer::start().await;
    write_feeds(&env, &serve_the_mix(&server));

    // Act
    let first = ingest(&env, &[]);
    let jobs = env.take_jobs().await;
    let second = ingest(&env, &[]);

    // Assert: every item once, as valid jobs with the feed's source and defaults.
    let (stdout, stderr) = text(&first);
    assert_eq!(first.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.ends_with("enqueued 9 new item(s) from 5 feed(s); 0 feed(s) failed\n"),
        "{stdout}"
    );
    assert_eq!(jobs.len(), 9, "{stdout}");
    let ids: HashSet<&ExternalId> = jobs.iter().map(Job::id).collect();
    assert_eq!(ids.len(), 9);
    let by_title: HashMap<&str, &Job> = jobs
        .iter()
        .map(|j| (j.headline.title.as_str(), j))
        .collect();
    let mining = by_title["Bitcoin Mining Revenue Gauge Falls to Record Low"]
        .headline
        .clone();
    assert!(
        mining.external_id.as_ref().starts_with("wire-"),
        "{}",
        mining.external_id
    );
    assert_eq!(
        mining.description.as_deref(),
        Some("Miners earn less than ever & sell.")
    );
    assert_eq!(
        mining.url.as_deref(),
        Some("https://wire.example/a?utm_source=rss")
    );
    assert_eq!(
        mining.published_at.to_rfc3339(),
        "2026-02-05T17:45:43+00:00"
    );
    assert_eq!(mining.source.name, "wire news");
    assert_eq!(mining.source.key, "wire");
    assert_eq!(mining.tags, ["BTC"]);
    assert_eq!(
        mining.cover_image.as_ref().unwrap()["raw"],
        "https://img.wire.example/a.jpg"
    );
    let ripple = &by_title["Ripple Wins Ruling"].headline;
    assert_eq!(ripple.description.as_deref(), Some("The court & the SEC."));
    assert_eq!(ripple.category.as_deref(), Some("XRP"));
    assert_eq!(
        ripple.cover_image.as_ref().unwrap()["raw"],
        "https://atom.example/ripple.png"
    );
    let cardano = &by_title["Cardano Upgrade Goes Live"].headline;
    assert_eq!(
        cardano.published_at.to_rfc3339(),
        "2026-02-07T08:00:00+00:00"
    );
    assert_eq!(
        by_title["Polygon Cuts Fees"]
            .headline
            .description
            .as_deref(),
        Some("Fees fall.")
    );
    let french = &by_title["Le bitcoin dépasse les 100 000 £ à Zürich"].headline;
    assert_eq!(french.lang, "fr");
    assert_eq!(
        french.description.as_deref(),
        Some("Les marchés réagissent à l'été.")
    );

    // Assert: the second run asked conditionally everywhere and enqueued nothing.
    let (stdout, stderr) = text(&second);
    assert_eq!(second.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(stdout.matches(": not modified").count(), 5, "{stdout}");
    assert!(
        stdout.ends_with("enqueued 0 new item(s) from 5 feed(s); 0 feed(s) failed\n"),
        "{stdout}"
    );
    assert_eq!(env.depth(&env.queue).await, 0);
    let requests = server.all_requests();
    assert_eq!(requests.len(), 10);
    assert!(
        requests[5..]
            .iter()
            .all(|r| r.conditional() && r.status == 304),
        "{requests:#?}"
    );
    assert!(
        requests[0]
            .accept_encoding
            .as_deref()
            .is_some_and(|e| e.contains("gzip")),
        "{requests:#?}"
    );
    assert!(
        requests[0]
            .user_agent
            .as_deref()
            .unwrap()
            .starts_with("rewriter/")
    );
    // The state is beside the archive, one file per feed.
    for key in ["wire", "noguid", "atom", "json", "fr"] {
        assert!(
            env.out().join(format!("ingest/{key}.json")).exists(),
            "{key}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_title_or_a_new_tracking_parameter_is_not_a_new_story() {
    // Arrange: both feeds enqueued once, then edited by their sources (new validators too).
    let env = TestEnv::new().await;
    let server = FeedServer::start().await;
    server.serve("/rss", Route::rss(RSS_WITH_GUIDS).etag("\"v1\""));
    server.serve("/noguid", Route::rss(RSS_WITHOUT_GUIDS));
    write_feeds(
        &env,
        &feeds_file(&[
            ("wire", server.url("/rss"), ""),
            ("noguid", server.url("/noguid"), ""),
        ]),
    );
    let first = ingest(&env, &[]);
    assert_eq!(first.status.code(), Some(0), "{:?}", text(&first));
    assert_eq!(env.take_jobs().await.len(), 4);
    let edited = RSS_WITH_GUIDS.replace("Record Low", "Record Low, Update 2");
    server.serve("/rss", Route::rss(edited).etag("\"v2\""));
    let edited = RSS_WITHOUT_GUIDS
        .replace("Five Hours", "Five Hours (Corrected)")
        .replace(
            "utm_campaign=x&amp;fbclid=y",
            "utm_source=newsletter#comments",
        );
    server.serve("/noguid", Route::rss(edited));

    // Act
    let second = ingest(&env, &[]);

    // Assert
    let (stdout, stderr) = text(&second);
    assert_eq!(second.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        stdout.matches("0 new, 2 already seen, 0 rejected").count(),
        2,
        "{stdout}"
    );
    assert_eq!(env.depth(&env.queue).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_and_hostile_feeds_are_reported_each_with_its_reason_and_the_others_ingested() {
    // Arrange
    let env = TestEnv::new().await;
    let server = FeedServer::start().await;
    let dates = [
        "Thu, 05 Feb 2026 17:45:43 GMT",
        "Thu, 5 Feb 2026 17:45:43 +0100",
        "2026-02-05T17:45:43Z",
        "2026-02-05T17:45:43.250+01:00",
        "Thu, 05 Feb 2026 17:45:43 EST",
        "05 Feb 2026 17:45:43 GMT",
        "Thursday, 05-Feb-26 17:45:43 GMT",
        "yesterday at noon",
    ];
    let mut items: String = dates
        .iter()
        .enumerate()
        .map(|(i, d)| {
            format!("<item><title>Dated {i}</title><guid>d-{i}</guid><pubDate>{d}</pubDate></item>")
        })
        .collect();
    items.push_str("<item><title>No date at all</title><guid>d-none</guid></item>");
    items.push_str(
        "<item><description>A title is missing</description><guid>d-untitled</guid></item>",
    );
    items.push_str("<item><title>   </title><guid>d-blank</guid></item>");
    items.push_str("<item><title>Neither guid nor link</title></item>");
    let dated = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>d</title>{items}</channel></rss>"
    );
    server.serve("/dated", Route::rss(dated));
    server.serve("/gone", Route::status(404));
    server.serve("/broken", Route::status(500));
    server.serve(
        "/html",
        Route::ok("text/html", "<html><body>Not a feed</body></html>"),
    );
    server.serve("/text", Route::ok("text/plain", "just words, no markup"));
    server.serve(
        "/truncated",
        Route::rss(&RSS_WITH_GUIDS[..RSS_WITH_GUIDS.len() / 2]),
    );
    server.serve("/cut", Route::rss(RSS_WITH_GUIDS).cut_after(100));
    server.serve("/huge", Route::rss(vec![b' '; 9 * 1024 * 1024]));
    server.serve("/loop", Route::redirect("/loop"));
    // 9 MiB that gzip makes about 9 KiB: the limit counts what it unpacks to.
    server.serve("/bomb", Route::rss(vec![b' '; 9 * 1024 * 1024]).gzip());
    // Latin-1 with no encoding in the prolog: by the HTTP charset, and despite a false one.
    let latin1 = latin1_rss();
    let prolog_end = latin1.iter().position(|b| *b == b'\n').unwrap() + 1;
    let undeclared = latin1[prolog_end..].to_vec();
    server.serve(
        "/charset",
        Route::ok("text/xml; charset=ISO-8859-1", undeclared.clone()),
    );
    server.serve(
        "/falsecharset",
        Route::ok("application/rss+xml; charset=utf-8", undeclared),
    );
    let keys = [
        "dated",
        "charset",
        "falsecharset",
        "gone",
        "broken",
        "html",
        "text",
        "truncated",
        "cut",
        "huge",
        "bomb",
        "loop",
    ];
    let feeds: Vec<(&str, String, &str)> = keys
        .iter()
        .map(|k| (*k, server.url(&format!("/{k}")), ""))
        .collect();
    let mut file = feeds_file(&feeds);
    file.push_str("[[feed]]\nurl = \"https://127.0.0.1:1/refused\"\nsource = { name = \"Refused\", key = \"refused\" }\n");
    // TLS to a server that speaks plain HTTP: the handshake fails.
    let tls = server.url("/dated").replace("http://", "https://");
    file.push_str(&format!(
        "[[feed]]\nurl = \"{tls}\"\nsource = {{ name = \"TLS\", key = \"tls\" }}\n"
    ));
    write_feeds(&env, &file);

    // Act
    let output = ingest(&env, &[]);

    // Assert: exit 1, each failure with its reason, the good feed ingested.
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let line = |key: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .unwrap_or_else(|| panic!("no line for {key}: {stdout}"))
            .to_owned()
    };
    assert!(
        line("gone").ends_with("failed: HTTP 404 Not Found"),
        "{stdout}"
    );
    assert!(
        line("broken").ends_with("failed: HTTP 500 Internal Server Error"),
        "{stdout}"
    );
    assert!(line("html").contains("failed: not a feed"), "{stdout}");
    assert!(line("text").contains("failed: not a feed"), "{stdout}");
    assert!(line("truncated").contains("failed: not a feed"), "{stdout}");
    assert!(line("cut").contains("failed: "), "{stdout}");
    assert!(
        line("huge").ends_with("failed: the body is larger than 8 MiB"),
        "{stdout}"
    );
    assert!(
        line("loop").contains("failed: ") && line("loop").contains("redirect"),
        "{stdout}"
    );
    assert!(line("refused").contains("failed: "), "{stdout}");
    assert!(line("tls").contains("failed: "), "{stdout}");
    assert!(
        line("bomb").ends_with("failed: the body is larger than 8 MiB"),
        "{stdout}"
    );
    assert!(stdout.ends_with("; 11 feed(s) failed\n"), "{stdout}");
    assert!(
        line("dated").ends_with("fetched: 12 item(s): 9 new, 0 already seen, 3 rejected"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(guid \"d-untitled\"): the item has no title"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(guid \"d-blank\"): the item has no title"),
        "{stdout}"
    );
    assert!(stdout.contains("neither a guid nor a link"), "{stdout}");
    let jobs = env.take_jobs().await;
    assert_eq!(jobs.len(), 11);
    let french: Vec<&str> = jobs
        .iter()
        .filter(|j| j.headline.source.key.ends_with("charset"))
        .map(|j| j.headline.title.as_str())
        .collect();
    assert_eq!(french, ["Le bitcoin dépasse les 100 000 £ à Zürich"; 2]);
    let published: HashMap<String, String> = jobs
        .iter()
        .map(|j| {
            (
                j.headline.title.clone(),
                j.headline.published_at.to_rfc3339(),
            )
        })
        .collect();
    assert_eq!(published["Dated 0"], "2026-02-05T17:45:43+00:00");
    assert_eq!(published["Dated 1"], "2026-02-05T16:45:43+00:00");
    assert_eq!(published["Dated 2"], "2026-02-05T17:45:43+00:00");
    assert_eq!(published["Dated 3"], "2026-02-05T16:45:43.250+00:00");
    assert_eq!(published["Dated 4"], "2026-02-05T22:45:43+00:00");
    assert_eq!(published["Dated 5"], "2026-02-05T17:45:43+00:00");
    // Unreadable and missing dates: the time first seen, and the output says so.
    for title in ["Dated 7", "No date at all"] {
        let when = chrono::DateTime::parse_from_rfc3339(&published[title]).unwrap();
        assert!(
            (chrono::Utc::now() - when.to_utc()).num_minutes() < 5,
            "{title}: {when}"
        );
        assert!(
            stdout.contains(&format!(
                "{title} (no date in the feed: publishedAt is the time first seen)"
            )),
            "{stdout}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistake_in_the_feeds_file_is_reported_with_its_line_and_nothing_is_fetched() {
    // Arrange
    let env = TestEnv::new().await;
    let server = FeedServer::start().await;
    server.serve("/rss", Route::rss(RSS_WITH_GUIDS));
    let mut file = feeds_file(&[
        ("wire", server.url("/rss"), ""),
        ("wire", server.url("/rss"), ""),
        ("bad", "not a url".to_owned(), ""),
    ]);
    file.push_str("[[feed]]\nurl = \"https://x.example/\"\nsource = { name = \"X\", key = \"x\" }\nintreval = \"5m\"\n");
    write_feeds(&env, &file);

    // Act
    let output = ingest(&env, &[]);

    // Assert
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("feeds.toml:16: "), "{stderr}");
    assert!(stderr.contains("intreval"), "{stderr}");
    file.truncate(file.find("[[feed]]\nurl = \"https://x.example/\"").unwrap());
    write_feeds(&env, &file);
    let output = ingest(&env, &[]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("feeds.toml:5: source key \"wire\" is already used by the feed at line 1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("feeds.toml:10: url \"not a url\" is not a URL"),
        "{stderr}"
    );
    assert!(server.all_requests().is_empty());
    assert_eq!(env.depth(&env.queue).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_lists_what_would_be_enqueued_and_publishes_and_remembers_nothing() {
    // Arrange: a feed that lists its first item twice.
    let env = TestEnv::new().await;
    let server = FeedServer::start().await;
    let first = &RSS_WITH_GUIDS[RSS_WITH_GUIDS.find("<item>").unwrap()
        ..RSS_WITH_GUIDS.find("</item>").unwrap() + "</item>".len()];
    let doubled = RSS_WITH_GUIDS.replace("</channel>", &format!("{first}</channel>"));
    server.serve("/rss", Route::rss(doubled).etag("\"v1\""));
    write_feeds(&env, &feeds_file(&[("wire", server.url("/rss"), "")]));

    // Act
    let dry = ingest(&env, &["--dry-run"]);
    let real = ingest(&env, &[]);

    // Assert
    let (stdout, stderr) = text(&dry);
    assert_eq!(dry.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("  would enqueue wire-"), "{stdout}");
    assert!(
        stdout.contains("would enqueue 2 new item(s) from 1 feed(s)"),
        "{stdout}"
    );
    let requests = server.requests("/rss");
    assert!(
        !requests[1].conditional(),
        "the dry run kept no validators: {requests:#?}"
    );
    assert!(String::from_utf8_lossy(&real.stdout).contains("enqueued 2 new item(s)"));
    assert_eq!(env.take_jobs().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ingesters_at_once_enqueue_each_item_once() {
    // Arrange: slow answers, so that the two runs overlap.
    let env = TestEnv::new().await;
    let server = FeedServer::start().await;
    for (path, route) in mix_routes() {
        server.serve(path, route.delay(Duration::from_millis(150)));
    }
    write_feeds(&env, &mix_feeds(&server));

    // Act
    let spawn = || {
        env.command(&["ingest"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());

    // Assert
    assert_eq!(a.status.code(), Some(0), "{:?}", text(&a));
    assert_eq!(b.status.code(), Some(0), "{:?}", text(&b));
    let jobs = env.take_jobs().await;
    let ids: HashSet<&ExternalId> = jobs.iter().map(Job::id).collect();
    assert_eq!(
        (jobs.len(), ids.len()),
        (9, 9),
        "{:?}\n{:?}",
        text(&a),
        text(&b)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_polls_each_feed_on_its_interval_serves_metrics_and_stops_on_sigterm() {
    // Arrange
    let mut env = TestEnv::new().await;
    let server = FeedServer::start().await;
    server.serve("/rss", Route::rss(RSS_WITHOUT_GUIDS));
    server.serve("/gone", Route::status(404));
    let empty = "<rss version=\"2.0\"><channel><title>slow</title></channel></rss>";
    server.serve("/slow", Route::rss(empty).delay(Duration::from_secs(3)));
    server.serve("/busy", Route::status(503).header("Retry-After", "120"));
    write_feeds(
        &env,
        &feeds_file(&[
            ("noguid", server.url("/rss"), "interval = \"1s\""),
            ("gone", server.url("/gone"), "interval = \"1s\""),
            ("slow", server.url("/slow"), "interval = \"1s\""),
            ("busy", server.url("/busy"), "interval = \"1s\""),
        ]),
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    env.set("REWRITER_METRICS_ADDR", &addr);
    let mut child = env
        .command(&["ingest", "--watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Act: the first poll, then a new item in the feed.
    env.wait_for_depth(&env.queue, 2, Duration::from_secs(20))
        .await;
    let added = RSS_WITHOUT_GUIDS.replace(
        "</channel>",
        "<item><title>Late Story</title><link>https://noguid.example/late</link></item></channel>",
    );
    server.serve("/rss", Route::rss(added));
    env.wait_for_depth(&env.queue, 3, Duration::from_secs(20))
        .await;
    // The counters follow the poll's state write, a moment after the broker has the job.
    let metrics = poll_until(
        Duration::from_secs(10),
        async || match rewriter::health::get(&addr, "/metrics").await {
            Ok((200, body)) if body.contains("outcome=\"enqueued\"} 3") => Ok(body),
            other => Err(format!("{other:?}")),
        },
    )
    .await;
    let (ready, _) = rewriter::health::get(&addr, "/readyz").await.unwrap();
    // Four polls of the good feed take three seconds, one poll of the slow feed as long.
    poll_until(Duration::from_secs(20), async || {
        let polls = server.requests("/rss").len();
        if polls >= 4 {
            Ok(())
        } else {
            Err(format!("{polls} polls of the good feed"))
        }
    })
    .await;
    let slow = server.requests("/slow").len();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();

    // Assert
    assert!(killed.success());
    assert_eq!(status.code(), Some(0));
    assert_eq!(ready, 200);
    assert!(
        metrics.contains("rewriter_feed_items_total{outcome=\"enqueued\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rewriter_feed_polls_total{result=\"failed\"} "),
        "{metrics}"
    );
    // The failing feeds back off: after its first failure the 404 waits 2 s, then 4 s.
    let gone = server.requests("/gone").len();
    let ok = server.requests("/rss").len();
    assert!(
        gone < ok,
        "the failing feed was asked {gone} times, the good one {ok}"
    );
    assert_eq!(env.depth(&env.queue).await, 3);
    assert_eq!(
        server.requests("/busy").len(),
        1,
        "a 503 with Retry-After: 120 is not asked again within the test"
    );
    assert!(
        slow <= 2,
        "the slow feed held up the others: it was asked {slow} times while the good one was asked 4"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_turns_ingested_items_into_contract_valid_articles() {
    // Arrange
    let env = TestEnv::new().await;
    let server = FeedServer::start().await;
    write_feeds(&env, &serve_the_mix(&server));
    let output = ingest(&env, &[]);
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));

    // Act
    let worker = env.spawn_worker().await;
    let articles = env.wait_for_articles(9, Duration::from_secs(60)).await;
    worker.stop().await;

    // Assert
    for article in &articles {
        let id = article.file_stem().unwrap().to_str().unwrap();
        let source: serde_json::Value = serde_json::from_slice(
            &std::fs::read(env.out().join(format!("sources/{id}.json"))).unwrap(),
        )
        .unwrap();
        assert_keeps_contract(article, Some(&source));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_the_broker_refused_are_enqueued_by_the_next_poll_and_the_confirmed_are_not() {
    // Arrange: a queue that takes two messages and refuses (nacks) the rest.
    let env = TestEnv::new().await;
    let server = FeedServer::start().await;
    let items: String = (1..=5)
        .map(|i| format!("<item><title>Story {i}</title><guid>s-{i}</guid></item>"))
        .collect();
    let rss = format!("<rss version=\"2.0\"><channel><title>f</title>{items}</channel></rss>");
    server.serve("/rss", Route::rss(rss).etag("\"v1\""));
    write_feeds(&env, &feeds_file(&[("five", server.url("/rss"), "")]));
    let policy = format!("{}-max", env.queue);
    let pattern = format!("^{}$", env.queue);
    let limit = r#"{"max-length": 2, "overflow": "reject-publish"}"#;
    rabbitmqctl(&[
        "set_policy",
        "--apply-to",
        "queues",
        &policy,
        &pattern,
        limit,
    ]);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Act
    let refused = ingest(&env, &[]);
    rabbitmqctl(&["clear_policy", &policy]);
    let first = env.take_jobs().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let retried = ingest(&env, &[]);
    let second = env.take_jobs().await;

    // Assert: the confirmed ones were remembered, the rest asked for again (unconditionally,
    // since that fetch's validators were not kept) and enqueued once.
    let (stdout, stderr) = text(&refused);
    assert_eq!(refused.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("failed: enqueueing five-"), "{stdout}");
    assert!(stdout.contains("did not confirm"), "{stdout}");
    // A quorum queue applies its length limit a message late at times: two or three got in.
    let confirmed = first.len();
    assert!((2..5).contains(&confirmed), "{confirmed} confirmed");
    let (stdout, stderr) = text(&retried);
    assert_eq!(retried.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("{} new, {confirmed} already seen", 5 - confirmed)),
        "{stdout}"
    );
    assert!(!server.requests("/rss")[1].conditional());
    let titles: HashSet<String> = first
        .iter()
        .chain(&second)
        .map(|j| j.headline.title.clone())
        .collect();
    assert_eq!((first.len() + second.len(), titles.len()), (5, 5));
}

fn rabbitmqctl(args: &[&str]) {
    let status = Command::new("rabbitmqctl")
        .arg("-q")
        .args(args)
        .status()
        .expect("rabbitmqctl runs");
    assert!(status.success(), "rabbitmqctl {args:?}");
}
