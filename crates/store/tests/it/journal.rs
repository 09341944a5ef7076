use switchboard_store::testing::TestDatabase;
use switchboard_store::{Journaled, NewWebhook, Store};

fn body(n: usize) -> NewWebhook {
    NewWebhook::new(
        1_750_000_000_000 + n as i64,
        format!("sha256={n:064x}"),
        Some("app-1".into()),
        format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"{n}","changes":[]}}]}}"#
        )
        .into_bytes(),
    )
}

async fn a_batch_is_stored_in_order_and_read_back_byte_for_byte(db: TestDatabase) {
    let store = db.store().await;
    let batch: Vec<_> = (0..50).map(body).collect();
    let ids = store.append_webhooks(batch.clone()).await.unwrap();
    assert_eq!(ids.len(), 50);
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
        assert_eq!(entry.duplicate_of, None);
    }
    let page = store.webhooks_after(ids[9], 5).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.id).collect::<Vec<_>>(),
        ids[10..15].to_vec()
    );
}

/// Projects every pending row as the projector does (nothing to apply: the bodies are empty).
async fn project_pending(store: &Store) -> usize {
    let rows = store.unprojected_webhooks(100).await.unwrap();
    let entries: Vec<Journaled> = rows
        .into_iter()
        .map(|r| Journaled {
            journal_id: r.id,
            dedupe_key: r.dedupe_key,
            ops: Vec::new(),
        })
        .collect();
    store
        .apply_projections(&entries, 1_750_000_100_000)
        .await
        .unwrap()
        .duplicates
}

async fn a_redelivered_body_is_projected_once_and_counted(db: TestDatabase) {
    let store = db.store().await;
    let first = store.append_webhooks(vec![body(1)]).await.unwrap()[0];
    // Meta retries; the same bytes also arrive twice within one group commit. The append
    // stores every copy (nothing is looked up on the acknowledgement's path).
    let again = store
        .append_webhooks(vec![body(2), body(1), body(1)])
        .await
        .unwrap();
    assert_eq!(store.count_webhooks().await.unwrap(), 4, "{:?}", db.backend);
    assert_eq!(project_pending(&store).await, 2, "{:?}", db.backend);
    let row = |id| {
        let store = store.clone();
        async move { store.webhook(id).await.unwrap() }
    };
    assert_eq!(row(first).await.deliveries, 3, "{:?}", db.backend);
    assert_eq!(row(first).await.duplicate_of, None);
    assert_eq!(row(again[0]).await.duplicate_of, None);
    for copy in &again[1..] {
        let r = row(*copy).await;
        assert_eq!(r.duplicate_of, Some(first), "{:?}", db.backend);
        assert!(r.projected_at_ms.is_some() && r.error.is_none());
    }
    // A replay projects the copies again as copies, and counts nothing twice; the first
    // row, replayed, is still the first.
    store.replay_webhooks(first, again[2]).await.unwrap();
    assert_eq!(project_pending(&store).await, 2, "{:?}", db.backend);
    assert_eq!(
        row(first).await.deliveries,
        3,
        "{:?}: counted twice",
        db.backend
    );
    assert_eq!(row(first).await.duplicate_of, None);
    assert_eq!(row(again[2]).await.duplicate_of, Some(first));
    assert!(store.unprojected_webhooks(10).await.unwrap().is_empty());
}

async fn concurrent_appends_lose_nothing(db: TestDatabase) {
    let store = db.store().await;
    let mut tasks = Vec::new();
    for t in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                store
                    .append_webhooks(vec![body(t * 1000 + i)])
                    .await
                    .unwrap();
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

async fn a_missing_entry_is_not_found(db: TestDatabase) {
    let store = db.store().await;
    assert!(matches!(
        store.webhook(42).await,
        Err(switchboard_store::StoreError::NotFound)
    ));
}

async fn a_closed_store_refuses_to_journal(db: TestDatabase) {
    let store = db.store().await;
    store.append_webhooks(vec![body(1)]).await.unwrap();
    store.ping().await.unwrap();
    store.close().await;
    assert!(
        store.append_webhooks(vec![body(2)]).await.is_err(),
        "{:?}: appended after close",
        db.backend
    );
    assert!(store.ping().await.is_err(), "{:?}", db.backend);
}

#[tokio::test]
async fn bodies_journaled_before_the_upgrade_are_recognised_when_retried() {
    // SQLite only: there the journal is another file and the start claims its bodies; on
    // PostgreSQL the migration does it in SQL (migrations/postgres/0006).
    let db = switchboard_store::testing::sqlite();
    let store = db.store().await;
    let first = store.append_webhooks(vec![body(7)]).await.unwrap()[0];
    assert_eq!(project_pending(&store).await, 0);
    // As after the upgrade: the journal has the body, nothing claims it; the start claims it.
    store.forget_body_claims().await.unwrap();
    store.migrate().await.unwrap();
    let retry = store.append_webhooks(vec![body(7)]).await.unwrap()[0];
    assert_eq!(project_pending(&store).await, 1);
    assert_eq!(
        store.webhook(retry).await.unwrap().duplicate_of,
        Some(first)
    );
    assert_eq!(store.webhook(first).await.unwrap().deliveries, 2);
}

async fn a_replay_of_more_rows_than_one_chunk_covers_them_all(db: TestDatabase) {
    let store = db.store().await;
    let ids = store
        .append_webhooks((0..10_005).map(body).collect())
        .await
        .unwrap();
    assert_eq!(
        store.replay_webhooks(1, i64::MAX).await.unwrap(),
        10_005,
        "{:?}: two chunks",
        db.backend
    );
    assert_eq!(
        store
            .replay_webhooks(ids[9_998], ids[10_001])
            .await
            .unwrap(),
        4,
        "{:?}: a range inside",
        db.backend
    );
}

switchboard_store::per_backend!(
    a_batch_is_stored_in_order_and_read_back_byte_for_byte,
    a_redelivered_body_is_projected_once_and_counted,
    concurrent_appends_lose_nothing,
    a_missing_entry_is_not_found,
    a_closed_store_refuses_to_journal,
    a_replay_of_more_rows_than_one_chunk_covers_them_all,
);
