//! Who holds a conversation: claim an unassigned one, release it, transfer it (the holder, or
//! an admin assigns), or take it over (explicit, recorded, and the previous holder is told).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_domain::conversation::EventKind;
use switchboard_domain::{Role, UnixMs};
use switchboard_store::Hand;

use super::{conversation_exists, name_of};
use crate::AppState;
use crate::agents::Agent;
use crate::api::Id;
use crate::error::ApiError;

/// Changes hands if `hand` allows it, and tells every open inbox when it did.
async fn change_hands(
    state: &AppState,
    id: i64,
    to: Option<i64>,
    actor: i64,
    hand: Hand,
    kind: EventKind,
) -> Result<switchboard_store::Assigned, ApiError> {
    conversation_exists(state, id).await?;
    let a = state
        .store
        .assign_conversation(id, to, Some(actor), hand, kind, UnixMs::now().0)
        .await?;
    if a.applied {
        let by = name_of(state, Some(actor)).await;
        state.events.publish(
            "assignment",
            Some(id),
            json!({"assignee": a.assignee, "previous": a.previous, "kind": kind.as_str(), "actor": actor, "actor_name": by}),
        );
    }
    Ok(a)
}

pub(super) async fn claim(
    agent: Agent,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    let me = agent.user.id;
    let a = change_hands(
        &state,
        id,
        Some(me),
        me,
        Hand::IfUnassigned,
        EventKind::Claimed,
    )
    .await?;
    if !a.applied {
        return Err(ApiError::Conflict {
            code: "assigned_to_other",
            message: format!(
                "{} holds this conversation; ask them to transfer it, or take it over.",
                name_of(&state, a.previous).await
            ),
        });
    }
    Ok(Json(json!({"conversation_id": id, "assignee": a.assignee})))
}

pub(super) async fn release(
    agent: Agent,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    let a = change_hands(
        &state,
        id,
        None,
        agent.user.id,
        Hand::IfHeldByActor,
        EventKind::Released,
    )
    .await?;
    if !a.applied {
        return Err(ApiError::Conflict {
            code: "not_assignee",
            message: "Only the agent holding a conversation can release it.".into(),
        });
    }
    Ok(Json(json!({"conversation_id": id, "assignee": null})))
}

#[derive(Deserialize)]
struct AssignTo {
    user_id: i64,
}

/// A transfer by the holder, or an assignment by an admin.
pub(super) async fn assign(
    agent: Agent,
    State(state): State<AppState>,
    Id(id): Id,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let to: AssignTo = serde_json::from_slice(&body)
        .map_err(|_| ApiError::invalid("body", "Send {\"user_id\"}."))?;
    let target = state
        .store
        .user(to.user_id)
        .await
        .map_err(|e| crate::api::not_found_or(e, format!("User {}", to.user_id)))?;
    if target.disabled_at_ms.is_some() {
        return Err(ApiError::invalid("user_id", "That user is disabled."));
    }
    let hand = if agent.role == Role::Admin {
        Hand::Regardless
    } else {
        Hand::IfHeldByActor
    };
    let a = change_hands(
        &state,
        id,
        Some(target.id),
        agent.user.id,
        hand,
        EventKind::Transferred,
    )
    .await?;
    if !a.applied {
        return Err(ApiError::Conflict {
            code: "not_assignee",
            message: format!(
                "{} holds this conversation; only they (or an admin) can transfer it.",
                name_of(&state, a.previous).await
            ),
        });
    }
    Ok(Json(
        json!({"conversation_id": id, "assignee": a.assignee, "previous": a.previous}),
    ))
}

/// Takes a conversation from whoever holds it: recorded, and the previous holder is told
/// (`GET /api/v1/auth/me` lists what was taken from them).
pub(super) async fn take_over(
    agent: Agent,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    let me = agent.user.id;
    let a = change_hands(
        &state,
        id,
        Some(me),
        me,
        Hand::Regardless,
        EventKind::TakenOver,
    )
    .await?;
    Ok(Json(json!({
        "conversation_id": id, "assignee": a.assignee, "previous": a.previous,
        "previous_name": name_of(&state, a.previous).await,
    })))
}

/// Who held the conversation: its recorded events, oldest first.
pub(super) async fn events(
    agent: Agent,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    let _ = agent;
    conversation_exists(&state, id).await?;
    Ok(Json(
        json!({"data": state.store.conversation_events(id).await?}),
    ))
}
