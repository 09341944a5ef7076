//! Webhook payloads: the envelope Meta POSTs, and a typed value for every `field` we subscribe to.
//!
//! ```text
//! Envelope { object, entry: [ Entry { id: WABA id, time?, changes: [ Change { field, value } ] } ] }
//! ```
//!
//! A [`Change`] is typed by its `field`; a field this version does not know is kept as
//! [`ChangeValue::Unknown`] with its raw JSON, so a new Meta feature never breaks intake. A change
//! of a known field whose value has another shape is kept as [`ChangeValue::Unparsed`], and an
//! item of a messaging array that does not parse as an unparsed item ([`items`]): neither fails
//! the body, so the rest of it can be applied. Only a body that is not an envelope (not JSON, no
//! `object`, an entry without `id`, a change without `field` or `value`) is a parse error.

mod items;
mod management;
mod message;
mod messaging;
mod status;

pub use items::*;
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
    /// Parses a raw webhook body. Unknown fields, types and keys are kept, not rejected; a
    /// change or an item that does not have its known shape is kept unparsed, not rejected.
    pub fn parse(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// Every change and item of the body that did not parse, with its place, in body order.
    pub fn unparsed(&self) -> impl Iterator<Item = UnparsedItem<'_>> {
        self.entry.iter().enumerate().flat_map(|(e, entry)| {
            entry
                .changes
                .iter()
                .enumerate()
                .flat_map(move |(c, change)| {
                    let (whole, items) = match &change.value {
                        ChangeValue::Unparsed { error, raw, .. } => (
                            Some(UnparsedItem {
                                place: ItemPlace::change(e, c),
                                error,
                                raw,
                            }),
                            None,
                        ),
                        ChangeValue::Messaging(_, v) => (None, Some(v.unparsed())),
                        _ => (None, None),
                    };
                    whole
                        .into_iter()
                        .chain(
                            items
                                .into_iter()
                                .flatten()
                                .map(move |(array, u)| UnparsedItem {
                                    place: ItemPlace::item(e, c, array, u.index),
                                    error: &u.error,
                                    raw: &u.raw,
                                }),
                        )
                })
        })
    }

    /// The JSON at `place` as it came (a change's value, an array, or an item); `None` when
    /// the body has nothing there.
    pub fn item_json(&self, place: &ItemPlace) -> Option<Value> {
        let change = self.entry.get(place.entry)?.changes.get(place.change)?;
        match (place.within, &change.value) {
            (Within::Change, value) => value.to_json().ok(),
            (Within::Array(a), ChangeValue::Messaging(_, v)) => v.item_json(a, None),
            (Within::Item(a, i), ChangeValue::Messaging(_, v)) => v.item_json(a, Some(i)),
            _ => None,
        }
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
    /// A field we model whose value does not have its shape: kept as it came, with the reason
    /// (which may quote the value: not for logs).
    Unparsed {
        field: Field,
        error: String,
        raw: Value,
    },
}

impl ChangeValue {
    pub fn field(&self) -> Field {
        match self {
            ChangeValue::Messaging(f, _)
            | ChangeValue::Unknown(f, _)
            | ChangeValue::Unparsed { field: f, .. } => f.clone(),
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

    /// The typed value of `field`; a value without the field's shape is kept unparsed.
    fn from_json(field: Field, value: Value) -> Self {
        fn v<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, serde_json::Error> {
            T::deserialize(value)
        }
        let typed = match &field {
            Field::Messages | Field::UserPreferences | Field::SmbMessageEchoes => {
                v(&value).map(|m| ChangeValue::Messaging(field.clone(), Box::new(m)))
            }
            Field::MessageTemplateStatusUpdate => v(&value).map(ChangeValue::TemplateStatus),
            Field::MessageTemplateQualityUpdate => v(&value).map(ChangeValue::TemplateQuality),
            Field::TemplateCategoryUpdate => v(&value).map(ChangeValue::TemplateCategory),
            Field::MessageTemplateComponentsUpdate => {
                v(&value).map(ChangeValue::TemplateComponents)
            }
            Field::PhoneNumberQualityUpdate => v(&value).map(ChangeValue::PhoneNumberQuality),
            Field::PhoneNumberNameUpdate => v(&value).map(ChangeValue::PhoneNumberName),
            Field::BusinessCapabilityUpdate => v(&value).map(ChangeValue::BusinessCapability),
            Field::AccountUpdate => v(&value).map(ChangeValue::Account),
            Field::AccountAlerts => v(&value).map(ChangeValue::AccountAlert),
            Field::BusinessUsernameUpdate => v(&value).map(ChangeValue::BusinessUsername),
            _ => return ChangeValue::Unknown(field, value),
        };
        typed.unwrap_or_else(|e| ChangeValue::Unparsed {
            field,
            error: e.to_string(),
            raw: value,
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
            ChangeValue::Unknown(_, raw) | ChangeValue::Unparsed { raw, .. } => Ok(raw.clone()),
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
        Ok(Change {
            value: ChangeValue::from_json(raw.field, raw.value),
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
