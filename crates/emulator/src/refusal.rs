//! How the emulator says no the way Meta does: a [`Refusal`] (Meta's error code, title and
//! details) and the Graph error response it becomes. The rules that decide a refusal return one
//! and stay free of HTTP; the handlers turn it into a response, so the same error object comes
//! out whether the request was refused by a rule, a fault or the router.
//!
//! A leaf: it knows only `ids` (for the trace id) and the Cloud API's error types.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use switchboard_cloudapi::{ErrorCode, GraphError, GraphErrorBody};

use crate::ids;

/// A synchronous refusal: Meta's code, title and details.
#[derive(Debug)]
pub struct Refusal {
    pub code: ErrorCode,
    pub title: &'static str,
    pub details: String,
}

impl Refusal {
    pub fn new(code: ErrorCode, title: &'static str, details: impl Into<String>) -> Refusal {
        Refusal {
            code,
            title,
            details: details.into(),
        }
    }
}

/// A refusal with Meta's numeric code, as an `Err` ready to return.
pub fn refuse<T>(code: i64, title: &'static str, details: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal::new(ErrorCode(code), title, details))
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.code, self.title, &self.details)
    }
}

/// A Graph error response in Meta's shape.
pub fn graph_error(status: u16, code: ErrorCode, title: &str, details: &str) -> Response {
    let body = GraphErrorBody {
        error: GraphError::new(code, title, details, &ids::fbtrace()),
        extra: Default::default(),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut().insert(
        "x-fb-trace-id",
        ids::fbtrace().parse().expect("header value"),
    );
    resp
}

/// A Graph error with the HTTP status Meta documents for its code.
pub fn error(code: ErrorCode, title: &str, details: &str) -> Response {
    graph_error(code.http_status(), code, title, details)
}
