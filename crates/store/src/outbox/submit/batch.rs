//! Submitting many sends at once (a campaign's chunk): the same facts, decision and plan as one
//! send at a time, read with a few set queries per chunk instead of about ten per recipient, and
//! written with one multi-row statement per table.
//!
//! Used when every send in the call is "plain": no idempotency key (nothing to replay) and a
//! recipient known by one identifier (nothing to update on the contact). Anything else goes
//! one send at a time. Within the chunk, what earlier sends queued counts for later ones exactly
//! as it does one at a time: the messaging-limit budget and its recipients (`Seen`), and the
//! marketing templates a customer received.

use std::collections::{HashMap, HashSet};

/// Whether `sends` can go the batch way.
pub(super) fn plain(sends: &[super::NewSend]) -> bool {
    sends
        .iter()
        .all(|s| s.idempotency_key.is_none() && !s.contact.says_more_than_an_identifier())
}

/// Rows per multi-row statement: a queued row binds 18 values (under SQLite's 32,766 and
/// PostgreSQL's 65,535 parameters).
pub(super) const ROWS: usize = 500;

/// The rows of `$sql` for the contacts of one number, read in chunks: `{number}` and `{since}`
/// in it are bound to `$number` and `$since`, then ` AND contact_id IN (…)` and `$tail` follow.
macro_rules! by_contact {
    ($tx:expr, $sql:expr, $tail:expr, $number:expr, $since:expr, $contacts:expr, $row:ty) => {{
        let mut out: Vec<$row> = Vec::new();
        for chunk in $contacts.chunks(500) {
            let mut q = sqlx::QueryBuilder::new("");
            let mut parts = $sql.split("{number}");
            q.push(parts.next().unwrap_or(""));
            q.push_bind($number);
            let rest = parts.next().unwrap_or("");
            let mut rest = rest.split("{since}");
            q.push(rest.next().unwrap_or(""));
            if let Some(tail) = rest.next() {
                q.push_bind($since);
                q.push(tail);
            }
            q.push(" AND contact_id IN ");
            crate::push_list!(q, chunk);
            q.push($tail);
            out.extend(q.build_query_as::<$row>().fetch_all(&mut *$tx).await?);
        }
        out
    }};
}
pub(super) use by_contact;

pub(super) const LAST_INBOUNDS: &str =
    "SELECT contact_id, last_inbound_at_ms FROM conversations WHERE phone_number_id = {number}";
pub(super) const CONSENT_ROWS: &str = "SELECT contact_id, purpose, action, at_ms FROM consents \
     WHERE (phone_number_id IS NULL OR phone_number_id = {number})";
pub(super) const META_ROWS: &str = "SELECT contact_id, value, meta_at_ms FROM marketing_preferences \
     WHERE phone_number_id = {number}";
pub(super) const REACHED_SOME: &str = "SELECT DISTINCT contact_id FROM outbound WHERE phone_number_id = {number} \
     AND business_initiated AND state IN ('queued', 'paused', 'sending', 'accepted') AND reached_at_ms > {since}";
pub(super) const MARKETING_SOME: &str = "SELECT contact_id, COUNT(*) FROM outbound WHERE phone_number_id = {number} \
     AND category = 'MARKETING' AND state IN ('queued', 'paused', 'sending', 'accepted') AND reached_at_ms > {since}";

/// A planned row and its decision (as stored).
pub(super) type Planned = (switchboard_domain::outbox::QueuePlan, String);

/// What one number's recipients' rows say, keyed by contact.
#[derive(Default)]
pub(super) struct Recipients {
    pub last_inbound: HashMap<i64, i64>,
    pub consents: HashMap<i64, Vec<(String, String, i64)>>,
    /// The newest preference per contact.
    pub meta: HashMap<i64, (String, i64)>,
    pub reached: HashSet<i64>,
    pub marketing: HashMap<i64, u32>,
}

/// Body of the batch way of [`crate::Store::submit_sends`] for one backend, inside `$tx`.
macro_rules! submit_batch {
    ($tx:expr, $sends:expr, $limits:expr, $now:expr) => {{
        let sends: &[NewSend] = $sends;
        let now: UnixMs = $now;
        let since = policy::limit_period_start(now).0;
        let keys: Vec<&ContactKey> = sends.iter().map(|s| &s.contact).collect();
        let contacts: Vec<i64> = crate::contacts::resolve_many!($tx, &keys, now.0);
        let mut seen = Seen::default();
        // Per number: its recipients' facts, read as sets.
        let mut numbers: HashMap<&str, Vec<i64>> = HashMap::new();
        for (s, c) in sends.iter().zip(&contacts) {
            numbers
                .entry(s.phone_number_id.as_str())
                .or_default()
                .push(*c);
        }
        // Each send's template (read once per template into `seen`), and the account facts.
        let mut templates: Vec<Option<TemplateDef>> = Vec::with_capacity(sends.len());
        for s in sends {
            templates.push(account_facts!($tx, s, now, &mut seen));
        }
        let any_marketing = templates.iter().any(|t| {
            t.as_ref()
                .is_some_and(|t| t.category == Category::Marketing)
        });
        let mut facts: HashMap<&str, batch::Recipients> = HashMap::new();
        for (number, cs) in numbers.iter_mut() {
            cs.sort_unstable();
            cs.dedup();
            let mut r = batch::Recipients::default();
            let rows = batch::by_contact!(
                $tx,
                batch::LAST_INBOUNDS,
                "",
                *number,
                since,
                cs,
                (i64, Option<i64>)
            );
            r.last_inbound = rows
                .into_iter()
                .filter_map(|(c, t)| Some((c, t?)))
                .collect();
            let rows = batch::by_contact!(
                $tx,
                batch::CONSENT_ROWS,
                "",
                *number,
                since,
                cs,
                (i64, String, String, i64)
            );
            for (c, purpose, action, at) in rows {
                r.consents.entry(c).or_default().push((purpose, action, at));
            }
            let rows = batch::by_contact!(
                $tx,
                batch::META_ROWS,
                "",
                *number,
                since,
                cs,
                (i64, String, i64)
            );
            for (c, value, at) in rows {
                let newer = r.meta.get(&c).is_none_or(|(_, t)| at > *t);
                if newer {
                    r.meta.insert(c, (value, at));
                }
            }
            let rows = batch::by_contact!($tx, batch::REACHED_SOME, "", *number, since, cs, (i64,));
            r.reached = rows.into_iter().map(|(c,)| c).collect();
            if any_marketing {
                let rows = batch::by_contact!(
                    $tx,
                    batch::MARKETING_SOME,
                    " GROUP BY contact_id",
                    *number,
                    since,
                    cs,
                    (i64, i64)
                );
                for (c, n) in rows {
                    *r.marketing.entry(c).or_default() += n as u32;
                }
            }
            facts.insert(*number, r);
        }
        // Decide and plan in order; what earlier sends queue counts for later ones.
        let mut out: Vec<Option<Submitted>> = Vec::with_capacity(sends.len());
        let mut planned: Vec<(usize, i64, batch::Planned)> = Vec::new();
        for (i, (s, contact)) in sends.iter().zip(&contacts).enumerate() {
            let r = facts
                .get_mut(s.phone_number_id.as_str())
                .expect("read above");
            let template = templates[i].take();
            let (limit, used) = seen.budgets[&s.phone_number_id];
            let f = Facts {
                contact: *contact,
                last_inbound: r.last_inbound.get(contact).copied().map(UnixMs),
                consent: Consent::from_records(
                    &records(
                        r.consents
                            .get(contact)
                            .map(Vec::as_slice)
                            .unwrap_or_default(),
                    ),
                    r.meta
                        .get(contact)
                        .map(|(v, at)| MetaPreference::parse(v, *at)),
                ),
                budget: LimitBudget {
                    used,
                    limit,
                    recipient_counted: r.reached.contains(contact)
                        || seen
                            .counted
                            .contains(&(s.phone_number_id.clone(), *contact)),
                },
                marketing_received: r.marketing.get(contact).copied().unwrap_or(0),
                template,
            };
            let decision = decide(s, &f, &seen.usable[&s.waba_id], $limits, now);
            let Some(plan) =
                outbox::plan(&decision, &s.content, f.template.as_ref(), s.asked(), now)
            else {
                out.push(Some(Submitted::Refused(decision)));
                continue;
            };
            if plan.spends_budget() && !f.budget.recipient_counted {
                seen.counted.insert((s.phone_number_id.clone(), *contact));
                if let Some(b) = seen.budgets.get_mut(&s.phone_number_id) {
                    b.1 += 1;
                }
            }
            if plan.state.spends_budget() && plan.category == Some("MARKETING") {
                *r.marketing.entry(*contact).or_default() += 1;
            }
            let decision = serde_json::to_string(&decision).unwrap_or_default();
            out.push(None);
            planned.push((i, *contact, (plan, decision)));
        }
        // Written: one multi-row INSERT per chunk (ids come back in VALUES order), the events
        // likewise, then the rows as the caller sees them.
        let mut ids: Vec<(usize, i64)> = Vec::with_capacity(planned.len());
        for chunk in planned.chunks(batch::ROWS) {
            let mut q = sqlx::QueryBuilder::new(INSERT_MANY);
            q.push_values(chunk, |mut b, (i, contact, (plan, decision))| {
                let s = &sends[*i];
                b.push_bind(&s.request_hash)
                    .push_bind(&s.phone_number_id)
                    .push_bind(*contact)
                    .push_bind(&s.recipient)
                    .push_bind(switchboard_cloudapi::TypeKeyed::type_name(&s.content))
                    .push_bind(plan.category)
                    .push_bind(template_key(&s.content).map(|k| k.0))
                    .push_bind(plan.lane as i64)
                    .push_bind(&s.request)
                    .push_bind(plan.state.as_str())
                    .push_bind(decision.as_str())
                    .push_bind(plan.business_initiated)
                    .push_bind(plan.next_attempt_at.0)
                    .push_bind(plan.note.as_deref())
                    .push_bind(s.campaign_id)
                    .push_bind(s.created_by.as_deref())
                    .push_bind(now.0)
                    .push_bind(now.0)
                    .push_bind(now.0);
            });
            q.push(" RETURNING id");
            let mut got: Vec<i64> = q
                .build_query_as::<(i64,)>()
                .fetch_all(&mut *$tx)
                .await?
                .into_iter()
                .map(|r| r.0)
                .collect();
            got.sort_unstable();
            if got.len() != chunk.len() {
                return Err(StoreError::NotFound);
            }
            ids.extend(chunk.iter().map(|(i, _, _)| *i).zip(got));
        }
        for chunk in planned
            .iter()
            .zip(&ids)
            .collect::<Vec<_>>()
            .chunks(batch::ROWS)
        {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO outbound_events (outbound_id, state, at_ms, detail) ",
            );
            q.push_values(chunk, |mut b, ((_, _, (plan, _)), (_, id))| {
                b.push_bind(*id)
                    .push_bind(plan.state.as_str())
                    .push_bind(now.0)
                    .push_bind(plan.note.as_deref());
            });
            q.build().execute(&mut *$tx).await?;
        }
        let mut rows: HashMap<i64, OutboundRow> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(batch::ROWS) {
            let mut q =
                sqlx::QueryBuilder::new(concat!(crate::outbox::select_row!(), " WHERE o.id IN "));
            crate::push_list!(q, chunk.iter().map(|(_, id)| id));
            let got: Vec<OutboundRow> = q.build_query_as().fetch_all(&mut *$tx).await?;
            rows.extend(got.into_iter().map(|r| (r.id, r)));
        }
        for (i, id) in ids {
            out[i] = Some(Submitted::New(
                rows.remove(&id).ok_or(StoreError::NotFound)?,
            ));
        }
        out.into_iter()
            .map(|o| o.ok_or(StoreError::NotFound))
            .collect::<Result<Vec<_>, _>>()?
    }};
}
pub(super) use submit_batch;
