//! The webhook journal for admins: what Meta delivered, what did not parse (dead letters), and
//! re-projection of a range (safe: projection is idempotent). Item dead letters (one item of a
//! body that could not be applied while the rest was) are listed under `/webhook-events/items`
//! and replayed one by one.

use crate::routes::Routes;
use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_domain::Role;

use crate::AppState;
use crate::api::Id;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::inbound::items::ReplayError;

pub fn router() -> Routes {
    Routes::new()
        .get("/webhook-events", list)
        .post("/webhook-events/replay", replay)
        .get("/webhook-events/items", list_items)
        .post("/webhook-events/items/{id}/replay", replay_item)
}

/// `before`: a page ends below this id.
fn before(q: &HashMap<String, String>) -> Result<Option<i64>, ApiError> {
    q.get("before")
        .map(|b| {
            b.parse::<i64>()
                .map_err(|_| ApiError::invalid("before", "before is an id (a whole number)."))
        })
        .transpose()
}

/// `limit`: 1 to 500, 50 when absent.
fn limit(q: &HashMap<String, String>) -> Result<i64, ApiError> {
    match q.get("limit") {
        None => Ok(50),
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| {
                ApiError::invalid("limit", "limit must be a whole number from 1 to 500.")
            }),
    }
}

async fn list(
    caller: ApiCaller,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    let before = before(&q)?;
    let dead = q.get("dead_letters").is_some_and(|v| v == "true");
    let limit = limit(&q)?;
    let mut rows = state.store.journal(before, dead, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let open_items = state.store.open_item_dead_letter_counts(&ids).await?;
    let data: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.id, "received_at_ms": r.received_at_ms, "deliveries": r.deliveries, "duplicate_of": r.duplicate_of, "app_id": r.app_id,
                "state": match (&r.projected_at_ms, &r.error) { (_, Some(_)) => "dead_letter", (Some(_), None) => "projected", (None, _) => "pending" },
                "error": r.error,
                "open_item_dead_letters": open_items.get(&r.id).copied().unwrap_or(0),
                "body": serde_json::from_slice::<Value>(&r.body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&r.body).into_owned())),
            })
        })
        .collect();
    let next = rows.last().filter(|_| more).map(|r| r.id);
    Ok(Json(json!({"data": data, "next_before": next})))
}

#[derive(Deserialize)]
struct Replay {
    from_id: i64,
    to_id: i64,
}

async fn replay(
    caller: ApiCaller,
    State(state): State<AppState>,
    body: Result<Json<Replay>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    let Json(r) = body.map_err(|e| {
        ApiError::invalid(
            "body",
            format!(
                "Send JSON like {{\"from_id\": 1, \"to_id\": 100}}: {}",
                e.body_text()
            ),
        )
    })?;
    if r.from_id > r.to_id || r.from_id < 1 {
        return Err(ApiError::invalid(
            "from_id",
            "from_id must be at least 1 and not above to_id.",
        ));
    }
    let n = state.store.replay_webhooks(r.from_id, r.to_id).await?;
    state.inbound.projector_wake.notify_one();
    tracing::info!(
        from = r.from_id,
        to = r.to_id,
        rows = n,
        by = %caller.actor(),
        "webhook replay requested"
    );
    Ok(Json(json!({"queued": n})))
}

/// Item dead letters, newest first: open ones unless `state` says otherwise.
async fn list_items(
    caller: ApiCaller,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    let open = match q.get("state").map(String::as_str) {
        None | Some("open") => Some(true),
        Some("resolved") => Some(false),
        Some("all") => None,
        Some(_) => {
            return Err(ApiError::invalid(
                "state",
                "state is open (the default), resolved or all.",
            ));
        }
    };
    let journal_id = q
        .get("journal_id")
        .map(|j| {
            j.parse::<i64>().map_err(|_| {
                ApiError::invalid("journal_id", "journal_id is a journal id (a whole number).")
            })
        })
        .transpose()?;
    let limit = limit(&q)?;
    let query = switchboard_store::ItemDeadLetterQuery {
        open,
        journal_id,
        before_id: before(&q)?,
        limit: limit + 1,
    };
    let mut rows = state.store.item_dead_letters(query).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let data: Vec<Value> = rows.iter().map(item_json).collect();
    let next = rows.last().filter(|_| more).map(|r| r.id);
    Ok(Json(json!({"data": data, "next_before": next})))
}

fn item_json(r: &switchboard_store::ItemDeadLetterRow) -> Value {
    json!({
        "id": r.id,
        "journal_id": r.journal_id,
        "place": r.place.to_string(),
        "entry": r.place.entry,
        "change": r.place.change,
        "array": r.place.array_name().map(|a| a.as_str()),
        "index": r.place.index(),
        "code": r.code.as_str(),
        "reason": r.reason,
        "item": serde_json::from_str::<Value>(&r.raw).unwrap_or_else(|_| Value::String(r.raw.clone())),
        "state": if r.resolved_at_ms.is_some() { "resolved" } else { "open" },
        "created_at_ms": r.created_at_ms,
        "updated_at_ms": r.updated_at_ms,
        "resolved_at_ms": r.resolved_at_ms,
        "resolved_by": r.resolved_by,
    })
}

/// Applies one item dead letter again with this version's code: just that item, and the dead
/// letter resolved, or why not.
async fn replay_item(
    caller: ApiCaller,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    let projector =
        state.inbound.projector.get().ok_or_else(|| {
            ApiError::Internal("the projector is not running in this server".into())
        })?;
    let by = format!("replayed by {}", caller.actor());
    let summary = projector.replay_item(id, &by).await.map_err(|e| {
        let code = e.code();
        match e {
            ReplayError::NotFound(_) => ApiError::NotFound {
                what: format!("Item dead letter {id}"),
            },
            ReplayError::Store(e) => e.into(),
            // The item, its body or the database is not in a state to apply it (yet).
            e => ApiError::Conflict {
                code,
                message: e.to_string(),
            },
        }
    })?;
    tracing::info!(id, by = %caller.actor(), "item dead letter replayed");
    let row = state.store.item_dead_letter(id).await?;
    Ok(Json(json!({
        "dead_letter": item_json(&row),
        "applied": {
            "messages_new": summary.messages_new,
            "statuses_new": summary.statuses_new,
            "events_new": summary.events_new,
        },
    })))
}
