//! Campaigns end to end: an audience queued through the send policy, progress through the API
//! and over SSE, pause, resume, cancel, a schedule, an opt-out after queueing, and the automatic
//! pause when the number's quality turns RED.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_domain::{Role, UnixMs};
use switchboard_store::testing::{TestDatabase, sqlite};

use crate::helpers::{TestApp, error_code};

fn template() -> Value {
    json!({"name": "order_shipped", "language": "en_US", "category": "UTILITY", "components": [
        {"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped.", "example": {"body_text": [["Ann", "42"]]}}
    ]})
}

fn params(name: &str, order: &str) -> Value {
    json!([{"type": "body", "parameters": [{"type": "text", "text": name}, {"type": "text", "text": order}]}])
}

fn campaign(recipients: &[&str]) -> Value {
    json!({
        "name": "Shipping notices",
        "template": {"name": "order_shipped", "language": "en_US"},
        "components": params("there", "0"),
        "recipients": recipients.iter().map(|r| json!({"to": format!("+{r}")})).collect::<Vec<_>>(),
    })
}

impl TestApp {
    async fn start_campaign(&self, admin: &str, body: &Value) -> Value {
        let r = self.post_json("/api/v1/campaigns", admin, body, &[]).await;
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, 201, "{v}");
        v
    }

    async fn progress(&self, key: &str, id: &Value) -> Value {
        self.get_json(&format!("/api/v1/campaigns/{id}"), key).await
    }

    async fn drain_outbox(&self, now: UnixMs) {
        while self.dispatcher.run_once(now).await.unwrap() > 0 {}
    }
}

async fn a_campaign_reaches_its_audience_and_reports_progress_live(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    let admin = app.key(Role::Admin).await;
    let agent = app.key(Role::Agent).await;
    app.approved_template(template(), &admin).await;

    // One customer opted out earlier: the campaign counts them as refused.
    let earlier = app
        .post_json("/api/v1/messages", &agent, &json!({"to": "+16505550005", "type": "template",
            "template": {"name": "order_shipped", "language": {"code": "en_US"}, "components": params("Eve", "1")}}), &[])
        .await;
    assert_eq!(earlier.status(), 202);
    let contact = earlier.json::<Value>().await.unwrap()["contact_id"].clone();
    app.drain_outbox(UnixMs::now()).await;
    let r = app
        .post_json(
            &format!("/api/v1/contacts/{contact}/consent"),
            &agent,
            &json!({"purpose": "all", "action": "opt_out", "source": "keyword"}),
            &[],
        )
        .await;
    assert_eq!(r.status(), 201);

    let mut body = campaign(&[
        "16505550001",
        "16505550002",
        "16505550003",
        "16505550004",
        "16505550005",
    ]);
    body["recipients"][0]["components"] = params("Ann", "42");
    let r = app.post_json("/api/v1/campaigns", &agent, &body, &[]).await;
    assert_eq!(r.status(), 403, "agents cannot start campaigns");
    let c = app.start_campaign(&admin, &body).await;
    assert_eq!(c["state"], "running", "{backend:?}");
    assert_eq!(c["progress"]["total"], 5);
    assert_eq!(c["progress"]["queued"], 4);
    assert_eq!(c["progress"]["refused"], 1);

    // Live progress: the first event is the current state.
    let mut sse = app
        .http
        .get(format!("{}/api/v1/campaigns/{}/events", app.base, c["id"]))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), 200);
    assert!(
        sse.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let first = read_event(&mut sse).await;
    assert_eq!(first["progress"]["queued"], 4, "{first}");

    app.drain_outbox(UnixMs::now()).await;
    let next = read_event(&mut sse).await;
    assert_eq!(
        next["progress"]["accepted"].as_i64().unwrap() + next["progress"]["sent"].as_i64().unwrap(),
        4,
        "{next}"
    );

    app.em.advance(Duration::from_secs(10));
    app.settle().await;
    let done = app.progress(&agent, &c["id"]).await;
    assert_eq!(done["progress"]["read"], 4, "{backend:?}: {done}");
    assert_eq!(done["finished"], true);
    // The per-recipient parameters went to that recipient only; the opted-out one got nothing.
    let outbox = app.em.outbox();
    let to_ann = outbox
        .iter()
        .find(|r| r.to.as_deref() == Some("+16505550001"))
        .unwrap();
    assert!(String::from_utf8_lossy(&to_ann.request).contains("Ann"));
    assert_eq!(
        outbox
            .iter()
            .filter(|r| r.to.as_deref() == Some("+16505550005"))
            .count(),
        1,
        "only the earlier message"
    );

    let list = app.get_json("/api/v1/campaigns", &agent).await;
    assert_eq!(list["data"][0]["id"], c["id"]);
}

/// Reads one SSE event's JSON data (bounded wait).
async fn read_event(resp: &mut reqwest::Response) -> Value {
    let mut buf = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(end) = buf.find("\n\n") {
            let block = &buf[..end];
            if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                return serde_json::from_str(data).unwrap();
            }
            buf = buf[end + 2..].to_owned();
            continue;
        }
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .expect("the stream stays open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn pause_resume_cancel_schedule_and_an_opt_out_after_queueing(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    let admin = app.key(Role::Admin).await;
    app.approved_template(template(), &admin).await;

    // Paused before anything went: nothing is claimed until it is resumed.
    let c = app
        .start_campaign(
            &admin,
            &campaign(&["16505551001", "16505551002", "16505551003"]),
        )
        .await;
    let id = c["id"].clone();
    let paused = app
        .post_json(
            &format!("/api/v1/campaigns/{id}/pause"),
            &admin,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(paused.status(), 200);
    assert_eq!(
        app.dispatcher.run_once(UnixMs::now()).await.unwrap(),
        0,
        "{backend:?}"
    );
    let again = app
        .post_json(
            &format!("/api/v1/campaigns/{id}/pause"),
            &admin,
            &json!({}),
            &[],
        )
        .await;
    let (status, code, _) = error_code(again).await;
    assert_eq!((status, code.as_str()), (409, "campaign_state"));

    let counts = app.store.outbound_counts(&app.number).await.unwrap();
    assert_eq!(counts.get("paused"), Some(&3));
    let r = app
        .post_json(
            &format!("/api/v1/campaigns/{id}/resume"),
            &admin,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(r.status(), 200);
    let queued: Value = r.json().await.unwrap();
    assert_eq!(queued["progress"]["queued"], 3);
    // A customer who opts out while the campaign waits gets nothing.
    let contact_id = app
        .store
        .contact_id_by_wa_id("16505551002")
        .await
        .unwrap()
        .unwrap();
    let r = app
        .post_json(&format!("/api/v1/contacts/{contact_id}/consent"), &admin, &json!({"purpose": "all", "action": "opt_out", "source": "keyword", "evidence": "STOP"}), &[])
        .await;
    assert_eq!(r.status(), 201);
    app.drain_outbox(UnixMs::now()).await;
    let p = app.progress(&admin, &id).await;
    assert_eq!(p["progress"]["refused"], 1, "{backend:?}: {p}");
    assert_eq!(p["progress"]["accepted"], 2);
    assert!(
        app.em
            .outbox()
            .iter()
            .all(|r| r.to.as_deref() != Some("+16505551002"))
    );

    // Scheduled an hour ahead: nothing goes before then.
    let mut later = campaign(&["16505552001", "16505552002"]);
    let at = UnixMs::now().0 + 3_600_000;
    later["schedule_at_ms"] = json!(at);
    let c2 = app.start_campaign(&admin, &later).await;
    assert_eq!(app.dispatcher.run_once(UnixMs::now()).await.unwrap(), 0);
    assert_eq!(app.dispatcher.run_once(UnixMs(at + 1)).await.unwrap(), 2);
    assert_eq!(
        app.progress(&admin, &c2["id"]).await["progress"]["accepted"],
        2
    );

    // Cancelled: what has not gone is cancelled, and it cannot be resumed.
    let c3 = app
        .start_campaign(&admin, &campaign(&["16505553001", "16505553002"]))
        .await;
    let r = app
        .post_json(
            &format!("/api/v1/campaigns/{}/cancel", c3["id"]),
            &admin,
            &json!({}),
            &[],
        )
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["state"], "cancelled");
    assert_eq!(v["progress"]["cancelled"], 2);
    let r = app
        .post_json(
            &format!("/api/v1/campaigns/{}/resume", c3["id"]),
            &admin,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(app.dispatcher.run_once(UnixMs::now()).await.unwrap(), 0);
}

#[tokio::test]
async fn a_campaign_pauses_itself_when_the_number_turns_red() {
    let app = TestApp::spawn(sqlite()).await;
    let admin = app.key(Role::Admin).await;
    app.approved_template(template(), &admin).await;
    let c = app
        .start_campaign(&admin, &campaign(&["16505554001", "16505554002"]))
        .await;
    app.faults(json!({"quality": "RED"})).await;
    app.settle().await;
    let p = app.progress(&admin, &c["id"]).await;
    assert_eq!(p["state"], "paused", "{p}");
    assert!(p["paused_reason"].as_str().unwrap().contains("RED"));
    assert_eq!(app.dispatcher.run_once(UnixMs::now()).await.unwrap(), 0);
    assert_eq!(app.em.outbox().len(), 0);
    // An operator who has looked into it resumes.
    let r = app
        .post_json(
            &format!("/api/v1/campaigns/{}/resume", c["id"]),
            &admin,
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.dispatcher.run_once(UnixMs::now()).await.unwrap(), 2);
}

async fn a_customers_stop_blocks_the_next_campaign_message_and_is_confirmed(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    let admin = app.key(Role::Admin).await;
    app.approved_template(template(), &admin).await;
    let c = app
        .start_campaign(&admin, &campaign(&["16505555001", "16505555002"]))
        .await;

    // The customer writes STOP while the campaign waits to go.
    app.customer_writes("16505555001", TestApp::text("Stop."));
    app.settle().await;
    let contact = app
        .store
        .contact_id_by_wa_id("16505555001")
        .await
        .unwrap()
        .unwrap();
    let consent = app
        .get_json(&format!("/api/v1/contacts/{contact}/consent"), &admin)
        .await;
    assert_eq!(
        consent["latest"]["all"], "opt_out",
        "{backend:?}: {consent}"
    );
    assert_eq!(consent["history"][0]["source"], "keyword");

    app.drain_outbox(UnixMs::now()).await;
    let p = app.progress(&admin, &c["id"]).await;
    assert_eq!(p["progress"]["refused"], 1, "{backend:?}: {p}");
    assert_eq!(p["progress"]["accepted"], 1);
    // What the customer got: the confirmation, not the campaign.
    let to_them: Vec<String> = app
        .em
        .outbox()
        .iter()
        .filter(|r| r.to.as_deref() == Some("+16505555001"))
        .map(|r| String::from_utf8_lossy(&r.request).into_owned())
        .collect();
    assert_eq!(to_them.len(), 1, "{to_them:?}");
    assert!(
        to_them[0].contains("You will not receive further messages"),
        "{}",
        to_them[0]
    );

    // Replaying the journal records nothing twice and sends no second confirmation.
    let r = app
        .post_json(
            "/api/v1/webhook-events/replay",
            &admin,
            &json!({"from_id": 1, "to_id": 1_000_000}),
            &[],
        )
        .await;
    assert_eq!(r.status(), 200);
    app.projector.drain().await.unwrap();
    assert_eq!(
        app.dispatcher.run_once(UnixMs::now()).await.unwrap(),
        0,
        "{backend:?}"
    );
    let again = app
        .get_json(&format!("/api/v1/contacts/{contact}/consent"), &admin)
        .await;
    assert_eq!(again["history"].as_array().unwrap().len(), 1);

    // START opts back in, with its own confirmation.
    app.customer_writes("16505555001", TestApp::text("start"));
    app.settle().await;
    let back = app
        .get_json(&format!("/api/v1/contacts/{contact}/consent"), &admin)
        .await;
    assert_eq!(back["latest"]["all"], "opt_in");
    app.drain_outbox(UnixMs::now()).await;
    assert!(
        app.em
            .outbox()
            .iter()
            .any(|r| String::from_utf8_lossy(&r.request).contains("subscribed again"))
    );
}

#[tokio::test]
async fn a_template_pushed_as_code_is_approved_by_webhook_then_sent() {
    let app = TestApp::spawn_full(sqlite(), |_| {}, &[], true).await;
    let key = app.key(Role::Agent).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("order_shipped.en_US.json"),
        serde_json::to_string_pretty(&template()).unwrap(),
    )
    .unwrap();

    // What `switchboard templates push` does: read, lint, plan against Meta, apply.
    let files = switchboard_server::template_files::read_dir(dir.path()).unwrap();
    assert!(switchboard_domain::lint::lint(&files[0].1).is_empty());
    let config = switchboard_server::config::Config::from_sources(
        None,
        |k| match k {
            "SWITCHBOARD_PHONE_NUMBER_ID" => Some(app.number.clone()),
            "SWITCHBOARD_WABA_ID" => Some(app.em.config().waba_id.clone()),
            "SWITCHBOARD_ACCESS_TOKEN" => Some(app.em.config().access_token.clone()),
            "SWITCHBOARD_APP_SECRET" => Some(app.em.config().app_secret.clone()),
            _ => None,
        },
        &Default::default(),
    )
    .unwrap();
    let number = &config.numbers[0];
    let graph = switchboard_graph::GraphClient::new(
        &app.emulator.base_url,
        &app.em.config().api_version,
        Duration::from_secs(5),
    );
    let remote = switchboard_server::template_files::remote(&graph, number)
        .await
        .unwrap();
    let plan = switchboard_domain::template_plan::plan(&files, &remote, false);
    assert!(matches!(
        plan[0],
        switchboard_domain::template_plan::Change::Create { .. }
    ));
    switchboard_server::template_files::apply(&graph, number, &plan[0])
        .await
        .unwrap();

    let send = json!({"to": "+16505556001", "type": "template", "template": {"name": "order_shipped", "language": {"code": "en_US"}, "components": params("Ann", "42")}});
    // In review: not sendable yet.
    let r = app
        .post_json("/api/v1/messages/check", &key, &send, &[])
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["allowed"], false, "{v}");

    // Meta's review ends; its webhook makes Switchboard pull the definition.
    app.em.advance(Duration::from_secs(31));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let r = app
            .post_json("/api/v1/messages/check", &key, &send, &[])
            .await;
        let v: Value = r.json().await.unwrap();
        if v["allowed"] == true {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never became sendable: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = app.post_json("/api/v1/messages", &key, &send, &[]).await;
    assert_eq!(r.status(), 202);
    let m: Value = r.json().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let got = app
            .get_json(&format!("/api/v1/messages/{}", m["id"]), &key)
            .await;
        if got["state"] == "accepted" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not sent: {got}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.em.outbox().len(), 1);
}

switchboard_store::per_backend!(
    a_campaign_reaches_its_audience_and_reports_progress_live,
    pause_resume_cancel_schedule_and_an_opt_out_after_queueing,
    a_customers_stop_blocks_the_next_campaign_message_and_is_confirmed,
);
