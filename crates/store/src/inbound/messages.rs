//! A batch of messages (inbound, and echoes of messages the business sent from the WhatsApp
//! Business app) written with a few set statements per [`MESSAGE_CHUNK`] instead of several
//! statements per message: what the projector needs to keep up with a campaign's replies.

/// Messages per statement in [`apply_messages!`] (nine values each).
pub(crate) const MESSAGE_CHUNK: usize = 500;

/// Contacts and conversations already resolved in this transaction.
#[derive(Default)]
pub(crate) struct Resolved {
    /// By [`crate::ContactKey::batch_key`] (owned).
    pub contacts: std::collections::HashMap<(String, bool), i64>,
    /// By (phone number id, contact id).
    pub conversations: std::collections::HashMap<(String, i64), i64>,
}

/// Writes a batch of messages inside `$tx` at `$now`, as writing them one by one in order
/// would: a message seen before (a duplicate, or a replay after the contact changed number or
/// BSUID) changes nothing, not even by resolving its old identity; each customer is found or
/// made once ([`crate::contacts::resolve_many!`], what their messages say folded in order),
/// each conversation once; the messages in one statement; each conversation touched once
/// (unread count, latest times, the free entry point), media queued, and parked statuses of
/// echoed messages applied. `$messages: &[(journal id, &MessageOp)]` in arrival order,
/// `$resolved: &mut Resolved`, `$sum: &mut ProjectionSummary`.
macro_rules! apply_messages {
    ($tx:expr, $messages:expr, $resolved:expr, $sum:expr, $now:expr) => {{
        use std::collections::{HashMap, HashSet};
        let messages: &[(i64, &$crate::MessageOp)] = $messages;
        let resolved: &mut $crate::inbound::messages::Resolved = $resolved;
        let sum: &mut $crate::ProjectionSummary = $sum;
        let now: i64 = $now;
        for chunk in messages.chunks($crate::inbound::messages::MESSAGE_CHUNK) {
            let mut q = sqlx::QueryBuilder::new("SELECT wamid FROM messages WHERE wamid IN ");
            $crate::push_list!(q, chunk.iter().map(|(_, m)| m.wamid.as_str()));
            let seen: HashSet<String> =
                q.build_query_scalar().fetch_all(&mut *$tx).await?.into_iter().collect();
            let mut fresh: Vec<(i64, &$crate::MessageOp)> = Vec::with_capacity(chunk.len());
            let mut wamids: HashSet<&str> = HashSet::new();
            for &(journal_id, m) in chunk {
                if seen.contains(&m.wamid) || !wamids.insert(m.wamid.as_str()) {
                    sum.messages_seen += 1;
                } else {
                    fresh.push((journal_id, m));
                }
            }
            if fresh.is_empty() {
                continue;
            }

            // Each customer once.
            let mut keys: Vec<$crate::ContactKey> = Vec::new();
            let mut index: HashMap<(String, bool), usize> = HashMap::new();
            for (_, m) in &fresh {
                let Some((ident, by_bsuid)) = m.contact.batch_key() else { continue };
                let k = (ident.to_owned(), by_bsuid);
                if resolved.contacts.contains_key(&k) {
                    continue;
                }
                match index.get(&k) {
                    Some(&i) => keys[i].absorb(&m.contact),
                    None => {
                        index.insert(k, keys.len());
                        keys.push(m.contact.clone());
                    }
                }
            }
            let refs: Vec<&$crate::ContactKey> = keys.iter().collect();
            let ids: Vec<i64> = $crate::contacts::resolve_many!($tx, &refs, now);
            for (k, i) in index {
                resolved.contacts.insert(k, ids[i]);
            }
            let mut contact_of: Vec<i64> = Vec::with_capacity(fresh.len());
            for (_, m) in &fresh {
                let id = match m.contact.batch_key() {
                    Some((ident, by_bsuid)) => resolved.contacts[&(ident.to_owned(), by_bsuid)],
                    None => $crate::contacts::contact_id!($tx, &m.contact, now),
                };
                contact_of.push(id);
            }

            // Each conversation once.
            let mut wanted: Vec<(&str, i64, i64)> = Vec::new();
            let mut asked: HashSet<(&str, i64)> = HashSet::new();
            for ((_, m), &contact) in fresh.iter().zip(&contact_of) {
                if !resolved
                    .conversations
                    .contains_key(&(m.phone_number_id.clone(), contact))
                    && asked.insert((m.phone_number_id.as_str(), contact))
                {
                    wanted.push((m.phone_number_id.as_str(), contact, m.meta_at_ms));
                }
            }
            for part in wanted.chunks(1_000) {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO conversations (phone_number_id, contact_id, status, last_message_at_ms, created_at_ms) ",
                );
                q.push_values(part, |mut b, (number, contact, at)| {
                    b.push_bind(*number)
                        .push_bind(*contact)
                        .push_bind("open")
                        .push_bind(*at)
                        .push_bind(now);
                });
                q.push(
                    " ON CONFLICT (phone_number_id, contact_id) DO UPDATE SET phone_number_id = excluded.phone_number_id \
                     RETURNING id, phone_number_id, contact_id",
                );
                let got: Vec<(i64, String, i64)> = q.build_query_as().fetch_all(&mut *$tx).await?;
                for (id, number, contact) in got {
                    resolved.conversations.insert((number, contact), id);
                }
            }
            let conversation_of: Vec<i64> = fresh
                .iter()
                .zip(&contact_of)
                .map(|((_, m), &contact)| {
                    resolved.conversations[&(m.phone_number_id.clone(), contact)]
                })
                .collect();

            // The messages, in one statement.
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO messages (wamid, conversation_id, direction, type, text, payload, meta_at_ms, journal_id, created_at_ms) ",
            );
            q.push_values(fresh.iter().zip(&conversation_of), |mut b, ((journal_id, m), conversation)| {
                b.push_bind(&m.wamid)
                    .push_bind(*conversation)
                    .push_bind(if m.inbound { "in" } else { "out" })
                    .push_bind(&m.kind)
                    .push_bind(&m.text)
                    .push_bind(&m.payload)
                    .push_bind(m.meta_at_ms)
                    .push_bind(*journal_id)
                    .push_bind(now);
            });
            q.push(" ON CONFLICT (wamid) DO NOTHING RETURNING id, wamid");
            let inserted: Vec<(i64, String)> = q.build_query_as().fetch_all(&mut *$tx).await?;
            let inserted: HashMap<String, i64> =
                inserted.into_iter().map(|(id, w)| (w, id)).collect();
            sum.messages_seen += fresh.len() - inserted.len();
            sum.messages_new += inserted.len();

            // Each conversation touched once: (inbound count, latest inbound, latest, free entry point).
            let mut touch: Vec<(i64, i64, i64, i64, i64)> = Vec::new();
            let mut at: HashMap<i64, usize> = HashMap::new();
            let mut media = Vec::new();
            let mut echoed: Vec<&str> = Vec::new();
            for ((_, m), &conversation) in fresh.iter().zip(&conversation_of) {
                let Some(&message_id) = inserted.get(&m.wamid) else { continue };
                sum.changed.push((conversation, "message"));
                let i = *at.entry(conversation).or_insert_with(|| {
                    touch.push((conversation, 0, 0, 0, 0));
                    touch.len() - 1
                });
                let t = &mut touch[i];
                t.3 = t.3.max(m.meta_at_ms);
                if m.inbound {
                    t.1 += 1;
                    t.2 = t.2.max(m.meta_at_ms);
                    t.4 = t.4.max(m.free_entry_point_until_ms.unwrap_or(0));
                } else {
                    // A status may have arrived before its message: the best one applies.
                    echoed.push(m.wamid.as_str());
                }
                if let Some(x) = &m.media {
                    media.push((message_id, m.phone_number_id.as_str(), x));
                }
            }
            if !touch.is_empty() {
                let mut q = sqlx::QueryBuilder::new(
                    "UPDATE conversations SET \
                       status = CASE WHEN v.column2 > 0 THEN 'open' ELSE status END, \
                       unread_count = unread_count + v.column2, \
                       last_inbound_at_ms = CASE WHEN v.column2 > 0 AND (last_inbound_at_ms IS NULL OR last_inbound_at_ms < v.column3) THEN v.column3 ELSE last_inbound_at_ms END, \
                       last_message_at_ms = CASE WHEN last_message_at_ms < v.column4 THEN v.column4 ELSE last_message_at_ms END, \
                       fep_expires_at_ms = CASE WHEN v.column5 > COALESCE(fep_expires_at_ms, 0) THEN v.column5 ELSE fep_expires_at_ms END \
                     FROM (",
                );
                q.push_values(&touch, |mut b, t| {
                    b.push_bind(t.0).push_bind(t.1).push_bind(t.2).push_bind(t.3).push_bind(t.4);
                });
                q.push(") AS v WHERE conversations.id = v.column1");
                q.build().execute(&mut *$tx).await?;
            }
            if !media.is_empty() {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO media (message_id, phone_number_id, media_id, mime_type, sha256, url, next_attempt_at_ms) ",
                );
                q.push_values(&media, |mut b, (message_id, number, x)| {
                    b.push_bind(*message_id)
                        .push_bind(*number)
                        .push_bind(&x.media_id)
                        .push_bind(&x.mime_type)
                        .push_bind(&x.sha256)
                        .push_bind(&x.url)
                        .push_bind(now);
                });
                q.push(" ON CONFLICT (message_id) DO NOTHING");
                q.build().execute(&mut *$tx).await?;
            }
            if !echoed.is_empty() {
                $crate::statuses::apply_parked!($tx, echoed.iter().copied());
            }
        }
    }};
}
pub(crate) use apply_messages;
