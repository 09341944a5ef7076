//! What simulated customers do: write (any inbound type of §5, in Meta's shape), read or ignore
//! what they receive, reply after a delay, stop or resume marketing, block the business, change
//! number. Also the lifecycle of outbound messages (sent → delivered → read/played, or failed),
//! because it is driven by the customer on the other end.

use serde_json::{Value, json};

use crate::Emulator;
use crate::state::{Customer, InboundRecord};
use crate::webhooks::{Payload, Update};

/// Why a customer action was refused.
#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    #[error("no customer with wa_id {0}; create one with POST /_emulator/customers")]
    UnknownCustomer(String),
    #[error("no business number with id {0}")]
    UnknownNumber(String),
    #[error("{0}")]
    Invalid(String),
}

const SAMPLE_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

fn sample_media(kind: &str) -> (&'static [u8], &'static str) {
    match kind {
        "image" => (SAMPLE_PNG, "image/png"),
        "sticker" => (b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00", "image/webp"),
        "audio" => (b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00emulated-voice-note", "audio/ogg; codecs=opus"),
        "video" => (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isomemulated-video", "video/mp4"),
        _ => (b"%PDF-1.4\n% emulated document\n%%EOF\n", "application/pdf"),
    }
}

impl Emulator {
    /// Adds (or replaces the settings of) a simulated customer.
    pub fn add_customer(&self, customer: Customer) -> Customer {
        let mut st = self.state();
        if let Some(old) = st.customers.remove(&customer.wa_id) {
            st.by_bsuid.remove(&old.user_id);
        }
        st.add_customer(customer).clone()
    }

    pub fn customer(&self, wa_id: &str) -> Option<Customer> {
        self.state().customers.get(wa_id).cloned()
    }

    fn number_display(&self, phone_number_id: &str) -> Result<String, CustomerError> {
        let st = self.state();
        st.numbers
            .get(phone_number_id)
            .map(|n| n.spec.display_phone_number.clone())
            .ok_or_else(|| CustomerError::UnknownNumber(phone_number_id.into()))
    }

    /// The first configured number (what a single-number test talks to).
    pub fn default_number(&self) -> String {
        self.config().numbers[0].phone_number_id.clone()
    }

    /// A customer sends a message to a business number. `content` is the inbound message's
    /// type-specific part in Meta's shape (`{"type": "text", "text": {"body": "hi"}}`), optionally
    /// with `context` or `referral`; the emulator adds sender, id and timestamp, fills in media
    /// ids and URLs, opens the service window (and a free-entry-point window for a referral),
    /// and delivers it as a signed `messages` webhook. Returns the inbound wamid.
    pub fn customer_sends(
        &self,
        wa_id: &str,
        phone_number_id: &str,
        content: Value,
    ) -> Result<String, CustomerError> {
        self.customer_sends_at(wa_id, phone_number_id, content, self.now_ms())
    }

    pub(crate) fn customer_sends_at(
        &self,
        wa_id: &str,
        phone_number_id: &str,
        content: Value,
        now: i64,
    ) -> Result<String, CustomerError> {
        let Value::Object(mut msg) = content else {
            return Err(CustomerError::Invalid(
                "the message must be a JSON object".into(),
            ));
        };
        let kind = msg
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| CustomerError::Invalid("the message needs a \"type\"".into()))?
            .to_owned();
        let display = self.number_display(phone_number_id)?;
        // Media a customer sends is stored, so it can be downloaded like Meta's.
        if matches!(
            kind.as_str(),
            "image" | "video" | "audio" | "document" | "sticker"
        ) {
            let obj = msg.entry(kind.clone()).or_insert_with(|| json!({}));
            if !obj.is_object() {
                return Err(CustomerError::Invalid(format!(
                    "\"{kind}\" must be an object"
                )));
            }
            if obj.get("id").is_none() {
                let (bytes, mime) = sample_media(&kind);
                let id = self.store_media(bytes::Bytes::from_static(bytes), mime);
                let info = self.media_json(&id).expect("just stored");
                obj["id"] = info["id"].clone();
                obj["mime_type"] = info["mime_type"].clone();
                obj["sha256"] = info["sha256"].clone();
                obj["url"] = json!(self.media_url(&id));
            }
        }
        let (contact, from_user_id, wamid) = {
            let mut st = self.state();
            let seq = st.next_seq();
            let c = st
                .customers
                .get_mut(wa_id)
                .ok_or_else(|| CustomerError::UnknownCustomer(wa_id.into()))?;
            c.last_inbound_ms.insert(phone_number_id.to_owned(), now);
            if msg.contains_key("referral") {
                c.fep_until_ms
                    .insert(phone_number_id.to_owned(), now + 72 * 3_600_000);
            }
            let contact = c.contact.clone();
            let user_id = c.user_id.clone();
            let wamid = crate::ids::wamid(wa_id, seq, true);
            st.inbound.insert(
                wamid.clone(),
                InboundRecord {
                    wa_id: wa_id.into(),
                    phone_number_id: phone_number_id.into(),
                },
            );
            (contact, user_id, wamid)
        };
        let mut full = serde_json::Map::new();
        if let Some(ctx) = msg.remove("context") {
            full.insert("context".into(), ctx);
        }
        full.insert("from".into(), json!(wa_id));
        full.insert("from_user_id".into(), json!(from_user_id));
        full.insert("id".into(), json!(wamid));
        full.insert("timestamp".into(), json!((now / 1000).to_string()));
        full.extend(msg);
        self.emit(Update {
            field: "messages".into(),
            payload: Payload::Messaging {
                phone_number_id: phone_number_id.into(),
                display_phone_number: display,
                key: "messages",
                items: vec![Value::Object(full).to_string()],
                contacts: vec![contact],
            },
        });
        Ok(wamid)
    }

    /// Marketing stop or resume from the WhatsApp client: a `user_preferences` webhook, and
    /// marketing templates fail with 131050 while stopped.
    pub fn set_marketing_preference(
        &self,
        wa_id: &str,
        phone_number_id: &str,
        stop: bool,
    ) -> Result<(), CustomerError> {
        let display = self.number_display(phone_number_id)?;
        let now = self.now_ms();
        let (contact, user_id) = {
            let mut st = self.state();
            let c = st
                .customers
                .get_mut(wa_id)
                .ok_or_else(|| CustomerError::UnknownCustomer(wa_id.into()))?;
            c.opted_out_marketing = stop;
            (c.contact.clone(), c.user_id.clone())
        };
        let pref = json!({
            "wa_id": wa_id, "user_id": user_id,
            "detail": if stop { "User requested to stop marketing messages" } else { "User requested to resume marketing messages" },
            "category": "marketing_messages", "value": if stop { "stop" } else { "resume" }, "timestamp": now / 1000,
        });
        self.emit(Update {
            field: "user_preferences".into(),
            payload: Payload::Messaging {
                phone_number_id: phone_number_id.into(),
                display_phone_number: display,
                key: "user_preferences",
                items: vec![pref.to_string()],
                contacts: vec![contact],
            },
        });
        Ok(())
    }

    /// The customer blocks (or unblocks) the business: later sends fail with 131026.
    pub fn set_blocked(&self, wa_id: &str, blocked: bool) -> Result<(), CustomerError> {
        let mut st = self.state();
        let c = st
            .customers
            .get_mut(wa_id)
            .ok_or_else(|| CustomerError::UnknownCustomer(wa_id.into()))?;
        c.blocked_business = blocked;
        Ok(())
    }

    /// The customer moves to a new number: Meta sends a `user_changed_number` system message
    /// and, because a BSUID is regenerated with the number, a `user_changed_user_id` one.
    pub fn change_number(
        &self,
        wa_id: &str,
        new_wa_id: &str,
        phone_number_id: &str,
    ) -> Result<(), CustomerError> {
        if !(7..=15).contains(&new_wa_id.len()) || !new_wa_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CustomerError::Invalid(format!(
                "{new_wa_id:?} is not a phone number (digits only)"
            )));
        }
        let display = self.number_display(phone_number_id)?;
        let now = self.now_ms();
        let (old_user, new_user, name, seq) = {
            let mut st = self.state();
            let mut c = st
                .customers
                .remove(wa_id)
                .ok_or_else(|| CustomerError::UnknownCustomer(wa_id.into()))?;
            st.by_bsuid.remove(&c.user_id);
            let old_user = c.user_id.clone();
            c.wa_id = new_wa_id.to_owned();
            c.user_id = crate::state::bsuid_for(new_wa_id);
            let (new_user, name) = (c.user_id.clone(), c.name.clone());
            st.add_customer(c);
            (old_user, new_user, name, st.next_seq())
        };
        let ts = (now / 1000).to_string();
        let number_change = json!({
            "from": wa_id, "id": crate::ids::wamid(wa_id, seq, true), "timestamp": ts, "type": "system",
            "system": {"body": format!("User {name} changed from {wa_id} to {new_wa_id}"), "wa_id": new_wa_id, "type": "user_changed_number"},
        });
        let id_change = json!({
            "from": new_wa_id, "from_user_id": old_user, "id": crate::ids::wamid(new_wa_id, seq, true), "timestamp": ts, "type": "system",
            "system": {"body": format!("User {name} changed from {old_user} to {new_user}"), "user_id": new_user, "type": "user_changed_user_id"},
        });
        self.emit(Update {
            field: "messages".into(),
            payload: Payload::Messaging {
                phone_number_id: phone_number_id.into(),
                display_phone_number: display,
                key: "messages",
                items: vec![number_change.to_string(), id_change.to_string()],
                contacts: vec![],
            },
        });
        Ok(())
    }

    /// Moves an outbound message to `status` if that is forward (statuses never go backwards;
    /// `failed` is terminal), emits the status webhook, and lets the customer react.
    pub(crate) fn advance_status(
        &self,
        id: &str,
        status: &'static str,
        error: Option<i64>,
        now: i64,
    ) {
        let rank = |s: &str| switchboard_cloudapi::webhook::StatusKind::parse(s).rank();
        let mut follow = Vec::new();
        let update = {
            let mut guard = self.state();
            let st = &mut *guard;
            let Some(rec) = st.outbox.get_mut(id) else {
                return;
            };
            let current = rec.statuses.last().map(|s| s.status.as_str()).unwrap_or("");
            // Forward only; `failed` outranks every other status and nothing follows it.
            if rank(status) <= rank(current) {
                return;
            }
            rec.statuses.push(crate::state::StatusRecord {
                status: status.into(),
                at_ms: now,
                error_code: error,
            });
            let rec = &*rec;
            let wa_id = rec.wa_id.as_deref().unwrap_or("");
            let customer = st.customers.get(wa_id);
            let number = &rec.phone_number_id;
            // Pricing goes with `sent` and with `delivered` (one of delivered/read, §6.2).
            let pricing = rec
                .pricing
                .as_ref()
                .filter(|_| matches!(status, "sent" | "delivered"));
            let conversation = pricing.filter(|p| p["type"] == "free_entry_point").map(|_| {
                let exp = customer.and_then(|c| c.fep_until_ms.get(number)).copied().unwrap_or(now) / 1000;
                json!({"id": crate::ids::conversation_id(), "expiration_timestamp": exp.to_string(), "origin": {"type": "referral_conversion"}})
            });
            let errors = error.map(|code| {
                let (title, details) = failure_text(code);
                vec![switchboard_cloudapi::WebhookError::new(
                    switchboard_cloudapi::ErrorCode(code),
                    title,
                    details,
                )]
            });
            let hide_phone = rec.to.is_none() && customer.is_some_and(|c| c.username.is_some());
            let item = StatusItem {
                id,
                status,
                timestamp: (now / 1000).to_string(),
                recipient_id: (!hide_phone).then_some(wa_id),
                recipient_user_id: customer.map(|c| c.user_id.as_str()),
                biz_opaque_callback_data: rec.callback.as_deref(),
                conversation,
                pricing,
                errors,
            };
            let item = serde_json::to_string(&item).expect("status serialises");
            if status == "delivered"
                && let Some(c) = customer
            {
                if c.reads {
                    let at = now + c.read_delay_ms.unwrap_or(self.config().statuses.read_ms) as i64;
                    follow.push((
                        at,
                        crate::Event::Status {
                            id: id.to_owned(),
                            status: "read",
                            error: None,
                        },
                    ));
                    if rec.voice {
                        follow.push((
                            at + 1_000,
                            crate::Event::Status {
                                id: id.to_owned(),
                                status: "played",
                                error: None,
                            },
                        ));
                    }
                }
                if let Some(r) = &c.auto_reply
                    && rand::random::<f64>() < r.probability
                {
                    let writes = crate::Event::CustomerWrites {
                        wa_id: wa_id.to_owned(),
                        phone_number_id: number.clone(),
                        text: r.text.clone(),
                    };
                    follow.push((now + r.delay_ms as i64, writes));
                }
            }
            Update {
                field: "messages".into(),
                payload: Payload::Messaging {
                    phone_number_id: number.clone(),
                    display_phone_number: st
                        .numbers
                        .get(number)
                        .map(|n| n.spec.display_phone_number.clone())
                        .unwrap_or_default(),
                    key: "statuses",
                    items: vec![item],
                    // Since the 2026 BSUID rollout statuses carry the recipient's profile
                    // (clients such as pywa rely on it).
                    contacts: customer.map(|c| c.contact.clone()).into_iter().collect(),
                },
            }
        };
        self.emit(update);
        for (at, ev) in follow {
            self.schedule(at, ev);
        }
    }
}

/// A status item, serialised straight to JSON (statuses are the bulk of webhook traffic).
#[derive(serde::Serialize)]
struct StatusItem<'a> {
    id: &'a str,
    status: &'a str,
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient_user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    biz_opaque_callback_data: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conversation: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pricing: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<switchboard_cloudapi::WebhookError>>,
}

fn failure_text(code: i64) -> (&'static str, &'static str) {
    match code {
        131026 => ("Message undeliverable", "Message Undeliverable."),
        131047 => (
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
        ),
        131049 => (
            "This message was not delivered to maintain healthy ecosystem engagement.",
            "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
        ),
        131050 => (
            "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.",
            "The user has stopped marketing messages from this business.",
        ),
        131053 => (
            "Media upload error",
            "Unable to retrieve or upload the media: no media with this id.",
        ),
        131009 => (
            "Parameter value is not valid",
            "The reacted-to message is unknown, deleted or older than 30 days.",
        ),
        131064 => (
            "Messaging limit reached",
            "The business portfolio reached its messaging limit of unique users in 24 hours.",
        ),
        _ => ("Something went wrong", "Unknown error."),
    }
}
