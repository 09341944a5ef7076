//! The review's rules, one case per documented rejection cause.

use serde_json::{Value, json};

use super::{review, variables};

fn body(text: &str, samples: &[&str]) -> Value {
    json!([{"type": "BODY", "text": text, "example": {"body_text": [samples]}}])
}

#[test]
fn variables_are_found_in_order() {
    assert_eq!(variables("Hi {{1}}, order {{2}}").unwrap(), vec!["1", "2"]);
    assert_eq!(variables("Hi {{first_name}}").unwrap(), vec!["first_name"]);
    assert!(variables("Hi {{1}").is_err());
    assert!(variables("Hi {{$x}}").is_err());
}

#[test]
fn review_rules() {
    assert_eq!(
        review(
            "UTILITY",
            "POSITIONAL",
            &body("Hi {{1}}, your order {{2}} shipped.", &["Ann", "42"])
        ),
        None
    );
    let reason = |c: &str, f: &str, v: Value| review(c, f, &v).map(|r| r.0);
    assert_eq!(
        reason(
            "UTILITY",
            "POSITIONAL",
            body("Hi {{1}}, order {{3}} shipped.", &["a", "b"])
        )
        .as_deref(),
        Some("INVALID_FORMAT")
    );
    assert_eq!(
        reason(
            "UTILITY",
            "POSITIONAL",
            body("{{1}} your order shipped.", &["a"])
        )
        .as_deref(),
        Some("INVALID_FORMAT")
    );
    assert_eq!(
        reason(
            "UTILITY",
            "POSITIONAL",
            body("Hi {{1}}{{2}} shipped.", &["a", "b"])
        )
        .as_deref(),
        Some("INVALID_FORMAT")
    );
    assert_eq!(
        reason(
            "UTILITY",
            "POSITIONAL",
            body("Hi {{1}}, order shipped.", &[])
        )
        .as_deref(),
        Some("INVALID_FORMAT")
    );
    assert_eq!(
        reason(
            "UTILITY",
            "POSITIONAL",
            body("Hi {{1}}, 20% off everything in our sale!", &["a"])
        )
        .as_deref(),
        Some("INCORRECT_CATEGORY")
    );
    assert_eq!(
        reason(
            "MARKETING",
            "POSITIONAL",
            body("Hi {{1}}, 20% off everything in our sale!", &["a"])
        ),
        None
    );
    let media = json!([{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "Your receipt is attached."}]);
    assert_eq!(
        reason("UTILITY", "POSITIONAL", media).as_deref(),
        Some("INVALID_FORMAT")
    );
}
