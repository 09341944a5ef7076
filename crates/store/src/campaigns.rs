//! Campaigns: one template to an audience from one number. Its messages are ordinary outbox
//! rows carrying its id, queued through the same policy as any send, so consent, the
//! messaging-limit budget and pacing apply unchanged. A campaign is created paused and started
//! once every recipient is queued, so a crash half-way through queueing never leaves half a
//! campaign sending. Pausing moves its queued rows to `paused` (the dispatcher skips them) and
//! back; cancelling moves what has not gone yet to `cancelled`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{BeginWrite, ContactRow, Store, StoreError, with_pool};

#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub name: String,
    pub phone_number_id: String,
    pub template_name: String,
    pub language: String,
    /// The audience as the caller gave it (JSON), kept for the record.
    pub audience: String,
    pub schedule_at_ms: i64,
    pub created_by: Option<String>,
    /// The team it is for (its spend counts against the team's monthly budget).
    pub team_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct CampaignRow {
    pub id: i64,
    pub name: String,
    pub phone_number_id: String,
    pub template_name: String,
    pub language: String,
    pub state: String,
    pub paused_reason: Option<String>,
    pub schedule_at_ms: i64,
    pub created_by: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// Where a campaign's messages are: counts per bucket (each message in exactly one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub total: i64,
    /// Waiting to go: queued, held for the messaging limit, paused, or being sent.
    pub queued: i64,
    pub held: i64,
    pub paused: i64,
    pub sending: i64,
    /// Accepted by Meta, no status yet.
    pub accepted: i64,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub failed: i64,
    pub refused: i64,
    pub cancelled: i64,
}

impl Progress {
    /// Nothing of the campaign is left to send.
    pub fn finished(&self) -> bool {
        self.queued + self.held + self.paused + self.sending == 0
    }
}

/// What an operator does to a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignAction {
    Pause,
    Resume,
    Cancel,
}

const INSERT: &str = "INSERT INTO campaigns (name, phone_number_id, template_name, language, state, paused_reason, audience, schedule_at_ms, created_by, created_at_ms, updated_at_ms, team_id) \
     VALUES ($1, $2, $3, $4, 'paused', 'being queued', $5, $6, $7, $8, $8, $9) RETURNING id";
const ONE: &str = "SELECT id, name, phone_number_id, template_name, language, state, paused_reason, schedule_at_ms, created_by, created_at_ms, updated_at_ms FROM campaigns WHERE id = $1";
const LIST: &str = "SELECT id, name, phone_number_id, template_name, language, state, paused_reason, schedule_at_ms, created_by, created_at_ms, updated_at_ms FROM campaigns ORDER BY id DESC LIMIT $1";
const PROGRESS: &str = "SELECT o.state, m.status, COUNT(*) FROM outbound o LEFT JOIN messages m ON m.wamid = o.wamid \
     WHERE o.campaign_id = $1 GROUP BY o.state, m.status";
pub(crate) const SET_STATE: &str =
    "UPDATE campaigns SET state = $2, paused_reason = $3, updated_at_ms = $4 WHERE id = $1";
pub(crate) const PARK: &str = "UPDATE outbound SET state = 'paused', updated_at_ms = $2 WHERE campaign_id = $1 AND state = 'queued'";
const UNPARK: &str = "UPDATE outbound SET state = 'queued', updated_at_ms = $2 WHERE campaign_id = $1 AND state = 'paused'";
const CANCEL_ROWS: &str = "UPDATE outbound SET state = 'cancelled', updated_at_ms = $2 WHERE campaign_id = $1 AND state IN ('queued', 'held', 'paused')";
/// Running campaigns, and those still being queued (a quality drop must stop them starting).
pub(crate) const RUNNING_OF_NUMBER: &str = "SELECT id FROM campaigns WHERE phone_number_id = $1 \
     AND (state = 'running' OR (state = 'paused' AND paused_reason = 'being queued'))";
const QUEUEING: &str = "being queued";
const START: &str = "UPDATE campaigns SET state = 'running', paused_reason = NULL, updated_at_ms = $2 \
     WHERE id = $1 AND state = 'paused' AND paused_reason = 'being queued'";
const AUDIENCE: &str = "SELECT c.id, c.wa_id, c.bsuid, c.parent_bsuid, c.username, c.name, c.created_at_ms, c.updated_at_ms \
     FROM contacts c JOIN conversations v ON v.contact_id = c.id AND v.phone_number_id = $1 \
     WHERE ($2 IS NULL OR EXISTS (SELECT 1 FROM conversation_labels l WHERE l.conversation_id = v.id AND l.label = $2)) \
     ORDER BY c.id LIMIT $3";

/// Pauses every running campaign of a number (the number's quality turned RED), inside the
/// projector's transaction.
macro_rules! pause_running {
    ($tx:expr, $number:expr, $reason:expr, $now:expr) => {{
        let ids: Vec<(i64,)> = sqlx::query_as($crate::campaigns::RUNNING_OF_NUMBER)
            .bind($number)
            .fetch_all(&mut *$tx)
            .await?;
        for (id,) in &ids {
            sqlx::query($crate::campaigns::SET_STATE)
                .bind(id)
                .bind("paused")
                .bind($reason)
                .bind($now)
                .execute(&mut *$tx)
                .await?;
            sqlx::query($crate::campaigns::PARK)
                .bind(id)
                .bind($now)
                .execute(&mut *$tx)
                .await?;
        }
        ids.len()
    }};
}
pub(crate) use pause_running;

impl Store {
    /// Creates a campaign, paused until [`Store::campaign_action`] resumes it (after its
    /// recipients are queued with `park`).
    pub async fn create_campaign(&self, c: &NewCampaign, now_ms: i64) -> Result<i64, StoreError> {
        with_pool!(&self.writer, p => {
            let (id,): (i64,) = sqlx::query_as(INSERT).bind(&c.name).bind(&c.phone_number_id).bind(&c.template_name)
                .bind(&c.language).bind(&c.audience).bind(c.schedule_at_ms).bind(&c.created_by).bind(now_ms).bind(c.team_id)
                .fetch_one(p).await?;
            Ok(id)
        })
    }

    /// Starts a campaign whose recipients are all queued, unless something paused it
    /// meanwhile (the number's quality turned RED). Returns whether it started.
    pub async fn start_campaign(&self, id: i64, now_ms: i64) -> Result<bool, StoreError> {
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            let started = sqlx::query(START).bind(id).bind(now_ms).execute(&mut *tx).await?.rows_affected() > 0;
            if started {
                sqlx::query(UNPARK).bind(id).bind(now_ms).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(started)
        })
    }

    pub async fn campaign(&self, id: i64) -> Result<CampaignRow, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(ONE).bind(id).fetch_one(p).await?))
    }

    pub async fn campaigns(&self, limit: i64) -> Result<Vec<CampaignRow>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(LIST).bind(limit).fetch_all(p).await?))
    }

    pub async fn campaign_progress(&self, id: i64) -> Result<Progress, StoreError> {
        let rows: Vec<(String, Option<String>, i64)> =
            with_pool!(&self.pool, p => sqlx::query_as(PROGRESS).bind(id).fetch_all(p).await?);
        let mut by: BTreeMap<&str, i64> = BTreeMap::new();
        let mut pr = Progress::default();
        for (state, status, n) in &rows {
            pr.total += n;
            let bucket = match (state.as_str(), status.as_deref()) {
                ("accepted", Some("failed")) => "failed",
                ("accepted", Some("read" | "played")) => "read",
                ("accepted", Some("delivered")) => "delivered",
                ("accepted", Some("sent")) => "sent",
                (s, _) => s,
            };
            *by.entry(bucket).or_default() += n;
        }
        let get = |k: &str| by.get(k).copied().unwrap_or(0);
        pr.queued = get("queued");
        pr.held = get("held");
        pr.paused = get("paused");
        pr.sending = get("sending");
        pr.accepted = get("accepted");
        pr.sent = get("sent");
        pr.delivered = get("delivered");
        pr.read = get("read");
        pr.failed = get("failed");
        pr.refused = get("refused");
        pr.cancelled = get("cancelled");
        Ok(pr)
    }

    /// Pauses, resumes or cancels a campaign. Returns the campaign after, or `None` when the
    /// action does not apply (resuming a cancelled campaign, pausing a paused one…).
    pub async fn campaign_action(
        &self,
        id: i64,
        action: CampaignAction,
        reason: Option<&str>,
        now_ms: i64,
    ) -> Result<Option<CampaignRow>, StoreError> {
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            let row: CampaignRow = sqlx::query_as(ONE).bind(id).fetch_one(&mut *tx).await?;
            let (state, rows_sql) = match (action, row.state.as_str()) {
                (CampaignAction::Pause, "running") => ("paused", PARK),
                // A campaign still being queued is started by its creator, once queued.
                (CampaignAction::Resume, "paused") if row.paused_reason.as_deref() != Some(QUEUEING) => ("running", UNPARK),
                (CampaignAction::Cancel, "running" | "paused") => ("cancelled", CANCEL_ROWS),
                _ => { tx.rollback().await?; return Ok(None) }
            };
            sqlx::query(SET_STATE).bind(id).bind(state).bind(reason).bind(now_ms).execute(&mut *tx).await?;
            sqlx::query(rows_sql).bind(id).bind(now_ms).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(Some(self.campaign(id).await?))
    }

    /// Contacts who have a conversation with this number (optionally one labelled `label`):
    /// a campaign audience by filter.
    pub async fn audience(
        &self,
        phone_number_id: &str,
        label: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ContactRow>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(AUDIENCE).bind(phone_number_id).bind(label).bind(limit).fetch_all(p).await?))
    }
}
