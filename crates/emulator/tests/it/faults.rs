use std::time::Duration;

use serde_json::json;
use switchboard_cloudapi::send::{OutboundContent, Recipient, SendRequest};
use switchboard_cloudapi::{ErrorCode, RetryClass};
use switchboard_graph::{GraphCallError, GraphClient};

use crate::harness::Harness;

fn req() -> SendRequest {
    SendRequest::new(
        Recipient::Phone("+16505551234".into()),
        OutboundContent::text("x", false).unwrap(),
    )
}

async fn fault(h: &Harness, body: serde_json::Value) {
    let r = h
        .http
        .post(h.url("/_emulator/faults"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn fail_next_n_calls_with_a_chosen_code() {
    let h = Harness::start().await;
    h.customer_writing("16505551234").await;
    fault(&h, json!({"fail_next": {"count": 2, "code": 131000}})).await;
    for _ in 0..2 {
        let e = h.graph.send(&h.number, &h.token, &req()).await.unwrap_err();
        assert!(
            matches!(&e, GraphCallError::Graph { status: 500, .. }),
            "{e:?}"
        );
        assert_eq!(e.retry_class(), RetryClass::Transient);
    }
    assert!(h.graph.send(&h.number, &h.token, &req()).await.is_ok());
}

#[tokio::test]
async fn expired_token_rate_5xx_latency_drop_and_timeout() {
    let h = Harness::start().await;
    h.customer_writing("16505551234").await;

    fault(&h, json!({"token_expired": true})).await;
    let e = h.graph.send(&h.number, &h.token, &req()).await.unwrap_err();
    assert_eq!(
        (e.code(), e.retry_class()),
        (Some(ErrorCode::ACCESS_TOKEN_EXPIRED), RetryClass::Auth)
    );
    fault(&h, json!({"token_expired": false, "error_rate_5xx": 1.0})).await;
    assert_eq!(
        h.graph
            .send(&h.number, &h.token, &req())
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::UNKNOWN_ERROR)
    );

    fault(&h, json!({"clear": true, "latency_ms": 300})).await;
    let t = std::time::Instant::now();
    h.graph.send(&h.number, &h.token, &req()).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));

    fault(&h, json!({"clear": true, "drop_rate": 1.0})).await;
    let e = h.graph.send(&h.number, &h.token, &req()).await.unwrap_err();
    assert!(
        e.is_ambiguous(),
        "a dropped connection may have been processed: {e:?}"
    );

    fault(&h, json!({"clear": true, "timeout_rate": 1.0})).await;
    let quick = GraphClient::new(&h.running.base_url, "v26.0", Duration::from_millis(300));
    let e = quick.send(&h.number, &h.token, &req()).await.unwrap_err();
    assert!(
        matches!(e, GraphCallError::NoAnswer(_)) && e.is_ambiguous(),
        "{e:?}"
    );

    fault(&h, json!({"clear": true})).await;
    assert!(h.graph.send(&h.number, &h.token, &req()).await.is_ok());
    // Faults never touch the control API.
    fault(&h, json!({"error_rate_5xx": 1.0})).await;
    assert_eq!(
        h.http
            .get(h.url("/_emulator/outbox"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn quality_drop_and_account_restriction_arrive_as_webhooks() {
    let h = Harness::start().await;
    fault(&h, json!({"quality": "RED"})).await;
    fault(&h, json!({"account_restriction": true})).await;
    h.settle().await;
    let q = h.receiver.field("phone_number_quality_update");
    assert_eq!(q[0]["event"], "DOWNGRADE");
    assert_eq!(q[0]["display_phone_number"], "15550783881");
    let a = h.receiver.field("account_update");
    assert_eq!(a[0]["event"], "ACCOUNT_RESTRICTION");
    let number = h.graph.phone_number(&h.number, &h.token).await.unwrap();
    assert_eq!(number["quality_rating"], "RED");
    assert_eq!(number["status"], "RESTRICTED");
    let r = h
        .http
        .post(h.url("/_emulator/faults"))
        .json(&json!({"quality": "PURPLE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = h
        .http
        .post(h.url("/_emulator/faults"))
        .json(&json!({"quallity": "RED"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "unknown fault names are refused");
}
