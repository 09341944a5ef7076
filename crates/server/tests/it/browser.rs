//! The inbox in a real headless Chromium (Debian's chromium and chromedriver, over W3C
//! WebDriver): two agents log in, a customer writes through the emulator, both see it live,
//! one claims and replies, the other's reply is refused by the server, the customer reads and
//! the ticks turn, the emulator's clock closes the window and the template picker appears.
//! Screenshots of the main screens go to `target/screenshots/` (and to `docs/screenshots/`
//! with `SWITCHBOARD_UPDATE_SCREENSHOTS=1`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use switchboard_domain::Role;
use switchboard_store::NewUser;
use switchboard_store::testing::sqlite;

use crate::helpers::TestApp;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

struct Driver {
    _child: tokio::process::Child,
    url: String,
}

async fn chromedriver() -> Driver {
    assert!(
        std::path::Path::new(CHROMEDRIVER).exists(),
        "{CHROMEDRIVER} is missing: install Debian's chromium and chromium-driver (./scripts/test does)"
    );
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = tokio::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Driver { _child: child, url };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver did not listen on {port}");
}

async fn browser(driver: &Driver, profile: &tempfile::TempDir, width: u32) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-quic", "--hide-scrollbars",
                format!("--window-size={width},860"),
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

fn shots_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(shots_dir().join(format!("{name}.png")), &png).unwrap();
    if std::env::var_os("SWITCHBOARD_UPDATE_SCREENSHOTS").is_some() {
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join(format!("{name}.png")), &png).unwrap();
    }
}

/// Waits (up to `secs`) for an element; on failure saves a screenshot named after `what`.
async fn wait_for(c: &Client, css: &str, secs: u64, what: &str) -> fantoccini::elements::Element {
    match c
        .wait()
        .at_most(Duration::from_secs(secs))
        .every(Duration::from_millis(25))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(e) => e,
        Err(e) => {
            screenshot(c, &format!("failed-{what}")).await;
            panic!("{what}: {css} did not appear in {secs}s: {e}");
        }
    }
}

/// Waits until the page's text at `css` contains `needle`.
async fn wait_text(c: &Client, css: &str, needle: &str, secs: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && e.text().await.unwrap_or_default().contains(needle)
        {
            return;
        }
        if Instant::now() > deadline {
            screenshot(c, &format!("failed-{what}")).await;
            let got = match c.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => "(no such element)".into(),
            };
            panic!("{what}: {css} never contained {needle:?}; it says {got:?}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Clicks `css`, finding it again if the live updates replaced it meanwhile.
/// The text of the element `css` matches (it must be on the page).
async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn click(c: &Client, css: &str) {
    for _ in 0..20 {
        match c.find(Locator::Css(css)).await {
            Ok(e) => match e.click().await {
                Ok(()) => return,
                Err(fantoccini::error::CmdError::Standard(w))
                    if w.error == fantoccini::error::ErrorStatus::StaleElementReference => {}
                Err(e) => panic!("click {css}: {e}"),
            },
            Err(e) => panic!("find {css}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{css} kept being replaced");
}

async fn login(c: &Client, base: &str, email: &str, password: &str) {
    c.goto(&format!("{base}/inbox?view=all")).await.unwrap();
    wait_for(c, "#login-form", 10, "login page").await;
    c.find(Locator::Css("#email"))
        .await
        .unwrap()
        .send_keys(email)
        .await
        .unwrap();
    c.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    click(c, "#login-submit").await;
    wait_for(c, "#inbox", 10, "inbox after login").await;
    // Live updates are connected before anything is expected to arrive.
    wait_for(c, "#live.on", 10, "live updates connected").await;
}

async fn add_user(app: &TestApp, email: &str, name: &str, password: &str) {
    let hash = switchboard_server::agents::hash_password(password).unwrap();
    app.store
        .create_user(
            &NewUser {
                email: email.into(),
                name: name.into(),
                role: "agent".into(),
                team: Some("Support".into()),
                password_hash: hash,
            },
            switchboard_domain::UnixMs::now().0,
        )
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn two_agents_one_conversation_in_real_chromium() {
    let app = TestApp::spawn_full(
        sqlite(),
        |ec| {
            ec.template_review_secs = 1;
            ec.statuses.read_ms = 300;
        },
        &[("SWITCHBOARD_DEV_CLOCK_URL", "{emulator}/_emulator/clock")],
        true,
    )
    .await;
    add_user(
        &app,
        "alice@example.com",
        "Alice Moreau",
        "alice-password-1",
    )
    .await;
    add_user(&app, "bob@example.com", "Bob Okafor", "bob-password-22").await;
    let admin = app.key(Role::Admin).await;
    // An approved template for when the window has closed.
    let r = app
        .post_json(
            "/api/v1/templates",
            &admin,
            &json!({"name": "order_update", "language": "en_US", "category": "UTILITY", "components": [
                {"type": "BODY", "text": "Hi {{1}}, there is an update on your order {{2}}: it is on its way.",
                 "example": {"body_text": [["Maya", "4821"]]}}]}),
            &[],
        )
        .await;
    assert!(r.status().is_success(), "template: {}", r.status());
    app.em.advance(Duration::from_secs(2));

    let driver = chromedriver().await;
    let (pa, pb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = browser(&driver, &pa, 1366).await;
    let b = browser(&driver, &pb, 1366).await;

    a.goto(&format!("{}/login", app.base)).await.unwrap();
    wait_for(&a, "#login-form", 10, "login page").await;
    screenshot(&a, "login").await;
    login(&a, &app.base, "alice@example.com", "alice-password-1").await;
    login(&b, &app.base, "bob@example.com", "bob-password-22").await;

    // A customer writes: both inboxes show it live, without a reload.
    let wrote = Instant::now();
    app.customer_writes("16505550142", TestApp::text("Hi! Where is my order #4821?"));
    wait_text(&a, "#conv-list", "Sheena Nelson", 10, "alice sees it").await;
    let seen_a = wrote.elapsed();
    wait_text(&b, "#conv-list", "Sheena Nelson", 10, "bob sees it").await;
    let seen_b = wrote.elapsed();
    println!("customer message to both inboxes: {seen_a:?} (A), {seen_b:?} (B)");

    // Alice opens and claims it, then replies.
    click(&a, "#conv-list a[data-open]").await;
    wait_for(&a, "#pane #claim", 10, "alice's pane").await;
    wait_text(
        &a,
        "#thread",
        "Where is my order",
        5,
        "thread shows the message",
    )
    .await;
    click(&a, "#claim").await;
    wait_text(&a, "#hand", "You hold this", 5, "alice holds it").await;
    let ta = wait_for(&a, "#reply-text", 5, "reply box").await;
    ta.send_keys("Hello Sheena, it left our warehouse this morning.")
        .await
        .unwrap();
    click(&a, "#send").await;
    wait_text(&a, "#thread", "it left our warehouse", 10, "alice's reply").await;

    // Bob opens it: Alice holds it. His reply is refused by the server, with her name.
    click(&b, "#conv-list a[data-open]").await;
    wait_text(
        &b,
        "#hand",
        "Alice Moreau holds this",
        10,
        "bob sees the holder",
    )
    .await;
    // Alice sees Bob viewing.
    wait_text(&a, "#presence", "Bob Okafor is viewing", 15, "presence").await;
    let tb = wait_for(&b, "#reply-text", 5, "bob's reply box").await;
    tb.send_keys("I can help too!").await.unwrap();
    click(&b, "#send").await;
    wait_text(
        &b,
        "#composer-error",
        "Alice Moreau holds this conversation, so your reply was not sent",
        10,
        "bob refused",
    )
    .await;
    screenshot(&b, "refused-reply").await;
    assert_eq!(
        app.em
            .outbox()
            .iter()
            .filter(|m| String::from_utf8_lossy(&m.request).contains("I can help too"))
            .count(),
        0,
        "Bob's reply never reached Meta"
    );

    // The customer reads Alice's reply: her ticks turn read.
    wait_for(&a, "#thread li.msg.out .ticks.read", 15, "read ticks").await;
    screenshot(&a, "conversation").await;

    // A day passes on the emulator's clock: the window closes and the composer becomes the
    // template picker, with a live preview and the policy's decision before sending.
    app.em.advance(Duration::from_secs(25 * 3600));
    wait_for(&a, "#template-pick", 15, "template picker").await;
    wait_text(&a, "#window", "Window closed", 5, "window closed").await;
    let pick = a.find(Locator::Css("#template-pick")).await.unwrap();
    pick.select_by_index(1).await.unwrap();
    let first = wait_for(&a, "#template-params input", 5, "template fields").await;
    first.send_keys("Sheena").await.unwrap();
    let fields = a
        .find_all(Locator::Css("#template-params input"))
        .await
        .unwrap();
    fields[1].send_keys("4821").await.unwrap();
    wait_text(
        &a,
        "#template-preview",
        "Hi Sheena, there is an update on your order 4821",
        5,
        "preview",
    )
    .await;
    wait_text(&a, "#template-decision", "Can be sent now", 10, "decision").await;
    screenshot(&a, "template-picker").await;
    click(&a, "#send-template").await;
    wait_text(&a, "#thread", "order_update", 10, "template in the thread").await;
    // ... and it went to Meta (not only into the outbox), on the system clock's schedule.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !app.em.outbox().iter().any(|m| {
        m.template
            .as_ref()
            .is_some_and(|t| t.name == "order_update")
    }) {
        assert!(Instant::now() < deadline, "the template never reached Meta");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Bob, who does not hold it, is told before sending that it would be refused.
    b.refresh().await.unwrap();
    let pick = wait_for(&b, "#template-pick", 10, "bob's picker").await;
    pick.select_by_index(1).await.unwrap();
    for f in b
        .find_all(Locator::Css("#template-params input"))
        .await
        .unwrap()
    {
        f.send_keys("x").await.unwrap();
    }
    wait_text(
        &b,
        "#template-decision",
        "Alice Moreau holds this conversation",
        10,
        "bob told before sending",
    )
    .await;
    assert!(
        b.find(Locator::Css("#send-template"))
            .await
            .unwrap()
            .attr("disabled")
            .await
            .unwrap()
            .is_some(),
        "and cannot send"
    );

    // Admin pages are refused to an agent.
    a.goto(&format!("{}/costs", app.base)).await.unwrap();
    wait_text(&a, "body", "forbidden", 5, "admin only").await;
    a.close().await.unwrap();
    b.close().await.unwrap();
}

/// An admin's screens, and the inbox on a phone.
#[tokio::test]
async fn admin_screens_and_phone_layout_in_real_chromium() {
    let app = TestApp::spawn_full(
        sqlite(),
        |ec| ec.template_review_secs = 1,
        &[("SWITCHBOARD_DEV_CLOCK_URL", "{emulator}/_emulator/clock")],
        true,
    )
    .await;
    let hash = switchboard_server::agents::hash_password("lena-password-1").unwrap();
    app.store
        .create_user(
            &NewUser {
                email: "lena@example.com".into(),
                name: "Lena Lead".into(),
                role: "admin".into(),
                team: Some("Support".into()),
                password_hash: hash,
            },
            switchboard_domain::UnixMs::now().0,
        )
        .await
        .unwrap();
    for (wa, text) in [
        ("16505550101", "Do you ship to Lisbon?"),
        ("16505550102", "My parcel arrived damaged"),
        ("16505550103", "Can I change my delivery address?"),
    ] {
        app.customer_writes(wa, TestApp::text(text));
    }
    // Something to price: a template to a customer who never wrote (charged) and one inside
    // a window (utility, free).
    let admin = app.key(Role::Admin).await;
    let r = app
        .post_json(
            "/api/v1/templates",
            &admin,
            &json!({"name": "order_update", "language": "en_US", "category": "UTILITY", "components": [
                {"type": "BODY", "text": "Hi {{1}}, there is an update on your order {{2}}: it is on its way.",
                 "example": {"body_text": [["Maya", "4821"]]}}]}),
            &[],
        )
        .await;
    assert!(r.status().is_success());
    app.em.advance(Duration::from_secs(2));
    approved(&app, &admin, "order_update").await;
    for to in ["+5511987654321", "+16505550101"] {
        let r = app
            .post_json(
                "/api/v1/messages",
                &admin,
                &json!({"to": to, "type": "template", "template": {"name": "order_update", "language": {"code": "en_US"},
                    "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "77"}]}]}}),
                &[],
            )
            .await;
        assert!(r.status().is_success(), "send to {to}: {}", r.status());
    }

    let driver = chromedriver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, &profile, 1366).await;
    login(&c, &app.base, "lena@example.com", "lena-password-1").await;
    wait_text(
        &c,
        "#conv-list",
        "Sheena Nelson",
        10,
        "conversations listed",
    )
    .await;
    screenshot(&c, "inbox").await;

    // API keys in the UI: made, shown once, listed by prefix only.
    c.goto(&format!("{}/settings", app.base)).await.unwrap();
    let name = wait_for(&c, "#key-name", 5, "settings").await;
    name.send_keys("shop-backend").await.unwrap();
    click(&c, "#key-form button").await;
    wait_for(&c, "#key-secret:not([hidden])", 5, "key shown").await;
    let key = text_of(&c, "#key-plaintext").await;
    assert!(key.starts_with("sbk_"), "{key}");
    let who = app.get_json("/api/v1/whoami", &key).await;
    assert_eq!(who["name"], "shop-backend", "the key shown works");
    // A canned response, then used from the reply box.
    c.find(Locator::Css("#canned-shortcut"))
        .await
        .unwrap()
        .send_keys("hours")
        .await
        .unwrap();
    c.find(Locator::Css("#canned-body"))
        .await
        .unwrap()
        .send_keys("Hi {{contact.first_name}}, we are open 9 to 18, Monday to Friday.")
        .await
        .unwrap();
    click(&c, "#canned-form button").await;
    wait_text(&c, "main", "/hours", 5, "canned listed").await;
    screenshot(&c, "settings").await;

    c.goto(&format!("{}/templates", app.base)).await.unwrap();
    wait_for(&c, "#template-list", 5, "templates").await;
    click(&c, "#template-lint").await;
    wait_text(&c, "#template-findings", "No findings", 5, "lint").await;
    // Compared with Meta (templates diff), then pushed: Meta (the emulator) has it, in review.
    click(&c, "#template-plan").await;
    wait_text(
        &c,
        "#template-findings",
        "+ create order_shipped (en_US)",
        5,
        "plan",
    )
    .await;
    click(&c, "#template-new button[type=submit]").await;
    wait_text(&c, "#template-list", "order_shipped", 10, "template pushed").await;
    // The same file again, on the reloaded page: nothing to change. (Clicked until the
    // reloaded page's script has bound the button.)
    let mut shown = false;
    for _ in 0..20 {
        click(&c, "#template-plan").await;
        tokio::time::sleep(Duration::from_millis(250)).await;
        let t = text_of(&c, "#template-findings").await;
        if t.contains("order_shipped (en_US)") {
            shown = true;
            break;
        }
    }
    assert!(shown, "the plan was never shown on the reloaded page");
    let plan = text_of(&c, "#template-findings").await;
    assert!(plan.starts_with("= same"), "{plan}");
    screenshot(&c, "templates").await;

    c.goto(&format!("{}/costs", app.base)).await.unwrap();
    wait_for(&c, ".totals", 5, "costs").await;
    click(&c, "#forecast-form button").await;
    wait_text(&c, "#forecast-result", "a month", 5, "forecast").await;
    wait_text(&c, "main", "utility", 5, "costs by category").await;
    screenshot(&c, "costs").await;

    // The canned response, with its variable filled in, in the reply box.
    c.goto(&format!("{}/inbox?view=all", app.base))
        .await
        .unwrap();
    wait_for(&c, "#conv-list a[data-open]", 5, "list").await;
    click(&c, "#conv-list a[data-open]").await;
    let canned = wait_for(&c, "#canned", 5, "canned select").await;
    canned.select_by_index(1).await.unwrap();
    let text = c
        .find(Locator::Css("#reply-text"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(text, "Hi Sheena, we are open 9 to 18, Monday to Friday.");

    // Opt-out recorded from the contact panel (after a confirmation), in the ledger.
    click(&c, "[data-action=consent][data-consent=opt_out]").await;
    c.accept_alert().await.unwrap();
    wait_text(
        &c,
        "#consent-state",
        "Marketing: opt-out",
        10,
        "opt-out shown",
    )
    .await;
    let contact: i64 = c
        .find(Locator::Css("#pane"))
        .await
        .unwrap()
        .attr("data-contact")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    let history = app.store.consent_history(contact).await.unwrap();
    assert_eq!(history[0].action, "opt_out");
    assert_eq!(history[0].source, "agent");
    assert_eq!(history[0].actor.as_deref(), Some("user:1"));

    // A phone: the list, then the conversation in its place.
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{}/inbox?view=all", app.base))
        .await
        .unwrap();
    wait_for(&c, "#conv-list a[data-open]", 5, "phone list").await;
    click(&c, "#conv-list a[data-open]").await;
    wait_for(&c, "#pane #thread", 5, "phone pane").await;
    screenshot(&c, "phone").await;
    c.close().await.unwrap();
}

/// Waits until Meta's review (the emulator's) has approved `name` and the registry knows it.
async fn approved(app: &TestApp, key: &str, name: &str) {
    for _ in 0..100 {
        let r = app
            .post_json("/api/v1/templates/sync", key, &json!({}), &[])
            .await;
        assert!(r.status().is_success(), "sync: {}", r.status());
        let list = app.get_json("/api/v1/templates", key).await;
        if list["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == name && t["status"] == "APPROVED")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} was not approved");
}

/// What a customer controls, in every place it can put text: each goes into a corpus webhook of
/// that kind, signed and delivered, and the inbox renders it in Chromium.
const MARKUP: [&str; 3] = [
    "<script>window.__xss=1</script>",
    "\"><img src=x onerror=\"window.__xss=1\">",
    "'><svg onload=window.__xss=1>",
];
const SCRIPT_URL: &str = "javascript:window.__xss=1";

/// Keys that carry Meta's structure, not the customer's words.
const STRUCTURE: &[&str] = &[
    "type",
    "id",
    "timestamp",
    "from",
    "from_user_id",
    "wa_id",
    "user_id",
    "mime_type",
    "sha256",
    "messaging_product",
    "object",
    "field",
    "display_phone_number",
    "phone_number_id",
    "latitude",
    "longitude",
    "media_type",
    "source_type",
    "status",
    "recipient_id",
];

fn inject(v: &mut serde_json::Value, n: &mut usize) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if STRUCTURE.contains(&k.as_str()) {
                    continue;
                }
                match v {
                    serde_json::Value::String(s) => {
                        *s = if k.ends_with("url") || k == "link" {
                            SCRIPT_URL.to_owned()
                        } else {
                            *n += 1;
                            format!("{} {}", MARKUP[*n % MARKUP.len()], k)
                        };
                    }
                    other => inject(other, n),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|v| inject(v, n)),
        _ => {}
    }
}

#[tokio::test]
async fn what_customers_write_never_runs_in_real_chromium() {
    let app = TestApp::spawn_full(sqlite(), |_| {}, &[], true).await;
    add_user(
        &app,
        "alice@example.com",
        "Alice Moreau",
        "alice-password-1",
    )
    .await;
    let admin = app.key(Role::Admin).await;
    let corpus =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../cloudapi/tests/corpus/webhooks");
    let now = switchboard_domain::UnixMs::now().0 / 1000;
    let mut n = 0;
    for (i, file) in [
        "message_text.json",
        "message_image_caption.json",
        "message_document_filename.json",
        "message_video.json",
        "message_interactive_button_reply.json",
        "message_interactive_list_reply.json",
        "message_interactive_nfm_reply_flow.json",
        "message_button_quick_reply.json",
        "message_location_place.json",
        "message_contacts.json",
        "message_text_referral_ctwa.json",
        "message_reaction.json",
        "message_order.json",
        "message_future_type_poll.json",
    ]
    .iter()
    .enumerate()
    {
        let mut body: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(corpus.join(file)).unwrap()).unwrap();
        for change in body["entry"][0]["changes"].as_array_mut().unwrap() {
            let value = &mut change["value"];
            for c in value["contacts"].as_array_mut().into_iter().flatten() {
                c["wa_id"] = json!("16505550999");
                c.as_object_mut().unwrap().remove("user_id");
            }
            for m in value["messages"].as_array_mut().into_iter().flatten() {
                m["from"] = json!("16505550999");
                m["id"] = json!(format!("wamid.markup{i}"));
                m["timestamp"] = json!((now - 60 + i as i64).to_string());
                let o = m.as_object_mut().unwrap();
                o.remove("from_user_id");
                o.remove("context");
            }
            inject(value, &mut n);
        }
        let r = app.post_signed(body.to_string().as_bytes()).await;
        assert_eq!(r.status(), 200, "{file}");
    }
    assert!(n > 25, "markup went into {n} fields");
    let mut projected = 0;
    for _ in 0..200 {
        projected = app.store.inbound_counts().await.unwrap().0;
        if projected >= 13 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(projected >= 13, "projected {projected}");
    let list = app.get_json("/api/v1/conversations", &admin).await;
    let id = list["data"][0]["id"].as_i64().unwrap();

    let driver = chromedriver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, &profile, 1366).await;
    login(&c, &app.base, "alice@example.com", "alice-password-1").await;
    c.goto(&format!("{}/inbox?view=all&c={id}", app.base))
        .await
        .unwrap();
    wait_for(&c, "#pane #thread", 10, "the thread").await;
    wait_text(&c, "#thread", "<script>", 10, "markup shown as text").await;
    wait_text(
        &c,
        "#conv-list",
        "window.__xss",
        10,
        "the name shown as text",
    )
    .await;
    // Let any injected handler (an image's onerror, an svg's onload) have its chance.
    tokio::time::sleep(Duration::from_millis(500)).await;
    screenshot(&c, "customer-markup").await;
    let found = c
        .execute(
            r#"const links = [...document.querySelectorAll('a[href]')];
               return {
                 ran: window.__xss !== undefined,
                 scripts: document.querySelectorAll('body script:not([src])').length,
                 injected: document.querySelectorAll('img[src="x"], svg[onload], [onerror], [onload]').length,
                 bad_links: links.filter(a => !/^(https?:|\/|#)/.test(a.getAttribute('href'))).map(a => a.getAttribute('href')),
                 open_links: links.filter(a => a.target === '_blank' && !(a.relList.contains('noopener') && a.relList.contains('noreferrer'))).map(a => a.getAttribute('href')),
               };"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(found["ran"], false, "{found}");
    assert_eq!(found["scripts"], 0, "{found}");
    assert_eq!(found["injected"], 0, "{found}");
    assert_eq!(found["bad_links"], json!([]), "{found}");
    assert_eq!(found["open_links"], json!([]), "{found}");

    // Alice changes her password in the settings; the old one stops working, the page goes on.
    c.goto(&format!("{}/settings", app.base)).await.unwrap();
    wait_for(&c, "#password-form", 10, "the password form").await;
    for (css, text) in [
        ("#password-current", "alice-password-1"),
        ("#password-new", "a much longer passphrase"),
    ] {
        c.find(Locator::Css(css))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }
    click(&c, "#password-submit").await;
    wait_text(&c, "#toasts", "Password changed", 10, "password changed").await;
    let login = |password: &'static str| {
        app.http
            .post(format!("{}/api/v1/auth/login", app.base))
            .json(&json!({"email": "alice@example.com", "password": password}))
            .send()
    };
    assert_eq!(login("alice-password-1").await.unwrap().status(), 422);
    assert_eq!(
        login("a much longer passphrase").await.unwrap().status(),
        200
    );
    c.close().await.unwrap();
}
