//! The variables of the header and the body: well formed, numbered 1, 2, 3…, apart from each
//! other and from the ends of the body, each with a sample; and one style, positional or named,
//! matching `parameter_format`. The `{{…}}` scanner itself is the template model's.

use serde_json::Value;

use super::{Component, Findings, Template, upper};
use crate::placeholder::{Kind, Placeholder, scan};

/// The text component whose variables are checked: the samples live under different keys, and
/// only the body may not start or end with a variable.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Header,
    Body,
}

/// Checks the variables of a header or body text and returns them; none when the braces do not
/// balance (reported here).
pub(super) fn check<'t>(
    out: &mut Findings,
    c: &Component,
    text: &'t str,
    part: Part,
) -> Vec<Placeholder<'t>> {
    let loc = &c.loc;
    let Some(vars) = balanced(text) else {
        out.push(
            "variable_malformed",
            format!("{loc}.text"),
            "The braces of a variable do not balance.".into(),
            "Write every variable as {{1}} or {{name}}, with both pairs of braces.",
        );
        return Vec::new();
    };
    let mut positional = Vec::new();
    let mut named: Vec<&str> = Vec::new();
    for v in &vars {
        match v.kind {
            Kind::Malformed => out.push(
                "variable_malformed",
                format!("{loc}.text"),
                format!("{{{{{}}}}} is not a variable Meta accepts.", v.inner),
                "Use {{1}}, {{2}}… or lowercase names with underscores like {{first_name}}; no spaces or symbols inside the braces.",
            ),
            Kind::Positional(n) => positional.push(n),
            Kind::Named => {
                if named.contains(&v.inner) {
                    out.push(
                        "named_duplicate",
                        format!("{loc}.text"),
                        format!("{{{{{}}}}} appears twice.", v.inner),
                        "Give each named variable a unique name.",
                    );
                }
                named.push(v.inner);
            }
        }
    }
    if positional
        .iter()
        .enumerate()
        .any(|(i, n)| *n != i as u32 + 1)
    {
        out.push(
            "variables_not_sequential",
            format!("{loc}.text"),
            format!("The variables are numbered {positional:?}; Meta needs 1, 2, 3… in order."),
            "Number the variables from {{1}} in the order they appear.",
        );
    }
    for w in vars.windows(2) {
        if text[w[0].range.end..w[1].range.start].trim().is_empty() {
            out.push(
                "variables_adjacent",
                format!("{loc}.text"),
                "Two variables stand side by side with no text between them.".into(),
                "Put words or punctuation between the variables, or merge them into one.",
            );
        }
    }
    if part == Part::Body {
        at_the_ends(out, loc, text, &vars);
    }
    positional.sort_unstable();
    positional.dedup();
    named.sort_unstable();
    named.dedup();
    samples(out, c, part, positional.len(), &named);
    vars
}

/// The variables of a text whose braces balance.
pub(super) fn balanced(text: &str) -> Option<Vec<Placeholder<'_>>> {
    let s = scan(text);
    s.balanced.then_some(s.placeholders)
}

fn at_the_ends(out: &mut Findings, loc: &str, text: &str, vars: &[Placeholder]) {
    if let Some(first) = vars.first()
        && text[..first.range.start].trim().is_empty()
    {
        out.push(
            "variable_at_start",
            format!("{loc}.text"),
            "The body starts with a variable.".into(),
            "Start the body with text, e.g. \"Hi {{1}},\".",
        );
    }
    if let Some(last) = vars.last()
        && text[last.range.end..]
            .trim()
            .chars()
            .all(|c| matches!(c, '.' | '!' | '?'))
    {
        out.push(
            "variable_at_end",
            format!("{loc}.text"),
            "The body ends with a variable.".into(),
            "End the body with text after the last variable, e.g. \"… {{2}}. Thank you!\".",
        );
    }
}

/// One sample per distinct variable, under the key Meta reads for that part and style.
fn samples(out: &mut Findings, c: &Component, part: Part, positional: usize, named: &[&str]) {
    let loc = &c.loc;
    let example = c.json.get("example");
    let (pos_key, named_key) = match part {
        Part::Body => ("body_text", "body_text_named_params"),
        Part::Header => ("header_text", "header_text_named_params"),
    };
    if positional > 0 {
        let values = example
            .and_then(|e| e.get(pos_key))
            .and_then(Value::as_array)
            .map(|a| match part {
                // The body's samples are one row: `[["Ann", "42"]]`.
                Part::Body => a.first().and_then(Value::as_array).map_or(0, Vec::len),
                Part::Header => a.len(),
            });
        match values {
            None => out.push(
                "sample_missing",
                format!("{loc}.example"),
                format!("The variables have no sample values ({pos_key})."),
                "Add example values for every variable; Meta reviews the template with them.",
            ),
            Some(n) if n != positional => out.push(
                "sample_count",
                format!("{loc}.example"),
                format!("{n} sample value(s) for {positional} variable(s)."),
                "Give exactly one sample value per variable, in order.",
            ),
            _ => {}
        }
    }
    if !named.is_empty() {
        match example
            .and_then(|e| e.get(named_key))
            .and_then(Value::as_array)
        {
            None => out.push(
                "sample_missing",
                format!("{loc}.example"),
                format!("The named variables have no samples ({named_key})."),
                "Add {\"param_name\", \"example\"} for every named variable.",
            ),
            Some(a) => {
                let given: Vec<&str> = a
                    .iter()
                    .filter_map(|p| p.get("param_name").and_then(Value::as_str))
                    .collect();
                if named.iter().any(|n| !given.contains(n)) || given.len() != named.len() {
                    out.push(
                        "sample_count",
                        format!("{loc}.example"),
                        "The samples do not match the named variables one to one.".into(),
                        "Give one sample per named variable, with its param_name.",
                    );
                }
            }
        }
    }
}

/// The words of a text outside its variables (a word has a letter or a digit).
pub(super) fn static_words(text: &str, vars: &[Placeholder]) -> usize {
    let mut s = String::with_capacity(text.len());
    let mut last = 0;
    for v in vars {
        s.push_str(&text[last..v.range.start]);
        s.push(' ');
        last = v.range.end;
    }
    s.push_str(&text[last..]);
    s.split_whitespace()
        .filter(|w| w.chars().any(|c| c.is_alphanumeric()))
        .count()
}

pub(super) fn mixed_parameter_format(t: &Template, out: &mut Findings) {
    let vars: Vec<Placeholder> = [t.body_text(), t.header_text()]
        .into_iter()
        .flatten()
        .filter_map(balanced)
        .flatten()
        .collect();
    let saw_positional = vars.iter().any(|v| matches!(v.kind, Kind::Positional(_)));
    let saw_named = vars.iter().any(|v| v.kind == Kind::Named);
    let named_format = upper(t.json, "parameter_format") == "NAMED";
    // Mixing both styles always contradicts the declared format, whichever it is.
    if (named_format && saw_positional) || (!named_format && saw_named) {
        out.push("mixed_parameter_format", "parameter_format".into(), "Positional ({{1}}) and named ({{name}}) variables are mixed, or do not match parameter_format.".into(), "Use one style: named variables with \"parameter_format\": \"NAMED\", or {{1}}, {{2}}… without it.");
    }
}
