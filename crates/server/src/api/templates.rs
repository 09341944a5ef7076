//! The template registry: list and inspect templates (status, category, quality, rejection
//! reason, history), lint one, create one at Meta (linted first) and delete one.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use switchboard_domain::Role;
use switchboard_domain::lint::{Severity, lint};
use switchboard_store::TemplateRow;

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/templates", get(list).post(create))
        .route("/templates/lint", post(lint_one))
        .route("/templates/{name}/{language}", get(one).delete(remove))
}

#[derive(serde::Deserialize)]
struct Which {
    from: Option<String>,
}

fn row_json(t: &TemplateRow) -> Value {
    json!({
        "name": t.name, "language": t.language, "template_id": t.template_id, "status": t.status,
        "category": t.category, "quality": t.quality, "rejection_reason": t.reason,
        "updated_at_ms": t.updated_at_ms, "definition_known": t.definition.is_some(),
    })
}

fn body_of(raw: &[u8]) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_slice(raw)
        .map_err(|e| ApiError::invalid("body", format!("The body is not JSON: {e}.")))?;
    if !v.is_object() {
        return Err(ApiError::invalid(
            "body",
            "Send one template as Meta's create-template JSON object.",
        ));
    }
    Ok(v)
}

async fn list(
    caller: ApiCaller,
    State(state): State<AppState>,
    Query(q): Query<Which>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Agent)?;
    let number = state.outbound.number(q.from.as_deref())?;
    let rows = state.store.templates(&number.waba_id).await?;
    Ok(Json(
        json!({"data": rows.iter().map(row_json).collect::<Vec<_>>()}),
    ))
}

async fn one(
    caller: ApiCaller,
    State(state): State<AppState>,
    Path((name, language)): Path<(String, String)>,
    Query(q): Query<Which>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Agent)?;
    let number = state.outbound.number(q.from.as_deref())?;
    let t = state
        .store
        .template(&number.waba_id, &name, &language)
        .await
        .map_err(|e| super::not_found_or(e, format!("Template {name} ({language})")))?;
    let history: Vec<Value> = state
        .store
        .template_events(&number.waba_id)
        .await?
        .into_iter()
        .filter_map(|e| {
            let p: Value = serde_json::from_str(&e.payload).ok()?;
            let v = p.get("value").unwrap_or(&p);
            let matches = v.get("message_template_name").and_then(Value::as_str) == Some(name.as_str())
                && v.get("message_template_language").and_then(Value::as_str).is_none_or(|l| l == language);
            matches.then(|| json!({"field": e.field, "at_ms": e.meta_at_ms, "event": v.get("event").or(v.get("new_quality_score")).or(v.get("new_category")), "reason": v.get("reason"), "value": v}))
        })
        .collect();
    let mut out = row_json(&t);
    out["definition"] = t
        .definition
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null);
    out["findings"] = match &out["definition"] {
        Value::Null => Value::Null,
        d => json!(lint(d)),
    };
    out["history"] = json!(history);
    Ok(Json(out))
}

async fn lint_one(caller: ApiCaller, body: Bytes) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Agent)?;
    let t = body_of(&body)?;
    let findings = lint(&t);
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    Ok(Json(json!({"errors": errors, "findings": findings})))
}

async fn create(
    caller: ApiCaller,
    State(state): State<AppState>,
    Query(q): Query<Which>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Role::Admin)?;
    let number = state.outbound.number(q.from.as_deref())?.clone();
    let t = body_of(&body)?;
    let findings = lint(&t);
    if findings.iter().any(|f| f.severity == Severity::Error) {
        return Err(ApiError::Rejected {
            code: "template_lint_failed",
            message: "Meta would reject this template; fix the findings and submit it again."
                .into(),
            details: json!({"findings": findings}),
        });
    }
    let created = state
        .graph
        .create_template(&number.waba_id, &number.access_token, &t)
        .await
        .map_err(|e| ApiError::Conflict {
            code: "graph_refused",
            message: format!("Meta refused the template: {e}."),
        })?;
    // Pull now, so the registry lists it as PENDING at once; its review arrives by webhook.
    let _ = crate::outbound::templates::sync_all(&state.store, &state.graph, &state.config).await;
    Ok((
        StatusCode::CREATED,
        Json(json!({"meta": created, "findings": findings})),
    ))
}

async fn remove(
    caller: ApiCaller,
    State(state): State<AppState>,
    Path((name, language)): Path<(String, String)>,
    Query(q): Query<Which>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    let number = state.outbound.number(q.from.as_deref())?.clone();
    let t = state
        .store
        .template(&number.waba_id, &name, &language)
        .await
        .map_err(|e| super::not_found_or(e, format!("Template {name} ({language})")))?;
    state
        .graph
        .delete_template_in(
            &number.waba_id,
            &number.access_token,
            &name,
            t.template_id.as_deref(),
        )
        .await
        .map_err(|e| ApiError::Conflict {
            code: "graph_refused",
            message: format!("Meta refused to delete the template: {e}."),
        })?;
    let _ = crate::outbound::templates::sync_all(&state.store, &state.graph, &state.config).await;
    Ok(Json(
        json!({"deleted": {"name": name, "language": language}}),
    ))
}
