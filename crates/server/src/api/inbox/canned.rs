//! Canned responses: agents read them, admins write them.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_domain::{Role, UnixMs};

use crate::AppState;
use crate::api::Id;
use crate::error::ApiError;

pub(super) async fn canned_list(
    caller: crate::auth::ApiCaller,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Agent)?;
    Ok(Json(json!({"data": state.store.canned_responses().await?})))
}

#[derive(Deserialize)]
struct CannedBody {
    shortcut: String,
    body: String,
}

/// A canned response (admins): a `shortcut` (letters, digits, `-`, `_`) and its text, which may
/// use `{{contact.name}}`, `{{contact.first_name}}`, `{{agent.name}}` and `{{business.number}}`.
pub(super) async fn canned_create(
    caller: crate::auth::ApiCaller,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Role::Admin)?;
    let b: CannedBody = serde_json::from_slice(&body)
        .map_err(|_| ApiError::invalid("body", "Send {\"shortcut\", \"body\"}."))?;
    let shortcut = b.shortcut.trim().trim_start_matches('/').to_lowercase();
    if shortcut.is_empty()
        || shortcut.len() > 32
        || !shortcut
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::invalid(
            "shortcut",
            "A shortcut has 1 to 32 letters, digits, - or _.",
        ));
    }
    let text = b.body.trim();
    if text.is_empty() || text.chars().count() > 4096 {
        return Err(ApiError::invalid(
            "body",
            "A canned response has 1 to 4,096 characters (Meta's limit for a text message).",
        ));
    }
    match state
        .store
        .create_canned(&shortcut, text, caller.user_id, UnixMs::now().0)
        .await
    {
        Ok(Some(id)) => Ok((
            StatusCode::CREATED,
            Json(json!({"id": id, "shortcut": shortcut, "body": text})),
        )),
        Ok(None) => Err(ApiError::Conflict {
            code: "shortcut_taken",
            message: format!(
                "A canned response /{shortcut} exists; delete it or pick another shortcut."
            ),
        }),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn canned_delete(
    caller: crate::auth::ApiCaller,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Admin)?;
    if state.store.delete_canned(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound {
            what: format!("Canned response {id}"),
        })
    }
}
