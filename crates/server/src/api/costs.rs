//! `GET /api/v1/costs` (the ledger: estimated and billed, grouped), `POST /api/v1/forecast`
//! (a month of volumes priced under the active card) and `GET /api/v1/rate-cards`.

use crate::routes::Routes;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_domain::forecast::{forecast, parse_volumes};
use switchboard_domain::pricing::Markets;
use switchboard_domain::{Role, UnixMs};

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get("/costs", costs)
        .post("/forecast", forecast_volumes)
        .get("/rate-cards", rate_cards)
}

#[derive(Deserialize)]
struct CostQuery {
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    group_by: Option<String>,
    campaign: Option<i64>,
}

async fn costs(
    caller: ApiCaller,
    State(state): State<AppState>,
    Query(q): Query<CostQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    let now = UnixMs::now();
    let group_by = q.group_by.unwrap_or_else(|| "day".into());
    if !matches!(
        group_by.as_str(),
        "day" | "number" | "category" | "market" | "template" | "campaign" | "agent"
    ) {
        return Err(ApiError::invalid(
            "group_by",
            "group_by must be day, number, category, market, template, campaign or agent.",
        ));
    }
    let from = q.from_ms.unwrap_or(now.month_start().0);
    let to = q.to_ms.unwrap_or(now.0 + 1);
    if from >= to {
        return Err(ApiError::invalid(
            "from_ms",
            "from_ms must be before to_ms.",
        ));
    }
    let r = crate::costs::report(&state.store, from, to, &group_by, q.campaign).await?;
    Ok(Json(
        json!({"from_ms": from, "to_ms": to, "amounts_in": format!("micro-units of {}", r.currency), "report": r}),
    ))
}

async fn forecast_volumes(
    caller: ApiCaller,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Agent)?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::invalid("body", "Send the volumes as CSV text."))?;
    let rows = parse_volumes(text).map_err(|p| ApiError::Rejected {
        code: "forecast_invalid",
        message: format!("{} problem(s) in the volumes; nothing was priced.", p.len()),
        details: json!({"problems": p}),
    })?;
    let card = crate::costs::active_card(&state.store, UnixMs::now()).await?;
    let f = forecast(&card, &Markets::default(), &rows).map_err(|p| ApiError::Rejected {
        code: "forecast_invalid",
        message: format!("{} problem(s) in the volumes; nothing was priced.", p.len()),
        details: json!({"problems": p}),
    })?;
    Ok(Json(json!(f)))
}

async fn rate_cards(
    caller: ApiCaller,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Agent)?;
    let active = crate::costs::active_card(&state.store, UnixMs::now()).await?;
    let cards: Vec<Value> = state
        .store
        .rate_cards()
        .await?
        .into_iter()
        .map(|c| json!({"id": c.id, "effective": c.effective, "currency": c.currency, "label": c.label, "imported_at_ms": c.imported_at_ms}))
        .collect();
    Ok(Json(
        json!({"active": {"effective": active.effective, "currency": active.currency, "label": active.label}, "imported": cards}),
    ))
}
