//! The OpenAPI document describes exactly the routes the server serves under `/api/v1`, each
//! with the role it needs (`x-required-role`, as the authorisation table in `security` says).

use std::collections::BTreeSet;

use switchboard_domain::Role;

use crate::helpers::TestApp;

#[tokio::test]
async fn the_document_matches_the_routes_and_every_route_is_served() {
    let app = TestApp::spawn(switchboard_store::testing::sqlite()).await;
    let doc: serde_json::Value = app
        .get("/api/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
        {
            let access = crate::security::ROUTES
                .iter()
                .find(|(m, p, _)| m.eq_ignore_ascii_case(method) && p == path)
                .map(|(_, _, a)| a.role());
            assert_eq!(
                op["x-required-role"].as_str(),
                access,
                "{method} {path}: x-required-role in docs/openapi.json"
            );
            documented.insert((method.clone(), path.clone()));
        }
    }
    let served: BTreeSet<(String, String)> = switchboard_server::routes()
        .into_iter()
        .filter(|(_, p)| p.starts_with("/api/v1/"))
        .map(|(m, p)| (m.as_str().to_lowercase(), p))
        .collect();
    assert_eq!(
        documented, served,
        "docs/openapi.json and the routes the server serves disagree"
    );

    // Every listed route exists: a request reaches a handler (never the router's 404 fallback).
    let admin = app.key(Role::Admin).await;
    for (method, path) in &served {
        let url = format!("{}{}", app.base, path.replace("{id}", "999999"));
        let req = match method.as_str() {
            "get" => app.http.get(&url),
            "post" => app.http.post(&url).json(&serde_json::json!({})),
            "delete" => app.http.delete(&url),
            "put" => app.http.put(&url).json(&serde_json::json!({})),
            other => panic!("unexpected method {other}"),
        };
        let r = req.bearer_auth(&admin).send().await.unwrap();
        if r.status() == 404 {
            let body: serde_json::Value = r.json().await.unwrap();
            let message = body["error"]["message"].as_str().unwrap_or("");
            assert!(
                !message.starts_with("The path"),
                "{method} {path} is not routed: {message}"
            );
        }
    }
}
