//! The template linter never panics, whatever a team writes: arbitrary JSON, templates whose
//! every text field is noise full of `{{…}}` (balanced or not, huge numbers, nested braces,
//! unicode, very long), and corpus templates with values replaced at random paths. Whatever it
//! returns keeps the linter's own promises: deterministic, sorted, each finding a known rule with
//! its severity, a location, a message and a fix. The template model (`TemplateDef::from_meta`)
//! reads the same JSON and is fed the same inputs.

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use switchboard_domain::lint::{RULES, lint};
use switchboard_domain::template::{TemplateDef, variables};

fn arb_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z_]{0,12}".prop_map(Value::String),
        short_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-z_]{1,10}",
                    Just("name".to_owned()),
                    Just("language".to_owned()),
                    Just("category".to_owned()),
                    Just("parameter_format".to_owned()),
                    Just("components".to_owned()),
                    Just("type".to_owned()),
                    Just("format".to_owned()),
                    Just("text".to_owned()),
                    Just("example".to_owned()),
                    Just("buttons".to_owned()),
                    Just("url".to_owned()),
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Any Unicode scalars: control characters, combining marks, every plane.
fn any_chars(n: std::ops::Range<usize>) -> BoxedStrategy<String> {
    prop::collection::vec(any::<char>(), n)
        .prop_map(|c| c.into_iter().collect())
        .boxed()
}

/// One piece of a text: words, variables well-formed or not, braces, unicode, promo signals.
fn fragment() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[A-Za-z]{1,8}",
        2 => (0u64..6).prop_map(|n| format!("{{{{{n}}}}}")),
        1 => any::<u64>().prop_map(|n| format!("{{{{{n}}}}}")),
        1 => "[a-z_]{1,8}".prop_map(|n| format!("{{{{{n}}}}}")),
        1 => any_chars(0..6).prop_map(|n| format!("{{{{{n}}}}}")),
        2 => prop::sample::select(vec![
            " ", "  ", "\n", "\t", ".", "!", "?", ",", "{", "}", "{{", "}}", "{{}}", "{{ }}",
            "{{{", "}}}", "{{{1}}}", "{{{{1}}}}", "{{ {{1}} }}", "{{1}", "{1}}", "{{1}}{{2}}",
            "{{99999999999999999999}}", "{{4294967295}}", "{{4294967296}}", "{{-1}}", "{{0}}",
            "{{ 1 }}", "{{First Name}}", "{{first_name}}", "{{é}}", "{{١}}", "{{１}}",
            "é", "ß", "İ", "ǅ", "\u{301}", "\u{200d}", "\u{feff}", "😀", "🎉🔥✨", "👩‍👩‍👧",
            "$5", "€10", "20%", "offer", "Shop now", "don't miss", "FREE SHIPPING", "\u{0}",
        ])
        .prop_map(str::to_owned),
        1 => any_chars(1..8),
    ]
    .boxed()
}

/// A text field's value: fragments run together, or one fragment repeated to a great length.
fn arb_text() -> BoxedStrategy<String> {
    prop_oneof![
        8 => prop::collection::vec(fragment(), 0..24).prop_map(|f| f.concat()),
        1 => (fragment(), 100usize..2500).prop_map(|(f, n)| f.repeat(n)),
        1 => (prop::collection::vec(fragment(), 1..6), 1usize..400)
            .prop_map(|(f, n)| f.concat().repeat(n)),
    ]
    .boxed()
}

/// A cheaper text, for the many secondary fields (samples, button labels, enum-like keys).
fn short_text() -> BoxedStrategy<String> {
    prop_oneof![
        2 => fragment(),
        1 => prop::collection::vec(fragment(), 0..4).prop_map(|f| f.concat()),
        1 => (fragment(), 1usize..40).prop_map(|(f, n)| f.repeat(n)),
    ]
    .boxed()
}

/// An optional key: absent, a likely value, a text, or any JSON at all.
fn field(likely: &'static [&'static str]) -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        2 => Just(None),
        4 => prop::sample::select(likely).prop_map(|s| Some(Value::String(s.to_owned()))),
        2 => short_text().prop_map(|s| Some(Value::String(s))),
        1 => arb_json().prop_map(Some),
    ]
    .boxed()
}

/// An optional `type`-like key: mostly one Meta knows, so the deeper rules are reached.
fn kind(likely: &'static [&'static str]) -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        8 => prop::sample::select(likely).prop_map(|s| Some(Value::String(s.to_owned()))),
        1 => Just(None),
        1 => short_text().prop_map(|s| Some(Value::String(s))),
        1 => arb_json().prop_map(Some),
    ]
    .boxed()
}

/// An optional text key: absent, a likely value, any text (long, full of braces), or any JSON.
fn text_field(likely: &'static [&'static str]) -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        1 => Just(None),
        2 => prop::sample::select(likely).prop_map(|s| Some(Value::String(s.to_owned()))),
        4 => arb_text().prop_map(|s| Some(Value::String(s))),
        1 => arb_json().prop_map(Some),
    ]
    .boxed()
}

fn object(pairs: Vec<(&str, Option<Value>)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
            .collect::<Map<_, _>>(),
    )
}

fn arb_texts(n: std::ops::Range<usize>) -> BoxedStrategy<Value> {
    prop::collection::vec(short_text().prop_map(Value::String), n)
        .prop_map(Value::Array)
        .boxed()
}

fn arb_named_samples() -> BoxedStrategy<Value> {
    prop::collection::vec(
        ("[a-z_]{1,8}", short_text()).prop_map(|(n, e)| json!({"param_name": n, "example": e})),
        0..5,
    )
    .prop_map(Value::Array)
    .boxed()
}

fn arb_example() -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        2 => Just(None),
        2 => prop::collection::vec(arb_texts(0..5), 0..3)
            .prop_map(|a| Some(json!({"body_text": a}))),
        1 => arb_texts(0..4).prop_map(|a| Some(json!({"header_text": a}))),
        1 => arb_named_samples().prop_map(|a| Some(json!({"body_text_named_params": a}))),
        1 => arb_named_samples().prop_map(|a| Some(json!({"header_text_named_params": a}))),
        1 => arb_texts(0..3).prop_map(|a| Some(json!({"header_handle": a}))),
        1 => arb_json().prop_map(Some),
    ]
    .boxed()
}

fn arb_button() -> BoxedStrategy<Value> {
    (
        kind(&[
            "URL",
            "QUICK_REPLY",
            "PHONE_NUMBER",
            "COPY_CODE",
            "OTP",
            "FLOW",
            "url",
            "otp",
        ]),
        field(&["Track", "Stop promotions", "Call us"]),
        text_field(&[
            "https://x.example/t/{{1}}",
            "https://x.example/{{1}}/t",
            "https://x.example/{{1}}{{2}}",
            "https://x.example/{{",
        ]),
        field(&["+16505551234", "+1 650 555 1234 ext 99999"]),
        prop_oneof![
            Just(None),
            arb_texts(0..3).prop_map(Some),
            short_text().prop_map(|s| Some(Value::String(s))),
            arb_json().prop_map(Some),
        ],
    )
        .prop_map(|(kind, text, url, phone, example)| {
            object(vec![
                ("type", kind),
                ("text", text),
                ("url", url),
                ("phone_number", phone),
                ("example", example),
            ])
        })
        .boxed()
}

fn arb_buttons() -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        1 => Just(None),
        4 => prop::collection::vec(arb_button(), 0..5).prop_map(|b| Some(Value::Array(b))),
        // Past Meta's limits (10 buttons, 2 URLs…), with plain values to stay quick.
        2 => prop::collection::vec(
            prop::sample::select(&["URL", "QUICK_REPLY", "PHONE_NUMBER", "COPY_CODE", "OTP"][..])
                .prop_map(|k| json!({"type": k, "text": "Go", "url": "https://x.example/{{1}}"})),
            0..13,
        )
        .prop_map(|b| Some(Value::Array(b))),
        1 => arb_json().prop_map(Some),
    ]
    .boxed()
}

fn arb_component() -> BoxedStrategy<Value> {
    let component = (
        kind(&[
            "HEADER",
            "BODY",
            "FOOTER",
            "BUTTONS",
            "LIMITED_TIME_OFFER",
            "body",
            "Header",
        ]),
        kind(&["TEXT", "IMAGE", "VIDEO", "DOCUMENT", "GIF", "LOCATION", ""]),
        text_field(&[
            "Hi {{1}}, your order {{2}} shipped.",
            "Order update",
            "{{1}}",
        ]),
        arb_example(),
        arb_buttons(),
        prop_oneof![
            3 => Just(None),
            1 => short_text().prop_map(|s| Some(json!({"text": s, "has_expiration": true}))),
            1 => arb_json().prop_map(Some),
        ],
    )
        .prop_map(|(kind, format, text, example, buttons, lto)| {
            object(vec![
                ("type", kind),
                ("format", format),
                ("text", text),
                ("example", example),
                ("buttons", buttons),
                ("limited_time_offer", lto),
            ])
        });
    prop_oneof![9 => component, 1 => arb_json()].boxed()
}

/// Random components, usually with a BODY and a BUTTONS component somewhere among them (so the
/// deeper rules are reached, not only `body_missing`).
fn arb_components() -> BoxedStrategy<Value> {
    let body = (arb_text(), arb_example()).prop_map(|(text, example)| {
        object(vec![
            ("type", Some(json!("BODY"))),
            ("text", Some(Value::String(text))),
            ("example", example),
        ])
    });
    let buttons =
        arb_buttons().prop_map(|b| object(vec![("type", Some(json!("BUTTONS"))), ("buttons", b)]));
    (
        prop::collection::vec(arb_component(), 0..5),
        prop::option::weighted(0.7, body),
        prop::option::weighted(0.4, buttons),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(mut cs, body, buttons, at_body, at_buttons)| {
            if let Some(b) = body {
                cs.insert(at_body.index(cs.len() + 1), b);
            }
            if let Some(b) = buttons {
                cs.insert(at_buttons.index(cs.len() + 1), b);
            }
            Value::Array(cs)
        })
        .boxed()
}

/// A create-template body: every field noise-prone, the component list random.
fn arb_template() -> BoxedStrategy<Value> {
    (
        field(&["order_update", "Order Update", "", "order-update"]),
        field(&["en", "en_US", "pt_BR", "EN", "en_us", "fil", "english"]),
        kind(&[
            "MARKETING",
            "UTILITY",
            "AUTHENTICATION",
            "utility",
            "TRANSACTIONAL",
        ]),
        field(&["NAMED", "POSITIONAL", "named"]),
        prop_oneof![
            1 => Just(None),
            8 => arb_components().prop_map(Some),
            1 => arb_json().prop_map(Some),
        ],
    )
        .prop_map(|(name, language, category, format, components)| {
            object(vec![
                ("name", name),
                ("language", language),
                ("category", category),
                ("parameter_format", format),
                ("components", components),
            ])
        })
        .boxed()
}

/// The corpus templates, read once.
fn corpus_templates() -> &'static [Value] {
    static CORPUS: OnceLock<Vec<Value>> = OnceLock::new();
    CORPUS.get_or_init(read_corpus)
}

fn read_corpus() -> Vec<Value> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint_corpus");
    let mut files: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let templates: Vec<Value> = files
        .iter()
        .map(|p| {
            let case: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            case["template"].clone()
        })
        .collect();
    assert!(!templates.is_empty());
    templates
}

/// Replaces the value at the `pick`-th node (in a depth-first walk) with `with`.
fn mutate(v: &mut Value, pick: &mut usize, with: &Value) {
    if *pick == 0 {
        *v = with.clone();
        *pick = usize::MAX;
        return;
    }
    *pick -= 1;
    match v {
        Value::Array(a) => a.iter_mut().for_each(|x| {
            if *pick != usize::MAX {
                mutate(x, pick, with)
            }
        }),
        Value::Object(m) => m.values_mut().for_each(|x| {
            if *pick != usize::MAX {
                mutate(x, pick, with)
            }
        }),
        _ => {}
    }
}

/// Keys whose values steer the linter (kept, so the noise reaches the rules behind them).
const STRUCTURAL: &[&str] = &["type", "format", "category", "language", "parameter_format"];

/// Replaces every string in `v` that is not under a [`STRUCTURAL`] key with the next of `texts`
/// (cycling): body, header, footer and button texts, URLs, phone numbers, samples, the name.
fn replace_texts(v: &mut Value, texts: &[String], next: &mut usize) {
    match v {
        Value::String(s) => {
            *s = texts[*next % texts.len()].clone();
            *next += 1;
        }
        Value::Array(a) => a.iter_mut().for_each(|x| replace_texts(x, texts, next)),
        Value::Object(m) => m
            .iter_mut()
            .filter(|(k, _)| !STRUCTURAL.contains(&k.as_str()))
            .for_each(|(_, x)| replace_texts(x, texts, next)),
        _ => {}
    }
}

fn has_body(t: &Value) -> bool {
    t.get("components")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|k| k.eq_ignore_ascii_case("BODY"))
            })
        })
}

/// Lints `t` (twice) and checks what the linter promises of any result.
fn lint_checked(t: &Value) -> Result<(), TestCaseError> {
    let findings = lint(t);
    prop_assert_eq!(&lint(t), &findings, "linting is deterministic");
    for f in &findings {
        prop_assert!(
            RULES.contains(&(f.rule, f.severity)),
            "unknown rule or wrong severity: {:?}",
            f
        );
        prop_assert!(
            !f.location.is_empty() && !f.message.is_empty() && !f.fix.is_empty(),
            "{:?}",
            f
        );
    }
    for w in findings.windows(2) {
        prop_assert!(
            (w[0].severity, &w[0].location) <= (w[1].severity, &w[1].location),
            "findings are sorted by severity, then location: {:?}",
            w
        );
    }
    for (i, f) in findings.iter().enumerate() {
        prop_assert!(
            !findings[..i]
                .iter()
                .any(|g| g.rule == f.rule && g.location == f.location),
            "a rule is reported once per location: {:?}",
            f
        );
    }
    if !has_body(t) {
        prop_assert!(
            findings.iter().any(|f| f.rule == "body_missing"),
            "a template without a BODY is rejected"
        );
    }
    if !t.is_object() {
        for rule in ["name_format", "language_format", "category_invalid"] {
            prop_assert!(findings.iter().any(|f| f.rule == rule), "{}", rule);
        }
    }
    // The template model reads the same JSON.
    let _ = TemplateDef::from_meta(t);
    Ok(())
}

// Case counts keep the whole file to a few seconds of a debug build (CI runs it every time).
proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn lint_never_panics_on_arbitrary_json(v in arb_json()) {
        lint_checked(&v)?;
    }

    #[test]
    fn lint_never_panics_on_mutated_corpus(
        idx in any::<prop::sample::Index>(),
        picks in prop::collection::vec(0usize..120, 1..4),
        with in prop_oneof![arb_json(), arb_text().prop_map(Value::String)],
    ) {
        let templates = corpus_templates();
        let mut t = templates[idx.index(templates.len())].clone();
        for pick in picks {
            let mut p = pick;
            mutate(&mut t, &mut p, &with);
        }
        lint_checked(&t)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn lint_never_panics_on_arbitrary_templates(t in arb_template()) {
        lint_checked(&t)?;
    }

    #[test]
    fn lint_never_panics_with_noise_in_every_text_field(
        idx in any::<prop::sample::Index>(),
        texts in prop::collection::vec(arb_text(), 1..8),
    ) {
        let templates = corpus_templates();
        let mut t = templates[idx.index(templates.len())].clone();
        replace_texts(&mut t, &texts, &mut 0);
        lint_checked(&t)?;
    }

    #[test]
    fn lint_never_panics_on_one_text_in_every_field(text in arb_text()) {
        let _ = variables(&text);
        let t = json!({"name": "t", "language": "en", "category": "UTILITY", "components": [
            {"type": "HEADER", "format": "TEXT", "text": text},
            {"type": "BODY", "text": text, "example": {"body_text": [["a"]]}},
            {"type": "FOOTER", "text": text},
            {"type": "BUTTONS", "buttons": [{"type": "URL", "text": text, "url": text, "example": [text]}]},
        ]});
        lint_checked(&t)?;
    }
}
