//! `GET/POST /api/v1/contacts/{id}/consent`: a contact's consent records (append-only, newest
//! first) and a new opt-in or opt-out. The send policy reads the same records in the
//! transaction that queues a message, so a record takes effect for the very next send.

use crate::routes::Routes;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_domain::{Role, UnixMs};

use super::Id;
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get("/contacts/{id}/consent", history)
        .post("/contacts/{id}/consent", record)
        .get("/contacts/export.csv", export)
        .post("/contacts/import", import)
        .map(|r| r.layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024)))
}

/// Every contact with the latest consent per purpose, as CSV (the import's columns).
async fn export(
    caller: ApiCaller,
    State(state): State<AppState>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    use switchboard_domain::csv::field;
    caller.require(Role::Admin)?;
    let rows = state.store.contacts_with_consent().await?;
    let mut out = String::from("phone,bsuid,name,marketing,all\n");
    for r in rows {
        let phone = r
            .wa_id
            .as_ref()
            .map(|w| format!("+{w}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            field(&phone),
            field(r.bsuid.as_deref().unwrap_or("")),
            field(r.name.as_deref().unwrap_or("")),
            r.marketing.as_deref().unwrap_or(""),
            r.all_messages.as_deref().unwrap_or("")
        ));
    }
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"contacts.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

/// Imports contacts and consent from CSV: columns `phone` (required), `name`, `marketing` and
/// `all` (`opt_in`, `opt_out` or empty), `source` (default `import`), `evidence`. Every line is
/// checked first; one bad line refuses the whole file, naming each bad line.
async fn import(
    caller: ApiCaller,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    use switchboard_domain::csv::{Header, parse};
    caller.require(Role::Admin)?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::invalid("body", "The file is not UTF-8 text."))?;
    let rows = parse(text)
        .map_err(|e| ApiError::invalid("body", format!("The CSV does not parse: {e}.")))?;
    let Some((head, lines)) = rows.split_first() else {
        return Err(ApiError::invalid(
            "body",
            "The file is empty; the first line names the columns (phone,name,marketing,all,source,evidence).",
        ));
    };
    let h = Header::new(head);
    if h.index("phone").is_none() {
        return Err(ApiError::invalid(
            "body",
            "The first line must name the columns, with at least \"phone\".",
        ));
    }
    let action = |v: Option<&str>| -> Result<Option<&'static str>, String> {
        match v.map(str::to_ascii_lowercase).as_deref() {
            None => Ok(None),
            Some("opt_in" | "yes" | "true" | "in") => Ok(Some("opt_in")),
            Some("opt_out" | "no" | "false" | "out") => Ok(Some("opt_out")),
            Some(other) => Err(format!("{other:?} is not opt_in or opt_out")),
        }
    };
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let n = i + 2;
        let phone = h.get(line, "phone").unwrap_or("");
        let e164 = switchboard_domain::E164::parse(phone)
            .or_else(|_| switchboard_domain::E164::from_wa_id(phone));
        let (marketing, all) = (action(h.get(line, "marketing")), action(h.get(line, "all")));
        match (e164, marketing, all) {
            (Ok(p), Ok(m), Ok(a)) => out.push(switchboard_store::ImportRow {
                wa_id: p.wa_id().to_owned(),
                name: h.get(line, "name").map(str::to_owned),
                marketing: m,
                all_messages: a,
                source: h.get(line, "source").unwrap_or("import").to_owned(),
                evidence: h.get(line, "evidence").map(str::to_owned),
            }),
            (Err(_), _, _) => problems.push(format!(
                "line {n}: {phone:?} is not a phone number in international form"
            )),
            (_, Err(e), _) | (_, _, Err(e)) => problems.push(format!("line {n}: {e}")),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::Rejected {
            code: "import_invalid",
            message: format!(
                "{} line(s) are not valid; nothing was imported.",
                problems.len()
            ),
            details: json!({"problems": problems}),
        });
    }
    let sum = state
        .store
        .import_contacts(&out, &caller.actor(), UnixMs::now().0)
        .await?;
    Ok(Json(json!(sum)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewConsent {
    /// `marketing`, or `all` (every business-initiated message).
    purpose: String,
    /// `opt_in` or `opt_out`.
    action: String,
    /// Where it came from: `web_form`, `checkbox`, `keyword`, `api`, `import`, `agent`…
    source: String,
    evidence: Option<String>,
    /// Limit it to one sending number (default: every number).
    number: Option<String>,
}

/// The whole audit history, newest first: our records and Meta's marketing preferences
/// (`user_preferences` webhooks, as `source: meta_user_preferences`), and the latest per purpose.
pub(crate) async fn ledger(state: &AppState, id: i64) -> Result<Value, ApiError> {
    let mut history: Vec<Value> = state
        .store
        .consent_history(id)
        .await?
        .into_iter()
        .map(|r| json!(r))
        .collect();
    for (number, value, at) in state.store.meta_marketing_preferences(id).await? {
        let action = if value.eq_ignore_ascii_case("resume") {
            "opt_in"
        } else {
            "opt_out"
        };
        history.push(json!({"phone_number_id": number, "purpose": "marketing", "action": action,
            "source": "meta_user_preferences", "evidence": format!("user_preferences {value}"), "actor": "customer", "at_ms": at}));
    }
    history.sort_by_key(|h| std::cmp::Reverse(h["at_ms"].as_i64().unwrap_or(0)));
    let latest = |p: &str| {
        history
            .iter()
            .find(|h| h["purpose"] == p)
            .map(|h| h["action"].clone())
    };
    let (all, marketing) = (latest("all"), latest("marketing"));
    Ok(
        json!({"contact_id": id, "latest": {"all": all, "marketing": marketing}, "history": history}),
    )
}

async fn history(
    caller: ApiCaller,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Agent)?;
    state
        .store
        .contact(id)
        .await
        .map_err(|e| super::not_found_or(e, format!("Contact {id}")))?;
    Ok(Json(ledger(&state, id).await?))
}

async fn record(
    caller: ApiCaller,
    State(state): State<AppState>,
    Id(id): Id,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Role::Agent)?;
    let c: NewConsent = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid(
            "body",
            format!("Expected {{purpose, action, source, evidence?, number?}}: {e}."),
        )
    })?;
    if !matches!(c.purpose.as_str(), "marketing" | "all") {
        return Err(ApiError::invalid(
            "purpose",
            "\"purpose\" must be marketing or all.",
        ));
    }
    if !matches!(c.action.as_str(), "opt_in" | "opt_out") {
        return Err(ApiError::invalid(
            "action",
            "\"action\" must be opt_in or opt_out.",
        ));
    }
    if c.source.trim().is_empty() || c.source.len() > 64 {
        return Err(ApiError::invalid(
            "source",
            "\"source\" must name where the consent came from (1 to 64 characters).",
        ));
    }
    // Stored as the phone number id, whichever form the caller used (the policy matches ids).
    let number = match &c.number {
        Some(n) => Some(state.outbound.number(Some(n))?.phone_number_id.clone()),
        None => None,
    };
    state
        .store
        .contact(id)
        .await
        .map_err(|e| super::not_found_or(e, format!("Contact {id}")))?;
    let actor = caller.actor();
    state
        .store
        .record_consent(
            id,
            number.as_deref(),
            &c.purpose,
            &c.action,
            &c.source,
            c.evidence.as_deref(),
            Some(&actor),
            UnixMs::now().0,
        )
        .await?;
    // Open contact panels show it at once.
    state
        .events
        .publish("contact", None, json!({"contact_id": id}));
    Ok((StatusCode::CREATED, Json(ledger(&state, id).await?)))
}
