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

pub mod view;

use crate::routes::Routes;
use std::collections::HashMap;

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use switchboard_domain::{Role, UnixMs};
use switchboard_store::{ConversationFilter, ConversationRow, UserRow, ViewCounts};

use crate::AppState;
use crate::agents::Agent;
use crate::error::ApiError;
use view::{Bubble, PickTemplate, Window};

pub fn router() -> Routes {
    Routes::new()
        .get("/", || async { Redirect::to("/inbox") })
        .get("/login", login)
        .get("/inbox", inbox)
        .get("/inbox/list", list_fragment)
        .get("/inbox/c/{id}", conversation_fragment)
        .get("/settings", settings)
        .get("/templates", templates)
        .get("/costs", costs)
        .get("/assets/app.css", css)
        .get("/assets/app.js", js)
}

const CSS: &str = include_str!("../../assets/app.css");
const JS: &str = include_str!("../../assets/app.js");

async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

async fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // The assets load in the pages' own policy; on their own they need none.
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'"),
        ],
        body,
    )
        .into_response()
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

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    next: String,
}

async fn login(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    parts: axum::http::HeaderMap,
) -> Response {
    let next = safe_next(q.get("next").map(String::as_str));
    // Already logged in: straight on.
    let mut req = axum::http::Request::new(());
    *req.headers_mut() = parts;
    let (mut p, _) = req.into_parts();
    if Agent::from_request_parts(&mut p, &state).await.is_ok() {
        return Redirect::to(&next).into_response();
    }
    html(&LoginPage { next })
}

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
    pub number: String,
    pub preview: String,
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
                number: lookup.number(&c.phone_number_id),
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

async fn list_fragment(
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

async fn inbox(
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

/// Consent as the contact panel shows it.
pub struct ConsentLine {
    pub when: String,
    pub purpose: String,
    pub action: String,
    pub source: String,
    pub actor: String,
}

/// The open conversation: header, thread, composer and contact panel.
#[derive(Template)]
#[template(path = "pane.html")]
pub struct Pane {
    pub c: ConversationRow,
    pub name: String,
    pub initials: String,
    pub address: String,
    pub number: String,
    pub holder: Option<i64>,
    pub holder_name: String,
    pub mine: bool,
    pub admin: bool,
    pub me: i64,
    pub window: Window,
    pub now_ms: i64,
    pub bubbles: Vec<Bubble>,
    pub last_message_id: i64,
    pub labels: Vec<String>,
    pub agents: Vec<(i64, String)>,
    pub templates: Vec<PickTemplate>,
    pub canned: Vec<(String, String)>,
    pub consent_marketing: String,
    pub consent_all: String,
    pub consent: Vec<ConsentLine>,
    pub others: Vec<(i64, String, String)>,
    pub contact_since: String,
    pub username: String,
    pub bsuid: String,
    /// `template` when the window is closed, else `free`.
    pub mode: &'static str,
}

impl Pane {
    pub fn holds(&self, id: &&i64) -> bool {
        self.holder == Some(**id)
    }
}

async fn pane(state: &AppState, agent: &Agent, id: i64, lookup: &Lookup) -> Result<Pane, ApiError> {
    let c = state
        .store
        .conversation(id)
        .await
        .map_err(|e| crate::api::not_found_or(e, format!("Conversation {id}")))?;
    let now = state.now();
    let holder: Option<i64> = c.assignee.as_deref().and_then(|a| a.parse().ok());
    let messages = state.store.recent_messages(id, 200).await?;
    let last_message_id = messages
        .iter()
        .filter(|m| m.direction == "in")
        .map(|m| m.id)
        .max()
        .unwrap_or(0);
    let mut bubbles: Vec<Bubble> = messages.iter().map(view::message).collect();
    let oldest = messages.first().map_or(i64::MIN, |m| m.meta_at_ms);
    let name = |u: Option<i64>| lookup.user(u);
    bubbles.extend(
        state
            .store
            .conversation_events(id)
            .await?
            .iter()
            .filter(|e| e.at_ms >= oldest)
            .map(|e| view::event(e, &name)),
    );
    bubbles.extend(
        state
            .store
            .pending_outbound(&c.phone_number_id, c.contact_id)
            .await?
            .iter()
            .map(view::pending),
    );
    bubbles.sort_by_key(|b| (b.at_ms, b.id));
    let window = view::window(&c, now);
    let number_cfg = state.outbound.number(Some(&c.phone_number_id)).ok();
    let templates = match number_cfg {
        Some(n) => state
            .store
            .templates(&n.waba_id)
            .await?
            .into_iter()
            .filter(|t| t.status.as_deref() == Some("APPROVED"))
            .filter_map(|t| {
                view::pick_template(
                    &t.name,
                    &t.language,
                    t.category.as_deref(),
                    t.definition.as_deref()?,
                )
            })
            .collect(),
        None => vec![],
    };
    let ledger = crate::api::consent::ledger(state, c.contact_id).await?;
    let latest = |k: &str| {
        ledger["latest"][k]
            .as_str()
            .map(|a| a.replace('_', "-"))
            .unwrap_or_else(|| "no record".into())
    };
    let consent = ledger["history"]
        .as_array()
        .into_iter()
        .flatten()
        .take(20)
        .map(|h| ConsentLine {
            when: view::when(h["at_ms"].as_i64().unwrap_or(0)),
            purpose: h["purpose"].as_str().unwrap_or("").to_owned(),
            action: h["action"].as_str().unwrap_or("").replace('_', "-"),
            source: h["source"].as_str().unwrap_or("").replace('_', " "),
            actor: h["actor"].as_str().unwrap_or("").to_owned(),
        })
        .collect();
    let contact = state.store.contact(c.contact_id).await?;
    let others = state
        .store
        .contact_conversations(c.contact_id)
        .await?
        .into_iter()
        .filter(|o| o.id != c.id)
        .map(|o| (o.id, lookup.number(&o.phone_number_id), o.status))
        .collect();
    let agents = lookup.agents.clone();
    let display = view::display_name(&c);
    Ok(Pane {
        name: display.clone(),
        initials: view::initials(&display),
        address: view::address(&c),
        number: lookup.number(&c.phone_number_id),
        holder,
        holder_name: lookup.user(holder),
        mine: holder == Some(agent.user.id),
        admin: agent.role == Role::Admin,
        me: agent.user.id,
        mode: if window.open { "free" } else { "template" },
        window,
        now_ms: now.0,
        bubbles,
        last_message_id,
        labels: state.store.conversation_labels(id).await?,
        agents,
        templates,
        canned: state
            .store
            .canned_responses()
            .await?
            .into_iter()
            .map(|r| (r.shortcut, r.body))
            .collect(),
        consent_marketing: latest("marketing"),
        consent_all: latest("all"),
        consent,
        others,
        contact_since: view::when(contact.created_at_ms),
        username: contact.username.unwrap_or_default(),
        bsuid: contact.bsuid.unwrap_or_default(),
        c,
    })
}

async fn conversation_fragment(
    Page(agent): Page,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::invalid("id", "Conversation ids are whole numbers."))?;
    let lookup = Lookup::load(&state).await?;
    let p = pane(&state, &agent, id, &lookup).await?;
    Ok(html(&p))
}

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

async fn settings(Page(agent): Page, State(state): State<AppState>) -> Result<Response, ApiError> {
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

async fn templates(
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

/// One bar of a chart: its label, amount, and height in the chart's units (0–100).
pub struct Bar {
    pub label: String,
    pub amount: String,
    pub messages: u64,
    pub height: u32,
    pub x: u32,
    pub y: u32,
}

pub struct Budget {
    pub number: String,
    pub budget: String,
    pub spent: String,
    pub percent: u32,
}

impl Budget {
    fn new(who: String, budget: i64, spent: i64) -> Budget {
        Budget {
            number: who,
            budget: switchboard_domain::pricing::Micros(budget).decimal(),
            spent: switchboard_domain::pricing::Micros(spent).decimal(),
            percent: if budget > 0 {
                (spent * 100 / budget).clamp(0, 100) as u32
            } else {
                100
            },
        }
    }
}

#[derive(Template)]
#[template(path = "costs.html")]
struct CostsPage {
    chrome: Chrome,
    currency: String,
    month: String,
    total_estimated: String,
    total_billed: String,
    messages: u64,
    differences: u64,
    days: Vec<Bar>,
    categories: Vec<Bar>,
    markets: Vec<Bar>,
    numbers: Vec<Bar>,
    budgets: Vec<Budget>,
}

fn bars(
    groups: &std::collections::BTreeMap<String, crate::costs::CostTotals>,
    top: usize,
) -> Vec<Bar> {
    let mut v: Vec<(&String, &crate::costs::CostTotals)> = groups.iter().collect();
    if top > 0 {
        v.sort_by_key(|b| std::cmp::Reverse(b.1.estimated.0));
        v.truncate(top);
    }
    let max = v
        .iter()
        .map(|(_, t)| t.estimated.0)
        .max()
        .unwrap_or(0)
        .max(1);
    v.into_iter()
        .enumerate()
        .map(|(i, (k, t))| {
            let height = ((t.estimated.0 as f64 / max as f64) * 100.0).round() as u32;
            Bar {
                label: k.clone(),
                amount: t.estimated.decimal(),
                messages: t.messages,
                height,
                x: i as u32 * 24,
                y: 100 - height,
            }
        })
        .collect()
}

/// One bar per day of the month so far (days without messages included), labelled by day.
fn day_bars(
    groups: &std::collections::BTreeMap<String, crate::costs::CostTotals>,
    month_start: i64,
    now: UnixMs,
) -> Vec<Bar> {
    let mut days = std::collections::BTreeMap::new();
    let mut t = month_start;
    while t <= now.0 {
        let date = UnixMs(t).date();
        days.insert(date.clone(), groups.get(&date).cloned().unwrap_or_default());
        t += 86_400_000;
    }
    let mut v = bars(&days, 0);
    for b in &mut v {
        b.label = b.label.get(8..10).unwrap_or("").to_owned();
    }
    v
}

async fn costs(Page(agent): Page, State(state): State<AppState>) -> Result<Response, ApiError> {
    agent.require(Role::Admin)?;
    let now = UnixMs::now();
    let from = now.month_start().0;
    let report = |g: &'static str| crate::costs::report(&state.store, from, now.0 + 1, g, None);
    let by_day = report("day").await?;
    let by_category = report("category").await?;
    let by_market = report("market").await?;
    let by_number = report("number").await?;
    let lookup = Lookup::load(&state).await?;
    let budgets: Vec<Budget> = state
        .config
        .numbers
        .iter()
        .filter_map(|n| {
            let b = n.monthly_budget_micros?;
            let spent = by_number
                .groups
                .get(&n.phone_number_id)
                .map_or(0, |t| t.estimated.0);
            Some(Budget::new(lookup.number(&n.phone_number_id), b, spent))
        })
        .collect();
    let month = now.month();
    let mut budgets = budgets;
    for (id, name, budget) in state.store.team_budgets().await? {
        let spent = state.store.team_month_estimate(id, &month, None).await?;
        budgets.push(Budget::new(format!("{name} (team)"), budget, spent));
    }
    let mut numbers = bars(&by_number.groups, 0);
    for b in &mut numbers {
        b.label = lookup.number(&b.label);
    }
    Ok(html(&CostsPage {
        chrome: chrome(&agent, "costs"),
        currency: by_day.currency.clone(),
        month: UnixMs(from).date()[..7].to_owned(),
        total_estimated: by_day.total.estimated.decimal(),
        total_billed: by_day.total.billed.decimal(),
        messages: by_day.total.messages,
        differences: by_day.total.differences,
        days: day_bars(&by_day.groups, from, now),
        categories: bars(&by_category.groups, 0),
        markets: bars(&by_market.groups, 12),
        numbers,
        budgets,
    }))
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
