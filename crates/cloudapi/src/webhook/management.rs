//! Management webhooks: template status, quality, category and component updates (§7.14),
//! phone-number quality and name (§8.5), capability and account updates (§12.8), account
//! alerts, business usernames (§13.6). Every key is optional except the event itself, because
//! Meta's examples for these fields vary between versions.

use serde_json::Value;

use crate::wire::{Flexible, wire_struct};

wire_struct! {
    /// `message_template_status_update`: APPROVED, REJECTED, PAUSED, DISABLED, …
    pub struct TemplateStatusUpdate {
        pub event: String,
        /// A number here, a string elsewhere: kept as sent.
        pub message_template_id: Flexible,
        pub message_template_name: String,
        pub message_template_language: String,
        pub message_template_category: String,
        pub reason: String,
        pub rejection_info: Value,
        pub disable_info: Value,
        pub other_info: Value,
    }
}

wire_struct! {
    /// `message_template_quality_update`: GREEN / YELLOW / RED / UNKNOWN.
    pub struct TemplateQualityUpdate {
        pub previous_quality_score: String,
        pub new_quality_score: String,
        pub message_template_id: Flexible,
        pub message_template_name: String,
        pub message_template_language: String,
    }
}

wire_struct! {
    /// `template_category_update`: impending (`correct_category`) or completed
    /// (`previous_category`) re-classification.
    pub struct TemplateCategoryUpdate {
        pub message_template_id: Flexible,
        pub message_template_name: String,
        pub message_template_language: String,
        pub previous_category: String,
        pub correct_category: String,
        pub new_category: String,
        pub category_update_timestamp: i64,
    }
}

wire_struct! {
    /// `message_template_components_update`.
    pub struct TemplateComponentsUpdate {
        pub message_template_id: Flexible,
        pub message_template_name: String,
        pub message_template_language: String,
        pub message_template_element: String,
        pub message_template_title: String,
        pub message_template_footer: String,
        pub message_template_buttons: Vec<Value>,
    }
}

wire_struct! {
    /// `phone_number_quality_update`: throughput and (legacy) messaging-limit tiers.
    pub struct PhoneNumberQualityUpdate {
        pub display_phone_number: String,
        pub event: String,
        pub old_limit: String,
        pub current_limit: String,
        pub max_daily_conversations_per_business: String,
    }
}

wire_struct! {
    /// `phone_number_name_update`: display-name review results.
    pub struct PhoneNumberNameUpdate {
        pub display_phone_number: String,
        pub decision: String,
        pub requested_verified_name: String,
        pub rejection_reason: String,
    }
}

wire_struct! {
    /// `business_capability_update`: messaging limit and number caps.
    pub struct BusinessCapabilityUpdate {
        pub max_daily_conversations_per_business: String,
        pub max_daily_conversation_per_phone: i64,
        pub max_phone_numbers_per_waba: i64,
        pub max_phone_numbers_per_business: i64,
    }
}

wire_struct! {
    /// `account_update`: violations, restrictions, bans, partner and pricing events.
    pub struct AccountUpdate {
        pub event: String,
        pub phone_number: String,
        pub violation_info: Value,
        pub restriction_info: Vec<Value>,
        pub ban_info: Value,
        pub waba_info: Value,
        pub country: String,
    }
}

wire_struct! {
    /// `account_alerts`.
    pub struct AccountAlert {
        pub entity_type: String,
        pub entity_id: String,
        pub alert_info: Value,
    }
}

wire_struct! {
    /// `business_username_update`: reserved / approved / deleted.
    pub struct BusinessUsernameUpdate {
        pub display_phone_number: String,
        pub username: String,
        pub status: String,
    }
}
