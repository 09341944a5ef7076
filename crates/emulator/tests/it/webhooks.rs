use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use switchboard_cloudapi::webhook::Envelope;

use crate::harness::Harness;

#[tokio::test]
async fn updates_are_batched_and_every_body_parses_as_metas_envelope() {
    let h = Harness::with(|c| {
        c.webhooks.batch_window_ms = 50;
        c.webhooks.max_batch = 100;
    })
    .await;
    for i in 0..10 {
        h.em.add_customer(switchboard_emulator::Customer::new(
            &format!("1650555{i:04}"),
            None,
        ));
    }
    for i in 0..10 {
        h.em.customer_sends(
            &format!("1650555{i:04}"),
            &h.number,
            json!({"type": "text", "text": {"body": format!("hello {i}")}}),
        )
        .unwrap();
    }
    h.settle().await;
    let bodies = h.receiver.bodies.lock().unwrap().clone();
    assert!(
        bodies.len() < 10,
        "10 messages in {} POSTs: batched",
        bodies.len()
    );
    let total: usize = h.receiver.messages().len();
    assert_eq!(total, 10);
    let merged = h
        .receiver
        .all_changes()
        .iter()
        .any(|(_, v)| v["messages"].as_array().is_some_and(|m| m.len() > 1));
    assert!(merged, "several messages in one change");
    for b in &bodies {
        let env = Envelope::parse(&serde_json::to_vec(b).unwrap()).unwrap();
        assert_eq!(env.entry[0].id, h.em.config().waba_id);
    }
}

#[tokio::test]
async fn a_failing_receiver_is_retried_until_it_accepts() {
    let h = Harness::with(|c| c.webhooks.retry_time_scale = 0.001).await;
    h.receiver.fail_first.store(3, Ordering::SeqCst);
    h.customer_writing("16505551234").await;
    for _ in 0..50 {
        h.advance(60).await;
        if !h.receiver.messages().is_empty() {
            break;
        }
    }
    assert_eq!(h.receiver.messages().len(), 1, "delivered after retries");
    let log = h.em.deliveries();
    let outcomes: Vec<_> = log.iter().map(|d| (d.attempt, d.outcome)).collect();
    assert_eq!(
        outcomes,
        [
            (0, "will_retry"),
            (1, "will_retry"),
            (2, "will_retry"),
            (3, "delivered")
        ]
    );
    assert!(log[0].status == Some(500));
    // Retries send the exact same bytes (so a receiver can dedupe by content).
    assert!(log.windows(2).all(|w| w[0].body == w[1].body));
}

#[tokio::test]
async fn duplicates_and_reordering_can_be_turned_on() {
    let h = Harness::with(|c| {
        c.webhooks.duplicate_rate = 1.0;
        c.webhooks.batch_window_ms = 0;
        c.webhooks.max_batch = 1;
    })
    .await;
    let id = h.customer_writing("16505551234").await;
    h.settle().await;
    let copies = h
        .receiver
        .messages()
        .iter()
        .filter(|m| m["id"] == id.as_str())
        .count();
    assert_eq!(copies, 2, "each batch delivered twice");

    let h = Harness::with(|c| {
        c.webhooks.reorder_rate = 1.0;
        c.webhooks.batch_window_ms = 0;
        c.webhooks.max_batch = 1;
    })
    .await;
    h.em.add_customer(switchboard_emulator::Customer::new("16505551234", None));
    for i in 0..4 {
        h.em.customer_sends(
            "16505551234",
            &h.number,
            json!({"type": "text", "text": {"body": format!("{i}")}}),
        )
        .unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    h.settle().await;
    let order: Vec<String> = h
        .receiver
        .messages()
        .iter()
        .map(|m| m["text"]["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(order.len(), 4);
    assert_ne!(
        order,
        ["0", "1", "2", "3"],
        "held-back batches arrive out of order"
    );
}

#[tokio::test]
async fn a_receiver_that_fails_the_handshake_gets_nothing() {
    let h = Harness::with(|c| c.verify_token = "not-what-the-receiver-expects".into()).await;
    h.customer_writing("16505551234").await;
    h.settle().await;
    assert!(h.receiver.bodies.lock().unwrap().is_empty());
    let log = h.em.deliveries();
    assert!(
        log[0]
            .error
            .as_deref()
            .unwrap()
            .contains("verification handshake failed"),
        "{:?}",
        log[0]
    );
}

#[tokio::test]
async fn customers_write_every_inbound_type() {
    let h = Harness::start().await;
    h.em.add_customer(switchboard_emulator::Customer::new(
        "16505551234",
        Some("Sheena"),
    ));
    let first =
        h.em.customer_sends(
            "16505551234",
            &h.number,
            json!({"type": "text", "text": {"body": "hi"}}),
        )
        .unwrap();
    let contents = [
        json!({"type": "image", "image": {"caption": "look"}}),
        json!({"type": "audio", "audio": {"voice": true}}),
        json!({"type": "video", "video": {}}),
        json!({"type": "document", "document": {"filename": "a.pdf"}}),
        json!({"type": "sticker", "sticker": {"animated": false}}),
        json!({"type": "location", "location": {"latitude": 37.44, "longitude": -122.16, "name": "Philz"}}),
        json!({"type": "contacts", "contacts": [{"name": {"formatted_name": "Ann"}, "phones": [{"phone": "+1 555 0100"}]}]}),
        json!({"type": "reaction", "reaction": {"message_id": first, "emoji": "👍"}}),
        json!({"type": "button", "button": {"payload": "STOP", "text": "Stop promotions"}}),
        json!({"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": "a", "title": "Yes"}}}),
        json!({"type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": "r1", "title": "Row"}}}),
        json!({"type": "order", "order": {"catalog_id": "1", "product_items": [{"product_retailer_id": "x", "quantity": 1, "item_price": 9.5, "currency": "USD"}]}}),
        json!({"type": "text", "text": {"body": "From the ad"}, "referral": {"source_type": "ad", "source_id": "1", "source_url": "https://fb.me/x", "ctwa_clid": "abc"}}),
    ];
    for c in &contents {
        h.em.customer_sends("16505551234", &h.number, c.clone())
            .unwrap();
    }
    h.settle().await;
    let messages = h.receiver.messages();
    assert_eq!(messages.len(), contents.len() + 1);
    let image = messages.iter().find(|m| m["type"] == "image").unwrap();
    assert!(
        image["image"]["id"].is_string()
            && image["image"]["url"]
                .as_str()
                .unwrap()
                .contains("/whatsapp_business/attachments/")
    );
    for body in h.receiver.bodies.lock().unwrap().iter() {
        Envelope::parse(&serde_json::to_vec(body).unwrap()).expect("every body parses");
    }
    // Non-ASCII is escaped on the wire, as Meta does: the reaction's emoji arrived intact.
    assert!(messages.iter().any(|m| m["reaction"]["emoji"] == "👍"));
    // The referral opened a free-entry-point window: a template now is free_entry_point.
    assert!(
        h.em.customer("16505551234")
            .unwrap()
            .fep_until_ms
            .contains_key(&h.number)
    );
}

#[tokio::test]
async fn customers_reply_stop_block_and_change_number() {
    let h = Harness::start().await;
    let mut c = switchboard_emulator::Customer::new("16505551234", None);
    c.auto_reply = Some(switchboard_emulator::AutoReply {
        text: "Thanks!".into(),
        delay_ms: 1_000,
        probability: 1.0,
    });
    h.em.add_customer(c);
    h.em.customer_sends(
        "16505551234",
        &h.number,
        json!({"type": "text", "text": {"body": "hi"}}),
    )
    .unwrap();
    let req = switchboard_cloudapi::send::SendRequest::new(
        switchboard_cloudapi::send::Recipient::Phone("+16505551234".into()),
        switchboard_cloudapi::send::OutboundContent::text("hello", false).unwrap(),
    );
    h.graph.send(&h.number, &h.token, &req).await.unwrap();
    h.advance(3).await;
    assert!(
        h.receiver
            .messages()
            .iter()
            .any(|m| m["text"]["body"] == "Thanks!"),
        "auto reply"
    );

    let r = h
        .http
        .post(h.url("/_emulator/customers/16505551234/block"))
        .json(&json!({"blocked": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let wamid = h
        .graph
        .send(&h.number, &h.token, &req)
        .await
        .unwrap()
        .wamid()
        .unwrap()
        .to_owned();
    h.advance(1).await;
    assert_eq!(
        h.receiver
            .statuses()
            .iter()
            .find(|s| s["id"] == wamid.as_str())
            .unwrap()["errors"][0]["code"],
        131026
    );

    let old_bsuid = h.em.customer("16505551234").unwrap().user_id;
    let r = h
        .http
        .post(h.url("/_emulator/customers/16505551234/change-number"))
        .json(&json!({"new_wa_id": "16505550000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    h.settle().await;
    let systems: Vec<_> = h
        .receiver
        .messages()
        .into_iter()
        .filter(|m| m["type"] == "system")
        .collect();
    assert_eq!(systems[0]["system"]["type"], "user_changed_number");
    assert_eq!(systems[0]["system"]["wa_id"], "16505550000");
    assert_eq!(systems[1]["system"]["type"], "user_changed_user_id");
    assert_ne!(systems[1]["system"]["user_id"], old_bsuid.as_str());
    assert!(h.em.customer("16505551234").is_none());

    let r = h
        .http
        .post(h.url("/_emulator/customers/nobody/messages"))
        .json(&json!({"type": "text", "text": {"body": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn the_traffic_generator_drives_inbound_load_and_stops() {
    let h = Harness::start().await;
    let r = h
        .http
        .post(h.url("/_emulator/traffic"))
        .json(&json!({"customers": 5, "rate_per_sec": 200, "duration_secs": 0.1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if !h.em.traffic_stats().running {
            break;
        }
    }
    h.settle().await;
    assert_eq!(h.em.traffic_stats().sent, 20);
    assert_eq!(h.receiver.messages().len(), 20);
}
