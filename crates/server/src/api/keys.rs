//! `GET /api/v1/whoami` (any key: check that a key works) and API-key management (admins).

use crate::routes::Routes;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_domain::{Role, UnixMs};

use super::Id;
use crate::AppState;
use crate::auth::{ApiCaller, create_api_key};
use crate::error::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get("/whoami", whoami)
        .get("/api-keys", list)
        .post("/api-keys", create)
        .delete("/api-keys/{id}", revoke)
}

#[derive(Serialize)]
struct WhoAmI {
    key_id: i64,
    name: String,
    role: Role,
}

async fn whoami(caller: ApiCaller) -> Json<WhoAmI> {
    Json(WhoAmI {
        key_id: caller.key_id,
        name: caller.name,
        role: caller.role,
    })
}

#[derive(Serialize)]
struct KeyView {
    id: i64,
    name: String,
    role: Role,
    prefix: String,
    created_at_ms: i64,
    last_used_at_ms: Option<i64>,
    revoked_at_ms: Option<i64>,
}

async fn list(
    caller: ApiCaller,
    State(state): State<AppState>,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    caller.require(Role::Admin)?;
    let keys = state.store.list_api_keys().await?;
    Ok(Json(
        keys.into_iter()
            .map(|k| KeyView {
                id: k.id,
                name: k.name,
                role: k.role,
                prefix: k.prefix,
                created_at_ms: k.created_at_ms,
                last_used_at_ms: k.last_used_at_ms,
                revoked_at_ms: k.revoked_at_ms,
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
struct CreateKey {
    name: String,
    role: String,
}

#[derive(Serialize)]
struct CreatedKey {
    id: i64,
    name: String,
    role: Role,
    /// Shown once; only a hash is stored.
    key: String,
}

async fn create(
    caller: ApiCaller,
    State(state): State<AppState>,
    body: Result<Json<CreateKey>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    caller.require(Role::Admin)?;
    let Json(body) = body.map_err(|e| {
        ApiError::invalid(
            "body",
            format!(
                "Send JSON like {{\"name\": \"ci\", \"role\": \"agent\"}}: {}",
                e.body_text()
            ),
        )
    })?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid(
            "name",
            "Give the key a name of 1 to 100 characters, e.g. the system that will use it.",
        ));
    }
    let role = Role::parse(&body.role)
        .ok_or_else(|| ApiError::invalid("role", "The role must be \"admin\" or \"agent\"."))?;
    let (id, key) = create_api_key(&state.store, name, role).await?;
    tracing::info!(key_id = id, created_by = %caller.actor(), role = %role, "api key created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            id,
            name: name.to_owned(),
            role,
            key,
        }),
    ))
}

async fn revoke(
    caller: ApiCaller,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Admin)?;
    if state.store.revoke_api_key(id, UnixMs::now().0).await? {
        tracing::info!(key_id = id, revoked_by = %caller.actor(), "api key revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound {
            what: format!("A live API key with id {id}"),
        })
    }
}
