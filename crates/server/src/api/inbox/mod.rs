//! The inbox's rules, enforced by the server: log in and out; a conversation has one
//! assignee; claiming takes an unassigned one, a transfer is the holder's (or an admin's), a
//! take-over is explicit and recorded, and its previous holder is told; replying requires
//! holding the conversation, and a reply written against an older view of the thread is
//! refused until confirmed. Another agent's reply is refused with a clear message, not hidden.
//!
//! One file per action: `sessions` (log in and out, the password, who am I), `assignment`
//! (claim, release, transfer, take over, and the record of who held what), `replies` (reply
//! and its dry run), `conversation` (status, notes, labels, read), `presence`, `events` (the
//! live stream), `teams` (routing and budgets) and `canned` (canned responses). The rules
//! several actions share (who holds a conversation) live here.

mod assignment;
mod canned;
mod conversation;
mod events;
mod presence;
mod replies;
mod sessions;
mod teams;

use switchboard_domain::Role;

use crate::AppState;
use crate::agents::Agent;
use crate::error::ApiError;
use crate::routes::Routes;

pub fn router() -> Routes {
    Routes::new()
        .post("/auth/login", sessions::login)
        .post("/auth/logout", sessions::logout)
        .post("/auth/password", sessions::change_password)
        .get("/auth/me", sessions::me)
        .post("/conversations/{id}/claim", assignment::claim)
        .post("/conversations/{id}/release", assignment::release)
        .post("/conversations/{id}/assign", assignment::assign)
        .post("/conversations/{id}/take-over", assignment::take_over)
        .post("/conversations/{id}/reply", replies::reply)
        .get("/conversations/{id}/events", assignment::events)
        .post("/conversations/{id}/status", conversation::set_status)
        .post("/conversations/{id}/notes", conversation::note)
        .post("/conversations/{id}/labels/{label}", conversation::label)
        .delete("/conversations/{id}/labels/{label}", conversation::label)
        .post("/auth/presence", presence::presence)
        .get("/teams", teams::teams)
        .put("/teams/{name}/routing", teams::set_routing)
        .put("/teams/{name}/budget", teams::set_budget)
        .get("/events", events::stream)
        .post(
            "/conversations/{id}/presence",
            presence::conversation_presence,
        )
        .post("/conversations/{id}/check", replies::check_reply)
        .post("/conversations/{id}/read", conversation::mark_read)
        .get("/canned-responses", canned::canned_list)
        .post("/canned-responses", canned::canned_create)
        .delete("/canned-responses/{id}", canned::canned_delete)
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
        .map_err(|e| crate::api::not_found_or(e, format!("Conversation {id}")))
}

/// Who holds conversation `id`, if anyone (404 when there is no such conversation).
async fn holder_of(state: &AppState, id: i64) -> Result<Option<i64>, ApiError> {
    let conv = state
        .store
        .conversation(id)
        .await
        .map_err(|e| crate::api::not_found_or(e, format!("Conversation {id}")))?;
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
