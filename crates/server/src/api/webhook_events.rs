//! The webhook journal for admins: what Meta delivered, what did not parse (dead letters), and
//! re-projection of a range (safe: projection is idempotent).

use crate::routes::Routes;
use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_domain::Role;

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get("/webhook-events", list)
        .post("/webhook-events/replay", replay)
}

async fn list(
    caller: ApiCaller,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    let before = q
        .get("before")
        .map(|b| {
            b.parse::<i64>().map_err(|_| {
                ApiError::invalid("before", "before is a journal id (a whole number).")
            })
        })
        .transpose()?;
    let dead = q.get("dead_letters").is_some_and(|v| v == "true");
    let limit = match q.get("limit") {
        None => 50,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| {
                ApiError::invalid("limit", "limit must be a whole number from 1 to 500.")
            })?,
    };
    let mut rows = state.store.journal(before, dead, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let data: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.id, "received_at_ms": r.received_at_ms, "deliveries": r.deliveries, "duplicate_of": r.duplicate_of, "app_id": r.app_id,
                "state": match (&r.projected_at_ms, &r.error) { (_, Some(_)) => "dead_letter", (Some(_), None) => "projected", (None, _) => "pending" },
                "error": r.error,
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
