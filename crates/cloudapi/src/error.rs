//! Graph error objects (synchronous, in an HTTP response) and webhook error objects
//! (asynchronous, in `statuses[].errors`, `messages[].errors` and `value.errors`), plus the
//! error-code table of the reference (§3.4) as a type that knows how a sender should react.
//!
//! Clients must branch on `code`, never on the HTTP status or the title (Meta changes titles).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::wire::Extra;

/// The body of a failed Graph call: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphErrorBody {
    pub error: GraphError,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Meta's synchronous error object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphError {
    pub message: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub code: ErrorCode,
    /// Usually `{"messaging_product": "whatsapp", "details": "..."}`; template-management errors
    /// may put a bare string here, so it is kept as raw JSON. Read it with [`GraphError::details`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_data: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_subcode: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fbtrace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_transient: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_user_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_user_msg: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl GraphError {
    /// An error object shaped as the Cloud API shapes it (`OAuthException`, `error_data.details`).
    pub fn new(code: ErrorCode, title: &str, details: &str, fbtrace_id: &str) -> Self {
        GraphError {
            message: format!("(#{}) {title}", code.0),
            kind: Some("OAuthException".into()),
            code,
            error_data: Some(
                serde_json::json!({"messaging_product": "whatsapp", "details": details}),
            ),
            error_subcode: None,
            fbtrace_id: Some(fbtrace_id.into()),
            is_transient: None,
            error_user_title: None,
            error_user_msg: None,
            extra: Extra::new(),
        }
    }

    /// The human-readable cause, wherever Meta put it.
    pub fn details(&self) -> Option<&str> {
        match self.error_data.as_ref()? {
            Value::String(s) => Some(s),
            Value::Object(m) => m.get("details").and_then(Value::as_str),
            _ => None,
        }
    }
}

/// Meta's asynchronous (webhook) error object. `title` and `message` are equal by design.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookError {
    pub code: ErrorCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_data: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl WebhookError {
    pub fn new(code: ErrorCode, title: &str, details: &str) -> Self {
        WebhookError {
            code,
            title: Some(title.into()),
            message: Some(title.into()),
            error_data: Some(serde_json::json!({ "details": details })),
            href: Some("https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes/".into()),
            extra: Extra::new(),
        }
    }

    pub fn details(&self) -> Option<&str> {
        match self.error_data.as_ref()? {
            Value::String(s) => Some(s),
            Value::Object(m) => m.get("details").and_then(Value::as_str),
            _ => None,
        }
    }
}

/// How a sender should react to an error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryClass {
    /// Meta had a temporary problem: retry with exponential backoff and jitter.
    Transient,
    /// A rate limit (throughput, pair rate, per-user marketing cap, app call rate): retry later,
    /// slower; the delay depends on the code (see [`ErrorCode::min_retry_delay_secs`]).
    Throttled,
    /// The request, recipient or template is wrong: retrying the same request cannot succeed.
    Permanent,
    /// The customer service window is closed: only a template message can reach this user.
    NeedsTemplate,
    /// Credentials or the account itself are unusable (expired token, missing permission,
    /// restricted or unpaid account): stop sending from this number and alert a person.
    Auth,
}

/// A Cloud API error code (`error.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(pub i64);

impl ErrorCode {
    pub const AUTH_EXCEPTION: Self = Self(0);
    pub const API_UNKNOWN: Self = Self(1);
    pub const API_SERVICE: Self = Self(2);
    pub const TOO_MANY_CALLS: Self = Self(4);
    pub const PERMISSION_DENIED: Self = Self(10);
    pub const INVALID_PARAMETER: Self = Self(100);
    pub const ACCESS_TOKEN_EXPIRED: Self = Self(190);
    pub const POLICY_BLOCKED: Self = Self(368);
    pub const THROUGHPUT_LIMIT: Self = Self(130429);
    pub const UNKNOWN_ERROR: Self = Self(131000);
    pub const REQUIRED_PARAMETER_MISSING: Self = Self(131008);
    pub const PARAMETER_VALUE_INVALID: Self = Self(131009);
    pub const SERVICE_UNAVAILABLE: Self = Self(131016);
    pub const RECIPIENT_IS_SENDER: Self = Self(131021);
    pub const UNDELIVERABLE: Self = Self(131026);
    pub const RE_ENGAGEMENT: Self = Self(131047);
    pub const SPAM_RATE_LIMIT: Self = Self(131048);
    pub const ECOSYSTEM_ENGAGEMENT: Self = Self(131049);
    pub const MARKETING_OPTED_OUT: Self = Self(131050);
    pub const UNSUPPORTED_MESSAGE_TYPE: Self = Self(131051);
    pub const MEDIA_DOWNLOAD_ERROR: Self = Self(131052);
    pub const MEDIA_UPLOAD_ERROR: Self = Self(131053);
    pub const PAIR_RATE_LIMIT: Self = Self(131056);
    pub const MAINTENANCE_MODE: Self = Self(131057);
    pub const BSUID_NOT_SUPPORTED: Self = Self(131062);
    pub const TEMPLATE_PARAM_COUNT: Self = Self(132000);
    pub const TEMPLATE_NOT_FOUND: Self = Self(132001);
    pub const TEMPLATE_TEXT_TOO_LONG: Self = Self(132005);
    pub const TEMPLATE_PARAM_FORMAT: Self = Self(132012);
    pub const TEMPLATE_PAUSED: Self = Self(132015);
    pub const TEMPLATE_DISABLED: Self = Self(132016);
    pub const TEMPLATE_PARAM_ISSUE: Self = Self(132018);
    pub const SERVER_UNAVAILABLE: Self = Self(133004);
    pub const IDENTITY_KEY_MISMATCH: Self = Self(137000);

    /// The retry class of this code, from the reference's error table (§3.4). Codes the table
    /// does not list are `Permanent`: retrying an unknown failure blindly risks duplicate sends
    /// and hurts quality, and the Graph client still treats bare 5xx responses as transient.
    pub fn retry_class(self) -> RetryClass {
        match self.0 {
            0
            | 10
            | 190
            | 200..=299
            | 368
            | 131005
            | 131031
            | 131042
            | 130497
            | 131037
            | 131063
            | 131064
            | 133010 => RetryClass::Auth,
            1 | 2 | 131000 | 131016 | 131057 | 133004 | 2494100 => RetryClass::Transient,
            4 | 80007 | 130429 | 131048 | 131049 | 131056 | 132069 | 133008 | 133009 | 133015
            | 133016 | 134101 => RetryClass::Throttled,
            131047 | 470 | 2593108 => RetryClass::NeedsTemplate,
            _ => RetryClass::Permanent,
        }
    }

    /// The least time worth waiting before retrying after this code, in seconds, where the
    /// reference gives one: about 1 s after a throughput hit, 4^attempt s after a pair-rate hit
    /// (Meta's advice), a day after the per-user marketing cap, an hour for flow throttling.
    pub fn min_retry_delay_secs(self, attempt: u32) -> Option<u64> {
        match self.0 {
            130429 => Some(1),
            131056 => Some(4u64.saturating_pow(attempt.clamp(1, 8))),
            131049 => Some(24 * 3600),
            131048 => Some(3600),
            132069 => Some(3600),
            134101 => Some(600),
            131057 | 2494100 => Some(60),
            _ => None,
        }
    }

    /// The HTTP status Meta documents for this code (§3.3). Unlisted codes answer 400.
    pub fn http_status(self) -> u16 {
        match self.0 {
            0 | 190 => 401,
            10 | 200..=299 | 368 | 130497 | 131005 | 131031 => 403,
            132001 => 404,
            3 | 131000 | 131016 | 131045 | 131057 | 133000 | 134102 => 500,
            2 | 133004 => 503,
            _ => 400,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_reference_table() {
        use RetryClass::*;
        for (code, class) in [
            (190, Auth),
            (0, Auth),
            (368, Auth),
            (131042, Auth),
            (130429, Throttled),
            (131056, Throttled),
            (131049, Throttled),
            (131000, Transient),
            (131057, Transient),
            (133004, Transient),
            (131047, NeedsTemplate),
            (100, Permanent),
            (131026, Permanent),
            (131050, Permanent),
            (132000, Permanent),
            (132001, Permanent),
            (132015, Permanent),
            (999_999, Permanent),
        ] {
            assert_eq!(ErrorCode(code).retry_class(), class, "code {code}");
        }
    }

    #[test]
    fn pair_rate_backoff_is_four_to_the_attempt() {
        let c = ErrorCode::PAIR_RATE_LIMIT;
        assert_eq!(c.min_retry_delay_secs(1), Some(4));
        assert_eq!(c.min_retry_delay_secs(2), Some(16));
        assert_eq!(c.min_retry_delay_secs(3), Some(64));
        assert_eq!(ErrorCode::INVALID_PARAMETER.min_retry_delay_secs(1), None);
    }

    #[test]
    fn statuses_match_section_3_3() {
        assert_eq!(ErrorCode(190).http_status(), 401);
        assert_eq!(ErrorCode(130429).http_status(), 400);
        assert_eq!(ErrorCode(132001).http_status(), 404);
        assert_eq!(ErrorCode(131000).http_status(), 500);
        assert_eq!(ErrorCode(133004).http_status(), 503);
    }

    #[test]
    fn details_are_read_from_object_or_string() {
        let e: GraphError = serde_json::from_value(serde_json::json!({
            "message": "(#100) Invalid parameter", "code": 100, "error_data": "bad header"
        }))
        .unwrap();
        assert_eq!(e.details(), Some("bad header"));
        let e = GraphError::new(
            ErrorCode::THROUGHPUT_LIMIT,
            "Rate limit hit",
            "slow down",
            "A1",
        );
        assert_eq!(e.details(), Some("slow down"));
        assert_eq!(e.message, "(#130429) Rate limit hit");
    }
}
