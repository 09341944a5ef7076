//! Conversations, their messages, contacts and media (agents and admins).

use crate::routes::Routes;
use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use switchboard_domain::window;
use switchboard_domain::{Role, UnixMs};
use switchboard_store::{ConversationFilter, ConversationRow, MessageRow};

use super::{Id, decode_cursor, encode_cursor, not_found_or};
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get("/conversations", list)
        .get("/conversations/{id}", one)
        .get("/conversations/{id}/messages", messages)
        .get("/contacts/{id}", contact)
        .get("/messages/{id}/media", media)
        .post("/messages/{id}/media/retry", retry_media)
}

fn limit(q: &HashMap<String, String>, default: i64, max: i64) -> Result<i64, ApiError> {
    match q.get("limit") {
        None => Ok(default),
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(
                    "limit",
                    format!("limit must be a whole number from 1 to {max}."),
                )
            }),
    }
}

fn conversation_json(c: &ConversationRow, now: i64) -> Value {
    let now = UnixMs(now);
    let last_inbound = c.last_inbound_at_ms.map(UnixMs);
    let fep_until = c.fep_expires_at_ms.map(UnixMs);
    json!({
        "id": c.id,
        "phone_number_id": c.phone_number_id,
        "status": c.status,
        "assignee": c.assignee,
        "contact": {"id": c.contact_id, "name": c.contact_name, "wa_id": c.contact_wa_id, "bsuid": c.contact_bsuid},
        "last_message_at_ms": c.last_message_at_ms,
        "last_inbound_at_ms": c.last_inbound_at_ms,
        "last_text": c.last_text,
        "unread_count": c.unread_count,
        "service_window": {
            "open": window::window_open(last_inbound, now),
            "expires_at_ms": last_inbound.map(|t| window::window_closes_at(t).0),
        },
        "free_entry_point": {
            "open": window::free_entry_point_open(fep_until, now),
            "expires_at_ms": c.fep_expires_at_ms,
        },
        "created_at_ms": c.created_at_ms,
    })
}

async fn list(
    caller: ApiCaller,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Agent)?;
    let status = q.get("status").cloned();
    if let Some(s) = &status
        && !matches!(s.as_str(), "open" | "pending" | "resolved")
    {
        return Err(ApiError::invalid(
            "status",
            "status must be open, pending or resolved.",
        ));
    }
    let limit = limit(&q, 50, 200)?;
    let (assignee, unassigned) = match q.get("assignee").map(String::as_str) {
        Some("none") => (None, true),
        Some(a) => (Some(a.to_owned()), false),
        None => (None, false),
    };
    let filter = ConversationFilter {
        status,
        assignee,
        unassigned,
        phone_number_id: q.get("number").cloned(),
        label: q.get("label").cloned(),
        search: q.get("q").filter(|s| !s.trim().is_empty()).cloned(),
        before: q.get("cursor").map(|c| decode_cursor(c)).transpose()?,
        limit: limit + 1,
        ..Default::default()
    };
    let mut rows = state.store.conversations(&filter).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|c| encode_cursor(c.last_message_at_ms, c.id))
    } else {
        None
    };
    let now = state.now().0;
    Ok(Json(
        json!({"data": rows.iter().map(|c| conversation_json(c, now)).collect::<Vec<_>>(), "next_cursor": next}),
    ))
}

async fn one(
    caller: ApiCaller,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Agent)?;
    let c = state
        .store
        .conversation(id)
        .await
        .map_err(|e| not_found_or(e, format!("Conversation {id}")))?;
    let mut v = conversation_json(&c, state.now().0);
    v["labels"] = json!(state.store.conversation_labels(id).await?);
    Ok(Json(v))
}

fn message_json(m: &MessageRow) -> Value {
    let payload: Value = serde_json::from_str(&m.payload).unwrap_or(Value::Null);
    json!({
        "id": m.id,
        "wamid": m.wamid,
        "direction": if m.direction == "in" { "inbound" } else { "outbound" },
        "type": m.kind,
        "text": m.text,
        "at_ms": m.meta_at_ms,
        "status": m.status,
        "status_at_ms": m.status_at_ms,
        "error_code": m.error_code,
        "media": m.media_status.as_ref().map(|s| json!({"status": s, "url": format!("/api/v1/messages/{}/media", m.id)})),
        // Meta's JSON as received: unknown types are shown as they came.
        "raw": payload,
    })
}

async fn messages(
    caller: ApiCaller,
    State(state): State<AppState>,
    Id(id): Id,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Agent)?;
    state
        .store
        .conversation(id)
        .await
        .map_err(|e| not_found_or(e, format!("Conversation {id}")))?;
    let limit = limit(&q, 100, 500)?;
    let after = q.get("cursor").map(|c| decode_cursor(c)).transpose()?;
    let mut rows = state.store.messages(id, after, limit + 1).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|m| encode_cursor(m.meta_at_ms, m.id))
    } else {
        None
    };
    Ok(Json(
        json!({"data": rows.iter().map(message_json).collect::<Vec<_>>(), "next_cursor": next}),
    ))
}

async fn contact(
    caller: ApiCaller,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Agent)?;
    let c = state
        .store
        .contact(id)
        .await
        .map_err(|e| not_found_or(e, format!("Contact {id}")))?;
    Ok(Json(json!({
        "id": c.id, "name": c.name, "wa_id": c.wa_id, "bsuid": c.bsuid, "parent_bsuid": c.parent_bsuid,
        "username": c.username, "created_at_ms": c.created_at_ms, "updated_at_ms": c.updated_at_ms,
    })))
}

/// The downloaded file of a media message (authenticated, never a public link).
async fn media(
    caller: ApiCaller,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Response, ApiError> {
    caller.require(Role::Agent)?;
    let m = state
        .store
        .media(id)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("Media of message {id}"),
        })?;
    match (m.status.as_str(), &m.path) {
        ("stored", Some(path)) => {
            let bytes = tokio::fs::read(path)
                .await
                .map_err(|e| ApiError::Internal(Box::new(e)))?;
            let mime = m
                .mime_type
                .unwrap_or_else(|| "application/octet-stream".into());
            // Sender-chosen types are never rendered inline: a customer's HTML or SVG stays a file.
            let headers = [
                ("content-type", mime),
                ("cache-control", "private, max-age=86400".into()),
                ("x-content-type-options", "nosniff".into()),
                ("content-disposition", "attachment".into()),
            ];
            Ok((headers, bytes).into_response())
        }
        (status, _) => Err(ApiError::Conflict {
            code: "media_not_ready",
            message: match status {
                "failed" => format!(
                    "The download failed after {} attempts ({}). Retry with POST /api/v1/messages/{id}/media/retry.",
                    m.attempts,
                    m.last_error.unwrap_or_default()
                ),
                _ => format!(
                    "The file is still being downloaded (attempt {} so far); try again shortly.",
                    m.attempts
                ),
            },
        }),
    }
}

async fn retry_media(
    caller: ApiCaller,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Agent)?;
    if state.store.retry_media(id, UnixMs::now().0).await? {
        Ok(Json(json!({"status": "pending"})))
    } else {
        Err(ApiError::Conflict {
            code: "media_not_failed",
            message: format!("Message {id} has no failed download to retry."),
        })
    }
}
