//! The projection of webhooks into contacts, conversations, messages and statuses.
//!
//! The server turns each journaled body into a list of [`Op`]s (pure parsing, see the server's
//! `inbound::project`); [`Store::apply_projection`] writes them and marks the journal row
//! projected in ONE transaction, so an entry is applied entirely or not at all. Every write is
//! idempotent by a unique key (wamid; (wamid, status); an event's dedupe key), never by
//! check-then-insert, so replaying a journal row or receiving a duplicate changes nothing.
//!
//! Statuses follow a monotonic state machine: `sent` < `delivered` < `read` < `played`, and
//! `failed` is terminal. A status whose message we do not have yet stays in `message_statuses`
//! ("parked") and is applied when the message appears. Time is Meta's: windows are computed from
//! the webhook timestamps, and a conversation's latest times only move forward.

pub(crate) mod messages;

use std::collections::HashMap;

use crate::contacts::ContactKey;
use crate::journal::{COUNT_DELIVERY, MARK_DUPLICATE};
use crate::{BeginWrite, Store, StoreError, with_pool};

/// One message to record (inbound, or an outbound echo from the WhatsApp Business app).
#[derive(Debug, Clone)]
pub struct MessageOp {
    pub phone_number_id: String,
    pub contact: ContactKey,
    pub wamid: String,
    pub inbound: bool,
    pub kind: String,
    /// Searchable text (body, caption, button title…).
    pub text: Option<String>,
    /// The message's raw JSON as Meta sent it.
    pub payload: String,
    pub meta_at_ms: i64,
    /// When the free-entry-point window this message opened closes (a click-to-WhatsApp
    /// referral; `domain::window` says when), in Meta's time.
    pub free_entry_point_until_ms: Option<i64>,
    /// Media to download: (Meta media id, mime type, sha256 base64, url).
    pub media: Option<MediaRef>,
}

#[derive(Debug, Clone)]
pub struct MediaRef {
    pub media_id: String,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StatusOp {
    pub wamid: String,
    pub status: String,
    pub rank: i64,
    pub meta_at_ms: i64,
    pub pricing: Option<String>,
    pub errors: Option<String>,
    pub error_code: Option<i64>,
    pub payload: String,
}

/// One journal row to project: its id, its body's dedupe key, and what its body asks.
#[derive(Debug, Clone)]
pub struct Journaled {
    pub journal_id: i64,
    pub dedupe_key: String,
    pub ops: Vec<Op>,
}

/// What one webhook entry asks the store to do.
#[derive(Debug, Clone)]
pub enum Op {
    Message(Box<MessageOp>),
    Status(StatusOp),
    /// `user_changed_number`: the contact known by `old_wa_id` now has `new_wa_id`.
    NumberChanged {
        old_wa_id: String,
        new_wa_id: String,
    },
    /// `user_changed_user_id`: the contact with `old_bsuid` (or, without it, this phone) has a
    /// new BSUID.
    BsuidChanged {
        old_bsuid: Option<String>,
        wa_id: Option<String>,
        new_bsuid: String,
    },
    /// A management webhook, kept whole and deduplicated.
    AccountEvent {
        field: String,
        waba_id: String,
        phone_number_id: Option<String>,
        meta_at_ms: Option<i64>,
        dedupe_key: String,
        payload: String,
    },
    NumberState {
        key: String,
        display: Option<String>,
        quality: Option<String>,
        messaging_limit: Option<String>,
        restricted: Option<bool>,
        at_ms: i64,
    },
    TemplateState {
        waba_id: String,
        name: String,
        language: String,
        template_id: Option<String>,
        status: Option<String>,
        category: Option<String>,
        quality: Option<String>,
        reason: Option<String>,
        at_ms: i64,
    },
    MarketingPreference {
        phone_number_id: String,
        contact: ContactKey,
        value: String,
        meta_at_ms: i64,
    },
    /// The customer wrote an opt-out (`opt_in` false) or opt-in keyword. Recorded as consent
    /// once per message, and reported in the summary (`keywords`) so the server can answer it
    /// through the send service.
    ConsentKeyword {
        phone_number_id: String,
        contact: ContactKey,
        opt_in: bool,
        keyword: String,
        wamid: String,
    },
    /// An item of the body kept as a dead letter, or resolved (`journal/items.rs`).
    Item(crate::journal::items::ItemOp),
}

/// What a projection changed (first application) versus found already applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectionSummary {
    pub messages_new: usize,
    pub messages_seen: usize,
    pub statuses_new: usize,
    pub statuses_seen: usize,
    pub statuses_parked: usize,
    pub events_new: usize,
    /// Journal rows that were byte-identical copies of earlier ones (Meta's retries).
    pub duplicates: usize,
    /// Conversations that changed, and how: `message` (a new message) or `status`.
    pub changed: Vec<(i64, &'static str)>,
    /// Consent keywords projected (again, too: a replay reports them once more).
    pub keywords: Vec<KeywordSeen>,
}

/// A consent keyword a customer wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordSeen {
    pub phone_number_id: String,
    pub contact: ContactKey,
    pub opt_in: bool,
    /// The customer's message.
    pub wamid: String,
}

const CHANGE_NUMBER: &str = "UPDATE contacts SET wa_id = $2, updated_at_ms = $3 WHERE wa_id = $1 AND NOT EXISTS (SELECT 1 FROM contacts c2 WHERE c2.wa_id = $2)";
// Keyed by the OLD BSUID, so a replayed change cannot undo a later one; by phone only when the
// message did not carry the old BSUID.
const CHANGE_BSUID: &str = "UPDATE contacts SET bsuid = $3, updated_at_ms = $4 \
     WHERE (bsuid = $1 OR ($1 IS NULL AND wa_id = $2)) AND NOT EXISTS (SELECT 1 FROM contacts c2 WHERE c2.bsuid = $3)";
const INSERT_EVENT: &str = "INSERT INTO account_events (field, waba_id, phone_number_id, meta_at_ms, dedupe_key, payload, journal_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id";
// Each field moves only for an event at least as recent as the one that last set it.
const UPSERT_NUMBER: &str = "INSERT INTO number_state (phone_number_id, display_phone_number, quality, quality_at_ms, messaging_limit, messaging_limit_at_ms, restricted, restricted_at_ms, updated_at_ms) VALUES ($1, $2, $3, CASE WHEN $3 IS NULL THEN NULL ELSE $6 END, $4, CASE WHEN $4 IS NULL THEN NULL ELSE $6 END, COALESCE($5, FALSE), CASE WHEN $5 IS NULL THEN NULL ELSE $6 END, $6) ON CONFLICT (phone_number_id) DO UPDATE SET display_phone_number = COALESCE(excluded.display_phone_number, number_state.display_phone_number), quality = CASE WHEN ($3 IS NOT NULL AND COALESCE(number_state.quality_at_ms, -1) <= excluded.updated_at_ms) THEN $3 ELSE number_state.quality END, quality_at_ms = CASE WHEN ($3 IS NOT NULL AND COALESCE(number_state.quality_at_ms, -1) <= excluded.updated_at_ms) THEN excluded.updated_at_ms ELSE number_state.quality_at_ms END, messaging_limit = CASE WHEN ($4 IS NOT NULL AND COALESCE(number_state.messaging_limit_at_ms, -1) <= excluded.updated_at_ms) THEN $4 ELSE number_state.messaging_limit END, messaging_limit_at_ms = CASE WHEN ($4 IS NOT NULL AND COALESCE(number_state.messaging_limit_at_ms, -1) <= excluded.updated_at_ms) THEN excluded.updated_at_ms ELSE number_state.messaging_limit_at_ms END, restricted = CASE WHEN ($5 IS NOT NULL AND COALESCE(number_state.restricted_at_ms, -1) <= excluded.updated_at_ms) THEN $5 ELSE number_state.restricted END, restricted_at_ms = CASE WHEN ($5 IS NOT NULL AND COALESCE(number_state.restricted_at_ms, -1) <= excluded.updated_at_ms) THEN excluded.updated_at_ms ELSE number_state.restricted_at_ms END, updated_at_ms = CASE WHEN number_state.updated_at_ms < excluded.updated_at_ms THEN excluded.updated_at_ms ELSE number_state.updated_at_ms END";
const NUMBER_QUALITY: &str =
    "SELECT quality, quality_at_ms FROM number_state WHERE phone_number_id = $1";
pub(crate) const UPSERT_TEMPLATE: &str = "INSERT INTO template_state (waba_id, name, language, template_id, status, reason, status_at_ms, category, category_at_ms, quality, quality_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $8, CASE WHEN $5 IS NULL THEN NULL ELSE $9 END, $6, CASE WHEN $6 IS NULL THEN NULL ELSE $9 END, $7, CASE WHEN $7 IS NULL THEN NULL ELSE $9 END, $9) ON CONFLICT (waba_id, name, language) DO UPDATE SET template_id = COALESCE(excluded.template_id, template_state.template_id), reason = CASE WHEN ($5 IS NOT NULL AND COALESCE(template_state.status_at_ms, -1) <= excluded.updated_at_ms) THEN $8 ELSE template_state.reason END, status = CASE WHEN ($5 IS NOT NULL AND COALESCE(template_state.status_at_ms, -1) <= excluded.updated_at_ms) THEN $5 ELSE template_state.status END, status_at_ms = CASE WHEN ($5 IS NOT NULL AND COALESCE(template_state.status_at_ms, -1) <= excluded.updated_at_ms) THEN excluded.updated_at_ms ELSE template_state.status_at_ms END, category = CASE WHEN ($6 IS NOT NULL AND COALESCE(template_state.category_at_ms, -1) <= excluded.updated_at_ms) THEN $6 ELSE template_state.category END, category_at_ms = CASE WHEN ($6 IS NOT NULL AND COALESCE(template_state.category_at_ms, -1) <= excluded.updated_at_ms) THEN excluded.updated_at_ms ELSE template_state.category_at_ms END, quality = CASE WHEN ($7 IS NOT NULL AND COALESCE(template_state.quality_at_ms, -1) <= excluded.updated_at_ms) THEN $7 ELSE template_state.quality END, quality_at_ms = CASE WHEN ($7 IS NOT NULL AND COALESCE(template_state.quality_at_ms, -1) <= excluded.updated_at_ms) THEN excluded.updated_at_ms ELSE template_state.quality_at_ms END, updated_at_ms = CASE WHEN template_state.updated_at_ms < excluded.updated_at_ms THEN excluded.updated_at_ms ELSE template_state.updated_at_ms END";
const INSERT_PREFERENCE: &str = "INSERT INTO marketing_preferences (contact_id, phone_number_id, value, meta_at_ms) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (contact_id, phone_number_id, meta_at_ms, value) DO NOTHING";
const INSERT_KEYWORD_CONSENT: &str = "INSERT INTO consents (contact_id, phone_number_id, purpose, action, source, evidence, actor, dedupe_key, at_ms) \
     VALUES ($1, $2, 'all', $3, 'keyword', $4, 'customer', $5, $6) ON CONFLICT (dedupe_key) DO NOTHING";
impl Store {
    /// Applies one journal entry's ops and marks it projected, in one transaction. (For tests:
    /// the entry's body is taken to be unique.)
    pub async fn apply_projection(
        &self,
        journal_id: i64,
        ops: &[Op],
        now_ms: i64,
    ) -> Result<ProjectionSummary, StoreError> {
        let entry = Journaled {
            journal_id,
            dedupe_key: format!("journal:{journal_id}"),
            ops: ops.to_vec(),
        };
        self.apply_projections(std::slice::from_ref(&entry), now_ms)
            .await
    }

    /// Applies several journal entries in order and marks them projected, in ONE transaction
    /// (one commit for many bodies, as the intake's group commit). Messages and statuses are
    /// written in sets ([`messages::apply_messages!`], [`crate::statuses::apply_statuses!`]),
    /// a few statements for the whole batch; the rarer ops one by one, in order (a change of
    /// number or BSUID first writes what came before it, since it changes who a later message
    /// is from). Contacts and conversations found once are remembered for the rest of the batch.
    ///
    /// An entry whose body an earlier journal row already had (Meta's retry) changes nothing:
    /// it is marked `duplicate_of` that row, whose delivery count goes up.
    pub async fn apply_projections(
        &self,
        entries: &[Journaled],
        now_ms: i64,
    ) -> Result<ProjectionSummary, StoreError> {
        let mut sum = ProjectionSummary::default();
        let mut resolved = messages::Resolved::default();
        // SQLite: the journal is another file (written by its own thread), marked after the
        // projection commits.
        let separate_journal = self.journal_thread.clone();
        // (row, the earlier row it copies)
        let mut duplicates: Vec<(i64, i64)> = Vec::new();
        let summary: Result<ProjectionSummary, StoreError> = with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            // Each body claimed once, by its first journal row (a copy later in this batch
            // included); a replay of that row finds itself.
            let mut firsts: HashMap<&str, i64> = HashMap::new();
            let mut claim: Vec<(&str, i64)> = Vec::new();
            for e in entries {
                if !firsts.contains_key(e.dedupe_key.as_str()) {
                    firsts.insert(&e.dedupe_key, e.journal_id);
                    claim.push((&e.dedupe_key, e.journal_id));
                }
            }
            for part in claim.chunks(1_000) {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO webhook_dedupe (dedupe_key, journal_id) ");
                q.push_values(part, |mut b, (key, id)| { b.push_bind(*key).push_bind(*id); });
                q.push(" ON CONFLICT (dedupe_key) DO UPDATE SET journal_id = webhook_dedupe.journal_id RETURNING dedupe_key, journal_id");
                let got: Vec<(String, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
                for (key, first) in got {
                    if let Some(claimed) = firsts.get_mut(key.as_str()) {
                        *claimed = first;
                    }
                }
            }
            let mut messages: Vec<(i64, &MessageOp)> = Vec::new();
            let mut statuses: Vec<(i64, &StatusOp)> = Vec::new();
            let mut projected: Vec<i64> = Vec::with_capacity(entries.len());
            for entry in entries {
            let journal_id = entry.journal_id;
            let first = firsts[entry.dedupe_key.as_str()];
            if first != journal_id {
                sum.duplicates += 1;
                duplicates.push((journal_id, first));
                if separate_journal.is_none() {
                    sqlx::query(COUNT_DELIVERY).bind(first).bind(journal_id).execute(&mut *tx).await?;
                    sqlx::query(MARK_DUPLICATE).bind(journal_id).bind(now_ms).bind(first).execute(&mut *tx).await?;
                }
                continue;
            }
            projected.push(journal_id);
            for op in &entry.ops {
                match op {
                    Op::Message(m) => messages.push((journal_id, m)),
                    Op::Status(s) => statuses.push((journal_id, s)),
                    Op::NumberChanged { old_wa_id, new_wa_id } => {
                        messages::apply_messages!(tx, &messages, &mut resolved, &mut sum, now_ms);
                        crate::statuses::apply_statuses!(tx, &statuses, &mut sum);
                        messages.clear();
                        statuses.clear();
                        resolved = Default::default();
                        sqlx::query(CHANGE_NUMBER).bind(old_wa_id).bind(new_wa_id).bind(now_ms).execute(&mut *tx).await?;
                    }
                    Op::BsuidChanged { old_bsuid, wa_id, new_bsuid } => {
                        messages::apply_messages!(tx, &messages, &mut resolved, &mut sum, now_ms);
                        crate::statuses::apply_statuses!(tx, &statuses, &mut sum);
                        messages.clear();
                        statuses.clear();
                        resolved = Default::default();
                        if old_bsuid.is_some() || wa_id.is_some() {
                            sqlx::query(CHANGE_BSUID).bind(old_bsuid).bind(wa_id).bind(new_bsuid).bind(now_ms).execute(&mut *tx).await?;
                        }
                    }
                    Op::AccountEvent { field, waba_id, phone_number_id, meta_at_ms, dedupe_key, payload } => {
                        let inserted: Option<(i64,)> = sqlx::query_as(INSERT_EVENT)
                            .bind(field).bind(waba_id).bind(phone_number_id).bind(meta_at_ms).bind(dedupe_key).bind(payload).bind(journal_id)
                            .fetch_optional(&mut *tx).await?;
                        if inserted.is_some() { sum.events_new += 1; }
                    }
                    Op::NumberState { key, display, quality, messaging_limit, restricted, at_ms } => {
                        sqlx::query(UPSERT_NUMBER).bind(key).bind(display).bind(quality).bind(messaging_limit).bind(*restricted).bind(at_ms)
                            .execute(&mut *tx).await?;
                        // Low quality: stop campaigns before Meta restricts the number — if this
                        // RED is the number's newest rating (a late, older RED after a newer
                        // GREEN changes nothing).
                        let newest_red = if quality.as_deref().is_some_and(|q| q.eq_ignore_ascii_case("RED")) {
                            let (q, at): (Option<String>, Option<i64>) = sqlx::query_as(NUMBER_QUALITY)
                                .bind(key).fetch_one(&mut *tx).await?;
                            q.as_deref().is_some_and(|q| q.eq_ignore_ascii_case("RED")) && at == Some(*at_ms)
                        } else {
                            false
                        };
                        if newest_red {
                            let paused = crate::campaigns::pause_running!(tx, key, "The number's quality rating turned RED; review the campaign before resuming it.", now_ms);
                            if paused > 0 {
                                tracing::warn!(number = %key, campaigns = paused, "campaigns paused: quality RED");
                            }
                        }
                    }
                    Op::TemplateState { waba_id, name, language, template_id, status, category, quality, reason, at_ms } => {
                        sqlx::query(UPSERT_TEMPLATE).bind(waba_id).bind(name).bind(language).bind(template_id).bind(status)
                            .bind(category).bind(quality).bind(reason).bind(at_ms)
                            .execute(&mut *tx).await?;
                    }
                    Op::ConsentKeyword { phone_number_id, contact, opt_in, keyword, wamid } => {
                        let contact_id = crate::contacts::contact_id!(tx, contact, now_ms);
                        let action = if *opt_in { "opt_in" } else { "opt_out" };
                        let evidence = format!("{keyword:?} in message {wamid}");
                        // Our receive time, not Meta's whole-second timestamp: a STOP must beat
                        // a campaign message queued earlier in the same second.
                        sqlx::query(INSERT_KEYWORD_CONSENT).bind(contact_id).bind(phone_number_id).bind(action)
                            .bind(&evidence).bind(wamid).bind(now_ms).execute(&mut *tx).await?;
                        sum.keywords.push(KeywordSeen {
                            phone_number_id: phone_number_id.clone(),
                            contact: contact.clone(),
                            opt_in: *opt_in,
                            wamid: wamid.clone(),
                        });
                    }
                    Op::MarketingPreference { phone_number_id, contact, value, meta_at_ms } => {
                        let contact = crate::contacts::contact_id!(tx, contact, now_ms);
                        sqlx::query(INSERT_PREFERENCE).bind(contact).bind(phone_number_id).bind(value).bind(meta_at_ms)
                            .execute(&mut *tx).await?;
                    }
                    Op::Item(item) => crate::journal::items::apply!(tx, journal_id, item, now_ms),
                }
            }
            }
            messages::apply_messages!(tx, &messages, &mut resolved, &mut sum, now_ms);
            crate::statuses::apply_statuses!(tx, &statuses, &mut sum);
            if separate_journal.is_none() {
                for part in projected.chunks(1_000) {
                    let mut q = sqlx::QueryBuilder::new("UPDATE webhook_journal SET projected_at_ms = ");
                    q.push_bind(now_ms);
                    q.push(", error = NULL, duplicate_of = NULL WHERE id IN ");
                    crate::push_list!(q, part.iter().copied());
                    q.build().execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok(sum)
        });
        let summary = summary?;
        if let Some(journal) = separate_journal {
            let duplicate_of: HashMap<i64, i64> = duplicates.into_iter().collect();
            let marks = entries
                .iter()
                .map(|e| crate::journal::Mark {
                    id: e.journal_id,
                    error: None,
                    duplicate_of: duplicate_of.get(&e.journal_id).copied(),
                })
                .collect();
            journal.mark(marks, now_ms).await?;
        }
        Ok(summary)
    }
}
