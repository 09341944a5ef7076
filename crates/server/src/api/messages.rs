//! Sending: `POST /api/v1/messages` (queue, with `Idempotency-Key`), `POST
//! /api/v1/messages/check` (the policy's decision, nothing sent), `GET /api/v1/messages/{id}`
//! (state and history); and what operating the outbox needs: template sync from Meta, alerts,
//! resuming a paused number.

use crate::routes::Routes;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use switchboard_domain::outbox::OutboxState;
use switchboard_domain::policy::Decision;
use switchboard_domain::{Role, UnixMs};
use switchboard_store::{HistoryStep, OutboundRow, Submitted};

use super::Id;
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::outbound::submit;

pub fn router() -> Routes {
    Routes::new()
        .post("/messages", send)
        .post("/messages/check", check)
        .get("/messages/{id}", one)
        .post("/templates/sync", sync_templates)
        .get("/alerts", alerts)
        .post("/numbers/{id}/resume", resume)
}

const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The policy's limits, and the clock it decides at (see [`crate::clock`]).
/// The JSON of an outbox message.
pub fn message_json(row: &OutboundRow, history: Option<&[HistoryStep]>) -> Value {
    let decision: Value = serde_json::from_str(&row.decision).unwrap_or(Value::Null);
    let error = match (row.status.as_deref(), row.state.as_str()) {
        (Some("failed"), _) => {
            json!({"code": row.status_error_code, "message": "Meta reported the message failed; see the history for Meta's error."})
        }
        (_, "failed" | "refused") => json!({"code": row.error_code, "message": row.error_message}),
        _ => Value::Null,
    };
    let mut v = json!({
        "id": row.id,
        "state": row.state,
        "status": row.status,
        "status_at_ms": row.status_at_ms,
        "wamid": row.wamid,
        "from": row.phone_number_id,
        "to": row.recipient,
        "contact_id": row.contact_id,
        "type": row.kind,
        "category": row.category,
        "template": row.template_name,
        "lane": switchboard_domain::pacing::Lane::from_rank(row.lane).as_str(),
        "attempts": row.attempts,
        "next_attempt_at_ms": if matches!(row.state, OutboxState::Queued | OutboxState::Held) { Some(row.next_attempt_at_ms) } else { None },
        "ambiguous": row.ambiguous,
        "decision": decision,
        "error": error,
        "campaign_id": row.campaign_id,
        "created_at_ms": row.created_at_ms,
        "updated_at_ms": row.updated_at_ms,
    });
    if let Some(h) = history {
        v["history"] = json!(h);
    }
    v
}

/// A refusal as the API answers it: 422 with the policy's code and sentence, and the stored
/// message when there is one (a refusal remembered for its idempotency key).
pub(crate) fn refusal(decision: Value, message: Option<Value>) -> Response {
    let mut body = json!({
        "error": {"code": decision["code"], "message": decision["message"]},
        "decision": decision,
    });
    if let Some(m) = message {
        body["message"] = m;
    }
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

pub(crate) fn stored_refusal(row: &OutboundRow) -> Option<Value> {
    let d: Value = serde_json::from_str(&row.decision).ok()?;
    (d["decision"] == "refuse").then_some(d)
}

/// The answer to a newly submitted message (already priced and woken by the send service):
/// its stored refusal (a refusal remembered for an idempotency key), or 202.
pub(crate) fn queued(row: &OutboundRow) -> Response {
    if let Some(d) = stored_refusal(row) {
        return refusal(d, Some(message_json(row, None)));
    }
    (StatusCode::ACCEPTED, Json(message_json(row, None))).into_response()
}

pub(crate) fn decision_json(d: &Decision) -> Value {
    serde_json::to_value(d).unwrap_or(Value::Null)
}

async fn send(
    caller: ApiCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(Role::Agent)?;
    caller.require_integration("send to any number")?;
    let mut new = submit::read(&state, &body).await?;
    if let Some(k) = headers.get(IDEMPOTENCY_KEY) {
        let k = k
            .to_str()
            .ok()
            .filter(|k| !k.is_empty() && k.len() <= 255)
            .ok_or_else(|| {
                ApiError::invalid(
                    "Idempotency-Key",
                    "The Idempotency-Key header must be 1 to 255 visible ASCII characters.",
                )
            })?;
        // Keys are per API key, so two integrations cannot collide.
        new.idempotency_key = Some(format!("{}:{k}", caller.idempotency_scope()));
    }
    new.created_by = Some(caller.actor());
    let mut out = submit::submit(&state, &[new]).await?;
    let result = out
        .pop()
        .ok_or_else(|| ApiError::Internal("no submit result".into()))?;
    Ok(match result {
        Submitted::New(row) => queued(&row),
        Submitted::Replayed(row) => {
            let replay = [("idempotent-replayed", "true")];
            match stored_refusal(&row) {
                Some(d) => (replay, refusal(d, Some(message_json(&row, None)))).into_response(),
                None => (StatusCode::OK, replay, Json(message_json(&row, None))).into_response(),
            }
        }
        Submitted::Refused(d) => refusal(decision_json(&d), None),
        Submitted::KeyReused => {
            return Err(ApiError::Conflict {
                code: "idempotency_key_reused",
                message: "This Idempotency-Key was already used for a different request; use a new key for a new message.".into(),
            });
        }
    })
}

async fn check(
    caller: ApiCaller,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Agent)?;
    let new = submit::read(&state, &body).await?;
    let mut out = submit::check(&state, &[new]).await?;
    let d = out
        .pop()
        .ok_or_else(|| ApiError::Internal("the check gave no decision".into()))?;
    let allowed = matches!(d, Decision::Allow { .. });
    Ok(Json(json!({"allowed": allowed, "decision": d})))
}

async fn one(
    caller: ApiCaller,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Agent)?;
    let row = state
        .store
        .outbound(id)
        .await
        .map_err(|e| super::not_found_or(e, format!("Message {id}")))?;
    let history = state.store.outbound_history(id).await?;
    Ok(Json(message_json(&row, Some(&history))))
}

async fn sync_templates(
    caller: ApiCaller,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    let synced = crate::outbound::templates::sync_all(&state.store, &state.graph, &state.config)
        .await
        .map_err(|e| ApiError::Conflict {
            code: "graph_unavailable",
            message: format!("Meta's template list could not be read: {e}. Try again shortly."),
        })?;
    Ok(Json(json!({"synced": synced})))
}

async fn alerts(caller: ApiCaller, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    Ok(Json(json!({"alerts": state.store.alerts(100).await?})))
}

async fn resume(
    caller: ApiCaller,
    State(state): State<AppState>,
    axum::extract::Path(number): axum::extract::Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    state.outbound.number(Some(&number))?;
    let resumed = state.store.resume_sender(&number, UnixMs::now().0).await?;
    state.outbound.wake(&number);
    Ok(Json(json!({"number": number, "resumed": resumed})))
}
