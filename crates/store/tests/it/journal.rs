use switchboard_store::testing::each_backend;
use switchboard_store::{AppendOutcome, NewWebhook};

fn body(n: usize) -> NewWebhook {
    NewWebhook {
        received_at_ms: 1_750_000_000_000 + n as i64,
        signature: format!("sha256={n:064x}"),
        app_id: Some("app-1".into()),
        body: format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"{n}","changes":[]}}]}}"#
        )
        .into_bytes(),
    }
}

#[tokio::test]
async fn a_batch_is_stored_in_order_and_read_back_byte_for_byte() {
    for db in each_backend().await {
        let store = db.store().await;
        let batch: Vec<_> = (0..50).map(body).collect();
        let out = store.append_webhooks(&batch).await.unwrap();
        assert_eq!(out.len(), 50);
        assert!(out.iter().all(|o| matches!(o, AppendOutcome::Stored(_))));
        let ids: Vec<i64> = out.iter().map(|o| o.id()).collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "{:?}: ids not increasing",
            db.backend
        );

        let read = store.webhooks_after(0, 100).await.unwrap();
        assert_eq!(read.len(), 50);
        for (entry, sent) in read.iter().zip(&batch) {
            assert_eq!(entry.body, sent.body);
            assert_eq!(entry.signature, sent.signature);
            assert_eq!(entry.received_at_ms, sent.received_at_ms);
            assert_eq!(entry.deliveries, 1);
            assert_eq!(entry.projected_at_ms, None);
        }
        let page = store.webhooks_after(ids[9], 5).await.unwrap();
        assert_eq!(
            page.iter().map(|e| e.id).collect::<Vec<_>>(),
            ids[10..15].to_vec()
        );
    }
}

#[tokio::test]
async fn a_redelivered_body_is_stored_once_and_counted() {
    for db in each_backend().await {
        let store = db.store().await;
        let first = store.append_webhooks(&[body(1)]).await.unwrap()[0];
        // Meta retries; the same bytes also arrive twice within one group commit.
        let again = store
            .append_webhooks(&[body(2), body(1), body(1)])
            .await
            .unwrap();
        assert!(matches!(again[0], AppendOutcome::Stored(_)));
        assert_eq!(again[1], AppendOutcome::Duplicate(first.id()));
        assert_eq!(again[2], AppendOutcome::Duplicate(first.id()));
        assert_eq!(store.count_webhooks().await.unwrap(), 2, "{:?}", db.backend);
        assert_eq!(store.webhook(first.id()).await.unwrap().deliveries, 3);
    }
}

#[tokio::test]
async fn concurrent_appends_lose_nothing() {
    for db in each_backend().await {
        let store = db.store().await;
        let mut tasks = Vec::new();
        for t in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..25 {
                    store.append_webhooks(&[body(t * 1000 + i)]).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            store.count_webhooks().await.unwrap(),
            200,
            "{:?}",
            db.backend
        );
    }
}

#[tokio::test]
async fn a_missing_entry_is_not_found() {
    for db in each_backend().await {
        let store = db.store().await;
        assert!(matches!(
            store.webhook(42).await,
            Err(switchboard_store::StoreError::NotFound)
        ));
    }
}
