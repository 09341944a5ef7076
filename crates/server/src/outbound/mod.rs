//! The outbound path (ARCHITECTURE.md, "Outbound"): a send request is read in Meta's own shape
//! (so an integrator has nothing new to learn), checked by the send policy and queued in one
//! transaction ([`Store::submit_sends`]); a [`dispatcher`] per number sends it, paced, and
//! records what Meta answered. Status webhooks then advance the message like any other.

pub mod dispatcher;
pub mod templates;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};
use switchboard_cloudapi::send::{Recipient, SendRequest};
use switchboard_domain::pacing::Lane;
use switchboard_domain::policy::WhenOverBudget;
use switchboard_domain::{Bsuid, E164};
use switchboard_store::{ContactKey, NewSend};
use tokio::sync::Notify;

use crate::config::{Config, NumberConfig};
use crate::error::ApiError;

/// What the outbound API needs at hand: the numbers it may send from and each dispatcher's bell.
pub struct Outbound {
    numbers: Vec<NumberConfig>,
    pub wakes: HashMap<String, Arc<Notify>>,
}

impl Outbound {
    pub fn new(config: &Config) -> Self {
        Outbound {
            numbers: config.numbers.clone(),
            wakes: config
                .numbers
                .iter()
                .map(|n| (n.phone_number_id.clone(), Arc::default()))
                .collect(),
        }
    }

    /// The configured number a send goes from: the one named, or the only one.
    pub fn number(&self, from: Option<&str>) -> Result<&NumberConfig, ApiError> {
        match from {
            Some(id) => self
                .numbers
                .iter()
                .find(|n| n.phone_number_id == id || n.display_number.as_ref().is_some_and(|d| d.as_str() == id || d.wa_id() == id))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "from",
                        format!("{id:?} is not a number this Switchboard sends from; use one of the configured phone number ids."),
                    )
                }),
            None => match self.numbers.as_slice() {
                [only] => Ok(only),
                [] => Err(ApiError::Conflict {
                    code: "no_number",
                    message: "No sending number is configured; add one (see docs/configuration.md).".into(),
                }),
                _ => Err(ApiError::invalid(
                    "from",
                    "Several numbers are configured; say which one sends with \"from\".",
                )),
            },
        }
    }

    pub fn wake(&self, number: &str) {
        if let Some(w) = self.wakes.get(number) {
            w.notify_one();
        }
    }
}

/// Reads a send request: Meta's body (`to` or `recipient`, `type`, the type's object,
/// `context`…) plus our `from`, `lane` and `on_limit`. Returns the send to queue, without its
/// idempotency key.
pub fn parse_send(outbound: &Outbound, raw: &[u8]) -> Result<NewSend, ApiError> {
    let mut v: Value = serde_json::from_slice(raw)
        .map_err(|e| ApiError::invalid("body", format!("The body is not JSON: {e}.")))?;
    let obj = v
        .as_object_mut()
        .ok_or_else(|| ApiError::invalid("body", "The body must be a JSON object."))?;
    let text =
        |obj: &mut serde_json::Map<String, Value>, k: &str| -> Result<Option<String>, ApiError> {
            match obj.remove(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(ApiError::invalid(k, format!("\"{k}\" must be a string."))),
            }
        };
    let from = text(obj, "from")?;
    let lane = match text(obj, "lane")? {
        None => None,
        Some(l) => Some(Lane::parse(&l).ok_or_else(|| {
            ApiError::invalid(
                "lane",
                "\"lane\" must be agent, transactional or marketing.",
            )
        })?),
    };
    let over_budget = match text(obj, "on_limit")?.as_deref() {
        None | Some("hold") => WhenOverBudget::Hold,
        Some("refuse") => WhenOverBudget::Refuse,
        Some(_) => {
            return Err(ApiError::invalid(
                "on_limit",
                "\"on_limit\" must be hold (wait for the messaging limit) or refuse.",
            ));
        }
    };
    obj.entry("messaging_product")
        .or_insert_with(|| Value::String("whatsapp".into()));
    obj.entry("recipient_type")
        .or_insert_with(|| Value::String("individual".into()));
    let mut req: SendRequest = serde_json::from_value(v)
        .map_err(|e| ApiError::invalid("body", format!("This is not a Cloud API message: {e}.")))?;
    let number = outbound.number(from.as_deref())?;
    let (contact, recipient) = match req.recipient() {
        Some(Recipient::Phone(p)) => {
            let e164 = E164::parse(&p)
                .or_else(|_| E164::from_wa_id(&p))
                .map_err(|_| ApiError::invalid("to", format!("{p:?} is not a phone number; write it in international form, e.g. +16505551234.")))?;
            req.to = Some(e164.as_str().to_owned());
            (
                ContactKey {
                    wa_id: Some(e164.wa_id().to_owned()),
                    ..Default::default()
                },
                e164.as_str().to_owned(),
            )
        }
        Some(Recipient::Bsuid(b)) => {
            let bsuid = Bsuid::parse(&b).map_err(|_| {
                ApiError::invalid(
                    "recipient",
                    format!(
                        "{b:?} is not a business-scoped user id (e.g. US.13491208655302741918)."
                    ),
                )
            })?;
            let key = if bsuid.is_parent() {
                ContactKey {
                    parent_bsuid: Some(bsuid.as_str().to_owned()),
                    ..Default::default()
                }
            } else {
                ContactKey {
                    bsuid: Some(bsuid.as_str().to_owned()),
                    ..Default::default()
                }
            };
            (key, bsuid.as_str().to_owned())
        }
        None => {
            return Err(ApiError::invalid(
                "to",
                "Say who the message is for: \"to\" with a phone number, or \"recipient\" with a BSUID.",
            ));
        }
    };
    if contact.wa_id.is_none() && contact.bsuid.is_none() {
        return Err(ApiError::invalid(
            "recipient",
            "Parent BSUIDs cannot be messaged through the outbox yet; use the customer's BSUID or phone number.",
        ));
    }
    let request = serde_json::to_string(&req).map_err(|e| ApiError::Internal(Box::new(e)))?;
    let send = NewSend {
        phone_number_id: number.phone_number_id.clone(),
        waba_id: number.waba_id.clone(),
        contact,
        recipient,
        content: req.content,
        request,
        lane,
        over_budget,
        idempotency_key: None,
        request_hash: hex::encode(Sha256::digest(raw)),
        created_by: None,
        campaign_id: None,
        not_before_ms: None,
        park: false,
    };
    Ok(send)
}
