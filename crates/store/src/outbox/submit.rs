//! Asking for sends: the facts the send policy needs, read in the transaction that queues the
//! message, and the plan the policy's decision gives, written.
//!
//! [`Store::submit_sends`] reads the facts (service window, consent, template, messaging-limit
//! budget, marketing received), has `domain` decide ([`policy::decide`]) and plan
//! ([`outbox::plan`]), and writes the plan, all in ONE write transaction, so an opt-out
//! recorded a moment earlier is seen and nothing is queued on stale facts.
//! [`Store::check_sends`] reads and decides the same way and writes nothing. An
//! `Idempotency-Key` is a unique column: a retried request finds the first row.

use std::collections::{HashMap, HashSet};

use switchboard_cloudapi::send::OutboundContent;
use switchboard_domain::UnixMs;
use switchboard_domain::consent::{Consent, ConsentRecord, MetaPreference, Purpose};
use switchboard_domain::outbox::{self, Asked};
use switchboard_domain::pacing::Lane;
use switchboard_domain::policy::{self, Decision, LimitBudget, SendFacts, WhenOverBudget};
use switchboard_domain::template::{Category, TemplateDef, TemplateStatus};

use super::{INSERT_EVENT, OutboundRow, ROW_BY_ID};
use crate::contacts::ContactKey;
use crate::{BeginWrite, Store, StoreError, with_pool};

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

impl NewSend {
    fn asked(&self) -> Asked {
        Asked {
            lane: self.lane,
            park: self.park,
            not_before: self.not_before_ms.map(UnixMs),
            keep_refusal: self.idempotency_key.is_some() || self.campaign_id.is_some(),
        }
    }
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
}

const BY_KEY: &str = "SELECT id, request_hash FROM outbound WHERE idempotency_key = $1";
const LAST_INBOUND: &str =
    "SELECT last_inbound_at_ms FROM conversations WHERE phone_number_id = $1 AND contact_id = $2";
pub(super) const CONSENTS: &str = "SELECT purpose, action, at_ms FROM consents WHERE contact_id = $1 AND (phone_number_id IS NULL OR phone_number_id = $2) \
     ORDER BY at_ms DESC, id DESC";
pub(super) const META_PREFERENCE: &str = "SELECT value, meta_at_ms FROM marketing_preferences WHERE contact_id = $1 AND phone_number_id = $2 \
     ORDER BY meta_at_ms DESC, id DESC LIMIT 1";
const TEMPLATE: &str = "SELECT d.definition, s.status, s.category FROM template_definitions d \
     LEFT JOIN template_state s ON s.waba_id = d.waba_id AND s.name = d.name AND s.language = d.language \
     WHERE d.waba_id = $1 AND d.name = $2 AND d.language = $3";
const USABLE_TEMPLATES: &str = "SELECT d.name FROM template_definitions d \
     JOIN template_state s ON s.waba_id = d.waba_id AND s.name = d.name AND s.language = d.language \
     WHERE d.waba_id = $1 AND s.status = 'APPROVED' ORDER BY d.name LIMIT 5";
const NUMBER_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('switchboard.outbox:' || $1))";
pub(super) const TIER: &str = "SELECT messaging_limit FROM number_state WHERE phone_number_id = $1";
// Unique customers reached outside service windows in the period. A message counts from when
// it was queued or released from hold, not from when a held one was asked for. Parked campaign
// rows count too, so a large campaign queued in chunks shares one budget.
pub(super) const REACHED: &str = "SELECT COUNT(DISTINCT contact_id) FROM outbound WHERE phone_number_id = $1 AND business_initiated \
     AND state IN ('queued', 'paused', 'sending', 'accepted') AND reached_at_ms > $2";
const REACHED_ONE: &str = "SELECT COUNT(*) FROM outbound WHERE phone_number_id = $1 AND contact_id = $2 AND business_initiated \
     AND state IN ('queued', 'paused', 'sending', 'accepted') AND reached_at_ms > $3";
const MARKETING_RECEIVED: &str = "SELECT COUNT(*) FROM outbound WHERE phone_number_id = $1 AND contact_id = $2 AND category = 'MARKETING' \
     AND state IN ('queued', 'paused', 'sending', 'accepted') AND reached_at_ms > $3";
const INSERT_OUTBOUND: &str = "INSERT INTO outbound (idempotency_key, request_hash, phone_number_id, contact_id, recipient, kind, category, \
       template_name, lane, request, state, decision, business_initiated, next_attempt_at_ms, error_code, error_message, campaign_id, \
       created_by, created_at_ms, updated_at_ms, reached_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, $15, $16, $17, $18, $18, $18) \
     ON CONFLICT (idempotency_key) DO NOTHING RETURNING id";
/// Many plain sends at once (no idempotency key): the columns `batch.rs` binds, in order.
const INSERT_MANY: &str = "INSERT INTO outbound (request_hash, phone_number_id, contact_id, recipient, kind, category, \
       template_name, lane, request, state, decision, business_initiated, next_attempt_at_ms, error_message, campaign_id, \
       created_by, created_at_ms, updated_at_ms, reached_at_ms) ";

/// Our consent records as the rule reads them; a row of unknown meaning is skipped.
pub(super) fn records(rows: &[(String, String, i64)]) -> Vec<ConsentRecord> {
    rows.iter()
        .filter_map(|(purpose, action, at_ms)| {
            Some(ConsentRecord {
                purpose: Purpose::parse(purpose)?,
                opt_in: action == "opt_in",
                at_ms: *at_ms,
            })
        })
        .collect()
}

/// A template row as the policy reads it: Meta's definition, with the status and category the
/// webhooks or the last sync recorded.
fn template_def(
    json: &str,
    status: Option<String>,
    category: Option<String>,
) -> Option<TemplateDef> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let mut def = TemplateDef::from_meta(&v)?;
    if let Some(st) = status {
        def.status = TemplateStatus::parse(&st);
    }
    if let Some(c) = category.as_deref().and_then(Category::parse) {
        def.category = c;
    }
    Some(def)
}

fn template_key(content: &OutboundContent) -> Option<(String, String)> {
    match content {
        OutboundContent::Template(t) => {
            Some((t.name.clone(), t.language.code.clone().unwrap_or_default()))
        }
        _ => None,
    }
}

/// What one transaction has read so far, so a campaign's batch reads each template, each
/// number's budget and each account's usable templates once.
#[derive(Default)]
struct Seen {
    /// Per number: (tier limit, customers reached so far); grows with what the batch queues.
    budgets: HashMap<String, (Option<u32>, u32)>,
    /// (number, contact) pairs this batch has counted.
    counted: HashSet<(String, i64)>,
    templates: HashMap<(String, String, String), Option<TemplateDef>>,
    usable: HashMap<String, Vec<String>>,
}

/// The facts about one send, read in the transaction.
struct Facts {
    contact: i64,
    last_inbound: Option<UnixMs>,
    consent: Consent,
    template: Option<TemplateDef>,
    budget: LimitBudget,
    marketing_received: u32,
}

/// The earlier row for a send's idempotency key, if any (`$tx`, `$s: &NewSend`).
macro_rules! replay {
    ($tx:expr, $s:expr) => {{
        let s: &NewSend = $s;
        let mut out = None;
        if let Some(key) = &s.idempotency_key {
            let found: Option<(i64, String)> = sqlx::query_as(BY_KEY)
                .bind(key)
                .fetch_optional(&mut *$tx)
                .await?;
            if let Some((id, hash)) = found {
                out = Some(if hash != s.request_hash {
                    Submitted::KeyReused
                } else {
                    Submitted::Replayed(
                        sqlx::query_as(ROW_BY_ID)
                            .bind(id)
                            .fetch_one(&mut *$tx)
                            .await?,
                    )
                });
            }
        }
        out
    }};
}

/// What a send's number and account say, read once per transaction into `$seen`: the template
/// it names (returned), the account's usable templates, the number's messaging-limit budget.
macro_rules! account_facts {
    ($tx:expr, $s:expr, $now:expr, $seen:expr) => {{
        let s: &NewSend = $s;
        let seen: &mut Seen = $seen;
        let since = policy::limit_period_start($now).0;
        let template = match template_key(&s.content) {
            None => None,
            Some((name, lang)) => {
                let k = (s.waba_id.clone(), name, lang);
                if !seen.templates.contains_key(&k) {
                    let row: Option<(String, Option<String>, Option<String>)> =
                        sqlx::query_as(TEMPLATE)
                            .bind(&k.0)
                            .bind(&k.1)
                            .bind(&k.2)
                            .fetch_optional(&mut *$tx)
                            .await?;
                    let def = row
                        .and_then(|(json, status, category)| template_def(&json, status, category));
                    seen.templates.insert(k.clone(), def);
                }
                seen.templates[&k].clone()
            }
        };
        if !seen.usable.contains_key(&s.waba_id) {
            let names: Vec<(String,)> = sqlx::query_as(USABLE_TEMPLATES)
                .bind(&s.waba_id)
                .fetch_all(&mut *$tx)
                .await?;
            seen.usable
                .insert(s.waba_id.clone(), names.into_iter().map(|r| r.0).collect());
        }
        if !seen.budgets.contains_key(&s.phone_number_id) {
            let tier: Option<(Option<String>,)> = sqlx::query_as(TIER)
                .bind(&s.phone_number_id)
                .fetch_optional(&mut *$tx)
                .await?;
            let limit = tier
                .and_then(|t| t.0)
                .as_deref()
                .and_then(policy::tier_limit);
            let (used,): (i64,) = sqlx::query_as(REACHED)
                .bind(&s.phone_number_id)
                .bind(since)
                .fetch_one(&mut *$tx)
                .await?;
            seen.budgets
                .insert(s.phone_number_id.clone(), (limit, used as u32));
        }
        template
    }};
}

/// Reads the [`Facts`] of `$s` (a `&NewSend`) in `$tx`, using and filling `$seen`.
macro_rules! facts {
    ($tx:expr, $s:expr, $now:expr, $seen:expr) => {{
        let s: &NewSend = $s;
        let now: UnixMs = $now;
        let seen: &mut Seen = $seen;
        let since = policy::limit_period_start(now).0;
        let contact = crate::contacts::contact_id!($tx, &s.contact, now.0);
        let last_inbound: Option<(Option<i64>,)> = sqlx::query_as(LAST_INBOUND)
            .bind(&s.phone_number_id)
            .bind(contact)
            .fetch_optional(&mut *$tx)
            .await?;
        let rows: Vec<(String, String, i64)> = sqlx::query_as(CONSENTS)
            .bind(contact)
            .bind(&s.phone_number_id)
            .fetch_all(&mut *$tx)
            .await?;
        let meta: Option<(String, i64)> = sqlx::query_as(META_PREFERENCE)
            .bind(contact)
            .bind(&s.phone_number_id)
            .fetch_optional(&mut *$tx)
            .await?;
        let consent = Consent::from_records(
            &records(&rows),
            meta.map(|(v, at)| MetaPreference::parse(&v, at)),
        );
        let template = account_facts!($tx, s, now, seen);
        let (limit, used) = seen.budgets[&s.phone_number_id];
        let recipient_counted = seen.counted.contains(&(s.phone_number_id.clone(), contact)) || {
            let (n,): (i64,) = sqlx::query_as(REACHED_ONE)
                .bind(&s.phone_number_id)
                .bind(contact)
                .bind(since)
                .fetch_one(&mut *$tx)
                .await?;
            n > 0
        };
        let marketing_received: i64 = if template
            .as_ref()
            .is_some_and(|t| t.category == Category::Marketing)
        {
            let (n,): (i64,) = sqlx::query_as(MARKETING_RECEIVED)
                .bind(&s.phone_number_id)
                .bind(contact)
                .bind(since)
                .fetch_one(&mut *$tx)
                .await?;
            n
        } else {
            0
        };
        Facts {
            contact,
            last_inbound: last_inbound.and_then(|r| r.0).map(UnixMs),
            consent,
            template,
            budget: LimitBudget {
                used,
                limit,
                recipient_counted,
            },
            marketing_received: marketing_received as u32,
        }
    }};
}

/// The policy's decision on `s` given its facts.
fn decide(
    s: &NewSend,
    f: &Facts,
    usable: &[String],
    limits: PolicyLimits,
    now: UnixMs,
) -> Decision {
    policy::decide(&SendFacts {
        now: now.plus_ms(limits.clock_offset_ms),
        content: &s.content,
        last_inbound: f.last_inbound,
        consent: f.consent,
        template: f.template.as_ref(),
        budget: Some(f.budget),
        over_budget: s.over_budget,
        marketing_received_24h: f.marketing_received,
        marketing_cap: limits.marketing_cap,
        usable_templates: usable,
    })
}

mod batch;

/// Body of [`Store::check_sends`] for one backend.
macro_rules! check_body {
    ($p:expr, $sends:expr, $limits:expr, $now:expr) => {{
        let now: UnixMs = $now;
        // A write transaction, rolled back: an unknown recipient's contact is made (and
        // forgotten) exactly as a submit would make it.
        let mut tx = $p.begin_write().await?;
        let mut seen = Seen::default();
        let mut out = Vec::with_capacity($sends.len());
        for s in $sends.iter() {
            let facts = facts!(tx, s, now, &mut seen);
            out.push(decide(s, &facts, &seen.usable[&s.waba_id], $limits, now));
        }
        tx.rollback().await?;
        Ok(out)
    }};
}

/// Body of [`Store::submit_sends`] for one backend.
macro_rules! submit_body {
    ($p:expr, $sends:expr, $limits:expr, $now:expr, $pg:expr) => {{
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
        let out = if batch::plain($sends) {
            batch::submit_batch!(tx, $sends, $limits, now)
        } else {
            let mut seen = Seen::default();
            let mut out = Vec::with_capacity($sends.len());
            for s in $sends.iter() {
                let s: &NewSend = s;
                if let Some(earlier) = replay!(tx, s) {
                    out.push(earlier);
                    continue;
                }
                let facts = facts!(tx, s, now, &mut seen);
                let decision = decide(s, &facts, &seen.usable[&s.waba_id], $limits, now);
                let Some(plan) = outbox::plan(
                    &decision,
                    &s.content,
                    facts.template.as_ref(),
                    s.asked(),
                    now,
                ) else {
                    out.push(Submitted::Refused(decision));
                    continue;
                };
                if plan.spends_budget() && !facts.budget.recipient_counted {
                    seen.counted
                        .insert((s.phone_number_id.clone(), facts.contact));
                    if let Some(b) = seen.budgets.get_mut(&s.phone_number_id) {
                        b.1 += 1;
                    }
                }
                let inserted: Option<(i64,)> = sqlx::query_as(INSERT_OUTBOUND)
                    .bind(&s.idempotency_key)
                    .bind(&s.request_hash)
                    .bind(&s.phone_number_id)
                    .bind(facts.contact)
                    .bind(&s.recipient)
                    .bind(switchboard_cloudapi::TypeKeyed::type_name(&s.content))
                    .bind(plan.category)
                    .bind(template_key(&s.content).map(|k| k.0))
                    .bind(plan.lane as i64)
                    .bind(&s.request)
                    .bind(plan.state.as_str())
                    .bind(serde_json::to_string(&decision).unwrap_or_default())
                    .bind(plan.business_initiated)
                    .bind(plan.next_attempt_at.0)
                    .bind(&plan.note)
                    .bind(s.campaign_id)
                    .bind(&s.created_by)
                    .bind(now.0)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some((id,)) = inserted else {
                    // Another request with this key committed first (PostgreSQL waits for it).
                    out.push(replay!(tx, s).ok_or(StoreError::NotFound)?);
                    continue;
                };
                sqlx::query(INSERT_EVENT)
                    .bind(id)
                    .bind(plan.state.as_str())
                    .bind(now.0)
                    .bind(&plan.note)
                    .execute(&mut *tx)
                    .await?;
                let row: OutboundRow = sqlx::query_as(ROW_BY_ID)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                out.push(Submitted::New(row));
            }
            out
        };
        tx.commit().await?;
        Ok(out)
    }};
}

impl Store {
    /// Decides and queues sends in one transaction (see the module docs).
    pub async fn submit_sends(
        &self,
        sends: &[NewSend],
        limits: PolicyLimits,
        now: UnixMs,
    ) -> Result<Vec<Submitted>, StoreError> {
        let pg = self.backend() == crate::Backend::Postgres;
        with_pool!(&self.writer, p => submit_body!(p, sends, limits, now, pg))
    }

    /// What the policy would decide for each send now, on the facts a submit would read;
    /// nothing is stored. Idempotency keys play no part (nothing is asked for twice).
    pub async fn check_sends(
        &self,
        sends: &[NewSend],
        limits: PolicyLimits,
        now: UnixMs,
    ) -> Result<Vec<Decision>, StoreError> {
        with_pool!(&self.writer, p => check_body!(p, sends, limits, now))
    }
}

// The state names the SQL above counts as spending the budget are the domain's.
#[cfg(test)]
#[test]
fn the_budget_states_in_sql_are_the_domains() {
    use switchboard_domain::outbox::OutboxState;
    let spending: Vec<&str> = OutboxState::ALL
        .into_iter()
        .filter(|s| s.spends_budget())
        .map(OutboxState::as_str)
        .collect();
    let listed = format!("'{}'", spending.join("', '"));
    for sql in [REACHED, REACHED_ONE, MARKETING_RECEIVED] {
        assert!(sql.contains(&format!("state IN ({listed})")), "{sql}");
    }
}
