//! Outbound message statuses (`value.statuses[]`, §6) and the billing objects they carry.

use serde::{Deserialize, Serialize};

use crate::error::WebhookError;
use crate::wire::{Extra, Timestamp, string_enum, wire_struct};

string_enum! {
    /// Where an outbound message is. `sent < delivered < read < played`; `failed` is terminal.
    pub enum StatusKind {
        Sent = "sent",
        Delivered = "delivered",
        Read = "read",
        Played = "played",
        Failed = "failed",
        /// Seen on some held template sends.
        Deleted = "deleted",
    }
}

impl StatusKind {
    /// Where this status stands in Meta's order, the one home of the rule that statuses only
    /// move forward: a status applies only over a lower rank. `failed` outranks everything (it
    /// is terminal); `deleted` and unknown kinds rank 0 (recorded, never applied).
    pub fn rank(&self) -> i64 {
        match self {
            StatusKind::Sent => 1,
            StatusKind::Delivered => 2,
            StatusKind::Read => 3,
            StatusKind::Played => 4,
            StatusKind::Failed => 10,
            StatusKind::Deleted | StatusKind::Other(_) => 0,
        }
    }
}

string_enum! {
    /// `pricing.type` under per-message pricing.
    pub enum PricingType {
        Regular = "regular",
        FreeCustomerService = "free_customer_service",
        FreeEntryPoint = "free_entry_point",
    }
}

string_enum! {
    /// `pricing.category` (and `conversation.origin.type`). Meta's docs also spell
    /// `authentication-international` once; that spelling is kept in `Other` and recognised by
    /// [`PricingCategory::is_authentication_international`].
    pub enum PricingCategory {
        Marketing = "marketing",
        Utility = "utility",
        Authentication = "authentication",
        AuthenticationInternational = "authentication_international",
        MarketingLite = "marketing_lite",
        Service = "service",
        ReferralConversion = "referral_conversion",
        GeneralPurposeAi = "general_purpose_ai",
        GroupMarketing = "group_marketing",
        GroupUtility = "group_utility",
        GroupService = "group_service",
    }
}

impl PricingCategory {
    pub fn is_authentication_international(&self) -> bool {
        matches!(self, PricingCategory::AuthenticationInternational)
            || matches!(self, PricingCategory::Other(s) if s == "authentication-international")
    }
}

/// One status update of an outbound message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The wamid returned by the send call: correlate by this, never by recipient.
    pub id: String,
    pub status: StatusKind,
    pub timestamp: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_recipient_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_participant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_participant_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_participant_parent_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_identity_key_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biz_opaque_callback_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<Conversation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<Pricing>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<WebhookError>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Billing facts of a status (§6.2). `billable` is deprecated: derive it from `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pricing {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billable: Option<bool>,
    /// `PMP` (per-message) or, for history, `CBP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing_model: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<PricingType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<PricingCategory>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Pricing {
    /// Billable under per-message pricing: `type == regular`; for CBP history, `billable`.
    pub fn is_billable(&self) -> bool {
        match &self.kind {
            Some(kind) => *kind == PricingType::Regular,
            None => self.billable.unwrap_or(false),
        }
    }
}

wire_struct! {
    /// The conversation object: on v24+ only inside free-entry-point windows (§6.3).
    pub struct Conversation {
        pub id: String,
        pub expiration_timestamp: Timestamp,
        pub origin: ConversationOrigin,
    }
}

wire_struct! {
    pub struct ConversationOrigin {
        #[serde(rename = "type")]
        pub kind: PricingCategory,
    }
}

#[cfg(test)]
mod rank_tests {
    use super::StatusKind;

    #[test]
    fn ranks_are_monotonic_with_failed_terminal() {
        let order = [
            StatusKind::Sent,
            StatusKind::Delivered,
            StatusKind::Read,
            StatusKind::Played,
            StatusKind::Failed,
        ];
        assert!(order.windows(2).all(|w| w[0].rank() < w[1].rank()));
        assert_eq!(StatusKind::Other("held".into()).rank(), 0);
        assert_eq!(StatusKind::Deleted.rank(), 0);
    }
}
