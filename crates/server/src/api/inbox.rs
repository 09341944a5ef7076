//! The inbox's rules, enforced by the server: log in and out; a conversation has one
//! assignee; claiming takes an unassigned one, a transfer is the holder's (or an admin's), a
//! take-over is explicit and recorded, and its previous holder is told; replying requires
//! holding the conversation, and a reply written against an older view of the thread is
//! refused until confirmed. Another agent's reply is refused with a clear message, not hidden.

use crate::routes::Routes;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_domain::pacing::Lane;
use switchboard_domain::{Role, UnixMs};
use switchboard_store::{Hand, Submitted};

use super::Id;
use super::messages::{decision_json, refusal, stored_refusal};
use crate::AppState;
use crate::agents::{
    Agent, ClientAddr, MIN_PASSWORD_CHARS, SESSION_MS, clear_cookie, hash_password, random_token,
    session_cookie, token_hash, verify_password,
};
use crate::error::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .post("/auth/login", login)
        .post("/auth/logout", logout)
        .post("/auth/password", change_password)
        .get("/auth/me", me)
        .post("/conversations/{id}/claim", claim)
        .post("/conversations/{id}/release", release)
        .post("/conversations/{id}/assign", assign)
        .post("/conversations/{id}/take-over", take_over)
        .post("/conversations/{id}/reply", reply)
        .get("/conversations/{id}/events", events)
        .post("/conversations/{id}/status", set_status)
        .post("/conversations/{id}/notes", note)
        .post("/conversations/{id}/labels/{label}", label)
        .delete("/conversations/{id}/labels/{label}", label)
        .post("/auth/presence", presence)
        .get("/teams", teams)
        .put("/teams/{name}/routing", set_routing)
        .put("/teams/{name}/budget", set_budget)
        .get("/events", stream)
        .post("/conversations/{id}/presence", conversation_presence)
        .post("/conversations/{id}/check", check_reply)
        .post("/conversations/{id}/read", mark_read)
        .get("/canned-responses", canned_list)
        .post("/canned-responses", canned_create)
        .delete("/canned-responses/{id}", canned_delete)
}

/// Live updates as server-sent events: every change as it is applied (`message`, `status`,
/// `assignment`, `conversation`, `note`, `presence`), each with its conversation id; a
/// `lagged` event when this client fell behind and should reload.
async fn stream(
    agent: Agent,
    State(state): State<AppState>,
) -> Result<
    axum::response::sse::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
    ApiError,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    // Held by the stream: the slot is given back when the browser goes away.
    let slot = state.limits.stream(&format!("u{}", agent.user.id))?;
    let rx = state.events.subscribe();
    let stop = state.shutdown.clone();
    let stream = futures_util::stream::unfold((rx, slot), |(mut rx, slot)| async move {
        let ev = match rx.recv().await {
            Ok(e) => Event::default()
                .event(e.kind)
                .data(json!({"conversation_id": e.conversation_id, "data": e.data}).to_string()),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => Event::default()
                .event("lagged")
                .data(json!({"missed": n}).to_string()),
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(ev), (rx, slot)))
    });
    use futures_util::StreamExt;
    let stream = stream.take_until(stop.cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[derive(Deserialize)]
struct PresenceBody {
    #[serde(default)]
    typing: bool,
}

/// "X is viewing" (and "X is typing"): told to everyone watching; the inbox sends it while an
/// agent has the conversation open.
async fn conversation_presence(
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

async fn login(
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

async fn logout(
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
async fn change_password(
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
struct Since {
    since: Option<i64>,
}

/// Who is logged in, their CSRF token, and conversations taken over from them since `since`.
async fn me(
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

async fn name_of(state: &AppState, id: Option<i64>) -> String {
    match id {
        None => "nobody".into(),
        Some(id) => state
            .store
            .user(id)
            .await
            .map(|u| u.name)
            .unwrap_or_else(|_| format!("user {id}")),
    }
}

async fn conversation_exists(state: &AppState, id: i64) -> Result<(), ApiError> {
    state
        .store
        .conversation(id)
        .await
        .map(|_| ())
        .map_err(|e| super::not_found_or(e, format!("Conversation {id}")))
}

/// Who holds conversation `id`, if anyone (404 when there is no such conversation).
async fn holder_of(state: &AppState, id: i64) -> Result<Option<i64>, ApiError> {
    let conv = state
        .store
        .conversation(id)
        .await
        .map_err(|e| super::not_found_or(e, format!("Conversation {id}")))?;
    Ok(conv.assignee.as_deref().and_then(|a| a.parse::<i64>().ok()))
}

/// A conversation someone else holds is theirs: only they, or an admin, may `what` (anyone
/// may when nobody holds it; an agent who must act takes it over first, which is recorded).
async fn not_held_by_another(
    state: &AppState,
    agent: &Agent,
    id: i64,
    what: &str,
) -> Result<(), ApiError> {
    let holder = holder_of(state, id).await?;
    if agent.role != Role::Admin && holder.is_some_and(|h| h != agent.user.id) {
        return Err(ApiError::Conflict {
            code: "not_assignee",
            message: format!(
                "{} holds this conversation; only they (or an admin) can {what}. Take it over first if you must.",
                name_of(state, holder).await
            ),
        });
    }
    Ok(())
}

/// Changes hands if `hand` allows it, and tells every open inbox when it did.
async fn change_hands(
    state: &AppState,
    id: i64,
    to: Option<i64>,
    actor: i64,
    hand: Hand,
    kind: &'static str,
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
            json!({"assignee": a.assignee, "previous": a.previous, "kind": kind, "actor": actor, "actor_name": by}),
        );
    }
    Ok(a)
}

async fn claim(
    agent: Agent,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    let me = agent.user.id;
    let a = change_hands(&state, id, Some(me), me, Hand::IfUnassigned, "claimed").await?;
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

async fn release(
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
        "released",
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
async fn assign(
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
        .map_err(|e| super::not_found_or(e, format!("User {}", to.user_id)))?;
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
        "transferred",
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
async fn take_over(
    agent: Agent,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    let me = agent.user.id;
    let a = change_hands(&state, id, Some(me), me, Hand::Regardless, "taken_over").await?;
    Ok(Json(json!({
        "conversation_id": id, "assignee": a.assignee, "previous": a.previous,
        "previous_name": name_of(&state, a.previous).await,
    })))
}

async fn events(
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

/// A reply from the holder: Meta's message body without a recipient (the conversation's
/// customer), plus `seen_message_id` (the newest message the agent saw) and `confirm`.
async fn reply(
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
            super::messages::queued(&row)
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
async fn check_reply(
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

/// The agent has read the conversation: its unread count is cleared for everyone.
async fn mark_read(
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

async fn canned_list(
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
async fn canned_create(
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

async fn canned_delete(
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

/// A real Argon2id hash to verify against when the account does not exist (same cost).
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| crate::agents::hash_password(&random_token()).unwrap_or_default())
        .clone()
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
}

/// Open, pending or resolved: by the holder, or an admin. A customer's message reopens.
async fn set_status(
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
    if !matches!(b.status.as_str(), "open" | "pending" | "resolved") {
        return Err(ApiError::invalid(
            "status",
            "status must be open, pending or resolved.",
        ));
    }
    not_held_by_another(&state, &agent, id, "change its status").await?;
    state
        .store
        .set_conversation_status(id, &b.status, agent.user.id, UnixMs::now().0)
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
async fn note(
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

async fn label(
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

/// The inbox's heartbeat: an agent seen in the last minute is online for routing.
async fn presence(agent: Agent, State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    state
        .store
        .touch_presence(agent.user.id, UnixMs::now().0)
        .await?;
    state.router_wake.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

async fn teams(
    caller: crate::auth::ApiCaller,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Agent)?;
    let rows = state.store.teams().await?;
    Ok(Json(
        json!({"data": rows.into_iter().map(|(id, name, rules)| json!({"id": id, "name": name,
        "routing": rules.and_then(|r| serde_json::from_str::<Value>(&r).ok())})).collect::<Vec<_>>()}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetBody {
    /// A decimal amount in the rate card's currency, e.g. "250.00"; null clears it.
    monthly_budget: Option<String>,
}

/// A team's monthly budget (admins): a campaign for the team that would pass it is refused
/// unless confirmed.
async fn set_budget(
    caller: crate::auth::ApiCaller,
    State(state): State<AppState>,
    axum::extract::Path(team): axum::extract::Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    let b: BudgetBody = serde_json::from_slice(&body).map_err(|_| {
        ApiError::invalid(
            "body",
            "Send {\"monthly_budget\": \"250.00\"} (or null to clear it).",
        )
    })?;
    let micros = match &b.monthly_budget {
        None => None,
        Some(s) => Some(
            switchboard_domain::pricing::Micros::parse(s)
                .ok()
                .filter(|m| m.0 >= 0)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "monthly_budget",
                        format!("{s:?} is not an amount; write it like \"250.00\"."),
                    )
                })?
                .0,
        ),
    };
    let name = team.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid(
            "name",
            "A team name has 1 to 100 characters.",
        ));
    }
    let id = state
        .store
        .set_team_budget(name, micros, UnixMs::now().0)
        .await?;
    Ok(Json(
        json!({"team_id": id, "name": name, "monthly_budget_micros": micros}),
    ))
}

/// A team's routing rules: `strategy` (`round_robin`, `least_open`), `capacity` per agent,
/// business `hours` (`utc_offset_minutes`, `weekly`: [weekday 0=Monday, start minute, end
/// minute]), and the `numbers` it takes (empty: all). Admins only.
async fn set_routing(
    caller: crate::auth::ApiCaller,
    State(state): State<AppState>,
    axum::extract::Path(team): axum::extract::Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    let mut rules: switchboard_domain::routing::TeamRules = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid("body", format!("These are not routing rules: {e}.")))?;
    if rules
        .hours
        .weekly
        .iter()
        .any(|(d, s, e)| *d > 6 || s >= e || *e > 1_440)
    {
        return Err(ApiError::invalid(
            "hours",
            "Each weekly entry is [weekday 0-6, start minute, end minute] with start < end <= 1440.",
        ));
    }
    // Kept as phone number ids, whichever form the caller used (routing matches ids).
    rules.numbers = rules
        .numbers
        .iter()
        .map(|n| {
            state
                .outbound
                .number(Some(n))
                .map(|c| c.phone_number_id.clone())
        })
        .collect::<Result<_, _>>()?;
    let json = serde_json::to_string(&rules).map_err(|e| ApiError::Internal(Box::new(e)))?;
    let id = state
        .store
        .set_team_rules(team.trim(), &json, UnixMs::now().0)
        .await?;
    state.router_wake.notify_one();
    Ok(Json(json!({"team_id": id, "name": team, "routing": rules})))
}
