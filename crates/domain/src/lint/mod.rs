//! The template linter: Meta's creation rules (cloud-api.md §7) checked offline, before a
//! template is submitted, so a rejection or a re-categorisation is caught at the desk instead of
//! after a review cycle. Input is Meta's own create-template JSON (what a team keeps in git);
//! each finding has a stable rule id, a severity, a location in that JSON and the fix.
//!
//! Errors are what Meta rejects or the API refuses. Warnings are what Meta's review tends to
//! reject or re-categorise: too many variables for the text, and — the top cause of surprises —
//! promotional wording in a UTILITY or AUTHENTICATION template, which Meta approves as MARKETING
//! (and bills as such). The rules are specified in `crates/domain/tests/lint_corpus/README.md` and calibrated
//! on the corpus beside it.
//!
//! Reading order: [`lint`] builds a `Template` view of the JSON once, runs `CHECKS` over it
//! (one function per rule or per component, grouped by concept: `fields`, `body`, `header`,
//! `footer`, `buttons`, `variables`, `category`) and sorts what they found.

mod body;
mod buttons;
mod category;
mod fields;
mod footer;
mod header;
#[cfg(test)]
mod tests;
mod variables;

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// Where in the template JSON, e.g. `components[1].text`.
    pub location: String,
    pub message: String,
    pub fix: String,
}

/// Every rule, with its severity (the corpus test checks each is exercised).
pub const RULES: &[(&str, Severity)] = &[
    ("name_format", Severity::Error),
    ("language_format", Severity::Error),
    ("category_invalid", Severity::Error),
    ("body_missing", Severity::Error),
    ("component_duplicate", Severity::Error),
    ("body_too_long", Severity::Error),
    ("header_too_long", Severity::Error),
    ("footer_too_long", Severity::Error),
    ("header_variables", Severity::Error),
    ("footer_variables", Severity::Error),
    ("variable_malformed", Severity::Error),
    ("variables_not_sequential", Severity::Error),
    ("variable_at_start", Severity::Error),
    ("variable_at_end", Severity::Error),
    ("variables_adjacent", Severity::Error),
    ("mixed_parameter_format", Severity::Error),
    ("named_duplicate", Severity::Error),
    ("sample_missing", Severity::Error),
    ("sample_count", Severity::Error),
    ("buttons_too_many", Severity::Error),
    ("button_type_count", Severity::Error),
    ("button_text_too_long", Severity::Error),
    ("button_url_too_long", Severity::Error),
    ("button_url_variable", Severity::Error),
    ("button_phone_too_long", Severity::Error),
    ("buttons_not_grouped", Severity::Error),
    ("otp_outside_authentication", Severity::Error),
    ("auth_format", Severity::Error),
    ("lto_rules", Severity::Error),
    ("location_header_category", Severity::Error),
    ("variables_too_dense", Severity::Warning),
    ("category_promotional", Severity::Warning),
    ("category_vague", Severity::Warning),
];

/// The checks, in the order their findings are gathered. The order matters: when a rule fires
/// twice at one location the first finding is kept, and findings that share a severity and a
/// location keep the order they were found in.
const CHECKS: &[fn(&Template, &mut Findings)] = &[
    fields::name_format,
    fields::language_format,
    fields::category_invalid,
    fields::component_duplicate,
    body::body,
    header::header,
    footer::footer,
    footer::limited_time_offer,
    buttons::button_set,
    buttons::each_button,
    variables::mixed_parameter_format,
    category::category_vague,
    category::category_promotional,
];

/// Lints one template (Meta's create JSON).
pub fn lint(t: &Value) -> Vec<Finding> {
    let template = Template::new(t);
    let mut found = Findings(Vec::new());
    for check in CHECKS {
        check(&template, &mut found);
    }
    let mut out = found.0;
    out.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(a.location.cmp(&b.location))
    });
    out
}

/// What the checks found so far: one finding per rule and location.
struct Findings(Vec<Finding>);

impl Findings {
    /// Records a finding, with the severity [`RULES`] gives its rule, unless the rule already
    /// fired at that location.
    fn push(&mut self, rule: &'static str, location: String, message: String, fix: &str) {
        if self
            .0
            .iter()
            .any(|f| f.rule == rule && f.location == location)
        {
            return;
        }
        let severity = RULES
            .iter()
            .find(|(r, _)| *r == rule)
            .map(|(_, s)| *s)
            .expect("every rule a check pushes is listed in RULES");
        self.0.push(Finding {
            rule,
            severity,
            location,
            message,
            fix: fix.to_owned(),
        });
    }
}

/// The template JSON as the checks read it: its category, and the first component of each
/// type with its location.
struct Template<'a> {
    json: &'a Value,
    /// Upper-cased; empty when missing.
    category: String,
    components: Vec<&'a Value>,
    body: Option<Component<'a>>,
    header: Option<Component<'a>>,
    footer: Option<Component<'a>>,
    buttons: Option<Component<'a>>,
    offer: Option<Component<'a>>,
}

struct Component<'a> {
    json: &'a Value,
    /// `components[i]`.
    loc: String,
}

impl<'a> Template<'a> {
    fn new(json: &'a Value) -> Self {
        let components: Vec<&Value> = json
            .get("components")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let first = |kind| {
            of_type(&components, kind)
                .next()
                .map(|(i, json)| Component {
                    json,
                    loc: format!("components[{i}]"),
                })
        };
        Template {
            json,
            category: upper(json, "category"),
            body: first("BODY"),
            header: first("HEADER"),
            footer: first("FOOTER"),
            buttons: first("BUTTONS"),
            offer: first("LIMITED_TIME_OFFER"),
            components,
        }
    }

    fn auth(&self) -> bool {
        self.category == "AUTHENTICATION"
    }

    /// The body's own text: authentication templates use Meta's fixed text instead.
    fn body_text(&self) -> Option<&'a str> {
        let body = self.body.as_ref()?;
        if self.auth() {
            return None;
        }
        text_of(body.json, "text")
    }

    /// The header's text, when the header is a text one.
    fn header_text(&self) -> Option<&'a str> {
        let header = self.header.as_ref()?;
        matches!(upper(header.json, "format").as_str(), "TEXT" | "")
            .then(|| text_of(header.json, "text").unwrap_or(""))
    }

    /// The buttons of the BUTTONS component.
    fn button_list(&self) -> Vec<&'a Value> {
        self.buttons
            .as_ref()
            .and_then(|c| c.json.get("buttons"))
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    }

    /// Where the buttons are: `components[i].buttons`, empty without a BUTTONS component.
    fn buttons_loc(&self) -> String {
        self.buttons
            .as_ref()
            .map(|c| format!("{}.buttons", c.loc))
            .unwrap_or_default()
    }
}

/// The components of one type, with their indexes.
fn of_type<'a, 'k>(
    components: &'k [&'a Value],
    kind: &'k str,
) -> impl Iterator<Item = (usize, &'a Value)> + 'k {
    components
        .iter()
        .copied()
        .enumerate()
        .filter(move |(_, c)| upper(c, "type") == kind)
}

fn upper(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_uppercase()
}

fn text_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn chars(s: &str) -> usize {
    s.chars().count()
}
