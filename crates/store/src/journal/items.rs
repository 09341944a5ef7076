//! Item dead letters: the items of a journaled body that could not be applied, each kept on its
//! own while the rest of its body was applied.
//!
//! An item is an element of a messaging array (a message, a status, a preference…), an array
//! applied as one (value-level errors), or a whole change; its [`ItemPlace`] says where it is in
//! the body. It is dead-lettered when it does not parse (`unparsed`, found by the projection) or
//! when the database refused it (`refused`, found when the server applied its body item by item).
//! The dead letter is written by an [`ItemOp`] in the same transaction as the rest of its body's
//! ops, so nothing acknowledged is lost and nothing is applied twice; a replay of the item applies
//! its ops and resolves it in one transaction too.
//!
//! The projection's transaction handles every `ItemOp` with one call ([`apply!`]); the reads and
//! the isolation bookkeeping are the methods below.

use std::collections::HashMap;

use switchboard_cloudapi::webhook::ItemPlace;

use crate::contacts::ContactKey;
use crate::{Store, StoreError, push_list, with_pool};

/// Why an item is a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeadItemCode {
    /// It does not have the shape this version reads.
    Unparsed,
    /// The database refused to store it.
    Refused,
}

impl DeadItemCode {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadItemCode::Unparsed => "unparsed",
            DeadItemCode::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [DeadItemCode::Unparsed, DeadItemCode::Refused]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// For reading the code from its column.
impl TryFrom<String> for DeadItemCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        DeadItemCode::parse(&s).ok_or_else(|| format!("unknown item dead letter code {s:?}"))
    }
}

/// An item to keep as a dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemDeadLetter {
    pub place: ItemPlace,
    pub code: DeadItemCode,
    /// What is wrong, for an admin (may quote the item: stored, never logged).
    pub reason: String,
    /// The item's JSON as it came.
    pub raw: String,
}

/// What a projection records about one item of its body, beside the item's own ops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOp {
    /// Keep this item as a dead letter (again, if it was resolved): the rest of the body goes on.
    DeadLetter(ItemDeadLetter),
    /// The item at `place` applied in this transaction: its open dead letter is resolved.
    Resolve { place: ItemPlace, by: String },
    /// The body was applied whole again: its open dead letters at places other than `kept`
    /// (which this projection keeps again) applied with it, and are resolved.
    Settle { kept: Vec<ItemPlace> },
    /// A customer profile (a `contacts[]` item) applied on its own, by a replay of that item:
    /// in a body's projection a profile rides on the messages that name the customer.
    Contact(ContactKey),
}

/// Who resolved the dead letters an [`ItemOp::Settle`] resolves.
pub const SETTLED_BY: &str = "applied when its body was projected again";

/// A stored item dead letter.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ItemDeadLetterRow {
    pub id: i64,
    pub journal_id: i64,
    #[sqlx(try_from = "String")]
    pub place: ItemPlace,
    #[sqlx(try_from = "String")]
    pub code: DeadItemCode,
    pub reason: String,
    pub raw: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub resolved_at_ms: Option<i64>,
    pub resolved_by: Option<String>,
}

/// Which item dead letters to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ItemDeadLetterQuery {
    /// `Some(true)`: open only; `Some(false)`: resolved only; `None`: both.
    pub open: Option<bool>,
    pub journal_id: Option<i64>,
    /// Only ids below this one (newest first).
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// The columns of [`ItemDeadLetterRow`], in its order (a macro, for `concat!` into constants).
macro_rules! columns {
    () => {
        "id, journal_id, place, code, reason, raw, created_at_ms, updated_at_ms, resolved_at_ms, resolved_by"
    };
}
const GET: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM webhook_item_dead_letters WHERE id = $1"
);
/// A place dead-lettered again is open again, with what is wrong now.
pub(crate) const KEEP: &str = "INSERT INTO webhook_item_dead_letters (journal_id, place, code, reason, raw, created_at_ms, updated_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (journal_id, place) DO UPDATE SET \
       code = excluded.code, reason = excluded.reason, raw = excluded.raw, updated_at_ms = excluded.updated_at_ms, \
       resolved_at_ms = NULL, resolved_by = NULL";
pub(crate) const RESOLVE: &str = "UPDATE webhook_item_dead_letters SET resolved_at_ms = $3, resolved_by = $4 \
     WHERE journal_id = $1 AND place = $2 AND resolved_at_ms IS NULL";

/// Applies one [`ItemOp`] of journal row `$journal_id` in the transaction `$tx` at `$now` (ms);
/// `?` propagates database errors. The projection's one arm for item ops.
macro_rules! apply {
    ($tx:expr, $journal_id:expr, $op:expr, $now:expr) => {{
        use $crate::journal::items::ItemOp;
        let journal_id: i64 = $journal_id;
        let now: i64 = $now;
        match $op {
            ItemOp::DeadLetter(d) => {
                sqlx::query($crate::journal::items::KEEP)
                    .bind(journal_id)
                    .bind(d.place.to_string())
                    .bind(d.code.as_str())
                    .bind(&d.reason)
                    .bind(&d.raw)
                    .bind(now)
                    .execute(&mut *$tx)
                    .await?;
            }
            ItemOp::Resolve { place, by } => {
                sqlx::query($crate::journal::items::RESOLVE)
                    .bind(journal_id)
                    .bind(place.to_string())
                    .bind(now)
                    .bind(by)
                    .execute(&mut *$tx)
                    .await?;
            }
            ItemOp::Settle { kept } => {
                let mut q = sqlx::QueryBuilder::new(
                    "UPDATE webhook_item_dead_letters SET resolved_at_ms = ",
                );
                q.push_bind(now)
                    .push(", resolved_by = ")
                    .push_bind($crate::journal::items::SETTLED_BY)
                    .push(" WHERE journal_id = ")
                    .push_bind(journal_id)
                    .push(" AND resolved_at_ms IS NULL");
                if !kept.is_empty() {
                    q.push(" AND place NOT IN ");
                    $crate::push_list!(q, kept.iter().map(|p| p.to_string()));
                }
                q.build().execute(&mut *$tx).await?;
            }
            // A profile that names nobody (no phone, no BSUID) has no contact to go on.
            ItemOp::Contact(key) if key.wa_id.is_some() || key.bsuid.is_some() => {
                $crate::contacts::contact_id!($tx, key, now);
            }
            ItemOp::Contact(_) => {}
        }
    }};
}
pub(crate) use apply;

impl Store {
    /// Item dead letters, newest first.
    pub async fn item_dead_letters(
        &self,
        query: ItemDeadLetterQuery,
    ) -> Result<Vec<ItemDeadLetterRow>, StoreError> {
        with_pool!(&self.pool, p => {
            let mut q = sqlx::QueryBuilder::new(concat!("SELECT ", columns!(), " FROM webhook_item_dead_letters WHERE id < "));
            q.push_bind(query.before_id.unwrap_or(i64::MAX));
            match query.open {
                Some(true) => { q.push(" AND resolved_at_ms IS NULL"); }
                Some(false) => { q.push(" AND resolved_at_ms IS NOT NULL"); }
                None => {}
            }
            if let Some(journal_id) = query.journal_id {
                q.push(" AND journal_id = ").push_bind(journal_id);
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(query.limit.clamp(1, 500));
            Ok(q.build_query_as().fetch_all(p).await?)
        })
    }

    pub async fn item_dead_letter(&self, id: i64) -> Result<ItemDeadLetterRow, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(GET).bind(id).fetch_one(p).await?))
    }

    /// Of journal rows `from_id..=to_id`, those with open item dead letters: a projection of one
    /// of them again settles them ([`ItemOp::Settle`]).
    pub async fn journal_rows_with_open_items(
        &self,
        from_id: i64,
        to_id: i64,
    ) -> Result<Vec<i64>, StoreError> {
        const SQL: &str = "SELECT DISTINCT journal_id FROM webhook_item_dead_letters \
             WHERE resolved_at_ms IS NULL AND journal_id >= $1 AND journal_id <= $2";
        with_pool!(&self.pool, p => {
            let rows: Vec<(i64,)> = sqlx::query_as(SQL).bind(from_id).bind(to_id).fetch_all(p).await?;
            Ok(rows.into_iter().map(|r| r.0).collect())
        })
    }

    /// How many open item dead letters each of these journal rows has (rows without any are
    /// left out).
    pub async fn open_item_dead_letter_counts(
        &self,
        journal_ids: &[i64],
    ) -> Result<HashMap<i64, i64>, StoreError> {
        if journal_ids.is_empty() {
            return Ok(HashMap::new());
        }
        with_pool!(&self.pool, p => {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT journal_id, COUNT(*) FROM webhook_item_dead_letters WHERE resolved_at_ms IS NULL AND journal_id IN ",
            );
            push_list!(q, journal_ids);
            q.push(" GROUP BY journal_id");
            let rows: Vec<(i64, i64)> = q.build_query_as().fetch_all(p).await?;
            Ok(rows.into_iter().collect())
        })
    }

    /// Notes that journal row `journal_id` is being applied item by item, before any of it is
    /// applied (and so marked projected): an isolation cut short is found and finished later.
    pub async fn begin_isolation(&self, journal_id: i64, now_ms: i64) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO webhook_isolations (journal_id, started_at_ms) VALUES ($1, $2) \
             ON CONFLICT (journal_id) DO NOTHING";
        with_pool!(&self.writer, p => {
            sqlx::query(SQL).bind(journal_id).bind(now_ms).execute(p).await?;
            Ok(())
        })
    }

    /// Every item of journal row `journal_id` was applied or dead-lettered.
    pub async fn end_isolation(&self, journal_id: i64) -> Result<(), StoreError> {
        with_pool!(&self.writer, p => {
            sqlx::query("DELETE FROM webhook_isolations WHERE journal_id = $1").bind(journal_id).execute(p).await?;
            Ok(())
        })
    }

    /// Journal rows whose isolation was cut short, oldest first.
    pub async fn unfinished_isolations(&self, limit: i64) -> Result<Vec<i64>, StoreError> {
        const SQL: &str = "SELECT journal_id FROM webhook_isolations ORDER BY journal_id LIMIT $1";
        with_pool!(&self.pool, p => {
            let rows: Vec<(i64,)> = sqlx::query_as(SQL).bind(limit).fetch_all(p).await?;
            Ok(rows.into_iter().map(|r| r.0).collect())
        })
    }
}
