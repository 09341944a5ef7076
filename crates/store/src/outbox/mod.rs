//! The outbox: messages we were asked to send, the policy decision taken when they were asked
//! for, and what happened to each attempt.
//!
//! - [`submit`]: asking for sends (facts read, the domain's decision and plan written, in one
//!   transaction); checking them without storing.
//! - [`claim`]: a dispatcher claims due messages (consent looked at once more) and records
//!   Meta's answers; accepted messages join the thread.
//! - [`senders`]: who sends for a number (leases, pause and resume, alerts) and the release of
//!   messages held for the messaging limit.
//!
//! The dispatcher of a number holds that number's lease (`senders`); rows it claims are
//! `sending` until their outcome is recorded. When a dispatcher takes over a number whose lease
//! expired (its previous owner crashed), the `sending` rows it finds may or may not have reached
//! Meta: they go back to the queue flagged `ambiguous`. That, and retrying once after a timeout
//! (also flagged), are the only ways a message can reach a customer twice.
//!
//! What a state means, and which count against the messaging limit, is
//! [`switchboard_domain::outbox`]'s.

mod claim;
mod senders;
mod submit;

pub use claim::{Claimed, Outcome};
pub use senders::{AlertRow, SenderLease};
pub use submit::{NewSend, PolicyLimits, Submitted};

use std::collections::HashMap;

use serde::Serialize;
use switchboard_domain::outbox::OutboxState;

use crate::{Store, StoreError, with_pool};

/// Rows per multi-row statement (well under SQLite's and PostgreSQL's bind-parameter limits).
const CHUNK: usize = 500;

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize)]
pub struct OutboundRow {
    pub id: i64,
    pub phone_number_id: String,
    pub contact_id: i64,
    pub recipient: String,
    pub kind: String,
    pub category: Option<String>,
    pub template_name: Option<String>,
    pub lane: i64,
    pub request: String,
    #[sqlx(try_from = "String")]
    pub state: OutboxState,
    pub decision: String,
    pub business_initiated: bool,
    pub attempts: i64,
    pub next_attempt_at_ms: i64,
    pub ambiguous: bool,
    pub wamid: Option<String>,
    pub error_code: Option<i64>,
    pub error_message: Option<String>,
    pub campaign_id: Option<i64>,
    pub created_by: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// Meta's latest status for the wamid (sent, delivered, read, played, failed).
    pub status: Option<String>,
    pub status_at_ms: Option<i64>,
    pub status_error_code: Option<i64>,
}

/// One step of a message's history: our outbox states and Meta's statuses, in time order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryStep {
    pub state: String,
    pub at_ms: i64,
    /// "outbox" (ours) or "meta" (a status webhook).
    pub source: &'static str,
    pub detail: Option<String>,
}

macro_rules! select_row {
    () => {
        "SELECT o.id, o.phone_number_id, o.contact_id, o.recipient, o.kind, o.category, o.template_name, o.lane, \
       o.request, o.state, o.decision, o.business_initiated, o.attempts, o.next_attempt_at_ms, o.ambiguous, o.wamid, o.error_code, \
       o.error_message, o.campaign_id, o.created_by, o.created_at_ms, o.updated_at_ms, \
       m.status AS status, m.status_at_ms AS status_at_ms, m.error_code AS status_error_code \
     FROM outbound o LEFT JOIN messages m ON m.wamid = o.wamid"
    };
}
pub(crate) use select_row;
pub(crate) const ROW_BY_ID: &str = concat!(select_row!(), " WHERE o.id = $1");
pub(crate) const INSERT_EVENT: &str =
    "INSERT INTO outbound_events (outbound_id, state, at_ms, detail) VALUES ($1, $2, $3, $4)";
const EVENTS: &str =
    "SELECT state, at_ms, detail FROM outbound_events WHERE outbound_id = $1 ORDER BY id";
const STATUSES: &str = "SELECT status, meta_at_ms, errors FROM message_statuses WHERE wamid = $1 ORDER BY rank, meta_at_ms";
const ACCEPTED_TIMES: &str = "SELECT o.phone_number_id, e.at_ms FROM outbound_events e JOIN outbound o ON o.id = e.outbound_id \
     WHERE e.state = 'accepted' ORDER BY e.at_ms";
const REQUEUED: &str = "SELECT COUNT(DISTINCT e.outbound_id) FROM outbound_events e JOIN outbound o ON o.id = e.outbound_id \
     WHERE e.state = 'requeued' AND o.phone_number_id = $1";
const COUNT_STATES: &str =
    "SELECT state, COUNT(*) FROM outbound WHERE phone_number_id = $1 GROUP BY state";
impl Store {
    /// One outbox message with Meta's latest status.
    pub async fn outbound(&self, id: i64) -> Result<OutboundRow, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(ROW_BY_ID).bind(id).fetch_one(p).await?))
    }

    /// A message's history: outbox states and Meta's statuses, in time order.
    pub async fn outbound_history(&self, id: i64) -> Result<Vec<HistoryStep>, StoreError> {
        let row = self.outbound(id).await?;
        with_pool!(&self.pool, p => {
            let events: Vec<(String, i64, Option<String>)> = sqlx::query_as(EVENTS).bind(id).fetch_all(p).await?;
            let mut steps: Vec<HistoryStep> = events.into_iter().map(|(state, at_ms, detail)| HistoryStep { state, at_ms, source: "outbox", detail }).collect();
            if let Some(w) = &row.wamid {
                let statuses: Vec<(String, i64, Option<String>)> = sqlx::query_as(STATUSES).bind(w).fetch_all(p).await?;
                steps.extend(statuses.into_iter().map(|(state, at_ms, detail)| HistoryStep { state, at_ms, source: "meta", detail }));
            }
            // Ours end at `accepted`, so Meta's (by rank; its timestamps are whole seconds)
            // follow.
            Ok(steps)
        })
    }

    /// How many of a number's outbox messages are in each state.
    pub async fn outbound_counts(
        &self,
        phone_number_id: &str,
    ) -> Result<HashMap<String, i64>, StoreError> {
        with_pool!(&self.pool, p => {
            let rows: Vec<(String, i64)> = sqlx::query_as(COUNT_STATES).bind(phone_number_id).fetch_all(p).await?;
            Ok(rows.into_iter().collect())
        })
    }

    /// How many of a number's messages were put back in the queue after their sender stopped
    /// while they were in flight (the messages that may have reached Meta twice).
    pub async fn outbound_requeued_count(&self, phone_number_id: &str) -> Result<i64, StoreError> {
        with_pool!(&self.pool, p => {
            let (n,): (i64,) = sqlx::query_as(REQUEUED).bind(phone_number_id).fetch_one(p).await?;
            Ok(n)
        })
    }

    /// When each accepted message was recorded as accepted, with its number (reports and the
    /// outbox benchmark).
    pub async fn outbound_accepted_times(&self) -> Result<Vec<(String, i64)>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(ACCEPTED_TIMES).fetch_all(p).await?))
    }
}
