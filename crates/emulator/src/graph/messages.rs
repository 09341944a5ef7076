//! `POST /{phone-number-id}/messages`: the send pipeline. The rules of `validate::message`
//! decide whether Meta would refuse the request at once; then come the rate limits, the
//! verdict kept in the outbox, and the asynchronous outcome (window, opt-out, marketing cap,
//! messaging limit), which arrives as status webhooks, in the order of the reference's send
//! pipeline (§14.3).

use axum::Json;
use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use switchboard_cloudapi::TypeKeyed;
use switchboard_cloudapi::send::{MediaObject, MessagesRequest, OutboundContent, SendRequest};

use super::validate;
use super::validate::message::{Addressed, Facts, Unreadable};
use crate::Emulator;
use crate::refusal::{Refusal, graph_error, refuse};
use crate::state::{OutboxRecord, TemplateRef, VerdictError};

/// An accepted send: the recipient's wa_id, the async failure code if it will fail, the pricing
/// object, and whether it was addressed by BSUID.
type Accepted = (String, Option<(i64, &'static str)>, Option<Value>, bool);

/// Answers a request refused before it could be read as a send, and keeps the verdict.
fn reject_unreadable(
    em: &Emulator,
    phone_number_id: &str,
    value: Option<&Value>,
    raw: Bytes,
    refusal: Refusal,
) -> Response {
    let Refusal {
        code,
        title,
        details,
    } = refusal;
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
                message: details.clone(),
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
    graph_error(status, code, title, &details)
}

pub fn post(em: &Emulator, version: &str, phone_number_id: &str, body: Bytes) -> Response {
    match validate::message::read(&body) {
        Err(Unreadable { refusal, fields }) => {
            reject_unreadable(em, phone_number_id, fields.as_ref(), body, refusal)
        }
        Ok(MessagesRequest::MarkRead(read)) => {
            let known = em
                .state()
                .inbound
                .get(&read.message_id)
                .is_some_and(|r| r.phone_number_id == phone_number_id);
            match validate::message::mark_read(&read, known) {
                Ok(()) => Json(json!({"success": true})).into_response(),
                Err(refusal) => refusal.into_response(),
            }
        }
        Ok(MessagesRequest::Send(send)) => send_message(em, version, phone_number_id, send, body),
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
        let number = &st.numbers[phone_number_id];
        let Addressed {
            wa_id,
            by_bsuid,
            template,
        } = validate::message::check(
            &req,
            &Facts {
                version,
                business_phone: &number.spec.display_phone_number,
                restricted: number.restricted,
                bsuids: &st.by_bsuid,
                templates: &st.templates,
            },
        )?;
        // Rate limits.
        let number = st
            .numbers
            .get_mut(phone_number_id)
            .expect("routed to a known number");
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
        Err(Refusal {
            code,
            title,
            details,
        }) => {
            let status = code.http_status();
            record.error = Some(VerdictError {
                code: code.0,
                http_status: status,
                message: details.clone(),
            });
            st.record(record, cfg.outbox_capacity);
            drop(st);
            graph_error(status, code, title, &details)
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
