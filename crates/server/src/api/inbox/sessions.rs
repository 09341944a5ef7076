//! Sessions: log in and out, change the password, and who is logged in. A session is a random
//! cookie whose hash alone is stored, with a CSRF token of its own; failed logins are limited
//! per account and per address.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_domain::UnixMs;

use crate::AppState;
use crate::agents::{
    Agent, ClientAddr, MIN_PASSWORD_CHARS, SESSION_MS, clear_cookie, hash_password, random_token,
    session_cookie, token_hash, verify_password,
};
use crate::error::ApiError;

/// Whether the session cookie gets `Secure`: always when the operator says the inbox is served
/// over https, else when the proxy in front says this request came over https.
fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.config.http.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            == Some("https")
}

fn too_many_logins(wait: u64) -> ApiError {
    ApiError::TooMany {
        code: "too_many_attempts",
        message: format!(
            "Too many failed logins; try again in {} minute(s).",
            wait.div_ceil(60)
        ),
        retry_after_secs: wait,
    }
}

fn invalid_login() -> ApiError {
    ApiError::Rejected {
        code: "invalid_login",
        message: "The email or password is not right.".into(),
        details: Value::Null,
    }
}

/// A login body must be JSON: a cross-site HTML form cannot send `application/json` (so it
/// cannot log a victim's browser in to an attacker's account), and a browser marks such a
/// request cross-site anyway.
fn json_from_this_site(parts: &axum::http::request::Parts) -> Result<(), ApiError> {
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json {
        return Err(ApiError::invalid(
            "content-type",
            "Send the login as JSON (content-type: application/json).",
        ));
    }
    if crate::agents::cross_site(parts) {
        return Err(ApiError::Csrf);
    }
    Ok(())
}

/// Starts a session for `user`: a new random token (never one the browser brought), only its
/// hash stored, and a CSRF token of its own.
async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    user: &switchboard_store::UserRow,
) -> Result<(String, String), ApiError> {
    let token = random_token();
    let csrf = random_token();
    let now = UnixMs::now().0;
    state
        .store
        .create_session(&token_hash(&token), user.id, &csrf, now, now + SESSION_MS)
        .await?;
    Ok((session_cookie(&token, secure(state, headers)), csrf))
}

#[derive(Deserialize)]
struct Login {
    email: String,
    password: String,
}

pub(super) async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    req: axum::extract::Request,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    json_from_this_site(&parts)?;
    let body = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| ApiError::invalid("body", "Send {\"email\", \"password\"}."))?;
    let l: Login = serde_json::from_slice(&body)
        .map_err(|_| ApiError::invalid("body", "Send {\"email\", \"password\"}."))?;
    let email = l.email.trim().to_lowercase();
    state.logins.check(&email, addr).map_err(too_many_logins)?;
    let user = state.store.user_by_email(&email).await?;
    // Verify even for an unknown account, so timing does not tell which emails exist.
    let (phc, user) = match user {
        Some(u) if u.disabled_at_ms.is_none() => (u.password_hash.clone(), Some(u)),
        _ => (dummy_hash(), None),
    };
    let password = l.password;
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|_| ok) else {
        tracing::info!("failed login");
        return Err(invalid_login());
    };
    state.logins.succeeded(&email, addr);
    let (cookie, csrf) = start_session(&state, &parts.headers, &user).await?;
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(json!({"user": user, "csrf_token": csrf})),
    )
        .into_response())
}

pub(super) async fn logout(
    agent: Agent,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    state.store.delete_session(&agent.token_hash).await?;
    Ok((
        [(header::SET_COOKIE, clear_cookie(secure(&state, &headers)))],
        StatusCode::NO_CONTENT,
    )
        .into_response())
}

#[derive(Deserialize)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Changes the logged-in person's password: the current one is checked (and limited like a
/// login), every session of theirs ends (other browsers, and whoever had the old password),
/// and this browser gets a new session.
pub(super) async fn change_password(
    agent: Agent,
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b: PasswordChange = serde_json::from_slice(&body)
        .map_err(|_| ApiError::invalid("body", "Send {\"current_password\", \"new_password\"}."))?;
    if b.new_password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::invalid(
            "new_password",
            format!("The new password needs at least {MIN_PASSWORD_CHARS} characters."),
        ));
    }
    let email = agent.user.email.clone();
    state.logins.check(&email, addr).map_err(too_many_logins)?;
    let (current, phc) = (b.current_password, agent.user.password_hash.clone());
    let new = b.new_password;
    let hashed = tokio::task::spawn_blocking(move || {
        verify_password(&current, &phc).then(|| hash_password(&new))
    })
    .await
    .map_err(|e| ApiError::Internal(Box::new(e)))?;
    let Some(hashed) = hashed else {
        return Err(ApiError::Rejected {
            code: "wrong_password",
            message: "The current password is not right.".into(),
            details: Value::Null,
        });
    };
    let hashed = hashed.map_err(|e| ApiError::Internal(e.into()))?;
    state.logins.succeeded(&email, addr);
    state.store.set_password(agent.user.id, &hashed).await?;
    tracing::info!(
        user_id = agent.user.id,
        "password changed; every session of the user ended"
    );
    let (cookie, csrf) = start_session(&state, &headers, &agent.user).await?;
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(json!({"csrf_token": csrf})),
    )
        .into_response())
}

#[derive(Deserialize)]
pub(super) struct Since {
    since: Option<i64>,
}

/// Who is logged in, their CSRF token, and conversations taken over from them since `since`.
pub(super) async fn me(
    agent: Agent,
    State(state): State<AppState>,
    Query(q): Query<Since>,
) -> Result<Json<Value>, ApiError> {
    let taken = state
        .store
        .taken_from(agent.user.id, q.since.unwrap_or(0))
        .await?;
    Ok(Json(
        json!({"user": agent.user, "csrf_token": agent.csrf, "taken_over_from_you": taken}),
    ))
}

/// A real Argon2id hash to verify against when the account does not exist (same cost).
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| crate::agents::hash_password(&random_token()).unwrap_or_default())
        .clone()
}
