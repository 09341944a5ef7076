//! The send policy, rule by rule: every refusal, every allowance, and the parameter checks.

mod fuzz;
mod lint_corpus;
mod pricing;

use serde_json::json;
use switchboard_cloudapi::send::{MediaKind, MediaSource, OutboundContent, Parameter, Template};
use switchboard_domain::UnixMs;
use switchboard_domain::policy::{
    Consent, Decision, LimitBudget, SendFacts, WhenOverBudget, decide,
};
use switchboard_domain::template::{ParamProblem, TemplateDef, check_params};

const NOW: UnixMs = UnixMs(1_750_000_000_000);
const HOUR: i64 = 3_600_000;

fn def(category: &str, status: &str) -> TemplateDef {
    TemplateDef::from_meta(&json!({
        "name": "order_update", "language": "en_US", "category": category, "status": status,
        "components": [
            {"type": "HEADER", "format": "IMAGE"},
            {"type": "BODY", "text": "Hi {{1}}, your order {{2}} is on its way."},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop"}, {"type": "URL", "text": "Track", "url": "https://x.example/t/{{1}}"}]}
        ]}))
    .unwrap()
}

fn good_send() -> Template {
    Template::new("order_update", "en_US")
        .unwrap()
        .header(Parameter::media(MediaKind::Image, MediaSource::Id("123".into())).unwrap())
        .body(vec![Parameter::text("Ann"), Parameter::text("42")])
        .unwrap()
        .button("url", 1, Parameter::text("42"))
        .unwrap()
}

fn facts<'a>(content: &'a OutboundContent, template: Option<&'a TemplateDef>) -> SendFacts<'a> {
    SendFacts {
        now: NOW,
        content,
        last_inbound: None,
        consent: Consent {
            opted_out: false,
            marketing_opt_in: true,
        },
        template,
        budget: None,
        over_budget: WhenOverBudget::Hold,
        marketing_received_24h: 0,
        marketing_cap: None,
        usable_templates: &[],
    }
}

fn code(d: &Decision) -> &'static str {
    match d {
        Decision::Refuse(r) => r.code,
        Decision::Hold { code, .. } => code,
        Decision::Allow { .. } => "allow",
    }
}

fn message(d: &Decision) -> String {
    match d {
        Decision::Refuse(r) => r.message.clone(),
        Decision::Hold { message, .. } => message.clone(),
        Decision::Allow { .. } => String::new(),
    }
}

#[test]
fn free_form_needs_the_window_and_says_when_it_closed_and_what_to_use() {
    let text = OutboundContent::text("Hello", false).unwrap();
    let mut f = facts(&text, None);
    f.last_inbound = Some(UnixMs(NOW.0 - 2 * HOUR));
    assert_eq!(
        decide(&f),
        Decision::Allow {
            business_initiated: false
        }
    );
    f.last_inbound = Some(UnixMs(NOW.0 - 25 * HOUR));
    let templates = ["order_update".to_owned(), "reengage".to_owned()];
    f.usable_templates = &templates;
    let d = decide(&f);
    assert_eq!(code(&d), "window_closed");
    let m = message(&d);
    assert!(
        m.contains("2025-06-14T14:06:40Z") && m.contains("closed at 2025-06-15T14:06:40Z"),
        "{m}"
    );
    assert!(m.contains("order_update, reengage"), "{m}");
    f.last_inbound = None;
    assert!(message(&decide(&f)).contains("never written"));
}

#[test]
fn template_status_is_checked() {
    let send = OutboundContent::Template(good_send());
    for (status, expected) in [
        ("APPROVED", "allow"),
        ("PAUSED", "template_paused"),
        ("DISABLED", "template_disabled"),
        ("PENDING", "template_not_approved"),
        ("REJECTED", "template_not_approved"),
    ] {
        let d = def("UTILITY", status);
        assert_eq!(code(&decide(&facts(&send, Some(&d)))), expected, "{status}");
    }
    assert_eq!(code(&decide(&facts(&send, None))), "template_unknown");
}

#[test]
fn opted_out_customers_get_nothing_business_initiated() {
    let d = def("UTILITY", "APPROVED");
    let send = OutboundContent::Template(good_send());
    let mut f = facts(&send, Some(&d));
    f.consent.opted_out = true;
    assert_eq!(code(&decide(&f)), "opted_out");
    // A utility reply inside the window they opened is not business-initiated.
    f.last_inbound = Some(UnixMs(NOW.0 - HOUR));
    assert_eq!(code(&decide(&f)), "allow");
    // Marketing always is.
    let m = def("MARKETING", "APPROVED");
    f.template = Some(&m);
    assert_eq!(code(&decide(&f)), "opted_out");
}

#[test]
fn marketing_needs_an_opt_in_and_respects_the_cap() {
    let d = def("MARKETING", "APPROVED");
    let send = OutboundContent::Template(good_send());
    let mut f = facts(&send, Some(&d));
    f.consent.marketing_opt_in = false;
    assert_eq!(code(&decide(&f)), "no_marketing_consent");
    f.consent.marketing_opt_in = true;
    f.marketing_cap = Some(2);
    f.marketing_received_24h = 1;
    assert_eq!(code(&decide(&f)), "allow");
    f.marketing_received_24h = 2;
    assert_eq!(code(&decide(&f)), "marketing_cap_reached");
    let u = def("UTILITY", "APPROVED");
    f.template = Some(&u);
    assert_eq!(code(&decide(&f)), "allow", "the cap is for marketing only");
}

#[test]
fn the_messaging_limit_holds_or_refuses_as_the_caller_chose() {
    let d = def("UTILITY", "APPROVED");
    let send = OutboundContent::Template(good_send());
    let mut f = facts(&send, Some(&d));
    f.budget = Some(LimitBudget {
        used: 250,
        limit: Some(250),
        recipient_counted: false,
    });
    assert_eq!(
        decide(&f),
        Decision::Hold {
            code: "messaging_limit_reached",
            message: message(&decide(&f))
        }
    );
    f.over_budget = WhenOverBudget::Refuse;
    assert_eq!(code(&decide(&f)), "messaging_limit_reached");
    assert!(matches!(decide(&f), Decision::Refuse(_)));
    // Someone already reached today costs nothing more; a window reply is not counted at all.
    f.budget = Some(LimitBudget {
        used: 250,
        limit: Some(250),
        recipient_counted: true,
    });
    assert_eq!(
        decide(&f),
        Decision::Allow {
            business_initiated: true
        }
    );
    f.budget = Some(LimitBudget {
        used: 250,
        limit: Some(250),
        recipient_counted: false,
    });
    f.last_inbound = Some(UnixMs(NOW.0 - HOUR));
    assert_eq!(
        decide(&f),
        Decision::Allow {
            business_initiated: false
        }
    );
    f.budget = Some(LimitBudget {
        used: 1_000_000,
        limit: None,
        recipient_counted: false,
    });
    f.last_inbound = None;
    assert_eq!(code(&decide(&f)), "allow", "unlimited tier");
}

#[test]
fn parameter_problems_are_named_exactly() {
    let d = def("UTILITY", "APPROVED");
    let base = || {
        Template::new("order_update", "en_US")
            .unwrap()
            .header(Parameter::media(MediaKind::Image, MediaSource::Id("1".into())).unwrap())
    };
    let cases: Vec<(Template, ParamProblem)> = vec![
        (
            base()
                .body(vec![Parameter::text("Ann")])
                .unwrap()
                .button("url", 1, Parameter::text("4"))
                .unwrap(),
            ParamProblem::BodyCount {
                expected: 2,
                got: 1,
            },
        ),
        (
            base()
                .body(vec![
                    Parameter::named("a", "Ann"),
                    Parameter::named("b", "42"),
                ])
                .unwrap()
                .button("url", 1, Parameter::text("4"))
                .unwrap(),
            ParamProblem::NeedsPositions {
                template: "order_update".into(),
            },
        ),
        (
            base()
                .body(vec![Parameter::text("Ann\nSmith"), Parameter::text("42")])
                .unwrap()
                .button("url", 1, Parameter::text("4"))
                .unwrap(),
            ParamProblem::Whitespace { position: 1 },
        ),
        (
            base()
                .body(vec![Parameter::text("Ann"), Parameter::text("a\tb")])
                .unwrap()
                .button("url", 1, Parameter::text("4"))
                .unwrap(),
            ParamProblem::Whitespace { position: 2 },
        ),
        (
            base()
                .body(vec![Parameter::text("Ann     B"), Parameter::text("42")])
                .unwrap()
                .button("url", 1, Parameter::text("4"))
                .unwrap(),
            ParamProblem::Whitespace { position: 1 },
        ),
        (
            base()
                .body(vec![Parameter::text(" "), Parameter::text("42")])
                .unwrap()
                .button("url", 1, Parameter::text("4"))
                .unwrap(),
            ParamProblem::Empty { position: 1 },
        ),
        (
            base()
                .body(vec![
                    Parameter::text("x".repeat(1000)),
                    Parameter::text("42"),
                ])
                .unwrap()
                .button("url", 1, Parameter::text("4"))
                .unwrap(),
            ParamProblem::TooLong { len: 1033 },
        ),
        (
            base()
                .body(vec![Parameter::text("Ann"), Parameter::text("42")])
                .unwrap(),
            ParamProblem::ButtonMissing { index: 1 },
        ),
        (
            Template::new("order_update", "en_US")
                .unwrap()
                .body(vec![Parameter::text("Ann"), Parameter::text("42")])
                .unwrap(),
            ParamProblem::HeaderMissing { expected: "image" },
        ),
        (
            Template::new("order_update", "en_US")
                .unwrap()
                .header(Parameter::media(MediaKind::Video, MediaSource::Id("1".into())).unwrap())
                .body(vec![Parameter::text("Ann"), Parameter::text("42")])
                .unwrap(),
            ParamProblem::HeaderKind {
                expected: "image",
                got: "video".into(),
            },
        ),
    ];
    for (send, expected) in cases {
        assert_eq!(check_params(&d, &send), Err(expected.clone()), "{expected}");
        let content = OutboundContent::Template(send);
        let decision = decide(&facts(&content, Some(&d)));
        assert_eq!(code(&decision), "template_params_invalid");
        assert!(message(&decision).contains(&expected.to_string()));
    }
    assert_eq!(check_params(&d, &good_send()), Ok(()));
}

#[test]
fn named_templates_need_the_right_names() {
    let d = TemplateDef::from_meta(&json!({"name": "welcome", "language": "en", "category": "UTILITY", "status": "APPROVED", "parameter_format": "NAMED",
        "components": [{"type": "BODY", "text": "Hi {{first_name}}, welcome to {{shop}}."}]})).unwrap();
    let send = |params| {
        Template::new("welcome", "en")
            .unwrap()
            .body(params)
            .unwrap()
    };
    assert_eq!(
        check_params(
            &d,
            &send(vec![
                Parameter::named("shop", "Lucky"),
                Parameter::named("first_name", "Ann")
            ])
        ),
        Ok(()),
        "order is free"
    );
    assert_eq!(
        check_params(
            &d,
            &send(vec![Parameter::text("Ann"), Parameter::text("Lucky")])
        ),
        Err(ParamProblem::NeedsNames {
            template: "welcome".into()
        })
    );
    assert!(matches!(
        check_params(
            &d,
            &send(vec![
                Parameter::named("name", "Ann"),
                Parameter::named("shop", "L")
            ])
        ),
        Err(ParamProblem::UnknownName { .. })
    ));
}
