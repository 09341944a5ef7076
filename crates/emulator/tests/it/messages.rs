use serde_json::json;
use switchboard_cloudapi::send::{Interactive, MarkRead, OutboundContent, Recipient, SendRequest};
use switchboard_cloudapi::{ErrorCode, RetryClass};
use switchboard_graph::GraphCallError;

use crate::harness::{Harness, code};

fn text(to: &str, body: &str) -> SendRequest {
    SendRequest::new(
        Recipient::Phone(format!("+{to}")),
        OutboundContent::text(body, false).unwrap(),
    )
}

#[tokio::test]
async fn a_reply_in_the_window_is_sent_delivered_and_read_with_free_service_pricing() {
    let h = Harness::start().await;
    h.customer_writing("16505551234").await;
    let resp = h
        .graph
        .send(
            &h.number,
            &h.token,
            &text("16505551234", "Your order shipped"),
        )
        .await
        .unwrap();
    let wamid = resp.wamid().unwrap().to_owned();
    assert!(wamid.starts_with("wamid."));
    let contact = &resp.contacts.as_ref().unwrap()[0];
    assert_eq!(contact.wa_id.as_deref(), Some("16505551234"));
    assert!(contact.user_id.as_deref().unwrap().starts_with("US."));

    h.advance(1).await;
    assert_eq!(h.receiver.statuses_of(&wamid), ["sent", "delivered"]);
    h.advance(5).await;
    assert_eq!(
        h.receiver.statuses_of(&wamid),
        ["sent", "delivered", "read"]
    );
    let sent = h
        .receiver
        .statuses()
        .into_iter()
        .find(|s| s["id"] == wamid && s["status"] == "sent")
        .unwrap();
    assert_eq!(
        sent["pricing"],
        json!({"billable": false, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"})
    );
    let read = h
        .receiver
        .statuses()
        .into_iter()
        .find(|s| s["status"] == "read")
        .unwrap();
    assert!(
        read.get("pricing").is_none(),
        "pricing appears on sent and delivered only"
    );
    assert_eq!(
        h.receiver
            .bad_signatures
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    assert_eq!(
        h.receiver
            .handshakes
            .load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one GET handshake before the first POST"
    );
    // The inbound message arrived too, in Meta's shape.
    let inbound = &h.receiver.messages()[0];
    assert_eq!(inbound["from"], "16505551234");
    assert_eq!(inbound["text"]["body"], "Hi");
}

#[tokio::test]
async fn free_form_outside_the_window_is_accepted_then_fails_with_131047() {
    let h = Harness::start().await;
    h.customer_writing("16505551234").await;
    h.advance(24 * 3600 + 1).await;
    let wamid = h
        .graph
        .send(&h.number, &h.token, &text("16505551234", "Are you there?"))
        .await
        .unwrap()
        .wamid()
        .unwrap()
        .to_owned();
    h.advance(1).await;
    let failed = h
        .receiver
        .statuses()
        .into_iter()
        .find(|s| s["id"] == wamid)
        .unwrap();
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["errors"][0]["code"], 131047);
    assert_eq!(
        h.receiver.statuses_of(&wamid),
        ["failed"],
        "nothing after failed"
    );
}

#[tokio::test]
async fn malformed_requests_get_metas_errors() {
    let h = Harness::start().await;
    let cases = [
        (
            json!({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}),
            131008,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": "+16505551234", "type": "text"}),
            131008,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": "+16505551234", "type": "hologram", "hologram": {}}),
            131051,
        ),
        (
            json!({"to": "+16505551234", "type": "text", "text": {"body": "x"}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": "+16505551234", "type": "text", "text": {"body": "x".repeat(4097)}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": "+16505551234", "type": "image", "image": {}}),
            131008,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": "+16505551234", "type": "image", "image": {"id": "1", "link": "https://x/y.png"}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": "+16505551234", "type": "sticker", "sticker": {"id": "1", "caption": "no"}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": "+16505551234", "type": "location", "location": {"latitude": 91, "longitude": 0}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": "+16505551234", "type": "interactive", "interactive": {"type": "button", "body": {"text": "b"}, "action": {"buttons": []}}}),
            131009,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": "+16505551234", "type": "text", "text": 5}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": "not a number", "type": "text", "text": {"body": "x"}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": "+15550783881", "type": "text", "text": {"body": "x"}}),
            131021,
        ),
    ];
    for (body, expected) in cases {
        let (status, resp) = h.post_messages(body.clone()).await;
        assert_eq!(code(&resp), expected, "{body}");
        assert_eq!(status, ErrorCode(expected).http_status(), "{body}");
        assert!(resp["error"]["fbtrace_id"].is_string());
        assert!(
            resp["error"]["error_data"]["details"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{resp}"
        );
    }
    let outbox = h.em.outbox();
    assert_eq!(outbox.len(), 13, "every verdict is in the outbox");
    assert!(outbox.iter().all(|r| r.verdict == "rejected"));
}

#[tokio::test]
async fn auth_is_checked() {
    let h = Harness::start().await;
    let url = h.url(&format!("/v26.0/{}/messages", h.number));
    let body = json!({"messaging_product": "whatsapp", "to": "+16505551234", "type": "text", "text": {"body": "x"}});
    let r = h.http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(code(&r.json().await.unwrap()), 190);
    let r = h
        .http
        .post(&url)
        .bearer_auth("wrong")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(code(&r.json().await.unwrap()), 190);
    let read_only = "EAAG-emulator-read-only-token";
    let r = h
        .http
        .post(&url)
        .bearer_auth(read_only)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        code(&r.json().await.unwrap()),
        10,
        "a token without whatsapp_business_messaging"
    );
    let waba = h.em.config().waba_id.clone();
    let r = h
        .http
        .post(h.url(&format!("/v26.0/{waba}/message_templates")))
        .bearer_auth(read_only)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(&r.json().await.unwrap()), 200);
    let r = h
        .http
        .get(h.url(&format!("/v26.0/{}", h.number)))
        .bearer_auth(read_only)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "reads are allowed");
    let r = h
        .http
        .post(h.url("/v26.0/999999/messages"))
        .bearer_auth(&h.em.config().access_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (code(&e), e["error"]["error_subcode"].as_i64()),
        (100, Some(33)),
        "unknown phone number id"
    );
}

#[tokio::test]
async fn throughput_per_number_answers_130429() {
    let h = Harness::with(|c| c.numbers[0].throughput_mps = 5).await;
    let mut codes = Vec::new();
    for i in 0..12 {
        let to = format!("1650555{:04}", i);
        match h.graph.send(&h.number, &h.token, &text(&to, "hi")).await {
            Ok(_) => codes.push(0),
            Err(e) => {
                assert_eq!(e.retry_class(), RetryClass::Throttled);
                codes.push(e.code().unwrap().0)
            }
        }
    }
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 5, "{codes:?}");
    assert!(codes.iter().skip(5).all(|c| *c == 130429), "{codes:?}");
    h.advance(1).await;
    assert!(
        h.graph
            .send(&h.number, &h.token, &text("16505550001", "again"))
            .await
            .is_ok(),
        "the bucket refills"
    );
}

#[tokio::test]
async fn pair_rate_allows_a_burst_of_45_then_131056() {
    let h = Harness::start().await;
    h.customer_writing("16505551234").await;
    for i in 0..45 {
        h.graph
            .send(&h.number, &h.token, &text("16505551234", &format!("m{i}")))
            .await
            .unwrap();
    }
    let err = h
        .graph
        .send(&h.number, &h.token, &text("16505551234", "one more"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::PAIR_RATE_LIMIT));
    // Another recipient is unaffected.
    h.customer_writing("16505559999").await;
    assert!(
        h.graph
            .send(&h.number, &h.token, &text("16505559999", "hello"))
            .await
            .is_ok()
    );
    h.advance(6).await;
    assert!(
        h.graph
            .send(&h.number, &h.token, &text("16505551234", "later"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn every_session_type_is_accepted_in_the_window() {
    let h = Harness::start().await;
    let inbound = h.customer_writing("16505551234").await;
    let id = h
        .graph
        .upload_media(
            &h.number,
            &h.token,
            bytes::Bytes::from_static(b"\x89PNG fake"),
            "image/png",
            "a.png",
        )
        .await
        .unwrap();
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../cloudapi/tests/corpus/send");
    let mut sent = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.starts_with("send_") || name.contains("template") || name.contains("bsuid") {
            continue;
        }
        let mut body: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        body["to"] = json!("+16505551234");
        // Point media ids, reactions and replies at things this emulator knows.
        for kind in ["image", "audio", "video", "document", "sticker"] {
            if body[kind].get("id").is_some() {
                body[kind]["id"] = json!(id);
            }
        }
        if body.get("reaction").is_some() {
            body["reaction"]["message_id"] = json!(inbound);
        }
        if body.get("context").is_some() {
            body["context"]["message_id"] = json!(inbound);
        }
        let (status, resp) = h.post_messages(body).await;
        assert_eq!(status, 200, "{name}: {resp}");
        sent += 1;
    }
    assert!(sent >= 20, "only {sent} corpus sends");
    h.advance(10).await;
    let failed: Vec<_> = h
        .receiver
        .statuses()
        .into_iter()
        .filter(|s| s["status"] == "failed")
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
}

#[tokio::test]
async fn reactions_only_get_sent_and_voice_notes_get_played() {
    let h = Harness::start().await;
    let inbound = h.customer_writing("16505551234").await;
    let reaction = SendRequest::new(
        Recipient::Phone("+16505551234".into()),
        OutboundContent::reaction(&inbound, "👍").unwrap(),
    );
    let r = h
        .graph
        .send(&h.number, &h.token, &reaction)
        .await
        .unwrap()
        .wamid()
        .unwrap()
        .to_owned();
    let id = h
        .graph
        .upload_media(
            &h.number,
            &h.token,
            bytes::Bytes::from_static(b"OggS voice"),
            "audio/ogg",
            "v.ogg",
        )
        .await
        .unwrap();
    let voice = SendRequest::new(
        Recipient::Phone("+16505551234".into()),
        OutboundContent::voice_note(switchboard_cloudapi::send::MediaSource::Id(id)).unwrap(),
    );
    let v = h
        .graph
        .send(&h.number, &h.token, &voice)
        .await
        .unwrap()
        .wamid()
        .unwrap()
        .to_owned();
    h.advance(10).await;
    assert_eq!(h.receiver.statuses_of(&r), ["sent"]);
    assert_eq!(
        h.receiver.statuses_of(&v),
        ["sent", "delivered", "read", "played"]
    );
}

#[tokio::test]
async fn a_reaction_to_an_unknown_message_fails_with_131009() {
    let h = Harness::start().await;
    h.customer_writing("16505551234").await;
    let reaction = SendRequest::new(
        Recipient::Phone("+16505551234".into()),
        OutboundContent::reaction("wamid.UNKNOWN", "👍").unwrap(),
    );
    let wamid = h
        .graph
        .send(&h.number, &h.token, &reaction)
        .await
        .unwrap()
        .wamid()
        .unwrap()
        .to_owned();
    h.advance(1).await;
    let s = h
        .receiver
        .statuses()
        .into_iter()
        .find(|s| s["id"] == wamid)
        .unwrap();
    assert_eq!(
        (s["status"].as_str(), s["errors"][0]["code"].as_i64()),
        (Some("failed"), Some(131009))
    );
}

#[tokio::test]
async fn mark_read_and_typing() {
    let h = Harness::start().await;
    let inbound = h.customer_writing("16505551234").await;
    h.graph
        .mark_read(&h.number, &h.token, &MarkRead::new(&inbound).with_typing())
        .await
        .unwrap();
    let err = h
        .graph
        .mark_read(&h.number, &h.token, &MarkRead::new("wamid.nope"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::PARAMETER_VALUE_INVALID));
}

#[tokio::test]
async fn bsuid_recipients() {
    let h = Harness::start().await;
    h.customer_writing("16505551234").await;
    let bsuid = h.em.customer("16505551234").unwrap().user_id;
    let req = SendRequest::new(
        Recipient::Bsuid(bsuid.clone()),
        OutboundContent::text("hi", false).unwrap(),
    );
    let resp = h.graph.send(&h.number, &h.token, &req).await.unwrap();
    let contact = &resp.contacts.as_ref().unwrap()[0];
    assert_eq!(contact.input.as_deref(), Some(bsuid.as_str()));
    assert_eq!(contact.user_id.as_deref(), Some(bsuid.as_str()));
    assert!(contact.wa_id.is_none(), "no phone echoed for a BSUID send");
    let unknown = SendRequest::new(
        Recipient::Bsuid("US.1".into()),
        OutboundContent::text("hi", false).unwrap(),
    );
    let err = h
        .graph
        .send(&h.number, &h.token, &unknown)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::UNDELIVERABLE));
}

#[tokio::test]
async fn interactive_limits() {
    let h = Harness::start().await;
    h.customer_writing("16505551234").await;
    let ok = Interactive::buttons("Pick one", &[("a", "Yes"), ("b", "No")]).unwrap();
    let req = SendRequest::new(
        Recipient::Phone("+16505551234".into()),
        OutboundContent::Interactive(ok),
    );
    assert!(h.graph.send(&h.number, &h.token, &req).await.is_ok());
    let mut bad = serde_json::to_value(&req).unwrap();
    bad["interactive"]["action"]["buttons"][1]["reply"]["title"] = json!("Yes");
    let (_, resp) = h.post_messages(bad).await;
    assert_eq!(code(&resp), 131009, "duplicate titles");
}

#[tokio::test]
async fn graph_client_classifies_errors() {
    let h = Harness::start().await;
    let bad = switchboard_graph::GraphClient::new(
        &h.running.base_url,
        "v26.0",
        std::time::Duration::from_secs(2),
    );
    let err = bad
        .send(
            &h.number,
            &secrecy::SecretString::from("nope".to_owned()),
            &text("16505551234", "x"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, GraphCallError::Graph { status: 401, .. }));
    assert_eq!(err.retry_class(), RetryClass::Auth);
    let nowhere = switchboard_graph::GraphClient::new(
        "http://127.0.0.1:9",
        "v26.0",
        std::time::Duration::from_secs(2),
    );
    let err = nowhere
        .send(&h.number, &h.token, &text("16505551234", "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, GraphCallError::Connect(_)), "{err:?}");
    assert!(!err.is_ambiguous());
}
