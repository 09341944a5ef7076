//! A send request (§2): readable as one, then its content, its recipient and, for a template
//! message, the stored template, in the order Meta checks them (§14.3). The number's own
//! state comes in as facts; rate limits and the asynchronous outcome are the pipeline's.

use std::collections::HashMap;

use serde_json::Value;
use switchboard_cloudapi::send::{MarkRead, MessagesRequest, OutboundContent, SendRequest};
use switchboard_cloudapi::{ErrorCode, TypeKeyed};

use super::{interactive, max_len, required, template_message};
use crate::refusal::{Refusal, refuse};
use crate::state::{TemplateRecord, TemplateRef};

/// A body that could not be read as a send or mark-as-read: the refusal, and what could be
/// read of it (`to`, `recipient`, `type`) for the outbox record.
pub struct Unreadable {
    pub refusal: Refusal,
    pub fields: Option<Value>,
}

/// Reads a request body: a JSON object for the WhatsApp product, with a type Meta knows.
pub fn read(body: &[u8]) -> Result<MessagesRequest, Unreadable> {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return Err(Unreadable {
                refusal: Refusal::new(
                    ErrorCode::INVALID_PARAMETER,
                    "Invalid parameter",
                    "The request body must be a JSON object.",
                ),
                fields: None,
            });
        }
    };
    if value.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
        return Err(Unreadable {
            refusal: Refusal::new(
                ErrorCode::INVALID_PARAMETER,
                "Invalid parameter",
                "The parameter messaging_product is required and must be \"whatsapp\".",
            ),
            fields: Some(value),
        });
    }
    let missing_type = value.get("type").is_none() && value.get("status").is_none();
    // Only what the record keeps: the body may be large, and parsing consumes it.
    let fields: Value = ["to", "recipient", "type"]
        .iter()
        .filter_map(|k| Some((k.to_string(), value.get(*k)?.clone())))
        .collect::<serde_json::Map<_, _>>()
        .into();
    MessagesRequest::from_value(value).map_err(|e| Unreadable {
        refusal: if missing_type {
            Refusal::new(
                ErrorCode::REQUIRED_PARAMETER_MISSING,
                "Required parameter is missing",
                "The parameter type is required.",
            )
        } else {
            Refusal::new(
                ErrorCode::INVALID_PARAMETER,
                "Invalid parameter",
                format!("Invalid parameter: {e}"),
            )
        },
        fields: Some(fields),
    })
}

/// A mark-as-read (§2.11), with the typing indicator (§2.12); `known` says whether the
/// message is one this number received.
pub fn mark_read(read: &MarkRead, known: bool) -> Result<(), Refusal> {
    if read.status != "read" {
        return refuse(100, "Invalid parameter", "status must be \"read\".");
    }
    if let Some(t) = &read.typing_indicator
        && t.kind != "text"
    {
        return refuse(
            100,
            "Invalid parameter",
            "typing_indicator.type must be \"text\".",
        );
    }
    if !known {
        return refuse(
            131009,
            "Parameter value is not valid",
            "message_id is not a message this number received.",
        );
    }
    Ok(())
}

/// What the send rules need to know beyond the request.
pub struct Facts<'a> {
    /// The Graph version in the path (`v23.0`): text parameter rules changed with v23.
    pub version: &'a str,
    /// The sending number, which cannot be its own recipient.
    pub business_phone: &'a str,
    /// The number is restricted from business-initiated messaging.
    pub restricted: bool,
    /// Known BSUIDs, to their wa_id.
    pub bsuids: &'a HashMap<String, String>,
    pub templates: &'a [TemplateRecord],
}

/// A send that passed the rules: whom it goes to, and the template it uses.
pub struct Addressed {
    pub wa_id: String,
    /// Addressed by business-scoped user id rather than phone number.
    pub by_bsuid: bool,
    pub template: Option<TemplateRef>,
}

/// The synchronous rules of a send, in Meta's order: content, recipient, template, restriction.
pub fn check(req: &SendRequest, facts: &Facts) -> Result<Addressed, Refusal> {
    content(req)?;
    let (wa_id, by_bsuid) = match (&req.to, &req.recipient) {
        (Some(to), _) => (normalise_phone(to)?, false),
        (None, Some(b)) => {
            check_bsuid(b)?;
            match facts.bsuids.get(b) {
                Some(w) => (w.clone(), true),
                None => {
                    return refuse(
                        131026,
                        "Message undeliverable",
                        "This business-scoped user id is not known.",
                    );
                }
            }
        }
        (None, None) => {
            return refuse(
                131008,
                "Required parameter is missing",
                "The parameter to is required.",
            );
        }
    };
    if wa_id == facts.business_phone {
        return refuse(
            131021,
            "Recipient cannot be sender",
            "The recipient is this business number.",
        );
    }
    let template = match &req.content {
        OutboundContent::Template(t) => {
            let tpl = template_message::check(facts.templates, t, facts.version)?;
            if by_bsuid && tpl.category.eq_ignore_ascii_case("AUTHENTICATION") {
                return refuse(
                    131062,
                    "BSUID recipients not supported",
                    "Business-scoped User ID (BSUID) recipients are not supported for this message.",
                );
            }
            Some(TemplateRef {
                name: tpl.name.clone(),
                language: tpl.language.clone(),
                category: tpl.category.to_lowercase(),
            })
        }
        _ => None,
    };
    if facts.restricted && template.is_some() {
        return refuse(
            368,
            "Temporarily blocked for policies violations",
            "The account is restricted from business-initiated messaging.",
        );
    }
    Ok(Addressed {
        wa_id,
        by_bsuid,
        template,
    })
}

fn normalise_phone(to: &str) -> Result<String, Refusal> {
    let digits: String = to
        .chars()
        .filter(|c| !matches!(c, '+' | ' ' | '-' | '(' | ')'))
        .collect();
    if (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
    {
        Ok(digits)
    } else {
        refuse(
            100,
            "Invalid parameter",
            format!("{to:?} is not a valid phone number; include + and the country code."),
        )
    }
}

fn check_bsuid(b: &str) -> Result<(), Refusal> {
    let ok = b.split_once('.').is_some_and(|(cc, rest)| {
        cc.len() == 2
            && cc.bytes().all(|c| c.is_ascii_uppercase())
            && !rest.is_empty()
            && rest.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'.')
    });
    if ok {
        Ok(())
    } else {
        refuse(
            100,
            "Invalid parameter",
            format!("{b:?} is not a business-scoped user id."),
        )
    }
}

/// Content checks that need no state.
fn content(req: &SendRequest) -> Result<(), Refusal> {
    if req
        .recipient_type
        .as_deref()
        .is_some_and(|t| t != "individual" && t != "group")
    {
        return refuse(
            100,
            "Invalid parameter",
            "recipient_type must be \"individual\".",
        );
    }
    if let Some(data) = &req.biz_opaque_callback_data {
        max_len("biz_opaque_callback_data", data, 512)?;
    }
    if req.context.is_some() && matches!(req.content, OutboundContent::Reaction(_)) {
        return refuse(
            100,
            "Invalid parameter",
            "A reaction cannot have a context.",
        );
    }
    match &req.content {
        OutboundContent::Text(t) => {
            if t.body.trim().is_empty() {
                return refuse(
                    131008,
                    "Required parameter is missing",
                    "The parameter text['body'] is required.",
                );
            }
            max_len("text['body']", &t.body, 4096)
        }
        c @ (OutboundContent::Image(m)
        | OutboundContent::Video(m)
        | OutboundContent::Document(m)
        | OutboundContent::Audio(m)
        | OutboundContent::Sticker(m)) => {
            let name = c.type_name();
            match (&m.id, &m.link) {
                (None, None) => {
                    return refuse(
                        131008,
                        "Required parameter is missing",
                        format!("The parameter {name}['id'] or {name}['link'] is required."),
                    );
                }
                (Some(_), Some(_)) => {
                    return refuse(
                        100,
                        "Invalid parameter",
                        format!("Only one of {name}['id'] and {name}['link'] may be given."),
                    );
                }
                (None, Some(l)) if !(l.starts_with("http://") || l.starts_with("https://")) => {
                    return refuse(
                        100,
                        "Invalid parameter",
                        format!("{name}['link'] must be an http(s) URL."),
                    );
                }
                _ => {}
            }
            if let Some(cap) = &m.caption {
                if matches!(c, OutboundContent::Audio(_) | OutboundContent::Sticker(_)) {
                    return refuse(
                        100,
                        "Invalid parameter",
                        format!("{name} messages cannot have a caption."),
                    );
                }
                max_len("caption", cap, 1024)?;
            }
            Ok(())
        }
        OutboundContent::Location(l) => {
            let lat = l.latitude.as_ref().and_then(|v| v.as_f64());
            let lon = l.longitude.as_ref().and_then(|v| v.as_f64());
            match (lat, lon) {
                (Some(a), Some(o))
                    if (-90.0..=90.0).contains(&a) && (-180.0..=180.0).contains(&o) =>
                {
                    Ok(())
                }
                (None, _) | (_, None) => refuse(
                    131008,
                    "Required parameter is missing",
                    "location['latitude'] and location['longitude'] are required.",
                ),
                _ => refuse(
                    100,
                    "Invalid parameter",
                    "Latitude must be within ±90 and longitude within ±180.",
                ),
            }
        }
        OutboundContent::Contacts(cards) => {
            if cards.is_empty() || cards.len() > 257 {
                return refuse(
                    100,
                    "Invalid parameter",
                    "contacts must hold 1 to 257 cards.",
                );
            }
            for c in cards {
                let name = c
                    .name
                    .as_ref()
                    .and_then(|n| n.get("formatted_name"))
                    .and_then(Value::as_str);
                if name.is_none_or(|n| n.trim().is_empty()) {
                    return refuse(
                        131008,
                        "Required parameter is missing",
                        "The parameter contacts[0]['name']['formatted_name'] is required.",
                    );
                }
            }
            Ok(())
        }
        OutboundContent::Reaction(r) => {
            required("reaction['message_id']", r.message_id.as_ref())?;
            if r.emoji.is_none() {
                return refuse(
                    131008,
                    "Required parameter is missing",
                    "The parameter reaction['emoji'] is required (\"\" removes a reaction).",
                );
            }
            Ok(())
        }
        OutboundContent::Interactive(i) => interactive::check(i),
        OutboundContent::Template(t) => {
            if t.name.trim().is_empty() {
                return refuse(
                    131008,
                    "Required parameter is missing",
                    "The parameter template['name'] is required.",
                );
            }
            required("template['language']['code']", t.language.code.as_ref()).map(|_| ())
        }
        OutboundContent::Other {
            type_name,
            content: None,
        } if KNOWN.contains(&type_name.as_str()) => refuse(
            131008,
            "Required parameter is missing",
            format!("The parameter {type_name} is required."),
        ),
        OutboundContent::Other { type_name, .. } => refuse(
            131051,
            "Unsupported message type",
            format!("Message type {type_name:?} is not supported."),
        ),
    }
}

const KNOWN: &[&str] = &[
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "reaction",
    "interactive",
    "template",
];
