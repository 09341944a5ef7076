use serde_json::json;

use crate::harness::Harness;

#[tokio::test]
async fn phone_number_and_waba_reads() {
    let h = Harness::start().await;
    let n = h.graph.phone_number(&h.number, &h.token).await.unwrap();
    assert_eq!(n["id"], h.number.as_str());
    assert_eq!(n["quality_rating"], "GREEN");
    assert_eq!(n["throughput"]["level"], "HIGH");
    assert_eq!(n["whatsapp_business_manager_messaging_limit"], "TIER_2K");
    let r = h
        .http
        .get(h.url(&format!("/v26.0/{}?fields=quality_rating", h.number)))
        .bearer_auth(&h.em.config().access_token)
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        v,
        json!({"quality_rating": "GREEN", "id": h.number}),
        "fields filter"
    );
    let waba = h.em.config().waba_id.clone();
    let r = h
        .http
        .get(h.url(&format!("/v26.0/{waba}/phone_numbers")))
        .bearer_auth(&h.em.config().access_token)
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn subscribed_apps() {
    let h = Harness::start().await;
    let waba = h.em.config().waba_id.clone();
    let url = h.url(&format!("/v26.0/{waba}/subscribed_apps"));
    let token = h.em.config().access_token.clone();
    let get = || async {
        h.http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    };
    assert_eq!(get().await["data"].as_array().unwrap().len(), 0);
    let r: serde_json::Value = h
        .http
        .post(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["success"], true);
    assert_eq!(
        get().await["data"][0]["whatsapp_business_api_data"]["id"],
        h.em.config().app_id.as_str()
    );
}

#[tokio::test]
async fn the_clock_can_be_advanced_over_http() {
    let h = Harness::start().await;
    let before: serde_json::Value = h
        .http
        .get(h.url("/_emulator/clock"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let after: serde_json::Value = h
        .http
        .post(h.url("/_emulator/clock/advance"))
        .json(&json!({"seconds": 3600}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(after["now_ms"].as_i64().unwrap() - before["now_ms"].as_i64().unwrap() >= 3_600_000);
    let r = h
        .http
        .post(h.url("/_emulator/clock/advance"))
        .json(&json!({"seconds": -5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}
