//! The REST API under `/api/v1`. Every handler takes an [`ApiCaller`](crate::auth::ApiCaller),
//! so no route is reachable without a valid key, and states the role it needs.
//!
//! [`ROUTES`] lists every route; `docs/openapi.json` (served at `/api/openapi.json`) documents
//! exactly these, and a test fails when the two disagree or a listed route is not served.

mod campaigns;
pub(crate) mod consent;
mod conversations;
mod costs;
mod inbox;
mod keys;
mod messages;
mod templates;
mod webhook_events;

use axum::Router;
use axum::response::IntoResponse;

use crate::AppState;

/// Every API route, as (method, OpenAPI path).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/whoami"),
    ("get", "/api/v1/api-keys"),
    ("post", "/api/v1/api-keys"),
    ("delete", "/api/v1/api-keys/{id}"),
    ("get", "/api/v1/conversations"),
    ("get", "/api/v1/conversations/{id}"),
    ("get", "/api/v1/conversations/{id}/messages"),
    ("get", "/api/v1/contacts/{id}"),
    ("get", "/api/v1/messages/{id}/media"),
    ("post", "/api/v1/messages/{id}/media/retry"),
    ("get", "/api/v1/webhook-events"),
    ("post", "/api/v1/webhook-events/replay"),
    ("post", "/api/v1/messages"),
    ("post", "/api/v1/messages/check"),
    ("get", "/api/v1/messages/{id}"),
    ("post", "/api/v1/templates/sync"),
    ("get", "/api/v1/alerts"),
    ("post", "/api/v1/numbers/{id}/resume"),
    ("get", "/api/v1/contacts/{id}/consent"),
    ("post", "/api/v1/contacts/{id}/consent"),
    ("get", "/api/v1/contacts/export.csv"),
    ("post", "/api/v1/contacts/import"),
    ("get", "/api/v1/templates"),
    ("post", "/api/v1/templates"),
    ("post", "/api/v1/templates/lint"),
    ("post", "/api/v1/templates/plan"),
    ("post", "/api/v1/templates/push"),
    ("get", "/api/v1/templates/export"),
    ("get", "/api/v1/templates/{name}/{language}"),
    ("delete", "/api/v1/templates/{name}/{language}"),
    ("get", "/api/v1/costs"),
    ("post", "/api/v1/forecast"),
    ("get", "/api/v1/rate-cards"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/auth/me"),
    ("post", "/api/v1/conversations/{id}/claim"),
    ("post", "/api/v1/conversations/{id}/release"),
    ("post", "/api/v1/conversations/{id}/assign"),
    ("post", "/api/v1/conversations/{id}/take-over"),
    ("post", "/api/v1/conversations/{id}/reply"),
    ("get", "/api/v1/conversations/{id}/events"),
    ("post", "/api/v1/conversations/{id}/status"),
    ("post", "/api/v1/conversations/{id}/notes"),
    ("post", "/api/v1/conversations/{id}/labels/{label}"),
    ("delete", "/api/v1/conversations/{id}/labels/{label}"),
    ("post", "/api/v1/auth/presence"),
    ("get", "/api/v1/teams"),
    ("put", "/api/v1/teams/{name}/routing"),
    ("put", "/api/v1/teams/{name}/budget"),
    ("get", "/api/v1/events"),
    ("post", "/api/v1/conversations/{id}/presence"),
    ("post", "/api/v1/conversations/{id}/check"),
    ("post", "/api/v1/conversations/{id}/read"),
    ("get", "/api/v1/canned-responses"),
    ("post", "/api/v1/canned-responses"),
    ("delete", "/api/v1/canned-responses/{id}"),
    ("get", "/api/v1/campaigns"),
    ("post", "/api/v1/campaigns"),
    ("get", "/api/v1/campaigns/{id}"),
    ("get", "/api/v1/campaigns/{id}/events"),
    ("post", "/api/v1/campaigns/{id}/pause"),
    ("post", "/api/v1/campaigns/{id}/resume"),
    ("post", "/api/v1/campaigns/{id}/cancel"),
];

pub fn router() -> Router<AppState> {
    keys::router()
        .merge(conversations::router())
        .merge(webhook_events::router())
        .merge(messages::router())
        .merge(consent::router())
        .merge(campaigns::router())
        .merge(templates::router())
        .merge(costs::router())
        .merge(inbox::router())
}

/// The OpenAPI document of the whole API.
pub async fn openapi() -> impl IntoResponse {
    (
        [("content-type", "application/json")],
        include_str!("../../../../docs/openapi.json"),
    )
}

/// A numeric id from the path; anything else is a 422 with the stable error body.
pub struct Id(pub i64);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Id {
    type Rejection = crate::error::ApiError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| crate::error::ApiError::invalid("id", "The path needs an id."))?;
        raw.parse::<i64>().map(Id).map_err(|_| {
            crate::error::ApiError::invalid(
                "id",
                format!("{raw:?} is not an id; ids are whole numbers."),
            )
        })
    }
}

/// An opaque cursor over (time, id).
pub(crate) fn encode_cursor(at: i64, id: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{at}:{id}"))
}

pub(crate) fn decode_cursor(c: &str) -> Result<(i64, i64), crate::error::ApiError> {
    use base64::Engine;
    let bad = || {
        crate::error::ApiError::invalid(
            "cursor",
            "This cursor is not one the API gave out; start again without it.",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (a, b) = text.split_once(':').ok_or_else(bad)?;
    Ok((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?))
}

pub(crate) fn not_found_or(
    e: switchboard_store::StoreError,
    what: String,
) -> crate::error::ApiError {
    match e {
        switchboard_store::StoreError::NotFound => crate::error::ApiError::NotFound { what },
        other => other.into(),
    }
}
