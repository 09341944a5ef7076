//! The template registry API (list, detail with history, lint, create, delete) and contacts
//! with consent in and out as CSV.

use std::time::Duration;
use switchboard_store::testing::TestDatabase;

use serde_json::{Value, json};
use switchboard_domain::Role;

use crate::helpers::{TestApp, error_code};

fn shipped() -> Value {
    json!({"name": "order_shipped", "language": "en_US", "category": "UTILITY", "components": [
        {"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped and arrives soon.", "example": {"body_text": [["Ann", "42"]]}}]})
}

async fn templates_are_linted_created_listed_with_history_and_deleted(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    let admin = app.key(Role::Admin).await;
    let agent = app.key(Role::Agent).await;

    // Lint without creating.
    let mut bad = shipped();
    bad["components"][0]["text"] = json!("{{1}} 20% off today {{2}}");
    let r = app
        .post_json("/api/v1/templates/lint", &agent, &bad, &[])
        .await;
    let v: Value = r.json().await.unwrap();
    assert!(v["errors"].as_u64().unwrap() >= 2, "{v}");
    // Creating a template Meta would reject is refused, with the findings.
    let r = app.post_json("/api/v1/templates", &admin, &bad, &[]).await;
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "template_lint_failed");
    assert!(
        v["error"]["details"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "variable_at_start")
    );
    let r = app
        .post_json("/api/v1/templates", &agent, &shipped(), &[])
        .await;
    assert_eq!(r.status(), 403, "agents cannot create templates");

    let r = app
        .post_json("/api/v1/templates", &admin, &shipped(), &[])
        .await;
    assert_eq!(r.status(), 201, "{backend:?}");
    let list = app.get_json("/api/v1/templates", &agent).await;
    assert_eq!(list["data"][0]["status"], "PENDING", "{list}");
    assert_eq!(list["data"][0]["definition_known"], true);

    // Review by webhook: approved, with its history.
    app.em.advance(Duration::from_secs(31));
    app.settle().await;
    let one = app
        .get_json("/api/v1/templates/order_shipped/en_US", &agent)
        .await;
    assert_eq!(one["status"], "APPROVED", "{backend:?}: {one}");
    assert_eq!(one["history"][0]["event"], "APPROVED", "{one}");
    assert_eq!(one["definition"]["name"], "order_shipped");
    assert_eq!(one["findings"], json!([]));

    let r = app
        .http
        .delete(format!("{}/api/v1/templates/order_shipped/en_US", app.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app.get("/api/v1/templates/nope/en_US", Some(&agent)).await;
    let (status, code, _) = error_code(r).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
}

async fn contacts_and_consent_import_and_export_as_csv(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    let admin = app.key(Role::Admin).await;
    let post_csv = |body: &'static str| {
        app.http
            .post(format!("{}/api/v1/contacts/import", app.base))
            .bearer_auth(&admin)
            .header("content-type", "text/csv")
            .body(body)
            .send()
    };
    // One bad line refuses the file, naming every bad line.
    let r = post_csv("phone,name,marketing\n+16505550101,Ann,opt_in\nnot-a-phone,Bob,opt_in\n+16505550103,Cy,maybe\n").await.unwrap();
    let (status, code, _) = error_code(r).await;
    assert_eq!((status, code.as_str()), (422, "import_invalid"));
    let r = post_csv("phone,name,marketing\nnot-a-phone,Bob,opt_in\n")
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]["details"]["problems"][0]
            .as_str()
            .unwrap()
            .contains("line 2"),
        "{v}"
    );
    assert_eq!(
        app.store.contacts_with_consent().await.unwrap().len(),
        0,
        "nothing imported"
    );

    let r = post_csv("phone,name,marketing,all,source,evidence\n+16505550101,\"Ann, Jr.\",opt_in,,web_form,signup 2026-11-30\n16505550102,Bob,,opt_out,,\n").await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (
            v["contacts_created"].as_u64(),
            v["consents_recorded"].as_u64()
        ),
        (Some(2), Some(2)),
        "{backend:?}: {v}"
    );

    let csv = app.get("/api/v1/contacts/export.csv", Some(&admin)).await;
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let rows = switchboard_domain::csv::parse(&text).unwrap();
    assert_eq!(rows[0], ["phone", "bsuid", "name", "marketing", "all"]);
    assert!(
        rows.contains(&vec![
            "+16505550101".into(),
            "".into(),
            "Ann, Jr.".into(),
            "opt_in".into(),
            "".into()
        ]),
        "{text}"
    );
    assert!(
        rows.contains(&vec![
            "+16505550102".into(),
            "".into(),
            "Bob".into(),
            "".into(),
            "opt_out".into()
        ]),
        "{text}"
    );

    // The import is consent the send policy uses: Bob opted out of everything.
    let bob = app
        .store
        .contact_id_by_wa_id("16505550102")
        .await
        .unwrap()
        .unwrap();
    let consent = app
        .get_json(&format!("/api/v1/contacts/{bob}/consent"), &admin)
        .await;
    assert_eq!(consent["latest"]["all"], "opt_out");
    assert_eq!(consent["history"][0]["source"], "import");
    let r = app
        .get(
            "/api/v1/contacts/export.csv",
            Some(&app.key(Role::Agent).await),
        )
        .await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn metas_marketing_preference_is_part_of_the_consent_history() {
    let app = TestApp::spawn(switchboard_store::testing::sqlite()).await;
    let admin = app.key(Role::Admin).await;
    app.customer_writes("16505550201", TestApp::text("hello"));
    app.settle().await;
    let id = app
        .store
        .contact_id_by_wa_id("16505550201")
        .await
        .unwrap()
        .unwrap();
    let r = app
        .post_json(
            &format!("/api/v1/contacts/{id}/consent"),
            &admin,
            &json!({"purpose": "marketing", "action": "opt_in", "source": "checkbox"}),
            &[],
        )
        .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["latest"]["marketing"], "opt_in");
    // The customer stops marketing in WhatsApp: Meta's webhook is the newest record.
    app.em.advance(Duration::from_secs(5));
    app.em
        .set_marketing_preference("16505550201", &app.number, true)
        .unwrap();
    app.settle().await;
    let v = app
        .get_json(&format!("/api/v1/contacts/{id}/consent"), &admin)
        .await;
    assert_eq!(v["latest"]["marketing"], "opt_out", "{v}");
    assert_eq!(v["history"][0]["source"], "meta_user_preferences");
}

/// Templates as code through the API (what the admin page uses): plan (diff), push, export
/// (pull), the same as the CLI's commands over a folder.
async fn templates_are_planned_pushed_and_exported_through_the_api(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    let admin = app.key(Role::Admin).await;
    let agent = app.key(Role::Agent).await;
    let plan = |key: String, body: Value| {
        let (http, base) = (app.http.clone(), app.base.clone());
        async move {
            http.post(format!("{base}/api/v1/templates/plan"))
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        plan(agent.clone(), shipped()).await.status(),
        403,
        "admins'"
    );
    let v: Value = plan(admin.clone(), json!([shipped()]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["changes"][0]["action"], "create", "{backend:?}: {v}");
    assert!(
        v["changes"][0]["description"]
            .as_str()
            .unwrap()
            .starts_with("+ create")
    );
    assert_eq!(v["lint"][0]["findings"], json!([]), "{v}");
    assert!(
        !app.get_json("/api/v1/templates", &admin)
            .await
            .to_string()
            .contains("order_shipped"),
        "a plan changes nothing at Meta"
    );
    // The same template twice is refused.
    let (status, _, msg) = error_code(
        app.post_json(
            "/api/v1/templates/plan",
            &admin,
            &json!([shipped(), shipped()]),
            &[],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        msg.contains("order_shipped.en_US.json is given twice"),
        "{msg}"
    );

    // Push: linted first; an error refuses everything.
    let mut bad = shipped();
    bad["name"] = json!("Bad Name");
    let r = app
        .post_json(
            "/api/v1/templates/push",
            &admin,
            &json!([shipped(), bad]),
            &[],
        )
        .await;
    let (status, code, _) = error_code(r).await;
    assert_eq!((status, code.as_str()), (422, "template_lint_failed"));
    let r = app
        .post_json("/api/v1/templates/push", &admin, &shipped(), &[])
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["changes"][0]["applied"], true, "{v}");
    assert_eq!(
        (v["ok"].as_bool(), v["applied"].as_u64()),
        (Some(true), Some(1))
    );
    let v: Value = plan(admin.clone(), shipped()).await.json().await.unwrap();
    assert_eq!(v["changes"][0]["action"], "unchanged", "{backend:?}: {v}");
    // The registry has it, and the export is the file to keep.
    let list = app.get_json("/api/v1/templates", &admin).await;
    assert!(list.to_string().contains("order_shipped"), "{list}");
    let files = app.get_json("/api/v1/templates/export", &admin).await;
    assert_eq!(files[0]["name"], "order_shipped", "{files}");
    assert!(files[0].get("id").is_none(), "Meta's ids are not in files");
    // What was exported pushes back as it is: nothing to change.
    let v: Value = app
        .post_json("/api/v1/templates/push", &admin, &files, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["changes"][0]["action"], "unchanged", "{v}");
    assert_eq!(
        (v["ok"].as_bool(), v["applied"].as_u64()),
        (Some(true), Some(0))
    );
    // A category change of an approved template cannot be made: reported, not ok.
    let mut marketing = shipped();
    marketing["category"] = json!("MARKETING");
    app.em.advance(Duration::from_secs(31));
    app.settle().await;
    let v: Value = app
        .post_json("/api/v1/templates/push", &admin, &marketing, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["ok"], false, "{backend:?}: {v}");
    assert_eq!(v["conflicts"], 1, "{v}");
}

switchboard_store::per_backend!(
    templates_are_linted_created_listed_with_history_and_deleted,
    contacts_and_consent_import_and_export_as_csv,
    templates_are_planned_pushed_and_exported_through_the_api,
);
