//! Campaigns: `POST /api/v1/campaigns` sends one template to an audience (explicit recipients,
//! each with its own parameters if needed, or the contacts matching a filter), now or at a
//! scheduled time; `GET` shows progress; `…/events` streams it over SSE; `…/pause`, `…/resume`
//! and `…/cancel` steer it. Every recipient goes through the same parsing and send policy as a
//! single `POST /api/v1/messages`, so a refusal (no consent, opted out) is counted, not sent.

use crate::routes::Routes;
use std::convert::Infallible;
use std::time::Duration;
use switchboard_domain::policy::Decision;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_domain::{Role, UnixMs};
use switchboard_store::{CampaignAction, CampaignRow, NewCampaign, Progress};

use super::Id;
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;

/// Audiences are large: up to this many recipients in one request.
const MAX_RECIPIENTS: usize = 200_000;

pub fn router() -> Routes {
    Routes::new()
        .get("/campaigns", list)
        .post("/campaigns", create)
        .get("/campaigns/{id}", one)
        .get("/campaigns/{id}/events", events)
        .post("/campaigns/{id}/pause", pause)
        .post("/campaigns/{id}/resume", resume)
        .post("/campaigns/{id}/cancel", cancel)
        .map(|r| r.layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCampaignBody {
    name: String,
    from: Option<String>,
    template: TemplateRef,
    /// Meta's template `components` for every recipient (unless a recipient has its own).
    #[serde(default)]
    components: Option<Value>,
    #[serde(default)]
    recipients: Option<Vec<Recipient>>,
    #[serde(default)]
    filter: Option<Filter>,
    schedule_at_ms: Option<i64>,
    on_limit: Option<String>,
    lane: Option<String>,
    /// The team it is for: its spend counts against the team's monthly budget.
    #[serde(default)]
    team: Option<String>,
    /// Start even if the estimate passes the number's (or the team's) monthly budget.
    #[serde(default)]
    confirm_budget: bool,
    /// Only say what the campaign would do and cost; nothing is stored or sent.
    #[serde(default)]
    dry_run: bool,
}

/// What a campaign would do before it starts: the policy's decision for every recipient
/// (counted by refusal code), its estimated cost, and the number's budget.
async fn preview(
    state: &AppState,
    sends: &[switchboard_store::NewSend],
    number: &crate::config::NumberConfig,
    team: Option<&TeamBudget>,
    now: UnixMs,
) -> Result<Value, ApiError> {
    let mut allowed = Vec::new();
    let mut refused: std::collections::BTreeMap<&'static str, u64> = Default::default();
    let mut held = 0u64;
    for chunk in sends.chunks(1_000) {
        let out = crate::outbound::submit::check(state, chunk).await?;
        for (send, decision) in chunk.iter().zip(out) {
            match decision {
                Decision::Allow { .. } => allowed.push(send),
                Decision::Hold { .. } => {
                    held += 1;
                    allowed.push(send);
                }
                Decision::Refuse(r) => *refused.entry(r.code).or_default() += 1,
            }
        }
    }
    let estimate = crate::costs::estimate_unsent(&state.store, &allowed, now).await?;
    let month = state
        .store
        .number_month_estimate(&number.phone_number_id, &now.month(), None)
        .await?;
    let team = match team {
        Some(t) => {
            let spent = state
                .store
                .team_month_estimate(t.id, &now.month(), None)
                .await?;
            json!({"name": t.name, "budget_micros": t.budget, "month_to_date_micros": spent,
                "over_budget": t.budget.is_some_and(|b| spent + estimate.0 > b)})
        }
        None => Value::Null,
    };
    Ok(json!({
        "dry_run": true,
        "team": team,
        "recipients": sends.len(),
        "would_send": allowed.len(),
        "would_hold_for_messaging_limit": held,
        "would_refuse": refused,
        "estimated_cost_micros": estimate.0,
        "month_to_date_micros": month,
        "budget_micros": number.monthly_budget_micros,
        "over_budget": number.monthly_budget_micros.is_some_and(|b| month + estimate.0 > b),
    }))
}

/// The team a campaign is for, and its monthly budget.
struct TeamBudget {
    id: i64,
    name: String,
    budget: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateRef {
    name: String,
    language: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Recipient {
    to: Option<String>,
    recipient: Option<String>,
    components: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Filter {
    /// Contacts whose conversation with this number has this label; absent: every contact
    /// who has a conversation with the number.
    label: Option<String>,
}

fn campaign_json(c: &CampaignRow, p: &Progress) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "from": c.phone_number_id,
        "template": {"name": c.template_name, "language": c.language},
        "state": c.state,
        "paused_reason": c.paused_reason,
        "schedule_at_ms": c.schedule_at_ms,
        "created_at_ms": c.created_at_ms,
        "finished": p.finished(),
        "progress": p,
    })
}

async fn create(
    caller: ApiCaller,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Role::Admin)?;
    let b: NewCampaignBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid("body", format!("This is not a campaign: {e}.")))?;
    if b.name.trim().is_empty() {
        return Err(ApiError::invalid("name", "Give the campaign a name."));
    }
    let number = state.outbound.number(b.from.as_deref())?.clone();
    // The audience: explicit recipients, or contacts by filter (not both).
    let recipients: Vec<(Option<String>, Option<String>, Option<Value>)> =
        match (&b.recipients, &b.filter) {
            (Some(r), None) => r
                .iter()
                .map(|r| (r.to.clone(), r.recipient.clone(), r.components.clone()))
                .collect(),
            (None, Some(f)) => state
                .store
                .audience(
                    &number.phone_number_id,
                    f.label.as_deref(),
                    MAX_RECIPIENTS as i64 + 1,
                )
                .await?
                .into_iter()
                .map(|c| match (c.wa_id, c.bsuid) {
                    (Some(w), _) => (Some(format!("+{w}")), None, None),
                    (None, b) => (None, b, None),
                })
                .collect(),
            _ => {
                return Err(ApiError::invalid(
                    "recipients",
                    "Give the audience as \"recipients\" (a list) or as a \"filter\", not both.",
                ));
            }
        };
    if recipients.is_empty() {
        return Err(ApiError::invalid("recipients", "The audience is empty."));
    }
    if recipients.len() > MAX_RECIPIENTS {
        return Err(ApiError::invalid(
            "recipients",
            format!("At most {MAX_RECIPIENTS} recipients per campaign; split it."),
        ));
    }
    let now = UnixMs::now();
    let schedule = b.schedule_at_ms.unwrap_or(now.0).max(now.0);
    // Parse every recipient first: a bad one refuses the whole campaign, naming it.
    let mut sends = Vec::with_capacity(recipients.len());
    for (i, (to, bsuid, components)) in recipients.iter().enumerate() {
        let mut msg = json!({
            "from": number.phone_number_id,
            "type": "template",
            "template": {
                "name": b.template.name,
                "language": {"code": b.template.language},
                "components": components.clone().or_else(|| b.components.clone()).unwrap_or_else(|| json!([])),
            },
        });
        match (to, bsuid) {
            (Some(t), _) => msg["to"] = json!(t),
            (None, Some(r)) => msg["recipient"] = json!(r),
            (None, None) => {
                return Err(ApiError::invalid(
                    format!("recipients[{i}]"),
                    format!("Recipient {i} has neither \"to\" nor \"recipient\"."),
                ));
            }
        }
        if let Some(o) = &b.on_limit {
            msg["on_limit"] = json!(o);
        }
        if let Some(l) = &b.lane {
            msg["lane"] = json!(l);
        }
        // Which recipient a problem is about, in the field it names.
        let mut send = crate::outbound::submit::read(&state, msg.to_string().as_bytes())
            .await
            .map_err(|e| match e {
                ApiError::Invalid { field, message } => {
                    ApiError::invalid(format!("recipients[{i}].{field}"), message)
                }
                ApiError::Rejected { code, message, .. } => {
                    ApiError::invalid(format!("recipients[{i}]"), format!("{message} ({code})"))
                }
                other => other,
            })?;
        send.created_by = Some(caller.actor());
        send.not_before_ms = Some(schedule);
        send.park = true;
        sends.push(send);
    }
    let team = match &b.team {
        Some(name) => {
            let name = name.trim();
            match state.store.team_budget(name).await? {
                Some((id, budget)) => Some(TeamBudget {
                    id,
                    name: name.to_owned(),
                    budget,
                }),
                None => {
                    return Err(ApiError::invalid(
                        "team",
                        format!("There is no team {name:?}; GET /api/v1/teams lists them."),
                    ));
                }
            }
        }
        None => None,
    };
    if b.dry_run {
        return Ok((
            StatusCode::OK,
            Json(preview(&state, &sends, &number, team.as_ref(), now).await?),
        ));
    }
    let audience = match (&b.recipients, &b.filter) {
        (Some(r), _) => json!({"recipients": r.len()}),
        (_, Some(f)) => json!({"filter": {"label": f.label}}),
        _ => Value::Null,
    };
    let id = state
        .store
        .create_campaign(
            &NewCampaign {
                name: b.name.clone(),
                phone_number_id: number.phone_number_id.clone(),
                template_name: b.template.name.clone(),
                language: b.template.language.clone(),
                audience: audience.to_string(),
                schedule_at_ms: schedule,
                created_by: Some(caller.actor()),
                team_id: team.as_ref().map(|t| t.id),
            },
            now.0,
        )
        .await?;
    for chunk in sends.chunks_mut(1_000) {
        for s in chunk.iter_mut() {
            s.campaign_id = Some(id);
        }
        // Queued paused: the dispatcher it wakes finds nothing due until the campaign starts.
        crate::outbound::submit::submit(&state, chunk).await?;
    }
    // Its estimated cost, against the number's monthly budget.
    let estimate = state.store.campaign_estimate(id).await?;
    if let Some(budget) = number.monthly_budget_micros
        && !b.confirm_budget
    {
        let month = state
            .store
            .number_month_estimate(&number.phone_number_id, &now.month(), Some(id))
            .await?;
        refuse_over_budget(&state, id, estimate, month, budget, None).await?;
    }
    // And against the team's.
    if let Some(TeamBudget {
        id: team_id,
        name,
        budget: Some(budget),
    }) = &team
        && !b.confirm_budget
    {
        let month = state
            .store
            .team_month_estimate(*team_id, &now.month(), Some(id))
            .await?;
        refuse_over_budget(&state, id, estimate, month, *budget, Some(name)).await?;
    }
    // Everything is queued (paused): start it.
    // Paused meanwhile (the number's quality turned RED)? Then it stays paused, and says why.
    state.store.start_campaign(id, UnixMs::now().0).await?;
    let c = state.store.campaign(id).await?;
    state.outbound.wake(&number.phone_number_id);
    let p = state.store.campaign_progress(id).await?;
    let mut body = campaign_json(&c, &p);
    body["estimated_cost_micros"] = json!(estimate);
    Ok((StatusCode::CREATED, Json(body)))
}

async fn list(caller: ApiCaller, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Agent)?;
    let mut out = Vec::new();
    for c in state.store.campaigns(100).await? {
        let p = state.store.campaign_progress(c.id).await?;
        out.push(campaign_json(&c, &p));
    }
    Ok(Json(json!({"data": out})))
}

async fn load(state: &AppState, id: i64) -> Result<(CampaignRow, Progress), ApiError> {
    let c = state
        .store
        .campaign(id)
        .await
        .map_err(|e| super::not_found_or(e, format!("Campaign {id}")))?;
    let p = state.store.campaign_progress(id).await?;
    Ok((c, p))
}

async fn one(
    caller: ApiCaller,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Agent)?;
    let (c, p) = load(&state, id).await?;
    Ok(Json(campaign_json(&c, &p)))
}

/// Progress as server-sent events: one `progress` event at once and one whenever it changes
/// (checked every second), until the client goes away.
async fn events(
    caller: ApiCaller,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>, ApiError> {
    caller.require(Role::Agent)?;
    load(&state, id).await?;
    // Each stream reads the database every second: held by the stream, given back at its end.
    let slot = state.limits.stream(&caller.limit_key())?;
    let stop = state.shutdown.clone();
    let stream = futures_util::stream::unfold(
        (state, None::<Value>, slot),
        move |(state, last, slot)| async move {
            let mut wait = last.is_some();
            loop {
                if wait {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                wait = true;
                // A passing database error: try again next second.
                let Ok((c, p)) = load(&state, id).await else {
                    continue;
                };
                let now = campaign_json(&c, &p);
                if last.as_ref() != Some(&now) {
                    let ev = Event::default().event("progress").data(now.to_string());
                    return Some((Ok(ev), (state, Some(now), slot)));
                }
            }
        },
    );
    use futures_util::StreamExt;
    let stream = stream.take_until(stop.cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

async fn act(
    state: AppState,
    caller: ApiCaller,
    id: i64,
    action: CampaignAction,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    load(&state, id).await?;
    let reason = match action {
        CampaignAction::Pause => Some(format!("paused by {}", caller.actor())),
        _ => None,
    };
    let Some(c) = state
        .store
        .campaign_action(id, action, reason.as_deref(), UnixMs::now().0)
        .await?
    else {
        let (c, _) = load(&state, id).await?;
        return Err(ApiError::Conflict {
            code: "campaign_state",
            message: format!("Campaign {id} is {}; that action does not apply.", c.state),
        });
    };
    state.outbound.wake(&c.phone_number_id);
    let p = state.store.campaign_progress(id).await?;
    Ok(Json(campaign_json(&c, &p)))
}

async fn pause(
    caller: ApiCaller,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    act(state, caller, id, CampaignAction::Pause).await
}

async fn resume(
    caller: ApiCaller,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    act(state, caller, id, CampaignAction::Resume).await
}

async fn cancel(
    caller: ApiCaller,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    act(state, caller, id, CampaignAction::Cancel).await
}

/// Cancels the campaign and refuses it when its estimate would take the month past a budget:
/// the number's (`team` None) or the team's.
async fn refuse_over_budget(
    state: &AppState,
    campaign: i64,
    estimate: i64,
    month: i64,
    budget: i64,
    team: Option<&str>,
) -> Result<(), ApiError> {
    if month + estimate <= budget {
        return Ok(());
    }
    let (code, whose, reason) = match team {
        None => (
            "budget_exceeded",
            "the number's".to_owned(),
            "over the monthly budget; not confirmed",
        ),
        Some(name) => (
            "team_budget_exceeded",
            format!("the {name} team's"),
            "over the team's monthly budget; not confirmed",
        ),
    };
    state
        .store
        .campaign_action(
            campaign,
            CampaignAction::Cancel,
            Some(reason),
            UnixMs::now().0,
        )
        .await?;
    let d = |m: i64| switchboard_domain::pricing::Micros(m).decimal();
    let mut details = json!({"estimated_cost_micros": estimate, "month_to_date_micros": month, "budget_micros": budget, "cancelled_campaign": campaign});
    if let Some(name) = team {
        details["team"] = json!(name);
    }
    Err(ApiError::Rejected {
        code,
        message: format!(
            "This campaign is estimated at {}; with {} already this month it would pass {whose} monthly budget of {}. Send it again with \"confirm_budget\": true to start it anyway.",
            d(estimate),
            d(month),
            d(budget)
        ),
        details,
    })
}
