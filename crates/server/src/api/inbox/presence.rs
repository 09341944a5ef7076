//! Who is around: the heartbeat that makes an agent online for routing, and "X is viewing" /
//! "X is typing" on a conversation, told to everyone watching it.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use switchboard_domain::UnixMs;

use super::conversation_exists;
use crate::AppState;
use crate::agents::Agent;
use crate::api::Id;
use crate::error::ApiError;

#[derive(Deserialize)]
struct PresenceBody {
    #[serde(default)]
    typing: bool,
}

/// "X is viewing" (and "X is typing"): told to everyone watching; the inbox sends it while an
/// agent has the conversation open.
pub(super) async fn conversation_presence(
    agent: Agent,
    State(state): State<AppState>,
    Id(id): Id,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let b: PresenceBody = serde_json::from_slice(&body).unwrap_or(PresenceBody { typing: false });
    conversation_exists(&state, id).await?;
    state.events.publish(
        "presence",
        Some(id),
        json!({"user_id": agent.user.id, "name": agent.user.name, "typing": b.typing}),
    );
    Ok(StatusCode::NO_CONTENT)
}

/// The inbox's heartbeat: an agent seen in the last minute is online for routing.
pub(super) async fn presence(
    agent: Agent,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .touch_presence(agent.user.id, UnixMs::now().0)
        .await?;
    state.router_wake.notify_one();
    Ok(StatusCode::NO_CONTENT)
}
