//! The templates page (admins): a number's registry with each template's status, body and
//! lint findings.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use switchboard_domain::Role;

use super::{Chrome, Page, chrome, html};
use crate::AppState;
use crate::error::ApiError;

pub struct TemplateLine {
    pub name: String,
    pub language: String,
    pub status: String,
    pub category: String,
    pub quality: String,
    pub reason: String,
    pub body: String,
    pub findings: Vec<String>,
}

#[derive(Template)]
#[template(path = "templates.html")]
struct TemplatesPage {
    chrome: Chrome,
    number: String,
    rows: Vec<TemplateLine>,
}

pub(super) async fn templates(
    Page(agent): Page,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    agent.require(Role::Admin)?;
    let number = state.outbound.number(q.get("from").map(String::as_str))?;
    let rows = state
        .store
        .templates(&number.waba_id)
        .await?
        .into_iter()
        .map(|t| {
            let def: serde_json::Value = t
                .definition
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or_default();
            let body = def["components"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["type"] == "BODY")
                .and_then(|c| c["text"].as_str())
                .unwrap_or("")
                .to_owned();
            let findings = if def.is_object() {
                switchboard_domain::lint::lint(&def)
                    .into_iter()
                    .map(|f| format!("{:?} {}: {}", f.severity, f.rule, f.message))
                    .collect()
            } else {
                vec![]
            };
            TemplateLine {
                name: t.name,
                language: t.language,
                status: t.status.unwrap_or_else(|| "UNKNOWN".into()),
                category: t.category.unwrap_or_default(),
                quality: t.quality.unwrap_or_default(),
                reason: t.reason.unwrap_or_default(),
                body,
                findings,
            }
        })
        .collect();
    Ok(html(&TemplatesPage {
        chrome: chrome(&agent, "templates"),
        number: number
            .display_number
            .as_ref()
            .map(|d| d.as_str().to_owned())
            .unwrap_or_else(|| number.phone_number_id.clone()),
        rows,
    }))
}
