//! Teams: the list, their routing rules and their monthly budgets (admins write both).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_domain::{Role, UnixMs};

use crate::AppState;
use crate::error::ApiError;

pub(super) async fn teams(
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
pub(super) async fn set_budget(
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
pub(super) async fn set_routing(
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
