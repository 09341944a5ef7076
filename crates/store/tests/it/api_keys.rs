use switchboard_domain::Role;
use switchboard_store::NewApiKey;
use switchboard_store::testing::TestDatabase;

fn key(name: &str, role: Role, hash: &str) -> NewApiKey {
    NewApiKey {
        name: name.into(),
        role,
        prefix: format!("sb_{}", &hash[..4]),
        key_hash: hash.into(),
        created_at_ms: 1_000,
    }
}

async fn keys_are_found_by_hash_until_revoked(db: TestDatabase) {
    let store = db.store().await;
    let id = store
        .create_api_key(&key("ci", Role::Admin, "aaaa1111"))
        .await
        .unwrap();
    store
        .create_api_key(&key("bot", Role::Agent, "bbbb2222"))
        .await
        .unwrap();

    let found = store
        .api_key_by_hash("aaaa1111")
        .await
        .unwrap()
        .expect("key found");
    assert_eq!(
        (found.id, found.role, found.name.as_str()),
        (id, Role::Admin, "ci")
    );
    assert!(store.api_key_by_hash("cccc3333").await.unwrap().is_none());

    store.touch_api_key(id, 5_000).await.unwrap();
    store.touch_api_key(id, 4_000).await.unwrap(); // never moves backwards
    assert_eq!(
        store.list_api_keys().await.unwrap()[0].last_used_at_ms,
        Some(5_000)
    );

    assert!(store.revoke_api_key(id, 6_000).await.unwrap());
    assert!(
        !store.revoke_api_key(id, 7_000).await.unwrap(),
        "{:?}: revoked twice",
        db.backend
    );
    assert!(store.api_key_by_hash("aaaa1111").await.unwrap().is_none());
    assert_eq!(store.list_api_keys().await.unwrap().len(), 2);
}

async fn a_hash_is_unique(db: TestDatabase) {
    let store = db.store().await;
    store
        .create_api_key(&key("a", Role::Admin, "dddd4444"))
        .await
        .unwrap();
    assert!(
        store
            .create_api_key(&key("b", Role::Agent, "dddd4444"))
            .await
            .is_err(),
        "{:?}",
        db.backend
    );
}

switchboard_store::per_backend!(keys_are_found_by_hash_until_revoked, a_hash_is_unique);
