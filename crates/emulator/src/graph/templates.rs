//! Message templates on the WABA: create (goes PENDING, then a review approves or rejects it by
//! the rules below and a `message_template_status_update` webhook says so), list with cursor
//! paging and filters, read one, delete by name or id; and the send-time checks (status gating
//! 132001/132015/132016, parameter count 132000, format 132012/132018, length 132005).
//!
//! The review rules the emulator states (Meta's own review is not published; these are the
//! documented rejection causes of §7.4 and §7.7):
//! * `INVALID_FORMAT`: variables not numbered 1..n in order, a body that starts or ends with a
//!   variable, two variables side by side, a malformed `{{…}}`, named and positional mixed.
//! * `INVALID_FORMAT` (missing samples): a variable without an example, a media header without a
//!   `header_handle` example.
//! * `INCORRECT_CATEGORY`: a UTILITY or AUTHENTICATION template with promotional wording
//!   (offers, discounts, sales, "buy now", "limited time", percentages off).

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use switchboard_cloudapi::ErrorCode;
use switchboard_cloudapi::send::{ParamValue, Template};

use super::error;
use super::messages::{Refusal, check_text_param, param_text};
use crate::Emulator;
use crate::state::TemplateRecord;

/// The variables in a text: `{{1}}` or `{{name}}`, in order of appearance. `Err` for malformed braces.
pub fn variables(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "an opening {{ has no closing }}".to_string())?;
        let name = after[..end].trim();
        let valid = !name.is_empty()
            && (name.bytes().all(|b| b.is_ascii_digit())
                || name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
        if !valid {
            return Err(format!(
                "{{{{{name}}}}} is not a valid variable: use {{{{1}}}} or {{{{snake_case}}}}"
            ));
        }
        out.push(name.to_owned());
        rest = &after[end + 2..];
    }
    Ok(out)
}

fn component<'a>(components: &'a Value, kind: &str) -> Option<&'a Value> {
    components.as_array()?.iter().find(|c| {
        c.get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case(kind))
    })
}

fn text_of(c: Option<&Value>) -> &str {
    c.and_then(|c| c.get("text"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

const PROMOTIONAL: &[&str] = &[
    "offer",
    "discount",
    "% off",
    "sale",
    "buy now",
    "limited time",
    "promo",
    "deal",
    "coupon",
    "free shipping",
    "shop now",
    "don't miss",
];

/// The review: `None` approves, `Some((reason, explanation))` rejects.
pub fn review(
    category: &str,
    parameter_format: &str,
    components: &Value,
) -> Option<(String, String)> {
    let invalid = |why: String| Some(("INVALID_FORMAT".to_owned(), why));
    let body = component(components, "BODY");
    let Some(body_text) = body.and_then(|b| b.get("text")).and_then(Value::as_str) else {
        return invalid("A template needs a BODY component with text.".into());
    };
    let named = parameter_format.eq_ignore_ascii_case("NAMED");
    for kind in ["HEADER", "BODY"] {
        let c = component(components, kind);
        let text = text_of(c);
        let vars = match variables(text) {
            Ok(v) => v,
            Err(e) => return invalid(format!("{kind}: {e}")),
        };
        if vars.is_empty() {
            continue;
        }
        let numeric = vars.iter().all(|v| v.bytes().all(|b| b.is_ascii_digit()));
        if named == numeric {
            return invalid(format!(
                "{kind}: parameter_format is {parameter_format} but the variables are {}.",
                if numeric { "positional" } else { "named" }
            ));
        }
        if numeric {
            for (i, v) in vars.iter().enumerate() {
                if v.parse::<usize>() != Ok(i + 1) {
                    return invalid(format!(
                        "{kind}: variables must be numbered in sequence {{{{1}}}}, {{{{2}}}}, …; found {{{{{v}}}}} in position {}.",
                        i + 1
                    ));
                }
            }
        }
        // Samples: positional `example.body_text[0]` / `header_text`; named `*_named_params`.
        let example = c.and_then(|c| c.get("example"));
        let pointer = match (kind, named) {
            ("BODY", true) => "/body_text_named_params",
            ("BODY", false) => "/body_text/0",
            (_, true) => "/header_text_named_params",
            (_, false) => "/header_text",
        };
        let samples = example
            .and_then(|e| e.pointer(pointer))
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if samples < vars.len() {
            return invalid(format!(
                "{kind}: every variable needs a sample; {} variable(s), {samples} sample(s).",
                vars.len()
            ));
        }
    }
    let trimmed = body_text.trim();
    if trimmed.starts_with("{{") || trimmed.ends_with("}}") {
        return invalid("The body cannot start or end with a variable.".into());
    }
    if body_text.contains("}}{{")
        || body_text
            .split("}}")
            .skip(1)
            .any(|s| s.trim_start().starts_with("{{") && s.trim().len() < 2 && s.contains("{{"))
    {
        return invalid("Your template has parameters placed next to each other (like {{1}}{{2}}) without text or punctuation between them.".into());
    }
    if let Some(h) = component(components, "HEADER") {
        let format = h
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or("TEXT")
            .to_uppercase();
        if matches!(format.as_str(), "IMAGE" | "VIDEO" | "DOCUMENT" | "GIF")
            && h.pointer("/example/header_handle/0").is_none()
        {
            return invalid(format!(
                "A {format} header needs a sample (example.header_handle)."
            ));
        }
    }
    if !category.eq_ignore_ascii_case("MARKETING") {
        let text = format!(
            "{} {} {}",
            text_of(component(components, "HEADER")),
            body_text,
            text_of(component(components, "FOOTER"))
        )
        .to_lowercase();
        if let Some(word) = PROMOTIONAL.iter().find(|w| text.contains(*w)) {
            return Some((
                "INCORRECT_CATEGORY".into(),
                format!(
                    "The content reads as promotional ({word:?}), which is MARKETING, not {}.",
                    category.to_uppercase()
                ),
            ));
        }
    }
    None
}

pub fn create(em: &Emulator, body: &[u8]) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return error(
            ErrorCode::INVALID_PARAMETER,
            "Invalid parameter",
            "The request body must be JSON.",
        );
    };
    let name = req.get("name").and_then(Value::as_str).unwrap_or("");
    let language = req.get("language").and_then(Value::as_str).unwrap_or("");
    let category = req
        .get("category")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_uppercase();
    let format = req
        .get("parameter_format")
        .and_then(Value::as_str)
        .unwrap_or("POSITIONAL")
        .to_uppercase();
    let components = req
        .get("components")
        .cloned()
        .unwrap_or(Value::Array(vec![]));
    if name.is_empty()
        || name.len() > 512
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return error(
            ErrorCode::INVALID_PARAMETER,
            "Invalid parameter",
            "name must be 1 to 512 lowercase letters, digits and underscores.",
        );
    }
    if language.is_empty() {
        return error(
            ErrorCode::INVALID_PARAMETER,
            "Invalid parameter",
            "The parameter language is required.",
        );
    }
    if !matches!(
        category.as_str(),
        "MARKETING" | "UTILITY" | "AUTHENTICATION"
    ) {
        return error(
            ErrorCode::INVALID_PARAMETER,
            "Invalid parameter",
            "category must be MARKETING, UTILITY or AUTHENTICATION.",
        );
    }
    if !matches!(format.as_str(), "POSITIONAL" | "NAMED") {
        return error(
            ErrorCode::INVALID_PARAMETER,
            "Invalid parameter",
            "parameter_format must be POSITIONAL or NAMED.",
        );
    }
    if !components.is_array() {
        return error(
            ErrorCode::INVALID_PARAMETER,
            "Invalid parameter",
            "components must be an array.",
        );
    }
    let now = em.now_ms();
    let mut st = em.state();
    if st
        .templates
        .iter()
        .any(|t| t.name == name && t.language == language && t.status != "DELETED")
    {
        return error(
            ErrorCode::INVALID_PARAMETER,
            "Invalid parameter",
            &format!(
                "Content in this language already exists: a template named {name} in {language} exists already."
            ),
        );
    }
    let seq = st.next_seq();
    let id = crate::ids::numeric(seq);
    let rejection = review(&category, &format, &components);
    st.templates.push(TemplateRecord {
        id: id.clone(),
        name: name.to_owned(),
        language: language.to_owned(),
        category: category.clone(),
        status: "PENDING".into(),
        parameter_format: format,
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

/// Send-time checks of a template message against the stored template.
pub fn check_send<'a>(
    templates: &'a [TemplateRecord],
    t: &Template,
    version: &str,
) -> Result<&'a TemplateRecord, Refusal> {
    let code = t.language.code.as_deref().unwrap_or("");
    let not_found = || {
        Refusal(
            ErrorCode::TEMPLATE_NOT_FOUND,
            "Template name does not exist in the translation",
            format!("template name ({}) does not exist in {code}", t.name),
        )
    };
    let tpl = templates
        .iter()
        .find(|x| x.name == t.name && x.language == code && x.status != "DELETED")
        .ok_or_else(not_found)?;
    match tpl.status.as_str() {
        "APPROVED" => {}
        "PAUSED" => {
            return Err(Refusal(
                ErrorCode::TEMPLATE_PAUSED,
                "Template is paused",
                format!("Template {} is paused because of low quality.", t.name),
            ));
        }
        "DISABLED" => {
            return Err(Refusal(
                ErrorCode::TEMPLATE_DISABLED,
                "Template is disabled",
                format!("Template {} has been disabled.", t.name),
            ));
        }
        _ => return Err(not_found()),
    }
    let named = tpl.parameter_format == "NAMED";
    let body_text = text_of(component(&tpl.components, "BODY"));
    let body_vars = variables(body_text).unwrap_or_default();
    let sent: Vec<_> = t
        .components_of("body")
        .flat_map(|c| c.parameters.iter().flatten())
        .collect();
    if sent.len() != body_vars.len() {
        return Err(Refusal(
            ErrorCode::TEMPLATE_PARAM_COUNT,
            "Number of parameters does not match the expected number of params",
            format!(
                "body: number of localizable_params ({}) does not match the expected number of params ({})",
                sent.len(),
                body_vars.len()
            ),
        ));
    }
    let mut hydrated = body_text.to_owned();
    for (i, p) in sent.iter().enumerate() {
        if named != p.parameter_name.is_some() {
            return Err(Refusal(
                ErrorCode::TEMPLATE_PARAM_FORMAT,
                "Parameter format does not match format in the created template",
                format!(
                    "The template uses {} parameters; send {}.",
                    if named { "named" } else { "positional" },
                    if named {
                        "a parameter_name with each"
                    } else {
                        "no parameter_name"
                    }
                ),
            ));
        }
        if named && !body_vars.contains(p.parameter_name.as_ref().expect("checked")) {
            return Err(Refusal(
                ErrorCode::TEMPLATE_PARAM_FORMAT,
                "Parameter format does not match format in the created template",
                format!(
                    "The template has no parameter named {:?}.",
                    p.parameter_name.as_deref().unwrap_or("")
                ),
            ));
        }
        if let Some(text) = param_text(&p.value) {
            check_text_param(text, version)?;
        }
        let fallback = match &p.value {
            ParamValue::Text(s) => s.clone(),
            ParamValue::Currency(c) => c.fallback_value.clone().unwrap_or_default(),
            ParamValue::DateTime(d) => d.fallback_value.clone().unwrap_or_default(),
            _ => {
                return Err(Refusal(
                    ErrorCode::TEMPLATE_PARAM_FORMAT,
                    "Parameter format does not match",
                    "Body parameters are text, currency or date_time.".into(),
                ));
            }
        };
        let var = if named {
            p.parameter_name.clone().expect("checked")
        } else {
            (i + 1).to_string()
        };
        hydrated = hydrated.replace(&format!("{{{{{var}}}}}"), &fallback);
    }
    if hydrated.chars().count() > 1024 {
        return Err(Refusal(
            ErrorCode::TEMPLATE_TEXT_TOO_LONG,
            "Template hydrated text too long",
            "The body with its parameters is over 1024 characters.".into(),
        ));
    }
    // Header: a media header needs a parameter of the same media type; a text header with a variable needs text.
    if let Some(h) = component(&tpl.components, "HEADER") {
        let format = h
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or("TEXT")
            .to_uppercase();
        let sent_header = t
            .components_of("header")
            .flat_map(|c| c.parameters.iter().flatten())
            .next();
        let expects = match format.as_str() {
            "TEXT" if !variables(text_of(Some(h))).unwrap_or_default().is_empty() => Some("text"),
            "IMAGE" => Some("image"),
            "VIDEO" => Some("video"),
            "DOCUMENT" => Some("document"),
            "LOCATION" => Some("location"),
            _ => None,
        };
        match (expects, sent_header) {
            (Some(_), None) => {
                return Err(Refusal(
                    ErrorCode::TEMPLATE_PARAM_COUNT,
                    "Number of parameters does not match the expected number of params",
                    format!("header: the template's {format} header needs a parameter."),
                ));
            }
            (Some(kind), Some(p)) if p.type_name() != kind => {
                return Err(Refusal(
                    ErrorCode::TEMPLATE_PARAM_FORMAT,
                    "Parameter format does not match format in the created template",
                    format!(
                        "header: expected a {kind} parameter, got {}.",
                        p.type_name()
                    ),
                ));
            }
            (Some("text"), Some(p)) => {
                if let Some(text) = param_text(&p.value) {
                    check_text_param(text, version)?;
                }
            }
            _ => {}
        }
    }
    // Buttons with a URL variable need their suffix parameter.
    let buttons = component(&tpl.components, "BUTTONS")
        .and_then(|b| b.get("buttons"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (index, b) in buttons.iter().enumerate() {
        let kind = b
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_uppercase();
        let needs = (kind == "URL"
            && b.get("url")
                .and_then(Value::as_str)
                .is_some_and(|u| u.contains("{{")))
            || kind == "OTP"
            || kind == "COPY_CODE";
        if needs
            && !t
                .components_of("button")
                .any(|c| c.index.as_ref().and_then(|i| i.as_i64()) == Some(index as i64))
        {
            return Err(Refusal(
                ErrorCode::TEMPLATE_PARAM_COUNT,
                "Number of parameters does not match the expected number of params",
                format!("button at index {index} ({kind}) needs a parameter."),
            ));
        }
    }
    Ok(tpl)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str, samples: &[&str]) -> Value {
        json!([{"type": "BODY", "text": text, "example": {"body_text": [samples]}}])
    }

    #[test]
    fn variables_are_found_in_order() {
        assert_eq!(variables("Hi {{1}}, order {{2}}").unwrap(), vec!["1", "2"]);
        assert_eq!(variables("Hi {{first_name}}").unwrap(), vec!["first_name"]);
        assert!(variables("Hi {{1}").is_err());
        assert!(variables("Hi {{$x}}").is_err());
    }

    #[test]
    fn review_rules() {
        assert_eq!(
            review(
                "UTILITY",
                "POSITIONAL",
                &body("Hi {{1}}, your order {{2}} shipped.", &["Ann", "42"])
            ),
            None
        );
        let reason = |c: &str, f: &str, v: Value| review(c, f, &v).map(|r| r.0);
        assert_eq!(
            reason(
                "UTILITY",
                "POSITIONAL",
                body("Hi {{1}}, order {{3}} shipped.", &["a", "b"])
            )
            .as_deref(),
            Some("INVALID_FORMAT")
        );
        assert_eq!(
            reason(
                "UTILITY",
                "POSITIONAL",
                body("{{1}} your order shipped.", &["a"])
            )
            .as_deref(),
            Some("INVALID_FORMAT")
        );
        assert_eq!(
            reason(
                "UTILITY",
                "POSITIONAL",
                body("Hi {{1}}{{2}} shipped.", &["a", "b"])
            )
            .as_deref(),
            Some("INVALID_FORMAT")
        );
        assert_eq!(
            reason(
                "UTILITY",
                "POSITIONAL",
                body("Hi {{1}}, order shipped.", &[])
            )
            .as_deref(),
            Some("INVALID_FORMAT")
        );
        assert_eq!(
            reason(
                "UTILITY",
                "POSITIONAL",
                body("Hi {{1}}, 20% off everything in our sale!", &["a"])
            )
            .as_deref(),
            Some("INCORRECT_CATEGORY")
        );
        assert_eq!(
            reason(
                "MARKETING",
                "POSITIONAL",
                body("Hi {{1}}, 20% off everything in our sale!", &["a"])
            ),
            None
        );
        let media = json!([{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "Your receipt is attached."}]);
        assert_eq!(
            reason("UTILITY", "POSITIONAL", media).as_deref(),
            Some("INVALID_FORMAT")
        );
    }
}
