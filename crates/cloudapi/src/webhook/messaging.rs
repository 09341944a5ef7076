//! The value shared by `messages`, `user_preferences` and `smb_message_echoes`: routing metadata,
//! sender profiles, and the arrays (messages, statuses, errors, preferences, echoes).

use serde::{Deserialize, Serialize};

use super::{InboundMessage, Status};
use crate::error::WebhookError;
use crate::wire::{Extra, Timestamp};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessagingValue {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messaging_product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<Contact>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<InboundMessage>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statuses: Option<Vec<Status>>,
    /// Value-level errors: problems not tied to one message (§3.2, §5.18).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<WebhookError>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_preferences: Option<Vec<UserPreference>>,
    /// Coexistence: messages the business sent from the WhatsApp Business app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_echoes: Option<Vec<InboundMessage>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl MessagingValue {
    pub fn messages(&self) -> &[InboundMessage] {
        self.messages.as_deref().unwrap_or_default()
    }
    pub fn statuses(&self) -> &[Status] {
        self.statuses.as_deref().unwrap_or_default()
    }
    pub fn contacts(&self) -> &[Contact] {
        self.contacts.as_deref().unwrap_or_default()
    }
    pub fn errors(&self) -> &[WebhookError] {
        self.errors.as_deref().unwrap_or_default()
    }
    pub fn user_preferences(&self) -> &[UserPreference] {
        self.user_preferences.as_deref().unwrap_or_default()
    }
    pub fn message_echoes(&self) -> &[InboundMessage] {
        self.message_echoes.as_deref().unwrap_or_default()
    }

    /// The sender profile of a message: matched by BSUID first, then by phone (§5.18).
    pub fn contact_for(&self, message: &InboundMessage) -> Option<&Contact> {
        self.contacts().iter().find(|c| {
            (message.from_user_id.is_some() && c.user_id == message.from_user_id)
                || (message.from.is_some() && c.wa_id == message.from)
        })
    }
}

/// Which business number the value is about; route by `phone_number_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub display_phone_number: String,
    pub phone_number_id: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A customer profile as Meta sends it. Since 2026 `wa_id` may be absent (username users);
/// `user_id` (BSUID) is present on all messaging webhooks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_key_hash: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A marketing stop/resume from the WhatsApp client (§10.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserPreference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// `marketing_messages`.
    pub category: String,
    /// `stop`, `resume` (and `signup`, unconfirmed).
    pub value: String,
    pub timestamp: Timestamp,
    #[serde(flatten)]
    pub extra: Extra,
}
