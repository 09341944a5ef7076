//! People and their sessions: a new password ends every session of that person, and only theirs.

use switchboard_store::NewUser;
use switchboard_store::testing::TestDatabase;

async fn a_new_password_ends_every_session_of_that_user_only(db: TestDatabase) {
    let store = db.store().await;
    let user = |email: &str| NewUser {
        email: email.into(),
        name: email.into(),
        role: "agent".into(),
        team: None,
        password_hash: "old-hash".into(),
    };
    let ann = store.create_user(&user("ann@x"), 1).await.unwrap().unwrap();
    let bob = store.create_user(&user("bob@x"), 1).await.unwrap().unwrap();
    for (token, who) in [("ann-phone", ann), ("ann-laptop", ann), ("bob-laptop", bob)] {
        store
            .create_session(token, who, "csrf", 1, i64::MAX)
            .await
            .unwrap();
    }
    store.set_password(ann, "new-hash").await.unwrap();
    assert!(store.session("ann-phone", 2).await.unwrap().is_none());
    assert!(store.session("ann-laptop", 2).await.unwrap().is_none());
    assert!(
        store.session("bob-laptop", 2).await.unwrap().is_some(),
        "others stay"
    );
    assert_eq!(store.user(ann).await.unwrap().password_hash, "new-hash");
    assert_eq!(store.user(bob).await.unwrap().password_hash, "old-hash");
    assert!(matches!(
        store.set_password(999_999, "x").await,
        Err(switchboard_store::StoreError::NotFound)
    ));
    // The hash never shows in a debug print (a logged row).
    assert!(!format!("{:?}", store.user(ann).await.unwrap()).contains("new-hash"));
}

switchboard_store::per_backend!(a_new_password_ends_every_session_of_that_user_only);
