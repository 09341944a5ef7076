//! Answers to a send (§2.2) and to mark-as-read (§2.11).

use crate::wire::wire_struct;

wire_struct! {
    /// `{"messaging_product": "whatsapp", "contacts": [...], "messages": [{"id": wamid}]}`.
    /// HTTP 200 means *accepted*, never delivered.
    pub struct SendResponse {
        pub messaging_product: String,
        pub contacts: Vec<ResponseContact>,
        pub messages: Vec<ResponseMessage>,
    }
}

impl SendResponse {
    /// The wamid of the accepted message.
    pub fn wamid(&self) -> Option<&str> {
        self.messages.as_ref()?.first()?.id.as_deref()
    }
}

wire_struct! {
    pub struct ResponseContact {
        /// What was sent as `to` or `recipient`.
        pub input: String,
        pub wa_id: String,
        /// The BSUID (2026).
        pub user_id: String,
    }
}

wire_struct! {
    pub struct ResponseMessage {
        pub id: String,
        /// Template sends: `accepted` or `held_for_quality_assessment` (absent means accepted).
        pub message_status: String,
        pub group_id: String,
    }
}

wire_struct! {
    /// `{"success": true}`.
    pub struct SuccessResponse {
        pub success: bool,
    }
}
