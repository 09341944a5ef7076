use serde_json::json;
use switchboard_domain::Role;
use switchboard_store::testing::TestDatabase;

use crate::helpers::{TestApp, error_code};

async fn every_api_request_needs_a_valid_key(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    let (status, code, _) = error_code(app.get("/api/v1/whoami", None).await).await;
    assert_eq!(
        (status, code.as_str()),
        (401, "missing_credentials"),
        "{backend:?}"
    );
    let bogus = format!("sbk_{}", "0".repeat(64));
    let (status, code, _) = error_code(app.get("/api/v1/whoami", Some(&bogus)).await).await;
    assert_eq!((status, code.as_str()), (401, "invalid_credentials"));
    let (status, code, _) = error_code(app.get("/api/v1/whoami", Some("not-a-key")).await).await;
    assert_eq!((status, code.as_str()), (401, "invalid_credentials"));

    let agent = app.key(Role::Agent).await;
    let me: serde_json::Value = app
        .get("/api/v1/whoami", Some(&agent))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "agent");
    // The store never saw the plaintext.
    let keys = app.store.list_api_keys().await.unwrap();
    assert!(
        keys.iter()
            .all(|k| !agent.contains(&k.prefix[4..]) || agent.starts_with(&k.prefix))
    );
    assert!(keys[0].last_used_at_ms.is_some(), "use is recorded");
}

async fn admins_manage_keys_and_agents_cannot(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.key(Role::Admin).await;
    let agent = app.key(Role::Agent).await;

    let (status, code, message) = error_code(app.get("/api/v1/api-keys", Some(&agent)).await).await;
    assert_eq!((status, code.as_str()), (403, "forbidden"));
    assert!(message.contains("admin"), "{message}");
    let r = app
        .http
        .post(format!("{}/api/v1/api-keys", app.base))
        .bearer_auth(&agent)
        .json(&json!({"name": "x", "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "an agent cannot mint an admin key");

    let created: serde_json::Value = app
        .http
        .post(format!("{}/api/v1/api-keys", app.base))
        .bearer_auth(&admin)
        .json(&json!({"name": "crm", "role": "agent"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_key = created["key"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/api/v1/whoami", Some(&new_key)).await.status(),
        200
    );

    let listed: Vec<serde_json::Value> = app
        .get("/api/v1/api-keys", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 3);
    assert!(
        listed
            .iter()
            .all(|k| k.get("key").is_none() && k.get("key_hash").is_none()),
        "keys are never listed"
    );

    let id = created["id"].as_i64().unwrap();
    let r = app
        .http
        .delete(format!("{}/api/v1/api-keys/{id}", app.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (status, code, _) = error_code(app.get("/api/v1/whoami", Some(&new_key)).await).await;
    assert_eq!(
        (status, code.as_str()),
        (401, "invalid_credentials"),
        "a revoked key stops working"
    );
    let r = app
        .http
        .delete(format!("{}/api/v1/api-keys/{id}", app.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.1, "not_found");
}

#[tokio::test]
async fn bad_input_gets_a_field_and_a_sentence() {
    let app = TestApp::spawn(switchboard_store::testing::sqlite()).await;
    let admin = app.key(Role::Admin).await;
    for (body, field) in [
        (json!({"name": "x", "role": "owner"}), "role"),
        (json!({"name": " ", "role": "agent"}), "name"),
        (json!({"nom": "x"}), "body"),
    ] {
        let r = app
            .http
            .post(format!("{}/api/v1/api-keys", app.base))
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "invalid_request");
        assert_eq!(v["error"]["field"], field);
    }
    let r = app
        .http
        .post(format!("{}/api/v1/api-keys", app.base))
        .bearer_auth(&admin)
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}

switchboard_store::per_backend!(
    every_api_request_needs_a_valid_key,
    admins_manage_keys_and_agents_cannot,
);
