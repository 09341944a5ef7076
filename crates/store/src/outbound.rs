//! The outbox: messages we were asked to send, the policy decision taken when they were asked
//! for, and what happened to each attempt.
//!
//! [`Store::submit_sends`] gathers the facts the send policy needs (service window, consent,
//! template, messaging-limit budget, marketing received) and queues the message in ONE write
//! transaction, so an opt-out recorded a moment earlier is seen and nothing is queued on stale
//! facts. An `Idempotency-Key` is a unique column: a retried request finds the first row.
//!
//! The dispatcher of a number holds that number's lease (`senders`); rows it claims are
//! `sending` until their outcome is recorded, and an outcome only applies to the attempt that
//! was claimed. When a dispatcher takes over a number whose lease expired (its previous owner
//! crashed), the `sending` rows it finds may or may not have reached Meta: they go back to the
//! queue flagged `ambiguous`. That, and retrying once after a timeout (also flagged), are the
//! only ways a message can reach a customer twice.
//!
//! Once Meta accepted a message it also gets a row in `messages` (the thread) keyed by wamid, so
//! status webhooks advance it exactly as they advance everything else, parked statuses included.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use switchboard_cloudapi::send::OutboundContent;
use switchboard_domain::UnixMs;
use switchboard_domain::pacing::Lane;
use switchboard_domain::policy::{self, Consent, Decision, LimitBudget, SendFacts, WhenOverBudget};
use switchboard_domain::template::{Category, TemplateDef};

use crate::contacts::{ContactKey, FIND_BY_WA_ID};
use crate::{BeginWrite, Store, StoreError, with_pool};

const DAY_MS: i64 = 24 * 3_600_000;
/// Rows per multi-row statement (well under SQLite's and PostgreSQL's bind-parameter limits).
const CHUNK: usize = 500;

/// A send to queue (or only check).
#[derive(Debug, Clone)]
pub struct NewSend {
    pub phone_number_id: String,
    pub waba_id: String,
    /// How the customer is known: `wa_id` for a phone number, `bsuid` for a BSUID.
    pub contact: ContactKey,
    /// The recipient as it goes to Meta (`+15551234567` or a BSUID).
    pub recipient: String,
    pub content: OutboundContent,
    /// The Cloud API request body, as JSON.
    pub request: String,
    /// The caller's lane; `None` picks one from the content (agent reply, transactional
    /// template, marketing template).
    pub lane: Option<Lane>,
    pub over_budget: WhenOverBudget,
    /// Already scoped by the caller (e.g. per API key).
    pub idempotency_key: Option<String>,
    /// A hash of the request as the caller sent it: the same key with another body is refused.
    pub request_hash: String,
    pub created_by: Option<String>,
    pub campaign_id: Option<i64>,
    /// Not before this time (a scheduled campaign); `None`: now.
    pub not_before_ms: Option<i64>,
    /// Queue it `paused` rather than `queued` (a campaign being created).
    pub park: bool,
}

/// Limits from configuration that the policy applies.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyLimits {
    pub marketing_cap: Option<u32>,
    /// Added to `now` for the policy's decision only (development: the server follows the
    /// emulator's clock); everything stored and scheduled keeps the `now` given.
    pub clock_offset_ms: i64,
}

/// What happened to one submitted send.
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    /// Queued (or held, or recorded as refused: see the row's state).
    New(OutboundRow),
    /// An earlier request with the same idempotency key: its row, unchanged.
    Replayed(OutboundRow),
    /// The policy refused and nothing was stored (no idempotency key to remember it by).
    Refused(Decision),
    /// The same idempotency key was used for a different request.
    KeyReused,
    /// A dry run: what the policy decided; nothing was stored.
    Checked(Decision),
}

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
    pub state: String,
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

/// The state of a number's sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderLease {
    /// This owner holds the lease now.
    pub held: bool,
    pub paused: bool,
    pub paused_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct AlertRow {
    pub id: i64,
    pub phone_number_id: Option<String>,
    pub code: String,
    pub message: String,
    pub created_at_ms: i64,
    pub resolved_at_ms: Option<i64>,
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
const ROW_BY_ID: &str = concat!(select_row!(), " WHERE o.id = $1");
const BY_KEY: &str = "SELECT id, request_hash FROM outbound WHERE idempotency_key = $1";
const LAST_INBOUND: &str =
    "SELECT last_inbound_at_ms FROM conversations WHERE phone_number_id = $1 AND contact_id = $2";
const CONSENTS: &str = "SELECT purpose, action, at_ms FROM consents WHERE contact_id = $1 AND (phone_number_id IS NULL OR phone_number_id = $2) \
     ORDER BY at_ms DESC, id DESC";
const META_PREFERENCE: &str = "SELECT value, meta_at_ms FROM marketing_preferences WHERE contact_id = $1 AND phone_number_id = $2 \
     ORDER BY meta_at_ms DESC, id DESC LIMIT 1";
const TEMPLATE: &str = "SELECT d.definition, s.status, s.category FROM template_definitions d \
     LEFT JOIN template_state s ON s.waba_id = d.waba_id AND s.name = d.name AND s.language = d.language \
     WHERE d.waba_id = $1 AND d.name = $2 AND d.language = $3";
const USABLE_TEMPLATES: &str = "SELECT d.name FROM template_definitions d \
     JOIN template_state s ON s.waba_id = d.waba_id AND s.name = d.name AND s.language = d.language \
     WHERE d.waba_id = $1 AND s.status = 'APPROVED' ORDER BY d.name LIMIT 5";
const NUMBER_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('switchboard.outbox:' || $1))";
const TIER: &str = "SELECT messaging_limit FROM number_state WHERE phone_number_id = $1";
// Unique customers reached outside service windows in the rolling 24 hours. A message counts
// from when it was queued or released from hold, not from when a held one was asked for. Parked campaign rows count too, so a large
// campaign queued in chunks shares one budget.
const REACHED: &str = "SELECT COUNT(DISTINCT contact_id) FROM outbound WHERE phone_number_id = $1 AND business_initiated \
     AND state IN ('queued', 'paused', 'sending', 'accepted') AND reached_at_ms > $2";
const REACHED_ONE: &str = "SELECT COUNT(*) FROM outbound WHERE phone_number_id = $1 AND contact_id = $2 AND business_initiated \
     AND state IN ('queued', 'paused', 'sending', 'accepted') AND reached_at_ms > $3";
const MARKETING_24H: &str = "SELECT COUNT(*) FROM outbound WHERE phone_number_id = $1 AND contact_id = $2 AND category = 'MARKETING' \
     AND state IN ('queued', 'paused', 'sending', 'accepted') AND reached_at_ms > $3";
const INSERT_OUTBOUND: &str = "INSERT INTO outbound (idempotency_key, request_hash, phone_number_id, contact_id, recipient, kind, category, \
       template_name, lane, request, state, decision, business_initiated, next_attempt_at_ms, error_code, error_message, campaign_id, \
       created_by, created_at_ms, updated_at_ms, reached_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, $15, $16, $17, $18, $18, $18) \
     ON CONFLICT (idempotency_key) DO NOTHING RETURNING id";
const INSERT_EVENT: &str =
    "INSERT INTO outbound_events (outbound_id, state, at_ms, detail) VALUES ($1, $2, $3, $4)";
// A customer who opted out after a message was queued gets nothing business-initiated: checked
// for the rows about to be claimed (an opt-out record, or Meta's marketing stop, at or after
// the message was queued), so a STOP blocks the very next campaign message.
const REFUSE_OPTED_OUT: &str = "UPDATE outbound SET state = 'refused', error_message = $4, updated_at_ms = $2 WHERE id IN ( \
       SELECT o.id FROM outbound o WHERE o.phone_number_id = $1 AND o.state = 'queued' AND o.next_attempt_at_ms <= $2 \
       AND (o.business_initiated OR o.category = 'MARKETING') \
       AND (EXISTS (SELECT 1 FROM consents c WHERE c.contact_id = o.contact_id AND c.action = 'opt_out' AND c.at_ms >= o.created_at_ms \
                    AND (c.phone_number_id IS NULL OR c.phone_number_id = o.phone_number_id) \
                    AND ((c.purpose = 'all' AND o.business_initiated) OR (c.purpose = 'marketing' AND o.category = 'MARKETING'))) \
         OR (o.category = 'MARKETING' AND EXISTS (SELECT 1 FROM marketing_preferences m WHERE m.contact_id = o.contact_id \
                    AND m.phone_number_id = o.phone_number_id AND m.value = 'stop' AND m.meta_at_ms >= o.created_at_ms))) \
       AND o.id IN (SELECT id FROM outbound WHERE phone_number_id = $1 AND state = 'queued' AND next_attempt_at_ms <= $2 \
                    AND (campaign_id IS NULL OR campaign_id IN (SELECT id FROM campaigns WHERE state = 'running')) ORDER BY lane, next_attempt_at_ms, id LIMIT $3)) \
     RETURNING id";
const OPTED_OUT_NOTE: &str =
    "The customer opted out after this message was queued; it was not sent.";
const CLAIM_SQLITE: &str = "UPDATE outbound SET state = 'sending', attempts = attempts + 1, updated_at_ms = $2 WHERE id IN ( \
       SELECT id FROM outbound WHERE phone_number_id = $1 AND state = 'queued' AND next_attempt_at_ms <= $2 \
       AND (campaign_id IS NULL OR campaign_id IN (SELECT id FROM campaigns WHERE state = 'running')) ORDER BY lane, next_attempt_at_ms, id LIMIT $3) \
     RETURNING id, recipient, request, lane, attempts, ambiguous";
const CLAIM_PG: &str = "UPDATE outbound SET state = 'sending', attempts = attempts + 1, updated_at_ms = $2 WHERE id IN ( \
       SELECT id FROM outbound WHERE phone_number_id = $1 AND state = 'queued' AND next_attempt_at_ms <= $2 \
       AND (campaign_id IS NULL OR campaign_id IN (SELECT id FROM campaigns WHERE state = 'running')) ORDER BY lane, next_attempt_at_ms, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
     RETURNING id, recipient, request, lane, attempts, ambiguous";
const SET_ACCEPTED: &str = "UPDATE outbound SET state = 'accepted', wamid = $2, error_code = NULL, error_message = NULL, updated_at_ms = $3 \
     WHERE id = $1 AND state = 'sending' AND attempts = $4 RETURNING phone_number_id, contact_id, kind, request";
const SET_RETRY: &str = "UPDATE outbound SET state = 'queued', next_attempt_at_ms = $2, error_code = $3, error_message = $4, \
       ambiguous = $5, updated_at_ms = $6 WHERE id = $1 AND state = 'sending' AND attempts = $7";
const SET_FAILED: &str = "UPDATE outbound SET state = 'failed', error_code = $2, error_message = $3, ambiguous = $4, updated_at_ms = $5 \
     WHERE id = $1 AND state = 'sending' AND attempts = $6";
const SET_DEFERRED: &str = "UPDATE outbound SET state = 'queued', next_attempt_at_ms = $2, attempts = attempts - 1, updated_at_ms = $3 \
     WHERE id = $1 AND state = 'sending' AND attempts = $4";
const LEASE: &str = "INSERT INTO senders (phone_number_id, owner, lease_until_ms) VALUES ($1, $2, $3) \
     ON CONFLICT (phone_number_id) DO UPDATE SET owner = excluded.owner, lease_until_ms = excluded.lease_until_ms \
     WHERE senders.owner = excluded.owner OR senders.owner IS NULL OR senders.lease_until_ms < $4";
const LEASE_BEFORE: &str = "SELECT owner, lease_until_ms FROM senders WHERE phone_number_id = $1";
const SENDER: &str = "SELECT owner, paused, paused_reason FROM senders WHERE phone_number_id = $1";
const ORPHANS: &str = "UPDATE outbound SET state = 'queued', ambiguous = TRUE, updated_at_ms = $2 \
     WHERE phone_number_id = $1 AND state = 'sending' RETURNING id";
const ANY_HELD: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM outbound WHERE phone_number_id = $1 AND state = 'held' LIMIT 1) h";
const RELEASE_HELD: &str = "UPDATE outbound SET state = 'queued', next_attempt_at_ms = $2, updated_at_ms = $2, reached_at_ms = $2 WHERE id IN ( \
       SELECT id FROM outbound WHERE phone_number_id = $1 AND state = 'held' \
       AND (campaign_id IS NULL OR campaign_id IN (SELECT id FROM campaigns WHERE state = 'running')) ORDER BY lane, id LIMIT $3) RETURNING id";
const RELEASE: &str =
    "UPDATE senders SET lease_until_ms = 0 WHERE phone_number_id = $1 AND owner = $2";
const PAUSE: &str = "INSERT INTO senders (phone_number_id, paused, paused_reason, paused_at_ms) VALUES ($1, TRUE, $2, $3) \
     ON CONFLICT (phone_number_id) DO UPDATE SET paused = TRUE, paused_reason = excluded.paused_reason, paused_at_ms = excluded.paused_at_ms \
     WHERE NOT senders.paused RETURNING phone_number_id";
const RESUME: &str = "UPDATE senders SET paused = FALSE, paused_reason = NULL WHERE phone_number_id = $1 AND paused RETURNING phone_number_id";
const INSERT_ALERT: &str =
    "INSERT INTO alerts (phone_number_id, code, message, created_at_ms) VALUES ($1, $2, $3, $4)";
const RESOLVE_ALERTS: &str =
    "UPDATE alerts SET resolved_at_ms = $2 WHERE phone_number_id = $1 AND resolved_at_ms IS NULL";
const ALERTS: &str = "SELECT id, phone_number_id, code, message, created_at_ms, resolved_at_ms FROM alerts ORDER BY id DESC LIMIT $1";
const EVENTS: &str =
    "SELECT state, at_ms, detail FROM outbound_events WHERE outbound_id = $1 ORDER BY id";
const STATUSES: &str = "SELECT status, meta_at_ms, errors FROM message_statuses WHERE wamid = $1 ORDER BY rank, meta_at_ms";
const UPSERT_DEFINITION: &str = "INSERT INTO template_definitions (waba_id, name, language, definition, synced_at_ms) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (waba_id, name, language) DO UPDATE SET definition = excluded.definition, synced_at_ms = excluded.synced_at_ms";
const ACCEPTED_TIMES: &str = "SELECT o.phone_number_id, e.at_ms FROM outbound_events e JOIN outbound o ON o.id = e.outbound_id \
     WHERE e.state = 'accepted' ORDER BY e.at_ms";
const REQUEUED: &str = "SELECT COUNT(DISTINCT e.outbound_id) FROM outbound_events e JOIN outbound o ON o.id = e.outbound_id \
     WHERE e.state = 'requeued' AND o.phone_number_id = $1";
const COUNT_STATES: &str =
    "SELECT state, COUNT(*) FROM outbound WHERE phone_number_id = $1 GROUP BY state";
const INSERT_CONSENT: &str = "INSERT INTO consents (contact_id, phone_number_id, purpose, action, source, evidence, actor, at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Maps a messaging-limit tier (`TIER_2K`, …) to its unique users per 24 h; `None` when
/// unlimited or unknown (then Meta is the judge).
fn tier_users(tier: &str) -> Option<u32> {
    match tier {
        "TIER_50" => Some(50),
        "TIER_250" => Some(250),
        "TIER_1K" => Some(1_000),
        "TIER_2K" => Some(2_000),
        "TIER_10K" => Some(10_000),
        "TIER_100K" => Some(100_000),
        _ => None,
    }
}

/// The lane a send takes when the caller names none.
fn default_lane(template: Option<&TemplateDef>, content: &OutboundContent) -> Lane {
    match (content, template) {
        (OutboundContent::Template(_), Some(t)) if t.category == Category::Marketing => {
            Lane::Marketing
        }
        (OutboundContent::Template(_), _) => Lane::Transactional,
        _ => Lane::Agent,
    }
}

fn category_name(c: Category) -> &'static str {
    match c {
        Category::Marketing => "MARKETING",
        Category::Utility => "UTILITY",
        Category::Authentication => "AUTHENTICATION",
    }
}

/// Consent from our records and Meta's marketing preference: the latest record per purpose
/// decides; Meta's `stop`/`resume` counts as a marketing record at its time.
fn consent_of(records: &[(String, String, i64)], meta: Option<(String, i64)>) -> Consent {
    let latest = |purpose: &str| {
        records
            .iter()
            .find(|(p, _, _)| p == purpose)
            .map(|(_, a, at)| (a == "opt_in", *at))
    };
    let opted_out = latest("all").is_some_and(|(opt_in, _)| !opt_in);
    let ours = latest("marketing");
    let theirs = meta.map(|(v, at)| (v.eq_ignore_ascii_case("resume"), at));
    let marketing = match (ours, theirs) {
        (Some(a), Some(b)) => Some(if b.1 > a.1 { b.0 } else { a.0 }),
        (a, b) => a.or(b).map(|x| x.0),
    };
    Consent {
        opted_out,
        marketing_opt_in: marketing.unwrap_or(false) && !opted_out,
    }
}

fn template_key(content: &OutboundContent) -> Option<(String, String)> {
    match content {
        OutboundContent::Template(t) => {
            Some((t.name.clone(), t.language.code.clone().unwrap_or_default()))
        }
        _ => None,
    }
}

/// Body of the per-backend transaction of [`Store::submit_sends`].
macro_rules! submit_body {
    ($p:expr, $sends:expr, $limits:expr, $now:expr, $dry:expr, $pg:expr) => {{
        let now: UnixMs = $now;
        let mut tx = $p.begin_write().await?;
        // PostgreSQL runs READ COMMITTED: one transaction per number at a time decides and
        // queues (as SQLite's single writer does), so two instances cannot both spend the same
        // messaging-limit budget or marketing cap. Numbers locked in order: no deadlock.
        if $pg {
            let mut numbers: Vec<&str> = $sends
                .iter()
                .map(|s: &NewSend| s.phone_number_id.as_str())
                .collect();
            numbers.sort_unstable();
            numbers.dedup();
            for n in numbers {
                sqlx::query(NUMBER_LOCK).bind(n).execute(&mut *tx).await?;
            }
        }
        let mut out = Vec::with_capacity($sends.len());
        // Per number: (tier limit, customers reached so far); the reached set grows with what
        // this batch queues, so a campaign is counted once, not re-queried per recipient.
        let mut budgets: HashMap<String, (Option<u32>, u32)> = HashMap::new();
        let mut counted: HashSet<(String, i64)> = HashSet::new();
        let mut templates: HashMap<(String, String, String), Option<TemplateDef>> = HashMap::new();
        let mut usable: HashMap<String, Vec<String>> = HashMap::new();
        for s in $sends.iter() {
            let s: &NewSend = s;
            if let Some(key) = &s.idempotency_key {
                let found: Option<(i64, String)> = sqlx::query_as(BY_KEY)
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some((id, hash)) = found {
                    if hash != s.request_hash {
                        out.push(Submitted::KeyReused);
                    } else {
                        let row: OutboundRow = sqlx::query_as(ROW_BY_ID)
                            .bind(id)
                            .fetch_one(&mut *tx)
                            .await?;
                        out.push(Submitted::Replayed(row));
                    }
                    continue;
                }
            }
            let contact = crate::contacts::contact_id!(tx, &s.contact, now.0);
            let last_inbound: Option<(Option<i64>,)> = sqlx::query_as(LAST_INBOUND)
                .bind(&s.phone_number_id)
                .bind(contact)
                .fetch_optional(&mut *tx)
                .await?;
            let last_inbound = last_inbound.and_then(|r| r.0).map(UnixMs);
            let records: Vec<(String, String, i64)> = sqlx::query_as(CONSENTS)
                .bind(contact)
                .bind(&s.phone_number_id)
                .fetch_all(&mut *tx)
                .await?;
            let meta_pref: Option<(String, i64)> = sqlx::query_as(META_PREFERENCE)
                .bind(contact)
                .bind(&s.phone_number_id)
                .fetch_optional(&mut *tx)
                .await?;
            let consent = consent_of(&records, meta_pref);
            let tkey = template_key(&s.content);
            let template = match &tkey {
                None => None,
                Some((name, lang)) => {
                    let k = (s.waba_id.clone(), name.clone(), lang.clone());
                    if !templates.contains_key(&k) {
                        let row: Option<(String, Option<String>, Option<String>)> =
                            sqlx::query_as(TEMPLATE)
                                .bind(&s.waba_id)
                                .bind(name)
                                .bind(lang)
                                .fetch_optional(&mut *tx)
                                .await?;
                        let def = row.and_then(|(json, status, category)| {
                            let v: serde_json::Value = serde_json::from_str(&json).ok()?;
                            let mut def = TemplateDef::from_meta(&v)?;
                            if let Some(st) = status {
                                def.status = st.to_ascii_uppercase();
                            }
                            if let Some(c) = category.as_deref().and_then(Category::parse) {
                                def.category = c;
                            }
                            Some(def)
                        });
                        templates.insert(k.clone(), def);
                    }
                    templates.get(&k).cloned().flatten()
                }
            };
            if !usable.contains_key(&s.waba_id) {
                let names: Vec<(String,)> = sqlx::query_as(USABLE_TEMPLATES)
                    .bind(&s.waba_id)
                    .fetch_all(&mut *tx)
                    .await?;
                usable.insert(s.waba_id.clone(), names.into_iter().map(|r| r.0).collect());
            }
            if !budgets.contains_key(&s.phone_number_id) {
                let tier: Option<(Option<String>,)> = sqlx::query_as(TIER)
                    .bind(&s.phone_number_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let limit = tier.and_then(|t| t.0).as_deref().and_then(tier_users);
                let (used,): (i64,) = sqlx::query_as(REACHED)
                    .bind(&s.phone_number_id)
                    .bind(now.0 - DAY_MS)
                    .fetch_one(&mut *tx)
                    .await?;
                budgets.insert(s.phone_number_id.clone(), (limit, used as u32));
            }
            let (limit, used) = budgets[&s.phone_number_id];
            let recipient_counted = counted.contains(&(s.phone_number_id.clone(), contact)) || {
                let (n,): (i64,) = sqlx::query_as(REACHED_ONE)
                    .bind(&s.phone_number_id)
                    .bind(contact)
                    .bind(now.0 - DAY_MS)
                    .fetch_one(&mut *tx)
                    .await?;
                n > 0
            };
            let marketing_received: i64 = if template
                .as_ref()
                .is_some_and(|t| t.category == Category::Marketing)
            {
                let (n,): (i64,) = sqlx::query_as(MARKETING_24H)
                    .bind(&s.phone_number_id)
                    .bind(contact)
                    .bind(now.0 - DAY_MS)
                    .fetch_one(&mut *tx)
                    .await?;
                n
            } else {
                0
            };
            let facts = SendFacts {
                now: now.plus_ms($limits.clock_offset_ms),
                content: &s.content,
                last_inbound,
                consent,
                template: template.as_ref(),
                budget: Some(LimitBudget {
                    used,
                    limit,
                    recipient_counted,
                }),
                over_budget: s.over_budget,
                marketing_received_24h: marketing_received as u32,
                marketing_cap: $limits.marketing_cap,
                usable_templates: &usable[&s.waba_id],
            };
            let decision = policy::decide(&facts);
            let (state, business_initiated, note) = match &decision {
                Decision::Allow { business_initiated } => (
                    if s.park { "paused" } else { "queued" },
                    *business_initiated,
                    None,
                ),
                Decision::Hold { message, .. } => ("held", true, Some(message.clone())),
                Decision::Refuse(r) => ("refused", false, Some(r.message.clone())),
            };
            if $dry {
                out.push(Submitted::Checked(decision));
                continue;
            }
            if state == "refused" && s.idempotency_key.is_none() && s.campaign_id.is_none() {
                out.push(Submitted::Refused(decision));
                continue;
            }
            if business_initiated && !recipient_counted && state != "held" {
                counted.insert((s.phone_number_id.clone(), contact));
                if let Some(b) = budgets.get_mut(&s.phone_number_id) {
                    b.1 += 1;
                }
            }
            let lane = s
                .lane
                .unwrap_or_else(|| default_lane(template.as_ref(), &s.content));
            let category = match (&s.content, &template) {
                (OutboundContent::Template(_), Some(t)) => Some(category_name(t.category)),
                (OutboundContent::Template(_), None) => None,
                _ => Some("SERVICE"),
            };
            let decision_json = serde_json::to_string(&decision).unwrap_or_default();
            let inserted: Option<(i64,)> = sqlx::query_as(INSERT_OUTBOUND)
                .bind(&s.idempotency_key)
                .bind(&s.request_hash)
                .bind(&s.phone_number_id)
                .bind(contact)
                .bind(&s.recipient)
                .bind(switchboard_cloudapi::TypeKeyed::type_name(&s.content))
                .bind(category)
                .bind(tkey.as_ref().map(|k| k.0.clone()))
                .bind(lane as i64)
                .bind(&s.request)
                .bind(state)
                .bind(&decision_json)
                .bind(business_initiated)
                .bind(if state == "held" {
                    now.0 + 60_000
                } else {
                    s.not_before_ms.unwrap_or(now.0).max(now.0)
                })
                .bind(&note)
                .bind(s.campaign_id)
                .bind(&s.created_by)
                .bind(now.0)
                .fetch_optional(&mut *tx)
                .await?;
            let id = match inserted {
                Some((id,)) => id,
                // Another request with this key committed first (PostgreSQL waits for it).
                None => {
                    let key = s.idempotency_key.as_ref().ok_or(StoreError::NotFound)?;
                    let (id, hash): (i64, String) =
                        sqlx::query_as(BY_KEY).bind(key).fetch_one(&mut *tx).await?;
                    if hash != s.request_hash {
                        out.push(Submitted::KeyReused);
                        continue;
                    }
                    let row: OutboundRow = sqlx::query_as(ROW_BY_ID)
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?;
                    out.push(Submitted::Replayed(row));
                    continue;
                }
            };
            sqlx::query(INSERT_EVENT)
                .bind(id)
                .bind(state)
                .bind(now.0)
                .bind(&note)
                .execute(&mut *tx)
                .await?;
            let row: OutboundRow = sqlx::query_as(ROW_BY_ID)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            out.push(Submitted::New(row));
        }
        if $dry {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(out)
    }};
}

impl Store {
    /// Decides and queues sends in one transaction (see the module docs). With `dry_run` the
    /// decisions are returned and nothing is stored.
    pub async fn submit_sends(
        &self,
        sends: &[NewSend],
        limits: PolicyLimits,
        now: UnixMs,
        dry_run: bool,
    ) -> Result<Vec<Submitted>, StoreError> {
        let pg = self.backend() == crate::Backend::Postgres;
        with_pool!(&self.writer, p => submit_body!(p, sends, limits, now, dry_run, pg))
    }

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

    /// Claims up to `limit` due messages of a number for sending. Only the holder of the
    /// number's lease calls this.
    pub async fn claim_outbound(
        &self,
        phone_number_id: &str,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<Claimed>, StoreError> {
        let claim = match self.backend() {
            crate::Backend::Sqlite => CLAIM_SQLITE,
            crate::Backend::Postgres => CLAIM_PG,
        };
        let mut rows: Vec<Claimed> = with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            let refused: Vec<(i64,)> = sqlx::query_as(REFUSE_OPTED_OUT).bind(phone_number_id).bind(now_ms).bind(limit).bind(OPTED_OUT_NOTE).fetch_all(&mut *tx).await?;
            for (id,) in &refused {
                sqlx::query(INSERT_EVENT).bind(id).bind("refused").bind(now_ms).bind(OPTED_OUT_NOTE).execute(&mut *tx).await?;
            }
            let rows: Vec<Claimed> = sqlx::query_as(claim).bind(phone_number_id).bind(now_ms).bind(limit).fetch_all(&mut *tx).await?;
            for chunk in rows.chunks(CHUNK) {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO outbound_events (outbound_id, state, at_ms, detail) ");
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(r.id).push_bind("sending").push_bind(now_ms).push_bind(format!("attempt {}", r.attempts));
                });
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            rows
        });
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

    /// Takes or renews the lease of a number's sender for `owner` until `until_ms`. A new
    /// holder puts back the messages a previous owner left in flight, flagged ambiguous (their
    /// late answers, if any, no longer match: outcomes are for the attempt claimed). Returns whether `owner` holds the lease and whether the number is
    /// paused.
    pub async fn lease_sender(
        &self,
        phone_number_id: &str,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<SenderLease, StoreError> {
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            // Whether `owner` held a live lease before this call comes from the database, not
            // from memory: an owner that lost the lease and got it back must sweep too.
            let before: Option<(Option<String>, i64)> = sqlx::query_as(LEASE_BEFORE).bind(phone_number_id).fetch_optional(&mut *tx).await?;
            let was_held = before.is_some_and(|(o, until)| o.as_deref() == Some(owner) && until >= now_ms);
            sqlx::query(LEASE).bind(phone_number_id).bind(owner).bind(until_ms).bind(now_ms).execute(&mut *tx).await?;
            let (holder, paused, paused_reason): (Option<String>, bool, Option<String>) =
                sqlx::query_as(SENDER).bind(phone_number_id).fetch_one(&mut *tx).await?;
            let held = holder.as_deref() == Some(owner);
            if held && !was_held {
                let orphans: Vec<(i64,)> = sqlx::query_as(ORPHANS).bind(phone_number_id).bind(now_ms).fetch_all(&mut *tx).await?;
                for (id,) in &orphans {
                    sqlx::query(INSERT_EVENT).bind(id).bind("requeued").bind(now_ms)
                        .bind("The previous sender stopped while this message was in flight; it may have reached Meta.")
                        .execute(&mut *tx).await?;
                }
                if !orphans.is_empty() {
                    tracing::warn!(number = phone_number_id, count = orphans.len(), "messages left in flight by a previous sender were requeued (possible duplicates)");
                }
            }
            tx.commit().await?;
            Ok(SenderLease { held, paused, paused_reason })
        })
    }

    /// Moves held messages (messaging limit spent) back to the queue as the rolling 24-hour
    /// budget frees slots. Returns how many were released.
    pub async fn release_held(
        &self,
        phone_number_id: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        // Most of the time nothing is held: then there is no budget to count (a read, not a
        // write transaction on SQLite's one writer).
        let held: (i64,) = with_pool!(&self.pool, p => sqlx::query_as(ANY_HELD).bind(phone_number_id).fetch_one(p).await?);
        if held.0 == 0 {
            return Ok(0);
        }
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            let tier: Option<(Option<String>,)> = sqlx::query_as(TIER).bind(phone_number_id).fetch_optional(&mut *tx).await?;
            let limit = tier.and_then(|t| t.0).as_deref().and_then(tier_users);
            let (used,): (i64,) = sqlx::query_as(REACHED).bind(phone_number_id).bind(now_ms - DAY_MS).fetch_one(&mut *tx).await?;
            let free = limit.map_or(i64::MAX, |l| (i64::from(l) - used).max(0));
            let released: Vec<(i64,)> = if free == 0 { Vec::new() } else {
                sqlx::query_as(RELEASE_HELD).bind(phone_number_id).bind(now_ms).bind(free).fetch_all(&mut *tx).await?
            };
            for (id,) in &released {
                sqlx::query(INSERT_EVENT).bind(id).bind("queued").bind(now_ms).bind("The messaging-limit budget has room again.").execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(released.len() as u64)
        })
    }

    /// Gives a number's lease up (clean shutdown), so another instance can take over at once.
    pub async fn release_sender(
        &self,
        phone_number_id: &str,
        owner: &str,
    ) -> Result<(), StoreError> {
        with_pool!(&self.writer, p => {
            sqlx::query(RELEASE).bind(phone_number_id).bind(owner).execute(p).await?;
            Ok(())
        })
    }

    /// Pauses a number's sender and records an alert (once, while it stays paused).
    pub async fn pause_sender(
        &self,
        phone_number_id: &str,
        code: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            let newly: Option<(String,)> = sqlx::query_as(PAUSE).bind(phone_number_id).bind(reason).bind(now_ms).fetch_optional(&mut *tx).await?;
            if newly.is_some() {
                sqlx::query(INSERT_ALERT).bind(phone_number_id).bind(code).bind(reason).bind(now_ms).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Resumes a paused number; its open alerts are marked resolved. False if it was not paused.
    pub async fn resume_sender(
        &self,
        phone_number_id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            let was: Option<(String,)> = sqlx::query_as(RESUME).bind(phone_number_id).fetch_optional(&mut *tx).await?;
            sqlx::query(RESOLVE_ALERTS).bind(phone_number_id).bind(now_ms).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(was.is_some())
        })
    }

    pub async fn alerts(&self, limit: i64) -> Result<Vec<AlertRow>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(ALERTS).bind(limit).fetch_all(p).await?))
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

    /// Stores templates as Meta returned them (`GET /message_templates` items) and records the
    /// status and category seen, as of `now_ms`, beside those the webhooks keep.
    pub async fn sync_templates(
        &self,
        waba_id: &str,
        templates: &[serde_json::Value],
        now_ms: i64,
    ) -> Result<usize, StoreError> {
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            let mut n = 0;
            for t in templates {
                let (Some(name), Some(language)) = (t.get("name").and_then(|v| v.as_str()), t.get("language").and_then(|v| v.as_str())) else { continue };
                sqlx::query(UPSERT_DEFINITION).bind(waba_id).bind(name).bind(language).bind(t.to_string()).bind(now_ms).execute(&mut *tx).await?;
                let s = |k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_ascii_uppercase);
                sqlx::query(crate::inbound::UPSERT_TEMPLATE).bind(waba_id).bind(name).bind(language).bind(t.get("id").and_then(|v| v.as_str()))
                    .bind(s("status")).bind(s("category")).bind(t.get("quality_score").and_then(|q| q.get("score")).and_then(|v| v.as_str()))
                    .bind(t.get("rejected_reason").and_then(|v| v.as_str())).bind(now_ms)
                    .execute(&mut *tx).await?;
                n += 1;
            }
            tx.commit().await?;
            Ok(n)
        })
    }

    /// Appends a consent record (opt-in or opt-out) for a contact.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_consent(
        &self,
        contact_id: i64,
        phone_number_id: Option<&str>,
        purpose: &str,
        action: &str,
        source: &str,
        evidence: Option<&str>,
        actor: Option<&str>,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        with_pool!(&self.writer, p => {
            sqlx::query(INSERT_CONSENT).bind(contact_id).bind(phone_number_id).bind(purpose).bind(action).bind(source)
                .bind(evidence).bind(actor).bind(at_ms).execute(p).await?;
            Ok(())
        })
    }
}

/// One consent record.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct ConsentRow {
    pub id: i64,
    pub phone_number_id: Option<String>,
    pub purpose: String,
    pub action: String,
    pub source: String,
    pub evidence: Option<String>,
    pub actor: Option<String>,
    pub at_ms: i64,
}

const CONSENT_HISTORY: &str = "SELECT id, phone_number_id, purpose, action, source, evidence, actor, at_ms FROM consents \
     WHERE contact_id = $1 ORDER BY at_ms DESC, id DESC";

impl Store {
    /// The contact with this phone number (`wa_id`: digits without `+`), if known.
    pub async fn contact_id_by_wa_id(&self, wa_id: &str) -> Result<Option<i64>, StoreError> {
        with_pool!(&self.pool, p => {
            let row: Option<(i64,)> = sqlx::query_as(FIND_BY_WA_ID).bind(wa_id).fetch_optional(p).await?;
            Ok(row.map(|r| r.0))
        })
    }

    /// A contact's consent records, newest first.
    pub async fn consent_history(&self, contact_id: i64) -> Result<Vec<ConsentRow>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(CONSENT_HISTORY).bind(contact_id).fetch_all(p).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_consent_record_decides() {
        let none = consent_of(&[], None);
        assert!(!none.opted_out && !none.marketing_opt_in);
        let opted_in = consent_of(&[("marketing".into(), "opt_in".into(), 10)], None);
        assert!(opted_in.marketing_opt_in);
        // Meta's later "stop" beats our earlier opt-in; our later opt-in beats an older stop.
        assert!(
            !consent_of(
                &[("marketing".into(), "opt_in".into(), 10)],
                Some(("stop".into(), 20))
            )
            .marketing_opt_in
        );
        assert!(
            consent_of(
                &[("marketing".into(), "opt_in".into(), 30)],
                Some(("stop".into(), 20))
            )
            .marketing_opt_in
        );
        let out = consent_of(
            &[
                ("all".into(), "opt_out".into(), 40),
                ("marketing".into(), "opt_in".into(), 30),
            ],
            None,
        );
        assert!(out.opted_out && !out.marketing_opt_in);
    }

    #[test]
    fn tiers() {
        assert_eq!(tier_users("TIER_2K"), Some(2_000));
        assert_eq!(tier_users("TIER_UNLIMITED"), None);
    }
}
