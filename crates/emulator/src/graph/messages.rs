//! `POST /{phone-number-id}/messages`: every send type, mark-as-read and the typing indicator,
//! checked in the order of the reference's send pipeline (§14.3): body, number state, rate
//! limits, template, then the async outcome (window, opt-out, marketing cap, messaging limit),
//! which arrives as status webhooks.

use axum::Json;
use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use switchboard_cloudapi::ErrorCode;
use switchboard_cloudapi::TypeKeyed;
use switchboard_cloudapi::send::{
    Interactive, MediaObject, MessagesRequest, OutboundContent, ParamValue, SendRequest,
};

use super::{error, templates};
use crate::Emulator;
use crate::state::{OutboxRecord, TemplateRef, VerdictError};

/// An accepted send: the recipient's wa_id, the async failure code if it will fail, the pricing
/// object, and whether it was addressed by BSUID.
type Accepted = (String, Option<(i64, &'static str)>, Option<Value>, bool);

/// A synchronous refusal: Meta's code, title and details.
pub struct Refusal(pub ErrorCode, pub &'static str, pub String);

fn refuse<T>(code: i64, title: &'static str, details: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal(ErrorCode(code), title, details.into()))
}

/// Answers a request refused before it could be read as a send, and keeps the verdict.
fn reject_unreadable(
    em: &Emulator,
    phone_number_id: &str,
    value: Option<&Value>,
    raw: Bytes,
    code: ErrorCode,
    title: &'static str,
    details: &str,
) -> Response {
    let field = |k: &str| {
        value
            .and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let now = em.now_ms();
    let mut st = em.state();
    let seq = st.next_seq();
    let status = code.http_status();
    st.record(
        OutboxRecord {
            id: format!("rejected-{seq}"),
            phone_number_id: phone_number_id.to_owned(),
            received_at_ms: now,
            to: field("to"),
            recipient: field("recipient"),
            kind: field("type"),
            template: None,
            verdict: "rejected",
            error: Some(VerdictError {
                code: code.0,
                http_status: status,
                message: details.to_owned(),
            }),
            statuses: Vec::new(),
            pricing: None,
            // A copy: the received `Bytes` may share (and pin) a much larger read buffer.
            request: Bytes::copy_from_slice(&raw),
            callback: None,
            wa_id: None,
            voice: false,
        },
        em.config().outbox_capacity,
    );
    drop(st);
    super::graph_error(status, code, title, details)
}

pub fn post(em: &Emulator, version: &str, phone_number_id: &str, body: Bytes) -> Response {
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return reject_unreadable(
                em,
                phone_number_id,
                None,
                body,
                ErrorCode::INVALID_PARAMETER,
                "Invalid parameter",
                "The request body must be a JSON object.",
            );
        }
    };
    if value.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
        return reject_unreadable(
            em,
            phone_number_id,
            Some(&value),
            body,
            ErrorCode::INVALID_PARAMETER,
            "Invalid parameter",
            "The parameter messaging_product is required and must be \"whatsapp\".",
        );
    }
    let missing_type = value.get("type").is_none() && value.get("status").is_none();
    let fields: Value = ["to", "recipient", "type"]
        .iter()
        .filter_map(|k| Some((k.to_string(), value.get(*k)?.clone())))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let request = match MessagesRequest::from_value(value) {
        Ok(r) => r,
        Err(e) => {
            return if missing_type {
                reject_unreadable(
                    em,
                    phone_number_id,
                    Some(&fields),
                    body,
                    ErrorCode::REQUIRED_PARAMETER_MISSING,
                    "Required parameter is missing",
                    "The parameter type is required.",
                )
            } else {
                let details = format!("Invalid parameter: {e}");
                reject_unreadable(
                    em,
                    phone_number_id,
                    Some(&fields),
                    body,
                    ErrorCode::INVALID_PARAMETER,
                    "Invalid parameter",
                    &details,
                )
            };
        }
    };
    match request {
        MessagesRequest::MarkRead(read) => {
            if read.status != "read" {
                return error(
                    ErrorCode::INVALID_PARAMETER,
                    "Invalid parameter",
                    "status must be \"read\".",
                );
            }
            if let Some(t) = &read.typing_indicator
                && t.kind != "text"
            {
                return error(
                    ErrorCode::INVALID_PARAMETER,
                    "Invalid parameter",
                    "typing_indicator.type must be \"text\".",
                );
            }
            let known = em
                .state()
                .inbound
                .get(&read.message_id)
                .is_some_and(|r| r.phone_number_id == phone_number_id);
            if !known {
                return error(
                    ErrorCode::PARAMETER_VALUE_INVALID,
                    "Parameter value is not valid",
                    "message_id is not a message this number received.",
                );
            }
            Json(json!({"success": true})).into_response()
        }
        MessagesRequest::Send(send) => send_message(em, version, phone_number_id, send, body),
    }
}

fn send_message(
    em: &Emulator,
    version: &str,
    phone_number_id: &str,
    req: SendRequest,
    raw: Bytes,
) -> Response {
    let now = em.now_ms();
    let cfg = em.config();
    let mut st = em.state();
    let seq = st.next_seq();
    let mut record = OutboxRecord {
        id: format!("rejected-{seq}"),
        phone_number_id: phone_number_id.to_owned(),
        received_at_ms: now,
        to: req.to.clone(),
        recipient: req.recipient.clone(),
        kind: Some(req.content.type_name().to_owned()),
        template: None,
        verdict: "rejected",
        error: None,
        statuses: Vec::new(),
        pricing: None,
        request: Bytes::copy_from_slice(&raw),
        callback: req.biz_opaque_callback_data.clone(),
        wa_id: None,
        voice: matches!(&req.content, OutboundContent::Audio(m) if m.voice == Some(true)),
    };

    let verdict = (|| -> Result<Accepted, Refusal> {
        validate_content(&req)?;
        // Recipient.
        let (wa_id, by_bsuid) = match (&req.to, &req.recipient) {
            (Some(to), _) => (normalise_phone(to)?, false),
            (None, Some(b)) => {
                check_bsuid(b)?;
                match st.by_bsuid.get(b) {
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
        if wa_id == st.numbers[phone_number_id].spec.display_phone_number {
            return refuse(
                131021,
                "Recipient cannot be sender",
                "The recipient is this business number.",
            );
        }
        // Template lookup and parameters.
        let template = match &req.content {
            OutboundContent::Template(t) => {
                let tpl = templates::check_send(&st.templates, t, version)?;
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
        // Number state and rate limits.
        let number = st
            .numbers
            .get_mut(phone_number_id)
            .expect("routed to a known number");
        if number.restricted && template.is_some() {
            return refuse(
                368,
                "Temporarily blocked for policies violations",
                "The account is restricted from business-initiated messaging.",
            );
        }
        let mps = number.spec.throughput_mps.max(1) as f64;
        if !number
            .throughput
            .try_take(now, 1000.0 / mps, number.spec.throughput_mps.max(1))
        {
            return refuse(
                130429,
                "Rate limit hit",
                "Cloud API message throughput has been reached.",
            );
        }
        let pair = number.pair.entry(wa_id.clone()).or_default();
        if !pair.try_take(now, cfg.pair_interval_secs * 1000.0, cfg.pair_burst) {
            return refuse(
                131056,
                "(Business Account, Consumer Account) pair rate limit hit",
                "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.",
            );
        }
        record.template = template.clone();
        // Async outcome.
        let media_missing = media_of(&req.content)
            .and_then(|m| m.id.as_ref())
            .is_some_and(|id| !st.media.contains_key(id));
        let reaction_target_missing = match &req.content {
            OutboundContent::Reaction(r) => r
                .message_id
                .as_ref()
                .is_some_and(|id| !st.inbound.contains_key(id) && !st.outbox.contains_key(id)),
            _ => false,
        };
        let auto = cfg.auto_customers;
        let limit = cfg.messaging_limit.users();
        let cap = cfg.marketing_cap_per_user;
        let Some(customer) = st.customer_mut(&wa_id, auto) else {
            return Ok((wa_id, Some((131026, "failed")), None, by_bsuid));
        };
        let window = customer.window_open(phone_number_id, now);
        let fep = customer.fep_open(phone_number_id, now);
        let failure: Option<i64> = if !customer.on_whatsapp || customer.blocked_business {
            Some(131026)
        } else if media_missing {
            Some(131053)
        } else if reaction_target_missing {
            Some(131009)
        } else if template.is_none() && !window {
            Some(131047)
        } else if template.as_ref().is_some_and(|t| t.category == "marketing")
            && customer.opted_out_marketing
        {
            Some(131050)
        } else if template.as_ref().is_some_and(|t| t.category == "marketing") && cap > 0 && {
            customer
                .marketing_received
                .retain(|t| now - t < crate::state::DAY_MS);
            customer.marketing_received.len() >= cap as usize
        } {
            Some(131049)
        } else {
            None
        };
        if failure.is_none() && template.as_ref().is_some_and(|t| t.category == "marketing") {
            customer.marketing_received.push_back(now);
        }
        let pricing = failure
            .is_none()
            .then(|| pricing_for(template.as_ref(), window, fep));
        let failure = match failure {
            None if template.is_some() && !window && !st.reach(&wa_id, now, limit) => Some(131064),
            f => f,
        };
        Ok((wa_id, failure.map(|c| (c, "failed")), pricing, by_bsuid))
    })();

    match verdict {
        Err(Refusal(code, title, details)) => {
            let status = code.http_status();
            record.error = Some(VerdictError {
                code: code.0,
                http_status: status,
                message: details.clone(),
            });
            st.record(record, cfg.outbox_capacity);
            drop(st);
            super::graph_error(status, code, title, &details)
        }
        Ok((wa_id, failure, pricing, by_bsuid)) => {
            let wamid = crate::ids::wamid(&wa_id, seq, false);
            let is_template = record.template.is_some();
            let is_reaction = matches!(req.content, OutboundContent::Reaction(_));
            record.id = wamid.clone();
            record.verdict = "accepted";
            record.wa_id = Some(wa_id.clone());
            record.pricing = pricing;
            let user_id = st.customers.get(&wa_id).map(|c| c.user_id.clone());
            st.record(record, cfg.outbox_capacity);
            drop(st);
            let t = &cfg.statuses;
            match failure {
                Some((code, _)) => em.schedule(
                    now + t.sent_ms as i64,
                    crate::Event::Status {
                        id: wamid.clone(),
                        status: "failed",
                        error: Some(code),
                    },
                ),
                None => {
                    em.schedule(
                        now + t.sent_ms as i64,
                        crate::Event::Status {
                            id: wamid.clone(),
                            status: "sent",
                            error: None,
                        },
                    );
                    if !is_reaction {
                        em.schedule(
                            now + t.delivered_ms as i64,
                            crate::Event::Status {
                                id: wamid.clone(),
                                status: "delivered",
                                error: None,
                            },
                        );
                    }
                }
            }
            let input = req.to.clone().or(req.recipient.clone()).unwrap_or_default();
            let mut contact = json!({"input": input});
            if !by_bsuid {
                contact["wa_id"] = json!(wa_id);
            }
            if let Some(u) = user_id {
                contact["user_id"] = json!(u);
            }
            let mut message = json!({"id": wamid});
            if is_template {
                message["message_status"] = json!("accepted");
            }
            Json(json!({"messaging_product": "whatsapp", "contacts": [contact], "messages": [message]})).into_response()
        }
    }
}

/// Meta's `pricing` object under per-message pricing (§6.2, §9).
fn pricing_for(template: Option<&TemplateRef>, window: bool, fep: bool) -> Value {
    let (kind, category) = match template {
        None => ("free_customer_service", "service".to_owned()),
        Some(_) if fep => ("free_entry_point", "referral_conversion".to_owned()),
        Some(t) if t.category == "utility" && window => {
            ("free_customer_service", "utility".to_owned())
        }
        Some(t) => ("regular", t.category.clone()),
    };
    json!({"billable": kind == "regular", "pricing_model": "PMP", "type": kind, "category": category})
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

fn media_of(c: &OutboundContent) -> Option<&MediaObject> {
    match c {
        OutboundContent::Image(m)
        | OutboundContent::Audio(m)
        | OutboundContent::Video(m)
        | OutboundContent::Document(m)
        | OutboundContent::Sticker(m) => Some(m),
        _ => None,
    }
}

fn len(s: &str) -> usize {
    s.chars().count()
}

fn max_len(field: &str, s: &str, max: usize) -> Result<(), Refusal> {
    if len(s) > max {
        refuse(
            100,
            "Invalid parameter",
            format!("Param {field} must be at most {max} characters long."),
        )
    } else {
        Ok(())
    }
}

fn required<'a>(field: &str, v: Option<&'a String>) -> Result<&'a str, Refusal> {
    match v.map(String::as_str) {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => refuse(
            131008,
            "Required parameter is missing",
            format!("The parameter {field} is required."),
        ),
    }
}

/// Content checks that need no state.
fn validate_content(req: &SendRequest) -> Result<(), Refusal> {
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
        OutboundContent::Interactive(i) => validate_interactive(i),
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

fn validate_interactive(i: &Interactive) -> Result<(), Refusal> {
    let kind = required("interactive['type']", i.kind.as_ref())?;
    let action = i.action.as_ref();
    let body = i.body.as_ref().and_then(|b| b.text.as_deref());
    let needs_body = !matches!(kind, "product" | "catalog_message" | "product_list");
    if needs_body && body.is_none_or(|b| b.trim().is_empty()) {
        return refuse(
            131008,
            "Required parameter is missing",
            "The parameter interactive['body']['text'] is required.",
        );
    }
    if let Some(b) = body {
        max_len(
            "interactive['body']['text']",
            b,
            if kind == "list" { 4096 } else { 1024 },
        )?;
    }
    if let Some(f) = i.footer.as_ref().and_then(|f| f.text.as_deref()) {
        max_len("interactive['footer']['text']", f, 60)?;
    }
    if let Some(h) = i.header.as_ref().and_then(|h| h.text.as_deref()) {
        max_len("interactive['header']['text']", h, 60)?;
    }
    let invalid = |details: String| refuse::<()>(131009, "Parameter value is not valid", details);
    let Some(action) = action else {
        return refuse(
            131008,
            "Required parameter is missing",
            "The parameter interactive['action'] is required.",
        );
    };
    match kind {
        "button" => {
            let buttons = action
                .get("buttons")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            if !(1..=3).contains(&buttons.len()) {
                return invalid(format!(
                    "Reply buttons must number 1 to 3; got {}.",
                    buttons.len()
                ));
            }
            let mut titles = std::collections::HashSet::new();
            let mut ids = std::collections::HashSet::new();
            for b in buttons {
                let title = b
                    .pointer("/reply/title")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let id = b.pointer("/reply/id").and_then(Value::as_str).unwrap_or("");
                if title.trim().is_empty() || len(title) > 20 {
                    return invalid(format!(
                        "Button title {title:?} must be 1 to 20 characters."
                    ));
                }
                if id.is_empty() || len(id) > 256 || id.trim() != id {
                    return invalid(format!(
                        "Button id {id:?} must be 1 to 256 characters without surrounding spaces."
                    ));
                }
                if !titles.insert(title) || !ids.insert(id) {
                    return invalid("Button titles and ids must be unique.".into());
                }
            }
            Ok(())
        }
        "list" => {
            let button = action.get("button").and_then(Value::as_str).unwrap_or("");
            if button.trim().is_empty() || len(button) > 20 {
                return invalid("The list button text must be 1 to 20 characters.".into());
            }
            let sections = action
                .get("sections")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            if !(1..=10).contains(&sections.len()) {
                return invalid("A list needs 1 to 10 sections.".into());
            }
            let rows: Vec<&Value> = sections
                .iter()
                .flat_map(|s| {
                    s.get("rows")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                })
                .collect();
            if !(1..=10).contains(&rows.len()) {
                return invalid(format!(
                    "A list holds 1 to 10 rows in all; got {}.",
                    rows.len()
                ));
            }
            for r in rows {
                let title = r.get("title").and_then(Value::as_str).unwrap_or("");
                if title.is_empty() || len(title) > 24 {
                    return invalid(format!("Row title {title:?} must be 1 to 24 characters."));
                }
                if r.get("description")
                    .and_then(Value::as_str)
                    .is_some_and(|d| len(d) > 72)
                {
                    return invalid("A row description is at most 72 characters.".into());
                }
            }
            Ok(())
        }
        "cta_url" => {
            let text = action
                .pointer("/parameters/display_text")
                .and_then(Value::as_str)
                .unwrap_or("");
            let url = action
                .pointer("/parameters/url")
                .and_then(Value::as_str)
                .unwrap_or("");
            if text.is_empty()
                || len(text) > 20
                || !(url.starts_with("https://") || url.starts_with("http://"))
            {
                return invalid(
                    "cta_url needs display_text (1 to 20 characters) and an http(s) url.".into(),
                );
            }
            Ok(())
        }
        "flow" => {
            let p = action.get("parameters");
            let version = p
                .and_then(|p| p.get("flow_message_version"))
                .and_then(Value::as_str);
            let id = p.and_then(|p| p.get("flow_id").or_else(|| p.get("flow_name")));
            if version != Some("3") || id.is_none() {
                return invalid(
                    "A flow message needs flow_message_version \"3\" and a flow_id or flow_name."
                        .into(),
                );
            }
            Ok(())
        }
        "location_request_message" => {
            if action.get("name").and_then(Value::as_str) != Some("send_location") {
                return invalid("action.name must be \"send_location\".".into());
            }
            Ok(())
        }
        "product"
        | "product_list"
        | "catalog_message"
        | "carousel"
        | "call_permission_request"
        | "voice_call"
        | "address_message" => Ok(()),
        other => refuse(
            131009,
            "Parameter value is not valid",
            format!("Interactive type {other:?} is not supported."),
        ),
    }
}

/// Text parameter rules shared by template checks (§2.9).
pub fn check_text_param(value: &str, version: &str) -> Result<(), Refusal> {
    if value.contains('\n') || value.contains('\t') || value.contains("     ") {
        let v23 = version
            .trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n >= 23);
        let code = if v23 { 132018 } else { 100 };
        return refuse(
            code,
            "Template parameter issue",
            "Param text cannot have new-line/tab characters or more than 4 consecutive spaces",
        );
    }
    Ok(())
}

pub fn param_text(p: &ParamValue) -> Option<&str> {
    match p {
        ParamValue::Text(t) => Some(t),
        _ => None,
    }
}
