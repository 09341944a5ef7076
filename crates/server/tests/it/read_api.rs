use serde_json::json;
use switchboard_domain::Role;
use switchboard_store::testing::TestDatabase;

use crate::helpers::{TestApp, error_code};

async fn conversations_filter_search_and_paginate(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    for i in 0..7 {
        app.customer_writes(
            &format!("1650555{i:04}"),
            TestApp::text(&format!("hello number {i}")),
        );
        app.em.advance(std::time::Duration::from_secs(1)); // Meta's timestamps are in seconds
    }
    app.customer_writes("16505550004", TestApp::text("Invoice INV500000 is wrong"));
    app.em.advance(std::time::Duration::from_secs(1));
    app.customer_writes("16505550003", TestApp::text("where is my parcel?"));
    app.settle().await;
    let agent = app.key(Role::Agent).await;

    let page1 = app.get_json("/api/v1/conversations?limit=3", &agent).await;
    assert_eq!(page1["data"].as_array().unwrap().len(), 3, "{backend:?}");
    let cursor = page1["next_cursor"].as_str().expect("more pages");
    let page2 = app
        .get_json(
            &format!("/api/v1/conversations?limit=3&cursor={cursor}"),
            &agent,
        )
        .await;
    let page3 = app
        .get_json(
            &format!(
                "/api/v1/conversations?limit=3&cursor={}",
                page2["next_cursor"].as_str().unwrap()
            ),
            &agent,
        )
        .await;
    let ids: Vec<i64> = [&page1, &page2, &page3]
        .iter()
        .flat_map(|p| {
            p["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(ids.len(), 7);
    assert_eq!(
        ids.iter().collect::<std::collections::HashSet<_>>().len(),
        7,
        "no repeats across pages"
    );
    assert!(page3["next_cursor"].is_null());
    assert_eq!(
        page1["data"][0]["contact"]["wa_id"], "16505550003",
        "most recent first"
    );
    assert_eq!(page1["data"][0]["service_window"]["open"], true);
    assert_eq!(page1["data"][0]["unread_count"], 2);
    assert_eq!(page1["data"][0]["last_text"], "where is my parcel?");

    let found = app.get_json("/api/v1/conversations?q=parcel", &agent).await;
    assert_eq!(
        found["data"].as_array().unwrap().len(),
        1,
        "{backend:?}: text search"
    );
    let found = app.get_json("/api/v1/conversations?q=PARCEL", &agent).await;
    assert_eq!(
        found["data"].as_array().unwrap().len(),
        1,
        "{backend:?}: case-insensitive"
    );
    // Full-text search: words in any order, each as a prefix (not one substring).
    for q in ["parcel%20where", "parc", "my%20PARC"] {
        let found = app
            .get_json(&format!("/api/v1/conversations?q={q}"), &agent)
            .await;
        assert_eq!(
            found["data"].as_array().unwrap().len(),
            1,
            "{backend:?}: full-text {q}"
        );
    }
    for q in ["INV500000", "inv500000", "INV5000"] {
        let found = app
            .get_json(&format!("/api/v1/conversations?q={q}"), &agent)
            .await;
        assert_eq!(
            found["data"].as_array().unwrap().len(),
            1,
            "{backend:?}: {q}"
        );
    }
    let found = app
        .get_json("/api/v1/conversations?q=parcels", &agent)
        .await;
    assert_eq!(found["data"].as_array().unwrap().len(), 0, "{backend:?}");
    let by_number = app.get_json("/api/v1/conversations?q=55500", &agent).await;
    assert_eq!(by_number["data"].as_array().unwrap().len(), 7);
    let none = app.get_json("/api/v1/conversations?q=100%25", &agent).await;
    assert_eq!(none["data"].as_array().unwrap().len(), 0, "% is literal");
    assert_eq!(
        app.get_json("/api/v1/conversations?status=resolved", &agent)
            .await["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.get_json("/api/v1/conversations?assignee=none", &agent)
            .await["data"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    assert_eq!(
        app.get_json(
            &format!("/api/v1/conversations?number={}", app.number),
            &agent
        )
        .await["data"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    assert_eq!(
        app.get_json("/api/v1/conversations?label=vip", &agent)
            .await["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    let (status, code, _) = error_code(
        app.get("/api/v1/conversations?status=lost", Some(&agent))
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (422, "invalid_request"));
    let (status, _, _) = error_code(
        app.get("/api/v1/conversations?cursor=garbage", Some(&agent))
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(app.get("/api/v1/conversations", None).await.status(), 401);
}

async fn a_thread_its_messages_and_its_contact(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    app.customer_writes("16505551234", TestApp::text("first"));
    app.customer_writes("16505551234", json!({"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": "y", "title": "Yes please"}}}));
    app.customer_writes("16505551234", TestApp::text("third"));
    app.settle().await;
    let agent = app.key(Role::Agent).await;
    let list = app.get_json("/api/v1/conversations", &agent).await;
    let id = list["data"][0]["id"].as_i64().unwrap();
    let conv = app
        .get_json(&format!("/api/v1/conversations/{id}"), &agent)
        .await;
    assert_eq!(conv["contact"]["name"], "Sheena Nelson");
    assert_eq!(conv["status"], "open");
    assert_eq!(conv["labels"], json!([]));
    let msgs = app
        .get_json(
            &format!("/api/v1/conversations/{id}/messages?limit=2"),
            &agent,
        )
        .await;
    let data = msgs["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["text"], "first");
    assert_eq!(data[1]["text"], "Yes please");
    assert_eq!(data[1]["raw"]["interactive"]["button_reply"]["id"], "y");
    let rest = app
        .get_json(
            &format!(
                "/api/v1/conversations/{id}/messages?cursor={}",
                msgs["next_cursor"].as_str().unwrap()
            ),
            &agent,
        )
        .await;
    assert_eq!(rest["data"][0]["text"], "third");
    let contact_id = conv["contact"]["id"].as_i64().unwrap();
    let contact = app
        .get_json(&format!("/api/v1/contacts/{contact_id}"), &agent)
        .await;
    assert_eq!(contact["wa_id"], "16505551234");
    assert!(contact["bsuid"].as_str().unwrap().starts_with("US."));
    let (status, code, _) =
        error_code(app.get("/api/v1/conversations/999999", Some(&agent)).await).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    let (status, code, _) =
        error_code(app.get("/api/v1/conversations/abc", Some(&agent)).await).await;
    assert_eq!((status, code.as_str()), (422, "invalid_request"));
}

async fn the_journal_is_for_admins_and_replay_reprojects_idempotently(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    app.customer_writes("16505551234", TestApp::text("hi"));
    app.settle().await;
    let (agent, admin) = (app.key(Role::Agent).await, app.key(Role::Admin).await);
    assert_eq!(
        app.get("/api/v1/webhook-events", Some(&agent))
            .await
            .status(),
        403
    );
    let events = app.get_json("/api/v1/webhook-events", &admin).await;
    assert_eq!(events["data"][0]["state"], "projected");
    assert_eq!(
        events["data"][0]["body"]["object"],
        "whatsapp_business_account"
    );
    let r = app
        .http
        .post(format!("{}/api/v1/webhook-events/replay", app.base))
        .bearer_auth(&admin)
        .json(&json!({"from_id": 1, "to_id": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let queued: serde_json::Value = r.json().await.unwrap();
    assert!(queued["queued"].as_i64().unwrap() >= 1);
    app.projector.drain().await.unwrap();
    assert_eq!(
        app.store.inbound_counts().await.unwrap().0,
        1,
        "still one message"
    );
    let r = app
        .http
        .post(format!("{}/api/v1/webhook-events/replay", app.base))
        .bearer_auth(&admin)
        .json(&json!({"from_id": 5, "to_id": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = app
        .http
        .post(format!("{}/api/v1/webhook-events/replay", app.base))
        .bearer_auth(&agent)
        .json(&json!({"from_id": 1, "to_id": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

switchboard_store::per_backend!(
    conversations_filter_search_and_paginate,
    a_thread_its_messages_and_its_contact,
    the_journal_is_for_admins_and_replay_reprojects_idempotently,
);
