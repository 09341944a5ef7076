use std::time::Duration;

use crate::helpers::TestApp;
use switchboard_store::testing::TestDatabase;

async fn health_and_readiness_on_both_backends(db: TestDatabase) {
    let backend = db.backend;
    let mut app = TestApp::spawn(db).await;
    let r = app.get("/healthz", None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status(), 200, "{backend:?}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["projection"]["rows"], 0, "{body}");
    assert_eq!(body["projection"]["lag_seconds"], 0.0, "{body}");

    // Acknowledged and not projected yet: readiness says how far behind, and stays ready.
    app.store
        .append_webhook(switchboard_store::NewWebhook::new(
            switchboard_domain::UnixMs::now().0 - 5_000,
            "sha256=test".into(),
            None,
            br#"{"object":"whatsapp_business_account","entry":[]}"#.to_vec(),
        ))
        .await
        .unwrap();
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status(), 200, "{backend:?}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["projection"]["rows"], 1, "{body}");
    let lag = body["projection"]["lag_seconds"].as_f64().unwrap();
    assert!((5.0..60.0).contains(&lag), "{body}");
    app.projector.drain().await.unwrap();
    let body: serde_json::Value = app.get("/readyz", None).await.json().await.unwrap();
    assert_eq!(body["projection"]["rows"], 0, "{body}");

    // The database goes away: readiness says so, liveness does not.
    app.store.close().await;
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status(), 503, "{backend:?}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
    assert_eq!(app.get("/healthz", None).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn request_ids_are_made_or_propagated() {
    let app = TestApp::spawn(switchboard_store::testing::sqlite()).await;
    let r = app.get("/healthz", None).await;
    let id = r
        .headers()
        .get("x-request-id")
        .expect("a request id")
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "a uuid: {id}");
    let r = app
        .http
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-me-42");
}

#[tokio::test]
async fn metrics_are_on_their_own_listener_only() {
    let app = TestApp::spawn(switchboard_store::testing::sqlite()).await;
    app.get("/healthz", None).await;
    let text = app
        .http
        .get(format!("{}/metrics", app.metrics_base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("switchboard_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/healthz\""), "{text}");
    let public = app.get("/metrics", None).await;
    assert_eq!(
        public.status(),
        404,
        "metrics must not be served on the public port"
    );
}

#[tokio::test]
async fn unknown_paths_get_a_json_error() {
    let app = TestApp::spawn(switchboard_store::testing::sqlite()).await;
    let (status, code, message) = crate::helpers::error_code(app.get("/nope", None).await).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    assert!(message.contains("/nope"));
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish() {
    let mut app = TestApp::spawn(switchboard_store::testing::sqlite()).await;
    // Hold a connection open with a request in flight while shutdown starts.
    let http = app.http.clone();
    let url = format!("{}/readyz", app.base);
    let in_flight =
        tokio::spawn(async move { http.get(url).send().await.map(|r| r.status().as_u16()) });
    tokio::time::sleep(Duration::from_millis(20)).await;
    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("server stopped within 10 s");
    if let Ok(status) = in_flight.await.unwrap() {
        assert_eq!(status, 200);
    }
    // After shutdown nothing is served.
    assert!(reqwest::get(format!("{}/healthz", app.base)).await.is_err());
}

switchboard_store::per_backend!(health_and_readiness_on_both_backends,);
