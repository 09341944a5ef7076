use bytes::Bytes;
use serde_json::json;

use crate::harness::Harness;

#[tokio::test]
async fn upload_retrieve_download_and_expiry() {
    let h = Harness::start().await;
    let data = Bytes::from_static(b"%PDF-1.4 invoice");
    let id = h
        .graph
        .upload_media(
            &h.number,
            &h.token,
            data.clone(),
            "application/pdf",
            "invoice.pdf",
        )
        .await
        .unwrap();
    assert!(
        id.bytes().all(|b| b.is_ascii_digit()),
        "media ids are numeric: {id}"
    );
    let info = h.graph.media_info(&id, &h.token).await.unwrap();
    assert_eq!(info.mime_type, "application/pdf");
    assert_eq!(info.file_size, Some(data.len() as u64));
    assert_eq!(
        h.graph
            .download(&info.url, &h.token, u64::MAX)
            .await
            .unwrap(),
        data
    );
    // Without the token: refused.
    let r = h.http.get(&info.url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    // The URL expires after five minutes; a fresh one works.
    h.advance(301).await;
    let e = h
        .graph
        .download(&info.url, &h.token, u64::MAX)
        .await
        .unwrap_err();
    assert!(
        matches!(e, switchboard_graph::GraphCallError::Http { status: 404 }),
        "{e:?}"
    );
    let fresh = h.graph.media_info(&id, &h.token).await.unwrap();
    assert_eq!(
        h.graph
            .download(&fresh.url, &h.token, u64::MAX)
            .await
            .unwrap(),
        data
    );
}

#[tokio::test]
async fn a_customers_media_can_be_downloaded() {
    let h = Harness::start().await;
    h.em.add_customer(switchboard_emulator::Customer::new("16505551234", None));
    h.em.customer_sends(
        "16505551234",
        &h.number,
        json!({"type": "image", "image": {"caption": "broken"}}),
    )
    .unwrap();
    h.settle().await;
    let m = &h.receiver.messages()[0];
    let bytes = h
        .graph
        .download(m["image"]["url"].as_str().unwrap(), &h.token, u64::MAX)
        .await
        .unwrap();
    assert!(bytes.starts_with(b"\x89PNG"));
    let sha = m["image"]["sha256"].as_str().unwrap();
    use base64::Engine;
    use sha2::Digest;
    assert_eq!(
        sha,
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&bytes))
    );
}

#[tokio::test]
async fn an_unknown_media_id_fails_asynchronously_with_131053() {
    let h = Harness::start().await;
    h.customer_writing("16505551234").await;
    let (status, resp) = h.post_messages(json!({"messaging_product": "whatsapp", "to": "+16505551234", "type": "image", "image": {"id": "999"}})).await;
    assert_eq!(status, 200);
    let wamid = resp["messages"][0]["id"].as_str().unwrap().to_owned();
    h.advance(1).await;
    let s = h
        .receiver
        .statuses()
        .into_iter()
        .find(|s| s["id"] == wamid.as_str())
        .unwrap();
    assert_eq!(s["errors"][0]["code"], 131053);
}
