//! What we POST to `/{phone-number-id}/messages`, and what Meta answers (§2).
//!
//! The wire types accept anything Meta's parser would look at (the emulator parses with them and
//! must be able to *reject* a bad request with Meta's error). Building a request goes through
//! constructors instead — [`SendRequest::new`], [`OutboundContent::text`], [`Interactive::buttons`],
//! [`Template::new`] — which check Meta's documented limits, so an invalid request is hard to write.

mod content;
mod interactive;
mod response;
mod template;

pub use content::*;
pub use interactive::*;
pub use response::*;
pub use template::*;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::wire::{Extra, TypeKeyed, put_content, take_content, wire_struct};

/// Why a request could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("{field} is empty")]
    Empty { field: &'static str },
    #[error("{field} is {len} characters long; Meta allows at most {max}")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{field} has {count} items; Meta allows {min} to {max}")]
    Count {
        field: &'static str,
        count: usize,
        min: usize,
        max: usize,
    },
    #[error("{field} {value:?} appears twice; it must be unique")]
    Duplicate { field: &'static str, value: String },
    #[error("{0}")]
    Invalid(&'static str),
}

pub(crate) fn check_len(field: &'static str, s: &str, max: usize) -> Result<(), BuildError> {
    let len = s.chars().count();
    if s.trim().is_empty() {
        Err(BuildError::Empty { field })
    } else if len > max {
        Err(BuildError::TooLong { field, len, max })
    } else {
        Ok(())
    }
}

pub(crate) fn check_count(
    field: &'static str,
    count: usize,
    min: usize,
    max: usize,
) -> Result<(), BuildError> {
    if (min..=max).contains(&count) {
        Ok(())
    } else {
        Err(BuildError::Count {
            field,
            count,
            min,
            max,
        })
    }
}

/// Who a message goes to: a phone number (E.164, with `+`) or a BSUID (§13.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Phone(String),
    Bsuid(String),
}

/// A send request: envelope fields plus typed content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawSend", into = "RawSend")]
pub struct SendRequest {
    pub messaging_product: String,
    pub recipient_type: Option<String>,
    /// Phone recipient. If both `to` and `recipient` are set, Meta uses `to`.
    pub to: Option<String>,
    /// BSUID or parent BSUID recipient (2026).
    pub recipient: Option<String>,
    pub content: OutboundContent,
    pub context: Option<ReplyContext>,
    pub biz_opaque_callback_data: Option<String>,
    pub recipient_identity_key_hash: Option<String>,
    pub extra: Extra,
}

impl SendRequest {
    pub fn new(to: Recipient, content: OutboundContent) -> Self {
        let (to, recipient) = match to {
            Recipient::Phone(p) => (Some(p), None),
            Recipient::Bsuid(b) => (None, Some(b)),
        };
        SendRequest {
            messaging_product: "whatsapp".into(),
            recipient_type: Some("individual".into()),
            to,
            recipient,
            content,
            context: None,
            biz_opaque_callback_data: None,
            recipient_identity_key_hash: None,
            extra: Extra::new(),
        }
    }

    /// Quote an earlier message (a contextual reply). Reactions cannot carry a context.
    pub fn in_reply_to(mut self, wamid: impl Into<String>) -> Result<Self, BuildError> {
        if matches!(self.content, OutboundContent::Reaction(_)) {
            return Err(BuildError::Invalid(
                "a reaction cannot be a contextual reply",
            ));
        }
        let wamid = wamid.into();
        check_len("context.message_id", &wamid, 512)?;
        self.context = Some(ReplyContext {
            message_id: Some(wamid),
            ..Default::default()
        });
        Ok(self)
    }

    /// A tracking string Meta echoes in every status webhook of this message (≤ 512 chars).
    pub fn with_callback_data(mut self, data: impl Into<String>) -> Result<Self, BuildError> {
        let data = data.into();
        check_len("biz_opaque_callback_data", &data, 512)?;
        self.biz_opaque_callback_data = Some(data);
        Ok(self)
    }

    /// The recipient Meta will use: `to` wins over `recipient`.
    pub fn recipient(&self) -> Option<Recipient> {
        match (&self.to, &self.recipient) {
            (Some(p), _) => Some(Recipient::Phone(p.clone())),
            (None, Some(b)) => Some(Recipient::Bsuid(b.clone())),
            (None, None) => None,
        }
    }
}

wire_struct! {
    /// `context` of a send: the quoted wamid.
    pub struct ReplyContext {
        pub message_id: String,
    }
}

#[derive(Serialize, Deserialize)]
struct RawSend {
    messaging_product: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recipient_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recipient: Option<String>,
    #[serde(rename = "type")]
    type_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    context: Option<ReplyContext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    biz_opaque_callback_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recipient_identity_key_hash: Option<String>,
    #[serde(flatten)]
    rest: Extra,
}

impl TryFrom<RawSend> for SendRequest {
    type Error = serde_json::Error;
    fn try_from(mut raw: RawSend) -> Result<Self, Self::Error> {
        let content = take_content(raw.type_name, &mut raw.rest)?;
        Ok(SendRequest {
            messaging_product: raw.messaging_product,
            recipient_type: raw.recipient_type,
            to: raw.to,
            recipient: raw.recipient,
            content,
            context: raw.context,
            biz_opaque_callback_data: raw.biz_opaque_callback_data,
            recipient_identity_key_hash: raw.recipient_identity_key_hash,
            extra: raw.rest,
        })
    }
}

impl From<SendRequest> for RawSend {
    fn from(m: SendRequest) -> Self {
        let mut rest = m.extra;
        put_content(&m.content, &mut rest).expect("outbound content serialises");
        RawSend {
            messaging_product: m.messaging_product,
            recipient_type: m.recipient_type,
            to: m.to,
            recipient: m.recipient,
            type_name: m.content.type_name().to_owned(),
            context: m.context,
            biz_opaque_callback_data: m.biz_opaque_callback_data,
            recipient_identity_key_hash: m.recipient_identity_key_hash,
            rest,
        }
    }
}

/// Mark-as-read, optionally with a typing indicator (§2.11, §2.12).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkRead {
    pub messaging_product: String,
    /// Always `read`.
    pub status: String,
    pub message_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typing_indicator: Option<TypingIndicator>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl MarkRead {
    pub fn new(message_id: impl Into<String>) -> Self {
        MarkRead {
            messaging_product: "whatsapp".into(),
            status: "read".into(),
            message_id: message_id.into(),
            typing_indicator: None,
            extra: Extra::new(),
        }
    }
    /// Also show "typing…" to the customer (it also marks the message read).
    pub fn with_typing(mut self) -> Self {
        self.typing_indicator = Some(TypingIndicator {
            kind: "text".into(),
            extra: Extra::new(),
        });
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypingIndicator {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Any body of `POST /{phone-number-id}/messages`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)] // one request at a time
pub enum MessagesRequest {
    Send(SendRequest),
    MarkRead(MarkRead),
}

impl MessagesRequest {
    /// Tells a mark-as-read (a `status` and no `type`) from a send, then parses it.
    pub fn from_value(value: Value) -> Result<Self, serde_json::Error> {
        let is_status = value.get("status").is_some() && value.get("type").is_none();
        if is_status {
            Ok(MessagesRequest::MarkRead(serde_json::from_value(value)?))
        } else {
            Ok(MessagesRequest::Send(serde_json::from_value(value)?))
        }
    }
}

impl<'de> Deserialize<'de> for MessagesRequest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        MessagesRequest::from_value(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
