use std::collections::HashSet;

use serde_json::{Value, json};
use switchboard_store::testing::TestDatabase;

use crate::helpers::TestApp;

#[tokio::test]
async fn the_verification_handshake() {
    let app = TestApp::spawn(switchboard_store::testing::sqlite()).await;
    let token = app.em.config().verify_token.clone();
    let ok = app.get(&format!("/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={token}"), None).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let bad = app
        .get(
            "/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong",
            None,
        )
        .await;
    assert_eq!(bad.status(), 403);
    let bad = app
        .get(
            &format!(
                "/webhooks/whatsapp?hub.mode=unsubscribe&hub.challenge=1&hub.verify_token={token}"
            ),
            None,
        )
        .await;
    assert_eq!(bad.status(), 403);
}

#[tokio::test]
async fn unsigned_badly_signed_and_oversized_bodies_are_refused() {
    let app = TestApp::spawn(switchboard_store::testing::sqlite()).await;
    let url = format!("{}/webhooks/whatsapp", app.base);
    let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    let r = app
        .http
        .post(&url)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let wrong = switchboard_cloudapi::signature::sign(b"not-the-secret", body);
    let r = app
        .http
        .post(&url)
        .header("x-hub-signature-256", wrong)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let big = vec![b' '; 3 * 1024 * 1024 + 1];
    let r = app.post_signed(&big).await;
    assert_eq!(r.status(), 413);
    assert_eq!(
        app.store.count_webhooks().await.unwrap(),
        0,
        "nothing refused is journaled"
    );
    assert_eq!(app.post_signed(body).await.status(), 200);
    assert_eq!(app.store.count_webhooks().await.unwrap(), 1);
}

async fn every_item_of_batched_duplicated_reordered_deliveries_is_projected_once(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn_with(db, |c| {
        c.webhooks.duplicate_rate = 0.5;
        c.webhooks.reorder_rate = 0.3;
        c.webhooks.batch_window_ms = 10;
    })
    .await;
    let mut sent = HashSet::new();
    for i in 0..30 {
        let wa_id = format!("1650555{:04}", i % 6);
        sent.insert(app.customer_writes(&wa_id, TestApp::text(&format!("message {i}"))));
    }
    sent.insert(app.customer_writes("16505550000", json!({"type": "location", "location": {"latitude": 1.5, "longitude": 2.5, "name": "Philz"}})));
    sent.insert(app.customer_writes(
        "16505550001",
        json!({"type": "hologram", "hologram": {"depth": 3}}),
    ));
    app.settle().await;
    let (messages, _, contacts, conversations) = app.store.inbound_counts().await.unwrap();
    assert_eq!(
        messages as usize,
        sent.len(),
        "{backend:?}: every message once"
    );
    assert_eq!((contacts, conversations), (6, 6), "{backend:?}");
    // Every acknowledged delivery is journaled (a body committed after the emulator gave
    // up waiting is journaled too, and delivered again); each byte-identical repeat is
    // recognised as a copy of the first when projected, and counted on it.
    let journal = app.store.journal(None, false, 500).await.unwrap();
    let deliveries = app
        .em
        .deliveries()
        .iter()
        .filter(|d| d.outcome == "delivered")
        .count();
    assert!(
        journal.len() >= deliveries,
        "{backend:?}: every delivery journaled"
    );
    let distinct: HashSet<&str> = journal.iter().map(|e| e.dedupe_key.as_str()).collect();
    let copies = journal.iter().filter(|e| e.duplicate_of.is_some()).count();
    // (The emulator repeats events in new batches as well as whole bodies, so whether any
    // byte-identical copy arrived varies; the store's tests cover copies for certain.)
    assert_eq!(copies, journal.len() - distinct.len(), "{backend:?}");
    let counted: i64 = journal
        .iter()
        .filter(|e| e.duplicate_of.is_none())
        .map(|e| e.deliveries)
        .sum();
    assert_eq!(
        counted as usize,
        journal.len(),
        "{backend:?}: every copy counted on its first"
    );
    // Unknown types are kept with their raw JSON.
    let all: Vec<_> = stored(&app, &sent).await;
    let hologram = all
        .iter()
        .find(|m| m.kind == "hologram")
        .expect("unknown type stored");
    assert!(hologram.payload.contains("\"depth\":3"));
    // Projecting again changes nothing.
    app.store.replay_webhooks(1, i64::MAX).await.unwrap();
    app.projector.drain().await.unwrap();
    assert_eq!(
        app.store.inbound_counts().await.unwrap().0 as usize,
        sent.len()
    );
}

async fn stored(app: &TestApp, wamids: &HashSet<String>) -> Vec<switchboard_store::MessageRow> {
    let mut out = Vec::new();
    for w in wamids {
        out.push(app.store.message_by_wamid(w).await.unwrap().unwrap());
    }
    out
}

fn envelope(value: Value, field: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": field, "value": value}]}]})).unwrap()
}

fn metadata() -> Value {
    json!({"display_phone_number": "15550783881", "phone_number_id": "106540352242922"})
}

fn status(wamid: &str, status: &str, ts: i64) -> Value {
    json!({"id": wamid, "status": status, "timestamp": ts.to_string(), "recipient_id": "16505551234"})
}

async fn statuses_never_move_backwards_and_parked_ones_apply_when_the_message_appears(
    db: TestDatabase,
) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    // Statuses for a message we have not seen yet: read, then an older delivered.
    let read = envelope(
        json!({"messaging_product": "whatsapp", "metadata": metadata(), "statuses": [status("wamid.OUT1", "read", 1_750_000_030)]}),
        "messages",
    );
    let delivered = envelope(
        json!({"messaging_product": "whatsapp", "metadata": metadata(), "statuses": [status("wamid.OUT1", "delivered", 1_750_000_020)]}),
        "messages",
    );
    assert_eq!(app.post_signed(&read).await.status(), 200);
    assert_eq!(app.post_signed(&delivered).await.status(), 200);
    app.projector.drain().await.unwrap();
    assert!(
        app.store
            .message_by_wamid("wamid.OUT1")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        app.store.statuses_of("wamid.OUT1").await.unwrap().len(),
        2,
        "parked"
    );

    // The message appears (an echo of a send from the WhatsApp Business app).
    let echo = envelope(
        json!({"messaging_product": "whatsapp", "metadata": metadata(), "message_echoes": [{
            "from": "15550783881", "to": "16505551234", "id": "wamid.OUT1", "timestamp": "1750000010", "type": "text", "text": {"body": "Sent from the app"}}]}),
        "smb_message_echoes",
    );
    assert_eq!(app.post_signed(&echo).await.status(), 200);
    app.projector.drain().await.unwrap();
    let m = app
        .store
        .message_by_wamid("wamid.OUT1")
        .await
        .unwrap()
        .expect("echo stored");
    assert_eq!(
        (m.direction.as_str(), m.status.as_deref()),
        ("out", Some("read")),
        "{backend:?}"
    );

    // A late `sent` does not move it back; `failed` is terminal.
    let sent = envelope(
        json!({"messaging_product": "whatsapp", "metadata": metadata(), "statuses": [status("wamid.OUT1", "sent", 1_750_000_011)]}),
        "messages",
    );
    app.post_signed(&sent).await;
    app.projector.drain().await.unwrap();
    assert_eq!(
        app.store
            .message_by_wamid("wamid.OUT1")
            .await
            .unwrap()
            .unwrap()
            .status
            .as_deref(),
        Some("read")
    );
    let mut failed = status("wamid.OUT1", "failed", 1_750_000_040);
    failed["errors"] = json!([{"code": 131026, "title": "Message undeliverable"}]);
    app.post_signed(&envelope(
        json!({"messaging_product": "whatsapp", "metadata": metadata(), "statuses": [failed]}),
        "messages",
    ))
    .await;
    let played = envelope(
        json!({"messaging_product": "whatsapp", "metadata": metadata(), "statuses": [status("wamid.OUT1", "played", 1_750_000_050)]}),
        "messages",
    );
    app.post_signed(&played).await;
    app.projector.drain().await.unwrap();
    let m = app
        .store
        .message_by_wamid("wamid.OUT1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (m.status.as_deref(), m.error_code),
        (Some("failed"), Some(131026)),
        "{backend:?}"
    );
}

#[tokio::test]
async fn statuses_from_the_emulator_are_recorded_with_pricing() {
    let app = TestApp::spawn(switchboard_store::testing::sqlite()).await;
    app.customer_writes("16505551234", TestApp::text("hi"));
    let graph = switchboard_graph::GraphClient::new(
        &app.emulator.base_url,
        "v26.0",
        std::time::Duration::from_secs(5),
    );
    let token = secrecy::SecretString::from(app.em.config().access_token.clone());
    let req = switchboard_cloudapi::send::SendRequest::new(
        switchboard_cloudapi::send::Recipient::Phone("+16505551234".into()),
        switchboard_cloudapi::send::OutboundContent::text("hello", false).unwrap(),
    );
    let wamid = graph
        .send(&app.number, &token, &req)
        .await
        .unwrap()
        .wamid()
        .unwrap()
        .to_owned();
    app.em.advance(std::time::Duration::from_secs(10));
    app.settle().await;
    let statuses = app.store.statuses_of(&wamid).await.unwrap();
    let names: Vec<_> = statuses.iter().map(|s| s.status.as_str()).collect();
    assert_eq!(names, ["sent", "delivered", "read"]);
    assert!(
        statuses[0]
            .pricing
            .as_deref()
            .unwrap()
            .contains("free_customer_service")
    );
}

async fn a_signed_body_that_does_not_parse_is_acknowledged_and_kept_as_a_dead_letter(
    db: TestDatabase,
) {
    let app = TestApp::spawn(db).await;
    assert_eq!(
        app.post_signed(b"{not json").await.status(),
        200,
        "Meta would retry for days otherwise"
    );
    // Not an envelope: a change without a value. (A bad item inside a value is an item dead
    // letter beside the rest of its body: see `items`.)
    let wrong_shape = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages"}]}]}"#;
    assert_eq!(app.post_signed(wrong_shape).await.status(), 200);
    let pass = app.projector.drain().await.unwrap();
    assert_eq!(pass.dead_letters, 2);
    let admin = app.key(switchboard_domain::Role::Admin).await;
    let dead = app
        .get_json("/api/v1/webhook-events?dead_letters=true", &admin)
        .await;
    assert_eq!(dead["data"].as_array().unwrap().len(), 2);
    assert_eq!(dead["data"][0]["state"], "dead_letter");
    assert!(
        dead["data"][0]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
}

async fn number_and_bsuid_changes_follow_the_contact(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    app.customer_writes("16505551234", TestApp::text("hi"));
    app.settle().await;
    let before = app
        .store
        .contact_by_wa_id("16505551234")
        .await
        .unwrap()
        .expect("contact");
    app.em
        .change_number("16505551234", "16505550000", &app.number)
        .unwrap();
    app.settle().await;
    assert!(
        app.store
            .contact_by_wa_id("16505551234")
            .await
            .unwrap()
            .is_none()
    );
    let after = app
        .store
        .contact_by_wa_id("16505550000")
        .await
        .unwrap()
        .expect("moved");
    assert_eq!(after.id, before.id, "the same contact, with its history");
    assert_eq!(
        after.bsuid.as_deref(),
        Some(app.em.customer("16505550000").unwrap().user_id.as_str())
    );
    assert_ne!(after.bsuid, before.bsuid);
    app.customer_writes("16505550000", TestApp::text("new phone, same me"));
    app.settle().await;
    assert_eq!(
        app.store.inbound_counts().await.unwrap().3,
        1,
        "one conversation"
    );
    // Replaying everything cannot move the contact back to an old number or BSUID.
    app.store.replay_webhooks(1, i64::MAX).await.unwrap();
    app.projector.drain().await.unwrap();
    let replayed = app
        .store
        .contact_by_wa_id("16505550000")
        .await
        .unwrap()
        .expect("still there");
    assert_eq!(replayed.bsuid, after.bsuid);
    assert_eq!(
        app.store.inbound_counts().await.unwrap().2,
        1,
        "one contact"
    );
}

async fn management_webhooks_are_recorded(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    app.em
        .add_customer(switchboard_emulator::Customer::new("16505551234", None));
    app.em
        .set_marketing_preference("16505551234", &app.number, true)
        .unwrap();
    app.em.set_quality(&app.number, "RED");
    app.em.set_restriction(true);
    let waba = app.em.config().waba_id.clone();
    let graph = switchboard_graph::GraphClient::new(
        &app.emulator.base_url,
        "v26.0",
        std::time::Duration::from_secs(5),
    );
    let token = secrecy::SecretString::from(app.em.config().access_token.clone());
    graph
        .create_template(&waba, &token, &json!({"name": "order_shipped", "language": "en_US", "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Order {{1}} shipped.", "example": {"body_text": [["42"]]}}]}))
        .await
        .unwrap();
    app.em.advance(std::time::Duration::from_secs(31));
    app.settle().await;
    let contact = app
        .store
        .contact_by_wa_id("16505551234")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.store
            .marketing_preference(contact.id, &app.number)
            .await
            .unwrap()
            .as_deref(),
        Some("stop")
    );
    let (quality, limit, restricted) = app
        .store
        .number_state(&app.number)
        .await
        .unwrap()
        .expect("number state");
    assert_eq!(
        (quality.as_deref(), limit.as_deref(), restricted),
        (Some("RED"), Some("TIER_2K"), true)
    );
    let t = app
        .store
        .template_state(&waba, "order_shipped", "en_US")
        .await
        .unwrap()
        .expect("template state");
    assert_eq!(
        (t.0.as_deref(), t.1.as_deref()),
        (Some("APPROVED"), Some("UTILITY"))
    );
    assert_eq!(
        app.store
            .account_events("account_update")
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.store
            .account_events("message_template_status_update")
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn media_is_downloaded_re_resolved_when_expired_and_served_to_authenticated_users(
    db: TestDatabase,
) {
    let app = TestApp::spawn(db).await;
    app.customer_writes(
        "16505551234",
        json!({"type": "image", "image": {"caption": "broken lamp"}}),
    );
    app.settle().await;
    // The webhook's URL expires before the worker gets to it: it must resolve a new one.
    app.em.advance(std::time::Duration::from_secs(600));
    let conv = app
        .store
        .conversations(&switchboard_store::ConversationFilter::default_with_limit())
        .await
        .unwrap();
    let msgs = app.store.messages(conv[0].id, None, 10).await.unwrap();
    let id = msgs[0].id;
    assert_eq!(msgs[0].media_status.as_deref(), Some("pending"));
    assert_eq!(app.media.run_once(10).await.unwrap(), 1);
    let rec = app.store.media(id).await.unwrap().unwrap();
    assert_eq!(rec.status, "stored", "{:?}", rec.last_error);
    let agent = app.key(switchboard_domain::Role::Agent).await;
    let r = app
        .get(&format!("/api/v1/messages/{id}/media"), Some(&agent))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert!(r.bytes().await.unwrap().starts_with(b"\x89PNG"));
    assert_eq!(
        app.get(&format!("/api/v1/messages/{id}/media"), None)
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn a_failing_download_keeps_the_message_and_says_why() {
    let app = TestApp::spawn(switchboard_store::testing::sqlite()).await;
    app.customer_writes(
        "16505551234",
        json!({"type": "document", "document": {"filename": "invoice.pdf"}}),
    );
    app.settle().await;
    app.em.advance(std::time::Duration::from_secs(600));
    app.http
        .post(format!("{}/_emulator/faults", app.emulator.base_url))
        .json(&json!({"error_rate_5xx": 1.0}))
        .send()
        .await
        .unwrap();
    let conv = app
        .store
        .conversations(&switchboard_store::ConversationFilter::default_with_limit())
        .await
        .unwrap();
    let id = app.store.messages(conv[0].id, None, 10).await.unwrap()[0].id;
    app.media.run_once(10).await.unwrap();
    let rec = app.store.media(id).await.unwrap().unwrap();
    assert_eq!((rec.status.as_str(), rec.attempts), ("pending", 1));
    assert!(
        rec.last_error.as_deref().unwrap().contains("500"),
        "{:?}",
        rec.last_error
    );
    let agent = app.key(switchboard_domain::Role::Agent).await;
    let r = app
        .get(&format!("/api/v1/messages/{id}/media"), Some(&agent))
        .await;
    let (status, code, _) = crate::helpers::error_code(r).await;
    assert_eq!((status, code.as_str()), (409, "media_not_ready"));
    assert!(
        app.store
            .message_by_wamid(&app.store.messages(conv[0].id, None, 1).await.unwrap()[0].wamid)
            .await
            .unwrap()
            .is_some()
    );
}

trait DefaultWithLimit {
    fn default_with_limit() -> Self;
}
impl DefaultWithLimit for switchboard_store::ConversationFilter {
    fn default_with_limit() -> Self {
        switchboard_store::ConversationFilter {
            limit: 50,
            ..Default::default()
        }
    }
}

async fn text_postgres_cannot_store_is_cleaned_and_never_blocks_projection(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": metadata(),
        "contacts": [{"profile": {"name": "Nul\u{0}Name"}, "wa_id": "16505551234"}],
        "messages": [{"from": "16505551234", "id": "wamid.NUL", "timestamp": "1750000000", "type": "text", "text": {"body": "a\u{0}b"}}]}}]}]}))
    .unwrap();
    assert_eq!(app.post_signed(&body).await.status(), 200);
    app.customer_writes("16505559999", TestApp::text("after it"));
    app.settle().await;
    let m = app
        .store
        .message_by_wamid("wamid.NUL")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(m.text.as_deref(), Some("ab"), "{backend:?}");
    assert_eq!(
        app.store.inbound_counts().await.unwrap().0,
        2,
        "{backend:?}: later webhooks projected too"
    );
    assert!(app.store.unprojected_webhooks(10).await.unwrap().is_empty());
}

switchboard_store::per_backend!(
    every_item_of_batched_duplicated_reordered_deliveries_is_projected_once,
    statuses_never_move_backwards_and_parked_ones_apply_when_the_message_appears,
    a_signed_body_that_does_not_parse_is_acknowledged_and_kept_as_a_dead_letter,
    number_and_bsuid_changes_follow_the_contact,
    management_webhooks_are_recorded,
    media_is_downloaded_re_resolved_when_expired_and_served_to_authenticated_users,
    text_postgres_cannot_store_is_cleaned_and_never_blocks_projection,
);
