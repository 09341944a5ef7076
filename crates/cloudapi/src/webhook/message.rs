//! Inbound messages (`value.messages[]`, §5) and coexistence echoes.
//!
//! The content of a message sits under a key named by its `type` (`"type": "image", "image": {…}`);
//! [`InboundContent`] is that pair, typed. A type this version does not know, or a known type
//! whose object is missing (Meta sends such items beside a value-level error), is kept as
//! [`InboundContent::Other`] with whatever JSON came.

use serde::{Deserialize, Serialize};

use crate::error::WebhookError;
use crate::wire::{
    Extra, Flexible, Timestamp, put_content, take_content, type_keyed_enum, wire_struct,
};

/// One inbound message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawMessage", into = "RawMessage")]
pub struct InboundMessage {
    /// The sender's phone (wa_id); may be absent for username users (2026).
    pub from: Option<String>,
    /// The sender's BSUID (2026).
    pub from_user_id: Option<String>,
    pub from_parent_user_id: Option<String>,
    /// The inbound wamid: the dedupe key.
    pub id: String,
    pub timestamp: Timestamp,
    pub content: InboundContent,
    pub context: Option<Context>,
    pub referral: Option<Referral>,
    pub errors: Option<Vec<WebhookError>>,
    pub group_id: Option<String>,
    /// e.g. `contact_request/other` on a REQUEST_CONTACT_INFO reply (§13.5).
    pub origin: Option<String>,
    pub extra: Extra,
}

impl InboundMessage {
    pub fn type_name(&self) -> &str {
        crate::wire::TypeKeyed::type_name(&self.content)
    }
    /// Whether the object named by `type` came with the message (Meta sometimes sends only the
    /// type, with a value-level error); `request_welcome` has no object by design.
    pub fn content_is_present(&self) -> bool {
        !matches!(self.content, InboundContent::Other { content: None, .. })
    }

    /// The media object, for the five media types.
    pub fn media(&self) -> Option<&InboundMedia> {
        match &self.content {
            InboundContent::Image(m)
            | InboundContent::Video(m)
            | InboundContent::Audio(m)
            | InboundContent::Document(m)
            | InboundContent::Sticker(m) => Some(m),
            _ => None,
        }
    }
}

type_keyed_enum! {
    /// What an inbound message carries, by `type`.
    pub enum InboundContent {
        Text(InboundText) = "text",
        Image(InboundMedia) = "image",
        Video(InboundMedia) = "video",
        Audio(InboundMedia) = "audio",
        Document(InboundMedia) = "document",
        Sticker(InboundMedia) = "sticker",
        Location(InboundLocation) = "location",
        Contacts(Vec<ContactCard>) = "contacts",
        Reaction(InboundReaction) = "reaction",
        Button(ButtonReply) = "button",
        Interactive(InteractiveReply) = "interactive",
        Order(Order) = "order",
        System(SystemEvent) = "system",
        Unsupported(Unsupported) = "unsupported",
        Edit(Edit) = "edit",
        Revoke(Revoke) = "revoke",
    }
    unit
    /// A user opened the chat for the first time (§5.16).
    RequestWelcome = "request_welcome";
}

#[derive(Serialize, Deserialize)]
struct RawMessage {
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from_user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from_parent_user_id: Option<String>,
    id: String,
    timestamp: Timestamp,
    #[serde(rename = "type")]
    type_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<Context>,
    #[serde(skip_serializing_if = "Option::is_none")]
    referral: Option<Referral>,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<WebhookError>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
    #[serde(flatten)]
    rest: Extra,
}

impl TryFrom<RawMessage> for InboundMessage {
    type Error = serde_json::Error;
    fn try_from(mut raw: RawMessage) -> Result<Self, Self::Error> {
        let content = take_content(raw.type_name, &mut raw.rest)?;
        Ok(InboundMessage {
            from: raw.from,
            from_user_id: raw.from_user_id,
            from_parent_user_id: raw.from_parent_user_id,
            id: raw.id,
            timestamp: raw.timestamp,
            content,
            context: raw.context,
            referral: raw.referral,
            errors: raw.errors,
            group_id: raw.group_id,
            origin: raw.origin,
            extra: raw.rest,
        })
    }
}

impl From<InboundMessage> for RawMessage {
    fn from(m: InboundMessage) -> Self {
        let mut rest = m.extra;
        // Content types here serialise infallibly (plain structs of strings, numbers and maps).
        put_content(&m.content, &mut rest).expect("inbound content serialises");
        RawMessage {
            from: m.from,
            from_user_id: m.from_user_id,
            from_parent_user_id: m.from_parent_user_id,
            id: m.id,
            timestamp: m.timestamp,
            type_name: crate::wire::TypeKeyed::type_name(&m.content).to_owned(),
            context: m.context,
            referral: m.referral,
            errors: m.errors,
            group_id: m.group_id,
            origin: m.origin,
            rest,
        }
    }
}

wire_struct! {
    /// Reply, forward or product-enquiry metadata (§5.2).
    pub struct Context {
        /// The business number, on replies.
        pub from: String,
        /// The quoted business message's wamid.
        pub id: String,
        pub forwarded: bool,
        pub frequently_forwarded: bool,
        pub referred_product: ReferredProduct,
    }
}

wire_struct! {
    pub struct ReferredProduct {
        pub catalog_id: String,
        pub product_retailer_id: String,
    }
}

wire_struct! {
    /// Click-to-WhatsApp ad or post metadata on the first message (§5.15).
    pub struct Referral {
        pub source_url: String,
        pub source_id: String,
        /// `ad` or `post`.
        pub source_type: String,
        pub body: String,
        pub headline: String,
        pub media_type: String,
        pub image_url: String,
        pub video_url: String,
        pub thumbnail_url: String,
        pub ctwa_clid: String,
        pub welcome_message: serde_json::Value,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundText {
    pub body: String,
    #[serde(flatten)]
    pub extra: Extra,
}

wire_struct! {
    /// An inbound media object. `id` is downloadable for 7 days; `url` (since Oct 2025) is a
    /// short-lived direct link that needs the bearer token; `sha256` is base64.
    pub struct InboundMedia {
        pub id: String,
        pub mime_type: String,
        pub sha256: String,
        pub caption: String,
        pub filename: String,
        pub url: String,
        pub voice: bool,
        pub animated: bool,
    }
}

wire_struct! {
    pub struct InboundLocation {
        pub latitude: Flexible,
        pub longitude: Flexible,
        pub name: String,
        pub address: String,
        pub url: String,
    }
}

wire_struct! {
    /// A shared contact card (inbound) or one to send (outbound, §2.6): any field may be missing.
    pub struct ContactCard {
        pub name: serde_json::Value,
        pub phones: Vec<serde_json::Value>,
        pub emails: Vec<serde_json::Value>,
        pub addresses: Vec<serde_json::Value>,
        pub urls: Vec<serde_json::Value>,
        pub org: serde_json::Value,
        pub birthday: String,
        /// Raw vCard text on REQUEST_CONTACT_INFO replies (2026).
        pub vcard: String,
    }
}

wire_struct! {
    /// A reaction; an empty or absent `emoji` removes it.
    pub struct InboundReaction {
        pub message_id: String,
        pub emoji: String,
    }
}

wire_struct! {
    /// A template quick-reply tap (§5.8).
    pub struct ButtonReply {
        pub payload: String,
        pub text: String,
    }
}

wire_struct! {
    /// `interactive` replies: button, list, flow completion, call permission (§5.9–§5.11).
    pub struct InteractiveReply {
        #[serde(rename = "type")]
        pub kind: String,
        pub button_reply: ReplyChoice,
        pub list_reply: ReplyChoice,
        pub nfm_reply: FlowReply,
        pub call_permission_reply: serde_json::Value,
    }
}

wire_struct! {
    pub struct ReplyChoice {
        pub id: String,
        pub title: String,
        pub description: String,
    }
}

wire_struct! {
    /// A flow completion; `response_json` is a JSON *string* (parse it a second time).
    pub struct FlowReply {
        pub name: String,
        pub body: String,
        pub response_json: String,
    }
}

wire_struct! {
    pub struct Order {
        pub catalog_id: String,
        pub text: String,
        pub product_items: Vec<ProductItem>,
    }
}

wire_struct! {
    pub struct ProductItem {
        pub product_retailer_id: String,
        pub quantity: Flexible,
        pub item_price: Flexible,
        pub currency: String,
    }
}

wire_struct! {
    /// Number and identity changes (§5.13): `user_changed_number`, `customer_changed_number`
    /// (legacy), `customer_identity_changed`, `user_changed_user_id` (2026).
    pub struct SystemEvent {
        pub body: String,
        #[serde(rename = "type")]
        pub kind: String,
        /// The new phone, on number changes.
        pub wa_id: String,
        /// The new BSUID, on `user_changed_user_id`.
        pub user_id: String,
        pub parent_user_id: String,
        pub customer: String,
        pub identity: serde_json::Value,
    }
}

wire_struct! {
    /// `unsupported.type` names the real type (poll_creation, gif, …) since Nov 2025.
    pub struct Unsupported {
        #[serde(rename = "type")]
        pub kind: String,
    }
}

wire_struct! {
    /// Coexistence: an edit of an earlier message.
    pub struct Edit {
        pub original_message_id: String,
        pub message: serde_json::Value,
    }
}

wire_struct! {
    /// Coexistence: a message the user deleted for everyone.
    pub struct Revoke {
        pub original_message_id: String,
    }
}
