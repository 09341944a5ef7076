//! The body: present, with its own text (except in authentication templates, whose text is
//! Meta's), at most 1,024 characters, and enough fixed text around its variables.

use super::variables::{self, Part};
use super::{Findings, Template, chars, text_of};

pub(super) fn body(t: &Template, out: &mut Findings) {
    let Some(c) = &t.body else {
        out.push(
            "body_missing",
            "components".into(),
            "The template has no BODY component.".into(),
            "Add a BODY component with the message text.",
        );
        return;
    };
    let loc = &c.loc;
    if t.auth() {
        if c.json.get("text").is_some() {
            out.push("auth_format", format!("{loc}.text"), "Authentication templates use Meta's fixed text; the body cannot have its own.".into(), "Remove the body text; set add_security_recommendation if you want Meta's security line.");
        }
        return;
    }
    let Some(text) = text_of(c.json, "text") else {
        out.push(
            "body_missing",
            format!("{loc}.text"),
            "The BODY component has no text.".into(),
            "Add the message text to the BODY component.",
        );
        return;
    };
    if chars(text) > 1024 {
        out.push(
            "body_too_long",
            format!("{loc}.text"),
            format!(
                "The body has {} characters; Meta allows 1,024.",
                chars(text)
            ),
            "Shorten the body to at most 1,024 characters.",
        );
    }
    let vars = variables::check(out, c, text, Part::Body);
    let words = variables::static_words(text, &vars);
    if !vars.is_empty() && words < 2 * vars.len() + 1 {
        out.push(
            "variables_too_dense",
            format!("{loc}.text"),
            format!(
                "{} variable(s) in {words} word(s) of text: Meta rejects templates with too many variables for their length.",
                vars.len()
            ),
            "Add more fixed text around the variables, or use fewer variables.",
        );
    }
}
