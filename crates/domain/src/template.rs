//! A template as Meta stores it (from its create/list JSON), reduced to what sending needs, and
//! the check of a send's parameters against it. One source of truth: the send policy, the
//! template linter and the inbox's template picker all read this.

use serde_json::Value;
use switchboard_cloudapi::send::{ParamValue, Template};

use crate::placeholder;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Marketing,
    Utility,
    Authentication,
}

impl Category {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "MARKETING" => Some(Category::Marketing),
            "UTILITY" => Some(Category::Utility),
            "AUTHENTICATION" => Some(Category::Authentication),
            _ => None,
        }
    }

    /// The category as Meta writes it (`MARKETING`, …).
    pub fn meta_name(self) -> &'static str {
        match self {
            Category::Marketing => "MARKETING",
            Category::Utility => "UTILITY",
            Category::Authentication => "AUTHENTICATION",
        }
    }
}

/// A template's review state at Meta. Statuses Meta adds later are kept as they came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateStatus {
    Approved,
    Pending,
    Rejected,
    /// Paused by Meta for low quality.
    Paused,
    /// Disabled after repeated pauses.
    Disabled,
    Other(String),
}

impl TemplateStatus {
    /// Meta's name for it, any case.
    pub fn parse(s: &str) -> TemplateStatus {
        match s.to_ascii_uppercase().as_str() {
            "APPROVED" => TemplateStatus::Approved,
            "PENDING" => TemplateStatus::Pending,
            "REJECTED" => TemplateStatus::Rejected,
            "PAUSED" => TemplateStatus::Paused,
            "DISABLED" => TemplateStatus::Disabled,
            other => TemplateStatus::Other(other.to_owned()),
        }
    }

    /// As Meta writes it (`APPROVED`, …).
    pub fn as_str(&self) -> &str {
        match self {
            TemplateStatus::Approved => "APPROVED",
            TemplateStatus::Pending => "PENDING",
            TemplateStatus::Rejected => "REJECTED",
            TemplateStatus::Paused => "PAUSED",
            TemplateStatus::Disabled => "DISABLED",
            TemplateStatus::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderKind {
    /// A text header, with its variables (`{{1}}` or named).
    Text(Vec<String>),
    Image,
    Video,
    Document,
    Location,
}

/// What sending a template needs to know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateDef {
    pub name: String,
    pub language: String,
    pub category: Category,
    pub status: TemplateStatus,
    pub named: bool,
    pub body: String,
    pub body_vars: Vec<String>,
    pub header: Option<HeaderKind>,
    /// Indexes of buttons that need a parameter at send time (URL with a variable, copy code, OTP).
    pub buttons_needing_params: Vec<usize>,
}

/// The variables of a text, in order: `{{1}}` or `{{snake_case}}`. Malformed ones are listed too
/// (the linter refuses them before they reach Meta); an unclosed `{{` ends the list.
pub fn variables(text: &str) -> Vec<String> {
    placeholder::scan(text)
        .placeholders
        .into_iter()
        .map(|p| p.inner.to_owned())
        .collect()
}

impl TemplateDef {
    /// From Meta's template JSON (`GET /message_templates` item or a create body).
    pub fn from_meta(v: &Value) -> Option<TemplateDef> {
        let comp = |kind: &str| {
            v.get("components")?.as_array()?.iter().find(|c| {
                c.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case(kind))
            })
        };
        let body = comp("BODY")
            .and_then(|b| b.get("text"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let header = comp("HEADER").map(|h| {
            match h
                .get("format")
                .and_then(Value::as_str)
                .unwrap_or("TEXT")
                .to_ascii_uppercase()
                .as_str()
            {
                "IMAGE" => HeaderKind::Image,
                "VIDEO" => HeaderKind::Video,
                "DOCUMENT" => HeaderKind::Document,
                "LOCATION" => HeaderKind::Location,
                _ => HeaderKind::Text(variables(
                    h.get("text").and_then(Value::as_str).unwrap_or(""),
                )),
            }
        });
        let buttons = comp("BUTTONS")
            .and_then(|b| b.get("buttons"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let buttons_needing_params = buttons
            .iter()
            .enumerate()
            .filter(|(_, b)| {
                let kind = b
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_ascii_uppercase();
                (kind == "URL"
                    && b.get("url")
                        .and_then(Value::as_str)
                        .is_some_and(|u| u.contains("{{")))
                    || kind == "COPY_CODE"
                    || kind == "OTP"
            })
            .map(|(i, _)| i)
            .collect();
        Some(TemplateDef {
            name: v.get("name")?.as_str()?.to_owned(),
            language: v.get("language")?.as_str()?.to_owned(),
            category: Category::parse(v.get("category")?.as_str()?)?,
            status: TemplateStatus::parse(
                v.get("status").and_then(Value::as_str).unwrap_or("PENDING"),
            ),
            named: v
                .get("parameter_format")
                .and_then(Value::as_str)
                .is_some_and(|f| f.eq_ignore_ascii_case("NAMED")),
            body_vars: variables(&body),
            body,
            header,
            buttons_needing_params,
        })
    }
}

/// The exact problem with a send's parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamProblem {
    #[error("the body has {expected} variable(s) but {got} parameter(s) were given")]
    BodyCount { expected: usize, got: usize },
    #[error(
        "template {template} uses named parameters: give every body parameter a parameter_name"
    )]
    NeedsNames { template: String },
    #[error(
        "template {template} uses positional parameters: remove parameter_name from the body parameters"
    )]
    NeedsPositions { template: String },
    #[error("the template has no variable named {name:?} (it has {known})")]
    UnknownName { name: String, known: String },
    #[error(
        "body parameter {position} contains a newline, a tab or more than four spaces in a row, which Meta refuses"
    )]
    Whitespace { position: usize },
    #[error("body parameter {position} is empty")]
    Empty { position: usize },
    #[error("the message would be {len} characters long; a template body holds at most 1,024")]
    TooLong { len: usize },
    #[error("the template's header needs a {expected} parameter")]
    HeaderMissing { expected: &'static str },
    #[error("the template's header is {expected}, but a {got} parameter was given")]
    HeaderKind { expected: &'static str, got: String },
    #[error("button {index} needs a parameter (its URL has a variable, or it copies a code)")]
    ButtonMissing { index: usize },
}

fn header_name(h: &HeaderKind) -> &'static str {
    match h {
        HeaderKind::Text(_) => "text",
        HeaderKind::Image => "image",
        HeaderKind::Video => "video",
        HeaderKind::Document => "document",
        HeaderKind::Location => "location",
    }
}

/// Checks a template send's parameters against the template, as Meta will (132000, 132012,
/// 132018, 132005), so a problem is explained before anything is queued.
pub fn check_params(def: &TemplateDef, send: &Template) -> Result<(), ParamProblem> {
    let body: Vec<_> = send
        .components_of("body")
        .flat_map(|c| c.parameters.iter().flatten())
        .collect();
    if body.len() != def.body_vars.len() {
        return Err(ParamProblem::BodyCount {
            expected: def.body_vars.len(),
            got: body.len(),
        });
    }
    let mut hydrated = def.body.clone();
    for (i, p) in body.iter().enumerate() {
        let position = i + 1;
        match (&p.parameter_name, def.named) {
            (None, true) => {
                return Err(ParamProblem::NeedsNames {
                    template: def.name.clone(),
                });
            }
            (Some(_), false) => {
                return Err(ParamProblem::NeedsPositions {
                    template: def.name.clone(),
                });
            }
            (Some(n), true) if !def.body_vars.contains(n) => {
                return Err(ParamProblem::UnknownName {
                    name: n.clone(),
                    known: def.body_vars.join(", "),
                });
            }
            _ => {}
        }
        let text = match &p.value {
            ParamValue::Text(t) => t.clone(),
            ParamValue::Currency(c) => c.fallback_value.clone().unwrap_or_default(),
            ParamValue::DateTime(d) => d.fallback_value.clone().unwrap_or_default(),
            _ => String::new(),
        };
        if text.trim().is_empty() {
            return Err(ParamProblem::Empty { position });
        }
        if text.contains('\n') || text.contains('\t') || text.contains("     ") {
            return Err(ParamProblem::Whitespace { position });
        }
        let var = p
            .parameter_name
            .clone()
            .unwrap_or_else(|| position.to_string());
        hydrated = hydrated.replace(&format!("{{{{{var}}}}}"), &text);
    }
    let len = hydrated.chars().count();
    if len > 1024 {
        return Err(ParamProblem::TooLong { len });
    }
    if let Some(h) = &def.header {
        let needs = !matches!(h, HeaderKind::Text(vars) if vars.is_empty());
        let given = send
            .components_of("header")
            .flat_map(|c| c.parameters.iter().flatten())
            .next();
        match (needs, given) {
            (true, None) => {
                return Err(ParamProblem::HeaderMissing {
                    expected: header_name(h),
                });
            }
            (true, Some(p)) if p.type_name() != header_name(h) => {
                return Err(ParamProblem::HeaderKind {
                    expected: header_name(h),
                    got: p.type_name().to_owned(),
                });
            }
            _ => {}
        }
    }
    for &index in &def.buttons_needing_params {
        let given = send
            .components_of("button")
            .any(|c| c.index.as_ref().and_then(|i| i.as_i64()) == Some(index as i64));
        if !given {
            return Err(ParamProblem::ButtonMissing { index });
        }
    }
    Ok(())
}
