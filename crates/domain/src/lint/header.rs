//! The header: none in authentication templates; a text header of at most 60 characters with
//! at most one variable; a media header with a sample.

use serde_json::Value;

use super::variables::{self, Part};
use super::{Findings, Template, chars, text_of, upper};

pub(super) fn header(t: &Template, out: &mut Findings) {
    let Some(c) = &t.header else { return };
    let loc = &c.loc;
    if t.auth() {
        out.push(
            "auth_format",
            loc.clone(),
            "Authentication templates cannot have a header.".into(),
            "Remove the header.",
        );
    }
    match upper(c.json, "format").as_str() {
        "TEXT" | "" => {
            let text = text_of(c.json, "text").unwrap_or("");
            if chars(text) > 60 {
                out.push(
                    "header_too_long",
                    format!("{loc}.text"),
                    format!("The header has {} characters; Meta allows 60.", chars(text)),
                    "Shorten the header to at most 60 characters.",
                );
            }
            let vars = variables::check(out, c, text, Part::Header);
            if vars.len() > 1 {
                out.push(
                    "header_variables",
                    format!("{loc}.text"),
                    format!("The header has {} variables; Meta allows one.", vars.len()),
                    "Keep at most one variable in the header; move the rest to the body.",
                );
            }
        }
        "IMAGE" | "VIDEO" | "DOCUMENT" | "GIF" => {
            let has = c
                .json
                .pointer("/example/header_handle")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
            if !has {
                out.push(
                    "sample_missing",
                    format!("{loc}.example"),
                    "A media header needs a sample (example.header_handle).".into(),
                    "Upload a sample with the Resumable Upload API and put its handle in example.header_handle.",
                );
            }
        }
        "LOCATION" if t.auth() => out.push(
            "location_header_category",
            loc.clone(),
            "Authentication templates cannot have a location header.".into(),
            "Remove the location header.",
        ),
        _ => {}
    }
}
