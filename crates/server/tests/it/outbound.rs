//! The outbound path end to end: the send API, the policy's explained refusals, idempotency,
//! the dispatcher against the emulator (retries, pausing, pacing), and statuses closing the loop.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_domain::{Role, UnixMs};
use switchboard_store::testing::{TestDatabase, sqlite};

use crate::helpers::{TestApp, error_code};

const CUSTOMER: &str = "16505551234";

fn text_to(to: &str, body: &str) -> Value {
    json!({"to": format!("+{to}"), "type": "text", "text": {"body": body}})
}

fn utility_template() -> Value {
    json!({"name": "order_shipped", "language": "en_US", "category": "UTILITY", "components": [
        {"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped.", "example": {"body_text": [["Ann", "42"]]}}
    ]})
}

fn marketing_template() -> Value {
    json!({"name": "winter_sale", "language": "en_US", "category": "MARKETING", "parameter_format": "NAMED", "components": [
        {"type": "BODY", "text": "Hi {{first_name}}, 20% off everything this week.", "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Ann"}]}}
    ]})
}

fn marketing_send(to: &str) -> Value {
    json!({"to": format!("+{to}"), "type": "template", "template": {
        "name": "winter_sale", "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Ann"}]}]
    }})
}

fn utility_send(to: &str) -> Value {
    json!({"to": format!("+{to}"), "type": "template", "template": {
        "name": "order_shipped", "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ann"}, {"type": "text", "text": "42"}]}]
    }})
}

impl TestApp {
    async fn send(&self, key: &str, body: &Value) -> Value {
        let r = self.post_json("/api/v1/messages", key, body, &[]).await;
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, 202, "{v}");
        v
    }

    async fn message(&self, key: &str, id: &Value) -> Value {
        self.get_json(&format!("/api/v1/messages/{id}"), key).await
    }

    async fn dispatch(&self) -> usize {
        self.dispatcher.run_once(UnixMs::now()).await.unwrap()
    }
}

async fn a_reply_goes_out_and_statuses_advance_it_to_read(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    let key = app.key(Role::Agent).await;
    app.customer_writes(CUSTOMER, TestApp::text("Is my order on its way?"));
    app.settle().await;

    let m = app
        .send(&key, &text_to(CUSTOMER, "Yes, it ships today."))
        .await;
    assert_eq!(m["state"], "queued", "{backend:?}");
    assert_eq!(m["lane"], "agent");
    assert_eq!(m["decision"]["decision"], "allow");
    assert_eq!(app.dispatch().await, 1);

    let sent = app.message(&key, &m["id"]).await;
    assert_eq!(sent["state"], "accepted", "{sent}");
    let wamid = sent["wamid"].as_str().unwrap().to_owned();
    let outbox = app.em.outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].id, wamid);
    assert_eq!(outbox[0].verdict, "accepted");

    // The customer's phone reports sent, delivered and read by webhook.
    app.em.advance(Duration::from_secs(10));
    app.settle().await;
    let read = app.message(&key, &m["id"]).await;
    assert_eq!(read["status"], "read", "{backend:?}: {read}");
    let states: Vec<&str> = read["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["queued", "sending", "accepted", "sent", "delivered", "read"],
        "{backend:?}"
    );

    // The reply is in the thread, after the customer's message.
    let list = app.get_json("/api/v1/conversations", &key).await;
    let conv = list["data"][0]["id"].as_i64().unwrap();
    let thread = app
        .get_json(&format!("/api/v1/conversations/{conv}/messages"), &key)
        .await;
    let directions: Vec<&str> = thread["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["direction"].as_str().unwrap())
        .collect();
    assert_eq!(directions, ["inbound", "outbound"], "{thread}");
}

#[tokio::test]
async fn every_session_message_type_is_accepted_by_the_emulator() {
    let app = TestApp::spawn(sqlite()).await;
    let key = app.key(Role::Agent).await;
    app.customer_writes(CUSTOMER, TestApp::text("hello"));
    app.settle().await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../cloudapi/tests/corpus/send");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| {
            n.starts_with("send_") && !n.starts_with("send_template") && !n.contains("bsuid")
        })
        .collect();
    names.sort();
    let mut ids = Vec::new();
    for name in &names {
        let mut body: Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{name}")).unwrap())
                .unwrap();
        body["to"] = json!(format!("+{CUSTOMER}"));
        let r = app.post_json("/api/v1/messages", &key, &body, &[]).await;
        assert_eq!(r.status(), 202, "{name}: {}", r.text().await.unwrap());
        let m: Value = r.json().await.unwrap();
        ids.push((name.clone(), m["id"].clone(), body["type"].clone()));
    }
    assert!(ids.len() >= 15, "{} types", ids.len());
    while app.dispatch().await > 0 {}
    for (name, id, kind) in &ids {
        let m = app.message(&key, id).await;
        assert_eq!(m["state"], "accepted", "{name}: {m}");
        assert_eq!(&m["type"], kind, "{name}");
    }
    let outbox = app.em.outbox();
    assert_eq!(outbox.len(), ids.len());
    assert!(outbox.iter().all(|r| r.verdict == "accepted"));
}

async fn refusals_are_explained_before_anything_is_sent(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    let key = app.key(Role::Agent).await;
    let admin = app.key(Role::Admin).await;

    // Free-form to someone who never wrote: window_closed, naming what to use instead.
    app.approved_template(utility_template(), &admin).await;
    let r = app
        .post_json("/api/v1/messages", &key, &text_to("16505550001", "hi"), &[])
        .await;
    let (status, code, message) = error_code(r).await;
    assert_eq!(
        (status, code.as_str()),
        (422, "window_closed"),
        "{backend:?}"
    );
    assert!(message.contains("order_shipped"), "{message}");

    // The check endpoint gives the same decision without sending.
    let r = app
        .post_json(
            "/api/v1/messages/check",
            &key,
            &text_to("16505550001", "hi"),
            &[],
        )
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["allowed"], false);
    assert_eq!(v["decision"]["code"], "window_closed");
    let r = app
        .post_json(
            "/api/v1/messages/check",
            &key,
            &utility_send("16505550001"),
            &[],
        )
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["allowed"], true, "{v}");

    // Template problems, each with its own code.
    let mut unknown = utility_send("16505550001");
    unknown["template"]["name"] = json!("no_such_template");
    let mut wrong_count = utility_send("16505550001");
    wrong_count["template"]["components"][0]["parameters"] =
        json!([{"type": "text", "text": "Ann"}]);
    let mut newline = utility_send("16505550001");
    newline["template"]["components"][0]["parameters"][0]["text"] = json!("Ann\nSmith");
    for (body, expected) in [
        (unknown, "template_unknown"),
        (wrong_count, "template_params_invalid"),
        (newline, "template_params_invalid"),
    ] {
        let r = app.post_json("/api/v1/messages", &key, &body, &[]).await;
        let (status, code, message) = error_code(r).await;
        assert_eq!((status, code.as_str()), (422, expected), "{message}");
    }

    // An opted-out customer gets nothing business-initiated.
    let ok = app.send(&key, &utility_send("16505550002")).await;
    app.store
        .record_consent(
            ok["contact_id"].as_i64().unwrap(),
            None,
            "all",
            "opt_out",
            "api",
            None,
            Some("test"),
            UnixMs::now().0,
        )
        .await
        .unwrap();
    let r = app
        .post_json("/api/v1/messages", &key, &utility_send("16505550002"), &[])
        .await;
    let (status, code, _) = error_code(r).await;
    assert_eq!((status, code.as_str()), (422, "opted_out"), "{backend:?}");

    // Marketing needs a recorded opt-in; once recorded, the next send is allowed.
    app.approved_template(marketing_template(), &admin).await;
    let first = app.send(&key, &utility_send("16505550003")).await;
    let contact = first["contact_id"].as_i64().unwrap();
    let r = app
        .post_json(
            "/api/v1/messages",
            &key,
            &marketing_send("16505550003"),
            &[],
        )
        .await;
    let (status, code, message) = error_code(r).await;
    assert_eq!(
        (status, code.as_str()),
        (422, "no_marketing_consent"),
        "{message}"
    );
    let r = app
        .post_json(&format!("/api/v1/contacts/{contact}/consent"), &key, &json!({"purpose": "marketing", "action": "opt_in", "source": "web_form", "evidence": "signup form"}), &[])
        .await;
    assert_eq!(r.status(), 201);
    let m = app.send(&key, &marketing_send("16505550003")).await;
    assert_eq!(m["lane"], "marketing");
    assert_eq!(m["category"], "MARKETING");

    // Bad requests are 422 with a field, not a refusal.
    let r = app
        .post_json(
            "/api/v1/messages",
            &key,
            &json!({"to": "not a number", "type": "text", "text": {"body": "x"}}),
            &[],
        )
        .await;
    let (status, code, _) = error_code(r).await;
    assert_eq!((status, code.as_str()), (422, "invalid_request"));
    let r = app
        .post_json(
            "/api/v1/messages",
            &key,
            &json!({"to": "+16505550001", "type": "text", "text": {"body": "x"}, "from": "999"}),
            &[],
        )
        .await;
    let (status, code, _) = error_code(r).await;
    assert_eq!((status, code.as_str()), (422, "invalid_request"));

    // Only the accepted sends were queued and nothing refused reached Meta; the message
    // queued for 0002 before the opt-out is not sent either.
    while app.dispatch().await > 0 {}
    assert_eq!(app.em.outbox().len(), 2, "{backend:?}");
    assert!(app.em.outbox().iter().all(|r| r.verdict == "accepted"));
    let before = app.message(&key, &ok["id"]).await;
    assert_eq!(before["state"], "refused", "{before}");
    assert!(
        before["error"]["message"]
            .as_str()
            .unwrap()
            .contains("opted out")
    );
}

async fn an_idempotency_key_returns_the_first_result_across_a_restart(db: TestDatabase) {
    let backend = db.backend;
    let mut app = TestApp::spawn(db).await;
    let key = app.key(Role::Agent).await;
    app.customer_writes(CUSTOMER, TestApp::text("hi"));
    app.settle().await;
    let body = text_to(CUSTOMER, "Your code is 1234");
    let first = app
        .post_json(
            "/api/v1/messages",
            &key,
            &body,
            &[("Idempotency-Key", "order-42")],
        )
        .await;
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let again = app
        .post_json(
            "/api/v1/messages",
            &key,
            &body,
            &[("Idempotency-Key", "order-42")],
        )
        .await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);

    let other = app
        .post_json(
            "/api/v1/messages",
            &key,
            &text_to(CUSTOMER, "something else"),
            &[("Idempotency-Key", "order-42")],
        )
        .await;
    let (status, code, _) = error_code(other).await;
    assert_eq!((status, code.as_str()), (409, "idempotency_key_reused"));

    assert_eq!(app.dispatch().await, 1);
    app.restart().await;
    let after = app
        .post_json(
            "/api/v1/messages",
            &key,
            &body,
            &[("Idempotency-Key", "order-42")],
        )
        .await;
    assert_eq!(after.status(), 200, "{backend:?}");
    let after: Value = after.json().await.unwrap();
    assert_eq!(after["id"], first["id"]);
    assert_eq!(after["state"], "accepted");
    assert_eq!(app.dispatch().await, 0);
    assert_eq!(app.em.outbox().len(), 1, "sent once: {backend:?}");

    // A refusal is remembered for its key too.
    let closed = text_to("16505550009", "hi");
    for _ in 0..2 {
        let r = app
            .post_json(
                "/api/v1/messages",
                &key,
                &closed,
                &[("Idempotency-Key", "k2")],
            )
            .await;
        let (status, code, _) = error_code(r).await;
        assert_eq!((status, code.as_str()), (422, "window_closed"));
    }
}

async fn transient_errors_are_retried_with_backoff_permanent_ones_are_not(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    let key = app.key(Role::Agent).await;
    app.customer_writes(CUSTOMER, TestApp::text("hi"));
    app.settle().await;

    app.faults(json!({"fail_next": {"count": 2, "code": 131000}}))
        .await;
    let m = app.send(&key, &text_to(CUSTOMER, "retry me")).await;
    let t0 = UnixMs::now();
    assert_eq!(app.dispatcher.run_once(t0).await.unwrap(), 1);
    let after1 = app.message(&key, &m["id"]).await;
    assert_eq!(after1["state"], "queued", "{after1}");
    assert_eq!(after1["attempts"], 1);
    let next = after1["next_attempt_at_ms"].as_i64().unwrap();
    assert!(
        next >= t0.0 + 500 && next <= t0.0 + 1_000,
        "{next} vs {t0:?}"
    );
    // Not due yet: nothing is claimed.
    assert_eq!(app.dispatcher.run_once(t0).await.unwrap(), 0);
    assert_eq!(
        app.dispatcher
            .run_once(UnixMs(t0.0 + 60_000))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        app.dispatcher
            .run_once(UnixMs(t0.0 + 120_000))
            .await
            .unwrap(),
        1
    );
    let done = app.message(&key, &m["id"]).await;
    assert_eq!(done["state"], "accepted", "{backend:?}: {done}");
    assert_eq!(done["attempts"], 3);
    let retries = done["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["state"] == "retry_scheduled")
        .count();
    assert_eq!(retries, 2);

    // A permanent error fails at once, with Meta's code.
    app.faults(json!({"fail_next": {"count": 1, "code": 131009}}))
        .await;
    let m = app.send(&key, &text_to(CUSTOMER, "bad")).await;
    assert_eq!(app.dispatch().await, 1);
    let failed = app.message(&key, &m["id"]).await;
    assert_eq!(failed["state"], "failed");
    assert_eq!(failed["error"]["code"], 131009);
    assert_eq!(
        app.dispatcher
            .run_once(UnixMs(t0.0 + 3_600_000))
            .await
            .unwrap(),
        0
    );
}

async fn an_auth_error_pauses_the_number_with_an_alert_until_an_admin_resumes_it(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    let key = app.key(Role::Agent).await;
    let admin = app.key(Role::Admin).await;
    app.customer_writes(CUSTOMER, TestApp::text("hi"));
    app.settle().await;

    app.faults(json!({"token_expired": true})).await;
    let m = app.send(&key, &text_to(CUSTOMER, "hello")).await;
    assert_eq!(app.dispatch().await, 1);
    assert_eq!(app.message(&key, &m["id"]).await["state"], "queued");
    // Paused: nothing more is tried.
    assert_eq!(app.dispatch().await, 0);
    let alerts = app.get_json("/api/v1/alerts", &admin).await;
    assert_eq!(alerts["alerts"][0]["code"], "sender_paused", "{backend:?}");
    assert!(alerts["alerts"][0]["resolved_at_ms"].is_null());
    let r = app
        .post_json(
            &format!("/api/v1/numbers/{}/resume", app.number),
            &key,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(r.status(), 403, "agents cannot resume");

    app.faults(json!({"clear": true})).await;
    let r = app
        .post_json(
            &format!("/api/v1/numbers/{}/resume", app.number),
            &admin,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.dispatch().await, 1);
    let sent = app.message(&key, &m["id"]).await;
    assert_eq!(sent["state"], "accepted", "{backend:?}: {sent}");
    assert_eq!(sent["attempts"], 1, "the paused attempt does not count");
    let alerts = app.get_json("/api/v1/alerts", &admin).await;
    assert!(alerts["alerts"][0]["resolved_at_ms"].is_i64());
}

#[tokio::test]
async fn a_timeout_is_retried_once_and_flagged_ambiguous() {
    let app = TestApp::spawn(sqlite()).await;
    let key = app.key(Role::Agent).await;
    app.customer_writes(CUSTOMER, TestApp::text("hi"));
    app.settle().await;
    app.faults(json!({"timeout_rate": 1.0})).await;
    let m = app.send(&key, &text_to(CUSTOMER, "hello")).await;
    let t0 = UnixMs::now();
    assert_eq!(app.dispatcher.run_once(t0).await.unwrap(), 1);
    let once = app.message(&key, &m["id"]).await;
    assert_eq!(once["state"], "queued", "{once}");
    assert_eq!(once["ambiguous"], true);
    assert_eq!(
        app.dispatcher
            .run_once(UnixMs(t0.0 + 60_000))
            .await
            .unwrap(),
        1
    );
    let twice = app.message(&key, &m["id"]).await;
    assert_eq!(twice["state"], "failed", "{twice}");
    assert_eq!(twice["ambiguous"], true);
    assert_eq!(twice["attempts"], 2);
}

#[tokio::test]
async fn a_reply_to_the_same_customer_is_paced_by_the_pair_rate() {
    let app = TestApp::spawn_full(
        sqlite(),
        |_| {},
        &[("SWITCHBOARD_OUTBOUND_PAIR_BURST", "3")],
        false,
    )
    .await;
    let key = app.key(Role::Agent).await;
    app.customer_writes(CUSTOMER, TestApp::text("hi"));
    app.settle().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            app.send(&key, &text_to(CUSTOMER, &format!("part {i}")))
                .await["id"]
                .clone(),
        );
    }
    let t0 = UnixMs::now();
    assert_eq!(app.dispatcher.run_once(t0).await.unwrap(), 5);
    assert_eq!(app.em.outbox().len(), 3, "the burst, then pacing");
    let deferred = app.message(&key, &ids[3]).await;
    assert_eq!(deferred["state"], "queued");
    assert_eq!(deferred["attempts"], 0, "deferral is not an attempt");
    let next = deferred["next_attempt_at_ms"].as_i64().unwrap();
    assert!(next > t0.0 + 6_000, "one per 6.3 s: {}", next - t0.0);
    assert_eq!(app.dispatcher.run_once(UnixMs(next)).await.unwrap(), 2);
    assert_eq!(app.em.outbox().len(), 4);
    assert!(app.em.outbox().iter().all(|r| r.verdict == "accepted"));
}

#[tokio::test]
async fn throughput_holds_the_configured_rate_for_a_minute_without_rate_errors() {
    // 50 messages/s at the emulator's limit of 50/s, to 3,000 different customers, through the
    // background dispatcher.
    const RATE: usize = 50;
    const SECS: usize = 60;
    let app = TestApp::spawn_full(
        sqlite(),
        |c| {
            c.numbers[0].throughput_mps = RATE as u32;
            c.messaging_limit = switchboard_emulator::MessagingLimit::Unlimited;
            c.webhook_url = None;
        },
        // The API's per-caller limit is not what this measures: 3,000 sends go in at once.
        &[
            ("SWITCHBOARD_THROUGHPUT_MPS", "50"),
            ("SWITCHBOARD_REQUESTS_PER_MINUTE", "0"),
        ],
        true,
    )
    .await;
    let key = app.key(Role::Agent).await;
    let admin = app.key(Role::Admin).await;
    app.approved_template(utility_template(), &admin).await;
    let total = RATE * SECS;
    let started = Instant::now();
    for i in 0..total {
        app.send(&key, &utility_send(&format!("1650600{i:04}")))
            .await;
    }
    let deadline = Instant::now() + Duration::from_secs(SECS as u64 + 60);
    while app.em.outbox().len() < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let outbox = app.em.outbox();
    assert_eq!(outbox.len(), total, "everything was sent");
    let rejected: Vec<_> = outbox
        .iter()
        .filter(|r| r.verdict != "accepted")
        .map(|r| r.error.as_ref().map(|e| e.code))
        .collect();
    assert!(rejected.is_empty(), "rejections: {rejected:?}");
    let first = outbox.iter().map(|r| r.received_at_ms).min().unwrap();
    let last = outbox.iter().map(|r| r.received_at_ms).max().unwrap();
    let rate = (total - 1) as f64 * 1000.0 / (last - first) as f64;
    eprintln!(
        "sent {total} in {:.1} s (submitting took {:.1} s): {rate:.2}/s",
        (last - first) as f64 / 1000.0,
        started.elapsed().as_secs_f64()
    );
    assert!(
        (rate - RATE as f64).abs() <= RATE as f64 * 0.05,
        "rate {rate:.2}/s is not within 5% of {RATE}/s"
    );
}

async fn template_status_marketing_cap_and_messaging_limit_refusals_are_explained(
    db: TestDatabase,
) {
    let backend = db.backend;
    let app = TestApp::spawn_full(
        db,
        |c| c.messaging_limit = switchboard_emulator::MessagingLimit::Tier250,
        &[("SWITCHBOARD_OUTBOUND_MARKETING_CAP_PER_USER", "1")],
        false,
    )
    .await;
    let key = app.key(Role::Agent).await;
    let admin = app.key(Role::Admin).await;
    app.approved_template(utility_template(), &admin).await;
    app.approved_template(marketing_template(), &admin).await;
    // The number's tier arrives by webhook (phone_number_quality_update).
    app.faults(json!({"quality": "GREEN"})).await;
    app.settle().await;

    // The per-user marketing cap (configured to 1).
    let first = app.send(&key, &utility_send("16505557000")).await;
    let x = first["contact_id"].as_i64().unwrap();
    app.post_json(
        &format!("/api/v1/contacts/{x}/consent"),
        &key,
        &json!({"purpose": "marketing", "action": "opt_in", "source": "checkbox"}),
        &[],
    )
    .await;
    app.send(&key, &marketing_send("16505557000")).await;
    let r = app
        .post_json(
            "/api/v1/messages",
            &key,
            &marketing_send("16505557000"),
            &[],
        )
        .await;
    let (status, code, message) = error_code(r).await;
    assert_eq!(
        (status, code.as_str()),
        (422, "marketing_cap_reached"),
        "{backend:?}: {message}"
    );

    // The messaging limit: 250 customers outside a window per 24 h (TIER_250). One is
    // reached already; reach 249 more.
    for i in 0..249 {
        app.send(&key, &utility_send(&format!("165055{i:05}")))
            .await;
    }
    let mut refuse = utility_send("16505556000");
    refuse["on_limit"] = json!("refuse");
    let r = app.post_json("/api/v1/messages", &key, &refuse, &[]).await;
    let (status, code, message) = error_code(r).await;
    assert_eq!(
        (status, code.as_str()),
        (422, "messaging_limit_reached"),
        "{backend:?}: {message}"
    );
    assert!(message.contains("250"), "{message}");
    let held = app.send(&key, &utility_send("16505556000")).await;
    assert_eq!(held["state"], "held", "{backend:?}: {held}");
    assert_eq!(held["decision"]["decision"], "hold");
    // A customer already reached in the window costs nothing more.
    let again = app.send(&key, &utility_send("16505557000")).await;
    assert_eq!(again["state"], "queued");

    // A template still in review, then paused and disabled by Meta.
    let cfg = app.em.config();
    let graph = switchboard_graph::GraphClient::new(
        &app.emulator.base_url,
        &cfg.api_version,
        Duration::from_secs(5),
    );
    let mut pending = utility_template();
    pending["name"] = json!("order_delayed");
    graph
        .create_template(
            &cfg.waba_id,
            &secrecy::SecretString::from(cfg.access_token.clone()),
            &pending,
        )
        .await
        .unwrap();
    app.post_json("/api/v1/templates/sync", &admin, &json!({}), &[])
        .await;
    let mut delayed = utility_send("16505557000");
    delayed["template"]["name"] = json!("order_delayed");
    let r = app.post_json("/api/v1/messages", &key, &delayed, &[]).await;
    let (status, code, _) = error_code(r).await;
    assert_eq!(
        (status, code.as_str()),
        (422, "template_not_approved"),
        "{backend:?}"
    );
    for (fault, expected) in [
        ("template_paused", "template_paused"),
        ("template_disabled", "template_disabled"),
    ] {
        app.faults(json!({fault: {"name": "order_shipped", "language": "en_US"}}))
            .await;
        app.settle().await;
        let r = app
            .post_json("/api/v1/messages", &key, &utility_send("16505557000"), &[])
            .await;
        let (status, code, message) = error_code(r).await;
        assert_eq!(
            (status, code.as_str()),
            (422, expected),
            "{backend:?}: {message}"
        );
    }
}

switchboard_store::per_backend!(
    a_reply_goes_out_and_statuses_advance_it_to_read,
    refusals_are_explained_before_anything_is_sent,
    an_idempotency_key_returns_the_first_result_across_a_restart,
    transient_errors_are_retried_with_backoff_permanent_ones_are_not,
    an_auth_error_pauses_the_number_with_an_alert_until_an_admin_resumes_it,
    template_status_marketing_cap_and_messaging_limit_refusals_are_explained,
);
