//! The control API under `/_emulator/`: what a test (or a developer at a terminal) uses to play
//! the customer, move time, inject faults and inspect what the business sent and what webhooks
//! went out. The same operations are methods on [`Emulator`] for Rust tests.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::customers::CustomerError;
use crate::faults::{FailNext, Faults};
use crate::state::{AutoReply, Customer};
use crate::webhooks::{Payload, Update};
use crate::{Emulator, traffic};

pub fn router() -> Router<Emulator> {
    Router::new()
        .route("/_emulator/info", get(info))
        .route("/_emulator/customers", post(create_customer))
        .route("/_emulator/customers/{wa_id}", get(get_customer))
        .route(
            "/_emulator/customers/{wa_id}/messages",
            post(customer_message),
        )
        .route("/_emulator/customers/{wa_id}/marketing", post(marketing))
        .route("/_emulator/customers/{wa_id}/block", post(block))
        .route(
            "/_emulator/customers/{wa_id}/change-number",
            post(change_number),
        )
        .route("/_emulator/outbox", get(outbox))
        .route("/_emulator/clock", get(clock))
        .route("/_emulator/clock/advance", post(advance))
        .route("/_emulator/faults", get(get_faults).post(set_faults))
        .route("/_emulator/webhooks", get(webhooks))
        .route("/_emulator/traffic", get(traffic_stats).post(start_traffic))
}

fn bad(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": {"message": message.into()}}))).into_response()
}

/// `{"ok": true}`, or the customer error.
fn done(result: Result<(), CustomerError>) -> Response {
    match result {
        Ok(()) => Json(json!({"ok": true})).into_response(),
        Err(e) => e.into_response(),
    }
}

impl IntoResponse for CustomerError {
    fn into_response(self) -> Response {
        let status = match self {
            CustomerError::UnknownCustomer(_) | CustomerError::UnknownNumber(_) => {
                StatusCode::NOT_FOUND
            }
            CustomerError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        bad(status, self.to_string())
    }
}

/// Everything a client needs to talk to this emulator (what `switchboard emulator` prints).
pub fn info_json(em: &Emulator) -> Value {
    let c = em.config();
    json!({
        "base_url": em.base_url(),
        "api_version": c.api_version,
        "phone_number_id": c.numbers[0].phone_number_id,
        "display_phone_number": c.numbers[0].display_phone_number,
        "numbers": c.numbers,
        "waba_id": c.waba_id,
        "app_id": c.app_id,
        "access_token": c.access_token,
        "app_secret": c.app_secret,
        "verify_token": c.verify_token,
        "webhook_url": c.webhook_url,
    })
}

async fn info(State(em): State<Emulator>) -> Json<Value> {
    Json(info_json(&em))
}

#[derive(Deserialize)]
struct NewCustomer {
    wa_id: String,
    name: Option<String>,
    username: Option<String>,
    #[serde(default = "yes")]
    reads: bool,
    read_delay_ms: Option<u64>,
    auto_reply: Option<AutoReply>,
    #[serde(default = "yes")]
    on_whatsapp: bool,
}

fn yes() -> bool {
    true
}

async fn create_customer(
    State(em): State<Emulator>,
    body: Result<Json<NewCustomer>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(n) = match body {
        Ok(b) => b,
        Err(e) => return bad(StatusCode::UNPROCESSABLE_ENTITY, e.body_text()),
    };
    let wa_id = n.wa_id.trim_start_matches('+').to_owned();
    if !(7..=15).contains(&wa_id.len()) || !wa_id.bytes().all(|b| b.is_ascii_digit()) {
        return bad(
            StatusCode::UNPROCESSABLE_ENTITY,
            "wa_id must be a phone number in digits, e.g. 16505551234",
        );
    }
    let mut c = Customer::new(&wa_id, n.name.as_deref());
    c.username = n.username;
    c.reads = n.reads;
    c.read_delay_ms = n.read_delay_ms;
    c.auto_reply = n.auto_reply;
    c.on_whatsapp = n.on_whatsapp;
    let c = em.add_customer(c);
    (
        StatusCode::CREATED,
        Json(json!({"id": c.wa_id, "customer": c})),
    )
        .into_response()
}

async fn get_customer(State(em): State<Emulator>, Path(wa_id): Path<String>) -> Response {
    match em.customer(&wa_id) {
        Some(c) => Json(json!(c)).into_response(),
        None => CustomerError::UnknownCustomer(wa_id).into_response(),
    }
}

fn number_of(em: &Emulator, body: &Value) -> String {
    body.get("phone_number_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| em.default_number())
}

async fn customer_message(
    State(em): State<Emulator>,
    Path(wa_id): Path<String>,
    Json(mut body): Json<Value>,
) -> Response {
    let number = number_of(&em, &body);
    if let Some(o) = body.as_object_mut() {
        o.remove("phone_number_id");
    }
    match em.customer_sends(&wa_id, &number, body) {
        Ok(id) => Json(json!({"id": id})).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn marketing(
    State(em): State<Emulator>,
    Path(wa_id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let stop = match body.get("value").and_then(Value::as_str) {
        Some("stop") => true,
        Some("resume") => false,
        _ => {
            return bad(
                StatusCode::UNPROCESSABLE_ENTITY,
                "value must be \"stop\" or \"resume\"",
            );
        }
    };
    done(em.set_marketing_preference(&wa_id, &number_of(&em, &body), stop))
}

async fn block(
    State(em): State<Emulator>,
    Path(wa_id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let blocked = body.get("blocked").and_then(Value::as_bool).unwrap_or(true);
    done(em.set_blocked(&wa_id, blocked))
}

async fn change_number(
    State(em): State<Emulator>,
    Path(wa_id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some(new) = body.get("new_wa_id").and_then(Value::as_str) else {
        return bad(StatusCode::UNPROCESSABLE_ENTITY, "new_wa_id is required");
    };
    done(em.change_number(&wa_id, new, &number_of(&em, &body)))
}

async fn outbox(
    State(em): State<Emulator>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(1000);
    let all = em.outbox();
    let start = match q.get("after") {
        Some(after) => all.iter().position(|r| &r.id == after).map_or(0, |i| i + 1),
        None => 0,
    };
    let page: Vec<_> = all.into_iter().skip(start).take(limit).collect();
    Json(json!(page))
}

async fn clock(State(em): State<Emulator>) -> Json<Value> {
    Json(json!({"now_ms": em.now_ms(), "offset_ms": em.0.clock.offset_ms()}))
}

async fn advance(State(em): State<Emulator>, Json(body): Json<Value>) -> Response {
    let Some(secs) = body
        .get("seconds")
        .and_then(Value::as_f64)
        .filter(|s| *s >= 0.0)
    else {
        return bad(
            StatusCode::UNPROCESSABLE_ENTITY,
            "seconds must be a non-negative number",
        );
    };
    em.advance(Duration::from_millis((secs * 1000.0) as u64));
    Json(json!({"now_ms": em.now_ms()})).into_response()
}

async fn get_faults(State(em): State<Emulator>) -> Json<Value> {
    Json(json!(em.state().faults))
}

/// Partial update of the faults, plus account-level events.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FaultsPatch {
    #[serde(default)]
    clear: bool,
    fail_next: Option<FailNext>,
    error_rate_5xx: Option<f64>,
    latency_ms: Option<u64>,
    latency_jitter_ms: Option<u64>,
    timeout_rate: Option<f64>,
    drop_rate: Option<f64>,
    token_expired: Option<bool>,
    /// GREEN, YELLOW or RED: changes the number's quality and sends `phone_number_quality_update`.
    quality: Option<String>,
    /// Restricts (or lifts) business-initiated messaging and sends `account_update`.
    account_restriction: Option<bool>,
    /// Pauses a template (`{"name": …, "language": …}`) and sends its status update.
    template_paused: Option<TemplateKey>,
    template_disabled: Option<TemplateKey>,
    phone_number_id: Option<String>,
}

#[derive(Deserialize)]
struct TemplateKey {
    name: String,
    language: String,
}

async fn set_faults(
    State(em): State<Emulator>,
    body: Result<Json<FaultsPatch>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(p) = match body {
        Ok(b) => b,
        Err(e) => return bad(StatusCode::UNPROCESSABLE_ENTITY, e.body_text()),
    };
    for rate in [p.error_rate_5xx, p.timeout_rate, p.drop_rate]
        .into_iter()
        .flatten()
    {
        if !(0.0..=1.0).contains(&rate) {
            return bad(
                StatusCode::UNPROCESSABLE_ENTITY,
                "rates are between 0.0 and 1.0",
            );
        }
    }
    if let Some(q) = &p.quality
        && !matches!(q.as_str(), "GREEN" | "YELLOW" | "RED")
    {
        return bad(
            StatusCode::UNPROCESSABLE_ENTITY,
            "quality must be GREEN, YELLOW or RED",
        );
    }
    {
        let mut st = em.state();
        let f = &mut st.faults;
        if p.clear {
            *f = Faults::default();
        }
        if p.fail_next.is_some() {
            f.fail_next = p.fail_next;
        }
        macro_rules! set {
            ($($k:ident),*) => { $( if let Some(v) = p.$k { f.$k = v; } )* };
        }
        set!(
            error_rate_5xx,
            latency_ms,
            latency_jitter_ms,
            timeout_rate,
            drop_rate,
            token_expired
        );
    }
    let number = p
        .phone_number_id
        .clone()
        .unwrap_or_else(|| em.default_number());
    if let Some(q) = p.quality {
        em.set_quality(&number, &q);
    }
    if let Some(r) = p.account_restriction {
        em.set_restriction(r);
    }
    for (key, status) in [
        (p.template_paused, "PAUSED"),
        (p.template_disabled, "DISABLED"),
    ] {
        if let Some(k) = key
            && !em.set_template_status(&k.name, &k.language, status)
        {
            return bad(
                StatusCode::NOT_FOUND,
                format!("no template {} in {}", k.name, k.language),
            );
        }
    }
    Json(json!(em.state().faults)).into_response()
}

impl Emulator {
    /// Changes a number's quality rating and sends `phone_number_quality_update`.
    pub fn set_quality(&self, phone_number_id: &str, quality: &str) {
        let (display, old) = {
            let mut st = self.state();
            let Some(n) = st.numbers.get_mut(phone_number_id) else {
                return;
            };
            let old = std::mem::replace(&mut n.quality, quality.to_owned());
            (n.spec.display_phone_number.clone(), old)
        };
        let rank = |q: &str| match q {
            "GREEN" => 2,
            "YELLOW" => 1,
            _ => 0,
        };
        let event = if rank(quality) < rank(&old) {
            "DOWNGRADE"
        } else {
            "UPGRADE"
        };
        let tier = self.config().messaging_limit.as_str();
        self.emit(Update {
            field: "phone_number_quality_update".into(),
            payload: Payload::Other(json!({
                "display_phone_number": display, "event": event, "current_limit": tier,
                "max_daily_conversations_per_business": tier, "quality_rating": quality,
            })),
        });
    }

    /// Restricts business-initiated messaging on every number (368 on template sends) and
    /// sends `account_update`.
    pub fn set_restriction(&self, restricted: bool) {
        let expiration = self.now_ms() / 1000 + 7 * 86_400;
        for n in self.state().numbers.values_mut() {
            n.restricted = restricted;
        }
        let value = if restricted {
            json!({"event": "ACCOUNT_RESTRICTION", "restriction_info": [{"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": expiration}]})
        } else {
            json!({"event": "ACCOUNT_RESTRICTION", "restriction_info": []})
        };
        self.emit(Update {
            field: "account_update".into(),
            payload: Payload::Other(value),
        });
    }
}

async fn webhooks(
    State(em): State<Emulator>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(1000);
    let log = em.deliveries();
    let skip = log.len().saturating_sub(limit);
    Json(
        json!({"delivered_updates": em.delivered_updates(), "attempts": log.into_iter().skip(skip).collect::<Vec<_>>()}),
    )
}

async fn start_traffic(
    State(em): State<Emulator>,
    body: Result<Json<traffic::TrafficSpec>, axum::extract::rejection::JsonRejection>,
) -> Response {
    match body {
        Ok(Json(spec)) => match em.start_traffic(spec) {
            Ok(()) => (StatusCode::ACCEPTED, Json(json!(em.traffic_stats()))).into_response(),
            Err(e) => bad(StatusCode::UNPROCESSABLE_ENTITY, e),
        },
        Err(e) => bad(StatusCode::UNPROCESSABLE_ENTITY, e.body_text()),
    }
}

async fn traffic_stats(State(em): State<Emulator>) -> Json<Value> {
    Json(json!(em.traffic_stats()))
}
