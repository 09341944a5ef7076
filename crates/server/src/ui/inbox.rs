//! The inbox page: the views (Mine, Unassigned, Team, All), filters and search, the list of
//! conversations, and the open one when the URL names it. The list is also served alone as a
//! fragment (`/inbox/list`), which the script fetches when something changes.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use switchboard_store::{ConversationFilter, ViewCounts};

use super::conversation::{Pane, pane};
use super::view;
use super::{Chrome, Lookup, Page, chrome, html, urlencode};
use crate::AppState;
use crate::agents::Agent;
use crate::error::ApiError;

/// The list's view and filters, from the query string (the page's URL is shareable).
#[derive(Clone, Default)]
pub struct ListQuery {
    pub view: String,
    pub number: String,
    pub status: String,
    pub label: String,
    pub q: String,
    pub open: Option<i64>,
}

impl ListQuery {
    fn parse(q: &HashMap<String, String>) -> ListQuery {
        let get = |k: &str| q.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
        let view = match get("view").as_str() {
            v @ ("mine" | "unassigned" | "team" | "all") => v.to_owned(),
            _ => "mine".to_owned(),
        };
        let status = match get("status").as_str() {
            v @ ("open" | "pending" | "resolved" | "any") => v.to_owned(),
            _ => String::new(),
        };
        ListQuery {
            view,
            number: get("number"),
            status,
            label: get("label"),
            q: get("q").chars().take(200).collect(),
            open: q.get("c").and_then(|c| c.parse().ok()),
        }
    }

    pub fn is_open(&self, id: impl std::borrow::Borrow<i64>) -> bool {
        self.open == Some(*id.borrow())
    }

    /// The query string of this list (without the open conversation).
    pub fn qs(&self) -> String {
        let mut s = format!("view={}", self.view);
        for (k, v) in [
            ("number", &self.number),
            ("status", &self.status),
            ("label", &self.label),
            ("q", &self.q),
        ] {
            if !v.is_empty() {
                s.push_str(&format!("&{k}={}", urlencode(v)));
            }
        }
        s
    }
}

/// A row of the conversation list.
pub struct ListItem {
    pub id: i64,
    pub name: String,
    pub initials: String,
    pub address: String,
    pub status: String,
    pub assignee: String,
    pub unread: i64,
    pub time: String,
    pub at_ms: i64,
    pub window_open: bool,
    pub preview: String,
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListFragment {
    items: Vec<ListItem>,
    lq: ListQuery,
    more: bool,
    /// The views' counts, for the script to update the sidebar.
    counts: ViewCounts,
}

async fn list_items(
    state: &AppState,
    agent: &Agent,
    lq: &ListQuery,
    lookup: &Lookup,
) -> Result<(Vec<ListItem>, bool), ApiError> {
    let mut f = ConversationFilter {
        limit: 51,
        ..Default::default()
    };
    match lq.view.as_str() {
        "mine" => f.assignee = Some(agent.user.id.to_string()),
        "unassigned" => f.unassigned = true,
        "team" => f.team_id = Some(state.store.team_of(agent.user.id).await?.unwrap_or(-1)),
        _ => {}
    }
    match lq.status.as_str() {
        "" => f.unresolved = true,
        "any" => {}
        s => f.status = Some(s.to_owned()),
    }
    if !lq.number.is_empty() {
        f.phone_number_id = Some(lq.number.clone());
    }
    if !lq.label.is_empty() {
        f.label = Some(lq.label.to_lowercase());
    }
    if !lq.q.is_empty() {
        f.search = Some(lq.q.clone());
    }
    let mut rows = state.store.conversations(&f).await?;
    let more = rows.len() > 50;
    rows.truncate(50);
    let now = state.now();
    let items = rows
        .iter()
        .map(|c| {
            let name = view::display_name(c);
            ListItem {
                id: c.id,
                initials: view::initials(&name),
                address: view::address(c),
                name,
                status: c.status.clone(),
                assignee: lookup.assignee(&c.assignee),
                unread: c.unread_count,
                time: view::when(c.last_message_at_ms),
                at_ms: c.last_message_at_ms,
                window_open: view::window(c, now).open,
                preview: c
                    .last_text
                    .as_deref()
                    .map(|t| {
                        let t: String = t.chars().take(90).collect();
                        t.replace('\n', " ")
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    Ok((items, more))
}

pub(super) async fn list_fragment(
    Page(agent): Page,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let lq = ListQuery::parse(&q);
    let lookup = Lookup::load(&state).await?;
    let (items, more) = list_items(&state, &agent, &lq, &lookup).await?;
    let team = state.store.team_of(agent.user.id).await?;
    let counts = state.store.view_counts(agent.user.id, team).await?;
    Ok(html(&ListFragment {
        items,
        lq,
        more,
        counts,
    }))
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    chrome: Chrome,
    lq: ListQuery,
    counts: ViewCounts,
    numbers: Vec<(String, String)>,
    labels: Vec<String>,
    list: ListFragment,
    pane: Option<Pane>,
}

pub(super) async fn inbox(
    Page(agent): Page,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let lq = ListQuery::parse(&q);
    let lookup = Lookup::load(&state).await?;
    let team = state.store.team_of(agent.user.id).await?;
    let counts = state.store.view_counts(agent.user.id, team).await?;
    let (items, more) = list_items(&state, &agent, &lq, &lookup).await?;
    let pane = match lq.open {
        Some(id) => match pane(&state, &agent, id, &lookup).await {
            Ok(p) => Some(p),
            Err(ApiError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        },
        None => None,
    };
    let mut numbers: Vec<(String, String)> = lookup
        .numbers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    numbers.sort();
    Ok(html(&InboxPage {
        chrome: chrome(&agent, "inbox"),
        labels: state.store.labels_in_use().await?,
        counts,
        numbers,
        list: ListFragment {
            items,
            lq: lq.clone(),
            more,
            counts,
        },
        lq,
        pane,
    }))
}
