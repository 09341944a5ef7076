//! The footer, fixed text of at most 60 characters, and the limited-time offer, which may not
//! stand beside a footer.

use serde_json::Value;

use super::{Findings, Template, chars, text_of};

pub(super) fn footer(t: &Template, out: &mut Findings) {
    let Some(c) = &t.footer else { return };
    let loc = &c.loc;
    let text = text_of(c.json, "text").unwrap_or("");
    if chars(text) > 60 {
        out.push(
            "footer_too_long",
            format!("{loc}.text"),
            format!("The footer has {} characters; Meta allows 60.", chars(text)),
            "Shorten the footer to at most 60 characters.",
        );
    }
    if text.contains("{{") {
        out.push(
            "footer_variables",
            format!("{loc}.text"),
            "The footer has a variable; footers are fixed text.".into(),
            "Remove the variable from the footer, or move it to the body.",
        );
    }
}

pub(super) fn limited_time_offer(t: &Template, out: &mut Findings) {
    let Some(c) = &t.offer else { return };
    let text = c
        .json
        .pointer("/limited_time_offer/text")
        .and_then(Value::as_str)
        .unwrap_or("");
    if t.category != "MARKETING" || t.footer.is_some() || chars(text) > 16 {
        out.push("lto_rules", c.loc.clone(), "A limited-time offer must be in a MARKETING template without a footer, with an offer text of at most 16 characters.".into(), "Use it only in MARKETING templates, drop the footer, keep the offer text to 16 characters.");
    }
}
