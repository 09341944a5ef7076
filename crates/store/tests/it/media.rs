use switchboard_store::testing::TestDatabase;
use switchboard_store::{ContactKey, MediaRef, MessageOp, Op};

fn image(wamid: &str) -> Op {
    Op::Message(Box::new(MessageOp {
        phone_number_id: "106540352242922".into(),
        contact: ContactKey {
            wa_id: Some("16505551234".into()),
            ..Default::default()
        },
        wamid: wamid.into(),
        inbound: true,
        kind: "image".into(),
        text: None,
        payload: "{}".into(),
        meta_at_ms: 1_750_000_000_000,
        free_entry_point_until_ms: None,
        media: Some(MediaRef {
            media_id: "m1".into(),
            mime_type: Some("image/png".into()),
            sha256: None,
            url: None,
        }),
    }))
}

async fn a_download_result_counts_only_for_the_claim_that_made_it(db: TestDatabase) {
    let store = db.store().await;
    store
        .apply_projection(1, &[image("wamid.IMG")], 1_000)
        .await
        .unwrap();
    let first = store.claim_media(10_000, 1_000, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        store
            .claim_media(10_500, 1_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    // The lease expires; another worker claims the same row.
    let second = store.claim_media(11_001, 1_000, 10).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].attempts, 2);
    // The first worker finishes late: its result is ignored.
    store
        .media_attempt_failed(&first[0], "late failure", 99_999, true)
        .await
        .unwrap();
    let rec = store.media(first[0].message_id).await.unwrap().unwrap();
    assert_eq!(
        rec.status, "pending",
        "{:?}: a stale claim must not overwrite",
        db.backend
    );
    store
        .media_stored(&second[0], "/tmp/x", 3, Some("image/png"))
        .await
        .unwrap();
    let rec = store.media(first[0].message_id).await.unwrap().unwrap();
    assert_eq!((rec.status.as_str(), rec.size_bytes), ("stored", Some(3)));
    // And nothing stored can be reset by the old claim either.
    store
        .media_stored(&first[0], "/tmp/old", 9, None)
        .await
        .unwrap();
    assert_eq!(
        store
            .media(first[0].message_id)
            .await
            .unwrap()
            .unwrap()
            .path
            .as_deref(),
        Some("/tmp/x")
    );
}

switchboard_store::per_backend!(a_download_result_counts_only_for_the_claim_that_made_it);
