//! An agent's reply: only from the holder, always to the conversation's customer, refused when
//! the thread changed since the agent started writing (unless confirmed), and a dry run the
//! composer uses to show a refusal before sending.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};
use switchboard_domain::pacing::Lane;
use switchboard_store::Submitted;

use super::{holder_of, name_of};
use crate::AppState;
use crate::agents::Agent;
use crate::api::Id;
use crate::api::messages::{decision_json, refusal, stored_refusal};
use crate::error::ApiError;

/// A reply from the holder: Meta's message body without a recipient (the conversation's
/// customer), plus `seen_message_id` (the newest message the agent saw) and `confirm`.
pub(super) async fn reply(
    agent: Agent,
    State(state): State<AppState>,
    Id(id): Id,
    body: Bytes,
) -> Result<Response, ApiError> {
    let holder = holder_of(&state, id).await?;
    match holder {
        Some(h) if h == agent.user.id => {}
        Some(h) => {
            return Err(ApiError::Conflict {
                code: "not_assignee",
                message: format!(
                    "{} holds this conversation, so your reply was not sent; take it over to reply.",
                    name_of(&state, Some(h)).await
                ),
            });
        }
        None => {
            return Err(ApiError::Conflict {
                code: "not_assigned",
                message: "Nobody holds this conversation yet; claim it, then reply.".into(),
            });
        }
    }
    let mut v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid("body", format!("The body is not JSON: {e}.")))?;
    let obj = v
        .as_object_mut()
        .ok_or_else(|| ApiError::invalid("body", "The body must be a JSON object."))?;
    let seen = obj.remove("seen_message_id").and_then(|s| s.as_i64());
    let confirm = obj
        .remove("confirm")
        .and_then(|c| c.as_bool())
        .unwrap_or(false);
    if let (Some(seen), false) = (seen, confirm)
        && let Some(latest) = state.store.last_message_id(id).await?
        && latest > seen
    {
        return Err(ApiError::Rejected {
            code: "thread_changed",
            message: "New messages arrived in this conversation since you started writing; read them, then send again (with \"confirm\": true to send as written).".into(),
            details: json!({"latest_message_id": latest}),
        });
    }
    let mut new = reply_send(&state, id, v).await?;
    new.created_by = Some(format!("user:{}", agent.user.id));
    let out = crate::outbound::submit::submit(&state, &[new]).await?;
    Ok(match out.into_iter().next() {
        Some(Submitted::New(row)) => {
            if stored_refusal(&row).is_none() {
                state.events.publish(
                    "message",
                    Some(id),
                    json!({"outbound_id": row.id, "by": agent.user.name}),
                );
            }
            crate::api::messages::queued(&row)
        }
        Some(Submitted::Refused(d)) => refusal(decision_json(&d), None),
        _ => return Err(ApiError::Internal("no submit result".into())),
    })
}

/// A reply's body made a send: to the conversation's customer (never whoever the body names),
/// from its number, in the agents' lane.
async fn reply_send(
    state: &AppState,
    id: i64,
    mut v: Value,
) -> Result<switchboard_store::NewSend, ApiError> {
    let obj = v
        .as_object_mut()
        .ok_or_else(|| ApiError::invalid("body", "The body must be a JSON object."))?;
    obj.remove("seen_message_id");
    obj.remove("confirm");
    let (number, wa_id, bsuid) = state.store.conversation_target(id).await?;
    // The conversation decides who gets the reply, never the body.
    obj.remove("to");
    obj.remove("recipient");
    match (wa_id, bsuid) {
        (Some(w), _) => obj.insert("to".into(), json!(format!("+{w}"))),
        (None, Some(b)) => obj.insert("recipient".into(), json!(b)),
        (None, None) => {
            return Err(ApiError::Conflict {
                code: "no_recipient",
                message: "This conversation's customer has no phone number or BSUID to reply to."
                    .into(),
            });
        }
    };
    obj.insert("from".into(), json!(number));
    obj.insert("lane".into(), json!(Lane::Agent.as_str()));
    let raw = serde_json::to_vec(&v).map_err(|e| ApiError::Internal(Box::new(e)))?;
    crate::outbound::submit::read(state, &raw).await
}

/// What would happen to this reply, without sending it: the inbox shows a refusal (window
/// closed, opted out, template not approved, parameters missing) before the agent sends.
pub(super) async fn check_reply(
    agent: Agent,
    State(state): State<AppState>,
    Id(id): Id,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let holder = holder_of(&state, id).await?;
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid("body", format!("The body is not JSON: {e}.")))?;
    let new = reply_send(&state, id, v).await?;
    // Who holds it decides first, as it does for the reply itself.
    let refusal = match holder {
        Some(h) if h == agent.user.id => None,
        Some(h) => Some((
            "not_assignee",
            format!(
                "{} holds this conversation, so your reply would not be sent; take it over to reply.",
                name_of(&state, Some(h)).await
            ),
        )),
        None => Some((
            "not_assigned",
            "Nobody holds this conversation yet; claim it, then reply.".to_owned(),
        )),
    };
    if let Some((code, message)) = refusal {
        return Ok(Json(json!({
            "allowed": false,
            "decision": {"decision": "refuse", "code": code, "message": message},
        })));
    }
    let mut out = crate::outbound::submit::check(&state, &[new]).await?;
    let d = out
        .pop()
        .ok_or_else(|| ApiError::Internal("the check gave no decision".into()))?;
    Ok(Json(json!({
        "allowed": matches!(d, switchboard_domain::policy::Decision::Allow { .. }),
        "decision": decision_json(&d),
    })))
}
