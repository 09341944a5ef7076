//! The one error type of the HTTP layer. Every error has a stable machine `code` (clients branch
//! on it) and a sentence a person can act on; internal causes are logged once, here, and never
//! shown to the caller.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(
        "Send an API key as `Authorization: Bearer <key>`; create one with `switchboard apikey create`."
    )]
    MissingCredentials,
    #[error("This API key is not valid or has been revoked.")]
    InvalidCredentials,
    #[error("Log in first; the session is missing or has expired.")]
    NotLoggedIn,
    #[error(
        "This request is missing the session's CSRF token (send it as x-csrf-token); reload the page and try again."
    )]
    Csrf,
    #[error("This action needs the {needed} role; your key has the {has} role.")]
    Forbidden {
        needed: &'static str,
        has: &'static str,
    },
    /// Allowed for other callers, not this one, for a reason other than its role.
    #[error("{message}")]
    Denied { code: &'static str, message: String },
    /// Too many requests: try again after `retry_after_secs` (sent as `Retry-After`).
    #[error("{message}")]
    TooMany {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    #[error("{what} was not found.")]
    NotFound { what: String },
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// A request that is well-formed but cannot be accepted, with structured details.
    #[error("{message}")]
    Rejected {
        code: &'static str,
        message: String,
        details: serde_json::Value,
    },
    #[error("The database is not reachable right now; try again shortly.")]
    Unavailable(#[source] switchboard_store::StoreError),
    #[error(
        "Something went wrong on our side; the request id in the response headers helps find it in the logs."
    )]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MissingCredentials => "missing_credentials",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::NotLoggedIn => "not_logged_in",
            ApiError::Csrf => "csrf_token_invalid",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::NotFound { .. } => "not_found",
            ApiError::Invalid { .. } => "invalid_request",
            ApiError::Conflict { code, .. }
            | ApiError::Rejected { code, .. }
            | ApiError::Denied { code, .. }
            | ApiError::TooMany { code, .. } => code,
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MissingCredentials | ApiError::InvalidCredentials | ApiError::NotLoggedIn => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Csrf => StatusCode::FORBIDDEN,
            ApiError::Forbidden { .. } | ApiError::Denied { .. } => StatusCode::FORBIDDEN,
            ApiError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Rejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<switchboard_store::StoreError> for ApiError {
    fn from(e: switchboard_store::StoreError) -> Self {
        if e.is_unavailable() {
            ApiError::Unavailable(e)
        } else {
            ApiError::Internal(Box::new(e))
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Unavailable(cause) => {
                tracing::warn!(error = %error_chain(cause), "database unavailable")
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = %error_chain(cause.as_ref()), "internal error")
            }
            _ => {}
        }
        let mut body = json!({ "error": { "code": self.code(), "message": self.to_string() } });
        if let ApiError::Invalid { field, .. } = &self {
            body["error"]["field"] = json!(field);
        }
        if let ApiError::Rejected { details, .. } = &self {
            body["error"]["details"] = details.clone();
        }
        if let ApiError::TooMany {
            retry_after_secs, ..
        } = &self
        {
            body["error"]["retry_after_secs"] = json!(retry_after_secs);
            return (
                self.status(),
                [("retry-after", retry_after_secs.to_string())],
                Json(body),
            )
                .into_response();
        }
        (self.status(), Json(body)).into_response()
    }
}

/// "outer: middle: root", so a log line shows the root cause.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound {
        what: format!("The path {}", uri.path()),
    }
}

pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::Internal("handler panicked".into()).into_response()
}
