use serde_json::{Value, json};
use switchboard_cloudapi::send::{OutboundContent, Parameter, Recipient, SendRequest, Template};

use crate::harness::{Harness, code};

fn utility() -> Value {
    json!({"name": "order_shipped", "language": "en_US", "category": "UTILITY", "components": [
        {"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped.", "example": {"body_text": [["Ann", "42"]]}},
        {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Track", "url": "https://example.com/t/{{1}}", "example": ["https://example.com/t/42"]}]}
    ]})
}

fn marketing() -> Value {
    json!({"name": "summer_sale", "language": "en_US", "category": "MARKETING", "components": [
        {"type": "BODY", "text": "Hi {{first_name}}, 20% off everything this week.", "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Ann"}]}}
    ], "parameter_format": "NAMED"})
}

fn send_utility(to: &str, params: Vec<Parameter>) -> SendRequest {
    let t = Template::new("order_shipped", "en_US")
        .unwrap()
        .body(params)
        .unwrap()
        .button("url", 0, Parameter::text("42"))
        .unwrap();
    SendRequest::new(
        Recipient::Phone(format!("+{to}")),
        OutboundContent::Template(t),
    )
}

fn send_marketing(to: &str) -> SendRequest {
    let t = Template::new("summer_sale", "en_US")
        .unwrap()
        .body(vec![Parameter::named("first_name", "Ann")])
        .unwrap();
    SendRequest::new(
        Recipient::Phone(format!("+{to}")),
        OutboundContent::Template(t),
    )
}

#[tokio::test]
async fn a_template_is_reviewed_approved_by_webhook_then_sent_with_regular_pricing() {
    let h = Harness::start().await;
    let id = h.approved_template(utility()).await;
    let updates = h.receiver.field("message_template_status_update");
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["event"], "APPROVED");
    assert_eq!(
        updates[0]["message_template_id"].to_string(),
        id,
        "a number in the webhook"
    );
    let body = h.receiver.bodies.lock().unwrap().last().cloned().unwrap();
    assert!(
        body["entry"][0]["time"].is_i64(),
        "management webhooks carry entry.time"
    );

    // No window: a utility template is business-initiated and charged.
    let wamid = h
        .graph
        .send(
            &h.number,
            &h.token,
            &send_utility(
                "16505551234",
                vec![Parameter::text("Ann"), Parameter::text("42")],
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        wamid.messages.as_ref().unwrap()[0]
            .message_status
            .as_deref(),
        Some("accepted")
    );
    h.advance(2).await;
    let sent = h
        .receiver
        .statuses()
        .into_iter()
        .find(|s| s["status"] == "sent")
        .unwrap();
    assert_eq!(sent["pricing"]["type"], "regular");
    assert_eq!(sent["pricing"]["category"], "utility");

    // Inside the window the same template is free.
    h.customer_writing("16505559999").await;
    let w = h
        .graph
        .send(
            &h.number,
            &h.token,
            &send_utility(
                "16505559999",
                vec![Parameter::text("Bo"), Parameter::text("43")],
            ),
        )
        .await
        .unwrap();
    h.advance(2).await;
    let s = h
        .receiver
        .statuses()
        .into_iter()
        .find(|s| s["id"] == w.wamid().unwrap() && s["status"] == "sent")
        .unwrap();
    assert_eq!(s["pricing"]["type"], "free_customer_service");
}

#[tokio::test]
async fn review_rejects_misused_variables_and_promotional_utility() {
    let h = Harness::start().await;
    let waba = h.em.config().waba_id.clone();
    let adjacent = json!({"name": "adjacent", "language": "en", "category": "UTILITY", "components": [
        {"type": "BODY", "text": "Order {{1}}{{2}} is ready.", "example": {"body_text": [["a", "b"]]}}]});
    let promo = json!({"name": "promo_as_utility", "language": "en", "category": "UTILITY", "components": [
        {"type": "BODY", "text": "Hi {{1}}, enjoy a 20% discount today only!", "example": {"body_text": [["a"]]}}]});
    let no_sample = json!({"name": "no_sample", "language": "en", "category": "UTILITY", "components": [
        {"type": "BODY", "text": "Hi {{1}}, your order is ready."}]});
    for t in [&adjacent, &promo, &no_sample] {
        h.graph.create_template(&waba, &h.token, t).await.unwrap();
    }
    h.advance(31).await;
    let updates = h.receiver.field("message_template_status_update");
    let reason = |name: &str| {
        updates
            .iter()
            .find(|u| u["message_template_name"] == name)
            .map(|u| (u["event"].clone(), u["reason"].clone()))
    };
    assert_eq!(
        reason("adjacent"),
        Some((json!("REJECTED"), json!("INVALID_FORMAT")))
    );
    assert_eq!(
        reason("promo_as_utility"),
        Some((json!("REJECTED"), json!("INCORRECT_CATEGORY")))
    );
    assert_eq!(
        reason("no_sample"),
        Some((json!("REJECTED"), json!("INVALID_FORMAT")))
    );
    let err = h
        .graph
        .create_template(
            &waba,
            &h.token,
            &json!({"name": "Bad Name", "language": "en", "category": "UTILITY", "components": []}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code().unwrap().0, 100);
}

#[tokio::test]
async fn send_time_template_checks() {
    let h = Harness::start().await;
    h.approved_template(utility()).await;
    h.approved_template(marketing()).await;
    let check = |req: SendRequest, expected: i64| {
        let h = &h;
        async move {
            let err = h.graph.send(&h.number, &h.token, &req).await.unwrap_err();
            assert_eq!(
                err.code().unwrap().0,
                expected,
                "{}",
                serde_json::to_string(&req).unwrap()
            );
        }
    };
    check(
        send_utility("16505551234", vec![Parameter::text("Ann")]),
        132000,
    )
    .await;
    check(
        send_utility(
            "16505551234",
            vec![Parameter::named("x", "Ann"), Parameter::named("y", "42")],
        ),
        132012,
    )
    .await;
    check(
        send_utility(
            "16505551234",
            vec![Parameter::text("Ann\nSmith"), Parameter::text("42")],
        ),
        132018,
    )
    .await;
    check(
        send_utility(
            "16505551234",
            vec![Parameter::text("Ann     Smith"), Parameter::text("42")],
        ),
        132018,
    )
    .await;
    let t = Template::new("order_shipped", "en_US")
        .unwrap()
        .body(vec![Parameter::text("a"), Parameter::text("b")])
        .unwrap();
    check(
        SendRequest::new(
            Recipient::Phone("+16505551234".into()),
            OutboundContent::Template(t),
        ),
        132000,
    )
    .await; // URL button param missing
    let t = Template::new("nope", "en_US").unwrap();
    check(
        SendRequest::new(
            Recipient::Phone("+16505551234".into()),
            OutboundContent::Template(t),
        ),
        132001,
    )
    .await;
    let t = Template::new("order_shipped", "pt_BR").unwrap();
    check(
        SendRequest::new(
            Recipient::Phone("+16505551234".into()),
            OutboundContent::Template(t),
        ),
        132001,
    )
    .await;
    let long = "x".repeat(1020);
    check(
        send_utility(
            "16505551234",
            vec![Parameter::text(long), Parameter::text("42")],
        ),
        132005,
    )
    .await;

    // Paused and disabled templates, through the faults API.
    let r = h
        .http
        .post(h.url("/_emulator/faults"))
        .json(&json!({"template_paused": {"name": "summer_sale", "language": "en_US"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    check(send_marketing("16505551234"), 132015).await;
    h.http
        .post(h.url("/_emulator/faults"))
        .json(&json!({"template_disabled": {"name": "summer_sale", "language": "en_US"}}))
        .send()
        .await
        .unwrap();
    check(send_marketing("16505551234"), 132016).await;
    h.settle().await;
    let events: Vec<_> = h
        .receiver
        .field("message_template_status_update")
        .iter()
        .map(|u| u["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(events, ["APPROVED", "APPROVED", "PAUSED", "DISABLED"]);
}

#[tokio::test]
async fn marketing_respects_opt_out_and_the_per_user_cap() {
    let h = Harness::with(|c| c.marketing_cap_per_user = 1).await;
    h.approved_template(marketing()).await;
    h.em.add_customer(switchboard_emulator::Customer::new("16505551234", None));
    h.em.add_customer(switchboard_emulator::Customer::new("16505559999", None));
    // Opt-out through the control API.
    let r = h
        .http
        .post(h.url("/_emulator/customers/16505551234/marketing"))
        .json(&json!({"value": "stop"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let a = h
        .graph
        .send(&h.number, &h.token, &send_marketing("16505551234"))
        .await
        .unwrap()
        .wamid()
        .unwrap()
        .to_owned();
    let b1 = h
        .graph
        .send(&h.number, &h.token, &send_marketing("16505559999"))
        .await
        .unwrap()
        .wamid()
        .unwrap()
        .to_owned();
    let b2 = h
        .graph
        .send(&h.number, &h.token, &send_marketing("16505559999"))
        .await
        .unwrap()
        .wamid()
        .unwrap()
        .to_owned();
    h.advance(2).await;
    let code_of = |id: &str| {
        h.receiver
            .statuses()
            .into_iter()
            .find(|s| s["id"] == id && s["status"] == "failed")
            .map(|s| s["errors"][0]["code"].as_i64().unwrap())
    };
    assert_eq!(code_of(&a), Some(131050));
    assert_eq!(code_of(&b1), None);
    assert_eq!(code_of(&b2), Some(131049));
    let prefs = h.receiver.field("user_preferences");
    assert_eq!(prefs[0]["user_preferences"][0]["value"], "stop");
    assert!(prefs[0]["user_preferences"][0]["timestamp"].is_i64());
    // A day later the cap has rolled.
    h.advance(86_401).await;
    let b3 = h
        .graph
        .send(&h.number, &h.token, &send_marketing("16505559999"))
        .await
        .unwrap()
        .wamid()
        .unwrap()
        .to_owned();
    h.advance(2).await;
    assert_eq!(code_of(&b3), None);
}

#[tokio::test]
async fn the_messaging_limit_counts_unique_users_outside_the_window() {
    let h = Harness::with(|c| {
        c.messaging_limit = switchboard_emulator::MessagingLimit::Tier250;
        c.numbers[0].throughput_mps = 10_000;
    })
    .await;
    h.approved_template(utility()).await;
    let mut ids = Vec::new();
    for i in 0..251 {
        let to = format!("1650600{i:04}");
        ids.push(
            h.graph
                .send(
                    &h.number,
                    &h.token,
                    &send_utility(&to, vec![Parameter::text("A"), Parameter::text("1")]),
                )
                .await
                .unwrap()
                .wamid()
                .unwrap()
                .to_owned(),
        );
    }
    // The same users again cost nothing more.
    let again = h
        .graph
        .send(
            &h.number,
            &h.token,
            &send_utility(
                "16506000000",
                vec![Parameter::text("A"), Parameter::text("1")],
            ),
        )
        .await
        .unwrap();
    h.advance(2).await;
    let failed: Vec<_> = h
        .receiver
        .statuses()
        .into_iter()
        .filter(|s| s["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["id"], ids[250].as_str());
    assert_eq!(failed[0]["errors"][0]["code"], 131064);
    assert!(
        h.receiver
            .statuses_of(again.wamid().unwrap())
            .contains(&"sent".to_owned())
    );
}

#[tokio::test]
async fn authentication_templates_cannot_go_to_a_bsuid() {
    let h = Harness::start().await;
    h.approved_template(
        json!({"name": "otp", "language": "en_US", "category": "AUTHENTICATION", "components": [
        {"type": "BODY", "text": "Your code is {{1}}.", "example": {"body_text": [["123456"]]}}]}),
    )
    .await;
    h.customer_writing("16505551234").await;
    let bsuid = h.em.customer("16505551234").unwrap().user_id;
    let t = Template::new("otp", "en_US")
        .unwrap()
        .body(vec![Parameter::text("123456")])
        .unwrap();
    let err = h
        .graph
        .send(
            &h.number,
            &h.token,
            &SendRequest::new(Recipient::Bsuid(bsuid), OutboundContent::Template(t)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code().unwrap().0, 131062);
}

#[tokio::test]
async fn templates_list_with_paging_and_delete() {
    let h = Harness::start().await;
    let waba = h.em.config().waba_id.clone();
    for i in 0..5 {
        let mut t = utility();
        t["name"] = json!(format!("t_{i}"));
        h.graph.create_template(&waba, &h.token, &t).await.unwrap();
    }
    let page1 = h
        .graph
        .list_templates(&waba, &h.token, 2, None)
        .await
        .unwrap();
    assert_eq!(page1["data"].as_array().unwrap().len(), 2);
    assert!(page1["paging"]["next"].is_string());
    let after = page1["paging"]["cursors"]["after"].as_str().unwrap();
    let page2 = h
        .graph
        .list_templates(&waba, &h.token, 2, Some(after))
        .await
        .unwrap();
    assert_eq!(page2["data"][0]["name"], "t_2");
    let page3 = h
        .graph
        .list_templates(
            &waba,
            &h.token,
            2,
            Some(page2["paging"]["cursors"]["after"].as_str().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(page3["data"].as_array().unwrap().len(), 1);
    assert!(page3["paging"].get("next").is_none());
    h.graph
        .delete_template(&waba, &h.token, "t_0")
        .await
        .unwrap();
    let all = h
        .graph
        .list_templates(&waba, &h.token, 100, None)
        .await
        .unwrap();
    assert_eq!(all["data"].as_array().unwrap().len(), 4);
    assert!(
        h.graph
            .delete_template(&waba, &h.token, "t_0")
            .await
            .is_err()
    );
    let _ = code;
}
