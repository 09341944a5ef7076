//! From a webhook body to store operations: pure, so every rule here is unit-tested without a
//! database. Every entry, change, message and status of a batch becomes an op; nothing is
//! "just the first item". Unknown fields become account events with their raw JSON; unknown
//! message types become messages of that type with their raw JSON.
//!
//! A bad item never takes good ones with it: each item of the body (a message, a status, an
//! echo, a preference, a contact, a value-level error; the errors as one; a management change)
//! makes its own run of ops ([`Projection::items`], with its [`ItemPlace`]), and an item that did
//! not parse makes an item dead letter instead. So the server can apply a body item by item when
//! the database refuses it whole, and a replay can apply one item ([`project_item`]).

use std::collections::HashMap;
use std::ops::Range;

use sha2::{Digest, Sha256};
use switchboard_cloudapi::WebhookError;
use switchboard_cloudapi::webhook::{
    ChangeValue, Contact, Entry, Envelope, Field, InboundContent, InboundMessage, ItemArray,
    ItemPlace, Items, MessagingValue, Status, UserPreference, Within,
};
use switchboard_domain::UnixMs;
use switchboard_store::{
    ContactKey, DeadItemCode, ItemDeadLetter, ItemOp, MediaRef, MessageOp, Op, StatusOp,
};

/// What projection needs to know about the configuration.
#[derive(Debug, Clone, Default)]
pub struct ProjectCtx {
    /// Display number digits → phone number id (quality webhooks name numbers by display).
    pub display_to_id: HashMap<String, String>,
    /// WABA id → its phone number ids (account restrictions apply to all of them).
    pub numbers_of_waba: HashMap<String, Vec<String>>,
    /// Opt-out and opt-in keywords, and the automatic replies (empty: none; the projector
    /// sends them).
    pub keywords: switchboard_domain::consent::Keywords,
    pub opt_out_reply: String,
    pub opt_in_reply: String,
}

/// The ops of one body, and which item of it asked for each run of them.
#[derive(Debug, Default)]
pub struct Projection {
    pub ops: Vec<Op>,
    items: Vec<(ItemPlace, Range<usize>)>,
}

impl Projection {
    /// Each item of the body with its ops, in body order (an item that asks nothing is left out).
    pub fn items(&self) -> impl Iterator<Item = (ItemPlace, &[Op])> {
        self.items
            .iter()
            .map(|(place, range)| (*place, &self.ops[range.clone()]))
    }

    /// Records the ops `f` pushes as the item at `place`'s.
    fn item(&mut self, place: ItemPlace, f: impl FnOnce(&mut Vec<Op>)) {
        let start = self.ops.len();
        f(&mut self.ops);
        if self.ops.len() > start {
            self.items.push((place, start..self.ops.len()));
        }
    }
}

pub fn project(env: &Envelope, ctx: &ProjectCtx) -> Vec<Op> {
    project_items(env, ctx).ops
}

/// As [`project`], with the item each op belongs to.
pub fn project_items(env: &Envelope, ctx: &ProjectCtx) -> Projection {
    let mut p = Projection::default();
    for (e, entry) in env.entry.iter().enumerate() {
        for (c, change) in entry.changes.iter().enumerate() {
            let place = ItemPlace::change(e, c);
            match &change.value {
                ChangeValue::Messaging(field, v) => messaging(&mut p, e, c, entry, field, v, ctx),
                ChangeValue::Unparsed { field, error, raw } => p.item(place, |ops| {
                    ops.push(unparsed(place, &format!("{field} change"), error, raw))
                }),
                other => p.item(place, |ops| management(ops, entry, other, ctx)),
            }
        }
    }
    p
}

/// What applying only the item at `place` asks: its ops as in its body's projection (an item
/// dead letter if it still does not parse), or `None` when the body has nothing there. Two
/// kinds of item make no ops of their own in a body: a contact (its profile rides on the
/// messages that name the customer) and a value-level error (the errors are one event). On its
/// own, a contact's profile is recorded on its contact, and an error is an event of its own.
pub fn project_item(env: &Envelope, place: &ItemPlace, ctx: &ProjectCtx) -> Option<Vec<Op>> {
    env.item_json(place)?;
    let entry = env.entry.get(place.entry)?;
    let change = entry.changes.get(place.change)?;
    if let (ChangeValue::Messaging(_, v), Within::Item(array, i)) = (&change.value, place.within) {
        match (array, v.metadata.as_ref()) {
            (ItemArray::Contacts, _) => {
                if let Some(Ok(contact)) = v.contacts.as_ref().and_then(|c| c.get(i)) {
                    let key = contact_key(Some(contact), None, None, None);
                    return Some(vec![Op::Item(ItemOp::Contact(key))]);
                }
            }
            (ItemArray::Errors, Some(meta)) => {
                if let Some(Ok(error)) = v.errors.as_ref().and_then(|e| e.get(i)) {
                    let mut ops = Vec::new();
                    errors_event(
                        &mut ops,
                        entry,
                        &meta.phone_number_id,
                        std::slice::from_ref(error),
                    );
                    return Some(ops);
                }
            }
            _ => {}
        }
    }
    let projection = project_items(env, ctx);
    let ops = projection
        .items()
        .find(|(at, _)| at == place)
        .map(|(_, ops)| ops.to_vec());
    Some(ops.unwrap_or_default())
}

/// What is at `place`, as a person would say it: "message", "user preference", "value-level
/// errors", "message_template_status_update change".
pub fn describe(env: &Envelope, place: &ItemPlace) -> String {
    let field = env
        .entry
        .get(place.entry)
        .and_then(|e| e.changes.get(place.change))
        .map(|c| c.field());
    match (place.within, field) {
        (Within::Item(array, _), _) => array.item_noun().to_owned(),
        (Within::Array(ItemArray::Errors), _) => "value-level errors".to_owned(),
        (Within::Array(array), _) => format!("{array} array"),
        (Within::Change, Some(field)) => format!("{field} change"),
        (Within::Change, None) => "change".to_owned(),
    }
}

/// An item that did not parse, as a dead letter with a reason an admin can act on.
fn unparsed(place: ItemPlace, what: &str, error: &str, raw: &serde_json::Value) -> Op {
    Op::Item(ItemOp::DeadLetter(ItemDeadLetter {
        place,
        code: DeadItemCode::Unparsed,
        reason: clean(format!(
            "This {what} does not have the shape this version of Switchboard reads ({error}). \
             The rest of its body was applied; replay this item once a version that reads it runs."
        )),
        raw: raw.to_string(),
    }))
}

fn contact_key(
    contact: Option<&Contact>,
    wa_id: Option<&String>,
    bsuid: Option<&String>,
    parent: Option<&String>,
) -> ContactKey {
    ContactKey {
        wa_id: wa_id
            .cloned()
            .or_else(|| contact.and_then(|c| c.wa_id.clone())),
        bsuid: bsuid
            .cloned()
            .or_else(|| contact.and_then(|c| c.user_id.clone())),
        parent_bsuid: parent
            .cloned()
            .or_else(|| contact.and_then(|c| c.parent_user_id.clone())),
        username: contact
            .and_then(|c| c.profile.as_ref())
            .and_then(|p| p.username.clone())
            .map(clean),
        name: contact
            .and_then(|c| c.profile.as_ref())
            .and_then(|p| p.name.clone())
            .map(clean)
            .filter(|n| !n.is_empty()),
        name_if_unknown: None,
    }
}

/// Text as PostgreSQL can store it (no NUL characters; SQLite would take them).
fn clean(s: String) -> String {
    if s.contains('\0') {
        s.replace('\0', "")
    } else {
        s
    }
}

/// Searchable text of a message: what a person would search for.
pub fn message_text(m: &InboundMessage) -> Option<String> {
    raw_text(m).map(clean)
}

fn raw_text(m: &InboundMessage) -> Option<String> {
    match &m.content {
        InboundContent::Text(t) => Some(t.body.clone()),
        InboundContent::Image(x) | InboundContent::Video(x) | InboundContent::Document(x) => {
            x.caption.clone().or_else(|| x.filename.clone())
        }
        InboundContent::Location(l) => l.name.clone().or_else(|| l.address.clone()),
        InboundContent::Button(b) => b.text.clone(),
        InboundContent::Interactive(i) => i
            .button_reply
            .as_ref()
            .or(i.list_reply.as_ref())
            .and_then(|r| r.title.clone()),
        InboundContent::Reaction(r) => r.emoji.clone(),
        InboundContent::System(s) => s.body.clone(),
        InboundContent::Order(o) => o.text.clone().filter(|t| !t.is_empty()),
        _ => None,
    }
}

fn message_op(phone_number_id: &str, m: &InboundMessage, contact: ContactKey, inbound: bool) -> Op {
    let media = m.media().and_then(|x| {
        Some(MediaRef {
            media_id: x.id.clone()?,
            mime_type: x.mime_type.clone(),
            sha256: x.sha256.clone(),
            url: x.url.clone(),
        })
    });
    Op::Message(Box::new(MessageOp {
        phone_number_id: phone_number_id.to_owned(),
        contact,
        wamid: m.id.clone(),
        inbound,
        kind: m.type_name().to_owned(),
        text: message_text(m),
        payload: serde_json::to_string(m).expect("messages serialise"),
        meta_at_ms: m.timestamp.as_millis(),
        free_entry_point_until_ms: m.referral.as_ref().map(|_| {
            switchboard_domain::window::free_entry_point_closes_at(UnixMs(m.timestamp.as_millis()))
                .0
        }),
        media,
    }))
}

fn status_op(s: &Status) -> Op {
    Op::Status(StatusOp {
        wamid: s.id.clone(),
        status: s.status.as_str().to_owned(),
        rank: s.status.rank(),
        meta_at_ms: s.timestamp.as_millis(),
        pricing: s
            .pricing
            .as_ref()
            .map(|p| serde_json::to_string(p).expect("serialises")),
        errors: s
            .errors
            .as_ref()
            .map(|e| serde_json::to_string(e).expect("serialises")),
        error_code: s.errors.as_ref().and_then(|e| e.first()).map(|e| e.code.0),
        payload: serde_json::to_string(s).expect("statuses serialise"),
    })
}

fn messaging(
    p: &mut Projection,
    e: usize,
    c: usize,
    entry: &Entry,
    field: &Field,
    v: &MessagingValue,
    ctx: &ProjectCtx,
) {
    let Some(meta) = &v.metadata else {
        // Nothing says which number it is for: the value is kept whole (every item as it came)
        // as an event, as a value of a shape we do not know.
        p.item(ItemPlace::change(e, c), |ops| {
            let raw = serde_json::to_value(v).unwrap_or_default();
            event(ops, entry, field.as_str(), None, &raw)
        });
        return;
    };
    let number = meta.phone_number_id.as_str();
    // (A contact makes no ops: its profile rides on the items that name the customer.)
    each(p, e, c, ItemArray::Contacts, &v.contacts, |_, _| {});
    each(p, e, c, ItemArray::Messages, &v.messages, |ops, m| {
        inbound_message(ops, number, v, m, ctx)
    });
    each(
        p,
        e,
        c,
        ItemArray::MessageEchoes,
        &v.message_echoes,
        |ops, echo| {
            let to = echo
                .extra
                .get("to")
                .and_then(|x| x.as_str())
                .map(str::to_owned);
            let to_user = echo
                .extra
                .get("to_user_id")
                .and_then(|x| x.as_str())
                .map(str::to_owned);
            let key = contact_key(None, to.as_ref(), to_user.as_ref(), None);
            ops.push(message_op(number, echo, key, false));
        },
    );
    each(p, e, c, ItemArray::Statuses, &v.statuses, |ops, s| {
        ops.push(status_op(s))
    });
    each(
        p,
        e,
        c,
        ItemArray::UserPreferences,
        &v.user_preferences,
        |ops, pref| preference(ops, entry, number, v, pref),
    );
    // The errors that parsed are one event; one that did not is a dead letter of its own.
    each(p, e, c, ItemArray::Errors, &v.errors, |_, _| {});
    if !v.errors().is_empty() {
        p.item(ItemPlace::array(e, c, ItemArray::Errors), |ops| {
            errors_event(ops, entry, number, v.errors())
        });
    }
}

/// Each item of an array in order, as an item of the projection: one that parsed through
/// `apply`, one that did not as a dead letter.
fn each<T>(
    p: &mut Projection,
    e: usize,
    c: usize,
    array: ItemArray,
    items: &Option<Items<T>>,
    mut apply: impl FnMut(&mut Vec<Op>, &T),
) {
    for (i, item) in items.iter().flat_map(Items::iter) {
        let place = ItemPlace::item(e, c, array, i);
        p.item(place, |ops| match item {
            Ok(item) => apply(ops, item),
            Err(u) => ops.push(unparsed(place, array.item_noun(), &u.error, &u.raw)),
        });
    }
}

fn inbound_message(
    ops: &mut Vec<Op>,
    number: &str,
    v: &MessagingValue,
    m: &InboundMessage,
    ctx: &ProjectCtx,
) {
    let contact = v.contact_for(m);
    let key = contact_key(
        contact,
        m.from.as_ref(),
        m.from_user_id.as_ref(),
        m.from_parent_user_id.as_ref(),
    );
    let keyword = match &m.content {
        InboundContent::Text(t) => ctx.keywords.classify(&t.body),
        _ => None,
    };
    let contact_for_keyword = keyword.as_ref().map(|_| key.clone());
    ops.push(message_op(number, m, key, true));
    if let (Some((action, word)), Some(contact)) = (keyword, contact_for_keyword) {
        ops.push(Op::ConsentKeyword {
            phone_number_id: number.to_owned(),
            contact,
            opt_in: action == switchboard_domain::consent::KeywordAction::OptIn,
            keyword: word,
            wamid: m.id.clone(),
        });
    }
    if let InboundContent::System(s) = &m.content {
        match s.kind.as_deref() {
            Some("user_changed_number" | "customer_changed_number") => {
                if let (Some(old), Some(new)) = (&m.from, &s.wa_id) {
                    ops.push(Op::NumberChanged {
                        old_wa_id: old.clone(),
                        new_wa_id: new.clone(),
                    });
                }
            }
            Some("user_changed_user_id") => {
                if let Some(new) = &s.user_id {
                    ops.push(Op::BsuidChanged {
                        old_bsuid: m.from_user_id.clone().filter(|old| old != new),
                        wa_id: m.from.clone(),
                        new_bsuid: new.clone(),
                    });
                }
            }
            _ => {}
        }
    }
}

fn preference(
    ops: &mut Vec<Op>,
    entry: &Entry,
    number: &str,
    v: &MessagingValue,
    p: &UserPreference,
) {
    let contact = v.contacts().iter().find(|c| {
        (p.user_id.is_some() && c.user_id == p.user_id) || (p.wa_id.is_some() && c.wa_id == p.wa_id)
    });
    ops.push(Op::MarketingPreference {
        phone_number_id: number.to_owned(),
        contact: contact_key(
            contact,
            p.wa_id.as_ref(),
            p.user_id.as_ref(),
            p.parent_user_id.as_ref(),
        ),
        value: p.value.clone(),
        meta_at_ms: p.timestamp.as_millis(),
    });
    event(
        ops,
        entry,
        "user_preferences",
        Some(number),
        &serde_json::to_value(p).unwrap_or_default(),
    );
}

fn errors_event(ops: &mut Vec<Op>, entry: &Entry, number: &str, errors: &[WebhookError]) {
    event(
        ops,
        entry,
        "messages.errors",
        Some(number),
        &serde_json::to_value(errors).unwrap_or_default(),
    );
}

/// Records a management event, deduplicated by its field, WABA, time and content.
fn event(
    ops: &mut Vec<Op>,
    entry: &Entry,
    field: &str,
    phone_number_id: Option<&str>,
    value: &serde_json::Value,
) {
    let payload = value.to_string();
    let mut h = Sha256::new();
    h.update(field.as_bytes());
    h.update(entry.id.as_bytes());
    h.update(entry.time.unwrap_or(0).to_be_bytes());
    h.update(payload.as_bytes());
    ops.push(Op::AccountEvent {
        field: field.to_owned(),
        waba_id: entry.id.clone(),
        phone_number_id: phone_number_id.map(str::to_owned),
        meta_at_ms: entry.time.map(|t| t * 1000),
        dedupe_key: hex::encode(h.finalize()),
        payload,
    });
}

fn management(ops: &mut Vec<Op>, entry: &Entry, value: &ChangeValue, ctx: &ProjectCtx) {
    let at = entry.time.unwrap_or(0) * 1000;
    let raw = match value {
        ChangeValue::Unknown(_, raw) => raw.clone(),
        other => serde_json::to_value(ChangeJson(other)).unwrap_or_default(),
    };
    let field = value.field();
    let template = |name: &Option<String>, language: &Option<String>| -> Option<(String, String)> {
        Some((name.clone()?, language.clone()?))
    };
    match value {
        ChangeValue::TemplateStatus(t) => {
            if let Some((name, language)) =
                template(&t.message_template_name, &t.message_template_language)
            {
                ops.push(Op::TemplateState {
                    waba_id: entry.id.clone(),
                    name,
                    language,
                    template_id: t.message_template_id.as_ref().map(|i| i.to_text()),
                    status: t.event.clone(),
                    category: t.message_template_category.clone(),
                    quality: None,
                    reason: t.reason.clone().filter(|r| r != "NONE"),
                    at_ms: at,
                });
            }
        }
        ChangeValue::TemplateQuality(t) => {
            if let Some((name, language)) =
                template(&t.message_template_name, &t.message_template_language)
            {
                ops.push(Op::TemplateState {
                    waba_id: entry.id.clone(),
                    name,
                    language,
                    template_id: t.message_template_id.as_ref().map(|i| i.to_text()),
                    status: None,
                    category: None,
                    quality: t.new_quality_score.clone(),
                    reason: None,
                    at_ms: at,
                });
            }
        }
        ChangeValue::TemplateCategory(t) => {
            if let Some((name, language)) =
                template(&t.message_template_name, &t.message_template_language)
            {
                // An impending change (`correct_category`) is recorded as an event only.
                let category = if t.correct_category.is_none() {
                    t.new_category.clone()
                } else {
                    None
                };
                ops.push(Op::TemplateState {
                    waba_id: entry.id.clone(),
                    name,
                    language,
                    template_id: t.message_template_id.as_ref().map(|i| i.to_text()),
                    status: None,
                    category,
                    quality: None,
                    reason: None,
                    at_ms: at,
                });
            }
        }
        ChangeValue::PhoneNumberQuality(q) => {
            let display = q.display_phone_number.clone().unwrap_or_default();
            let key = ctx
                .display_to_id
                .get(&display)
                .cloned()
                .unwrap_or_else(|| format!("display:{display}"));
            let quality = q
                .extra
                .get("quality_rating")
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            let limit = q
                .max_daily_conversations_per_business
                .clone()
                .or_else(|| q.current_limit.clone());
            ops.push(Op::NumberState {
                key,
                display: Some(display),
                quality,
                messaging_limit: limit,
                restricted: None,
                at_ms: at,
            });
        }
        ChangeValue::Account(a) if a.event.as_deref() == Some("ACCOUNT_RESTRICTION") => {
            let restricted = a.restriction_info.as_ref().is_some_and(|r| !r.is_empty());
            for number in ctx.numbers_of_waba.get(&entry.id).into_iter().flatten() {
                ops.push(Op::NumberState {
                    key: number.clone(),
                    display: None,
                    quality: None,
                    messaging_limit: None,
                    restricted: Some(restricted),
                    at_ms: at,
                });
            }
        }
        _ => {}
    }
    event(ops, entry, field.as_str(), None, &raw);
}

/// Serialises a typed change value back to its JSON.
struct ChangeJson<'a>(&'a ChangeValue);

impl serde::Serialize for ChangeJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let change = switchboard_cloudapi::webhook::Change {
            value: self.0.clone(),
            extra: Default::default(),
        };
        let v = serde_json::to_value(&change).map_err(serde::ser::Error::custom)?;
        v.get("value").cloned().unwrap_or_default().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(name: &str) -> Envelope {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../cloudapi/tests/corpus/webhooks")
            .join(name);
        Envelope::parse(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .unwrap()
    }

    #[test]
    fn every_item_of_a_batch_becomes_an_op() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../cloudapi/tests/corpus/webhooks");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let env = Envelope::parse(&std::fs::read(&path).unwrap()).unwrap();
            let ops = project(&env, &ProjectCtx::default());
            let (mut messages, mut statuses) = (0, 0);
            for (_, c) in env.changes() {
                if let ChangeValue::Messaging(_, v) = &c.value {
                    messages += v.messages().len() + v.message_echoes().len();
                    statuses += v.statuses().len();
                }
            }
            let got_messages = ops.iter().filter(|o| matches!(o, Op::Message(_))).count();
            let got_statuses = ops.iter().filter(|o| matches!(o, Op::Status(_))).count();
            assert_eq!(
                (got_messages, got_statuses),
                (messages, statuses),
                "{}",
                path.display()
            );
            assert!(!ops.is_empty(), "{} produced nothing", path.display());
        }
    }

    /// A `messages` change with a good and a bad item in every array, beside a management
    /// change that does not have its field's shape.
    fn mixed() -> Envelope {
        let body = serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [
            {"field": "message_template_status_update", "value": {"event": 5}},
            {"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                "contacts": [{"profile": {"name": "Sheena"}, "wa_id": "16505551234"}, {"profile": 7}],
                "messages": [
                    {"from": "16505551234", "id": "wamid.GOOD", "timestamp": "1776002000", "type": "text", "text": {"body": "STOP"}},
                    {"from": "16505551234", "id": "wamid.BAD", "type": "text", "text": {"body": "no timestamp"}},
                    {"from": "16505551234", "id": "wamid.HOLO", "timestamp": "1776002001", "type": "hologram", "hologram": {}}
                ],
                "message_echoes": [{"id": 1}, {"to": "16505551234", "id": "wamid.ECHO", "timestamp": "1776002002", "type": "text", "text": {"body": "e"}}],
                "statuses": [{"id": "wamid.S1", "status": "read", "timestamp": "1776002003"}, {"status": "read"}],
                "user_preferences": [{"wa_id": "16505551234", "category": "marketing_messages", "value": "stop", "timestamp": 1776002004}, {"value": "stop"}],
                "errors": [{"code": 130429, "title": "Rate limit hit"}, {"title": "no code"}]
            }}
        ]}]});
        Envelope::parse(&serde_json::to_vec(&body).unwrap()).unwrap()
    }

    fn ctx() -> ProjectCtx {
        ProjectCtx {
            keywords: switchboard_domain::consent::Keywords::new(&["STOP"], &[]),
            ..Default::default()
        }
    }

    #[test]
    fn each_item_makes_its_own_ops_and_each_bad_one_a_dead_letter_in_its_place() {
        let env = mixed();
        let p = project_items(&env, &ctx());
        let items: Vec<(String, Vec<&'static str>)> = p
            .items()
            .map(|(place, ops)| {
                let kinds = ops
                    .iter()
                    .map(|op| match op {
                        Op::Message(_) => "message",
                        Op::ConsentKeyword { .. } => "keyword",
                        Op::Status(_) => "status",
                        Op::MarketingPreference { .. } => "preference",
                        Op::AccountEvent { .. } => "event",
                        Op::Item(ItemOp::DeadLetter(d)) => {
                            assert_eq!(d.place, place);
                            assert_eq!(d.code, DeadItemCode::Unparsed);
                            "dead"
                        }
                        other => panic!("unexpected {other:?}"),
                    })
                    .collect();
                (place.to_string(), kinds)
            })
            .collect();
        let at = |path: &str| format!("entry[0].changes[1].value.{path}");
        assert_eq!(
            items,
            [
                ("entry[0].changes[0]".to_owned(), vec!["dead"]),
                (at("contacts[1]"), vec!["dead"]),
                (at("messages[0]"), vec!["message", "keyword"]),
                (at("messages[1]"), vec!["dead"]),
                (at("messages[2]"), vec!["message"]),
                (at("message_echoes[0]"), vec!["dead"]),
                (at("message_echoes[1]"), vec!["message"]),
                (at("statuses[0]"), vec!["status"]),
                (at("statuses[1]"), vec!["dead"]),
                (at("user_preferences[0]"), vec!["preference", "event"]),
                (at("user_preferences[1]"), vec!["dead"]),
                (at("errors[1]"), vec!["dead"]),
                (at("errors"), vec!["event"]),
            ]
        );
        // Every op belongs to an item, and `project` is the same ops.
        let grouped: usize = p.items().map(|(_, ops)| ops.len()).sum();
        assert_eq!(grouped, p.ops.len());
        assert_eq!(project(&env, &ctx()).len(), p.ops.len());
        // The reason says what is wrong and what to do; the raw item is kept as it came.
        let Some(Op::Item(ItemOp::DeadLetter(d))) = p.items().nth(3).map(|(_, ops)| &ops[0]) else {
            panic!("messages[1] is not a dead letter")
        };
        assert!(
            d.reason.starts_with("This message does not have the shape"),
            "{}",
            d.reason
        );
        assert!(
            d.reason.contains("missing field `timestamp`"),
            "{}",
            d.reason
        );
        assert!(d.reason.contains("replay this item"), "{}", d.reason);
        assert!(d.raw.contains("wamid.BAD"));
    }

    #[test]
    fn one_item_alone_asks_what_it_asked_in_its_body() {
        let env = mixed();
        let ctx = ctx();
        let place = |path: &str| format!("entry[0].changes[1].value.{path}").parse().unwrap();
        let kinds = |ops: Vec<Op>| -> Vec<String> {
            ops.iter()
                .map(|op| match op {
                    Op::Message(m) => format!("message {}", m.wamid),
                    Op::ConsentKeyword { .. } => "keyword".into(),
                    Op::AccountEvent { field, payload, .. } => format!("event {field} {payload}"),
                    Op::Item(ItemOp::DeadLetter(d)) => format!("dead {}", d.place),
                    Op::Item(ItemOp::Contact(c)) => format!("contact {:?}", c.name),
                    other => format!("{other:?}"),
                })
                .collect()
        };
        let one = |path: &str| project_item(&env, &place(path), &ctx).map(kinds);
        assert_eq!(
            one("messages[0]"),
            Some(vec!["message wamid.GOOD".into(), "keyword".into()])
        );
        assert_eq!(
            one("messages[1]"),
            Some(vec!["dead entry[0].changes[1].value.messages[1]".into()])
        );
        assert_eq!(
            one("contacts[0]"),
            Some(vec!["contact Some(\"Sheena\")".into()])
        );
        assert_eq!(
            one("errors[0]"),
            Some(vec![
                r#"event messages.errors [{"code":130429,"title":"Rate limit hit"}]"#.into()
            ])
        );
        assert_eq!(one("messages[3]"), None, "nothing there");
        assert_eq!(describe(&env, &place("errors")), "value-level errors");
        assert_eq!(
            describe(&env, &"entry[0].changes[0]".parse().unwrap()),
            "message_template_status_update change"
        );
    }

    #[test]
    fn contacts_are_keyed_by_bsuid_and_phone() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../cloudapi/tests/corpus/webhooks");
        let name = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .find(|n| n.contains("text"))
            .unwrap();
        let ops = project(&corpus(&name), &ProjectCtx::default());
        let Op::Message(m) = ops.iter().find(|o| matches!(o, Op::Message(_))).unwrap() else {
            unreachable!()
        };
        assert!(m.contact.wa_id.is_some() || m.contact.bsuid.is_some());
        assert!(m.text.is_some());
    }
}
