//! The REST API under `/api/v1`. Every handler takes an [`ApiCaller`](crate::auth::ApiCaller),
//! so no route is reachable without a valid key, and states the role it needs.
//!
//! Routes are registered through [`Routes`], which lists them; `docs/openapi.json` (served at
//! `/api/openapi.json`) documents exactly these with the role each needs, and tests fail when
//! the two disagree or a route has no entry in the authorisation table.

mod campaigns;
pub(crate) mod consent;
mod conversations;
mod costs;
mod inbox;
mod keys;
mod messages;
mod templates;
mod webhook_events;

use axum::response::IntoResponse;

use crate::routes::Routes;

pub fn router() -> Routes {
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
