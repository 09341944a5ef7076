//! The value shared by `messages`, `user_preferences` and `smb_message_echoes`: routing metadata,
//! sender profiles, and the arrays (messages, statuses, errors, preferences, echoes). Each array
//! is read item by item (see `items`): the accessors give the items that parsed, and
//! [`MessagingValue::unparsed`] the ones that did not.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{InboundMessage, ItemArray, Items, Status, Unparsed};
use crate::error::WebhookError;
use crate::wire::{Extra, Timestamp};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessagingValue {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messaging_product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Items<Contact>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Items<InboundMessage>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statuses: Option<Items<Status>>,
    /// Value-level errors: problems not tied to one message (§3.2, §5.18).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Items<WebhookError>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_preferences: Option<Items<UserPreference>>,
    /// Coexistence: messages the business sent from the WhatsApp Business app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_echoes: Option<Items<InboundMessage>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl MessagingValue {
    pub fn messages(&self) -> &[InboundMessage] {
        self.messages
            .as_ref()
            .map(Items::parsed)
            .unwrap_or_default()
    }
    pub fn statuses(&self) -> &[Status] {
        self.statuses
            .as_ref()
            .map(Items::parsed)
            .unwrap_or_default()
    }
    pub fn contacts(&self) -> &[Contact] {
        self.contacts
            .as_ref()
            .map(Items::parsed)
            .unwrap_or_default()
    }
    pub fn errors(&self) -> &[WebhookError] {
        self.errors.as_ref().map(Items::parsed).unwrap_or_default()
    }
    pub fn user_preferences(&self) -> &[UserPreference] {
        self.user_preferences
            .as_ref()
            .map(Items::parsed)
            .unwrap_or_default()
    }
    pub fn message_echoes(&self) -> &[InboundMessage] {
        self.message_echoes
            .as_ref()
            .map(Items::parsed)
            .unwrap_or_default()
    }

    /// Every item of its arrays that did not parse, array by array.
    pub fn unparsed(&self) -> impl Iterator<Item = (ItemArray, &Unparsed)> {
        ItemArray::ALL.into_iter().flat_map(move |array| {
            let unparsed = match array {
                ItemArray::Contacts => self.contacts.as_ref().map(Items::unparsed),
                ItemArray::Messages => self.messages.as_ref().map(Items::unparsed),
                ItemArray::MessageEchoes => self.message_echoes.as_ref().map(Items::unparsed),
                ItemArray::Statuses => self.statuses.as_ref().map(Items::unparsed),
                ItemArray::UserPreferences => self.user_preferences.as_ref().map(Items::unparsed),
                ItemArray::Errors => self.errors.as_ref().map(Items::unparsed),
            };
            unparsed.unwrap_or_default().iter().map(move |u| (array, u))
        })
    }

    /// The JSON of one array (`index` `None`) or of one of its items, as it came.
    pub fn item_json(&self, array: ItemArray, index: Option<usize>) -> Option<Value> {
        fn json<T: Serialize>(items: &Option<Items<T>>, index: Option<usize>) -> Option<Value> {
            let items = items.as_ref()?;
            match index {
                None => serde_json::to_value(items).ok(),
                Some(i) => match items.get(i)? {
                    Ok(parsed) => serde_json::to_value(parsed).ok(),
                    Err(unparsed) => Some(unparsed.raw.clone()),
                },
            }
        }
        match array {
            ItemArray::Contacts => json(&self.contacts, index),
            ItemArray::Messages => json(&self.messages, index),
            ItemArray::MessageEchoes => json(&self.message_echoes, index),
            ItemArray::Statuses => json(&self.statuses, index),
            ItemArray::UserPreferences => json(&self.user_preferences, index),
            ItemArray::Errors => json(&self.errors, index),
        }
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
