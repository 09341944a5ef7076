use switchboard_store::testing::TestDatabase;
use switchboard_store::{Backend, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, Store, StoreError};

#[test]
fn both_backends_carry_the_same_migration_versions() {
    let versions = |m: &sqlx::migrate::Migrator| {
        m.iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect::<Vec<_>>()
    };
    assert!(SQLITE_MIGRATIONS.iter().count() > 0);
    assert_eq!(versions(&SQLITE_MIGRATIONS), versions(&POSTGRES_MIGRATIONS));
}

async fn migrate_is_idempotent_and_records_every_version(db: TestDatabase) {
    let store = db.store().await;
    store.migrate().await.unwrap();
    let expected: Vec<i64> = SQLITE_MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(
        store.applied_migrations().await.unwrap(),
        expected,
        "{:?}",
        db.backend
    );
    store.ping().await.unwrap();
    assert_eq!(store.backend(), db.backend);
}

#[tokio::test]
async fn backend_is_chosen_by_url() {
    assert_eq!(Backend::of_url("sqlite://x.db").unwrap(), Backend::Sqlite);
    assert_eq!(
        Backend::of_url("postgres://u@h/db").unwrap(),
        Backend::Postgres
    );
    assert_eq!(
        Backend::of_url("postgresql://u@h/db").unwrap(),
        Backend::Postgres
    );
    assert!(matches!(
        Store::connect("mysql://h/db", &Default::default()).await,
        Err(StoreError::UnsupportedUrl)
    ));
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode() {
    let db = switchboard_store::testing::sqlite();
    let _store = db.store().await;
    let path = db.url.trim_start_matches("sqlite://");
    assert!(
        std::path::Path::new(&format!("{path}-webhooks.db")).exists(),
        "the journal has its own file next to {path}"
    );
    assert!(
        std::path::Path::new(&format!("{path}-wal")).exists(),
        "no WAL file next to {path}"
    );
}

switchboard_store::per_backend!(migrate_is_idempotent_and_records_every_version,);
