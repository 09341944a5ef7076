//! From a webhook body to store operations: pure, so every rule here is unit-tested without a
//! database. Every entry, change, message and status of a batch becomes an op; nothing is
//! "just the first item". Unknown fields become account events with their raw JSON; unknown
//! message types become messages of that type with their raw JSON.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use switchboard_cloudapi::webhook::{
    ChangeValue, Contact, Entry, Envelope, Field, InboundContent, InboundMessage, MessagingValue,
    Status,
};
use switchboard_domain::UnixMs;
use switchboard_store::{ContactKey, MediaRef, MessageOp, Op, StatusOp};

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

pub fn project(env: &Envelope, ctx: &ProjectCtx) -> Vec<Op> {
    let mut ops = Vec::new();
    for (entry, change) in env.changes() {
        match &change.value {
            ChangeValue::Messaging(field, v) => messaging(&mut ops, entry, field, v, ctx),
            other => management(&mut ops, entry, other, ctx),
        }
    }
    ops
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
    ops: &mut Vec<Op>,
    entry: &Entry,
    field: &Field,
    v: &MessagingValue,
    ctx: &ProjectCtx,
) {
    let Some(meta) = &v.metadata else {
        event(
            ops,
            entry,
            field.as_str(),
            None,
            &serde_json::to_value(v).unwrap_or_default(),
        );
        return;
    };
    let number = meta.phone_number_id.as_str();
    for m in v.messages() {
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
    for echo in v.message_echoes() {
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
    }
    for s in v.statuses() {
        ops.push(status_op(s));
    }
    for p in v.user_preferences() {
        let contact = v.contacts().iter().find(|c| {
            (p.user_id.is_some() && c.user_id == p.user_id)
                || (p.wa_id.is_some() && c.wa_id == p.wa_id)
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
    if !v.errors().is_empty() {
        event(
            ops,
            entry,
            "messages.errors",
            Some(number),
            &serde_json::to_value(v.errors()).unwrap_or_default(),
        );
    }
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
