//! The inbound path (docs/architecture.md, "Inbound"): Meta's webhooks are verified over their raw
//! bytes, appended to the store's journal (`Store::append_webhook`, group-committed there) and
//! acknowledged; nothing is parsed on that path. The [`projector`] applies journaled bodies in order, idempotently; the [`media`] worker
//! downloads what customers sent.
//!
//! Nothing acknowledged is lost: the 200 is sent only after the journal transaction committed.
//! A signed body that does not parse is still journaled and acknowledged (Meta would otherwise
//! retry it for seven days) and shows up as a dead letter.

pub(crate) mod items;
pub mod media;
pub mod project;
pub mod projector;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;
use switchboard_cloudapi::signature;
use switchboard_domain::UnixMs;
use switchboard_store::NewWebhook;

use crate::AppState;
use crate::routes::Routes;

pub fn router() -> Routes {
    Routes::new()
        .get("/webhooks/whatsapp", verify)
        .post("/webhooks/whatsapp", receive)
}

/// Meta's verification handshake: echo `hub.challenge` when the token matches.
async fn verify(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(expected) = &state.config.webhook.verify_token else {
        tracing::warn!("webhook verification attempted but no verify token is configured");
        return StatusCode::FORBIDDEN.into_response();
    };
    let mode_ok = q.get("hub.mode").map(String::as_str) == Some("subscribe");
    let token = q.get("hub.verify_token").map(String::as_str).unwrap_or("");
    let token_ok: bool = token
        .as_bytes()
        .ct_eq(expected.expose_secret().as_bytes())
        .into();
    match (mode_ok && token_ok, q.get("hub.challenge")) {
        (true, Some(challenge)) => {
            tracing::info!("webhook verification handshake answered");
            ([("content-type", "text/plain")], challenge.clone()).into_response()
        }
        _ => {
            tracing::warn!(
                mode_ok,
                "webhook verification refused: wrong mode or verify token"
            );
            StatusCode::FORBIDDEN.into_response()
        }
    }
}

/// Verifies the signature over the raw bytes, journals, and acknowledges.
async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            // Over the size limit, or the client went away mid-body. Meta retries what it
            // does not get a 200 for; a limit set too low must show, not drop deliveries.
            metrics::counter!("switchboard_webhook_rejected_total", "reason" => "body")
                .increment(1);
            tracing::warn!(error = %rejection, "webhook body refused");
            return rejection.into_response();
        }
    };
    let start = std::time::Instant::now();
    let response = journal(&state, &headers, body).await;
    metrics::histogram!("switchboard_webhook_ack_seconds").record(start.elapsed().as_secs_f64());
    response
}

async fn journal(state: &AppState, headers: &HeaderMap, body: Bytes) -> Response {
    let Some(sig) = headers.get(signature::HEADER).and_then(|v| v.to_str().ok()) else {
        metrics::counter!("switchboard_webhook_rejected_total", "reason" => "missing_signature")
            .increment(1);
        tracing::warn!(
            bytes = body.len(),
            "webhook without X-Hub-Signature-256 refused"
        );
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Some(app_id) = state.inbound.verify_signature(&body, sig) else {
        metrics::counter!("switchboard_webhook_rejected_total", "reason" => "bad_signature")
            .increment(1);
        tracing::warn!(
            bytes = body.len(),
            "webhook with a signature no configured app secret matches refused"
        );
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let hook = NewWebhook::new(UnixMs::now().0, sig.to_owned(), app_id, body.to_vec());
    match state.store.append_webhook(hook).await {
        Ok(_) => {
            // Meta's retries (byte-identical bodies) are recognised when projected.
            metrics::counter!("switchboard_webhook_accepted_total").increment(1);
            state.inbound.projector_wake.notify_one();
            StatusCode::OK.into_response()
        }
        Err(e) => {
            // Not acknowledged: Meta retries, so nothing is lost.
            tracing::error!(error = %crate::error::error_chain(&e), "webhook could not be journaled; answering 503 so Meta retries");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// Counts every response of the webhook route by status, including those made before the
/// handler runs (body too large) or instead of it (timeout, panic).
pub async fn count_response(response: Response) -> Response {
    let status = match response.status().as_u16() {
        200 => "200",
        401 => "401",
        403 => "403",
        405 => "405",
        408 => "408",
        413 => "413",
        500 => "500",
        503 => "503",
        _ => "other",
    };
    metrics::counter!("switchboard_webhook_responses_total", "status" => status).increment(1);
    response
}

/// What the intake needs: the app secrets to try, and the projector's bell.
pub struct Inbound {
    /// (app id, secret) per distinct app secret; a body is accepted if any verifies it.
    secrets: Vec<(Option<String>, Vec<u8>)>,
    pub projector_wake: std::sync::Arc<tokio::sync::Notify>,
    /// The projector, once built: replays of item dead letters go through it.
    pub projector: std::sync::OnceLock<projector::Projector>,
}

impl Inbound {
    pub fn new(config: &crate::Config) -> Self {
        let secrets = config
            .app_secrets()
            .into_iter()
            .map(|(id, s)| (id, s.expose_secret().as_bytes().to_vec()))
            .collect();
        Inbound {
            secrets,
            projector_wake: Default::default(),
            projector: Default::default(),
        }
    }

    /// The app whose secret signed this body: `Some(app_id)` (the id may be unknown), or `None`.
    fn verify_signature(&self, body: &[u8], header: &str) -> Option<Option<String>> {
        self.secrets
            .iter()
            .find(|(_, secret)| signature::verify(secret, body, header))
            .map(|(id, _)| id.clone())
    }
}
