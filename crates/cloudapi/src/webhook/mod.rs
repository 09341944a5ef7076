//! Webhook payloads: the envelope Meta POSTs, and a typed value for every `field` we subscribe to.
//!
//! ```text
//! Envelope { object, entry: [ Entry { id: WABA id, time?, changes: [ Change { field, value } ] } ] }
//! ```
//!
//! A [`Change`] is typed by its `field`; a field this version does not know is kept as
//! [`ChangeValue::Unknown`] with its raw JSON, so a new Meta feature never breaks intake.

mod management;
mod message;
mod messaging;
mod status;

pub use management::*;
pub use message::*;
pub use messaging::*;
pub use status::*;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::wire::{Extra, string_enum};

/// The body of a webhook POST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Always `whatsapp_business_account` for WhatsApp.
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Envelope {
    /// Parses a raw webhook body. Unknown fields, types and keys are kept, not rejected.
    pub fn parse(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// Every change of every entry, with the entry it came in: a batch is never just its first item.
    pub fn changes(&self) -> impl Iterator<Item = (&Entry, &Change)> {
        self.entry
            .iter()
            .flat_map(|e| e.changes.iter().map(move |c| (e, c)))
    }
}

/// One WABA's share of a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The WhatsApp Business Account id.
    pub id: String,
    /// Unix seconds; present on management fields, absent on `messages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
    #[serde(default)]
    pub changes: Vec<Change>,
    #[serde(flatten)]
    pub extra: Extra,
}

string_enum! {
    /// The webhook fields of §4.7.
    pub enum Field {
        Messages = "messages",
        MessageTemplateStatusUpdate = "message_template_status_update",
        MessageTemplateQualityUpdate = "message_template_quality_update",
        MessageTemplateComponentsUpdate = "message_template_components_update",
        TemplateCategoryUpdate = "template_category_update",
        PhoneNumberQualityUpdate = "phone_number_quality_update",
        PhoneNumberNameUpdate = "phone_number_name_update",
        BusinessCapabilityUpdate = "business_capability_update",
        AccountUpdate = "account_update",
        AccountAlerts = "account_alerts",
        AccountReviewUpdate = "account_review_update",
        Security = "security",
        UserPreferences = "user_preferences",
        BusinessUsernameUpdate = "business_username_update",
        SmbMessageEchoes = "smb_message_echoes",
        SmbAppStateSync = "smb_app_state_sync",
        History = "history",
        Calls = "calls",
        Flows = "flows",
    }
}

/// One `changes[]` item, typed by its field.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub value: ChangeValue,
    /// Keys of the change object other than `field` and `value`.
    pub extra: Extra,
}

impl Change {
    pub fn field(&self) -> Field {
        self.value.field()
    }
}

/// The typed `value` of a change.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeValue {
    /// `messages`, `user_preferences` and `smb_message_echoes` share the messaging shape
    /// (`messaging_product`, `metadata`, `contacts`, and the arrays of their kind).
    Messaging(Field, Box<MessagingValue>),
    TemplateStatus(TemplateStatusUpdate),
    TemplateQuality(TemplateQualityUpdate),
    TemplateCategory(TemplateCategoryUpdate),
    TemplateComponents(TemplateComponentsUpdate),
    PhoneNumberQuality(PhoneNumberQualityUpdate),
    PhoneNumberName(PhoneNumberNameUpdate),
    BusinessCapability(BusinessCapabilityUpdate),
    Account(AccountUpdate),
    AccountAlert(AccountAlert),
    BusinessUsername(BusinessUsernameUpdate),
    /// A field we do not model (yet), or one whose value we only store: raw JSON, never an error.
    Unknown(Field, Value),
}

impl ChangeValue {
    pub fn field(&self) -> Field {
        match self {
            ChangeValue::Messaging(f, _) | ChangeValue::Unknown(f, _) => f.clone(),
            ChangeValue::TemplateStatus(_) => Field::MessageTemplateStatusUpdate,
            ChangeValue::TemplateQuality(_) => Field::MessageTemplateQualityUpdate,
            ChangeValue::TemplateCategory(_) => Field::TemplateCategoryUpdate,
            ChangeValue::TemplateComponents(_) => Field::MessageTemplateComponentsUpdate,
            ChangeValue::PhoneNumberQuality(_) => Field::PhoneNumberQualityUpdate,
            ChangeValue::PhoneNumberName(_) => Field::PhoneNumberNameUpdate,
            ChangeValue::BusinessCapability(_) => Field::BusinessCapabilityUpdate,
            ChangeValue::Account(_) => Field::AccountUpdate,
            ChangeValue::AccountAlert(_) => Field::AccountAlerts,
            ChangeValue::BusinessUsername(_) => Field::BusinessUsernameUpdate,
        }
    }

    fn from_json(field: Field, value: Value) -> Result<Self, serde_json::Error> {
        use serde_json::from_value as v;
        Ok(match field {
            Field::Messages | Field::UserPreferences | Field::SmbMessageEchoes => {
                ChangeValue::Messaging(field, Box::new(v(value)?))
            }
            Field::MessageTemplateStatusUpdate => ChangeValue::TemplateStatus(v(value)?),
            Field::MessageTemplateQualityUpdate => ChangeValue::TemplateQuality(v(value)?),
            Field::TemplateCategoryUpdate => ChangeValue::TemplateCategory(v(value)?),
            Field::MessageTemplateComponentsUpdate => ChangeValue::TemplateComponents(v(value)?),
            Field::PhoneNumberQualityUpdate => ChangeValue::PhoneNumberQuality(v(value)?),
            Field::PhoneNumberNameUpdate => ChangeValue::PhoneNumberName(v(value)?),
            Field::BusinessCapabilityUpdate => ChangeValue::BusinessCapability(v(value)?),
            Field::AccountUpdate => ChangeValue::Account(v(value)?),
            Field::AccountAlerts => ChangeValue::AccountAlert(v(value)?),
            Field::BusinessUsernameUpdate => ChangeValue::BusinessUsername(v(value)?),
            other => ChangeValue::Unknown(other, value),
        })
    }

    fn to_json(&self) -> Result<Value, serde_json::Error> {
        use serde_json::to_value as v;
        match self {
            ChangeValue::Messaging(_, m) => v(m),
            ChangeValue::TemplateStatus(x) => v(x),
            ChangeValue::TemplateQuality(x) => v(x),
            ChangeValue::TemplateCategory(x) => v(x),
            ChangeValue::TemplateComponents(x) => v(x),
            ChangeValue::PhoneNumberQuality(x) => v(x),
            ChangeValue::PhoneNumberName(x) => v(x),
            ChangeValue::BusinessCapability(x) => v(x),
            ChangeValue::Account(x) => v(x),
            ChangeValue::AccountAlert(x) => v(x),
            ChangeValue::BusinessUsername(x) => v(x),
            ChangeValue::Unknown(_, raw) => Ok(raw.clone()),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct RawChange {
    field: Field,
    value: Value,
    #[serde(flatten)]
    extra: Extra,
}

impl<'de> Deserialize<'de> for Change {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawChange::deserialize(d)?;
        let field = raw.field.clone();
        let value = ChangeValue::from_json(raw.field, raw.value)
            .map_err(|e| serde::de::Error::custom(format!("field {field}: {e}")))?;
        Ok(Change {
            value,
            extra: raw.extra,
        })
    }
}

impl Serialize for Change {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw = RawChange {
            field: self.field(),
            value: self.value.to_json().map_err(serde::ser::Error::custom)?,
            extra: self.extra.clone(),
        };
        raw.serialize(s)
    }
}
