//! A template submission (§7.2): the fields Meta refuses at once (name, language, category,
//! parameter format, components, a duplicate), then the review that approves or rejects it
//! later. Meta's own review is not published; these are the documented rejection causes of
//! §7.4 and §7.7:
//! * `INVALID_FORMAT`: variables not numbered 1..n in order, a body that starts or ends with a
//!   variable, two variables side by side, a malformed `{{…}}`, named and positional mixed.
//! * `INVALID_FORMAT` (missing samples): a variable without an example, a media header without a
//!   `header_handle` example.
//! * `INCORRECT_CATEGORY`: a UTILITY or AUTHENTICATION template with promotional wording
//!   (offers, discounts, sales, "buy now", "limited time", percentages off).

use serde_json::Value;

use crate::refusal::{Refusal, refuse};
use crate::state::TemplateRecord;

/// A submission that passed the synchronous checks, category and parameter format upper-cased
/// as Meta stores them.
pub struct Submission {
    pub name: String,
    pub language: String,
    pub category: String,
    pub parameter_format: String,
    pub components: Value,
}

/// The synchronous checks of `POST /{waba-id}/message_templates`, against the templates the
/// WABA already has.
pub fn submission(body: &[u8], existing: &[TemplateRecord]) -> Result<Submission, Refusal> {
    let invalid = |details: &str| refuse(100, "Invalid parameter", details);
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return invalid("The request body must be JSON.");
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
        return invalid("name must be 1 to 512 lowercase letters, digits and underscores.");
    }
    if language.is_empty() {
        return invalid("The parameter language is required.");
    }
    if !matches!(
        category.as_str(),
        "MARKETING" | "UTILITY" | "AUTHENTICATION"
    ) {
        return invalid("category must be MARKETING, UTILITY or AUTHENTICATION.");
    }
    if !matches!(format.as_str(), "POSITIONAL" | "NAMED") {
        return invalid("parameter_format must be POSITIONAL or NAMED.");
    }
    if !components.is_array() {
        return invalid("components must be an array.");
    }
    if existing
        .iter()
        .any(|t| t.name == name && t.language == language && t.status != "DELETED")
    {
        return invalid(&format!(
            "Content in this language already exists: a template named {name} in {language} exists already."
        ));
    }
    Ok(Submission {
        name: name.to_owned(),
        language: language.to_owned(),
        category,
        parameter_format: format,
        components,
    })
}

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

pub fn component<'a>(components: &'a Value, kind: &str) -> Option<&'a Value> {
    components.as_array()?.iter().find(|c| {
        c.get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case(kind))
    })
}

pub fn text_of(c: Option<&Value>) -> &str {
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

/// The review (§7.7): `None` approves, `Some((reason, explanation))` rejects.
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

#[cfg(test)]
mod tests;
