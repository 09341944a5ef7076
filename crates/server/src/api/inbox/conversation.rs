//! A conversation's state in the inbox: open, pending or resolved; internal notes; labels; and
//! read. Status and notes belong to the holder (or an admin).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_domain::UnixMs;
use switchboard_domain::conversation::ConversationStatus;

use super::{conversation_exists, not_held_by_another};
use crate::AppState;
use crate::agents::Agent;
use crate::api::Id;
use crate::error::ApiError;

/// The agent has read the conversation: its unread count is cleared for everyone.
pub(super) async fn mark_read(
    agent: Agent,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    let _ = agent;
    conversation_exists(&state, id).await?;
    if state.store.mark_read(id).await? {
        state
            .events
            .publish("conversation", Some(id), json!({"unread_count": 0}));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
}

/// Open, pending or resolved: by the holder, or an admin. A customer's message reopens.
pub(super) async fn set_status(
    agent: Agent,
    State(state): State<AppState>,
    Id(id): Id,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let b: StatusBody = serde_json::from_slice(&body).map_err(|_| {
        ApiError::invalid(
            "body",
            "Send {\"status\": \"open\" | \"pending\" | \"resolved\"}.",
        )
    })?;
    let Some(status) = ConversationStatus::parse(&b.status) else {
        return Err(ApiError::invalid(
            "status",
            "status must be open, pending or resolved.",
        ));
    };
    not_held_by_another(&state, &agent, id, "change its status").await?;
    state
        .store
        .set_conversation_status(id, status, agent.user.id, UnixMs::now().0)
        .await?;
    state
        .events
        .publish("conversation", Some(id), json!({"status": b.status}));
    Ok(Json(json!({"conversation_id": id, "status": b.status})))
}

#[derive(Deserialize)]
struct NoteBody {
    text: String,
}

/// An internal note: seen by the team, never sent to the customer.
pub(super) async fn note(
    agent: Agent,
    State(state): State<AppState>,
    Id(id): Id,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b: NoteBody =
        serde_json::from_slice(&body).map_err(|_| ApiError::invalid("body", "Send {\"text\"}."))?;
    if b.text.trim().is_empty() || b.text.chars().count() > 10_000 {
        return Err(ApiError::invalid(
            "text",
            "A note has 1 to 10,000 characters.",
        ));
    }
    not_held_by_another(&state, &agent, id, "add notes to it").await?;
    state
        .store
        .add_note(id, agent.user.id, b.text.trim(), UnixMs::now().0)
        .await?;
    state
        .events
        .publish("note", Some(id), json!({"by": agent.user.name}));
    Ok((StatusCode::CREATED, Json(json!({"conversation_id": id}))))
}

pub(super) async fn label(
    agent: Agent,
    State(state): State<AppState>,
    axum::extract::Path((id, label)): axum::extract::Path<(String, String)>,
    method: axum::http::Method,
) -> Result<Json<Value>, ApiError> {
    let _ = agent;
    let id: i64 = id.parse().map_err(|_| {
        ApiError::invalid("id", format!("{id:?} is not an id; ids are whole numbers."))
    })?;
    let label = label.trim().to_lowercase();
    if label.is_empty() || label.chars().count() > 64 {
        return Err(ApiError::invalid(
            "label",
            "A label has 1 to 64 characters.",
        ));
    }
    conversation_exists(&state, id).await?;
    let labels = state
        .store
        .set_label(id, &label, method != axum::http::Method::DELETE)
        .await?;
    state
        .events
        .publish("conversation", Some(id), json!({"labels": labels}));
    Ok(Json(json!({"conversation_id": id, "labels": labels})))
}
