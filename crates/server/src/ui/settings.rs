//! The settings page: API keys (admins), canned responses, people and teams.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use switchboard_domain::Role;

use super::view;
use super::{Chrome, Page, chrome, html};
use crate::AppState;
use crate::error::ApiError;

pub struct KeyLine {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub prefix: String,
    pub created: String,
    pub last_used: String,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    chrome: Chrome,
    keys: Vec<KeyLine>,
    canned: Vec<(i64, String, String)>,
    people: Vec<(String, String, String, String)>,
    teams: Vec<(String, String)>,
}

pub(super) async fn settings(
    Page(agent): Page,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let admin = agent.role == Role::Admin;
    let keys = if admin {
        state
            .store
            .list_api_keys()
            .await?
            .into_iter()
            .map(|k| KeyLine {
                id: k.id,
                name: k.name,
                role: k.role.as_str().to_owned(),
                prefix: k.prefix,
                created: view::when(k.created_at_ms),
                last_used: k
                    .last_used_at_ms
                    .map(view::when)
                    .unwrap_or_else(|| "never".into()),
                revoked: k.revoked_at_ms.is_some(),
            })
            .collect()
    } else {
        vec![]
    };
    let people = state
        .store
        .users()
        .await?
        .into_iter()
        .map(|u| {
            (
                u.name,
                u.email,
                u.role,
                u.team.unwrap_or_else(|| "—".into()),
            )
        })
        .collect();
    let teams = state
        .store
        .teams()
        .await?
        .into_iter()
        .map(|(_, name, rules)| (name, rules.unwrap_or_else(|| "no routing rules".into())))
        .collect();
    Ok(html(&SettingsPage {
        chrome: chrome(&agent, "settings"),
        keys,
        canned: state
            .store
            .canned_responses()
            .await?
            .into_iter()
            .map(|r| (r.id, r.shortcut, r.body))
            .collect(),
        people,
        teams,
    }))
}
