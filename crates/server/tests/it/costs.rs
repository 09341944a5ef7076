//! The cost ledger against the emulator's pricing objects, forecasts through the API, and a
//! campaign's estimate against the number's monthly budget.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_domain::{Role, UnixMs};
use switchboard_store::testing::{TestDatabase, sqlite};

use crate::helpers::{TestApp, error_code};

fn template(name: &str, category: &str) -> Value {
    json!({"name": name, "language": "en_US", "category": category, "components": [
        {"type": "BODY", "text": "Hi {{1}}, your order {{2}} has an update for you today.", "example": {"body_text": [["Ann", "42"]]}}]})
}

fn send(to: &str, name: &str) -> Value {
    json!({"to": format!("+{to}"), "type": "template", "template": {"name": name, "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ann"}, {"type": "text", "text": "42"}]}]}})
}

async fn approve(app: &TestApp, admin: &str, t: Value) {
    let r = app.post_json("/api/v1/templates", admin, &t, &[]).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    app.em.advance(Duration::from_secs(31));
    app.settle().await;
    assert_eq!(
        app.post_json("/api/v1/templates/sync", admin, &json!({}), &[])
            .await
            .status(),
        200
    );
}

async fn the_ledger_estimates_match_what_metas_pricing_objects_bill(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    let admin = app.key(Role::Admin).await;
    approve(&app, &admin, template("order_update", "UTILITY")).await;
    approve(&app, &admin, template("weekly_offers", "MARKETING")).await;

    // A customer in the window: a text reply and a utility template are free.
    app.customer_writes("16505550301", TestApp::text("where is my order?"));
    app.settle().await;
    for body in [
        json!({"to": "+16505550301", "type": "text", "text": {"body": "On its way!"}}),
        send("16505550301", "order_update"),
    ] {
        assert_eq!(
            app.post_json("/api/v1/messages", &admin, &body, &[])
                .await
                .status(),
            202
        );
    }
    // Outside a window: utility is charged (North America 0.0034), marketing always (0.0250).
    assert_eq!(
        app.post_json(
            "/api/v1/messages",
            &admin,
            &send("16505550302", "order_update"),
            &[]
        )
        .await
        .status(),
        202
    );
    let c = app
        .store
        .contact_id_by_wa_id("16505550301")
        .await
        .unwrap()
        .unwrap();
    app.post_json(
        &format!("/api/v1/contacts/{c}/consent"),
        &admin,
        &json!({"purpose": "marketing", "action": "opt_in", "source": "checkbox"}),
        &[],
    )
    .await;
    assert_eq!(
        app.post_json(
            "/api/v1/messages",
            &admin,
            &send("16505550301", "weekly_offers"),
            &[]
        )
        .await
        .status(),
        202
    );

    let before = app
        .get_json("/api/v1/costs?group_by=category", &admin)
        .await;
    assert_eq!(
        before["report"]["total"]["estimated"],
        3_400 + 25_000,
        "{backend:?}: {before}"
    );
    assert_eq!(before["report"]["total"]["reported"], 0);

    while app.dispatcher.run_once(UnixMs::now()).await.unwrap() > 0 {}
    app.em.advance(Duration::from_secs(10));
    app.settle().await;
    let after = app
        .get_json("/api/v1/costs?group_by=category", &admin)
        .await;
    let total = &after["report"]["total"];
    assert_eq!(total["messages"], 4, "{backend:?}: {after}");
    assert_eq!(
        total["reported"], 4,
        "every message got Meta's pricing object: {after}"
    );
    assert_eq!(total["billed"], total["estimated"], "{after}");
    assert_eq!(total["differences"], 0, "{after}");
    let groups = &after["report"]["groups"];
    assert_eq!(groups["marketing"]["billed"], 25_000);
    assert_eq!(groups["utility"]["messages"], 2);
    assert_eq!(groups["utility"]["billed"], 3_400);
    assert_eq!(groups["service"]["billed"], 0);
    let by_template = app
        .get_json("/api/v1/costs?group_by=template", &admin)
        .await;
    assert_eq!(
        by_template["report"]["groups"]["weekly_offers"]["estimated"],
        25_000
    );
    let r = app.get("/api/v1/costs?group_by=colour", Some(&admin)).await;
    assert_eq!(r.status(), 422);
}

#[tokio::test]
async fn a_forecast_prices_a_month_of_volumes() {
    let app = TestApp::spawn(sqlite()).await;
    let key = app.key(Role::Agent).await;
    let r = app
        .http
        .post(format!("{}/api/v1/forecast", app.base))
        .bearer_auth(&key)
        .body("country,category,monthly_volume,in_window_share\nIN,utility,1000,0.5\nUS,marketing,100,\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let f: Value = r.json().await.unwrap();
    // 500 charged India utility x 0.0014 = 0.70; 100 North America marketing x 0.0250 = 2.50.
    assert_eq!(f["total"], 700_000 + 2_500_000, "{f}");
    assert_eq!(f["saving_in_window"], 700_000);
    let r = app
        .http
        .post(format!("{}/api/v1/forecast", app.base))
        .bearer_auth(&key)
        .body("country,category,monthly_volume\nIN,carrier pigeon,5\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "forecast_invalid");
}

async fn a_campaign_over_the_monthly_budget_needs_confirmation(db: TestDatabase) {
    let app = TestApp::spawn_full(
        db,
        |_| {},
        &[("SWITCHBOARD_MONTHLY_BUDGET", "0.0100")],
        false,
    )
    .await;
    let admin = app.key(Role::Admin).await;
    approve(&app, &admin, template("order_update", "UTILITY")).await;
    let campaign = |to: &[&str]| {
        json!({"name": "notices", "template": {"name": "order_update", "language": "en_US"},
               "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ann"}, {"type": "text", "text": "42"}]}],
               "recipients": to.iter().map(|t| json!({"to": format!("+{t}")})).collect::<Vec<_>>()})
    };
    // Before it starts: what it would do and cost; nothing is stored or sent.
    let mut preview = campaign(&["16505550401", "16505550402", "16505550403", "16505550404"]);
    preview["dry_run"] = json!(true);
    let r = app
        .post_json("/api/v1/campaigns", &admin, &preview, &[])
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (
            v["would_send"].as_u64(),
            v["estimated_cost_micros"].as_i64()
        ),
        (Some(4), Some(13_600)),
        "{v}"
    );
    assert_eq!(v["over_budget"], true);
    assert!(
        app.store
            .outbound_counts(&app.number)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        app.get_json("/api/v1/campaigns", &admin).await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // 2 x 0.0034 = 0.0068: within the budget of 0.0100.
    let r = app
        .post_json(
            "/api/v1/campaigns",
            &admin,
            &campaign(&["16505550401", "16505550402"]),
            &[],
        )
        .await;
    assert_eq!(r.status(), 201);
    let c: Value = r.json().await.unwrap();
    assert_eq!(c["estimated_cost_micros"], 6_800);
    // Two more would make 0.0136: refused with the figures, and nothing of it will go.
    let r = app
        .post_json(
            "/api/v1/campaigns",
            &admin,
            &campaign(&["16505550403", "16505550404"]),
            &[],
        )
        .await;
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "budget_exceeded", "{v}");
    assert_eq!(v["error"]["details"]["month_to_date_micros"], 6_800);
    let cancelled = v["error"]["details"]["cancelled_campaign"].clone();
    let p = app
        .get_json(&format!("/api/v1/campaigns/{cancelled}"), &admin)
        .await;
    assert_eq!(p["state"], "cancelled");
    // Confirmed, it starts.
    let mut confirmed = campaign(&["16505550403", "16505550404"]);
    confirmed["confirm_budget"] = json!(true);
    let r = app
        .post_json("/api/v1/campaigns", &admin, &confirmed, &[])
        .await;
    assert_eq!(r.status(), 201);
    while app.dispatcher.run_once(UnixMs::now()).await.unwrap() > 0 {}
    assert_eq!(
        app.em.outbox().len(),
        4,
        "the cancelled campaign sent nothing"
    );
}

async fn a_campaign_over_its_teams_monthly_budget_needs_confirmation(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    let admin = app.key(Role::Admin).await;
    approve(&app, &admin, template("order_update", "UTILITY")).await;
    let put = |body: Value| {
        let (http, base, admin) = (app.http.clone(), app.base.clone(), admin.clone());
        async move {
            http.put(format!("{base}/api/v1/teams/Sales/budget"))
                .bearer_auth(admin)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let r = put(json!({"monthly_budget": "ten euros"})).await;
    assert_eq!(r.status(), 422, "{backend:?}");
    let r = put(json!({"monthly_budget": "0.0100"})).await;
    assert_eq!(r.status(), 200);
    let campaign = |team: &str, to: &[&str]| {
        json!({"name": "notices", "team": team, "template": {"name": "order_update", "language": "en_US"},
               "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ann"}, {"type": "text", "text": "42"}]}],
               "recipients": to.iter().map(|t| json!({"to": format!("+{t}")})).collect::<Vec<_>>()})
    };
    let r = app
        .post_json(
            "/api/v1/campaigns",
            &admin,
            &campaign("Nobody", &["16505550401"]),
            &[],
        )
        .await;
    let (status, code, _) = error_code(r).await;
    assert_eq!(
        (status, code.as_str()),
        (422, "invalid_request"),
        "an unknown team"
    );

    // The preview shows the team's figures.
    let mut preview = campaign(
        "Sales",
        &["16505550401", "16505550402", "16505550403", "16505550404"],
    );
    preview["dry_run"] = json!(true);
    let v: Value = app
        .post_json("/api/v1/campaigns", &admin, &preview, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["team"]["name"], "Sales", "{v}");
    assert_eq!(v["team"]["budget_micros"], 10_000);
    assert_eq!(v["team"]["over_budget"], true, "4 x 0.0034 > 0.0100");
    // 2 x 0.0034 fits; two more for the team do not; for no team they are the number's.
    let r = app
        .post_json(
            "/api/v1/campaigns",
            &admin,
            &campaign("Sales", &["16505550401", "16505550402"]),
            &[],
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = app
        .post_json(
            "/api/v1/campaigns",
            &admin,
            &campaign("Sales", &["16505550403", "16505550404"]),
            &[],
        )
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "team_budget_exceeded", "{v}");
    assert_eq!(v["error"]["details"]["month_to_date_micros"], 6_800);
    let mut other = campaign("Sales", &["16505550403", "16505550404"]);
    other.as_object_mut().unwrap().remove("team");
    let r = app
        .post_json("/api/v1/campaigns", &admin, &other, &[])
        .await;
    assert_eq!(r.status(), 201, "no team, no team budget");
    // Confirmed, it starts; cleared, the budget no longer applies.
    let mut confirmed = campaign("Sales", &["16505550405"]);
    confirmed["confirm_budget"] = json!(true);
    let r = app
        .post_json("/api/v1/campaigns", &admin, &confirmed, &[])
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(put(json!({"monthly_budget": null})).await.status(), 200);
    let r = app
        .post_json(
            "/api/v1/campaigns",
            &admin,
            &campaign("Sales", &["16505550406"]),
            &[],
        )
        .await;
    assert_eq!(r.status(), 201);
}

switchboard_store::per_backend!(
    the_ledger_estimates_match_what_metas_pricing_objects_bill,
    a_campaign_over_the_monthly_budget_needs_confirmation,
    a_campaign_over_its_teams_monthly_budget_needs_confirmation,
);
