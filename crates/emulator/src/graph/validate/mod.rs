//! What Meta accepts and what it refuses, with its error codes: the rules for a send request
//! ([`message`], [`interactive`], [`template_message`]) and for a template submission
//! ([`template`]). Each rule is a pure function of the request and the few facts it needs
//! (known templates, a number's display phone, its restriction), returning a [`Refusal`] that
//! the handler records and answers with. Recording, pacing and scheduling stay in the handlers
//! (`graph::messages`, `graph::templates`), so these rules can be read (and tested) on their own.

pub mod interactive;
pub mod message;
pub mod template;
pub mod template_message;

use crate::refusal::{Refusal, refuse};

/// Length in characters, as Meta counts its limits.
fn len(s: &str) -> usize {
    s.chars().count()
}

fn max_len(field: &str, s: &str, max: usize) -> Result<(), Refusal> {
    if len(s) > max {
        refuse(
            100,
            "Invalid parameter",
            format!("Param {field} must be at most {max} characters long."),
        )
    } else {
        Ok(())
    }
}

fn required<'a>(field: &str, v: Option<&'a String>) -> Result<&'a str, Refusal> {
    match v.map(String::as_str) {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => refuse(
            131008,
            "Required parameter is missing",
            format!("The parameter {field} is required."),
        ),
    }
}
