//! The template registry: list and inspect templates (status, category, quality, rejection
//! reason, history), lint one, create one at Meta (linted first) and delete one.

use crate::routes::Routes;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use switchboard_domain::Role;
use switchboard_domain::lint::{Severity, lint};
use switchboard_store::TemplateRow;

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get("/templates", list)
        .post("/templates", create)
        .post("/templates/lint", lint_one)
        .post("/templates/plan", plan_templates)
        .post("/templates/push", push_templates)
        .get("/templates/export", export_templates)
        .get("/templates/{name}/{language}", one)
        .delete("/templates/{name}/{language}", remove)
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
    // One template, or a list (each finding's location then starts with its file name).
    let list = templates_of(&body)?;
    let single = list.len() == 1 && !body.trim_ascii_start().starts_with(b"[");
    let mut all = Vec::new();
    for (file, t) in &list {
        for mut f in lint(t) {
            if !single {
                f.location = format!("{file}: {}", f.location);
            }
            all.push(f);
        }
    }
    let errors = all.iter().filter(|f| f.severity == Severity::Error).count();
    Ok(Json(json!({"errors": errors, "findings": all})))
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

/// Every template of the number's account, as Meta lists them.
async fn meta_templates(
    state: &AppState,
    number: &crate::config::NumberConfig,
) -> Result<Vec<Value>, ApiError> {
    crate::template_files::remote(&state.graph, number)
        .await
        .map_err(|e| ApiError::Conflict {
            code: "graph_refused",
            message: format!("Meta's templates could not be read: {e}."),
        })
}

/// Templates as the body gives them: one of Meta's create-template objects, or a list of them.
fn templates_of(raw: &[u8]) -> Result<Vec<(String, Value)>, ApiError> {
    let v: Value = serde_json::from_slice(raw)
        .map_err(|e| ApiError::invalid("body", format!("The body is not JSON: {e}.")))?;
    let list = match v {
        Value::Array(a) => a,
        o @ Value::Object(_) => vec![o],
        _ => {
            return Err(ApiError::invalid(
                "body",
                "Send a template (Meta's create-template JSON) or a list of them.",
            ));
        }
    };
    if list.is_empty() || list.len() > 500 {
        return Err(ApiError::invalid("body", "Send 1 to 500 templates."));
    }
    let mut seen = std::collections::HashSet::new();
    for t in &list {
        let key = crate::template_files::file_name(t);
        if !seen.insert(key.clone()) {
            return Err(ApiError::invalid(
                "body",
                format!("{key} is given twice; send each template (name and language) once."),
            ));
        }
    }
    Ok(list
        .into_iter()
        .map(|t| (crate::template_files::file_name(&t), t))
        .collect())
}

fn change_json(c: &switchboard_domain::template_plan::Change) -> Value {
    let mut v = json!(c);
    v["description"] = json!(crate::template_files::describe(c));
    // The full bodies are the caller's own; the plan says what happens to each.
    if let Some(o) = v.as_object_mut() {
        o.remove("template");
        o.remove("edit");
    }
    v
}

/// `templates diff` for the API and the UI: what pushing these templates would change at Meta
/// (create, update, unchanged, or why it cannot be done), with each one's lint findings.
/// Nothing is changed, and templates not in the body are left alone.
async fn plan_templates(
    caller: ApiCaller,
    State(state): State<AppState>,
    Query(q): Query<Which>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    let number = state.outbound.number(q.from.as_deref())?.clone();
    let local = templates_of(&body)?;
    let remote = meta_templates(&state, &number).await?;
    let changes = switchboard_domain::template_plan::plan(&local, &remote, false);
    let findings: Vec<Value> = local
        .iter()
        .map(|(file, t)| json!({"file": file, "findings": lint(t)}))
        .collect();
    Ok(Json(json!({
        "changes": changes.iter().map(change_json).collect::<Vec<_>>(),
        "lint": findings,
    })))
}

/// `templates push` for the API and the UI: creates and updates these templates at Meta
/// (after lint: any error refuses the whole push). Never deletes.
async fn push_templates(
    caller: ApiCaller,
    State(state): State<AppState>,
    Query(q): Query<Which>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    let number = state.outbound.number(q.from.as_deref())?.clone();
    let local = templates_of(&body)?;
    let errors: Vec<Value> = local
        .iter()
        .filter_map(|(file, t)| {
            let f: Vec<_> = lint(t)
                .into_iter()
                .filter(|f| f.severity == Severity::Error)
                .collect();
            (!f.is_empty()).then(|| json!({"file": file, "findings": f}))
        })
        .collect();
    if !errors.is_empty() {
        return Err(ApiError::Rejected {
            code: "template_lint_failed",
            message:
                "Meta would reject these templates; nothing was pushed. Fix the findings first."
                    .into(),
            details: json!({"lint": errors}),
        });
    }
    let remote = meta_templates(&state, &number).await?;
    let changes = switchboard_domain::template_plan::plan(&local, &remote, false);
    let mut results = Vec::new();
    for c in &changes {
        let mut v = change_json(c);
        match crate::template_files::apply(&state.graph, &number, c).await {
            Ok(()) => {
                v["applied"] = json!(!matches!(
                    c,
                    switchboard_domain::template_plan::Change::Unchanged { .. }
                        | switchboard_domain::template_plan::Change::Conflict { .. }
                ))
            }
            Err(e) => {
                v["applied"] = json!(false);
                v["error"] = json!(e.to_string());
            }
        }
        results.push(v);
    }
    let _ = crate::outbound::templates::sync_all(&state.store, &state.graph, &state.config).await;
    let count = |f: &dyn Fn(&Value) -> bool| results.iter().filter(|v| f(v)).count();
    let applied = count(&|v| v["applied"] == true);
    let failed = count(&|v| v.get("error").is_some());
    let conflicts = count(&|v| v["action"] == "conflict");
    Ok(Json(json!({
        "ok": failed == 0 && conflicts == 0,
        "applied": applied,
        "failed": failed,
        "conflicts": conflicts,
        "changes": results,
    })))
}

/// `templates pull` for the API and the UI: Meta's current templates, a list in Meta's
/// create-template shape (what `templates pull` writes one per file), which push takes back.
async fn export_templates(
    caller: ApiCaller,
    State(state): State<AppState>,
    Query(q): Query<Which>,
) -> Result<axum::response::Response, ApiError> {
    caller.require(Role::Admin)?;
    let number = state.outbound.number(q.from.as_deref())?.clone();
    let remote = meta_templates(&state, &number).await?;
    let files: Vec<Value> = remote
        .iter()
        .filter(|t| {
            !matches!(
                t.get("status").and_then(Value::as_str),
                Some("DELETED" | "PENDING_DELETION")
            )
        })
        .map(switchboard_domain::template_plan::as_file)
        .collect();
    Ok((
        [(
            axum::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"templates.json\"",
        )],
        Json(Value::Array(files)),
    )
        .into_response())
}
