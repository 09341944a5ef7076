//! A template message at send time (§2.9), checked against the stored template: its status
//! (132001 not found, 132015 paused, 132016 disabled), the parameter count (132000), format
//! (132012, 132018) and the hydrated length (132005); a header and URL/OTP buttons need their
//! parameters.

use serde_json::Value;
use switchboard_cloudapi::ErrorCode;
use switchboard_cloudapi::send::{ParamValue, Template};

use super::template::{component, text_of, variables};
use crate::refusal::{Refusal, refuse};
use crate::state::TemplateRecord;

/// Send-time checks of a template message against the stored template.
pub fn check<'a>(
    templates: &'a [TemplateRecord],
    t: &Template,
    version: &str,
) -> Result<&'a TemplateRecord, Refusal> {
    let code = t.language.code.as_deref().unwrap_or("");
    let not_found = || {
        Refusal::new(
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
            return Err(Refusal::new(
                ErrorCode::TEMPLATE_PAUSED,
                "Template is paused",
                format!("Template {} is paused because of low quality.", t.name),
            ));
        }
        "DISABLED" => {
            return Err(Refusal::new(
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
        return Err(Refusal::new(
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
            return Err(Refusal::new(
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
            return Err(Refusal::new(
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
                return Err(Refusal::new(
                    ErrorCode::TEMPLATE_PARAM_FORMAT,
                    "Parameter format does not match",
                    "Body parameters are text, currency or date_time.",
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
        return Err(Refusal::new(
            ErrorCode::TEMPLATE_TEXT_TOO_LONG,
            "Template hydrated text too long",
            "The body with its parameters is over 1024 characters.",
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
                return Err(Refusal::new(
                    ErrorCode::TEMPLATE_PARAM_COUNT,
                    "Number of parameters does not match the expected number of params",
                    format!("header: the template's {format} header needs a parameter."),
                ));
            }
            (Some(kind), Some(p)) if p.type_name() != kind => {
                return Err(Refusal::new(
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
            return Err(Refusal::new(
                ErrorCode::TEMPLATE_PARAM_COUNT,
                "Number of parameters does not match the expected number of params",
                format!("button at index {index} ({kind}) needs a parameter."),
            ));
        }
    }
    Ok(tpl)
}

/// The rules of a text parameter (§2.9); Graph v23 gave their breach its own code.
fn check_text_param(value: &str, version: &str) -> Result<(), Refusal> {
    if value.contains('\n') || value.contains('\t') || value.contains("     ") {
        let v23 = version
            .trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n >= 23);
        let code = if v23 { 132018 } else { 100 };
        return refuse(
            code,
            "Template parameter issue",
            "Param text cannot have new-line/tab characters or more than 4 consecutive spaces",
        );
    }
    Ok(())
}

fn param_text(p: &ParamValue) -> Option<&str> {
    match p {
        ParamValue::Text(t) => Some(t),
        _ => None,
    }
}
