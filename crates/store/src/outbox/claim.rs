//! Sending: a number's dispatcher claims due messages, and records what Meta answered.
//!
//! Claiming looks at consent once more: a customer who opted out after a message was queued
//! gets nothing business-initiated, so a STOP blocks the very next campaign message. The rule
//! is the domain's ([`Consent::from_records`], [`Consent::blocks`]), the same the policy applied
//! when the message was asked for; the store only reads the records.
//!
//! Rows claimed are `sending` until their outcome is recorded, and an outcome only applies to
//! the attempt that was claimed (a late answer to an older attempt is ignored). Once Meta
//! accepted a message it also gets a row in `messages` (the thread) keyed by wamid, so status
//! webhooks advance it exactly as they advance everything else, parked statuses included.

use std::collections::HashMap;

use switchboard_domain::consent::{Consent, MetaPreference};
use switchboard_domain::outbox::OutboxState;

use super::CHUNK;
use super::submit::records;
use crate::{BeginWrite, Store, StoreError, with_pool};

/// A claimed message, ready to go to Meta.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub recipient: String,
    pub request: String,
    pub lane: i64,
    pub attempts: i64,
    pub ambiguous: bool,
}

/// The outcome of one attempt, as the dispatcher records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Accepted {
        id: i64,
        /// The attempt this outcome answers (a late answer to an older attempt is ignored).
        attempt: i64,
        wamid: String,
    },
    Retry {
        id: i64,
        attempt: i64,
        at_ms: i64,
        code: Option<i64>,
        message: String,
        ambiguous: bool,
    },
    Failed {
        id: i64,
        attempt: i64,
        code: Option<i64>,
        message: String,
        ambiguous: bool,
    },
    /// Not attempted (the recipient's pair rate, a paused number): back to the queue at `at_ms`
    /// without using an attempt.
    Deferred { id: i64, attempt: i64, at_ms: i64 },
}

/// An accepted message on its way into the thread: (wamid, number, contact, kind, text,
/// request).
type AcceptedRow<'a> = (&'a str, String, i64, String, Option<String>, String);

/// A due message whose consent may have changed: (id, contact, business-initiated, category).
type Due = (i64, i64, bool, Option<String>);

/// The due messages of a number, in claim order (`$1` number, `$2` now, `$3` how many).
macro_rules! due_ids {
    ($lock:expr) => {
        concat!(
            "SELECT id FROM outbound WHERE phone_number_id = $1 AND state = 'queued' AND next_attempt_at_ms <= $2 \
             AND (campaign_id IS NULL OR campaign_id IN (SELECT id FROM campaigns WHERE state = 'running')) \
             ORDER BY lane, next_attempt_at_ms, id LIMIT $3",
            $lock
        )
    };
}
/// Of the messages about to be claimed, those consent could block (business-initiated or
/// marketing) whose customer has a consent record or a marketing preference recorded since the
/// message was queued. Usually none: then the decision taken at queueing stands (same rule,
/// same facts) and nothing more is read.
const CHANGED: &str = concat!(
    "SELECT o.id, o.contact_id, o.business_initiated, o.category FROM outbound o WHERE o.id IN (",
    due_ids!(""),
    ") AND (o.business_initiated OR o.category = 'MARKETING') \
     AND (EXISTS (SELECT 1 FROM consents c WHERE c.contact_id = o.contact_id AND c.at_ms >= o.created_at_ms) \
          OR EXISTS (SELECT 1 FROM marketing_preferences m WHERE m.contact_id = o.contact_id \
                     AND m.phone_number_id = o.phone_number_id AND m.meta_at_ms >= o.created_at_ms))"
);
const CLAIM_SQLITE: &str = concat!(
    "UPDATE outbound SET state = 'sending', attempts = attempts + 1, updated_at_ms = $2 WHERE id IN (",
    due_ids!(""),
    ") RETURNING id, recipient, request, lane, attempts, ambiguous"
);
const CLAIM_PG: &str = concat!(
    "UPDATE outbound SET state = 'sending', attempts = attempts + 1, updated_at_ms = $2 WHERE id IN (",
    due_ids!(" FOR UPDATE SKIP LOCKED"),
    ") RETURNING id, recipient, request, lane, attempts, ambiguous"
);
const OPTED_OUT_NOTE: &str =
    "The customer opted out after this message was queued; it was not sent.";
const SET_ACCEPTED: &str = "UPDATE outbound SET state = 'accepted', wamid = $2, error_code = NULL, error_message = NULL, updated_at_ms = $3 \
     WHERE id = $1 AND state = 'sending' AND attempts = $4 RETURNING phone_number_id, contact_id, kind, request";
const SET_RETRY: &str = "UPDATE outbound SET state = 'queued', next_attempt_at_ms = $2, error_code = $3, error_message = $4, \
       ambiguous = $5, updated_at_ms = $6 WHERE id = $1 AND state = 'sending' AND attempts = $7";
const SET_FAILED: &str = "UPDATE outbound SET state = 'failed', error_code = $2, error_message = $3, ambiguous = $4, updated_at_ms = $5 \
     WHERE id = $1 AND state = 'sending' AND attempts = $6";
const SET_DEFERRED: &str = "UPDATE outbound SET state = 'queued', next_attempt_at_ms = $2, attempts = attempts - 1, updated_at_ms = $3 \
     WHERE id = $1 AND state = 'sending' AND attempts = $4";

/// Of the due messages, those consent now blocks, given each contact's records and Meta's
/// latest preference on this number.
fn blocked(
    due: &[Due],
    records: &HashMap<i64, Vec<(String, String, i64)>>,
    meta: &HashMap<i64, MetaPreference>,
) -> Vec<i64> {
    due.iter()
        .filter(|(_, contact, business_initiated, category)| {
            let marketing = category.as_deref() == Some("MARKETING");
            let consent = Consent::from_records(
                &records
                    .get(contact)
                    .map(|r| self::records(r))
                    .unwrap_or_default(),
                meta.get(contact).copied(),
            );
            consent.blocks(*business_initiated, marketing).is_some()
        })
        .map(|d| d.0)
        .collect()
}

/// Body of [`Store::claim_outbound`] for one backend.
macro_rules! claim_body {
    ($p:expr, $claim_sql:expr, $number:expr, $now:expr, $limit:expr) => {{
        let (number, now_ms): (&str, i64) = ($number, $now);
        let mut tx = $p.begin_write().await?;
        // Refusing shifts the window of what is claimed, so look again until nothing more is
        // refused (each round refuses at least one message).
        loop {
            let changed: Vec<Due> = sqlx::query_as(CHANGED)
                .bind(number)
                .bind(now_ms)
                .bind($limit)
                .fetch_all(&mut *tx)
                .await?;
            if changed.is_empty() {
                break;
            }
            let mut contacts: Vec<i64> = changed.iter().map(|d| d.1).collect();
            contacts.sort_unstable();
            contacts.dedup();
            let mut records: HashMap<i64, Vec<(String, String, i64)>> = HashMap::new();
            let mut meta: HashMap<i64, MetaPreference> = HashMap::new();
            for chunk in contacts.chunks(CHUNK) {
                let mut q = sqlx::QueryBuilder::new(
                    "SELECT contact_id, purpose, action, at_ms FROM consents WHERE (phone_number_id IS NULL OR phone_number_id = ",
                );
                q.push_bind(number).push(") AND contact_id IN ");
                crate::push_list!(q, chunk);
                q.push(" ORDER BY at_ms DESC, id DESC");
                let rows: Vec<(i64, String, String, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
                for (c, purpose, action, at) in rows {
                    records.entry(c).or_default().push((purpose, action, at));
                }
                let mut q = sqlx::QueryBuilder::new(
                    "SELECT contact_id, value, meta_at_ms FROM marketing_preferences WHERE phone_number_id = ",
                );
                q.push_bind(number).push(" AND contact_id IN ");
                crate::push_list!(q, chunk);
                q.push(" ORDER BY meta_at_ms DESC, id DESC");
                let rows: Vec<(i64, String, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
                for (c, value, at) in rows {
                    meta.entry(c).or_insert_with(|| MetaPreference::parse(&value, at));
                }
            }
            let refused = blocked(&changed, &records, &meta);
            if refused.is_empty() {
                break;
            }
            for chunk in refused.chunks(CHUNK) {
                let mut q = sqlx::QueryBuilder::new("UPDATE outbound SET state = ");
                q.push_bind(OutboxState::Refused.as_str())
                    .push(", error_message = ")
                    .push_bind(OPTED_OUT_NOTE)
                    .push(", updated_at_ms = ")
                    .push_bind(now_ms)
                    .push(" WHERE id IN ");
                crate::push_list!(q, chunk);
                q.build().execute(&mut *tx).await?;
                let mut q = sqlx::QueryBuilder::new("INSERT INTO outbound_events (outbound_id, state, at_ms, detail) ");
                q.push_values(chunk, |mut b, id| {
                    b.push_bind(*id).push_bind(OutboxState::Refused.as_str()).push_bind(now_ms).push_bind(OPTED_OUT_NOTE);
                });
                q.build().execute(&mut *tx).await?;
            }
        }
        let rows: Vec<Claimed> = sqlx::query_as($claim_sql)
            .bind(number)
            .bind(now_ms)
            .bind($limit)
            .fetch_all(&mut *tx)
            .await?;
        for chunk in rows.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO outbound_events (outbound_id, state, at_ms, detail) ");
            q.push_values(chunk, |mut b, r| {
                b.push_bind(r.id).push_bind("sending").push_bind(now_ms).push_bind(format!("attempt {}", r.attempts));
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        rows
    }};
}

impl Store {
    /// Claims up to `limit` due messages of a number for sending, after refusing those whose
    /// customer opted out since they were queued. Only the holder of the number's lease calls
    /// this.
    pub async fn claim_outbound(
        &self,
        phone_number_id: &str,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<Claimed>, StoreError> {
        let mut rows: Vec<Claimed> = match &self.writer {
            crate::Pool::Sqlite(p) => {
                claim_body!(p, CLAIM_SQLITE, phone_number_id, now_ms, limit)
            }
            crate::Pool::Postgres(p) => claim_body!(p, CLAIM_PG, phone_number_id, now_ms, limit),
        };
        rows.sort_by_key(|r| (r.lane, r.id));
        Ok(rows)
    }

    /// Records attempt outcomes, many in one transaction (the dispatcher batches them).
    pub async fn record_outcomes(
        &self,
        outcomes: &[Outcome],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        // Per-row updates are one statement each; everything else (events, conversations,
        // thread rows, parked statuses) is one multi-row statement per chunk, because on SQLite
        // every statement queues on the one writer.
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            let mut events: Vec<(i64, &'static str, String)> = Vec::with_capacity(outcomes.len());
            let mut accepted: Vec<AcceptedRow<'_>> = Vec::new();
            for o in outcomes {
                match o {
                    Outcome::Accepted { id, attempt, wamid } => {
                        let row: Option<(String, i64, String, String)> = sqlx::query_as(SET_ACCEPTED).bind(id).bind(wamid).bind(now_ms).bind(attempt).fetch_optional(&mut *tx).await?;
                        let Some((number, contact, kind, request)) = row else { continue };
                        events.push((*id, "accepted", wamid.clone()));
                        let text = serde_json::from_str::<serde_json::Value>(&request).ok().and_then(|v| {
                            v.pointer("/text/body").or_else(|| v.pointer(&format!("/{kind}/caption"))).or_else(|| v.pointer("/template/name")).and_then(|t| t.as_str()).map(str::to_owned)
                        });
                        let text = text.map(|t| t.replace('\0', ""));
                        accepted.push((wamid.as_str(), number, contact, kind, text, request.replace("\\u0000", "")));
                    }
                    Outcome::Retry { id, attempt, at_ms, code, message, ambiguous } => {
                        let r = sqlx::query(SET_RETRY).bind(id).bind(at_ms).bind(code).bind(message).bind(ambiguous).bind(now_ms).bind(attempt).execute(&mut *tx).await?;
                        if r.rows_affected() > 0 {
                            events.push((*id, "retry_scheduled", format!("{message}; next attempt at {at_ms}")));
                        }
                    }
                    Outcome::Failed { id, attempt, code, message, ambiguous } => {
                        let r = sqlx::query(SET_FAILED).bind(id).bind(code).bind(message).bind(ambiguous).bind(now_ms).bind(attempt).execute(&mut *tx).await?;
                        if r.rows_affected() > 0 {
                            events.push((*id, "failed", message.clone()));
                        }
                    }
                    Outcome::Deferred { id, attempt, at_ms } => {
                        sqlx::query(SET_DEFERRED).bind(id).bind(at_ms).bind(now_ms).bind(attempt).execute(&mut *tx).await?;
                    }
                }
            }
            for chunk in events.chunks(CHUNK) {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO outbound_events (outbound_id, state, at_ms, detail) ");
                q.push_values(chunk, |mut b, (id, state, detail)| {
                    b.push_bind(*id).push_bind(*state).push_bind(now_ms).push_bind(detail.as_str());
                });
                q.build().execute(&mut *tx).await?;
            }
            for chunk in accepted.chunks(CHUNK) {
                // One conversation per (number, customer), so each key appears once.
                let mut pairs: Vec<(&str, i64)> = chunk.iter().map(|a| (a.1.as_str(), a.2)).collect();
                pairs.sort_unstable();
                pairs.dedup();
                let mut q = sqlx::QueryBuilder::new("INSERT INTO conversations (phone_number_id, contact_id, status, last_message_at_ms, created_at_ms) ");
                q.push_values(&pairs, |mut b, (number, contact)| {
                    b.push_bind(*number).push_bind(*contact).push_bind("open").push_bind(now_ms).push_bind(now_ms);
                });
                q.push(" ON CONFLICT (phone_number_id, contact_id) DO UPDATE SET last_message_at_ms = CASE WHEN conversations.last_message_at_ms < excluded.last_message_at_ms THEN excluded.last_message_at_ms ELSE conversations.last_message_at_ms END RETURNING id, phone_number_id, contact_id");
                let ids: Vec<(i64, String, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
                let conversation: HashMap<(String, i64), i64> = ids.into_iter().map(|(id, n, c)| ((n, c), id)).collect();
                let mut q = sqlx::QueryBuilder::new("INSERT INTO messages (wamid, conversation_id, direction, type, text, payload, meta_at_ms, created_at_ms) ");
                q.push_values(chunk, |mut b, (wamid, number, contact, kind, text, request)| {
                    let conv = conversation.get(&(number.clone(), *contact)).copied().unwrap_or_default();
                    b.push_bind(*wamid).push_bind(conv).push_bind("out").push_bind(kind.as_str()).push_bind(text.as_deref())
                        .push_bind(request.as_str()).push_bind(now_ms).push_bind(now_ms);
                });
                q.push(" ON CONFLICT (wamid) DO NOTHING");
                q.build().execute(&mut *tx).await?;
                // A status webhook may have come before we recorded the wamid: apply the best.
                crate::statuses::apply_parked!(tx, chunk.iter().map(|a| a.0));
            }
            tx.commit().await?;
            Ok(())
        })
    }
}
