//! `GET/POST /api/v1/contacts/{id}/consent`: a contact's consent records (append-only, newest
//! first) and a new opt-in or opt-out. The send policy reads the same records in the
//! transaction that queues a message, so a record takes effect for the very next send.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_domain::{Role, UnixMs};

use super::Id;
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new().route("/contacts/{id}/consent", get(history).post(record))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewConsent {
    /// `marketing`, or `all` (every business-initiated message).
    purpose: String,
    /// `opt_in` or `opt_out`.
    action: String,
    /// Where it came from: `web_form`, `checkbox`, `keyword`, `api`, `import`, `agent`…
    source: String,
    evidence: Option<String>,
    /// Limit it to one sending number (default: every number).
    number: Option<String>,
}

fn summary(rows: &[switchboard_store::ConsentRow]) -> Value {
    let latest = |p: &str| {
        rows.iter()
            .find(|r| r.purpose == p)
            .map(|r| r.action.clone())
    };
    json!({"all": latest("all"), "marketing": latest("marketing")})
}

async fn history(
    caller: ApiCaller,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Agent)?;
    state
        .store
        .contact(id)
        .await
        .map_err(|e| super::not_found_or(e, format!("Contact {id}")))?;
    let rows = state.store.consent_history(id).await?;
    Ok(Json(
        json!({"contact_id": id, "latest": summary(&rows), "history": rows}),
    ))
}

async fn record(
    caller: ApiCaller,
    State(state): State<AppState>,
    Id(id): Id,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Role::Agent)?;
    let c: NewConsent = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid(
            "body",
            format!("Expected {{purpose, action, source, evidence?, number?}}: {e}."),
        )
    })?;
    if !matches!(c.purpose.as_str(), "marketing" | "all") {
        return Err(ApiError::invalid(
            "purpose",
            "\"purpose\" must be marketing or all.",
        ));
    }
    if !matches!(c.action.as_str(), "opt_in" | "opt_out") {
        return Err(ApiError::invalid(
            "action",
            "\"action\" must be opt_in or opt_out.",
        ));
    }
    if c.source.trim().is_empty() || c.source.len() > 64 {
        return Err(ApiError::invalid(
            "source",
            "\"source\" must name where the consent came from (1 to 64 characters).",
        ));
    }
    if let Some(n) = &c.number {
        state.outbound.number(Some(n))?;
    }
    state
        .store
        .contact(id)
        .await
        .map_err(|e| super::not_found_or(e, format!("Contact {id}")))?;
    let actor = format!("api_key:{}", caller.key_id);
    state
        .store
        .record_consent(
            id,
            c.number.as_deref(),
            &c.purpose,
            &c.action,
            &c.source,
            c.evidence.as_deref(),
            Some(&actor),
            UnixMs::now().0,
        )
        .await?;
    let rows = state.store.consent_history(id).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"contact_id": id, "latest": summary(&rows), "history": rows})),
    ))
}
