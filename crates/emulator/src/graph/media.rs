//! Media (§11): upload (multipart), retrieve (a URL that expires after five minutes of emulated
//! time), download with the bearer token, delete. Simulated customers' media is stored here too,
//! so a client can download what a customer sent.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};
use switchboard_cloudapi::ErrorCode;

use crate::Emulator;
use crate::refusal::error;
use crate::state::MediaRecord;

const URL_TTL_MS: i64 = 5 * 60 * 1000;
const MAX_BYTES: usize = 100 * 1024 * 1024;

impl Emulator {
    /// Stores media and returns its id.
    pub fn store_media(&self, bytes: Bytes, mime_type: &str) -> String {
        let now = self.now_ms();
        let mut st = self.state();
        let seq = st.next_seq();
        let id = crate::ids::numeric(seq);
        let sha256_b64 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
        st.media.insert(
            id.clone(),
            MediaRecord {
                id: id.clone(),
                bytes,
                mime_type: mime_type.to_owned(),
                sha256_b64,
                created_at_ms: now,
            },
        );
        id
    }

    /// A download URL like Meta's lookaside URLs, valid for five minutes of emulated time.
    pub fn media_url(&self, id: &str) -> String {
        let exp = (self.now_ms() + URL_TTL_MS) / 1000;
        let hash =
            hex::encode(&Sha256::digest(format!("{id}:{exp}:{}", self.config().app_secret))[..12]);
        format!(
            "{}/whatsapp_business/attachments/?mid={id}&ext={exp}&hash={hash}",
            self.base_url()
        )
    }

    pub(crate) fn media_json(&self, id: &str) -> Option<serde_json::Value> {
        let st = self.state();
        let m = st.media.get(id)?;
        Some(json!({"id": m.id, "mime_type": m.mime_type, "sha256": m.sha256_b64}))
    }
}

pub async fn upload(em: &Emulator, headers: &HeaderMap, body: Bytes) -> Response {
    let mut req = Request::new(axum::body::Body::from(body));
    *req.headers_mut() = headers.clone();
    let mut multipart = match axum::extract::Multipart::from_request(req, &()).await {
        Ok(m) => m,
        Err(_) => {
            return error(
                ErrorCode::INVALID_PARAMETER,
                "Invalid parameter",
                "Upload media as multipart/form-data with fields file, type and messaging_product.",
            );
        }
    };
    let (mut file, mut mime, mut product) = (None, None, None);
    while let Ok(Some(field)) = multipart.next_field().await {
        match field.name() {
            Some("file") => {
                let ct = field.content_type().map(str::to_owned);
                match field.bytes().await {
                    Ok(b) => file = Some((b, ct)),
                    Err(_) => {
                        return error(
                            ErrorCode::INVALID_PARAMETER,
                            "Invalid parameter",
                            "The file could not be read.",
                        );
                    }
                }
            }
            Some("type") => mime = field.text().await.ok(),
            Some("messaging_product") => product = field.text().await.ok(),
            _ => {}
        }
    }
    if product.as_deref() != Some("whatsapp") {
        return error(
            ErrorCode::INVALID_PARAMETER,
            "Invalid parameter",
            "The parameter messaging_product is required and must be \"whatsapp\".",
        );
    }
    let Some((bytes, file_type)) = file else {
        return error(
            ErrorCode::REQUIRED_PARAMETER_MISSING,
            "Required parameter is missing",
            "The parameter file is required.",
        );
    };
    let Some(mime) = mime.or(file_type) else {
        return error(
            ErrorCode::REQUIRED_PARAMETER_MISSING,
            "Required parameter is missing",
            "The parameter type is required.",
        );
    };
    if bytes.is_empty() || bytes.len() > MAX_BYTES {
        return error(
            ErrorCode::MEDIA_UPLOAD_ERROR,
            "Media upload error",
            "The file is empty or larger than 100 MB.",
        );
    }
    let id = em.store_media(bytes, &mime);
    Json(json!({"id": id})).into_response()
}

pub fn info(em: &Emulator, id: &str, _q: &HashMap<String, String>) -> Response {
    let url = em.media_url(id);
    let st = em.state();
    let Some(m) = st.media.get(id) else {
        return error(
            ErrorCode::INVALID_PARAMETER,
            "Invalid parameter",
            "No such media.",
        );
    };
    Json(json!({
        "messaging_product": "whatsapp", "url": url, "mime_type": m.mime_type, "sha256": m.sha256_b64,
        "file_size": m.bytes.len(), "id": m.id,
    }))
    .into_response()
}

pub fn delete(em: &Emulator, id: &str) -> Response {
    em.state().media.remove(id);
    Json(json!({"success": true})).into_response()
}

/// `GET /whatsapp_business/attachments/?mid=…&ext=…&hash=…` with the bearer token.
pub async fn download(
    State(em): State<Emulator>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let token_ok = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == em.config().access_token);
    if !token_ok {
        return crate::refusal::graph_error(
            401,
            ErrorCode::ACCESS_TOKEN_EXPIRED,
            "Invalid OAuth access token",
            "Downloading media needs the bearer access token.",
        );
    }
    let (Some(id), Some(exp), Some(hash)) = (
        q.get("mid"),
        q.get("ext").and_then(|e| e.parse::<i64>().ok()),
        q.get("hash"),
    ) else {
        return (axum::http::StatusCode::NOT_FOUND, "not found").into_response();
    };
    let expected =
        hex::encode(&Sha256::digest(format!("{id}:{exp}:{}", em.config().app_secret))[..12]);
    if &expected != hash || em.now_ms() / 1000 > exp {
        // Meta answers an expired lookaside URL with 404; the client must retrieve a new URL.
        return (
            axum::http::StatusCode::NOT_FOUND,
            "URL expired or invalid; retrieve the media URL again",
        )
            .into_response();
    }
    let st = em.state();
    match st.media.get(id) {
        Some(m) => ([("content-type", m.mime_type.clone())], m.bytes.clone()).into_response(),
        None => (axum::http::StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
