//! The open conversation: header, thread (messages, notes, changes of hands, sends not yet
//! accepted), composer and contact panel. Part of the inbox page, and served alone as a
//! fragment (`/inbox/c/{id}`), which the script fetches when something changes.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use switchboard_domain::Role;
use switchboard_store::ConversationRow;

use super::view::{self, Bubble, PickTemplate, Window};
use super::{Lookup, Page, html};
use crate::AppState;
use crate::agents::Agent;
use crate::error::ApiError;

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

pub(super) async fn pane(
    state: &AppState,
    agent: &Agent,
    id: i64,
    lookup: &Lookup,
) -> Result<Pane, ApiError> {
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

pub(super) async fn conversation_fragment(
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
