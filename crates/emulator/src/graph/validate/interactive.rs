//! Interactive messages (§2.8): reply buttons, lists, CTA URLs, flows, location requests; the
//! counts and lengths Meta enforces, refused with 131009 (or 131008 for a missing part).

use serde_json::Value;
use switchboard_cloudapi::send::Interactive;

use super::{len, max_len, required};
use crate::refusal::{Refusal, refuse};

/// The rules of an interactive message's content.
pub fn check(i: &Interactive) -> Result<(), Refusal> {
    let kind = required("interactive['type']", i.kind.as_ref())?;
    let action = i.action.as_ref();
    let body = i.body.as_ref().and_then(|b| b.text.as_deref());
    let needs_body = !matches!(kind, "product" | "catalog_message" | "product_list");
    if needs_body && body.is_none_or(|b| b.trim().is_empty()) {
        return refuse(
            131008,
            "Required parameter is missing",
            "The parameter interactive['body']['text'] is required.",
        );
    }
    if let Some(b) = body {
        max_len(
            "interactive['body']['text']",
            b,
            if kind == "list" { 4096 } else { 1024 },
        )?;
    }
    if let Some(f) = i.footer.as_ref().and_then(|f| f.text.as_deref()) {
        max_len("interactive['footer']['text']", f, 60)?;
    }
    if let Some(h) = i.header.as_ref().and_then(|h| h.text.as_deref()) {
        max_len("interactive['header']['text']", h, 60)?;
    }
    let invalid = |details: String| refuse::<()>(131009, "Parameter value is not valid", details);
    let Some(action) = action else {
        return refuse(
            131008,
            "Required parameter is missing",
            "The parameter interactive['action'] is required.",
        );
    };
    match kind {
        "button" => {
            let buttons = action
                .get("buttons")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            if !(1..=3).contains(&buttons.len()) {
                return invalid(format!(
                    "Reply buttons must number 1 to 3; got {}.",
                    buttons.len()
                ));
            }
            let mut titles = std::collections::HashSet::new();
            let mut ids = std::collections::HashSet::new();
            for b in buttons {
                let title = b
                    .pointer("/reply/title")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let id = b.pointer("/reply/id").and_then(Value::as_str).unwrap_or("");
                if title.trim().is_empty() || len(title) > 20 {
                    return invalid(format!(
                        "Button title {title:?} must be 1 to 20 characters."
                    ));
                }
                if id.is_empty() || len(id) > 256 || id.trim() != id {
                    return invalid(format!(
                        "Button id {id:?} must be 1 to 256 characters without surrounding spaces."
                    ));
                }
                if !titles.insert(title) || !ids.insert(id) {
                    return invalid("Button titles and ids must be unique.".into());
                }
            }
            Ok(())
        }
        "list" => {
            let button = action.get("button").and_then(Value::as_str).unwrap_or("");
            if button.trim().is_empty() || len(button) > 20 {
                return invalid("The list button text must be 1 to 20 characters.".into());
            }
            let sections = action
                .get("sections")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            if !(1..=10).contains(&sections.len()) {
                return invalid("A list needs 1 to 10 sections.".into());
            }
            let rows: Vec<&Value> = sections
                .iter()
                .flat_map(|s| {
                    s.get("rows")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                })
                .collect();
            if !(1..=10).contains(&rows.len()) {
                return invalid(format!(
                    "A list holds 1 to 10 rows in all; got {}.",
                    rows.len()
                ));
            }
            for r in rows {
                let title = r.get("title").and_then(Value::as_str).unwrap_or("");
                if title.is_empty() || len(title) > 24 {
                    return invalid(format!("Row title {title:?} must be 1 to 24 characters."));
                }
                if r.get("description")
                    .and_then(Value::as_str)
                    .is_some_and(|d| len(d) > 72)
                {
                    return invalid("A row description is at most 72 characters.".into());
                }
            }
            Ok(())
        }
        "cta_url" => {
            let text = action
                .pointer("/parameters/display_text")
                .and_then(Value::as_str)
                .unwrap_or("");
            let url = action
                .pointer("/parameters/url")
                .and_then(Value::as_str)
                .unwrap_or("");
            if text.is_empty()
                || len(text) > 20
                || !(url.starts_with("https://") || url.starts_with("http://"))
            {
                return invalid(
                    "cta_url needs display_text (1 to 20 characters) and an http(s) url.".into(),
                );
            }
            Ok(())
        }
        "flow" => {
            let p = action.get("parameters");
            let version = p
                .and_then(|p| p.get("flow_message_version"))
                .and_then(Value::as_str);
            let id = p.and_then(|p| p.get("flow_id").or_else(|| p.get("flow_name")));
            if version != Some("3") || id.is_none() {
                return invalid(
                    "A flow message needs flow_message_version \"3\" and a flow_id or flow_name."
                        .into(),
                );
            }
            Ok(())
        }
        "location_request_message" => {
            if action.get("name").and_then(Value::as_str) != Some("send_location") {
                return invalid("action.name must be \"send_location\".".into());
            }
            Ok(())
        }
        "product"
        | "product_list"
        | "catalog_message"
        | "carousel"
        | "call_permission_request"
        | "voice_call"
        | "address_message" => Ok(()),
        other => refuse(
            131009,
            "Parameter value is not valid",
            format!("Interactive type {other:?} is not supported."),
        ),
    }
}
