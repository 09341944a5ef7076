//! Message templates on the WABA: create (goes PENDING, then a review approves or rejects it
//! and a `message_template_status_update` webhook says so), edit, list with cursor paging and
//! filters, read one, delete by name or id. What Meta refuses in a submission, and the review's
//! rules, are in `validate::template`; the send-time checks in `validate::template_message`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use switchboard_cloudapi::ErrorCode;

use super::validate;
use super::validate::template::{Submission, review};
use crate::Emulator;
use crate::refusal::error;
use crate::state::TemplateRecord;

/// `POST /{waba-id}/message_templates`: a new template goes PENDING and to review.
pub fn create(em: &Emulator, body: &[u8]) -> Response {
    let now = em.now_ms();
    let mut st = em.state();
    let Submission {
        name,
        language,
        category,
        parameter_format,
        components,
    } = match validate::template::submission(body, &st.templates) {
        Ok(s) => s,
        Err(refusal) => return refusal.into_response(),
    };
    let seq = st.next_seq();
    let id = crate::ids::numeric(seq);
    let rejection = review(&category, &parameter_format, &components);
    st.templates.push(TemplateRecord {
        id: id.clone(),
        name,
        language,
        category: category.clone(),
        status: "PENDING".into(),
        parameter_format,
        components,
        quality_score: "UNKNOWN".into(),
        rejected_reason: None,
        created_at_ms: now,
        rejection,
    });
    drop(st);
    em.schedule(
        now + em.config().template_review_secs as i64 * 1000,
        crate::Event::TemplateReview {
            template_id: id.clone(),
        },
    );
    Json(json!({"id": id, "status": "PENDING", "category": category})).into_response()
}

/// `POST /{template-id}`: edits an APPROVED, REJECTED or PAUSED template (components replace
/// all components; the category only when not approved) and sends it back to review (§7.8).
pub fn edit(em: &Emulator, id: &str, body: &[u8]) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return error(
            ErrorCode::INVALID_PARAMETER,
            "Invalid parameter",
            "The request body must be JSON.",
        );
    };
    let now = em.now_ms();
    let mut st = em.state();
    let Some(t) = st.templates.iter_mut().find(|t| t.id == id) else {
        return error(
            ErrorCode::INVALID_PARAMETER,
            "Invalid parameter",
            "No template with this id.",
        );
    };
    if !matches!(t.status.as_str(), "APPROVED" | "REJECTED" | "PAUSED") {
        return error(
            ErrorCode::INVALID_PARAMETER,
            "Invalid parameter",
            &format!("A {} template cannot be edited.", t.status.to_lowercase()),
        );
    }
    if let Some(c) = req.get("category").and_then(Value::as_str) {
        if t.status == "APPROVED" && !c.eq_ignore_ascii_case(&t.category) {
            return error(
                ErrorCode::INVALID_PARAMETER,
                "Invalid parameter",
                "The category of an approved template cannot be changed.",
            );
        }
        t.category = c.to_uppercase();
    }
    if let Some(c) = req.get("components") {
        if !c.is_array() {
            return error(
                ErrorCode::INVALID_PARAMETER,
                "Invalid parameter",
                "components must be an array.",
            );
        }
        t.components = c.clone();
    }
    t.rejection = review(&t.category, &t.parameter_format, &t.components);
    t.status = "PENDING".into();
    t.rejected_reason = None;
    let id = t.id.clone();
    drop(st);
    em.schedule(
        now + em.config().template_review_secs as i64 * 1000,
        crate::Event::TemplateReview { template_id: id },
    );
    Json(json!({"success": true})).into_response()
}

impl Emulator {
    pub(crate) fn finish_review(&self, template_id: &str) {
        let update = {
            let mut st = self.state();
            let Some(t) = st
                .templates
                .iter_mut()
                .find(|t| t.id == template_id && t.status == "PENDING")
            else {
                return;
            };
            let mut value = json!({
                "message_template_id": t.id.parse::<u64>().unwrap_or(0),
                "message_template_name": t.name,
                "message_template_language": t.language,
                "message_template_category": t.category,
            });
            match t.rejection.clone() {
                None => {
                    t.status = "APPROVED".into();
                    t.quality_score = "UNKNOWN".into();
                    value["event"] = json!("APPROVED");
                    value["reason"] = json!("NONE");
                }
                Some((reason, why)) => {
                    t.status = "REJECTED".into();
                    t.rejected_reason = Some(reason.clone());
                    value["event"] = json!("REJECTED");
                    value["reason"] = json!(reason);
                    value["rejection_info"] = json!({"reason": why, "recommendation": "Fix the template and submit it again."});
                }
            }
            value
        };
        self.emit(crate::webhooks::Update {
            field: "message_template_status_update".into(),
            payload: crate::webhooks::Payload::Other(update),
        });
    }

    /// Changes a template's status as Meta would (pausing for quality, disabling) and says so
    /// by webhook. Returns false when no such template exists.
    pub fn set_template_status(&self, name: &str, language: &str, status: &str) -> bool {
        let update = {
            let mut st = self.state();
            let Some(t) = st
                .templates
                .iter_mut()
                .find(|t| t.name == name && t.language == language)
            else {
                return false;
            };
            t.status = status.to_owned();
            let mut v = json!({
                "event": status,
                "message_template_id": t.id.parse::<u64>().unwrap_or(0),
                "message_template_name": t.name,
                "message_template_language": t.language,
                "reason": "NONE",
            });
            if status == "PAUSED" {
                t.quality_score = "RED".into();
                v["other_info"] = json!({"title": "FIRST_PAUSE", "description": "Your template was paused because its quality rating fell to low."});
            }
            v
        };
        self.emit(crate::webhooks::Update {
            field: "message_template_status_update".into(),
            payload: crate::webhooks::Payload::Other(update),
        });
        true
    }
}

fn template_json(t: &TemplateRecord) -> Value {
    let mut v = json!({
        "name": t.name, "parameter_format": t.parameter_format, "components": t.components, "language": t.language,
        "status": t.status, "category": t.category, "id": t.id,
        "quality_score": {"score": t.quality_score, "date": t.created_at_ms / 1000},
    });
    if let Some(r) = &t.rejected_reason {
        v["rejected_reason"] = json!(r);
    }
    v
}

pub fn get_one(em: &Emulator, id: &str) -> Response {
    let st = em.state();
    match st.templates.iter().find(|t| t.id == id) {
        Some(t) => Json(template_json(t)).into_response(),
        None => error(
            ErrorCode::INVALID_PARAMETER,
            "Invalid parameter",
            "No such template.",
        ),
    }
}

pub fn list(em: &Emulator, q: &HashMap<String, String>) -> Response {
    let st = em.state();
    let matches = |t: &&TemplateRecord| {
        t.status != "DELETED"
            && q.get("name").is_none_or(|n| &t.name == n)
            && q.get("status")
                .is_none_or(|s| t.status.eq_ignore_ascii_case(s))
            && q.get("category")
                .is_none_or(|c| t.category.eq_ignore_ascii_case(c))
            && q.get("language").is_none_or(|l| &t.language == l)
    };
    let all: Vec<&TemplateRecord> = st.templates.iter().filter(matches).collect();
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, 1000);
    let start = q
        .get("after")
        .and_then(|c| decode_cursor(c))
        .map_or(0, |i| i + 1);
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|t| template_json(t))
        .collect();
    let mut body = json!({"data": page});
    if !page.is_empty() {
        let first = start;
        let last = start + page.len() - 1;
        body["paging"] =
            json!({"cursors": {"before": encode_cursor(first), "after": encode_cursor(last)}});
        if last + 1 < all.len() {
            let base = em.base_url();
            body["paging"]["next"] = json!(format!(
                "{base}/{}/{}/message_templates?limit={limit}&after={}",
                em.config().api_version,
                em.config().waba_id,
                encode_cursor(last)
            ));
        }
    }
    if q.contains_key("summary") || q.get("fields").is_some_and(|f| f.contains("summary")) {
        body["summary"] = json!({"total_count": all.len(), "message_template_count": st.templates.len(), "message_template_limit": 250, "are_translations_complete": true});
    }
    Json(body).into_response()
}

fn encode_cursor(i: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("idx:{i}"))
}

fn decode_cursor(c: &str) -> Option<usize> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("idx:")?
        .parse()
        .ok()
}

pub fn delete(em: &Emulator, q: &HashMap<String, String>) -> Response {
    let Some(name) = q.get("name") else {
        return error(
            ErrorCode::REQUIRED_PARAMETER_MISSING,
            "Required parameter is missing",
            "The parameter name is required.",
        );
    };
    let mut st = em.state();
    let mut found = false;
    for t in st.templates.iter_mut().filter(|t| {
        &t.name == name && t.status != "DELETED" && q.get("hsm_id").is_none_or(|id| &t.id == id)
    }) {
        t.status = "DELETED".into();
        found = true;
    }
    if found {
        Json(json!({"success": true})).into_response()
    } else {
        error(
            ErrorCode::INVALID_PARAMETER,
            "Invalid parameter",
            &format!("No template named {name} to delete."),
        )
    }
}
