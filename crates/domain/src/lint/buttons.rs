//! The buttons: how many of each type and in what order (`button_set`), then each button's
//! text, URL and phone number (`each_button`). Authentication templates have exactly one OTP
//! button and nothing else.

use serde_json::Value;

use super::variables::balanced;
use super::{Findings, Template, chars, text_of, upper};
use crate::placeholder::Kind;

pub(super) fn button_set(t: &Template, out: &mut Findings) {
    let buttons = t.button_list();
    let bloc = t.buttons_loc();
    if buttons.len() > 10 {
        out.push(
            "buttons_too_many",
            bloc.clone(),
            format!("{} buttons; Meta allows 10.", buttons.len()),
            "Keep at most 10 buttons.",
        );
    }
    let kinds: Vec<String> = buttons.iter().map(|b| upper(b, "type")).collect();
    let count = |k: &str| kinds.iter().filter(|x| *x == k).count();
    if count("URL") > 2
        || count("PHONE_NUMBER") > 1
        || count("COPY_CODE") > 1
        || count("QUICK_REPLY") > 10
    {
        out.push("button_type_count", bloc.clone(), "Too many buttons of one type (at most 2 URL, 1 phone number, 1 copy code, 10 quick replies).".into(), "Remove the extra buttons of that type.");
    }
    let qr: Vec<usize> = kinds
        .iter()
        .enumerate()
        .filter(|(_, k)| *k == "QUICK_REPLY")
        .map(|(i, _)| i)
        .collect();
    if let [first, .., last] = qr[..]
        && last - first + 1 != qr.len()
    {
        out.push(
            "buttons_not_grouped",
            bloc.clone(),
            "Quick replies are mixed in between other buttons.".into(),
            "Put all quick replies together, before or after the other buttons.",
        );
    }
    let otp = count("OTP");
    if otp > 0 && !t.auth() {
        out.push(
            "otp_outside_authentication",
            bloc.clone(),
            "One-time-passcode buttons belong to AUTHENTICATION templates only.".into(),
            "Move the code to an AUTHENTICATION template.",
        );
    }
    if t.auth() && (otp != 1 || kinds.iter().any(|k| k != "OTP")) {
        out.push(
            "auth_format",
            if bloc.is_empty() {
                "components".into()
            } else {
                bloc
            },
            "An authentication template needs exactly one OTP button and no other buttons.".into(),
            "Use one button of type OTP (copy code, one-tap or zero-tap).",
        );
    }
}

pub(super) fn each_button(t: &Template, out: &mut Findings) {
    let bloc = t.buttons_loc();
    for (j, b) in t.button_list().into_iter().enumerate() {
        let loc = format!("{bloc}[{j}]");
        if let Some(text) = text_of(b, "text")
            && chars(text) > 25
        {
            out.push(
                "button_text_too_long",
                format!("{loc}.text"),
                format!(
                    "The button text has {} characters; Meta allows 25.",
                    chars(text)
                ),
                "Shorten the button text to at most 25 characters.",
            );
        }
        match upper(b, "type").as_str() {
            "URL" => url(out, &loc, b),
            "PHONE_NUMBER" if chars(text_of(b, "phone_number").unwrap_or("")) > 20 => {
                out.push(
                    "button_phone_too_long",
                    format!("{loc}.phone_number"),
                    "The phone number is longer than 20 characters.".into(),
                    "Use the number in international form without spaces.",
                );
            }
            _ => {}
        }
    }
}

/// A URL button: at most 2,000 characters, one `{{1}}` at the very end, with an example URL.
fn url(out: &mut Findings, loc: &str, b: &Value) {
    let url = text_of(b, "url").unwrap_or("");
    if chars(url) > 2000 {
        out.push(
            "button_url_too_long",
            format!("{loc}.url"),
            "The URL is longer than 2,000 characters.".into(),
            "Shorten the URL.",
        );
    }
    let Some(vars) = balanced(url) else {
        out.push(
            "variable_malformed",
            format!("{loc}.url"),
            "The braces of the URL's variable do not balance.".into(),
            "Write the variable as {{1}} at the end of the URL.",
        );
        return;
    };
    if vars.iter().any(|v| v.kind == Kind::Malformed) {
        out.push(
            "variable_malformed",
            format!("{loc}.url"),
            "The URL's variable is not {{1}}.".into(),
            "Write the variable as {{1}} at the end of the URL.",
        );
    }
    if vars.len() > 1 || vars.first().is_some_and(|v| v.range.end != url.len()) {
        out.push(
            "button_url_variable",
            format!("{loc}.url"),
            "A URL button may have one variable, only at the very end.".into(),
            "Keep one variable and put it at the end, e.g. https://example.com/track/{{1}}.",
        );
    }
    let has_example = match b.get("example") {
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::String(s)) => !s.is_empty(),
        _ => false,
    };
    if !vars.is_empty() && !has_example {
        out.push(
            "sample_missing",
            format!("{loc}.example"),
            "A URL with a variable needs an example URL.".into(),
            "Add example: [\"https://example.com/track/42\"].",
        );
    }
}
