//! The Graph API endpoints the Cloud API uses, dispatched the way Graph does: by the node id in
//! the path (a phone number, a WABA, a media object or a template) and the edge after it.
//! What Meta refuses is decided in `validate`, by pure rules; each endpoint's file keeps the
//! rest (recording, pacing, scheduling what follows).

mod account;
mod media;
mod messages;
mod templates;
mod validate;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use std::collections::HashMap;
use switchboard_cloudapi::{ErrorCode, GraphError, GraphErrorBody};

use crate::Emulator;
use crate::faults;
use crate::refusal::{error, graph_error};

pub use media::download;

pub fn router() -> Router<Emulator> {
    Router::new()
        .route("/{version}/{node}", any(node))
        .route("/{version}/{node}/{edge}", any(edge))
        .route("/whatsapp_business/attachments/", get(media::download))
}

/// The faults middleware on the Graph routes: draws under the state lock, acts without it.
pub async fn with_faults(State(em): State<Emulator>, req: Request, next: Next) -> Response {
    let (latency, outcome) = em.state().faults.draw();
    faults::apply(latency, outcome, req, next).await
}

fn unsupported(method: &Method, node: &str) -> Response {
    let mut e = GraphError::new(ErrorCode::INVALID_PARAMETER, "", "", &crate::ids::fbtrace());
    e.message = format!(
        "Unsupported {} request. Object with ID '{node}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
        method.as_str().to_lowercase()
    );
    e.kind = Some("GraphMethodException".into());
    e.error_subcode = Some(33);
    e.error_data = None;
    (
        StatusCode::BAD_REQUEST,
        axum::Json(GraphErrorBody {
            error: e,
            extra: Default::default(),
        }),
    )
        .into_response()
}

/// Bearer token (or `access_token` query parameter), and a `vNN.0` version. The error is a
/// ready response (large, but built at most once per request).
#[allow(clippy::result_large_err)]
fn authorize(
    em: &Emulator,
    version: &str,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<Access, Response> {
    let valid_version = version
        .strip_prefix('v')
        .and_then(|v| v.strip_suffix(".0"))
        .is_some_and(|n| n.parse::<u32>().is_ok());
    if !valid_version {
        return Err(error(
            ErrorCode::INVALID_PARAMETER,
            "Unknown path components",
            &format!("Unknown path components: /{version}"),
        ));
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("OAuth "))
        })
        .map(str::trim)
        .or_else(|| query.get("access_token").map(String::as_str));
    match token {
        None => Err(graph_error(
            401,
            ErrorCode::ACCESS_TOKEN_EXPIRED,
            "An active access token must be used",
            "An active access token must be used to query information about the current user.",
        )),
        Some(t) if t == em.config().access_token => Ok(Access::Full),
        Some(t) if em.config().read_only_tokens.iter().any(|r| r == t) => Ok(Access::ReadOnly),
        Some(_) => Err(graph_error(
            401,
            ErrorCode::ACCESS_TOKEN_EXPIRED,
            "Invalid OAuth access token",
            "Invalid OAuth access token - Cannot parse access token",
        )),
    }
}

/// What a valid token may do: everything, or only read (no `whatsapp_business_messaging`,
/// no `whatsapp_business_management` write access), as a token whose system user lacks them.
#[derive(PartialEq)]
enum Access {
    Full,
    ReadOnly,
}

fn permission_error(edge: &str) -> Response {
    if edge == "messages" || edge == "media" {
        graph_error(
            403,
            ErrorCode::PERMISSION_DENIED,
            "Application does not have permission for this action",
            "The access token lacks the whatsapp_business_messaging permission.",
        )
    } else {
        graph_error(
            403,
            ErrorCode(200),
            "Permissions error",
            "The access token lacks the whatsapp_business_management permission.",
        )
    }
}

enum NodeKind {
    Number,
    Waba,
    Media,
    Template,
    Unknown,
}

fn kind_of(em: &Emulator, node: &str) -> NodeKind {
    if node == em.config().waba_id {
        return NodeKind::Waba;
    }
    let st = em.state();
    if st.numbers.contains_key(node) {
        NodeKind::Number
    } else if st.media.contains_key(node) {
        NodeKind::Media
    } else if st.templates.iter().any(|t| t.id == node) {
        NodeKind::Template
    } else {
        NodeKind::Unknown
    }
}

async fn node(
    State(em): State<Emulator>,
    method: Method,
    Path((version, node)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    match authorize(&em, &version, &headers, &query) {
        Err(r) => return r,
        Ok(Access::ReadOnly) if method != Method::GET => return permission_error(&node),
        Ok(_) => {}
    }
    match (kind_of(&em, &node), &method) {
        (NodeKind::Number, &Method::GET) => account::phone_number(&em, &node, &query),
        (NodeKind::Waba, &Method::GET) => account::waba(&em, &query),
        (NodeKind::Media, &Method::GET) => media::info(&em, &node, &query),
        (NodeKind::Media, &Method::DELETE) => media::delete(&em, &node),
        (NodeKind::Template, &Method::GET) => templates::get_one(&em, &node),
        (NodeKind::Template, &Method::POST) => templates::edit(&em, &node, &body),
        _ => unsupported(&method, &node),
    }
}

async fn edge(
    State(em): State<Emulator>,
    method: Method,
    Path((version, node, edge)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match authorize(&em, &version, &headers, &query) {
        Err(r) => return r,
        Ok(Access::ReadOnly) if method != Method::GET => return permission_error(&edge),
        Ok(_) => {}
    }
    match (kind_of(&em, &node), edge.as_str(), &method) {
        (NodeKind::Number, "messages", &Method::POST) => messages::post(&em, &version, &node, body),
        (NodeKind::Number, "media", &Method::POST) => media::upload(&em, &headers, body).await,
        (NodeKind::Waba, "message_templates", &Method::GET) => templates::list(&em, &query),
        (NodeKind::Waba, "message_templates", &Method::POST) => templates::create(&em, &body),
        (NodeKind::Waba, "message_templates", &Method::DELETE) => templates::delete(&em, &query),
        (NodeKind::Waba, "phone_numbers", &Method::GET) => account::phone_numbers(&em, &query),
        (NodeKind::Waba, "subscribed_apps", m) => account::subscribed_apps(&em, m),
        _ => unsupported(&method, &format!("{node}/{edge}")),
    }
}
