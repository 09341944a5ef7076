//! The OpenAPI document describes exactly the routes the server serves.

use std::collections::BTreeSet;

use switchboard_domain::Role;
use switchboard_server::api::ROUTES;

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
        for method in ops
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
        {
            documented.insert((method.clone(), path.clone()));
        }
    }
    let listed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        documented, listed,
        "docs/openapi.json and api::ROUTES disagree"
    );

    // Every listed route exists: a request reaches a handler (never the router's 404 fallback).
    let admin = app.key(Role::Admin).await;
    for (method, path) in ROUTES {
        let url = format!("{}{}", app.base, path.replace("{id}", "999999"));
        let req = match *method {
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
