//! The editors' desk end to end: the `rewriter desk` binary over an archive the real pipeline
//! wrote, in headless Chromium (sign in, find a hostile draft, see its claims, approve, roll
//! back, requeue a dead letter, no script from a headline runs) and over plain HTTP (sessions,
//! CSRF, addresses, headers); `rewriter approve` / `reject` from the command line.

use std::fs;
use std::time::Duration;

use serde_json::json;

use crate::support::TestEnv;
use crate::support::browser::Browser;
use crate::support::contract::check_article;
use crate::support::desk::{Desk, EDITOR, PASSWORD, Visitor, headline, inventing};
use crate::support::news::{INVENTED_CLAIMS, rewrite};

/// A title, description and source name carrying every kind of payload.
const SCRIPT: &str = "<script>window.__pwned = 1</script>";
const IMG: &str = "<img src=x onerror=\"window.__pwned = 2\">";
const TEMPLATE: &str = "{{ 7 * 7 }} {% raw %}";

fn hostile(id: &str) -> serde_json::Value {
    json!({
        "externalId": id,
        "title": format!("Bitcoin miners {SCRIPT} {IMG} {TEMPLATE}"),
        "description": "Revenue fell <a href=\"javascript:window.__pwned=3\">click</a> as operators unplugged 40% of their machines.",
        "url": "javascript:window.__pwned=4",
        "publishedAt": "2026-02-05T17:45:43.000Z",
        "lang": "en",
        "source": {"name": format!("Feed {SCRIPT}"), "key": "hostile_feed"}
    })
}

#[tokio::test]
async fn an_editor_approves_a_hostile_draft_in_the_browser_and_the_version_stays_as_written() {
    // Arrange
    let mut env = TestEnv::new().await;
    inventing(&mut env);
    rewrite(&env, &hostile("h1")).await;
    let version_file = env.out().join("versions/h1/v1.md");
    let written = fs::read_to_string(&version_file).unwrap();
    let desk = Desk::start(&env).await;
    let browser = Browser::start().await;

    // Act: sign in, open the drafts, open the hostile one.
    browser.sign_in(&desk.base, EDITOR, PASSWORD).await;
    browser.goto(&format!("{}/drafts", desk.base)).await;
    let listed = browser.text("a.draft-link").await;
    browser.click("a.draft-link").await;
    let marked = browser.texts("article.reader mark.claim").await;
    let title = browser.text("h1.title").await;
    browser.click("button.approve").await;
    browser.wait_for("section.history").await;
    let status = browser.text("p.status").await;

    // Assert
    assert!(
        listed.contains(SCRIPT),
        "the title is listed as text: {listed}"
    );
    assert!(title.contains(SCRIPT) && title.contains(IMG) && title.contains(TEMPLATE));
    for claim in INVENTED_CLAIMS {
        assert!(
            marked.iter().any(|m| m == claim),
            "{claim} highlighted: {marked:?}"
        );
    }
    assert!(status.contains("approved by ana"), "{status}");
    let published = fs::read_to_string(env.out().join("articles/h1.md")).unwrap();
    let fm = rewriter::article::parse_frontmatter(&published).unwrap();
    assert!(!fm.draft);
    assert_eq!(fm.ai.approved.as_ref().map(|a| a.by.as_str()), Some(EDITOR));
    assert_eq!(fs::read_to_string(&version_file).unwrap(), written);
    assert_eq!(
        check_article(&published, None, Some(1)),
        Vec::<String>::new()
    );
    let actions = fs::read_to_string(env.out().join("desk/actions/h1.ndjson")).unwrap();
    assert!(actions.contains("\"action\":\"approve\"") && actions.contains("\"by\":\"ana\""));
}

#[tokio::test]
async fn a_hostile_headline_shows_as_text_and_its_scripts_never_run() {
    // Arrange
    let mut env = TestEnv::new().await;
    inventing(&mut env);
    rewrite(&env, &hostile("x1")).await;
    let desk = Desk::start(&env).await;
    let browser = Browser::start().await;
    browser.sign_in(&desk.base, EDITOR, PASSWORD).await;

    // Act
    let mut pwned = Vec::new();
    for page in ["/", "/drafts", "/articles/x1"] {
        browser.goto(&format!("{}{page}", desk.base)).await;
        pwned.push(
            browser
                .eval("return window.__pwned === undefined ? null : window.__pwned;")
                .await,
        );
    }
    let images = browser.count("img").await;
    let scripts = browser.count("script").await;
    let source = browser.text("section.source").await;
    let links: Vec<String> = browser
        .eval("return [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'));")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect();

    // Assert
    assert!(
        pwned.iter().all(serde_json::Value::is_null),
        "a script ran: {pwned:?}"
    );
    assert_eq!(
        (images, scripts),
        (0, 0),
        "no element came from the headline"
    );
    assert!(
        source.contains("<a href=\"javascript:"),
        "the description is text: {source}"
    );
    assert!(source.contains(&format!("Feed {SCRIPT}")), "{source}");
    assert!(
        links
            .iter()
            .all(|l| !l.to_lowercase().starts_with("javascript:")),
        "{links:?}"
    );
}

#[tokio::test]
async fn an_editor_rolls_an_article_back_to_its_first_version_in_the_browser() {
    // Arrange: v2 is published; v1 differs.
    let mut env = TestEnv::new().await;
    inventing(&mut env);
    rewrite(
        &env,
        &headline("r1", "Bitcoin Mining Revenue Gauge Falls to Record Low"),
    )
    .await;
    let v1 = fs::read_to_string(env.out().join("versions/r1/v1.md")).unwrap();
    let v2 = v1.replace("version: 1", "version: 2").replace(
        "Miners unplugged machines.",
        "Miners switched machines off.",
    );
    fs::write(env.out().join("versions/r1/v2.md"), &v2).unwrap();
    fs::write(env.out().join("articles/r1.md"), &v2).unwrap();
    let desk = Desk::start(&env).await;
    let browser = Browser::start().await;
    browser.sign_in(&desk.base, EDITOR, PASSWORD).await;

    // Act
    browser
        .goto(&format!("{}/articles/r1/diff?a=1&b=2", desk.base))
        .await;
    let diff = browser.text("main").await;
    browser.goto(&format!("{}/articles/r1", desk.base)).await;
    browser
        .select("form[action$='/promote'] select[name=version]", "1")
        .await;
    browser.click("button.promote").await;
    browser.wait_for("section.history").await;

    // Assert
    assert!(
        diff.contains("Miners unplugged machines.")
            && diff.contains("Miners switched machines off."),
        "{diff}"
    );
    assert_eq!(
        fs::read_to_string(env.out().join("articles/r1.md")).unwrap(),
        v1
    );
    assert_eq!(
        fs::read_to_string(env.out().join("versions/r1/v2.md")).unwrap(),
        v2
    );
    let actions = fs::read_to_string(env.out().join("desk/actions/r1.ndjson")).unwrap();
    assert!(actions.contains("\"action\":\"promote\"") && actions.contains("\"version\":1"));
}

#[tokio::test]
async fn an_editor_requeues_a_dead_letter_in_the_browser() {
    // Arrange: a job without a title is dead-lettered by a worker.
    let env = TestEnv::new().await;
    env.publish_raw(br#"{"headline": {"externalId": "dead1", "publishedAt": "2026-02-05T17:45:43Z", "source": {"name": "n", "key": "k"}}}"#)
        .await;
    let worker = env.spawn_worker().await;
    env.wait_for_dead_letters(1, Duration::from_secs(20)).await;
    worker.stop().await;
    let desk = Desk::start(&env).await;
    let browser = Browser::start().await;
    browser.sign_in(&desk.base, EDITOR, PASSWORD).await;

    // Act
    browser.goto(&format!("{}/dead", desk.base)).await;
    let listed = browser.text("table.dead").await;
    browser.click("button.requeue-dead").await;
    browser.wait_for("table.dead").await;

    // Assert
    assert!(
        listed.contains("dead1") && listed.contains("title"),
        "{listed}"
    );
    env.wait_for_depth(&env.queue, 1, Duration::from_secs(10))
        .await;
    assert_eq!(env.depth(&env.dead_queue()).await, 0);
    assert!(browser.url().await.ends_with("/dead"));
}

#[tokio::test]
async fn actions_without_a_session_or_with_a_wrong_token_are_refused_and_change_nothing() {
    // Arrange
    let mut env = TestEnv::new().await;
    inventing(&mut env);
    rewrite(
        &env,
        &headline("c1", "Bitcoin Mining Revenue Gauge Falls to Record Low"),
    )
    .await;
    let article = env.out().join("articles/c1.md");
    let before = fs::read(&article).unwrap();
    let desk = Desk::start(&env).await;
    let mut ana = Visitor::new(&desk);
    let mut other = Visitor::new(&desk);
    let mut stranger = Visitor::new(&desk);

    // Act
    let signed_in = ana.sign_in(EDITOR, PASSWORD).await;
    other.sign_in(EDITOR, PASSWORD).await;
    let theirs = other.csrf.clone();
    let no_token = ana.post("/articles/c1/approve", &[("version", "1")]).await;
    let wrong_token = ana
        .post(
            "/articles/c1/approve",
            &[("version", "1"), ("csrf", &theirs)],
        )
        .await;
    let no_session = stranger
        .post(
            "/articles/c1/approve",
            &[("version", "1"), ("csrf", &theirs)],
        )
        .await;
    let page_signed_out = stranger.get("/drafts").await;
    let wrong_password = stranger.sign_in(EDITOR, "not-the-password").await;
    let stranger_after = stranger.get("/drafts").await;
    let logout_forged = ana.post("/logout", &[("csrf", &theirs)]).await;
    let still_in = ana.get("/drafts").await;

    // Assert
    assert_eq!(signed_in.status, 303);
    assert_eq!(no_token.status, 403);
    assert_eq!(wrong_token.status, 403);
    assert_eq!(no_session.status, 401);
    assert_eq!(page_signed_out.status, 303);
    assert_eq!(page_signed_out.location.as_deref(), Some("/login"));
    assert_eq!(wrong_password.status, 401);
    assert!(wrong_password.body.contains("Wrong name or password"));
    assert_eq!(
        stranger_after.status, 303,
        "a wrong password opens no session"
    );
    assert_eq!(logout_forged.status, 403);
    assert_eq!(still_in.status, 200);
    assert_eq!(fs::read(&article).unwrap(), before, "nothing changed");
    assert!(!env.out().join("desk/actions/c1.ndjson").exists());
    let logs = desk.logs();
    assert!(logs.contains("sign-in refused"), "{logs}");
    assert!(
        !logs.contains(PASSWORD) && !logs.contains("not-the-password"),
        "{logs}"
    );
}

#[tokio::test]
async fn pages_carry_a_content_security_policy_and_ids_cannot_climb_out_of_the_archive() {
    // Arrange
    let mut env = TestEnv::new().await;
    inventing(&mut env);
    rewrite(
        &env,
        &headline("p1", "Bitcoin Mining Revenue Gauge Falls to Record Low"),
    )
    .await;
    let desk = Desk::start(&env).await;
    let mut ana = Visitor::new(&desk);
    ana.sign_in(EDITOR, PASSWORD).await;

    // Act
    let page = ana.get("/articles/p1").await;
    let climbs = [
        "/articles/..%2fsources%2fp1",
        "/articles/..%2F..%2Fetc%2Fpasswd",
        "/articles/.hidden",
        "/articles/p1%2f..%2f..%2fdesk-users/diff?a=1&b=1",
    ];
    let mut statuses = Vec::new();
    for path in climbs {
        statuses.push(ana.get(path).await.status);
    }
    let cookie = ana.get("/login").await;

    // Assert
    assert_eq!(page.status, 200);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(statuses, vec![404; climbs.len()]);
    let _ = cookie;
    let mut signed_out = Visitor::new(&desk);
    let login = signed_out.get("/login").await;
    let set = login.headers["set-cookie"].to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
}

#[tokio::test]
async fn the_desk_refuses_to_start_without_accounts() {
    // Arrange
    let env = TestEnv::new().await;
    let users = env.out().join("no-users");
    fs::write(&users, "").unwrap();

    // Act
    let out = env
        .command(&["desk"])
        .env("REWRITER_DESK_USERS", &users)
        .env("REWRITER_DESK_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();

    // Assert
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("no editor accounts") && stderr.contains("add-user"),
        "{stderr}"
    );
}

#[tokio::test]
async fn approve_and_reject_on_the_command_line_publish_and_withdraw_with_who_and_when() {
    // Arrange
    let mut env = TestEnv::new().await;
    inventing(&mut env);
    rewrite(
        &env,
        &headline("a1", "Bitcoin Mining Revenue Gauge Falls to Record Low"),
    )
    .await;
    let version = fs::read_to_string(env.out().join("versions/a1/v1.md")).unwrap();

    // Act
    let approved = env.run(&["approve", "a1", "--by", "bob"], "");
    let published = fs::read_to_string(env.out().join("articles/a1.md")).unwrap();
    let audited = env.run(&["audit"], "");
    let rejected = env.run(
        &[
            "reject",
            "a1",
            "--reason",
            "figures unverified",
            "--by",
            "eve",
        ],
        "",
    );
    let withdrawn = fs::read_to_string(env.out().join("articles/a1.md")).unwrap();
    let no_reason = env.run(&["reject", "a1", "--reason", " ", "--by", "eve"], "");
    let unknown = env.run(&["approve", "zz", "--by", "bob"], "");

    // Assert
    assert!(approved.status.success(), "{approved:?}");
    assert!(published.contains("draft: false") && published.contains("  approved:\n    by: bob\n"));
    assert_eq!(
        check_article(&published, None, Some(1)),
        Vec::<String>::new()
    );
    let audit = String::from_utf8_lossy(&audited.stdout);
    assert!(audited.status.success(), "{audit}");
    assert!(
        audit.contains("a1.md: v1 ok\n  approved by bob at "),
        "{audit}"
    );
    assert!(rejected.status.success(), "{rejected:?}");
    assert_eq!(withdrawn, version, "the approval is withdrawn");
    assert_eq!(no_reason.status.code(), Some(1));
    assert_eq!(unknown.status.code(), Some(1));
    let actions = fs::read_to_string(env.out().join("desk/actions/a1.ndjson")).unwrap();
    let lines: Vec<serde_json::Value> = actions
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["by"], "bob");
    assert_eq!(lines[1]["reason"], "figures unverified");
    assert!(lines[1]["at"].as_str().unwrap().ends_with('Z'));
}

/// Copies of a written version as other articles on other days, drafts and not, so that the
/// overview has something to chart.
fn fill_archive(env: &TestEnv, from: &str) {
    let text = fs::read_to_string(env.out().join(format!("versions/{from}/v1.md"))).unwrap();
    let stamp = rewriter::article::parse_frontmatter(&text)
        .unwrap()
        .updated_at;
    for day in 1..=9u32 {
        for n in 0..(day % 4 + 2) {
            let id = format!("s{day}x{n}");
            let when = format!("2026-02-{:02}T09:00:00.000Z", day + 1);
            let copy = text
                .replace(&stamp, &when)
                .replace(&format!("externalId: {from}"), &format!("externalId: {id}"))
                .replace(
                    "draft: true",
                    if n % 3 == 0 {
                        "draft: true"
                    } else {
                        "draft: false"
                    },
                );
            fs::create_dir_all(env.out().join(format!("versions/{id}"))).unwrap();
            fs::write(env.out().join(format!("versions/{id}/v1.md")), &copy).unwrap();
            fs::write(env.out().join(format!("articles/{id}.md")), &copy).unwrap();
        }
    }
}

#[tokio::test]
async fn the_overview_a_draft_and_a_diff_are_photographed_for_the_readme() {
    // Arrange
    let mut env = TestEnv::new().await;
    inventing(&mut env);
    rewrite(
        &env,
        &headline(
            "57763812",
            "Bitcoin Mining Revenue Gauge Falls to Record Low During Selloff",
        ),
    )
    .await;
    let v1 = fs::read_to_string(env.out().join("versions/57763812/v1.md")).unwrap();
    let v2 = v1.replace("version: 1", "version: 2").replace(
        "wiping out $5 billion since March 3, according to Jane Doe, an analyst. Miners unplugged machines.",
        "as operators unplugged machines amid falling prices and rising energy costs.",
    );
    fs::write(env.out().join("versions/57763812/v2.md"), &v2).unwrap();
    fill_archive(&env, "57763812");
    let desk = Desk::start(&env).await;
    let browser = Browser::start().await;
    browser.sign_in(&desk.base, EDITOR, PASSWORD).await;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("desk-screenshots");
    fs::create_dir_all(&dir).unwrap();

    // Act
    let mut shots = Vec::new();
    for _ in 0..50 {
        browser.goto(&format!("{}/", desk.base)).await;
        if browser.text("main").await.contains("counted at") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (name, page) in [
        ("overview", "/".to_owned()),
        ("draft", "/articles/57763812".to_owned()),
        ("diff", "/articles/57763812/diff?a=1&b=2".to_owned()),
        ("drafts", "/drafts".to_owned()),
    ] {
        browser.goto(&format!("{}{page}", desk.base)).await;
        let png = browser.screenshot().await;
        fs::write(dir.join(format!("desk-{name}.png")), &png).unwrap();
        shots.push((name, png));
    }

    // Assert
    for (name, png) in &shots {
        assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
        assert!(
            png.len() > 10_000,
            "{name} shows a page ({} bytes)",
            png.len()
        );
    }
}

#[tokio::test]
async fn drafts_are_listed_newest_first_a_page_at_a_time_and_filtered() {
    // Arrange: 55 drafts and 5 published, in English and German.
    let mut env = TestEnv::new().await;
    inventing(&mut env);
    rewrite(
        &env,
        &headline("f0", "Bitcoin Mining Revenue Gauge Falls to Record Low"),
    )
    .await;
    fill_many(&env, "f0", 60);
    let desk = Desk::start(&env).await;
    let mut ana = Visitor::new(&desk);
    ana.sign_in(EDITOR, PASSWORD).await;

    // Act
    let first = ana.get("/drafts").await;
    let second = ana.get("/drafts?page=1").await;
    let german = ana.get("/drafts?lang=de").await;
    let by_reason = ana.get("/drafts?reason=unsupported+claims&version=1").await;
    let other_reason = ana.get("/drafts?reason=wrong+language").await;

    // Assert: f0 (written today) and m00…m59 but the five published.
    let links = |a: &crate::support::desk::Answer| a.body.matches("class=\"draft-link\"").count();
    assert!(
        first.body.contains("56 draft(s), page 1 of 2"),
        "{}",
        first.body
    );
    assert_eq!((links(&first), links(&second)), (50, 6));
    let newest = first.body.find("/articles/f0").unwrap();
    let older = first.body.find("/articles/m10").unwrap();
    assert!(newest < older, "newest first");
    assert!(first.body.contains("rel=\"next\" href=\"/drafts?page=1\""));
    assert_eq!(links(&german), 30, "{}", german.body);
    assert_eq!(links(&by_reason), 50);
    assert_eq!(links(&other_reason), 0);
}

/// `n` copies of a written version as `m00`…: one a day back in time, every twelfth
/// published, every other one in German.
fn fill_many(env: &TestEnv, from: &str, n: usize) {
    let text = fs::read_to_string(env.out().join(format!("versions/{from}/v1.md"))).unwrap();
    let stamp = rewriter::article::parse_frontmatter(&text)
        .unwrap()
        .updated_at;
    for i in 0..n {
        let id = format!("m{i:02}");
        let when = format!("2026-01-01T{:02}:{:02}:00.000Z", 23 - i / 60, 59 - i % 60);
        let mut copy = text
            .replace(&stamp, &when)
            .replace(&format!("externalId: {from}"), &format!("externalId: {id}"));
        if i % 12 == 0 {
            copy = copy.replace("draft: true", "draft: false");
        }
        if i % 2 == 1 {
            copy = copy.replace("lang: en", "lang: de");
        }
        fs::write(env.out().join(format!("articles/{id}.md")), &copy).unwrap();
    }
}

#[tokio::test]
async fn reject_and_requeue_over_http_record_the_decision_and_enqueue_a_forced_job() {
    // Arrange
    let mut env = TestEnv::new().await;
    inventing(&mut env);
    rewrite(
        &env,
        &headline("q1", "Bitcoin Mining Revenue Gauge Falls to Record Low"),
    )
    .await;
    let before = fs::read(env.out().join("articles/q1.md")).unwrap();
    let desk = Desk::start(&env).await;
    let mut ana = Visitor::new(&desk);
    ana.sign_in(EDITOR, PASSWORD).await;
    let csrf = ana.csrf.clone();

    // Act
    let rejected = ana
        .post(
            "/articles/q1/reject",
            &[
                ("csrf", &csrf),
                ("reason", "the <b>figures</b> are made up"),
            ],
        )
        .await;
    let page = ana.get("/articles/q1").await;
    let listed = ana.get("/drafts?status=rejected").await;
    let requeued = ana
        .post("/articles/q1/requeue", &[("csrf", &csrf), ("version", "2")])
        .await;
    let bad_version = ana
        .post(
            "/articles/q1/requeue",
            &[("csrf", &csrf), ("version", "zero")],
        )
        .await;

    // Assert
    assert_eq!(rejected.status, 303);
    assert_eq!(rejected.location.as_deref(), Some("/articles/q1"));
    assert_eq!(fs::read(env.out().join("articles/q1.md")).unwrap(), before);
    assert!(
        page.body
            .contains("(the &lt;b&gt;figures&lt;&#x2f;b&gt; are made up)"),
        "the reason is shown escaped: {}",
        page.body
    );
    assert!(listed.body.contains("/articles/q1"));
    assert_eq!(requeued.status, 303);
    assert_eq!(bad_version.status, 400);
    env.wait_for_depth(&env.queue, 1, Duration::from_secs(10))
        .await;
    let conn = crate::support::connect().await;
    let channel = conn.create_channel().await.unwrap();
    let message = channel
        .basic_get(
            env.queue.as_str().into(),
            lapin::options::BasicGetOptions { no_ack: true },
        )
        .await
        .unwrap()
        .unwrap();
    let job: serde_json::Value = serde_json::from_slice(&message.delivery.data).unwrap();
    assert_eq!(
        (job["promptVersion"].as_u64(), job["force"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(job["headline"]["externalId"], "q1");
    let actions = fs::read_to_string(env.out().join("desk/actions/q1.ndjson")).unwrap();
    assert!(
        actions.contains("\"action\":\"reject\"") && actions.contains("\"action\":\"requeue\"")
    );
}

#[tokio::test]
async fn articles_written_or_approved_by_others_reach_the_lists_within_seconds() {
    // Arrange: the desk runs; a worker then writes a draft and a script approves another.
    let mut env = TestEnv::new().await;
    inventing(&mut env);
    rewrite(
        &env,
        &headline("w1", "Bitcoin Mining Revenue Gauge Falls to Record Low"),
    )
    .await;
    let desk = Desk::start(&env).await;
    let mut ana = Visitor::new(&desk);
    ana.sign_in(EDITOR, PASSWORD).await;
    let before = ana.get("/drafts").await;

    // Act
    rewrite(
        &env,
        &headline("w2", "Ether Staking Yields Slip as Validators Pile In"),
    )
    .await;
    let approved = env.run(&["approve", "w1", "--by", "bob"], "");
    let mut after = ana.get("/drafts").await;
    for _ in 0..40 {
        if after.body.contains("/articles/w2") && !after.body.contains("/articles/w1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        after = ana.get("/drafts").await;
    }

    // Assert
    assert!(approved.status.success());
    assert!(before.body.contains("/articles/w1") && !before.body.contains("/articles/w2"));
    assert!(
        after.body.contains("/articles/w2"),
        "the new draft is listed"
    );
    assert!(
        !after.body.contains("/articles/w1"),
        "the approved one is not a draft any more"
    );
}
