//! API keys. The key itself is shown once at creation and never stored: only its SHA-256 (a
//! key is 256 random bits, so a fast hash is enough; passwords, which are not, use argon2id)
//! and a short prefix that lets an admin recognise it in a list.

use switchboard_domain::Role;

use crate::{Store, StoreError, with_pool};

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub role: Role,
    pub prefix: String,
    pub key_hash: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub prefix: String,
    pub created_at_ms: i64,
    pub last_used_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    role: String,
    prefix: String,
    created_at_ms: i64,
    last_used_at_ms: Option<i64>,
    revoked_at_ms: Option<i64>,
}

impl TryFrom<Row> for ApiKeyRecord {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        let role = Role::parse(&r.role).ok_or_else(|| {
            StoreError::Corrupt(format!("api key {} has role {:?}", r.id, r.role))
        })?;
        Ok(ApiKeyRecord {
            id: r.id,
            name: r.name,
            role,
            prefix: r.prefix,
            created_at_ms: r.created_at_ms,
            last_used_at_ms: r.last_used_at_ms,
            revoked_at_ms: r.revoked_at_ms,
        })
    }
}

const INSERT: &str = "INSERT INTO api_keys (name, role, prefix, key_hash, created_at_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id";
const BY_HASH: &str = "SELECT id, name, role, prefix, created_at_ms, last_used_at_ms, revoked_at_ms \
     FROM api_keys WHERE key_hash = $1 AND revoked_at_ms IS NULL";
const LIST: &str = "SELECT id, name, role, prefix, created_at_ms, last_used_at_ms, revoked_at_ms FROM api_keys ORDER BY id";
const TOUCH: &str = "UPDATE api_keys SET last_used_at_ms = $2 WHERE id = $1 AND (last_used_at_ms IS NULL OR last_used_at_ms < $2)";
const REVOKE: &str =
    "UPDATE api_keys SET revoked_at_ms = $2 WHERE id = $1 AND revoked_at_ms IS NULL";

impl Store {
    pub async fn create_api_key(&self, key: &NewApiKey) -> Result<i64, StoreError> {
        with_pool!(&self.writer, p => {
            let (id,): (i64,) = sqlx::query_as(INSERT)
                .bind(&key.name)
                .bind(key.role.as_str())
                .bind(&key.prefix)
                .bind(&key.key_hash)
                .bind(key.created_at_ms)
                .fetch_one(p)
                .await?;
            Ok(id)
        })
    }

    /// The live (not revoked) key with this hash.
    pub async fn api_key_by_hash(
        &self,
        key_hash: &str,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        let row: Option<Row> = with_pool!(&self.pool, p => sqlx::query_as(BY_HASH).bind(key_hash).fetch_optional(p).await?);
        row.map(ApiKeyRecord::try_from).transpose()
    }

    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let rows: Vec<Row> = with_pool!(&self.pool, p => sqlx::query_as(LIST).fetch_all(p).await?);
        rows.into_iter().map(ApiKeyRecord::try_from).collect()
    }

    pub async fn touch_api_key(&self, id: i64, now_ms: i64) -> Result<(), StoreError> {
        with_pool!(&self.writer, p => { sqlx::query(TOUCH).bind(id).bind(now_ms).execute(p).await?; Ok(()) })
    }

    /// Revokes a key; `false` when there was no live key with that id.
    pub async fn revoke_api_key(&self, id: i64, now_ms: i64) -> Result<bool, StoreError> {
        with_pool!(&self.writer, p => {
            let r = sqlx::query(REVOKE).bind(id).bind(now_ms).execute(p).await?;
            Ok(r.rows_affected() == 1)
        })
    }
}
