//! The web inbox: server-rendered pages (askama, auto-escaped, checked at compile time) and
//! one small script of our own (`assets/app.js`) for live updates over SSE and for actions,
//! which go through the same JSON API as integrations (the session cookie authenticates, and
//! the CSRF token from the page's `<meta>` goes in `x-csrf-token`).
//!
//! Pages: `/login`, `/inbox` (views Mine, Unassigned, Team, All; filters; search; the open
//! conversation with its thread, composer and contact panel), `/settings` (API keys, canned
//! responses, people), `/templates` (admins: the registry, lint, submit, delete) and `/costs`
//! (admins: the ledger with charts, budgets, the forecast). Fragments (`/inbox/list`,
//! `/inbox/c/{id}`) are the same templates, fetched by the script when something changes.
//!
//! One file per page (`login`, `inbox` with its list, `conversation` for the open one,
//! `settings`, `templates`, `costs`) and `assets`; here are the router and what every page
//! shares: the response headers, the logged-in extractor, the top bar and the name lookups.

pub mod view;

mod assets;
mod conversation;
mod costs;
mod inbox;
mod login;
mod settings;
mod templates;

use std::collections::HashMap;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use switchboard_domain::Role;
use switchboard_store::UserRow;

use crate::AppState;
use crate::agents::Agent;
use crate::error::ApiError;
use crate::routes::Routes;

pub fn router() -> Routes {
    Routes::new()
        .get("/", || async { Redirect::to("/inbox") })
        .get("/login", login::login)
        .get("/inbox", inbox::inbox)
        .get("/inbox/list", inbox::list_fragment)
        .get("/inbox/c/{id}", conversation::conversation_fragment)
        .get("/settings", settings::settings)
        .get("/templates", templates::templates)
        .get("/costs", costs::costs)
        .get("/assets/app.css", assets::css)
        .get("/assets/app.js", assets::js)
}

/// A rendered page with the headers every page carries: no inline script may run (so injected
/// markup cannot either), no framing, no sniffing, no caching of personal data.
fn html(t: &impl Template) -> Response {
    match t.render() {
        Ok(body) => {
            let mut r = (StatusCode::OK, body).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' data: https:; media-src 'self' https:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
                ),
            );
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "page did not render");
            ApiError::Internal(Box::new(e)).into_response()
        }
    }
}

/// A logged-in person on a page: without a session, pages redirect to the login page.
pub struct Page(pub Agent);

impl FromRequestParts<AppState> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match Agent::from_request_parts(parts, state).await {
            Ok(a) => Ok(Page(a)),
            Err(ApiError::NotLoggedIn) => {
                let next = safe_next(parts.uri.path_and_query().map(|p| p.as_str()));
                let to = format!("/login?next={}", urlencode(&next));
                Err(Redirect::to(&to).into_response())
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

/// Where to go after logging in: a path on this server, never elsewhere. Browsers read `\`
/// as `/` and drop tabs and newlines, so `/\\evil.example` or `/\t/evil.example` would leave it.
pub fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n.contains('\\')
            && !n.chars().any(|c| c.is_control() || c.is_whitespace())
    })
    .unwrap_or("/inbox")
    .to_owned()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What the top bar needs.
pub struct Chrome {
    pub user: UserRow,
    pub admin: bool,
    pub csrf: String,
    pub section: &'static str,
}

fn chrome(a: &Agent, section: &'static str) -> Chrome {
    Chrome {
        user: a.user.clone(),
        admin: a.role == Role::Admin,
        csrf: a.csrf.clone(),
        section,
    }
}

struct Lookup {
    users: HashMap<i64, String>,
    /// People who can hold a conversation (not disabled), by name: the transfer list.
    agents: Vec<(i64, String)>,
    numbers: HashMap<String, String>,
}

impl Lookup {
    async fn load(state: &AppState) -> Result<Lookup, ApiError> {
        let all = state.store.users().await?;
        let mut agents: Vec<(i64, String)> = all
            .iter()
            .filter(|u| u.disabled_at_ms.is_none())
            .map(|u| (u.id, u.name.clone()))
            .collect();
        agents.sort_by(|a, b| a.1.cmp(&b.1));
        let users = all.into_iter().map(|u| (u.id, u.name)).collect();
        let numbers = state
            .config
            .numbers
            .iter()
            .map(|n| {
                (
                    n.phone_number_id.clone(),
                    n.display_number
                        .as_ref()
                        .map(|d| d.as_str().to_owned())
                        .unwrap_or_else(|| n.phone_number_id.clone()),
                )
            })
            .collect();
        Ok(Lookup {
            users,
            agents,
            numbers,
        })
    }

    fn user(&self, id: Option<i64>) -> String {
        match id {
            None => "Nobody".into(),
            Some(id) => self
                .users
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("user {id}")),
        }
    }

    fn assignee(&self, a: &Option<String>) -> String {
        match a.as_deref().and_then(|a| a.parse().ok()) {
            Some(id) => self.user(Some(id)),
            None => String::new(),
        }
    }

    fn number(&self, id: &str) -> String {
        self.numbers
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn after_login_only_paths_here() {
        assert_eq!(
            safe_next(Some("/inbox?view=all&c=3")),
            "/inbox?view=all&c=3"
        );
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "https://evil.example",
            "evil",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/inbox", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/inbox");
    }
}
