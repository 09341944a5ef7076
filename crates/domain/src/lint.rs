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

/// A `{{…}}` token of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Var {
    Positional(u32),
    Named(String),
    Malformed(String),
}

/// The tokens of `text`, with their byte ranges; `Err` when the braces do not balance.
fn tokens(text: &str) -> Result<Vec<(Var, std::ops::Range<usize>)>, ()> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(open) = text[i..].find("{{").map(|o| o + i) {
        // A `}}` before the next `{{` with no opener in between is unbalanced.
        if text[i..open].contains("}}") {
            return Err(());
        }
        let Some(close) = text[open + 2..].find("}}").map(|c| c + open + 2) else {
            return Err(());
        };
        let inner = text[open + 2..close].trim();
        let var = if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) {
            inner
                .parse()
                .map(Var::Positional)
                .unwrap_or(Var::Malformed(inner.to_owned()))
        } else if inner.starts_with(|c: char| c.is_ascii_lowercase())
            && inner
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            Var::Named(inner.to_owned())
        } else {
            Var::Malformed(inner.to_owned())
        };
        out.push((var, open..close + 2));
        i = close + 2;
    }
    if text[i..].contains("}}") {
        return Err(());
    }
    Ok(out)
}

fn static_words(text: &str, toks: &[(Var, std::ops::Range<usize>)]) -> usize {
    let mut s = String::with_capacity(text.len());
    let mut last = 0;
    for (_, r) in toks {
        s.push_str(&text[last..r.start]);
        s.push(' ');
        last = r.end;
    }
    s.push_str(&text[last..]);
    s.split_whitespace()
        .filter(|w| w.chars().any(|c| c.is_alphanumeric()))
        .count()
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

const PROMO_PHRASES: &[&str] = &[
    "offer",
    "offers",
    "discount",
    "discounts",
    "sale",
    "sales",
    "promo",
    "promos",
    "promotion",
    "promotions",
    "coupon",
    "coupons",
    "deal",
    "deals",
    "buy now",
    "shop now",
    "limited time",
    "hurry",
    "don't miss",
    "exclusive",
    "free shipping",
    "save up to",
    "best price",
    "last chance",
    "new arrivals",
    "special price",
    "upgrade now",
];

/// Whether `needle` occurs in `hay` (both lowercase) on word boundaries.
fn has_phrase(hay: &str, needle: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric();
    let mut from = 0;
    while let Some(pos) = hay[from..].find(needle).map(|p| p + from) {
        let before = hay[..pos].chars().next_back();
        let after = hay[pos + needle.len()..].chars().next();
        if !before.is_some_and(is_word) && !after.is_some_and(is_word) {
            return true;
        }
        from = pos + needle.len();
    }
    false
}

/// A price or a percentage: a currency symbol before a digit, or a number before `%`.
fn has_price(text: &str) -> bool {
    let cs: Vec<char> = text.chars().collect();
    cs.windows(2).any(|w| {
        (matches!(w[0], '$' | '€' | '£' | '₹') && w[1].is_ascii_digit())
            || (w[0].is_ascii_digit() && w[1] == '%')
    })
}

fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x1F300..=0x1FAFF | 0x2600..=0x27BF | 0x1F000..=0x1F2FF)
}

/// Lints one template (Meta's create JSON).
pub fn lint(t: &Value) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut push =
        |rule: &'static str, severity: Severity, location: String, message: String, fix: &str| {
            if !out.iter().any(|f| f.rule == rule && f.location == location) {
                out.push(Finding {
                    rule,
                    severity,
                    location,
                    message,
                    fix: fix.to_owned(),
                });
            }
        };
    use Severity::{Error, Warning};

    let name = text_of(t, "name").unwrap_or("");
    if name.is_empty()
        || name.len() > 512
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        push(
            "name_format",
            Error,
            "name".into(),
            format!("The name {name:?} is not valid."),
            "Use lowercase letters, digits and underscores only, at most 512 characters (e.g. order_shipped).",
        );
    }
    let lang = text_of(t, "language").unwrap_or("");
    let lang_ok = {
        let (base, region) = lang
            .split_once('_')
            .map_or((lang, None), |(a, b)| (a, Some(b)));
        (2..=3).contains(&base.len())
            && base.bytes().all(|b| b.is_ascii_lowercase())
            && region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()))
    };
    if !lang_ok {
        push(
            "language_format",
            Error,
            "language".into(),
            format!("The language {lang:?} is not a locale code."),
            "Use a locale code such as en, en_US or pt_BR.",
        );
    }
    let category = upper(t, "category");
    if !matches!(
        category.as_str(),
        "MARKETING" | "UTILITY" | "AUTHENTICATION"
    ) {
        push(
            "category_invalid",
            Error,
            "category".into(),
            format!(
                "The category {:?} is not one of Meta's.",
                text_of(t, "category").unwrap_or("")
            ),
            "Set category to MARKETING, UTILITY or AUTHENTICATION.",
        );
    }
    let named_format = upper(t, "parameter_format") == "NAMED";
    let auth = category == "AUTHENTICATION";

    let components: Vec<&Value> = t
        .get("components")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let find = |kind: &str| {
        components
            .iter()
            .enumerate()
            .filter(|(_, c)| upper(c, "type") == kind)
            .map(|(i, c)| (i, *c))
            .collect::<Vec<_>>()
    };
    for kind in ["HEADER", "BODY", "FOOTER", "BUTTONS"] {
        let found = find(kind);
        if found.len() > 1 {
            push(
                "component_duplicate",
                Error,
                format!("components[{}]", found[1].0),
                format!("There is more than one {kind} component."),
                "Keep one component of each type: merge or remove the extra one.",
            );
        }
    }
    let body = find("BODY").first().copied();
    let header = find("HEADER").first().copied();
    let footer = find("FOOTER").first().copied();
    let buttons_comp = find("BUTTONS").first().copied();
    let lto = find("LIMITED_TIME_OFFER").first().copied();

    let mut saw_positional = false;
    let mut saw_named = false;
    let mut promo_text = String::new();

    // Variables of a text component (header or body): malformed, sequence, adjacency, samples.
    let mut check_vars = |loc: &str,
                          c: &Value,
                          text: &str,
                          is_body: bool,
                          push: &mut dyn FnMut(&'static str, Severity, String, String, &str)|
     -> Vec<(Var, std::ops::Range<usize>)> {
        let toks = match tokens(text) {
            Ok(t) => t,
            Err(()) => {
                push(
                    "variable_malformed",
                    Error,
                    format!("{loc}.text"),
                    "The braces of a variable do not balance.".into(),
                    "Write every variable as {{1}} or {{name}}, with both pairs of braces.",
                );
                return Vec::new();
            }
        };
        let mut positional = Vec::new();
        let mut named: Vec<String> = Vec::new();
        for (v, _) in &toks {
            match v {
                Var::Malformed(inner) => push(
                    "variable_malformed",
                    Error,
                    format!("{loc}.text"),
                    format!("{{{{{inner}}}}} is not a variable Meta accepts."),
                    "Use {{1}}, {{2}}… or lowercase names with underscores like {{first_name}}; no spaces or symbols inside the braces.",
                ),
                Var::Positional(n) => positional.push(*n),
                Var::Named(n) => {
                    if named.contains(n) {
                        push(
                            "named_duplicate",
                            Error,
                            format!("{loc}.text"),
                            format!("{{{{{n}}}}} appears twice."),
                            "Give each named variable a unique name.",
                        );
                    }
                    named.push(n.clone());
                }
            }
        }
        saw_positional |= !positional.is_empty();
        saw_named |= !named.is_empty();
        if !positional.is_empty()
            && positional
                .iter()
                .enumerate()
                .any(|(i, n)| *n != i as u32 + 1)
        {
            push(
                "variables_not_sequential",
                Error,
                format!("{loc}.text"),
                format!("The variables are numbered {positional:?}; Meta needs 1, 2, 3… in order."),
                "Number the variables from {{1}} in the order they appear.",
            );
        }
        for w in toks.windows(2) {
            if text[w[0].1.end..w[1].1.start].trim().is_empty() {
                push(
                    "variables_adjacent",
                    Error,
                    format!("{loc}.text"),
                    "Two variables stand side by side with no text between them.".into(),
                    "Put words or punctuation between the variables, or merge them into one.",
                );
            }
        }
        if is_body && !toks.is_empty() {
            if let Some(first) = toks.first()
                && text[..first.1.start].trim().is_empty()
            {
                push(
                    "variable_at_start",
                    Error,
                    format!("{loc}.text"),
                    "The body starts with a variable.".into(),
                    "Start the body with text, e.g. \"Hi {{1}},\".",
                );
            }
            if let Some(last) = toks.last()
                && text[last.1.end..]
                    .trim()
                    .chars()
                    .all(|c| matches!(c, '.' | '!' | '?'))
            {
                push(
                    "variable_at_end",
                    Error,
                    format!("{loc}.text"),
                    "The body ends with a variable.".into(),
                    "End the body with text after the last variable, e.g. \"… {{2}}. Thank you!\".",
                );
            }
        }
        // Samples.
        let example = c.get("example");
        let distinct_named = {
            let mut n = named.clone();
            n.sort();
            n.dedup();
            n
        };
        let distinct_positional = {
            let mut p = positional.clone();
            p.sort_unstable();
            p.dedup();
            p.len()
        };
        let (pos_key, named_key) = if is_body {
            ("body_text", "body_text_named_params")
        } else {
            ("header_text", "header_text_named_params")
        };
        if distinct_positional > 0 {
            let values = example
                .and_then(|e| e.get(pos_key))
                .and_then(Value::as_array)
                .map(|a| {
                    if is_body {
                        a.first().and_then(Value::as_array).map_or(0, Vec::len)
                    } else {
                        a.len()
                    }
                });
            match values {
                None => push(
                    "sample_missing",
                    Error,
                    format!("{loc}.example"),
                    format!("The variables have no sample values ({pos_key})."),
                    "Add example values for every variable; Meta reviews the template with them.",
                ),
                Some(n) if n != distinct_positional => push(
                    "sample_count",
                    Error,
                    format!("{loc}.example"),
                    format!("{n} sample value(s) for {distinct_positional} variable(s)."),
                    "Give exactly one sample value per variable, in order.",
                ),
                _ => {}
            }
        }
        if !distinct_named.is_empty() {
            match example
                .and_then(|e| e.get(named_key))
                .and_then(Value::as_array)
            {
                None => push(
                    "sample_missing",
                    Error,
                    format!("{loc}.example"),
                    format!("The named variables have no samples ({named_key})."),
                    "Add {\"param_name\", \"example\"} for every named variable.",
                ),
                Some(a) => {
                    let given: Vec<&str> = a
                        .iter()
                        .filter_map(|p| p.get("param_name").and_then(Value::as_str))
                        .collect();
                    if distinct_named.iter().any(|n| !given.contains(&n.as_str()))
                        || given.len() != distinct_named.len()
                    {
                        push(
                            "sample_count",
                            Error,
                            format!("{loc}.example"),
                            "The samples do not match the named variables one to one.".into(),
                            "Give one sample per named variable, with its param_name.",
                        );
                    }
                }
            }
        }
        toks
    };

    // BODY
    match body {
        None => push(
            "body_missing",
            Error,
            "components".into(),
            "The template has no BODY component.".into(),
            "Add a BODY component with the message text.",
        ),
        Some((i, c)) => {
            let loc = format!("components[{i}]");
            if auth {
                if c.get("text").is_some() {
                    push("auth_format", Error, format!("{loc}.text"), "Authentication templates use Meta's fixed text; the body cannot have its own.".into(), "Remove the body text; set add_security_recommendation if you want Meta's security line.");
                }
            } else if let Some(text) = text_of(c, "text") {
                if chars(text) > 1024 {
                    push(
                        "body_too_long",
                        Error,
                        format!("{loc}.text"),
                        format!(
                            "The body has {} characters; Meta allows 1,024.",
                            chars(text)
                        ),
                        "Shorten the body to at most 1,024 characters.",
                    );
                }
                let toks = check_vars(&loc, c, text, true, &mut push);
                let words = static_words(text, &toks);
                if !toks.is_empty() && words < 2 * toks.len() + 1 {
                    push(
                        "variables_too_dense",
                        Warning,
                        format!("{loc}.text"),
                        format!(
                            "{} variable(s) in {words} word(s) of text: Meta rejects templates with too many variables for their length.",
                            toks.len()
                        ),
                        "Add more fixed text around the variables, or use fewer variables.",
                    );
                }
                if category == "UTILITY" && words < 3 {
                    push("category_vague", Warning, format!("{loc}.text"), "The body says too little to be clearly about one transaction; Meta treats vague templates as MARKETING.".into(), "Say what the message is about (the order, appointment or account) in the body.");
                }
                promo_text.push_str(text);
                promo_text.push('\n');
            } else {
                push(
                    "body_missing",
                    Error,
                    format!("{loc}.text"),
                    "The BODY component has no text.".into(),
                    "Add the message text to the BODY component.",
                );
            }
        }
    }

    // HEADER
    if let Some((i, c)) = header {
        let loc = format!("components[{i}]");
        if auth {
            push(
                "auth_format",
                Error,
                loc.clone(),
                "Authentication templates cannot have a header.".into(),
                "Remove the header.",
            );
        }
        match upper(c, "format").as_str() {
            "TEXT" | "" => {
                let text = text_of(c, "text").unwrap_or("");
                if chars(text) > 60 {
                    push(
                        "header_too_long",
                        Error,
                        format!("{loc}.text"),
                        format!("The header has {} characters; Meta allows 60.", chars(text)),
                        "Shorten the header to at most 60 characters.",
                    );
                }
                let toks = check_vars(&loc, c, text, false, &mut push);
                if toks.len() > 1 {
                    push(
                        "header_variables",
                        Error,
                        format!("{loc}.text"),
                        format!("The header has {} variables; Meta allows one.", toks.len()),
                        "Keep at most one variable in the header; move the rest to the body.",
                    );
                }
                promo_text.push_str(text);
                promo_text.push('\n');
            }
            "IMAGE" | "VIDEO" | "DOCUMENT" | "GIF" => {
                let has = c
                    .pointer("/example/header_handle")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty());
                if !has {
                    push(
                        "sample_missing",
                        Error,
                        format!("{loc}.example"),
                        "A media header needs a sample (example.header_handle).".into(),
                        "Upload a sample with the Resumable Upload API and put its handle in example.header_handle.",
                    );
                }
            }
            "LOCATION" if auth => push(
                "location_header_category",
                Error,
                loc.clone(),
                "Authentication templates cannot have a location header.".into(),
                "Remove the location header.",
            ),
            _ => {}
        }
    }

    // FOOTER
    if let Some((i, c)) = footer {
        let loc = format!("components[{i}]");
        let text = text_of(c, "text").unwrap_or("");
        if chars(text) > 60 {
            push(
                "footer_too_long",
                Error,
                format!("{loc}.text"),
                format!("The footer has {} characters; Meta allows 60.", chars(text)),
                "Shorten the footer to at most 60 characters.",
            );
        }
        if text.contains("{{") {
            push(
                "footer_variables",
                Error,
                format!("{loc}.text"),
                "The footer has a variable; footers are fixed text.".into(),
                "Remove the variable from the footer, or move it to the body.",
            );
        }
        promo_text.push_str(text);
        promo_text.push('\n');
    }

    // LIMITED_TIME_OFFER
    if let Some((i, c)) = lto {
        let loc = format!("components[{i}]");
        let text = c
            .pointer("/limited_time_offer/text")
            .and_then(Value::as_str)
            .unwrap_or("");
        if category != "MARKETING" || footer.is_some() || chars(text) > 16 {
            push("lto_rules", Error, loc, "A limited-time offer must be in a MARKETING template without a footer, with an offer text of at most 16 characters.".into(), "Use it only in MARKETING templates, drop the footer, keep the offer text to 16 characters.");
        }
    }

    // BUTTONS
    let buttons: Vec<&Value> = buttons_comp
        .and_then(|(_, c)| c.get("buttons"))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let bloc = buttons_comp
        .map(|(i, _)| format!("components[{i}].buttons"))
        .unwrap_or_default();
    if buttons.len() > 10 {
        push(
            "buttons_too_many",
            Error,
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
        push("button_type_count", Error, bloc.clone(), "Too many buttons of one type (at most 2 URL, 1 phone number, 1 copy code, 10 quick replies).".into(), "Remove the extra buttons of that type.");
    }
    let qr: Vec<usize> = kinds
        .iter()
        .enumerate()
        .filter(|(_, k)| *k == "QUICK_REPLY")
        .map(|(i, _)| i)
        .collect();
    if qr.len() > 1 && qr.last().unwrap() - qr.first().unwrap() + 1 != qr.len() {
        push(
            "buttons_not_grouped",
            Error,
            bloc.clone(),
            "Quick replies are mixed in between other buttons.".into(),
            "Put all quick replies together, before or after the other buttons.",
        );
    }
    let otp = count("OTP");
    if otp > 0 && !auth {
        push(
            "otp_outside_authentication",
            Error,
            bloc.clone(),
            "One-time-passcode buttons belong to AUTHENTICATION templates only.".into(),
            "Move the code to an AUTHENTICATION template.",
        );
    }
    if auth && (otp != 1 || kinds.iter().any(|k| k != "OTP")) {
        push(
            "auth_format",
            Error,
            if bloc.is_empty() {
                "components".into()
            } else {
                bloc.clone()
            },
            "An authentication template needs exactly one OTP button and no other buttons.".into(),
            "Use one button of type OTP (copy code, one-tap or zero-tap).",
        );
    }
    for (j, b) in buttons.iter().enumerate() {
        let loc = format!("{bloc}[{j}]");
        if let Some(text) = text_of(b, "text") {
            if chars(text) > 25 {
                push(
                    "button_text_too_long",
                    Error,
                    format!("{loc}.text"),
                    format!(
                        "The button text has {} characters; Meta allows 25.",
                        chars(text)
                    ),
                    "Shorten the button text to at most 25 characters.",
                );
            }
            promo_text.push_str(text);
            promo_text.push('\n');
        }
        match kinds[j].as_str() {
            "URL" => {
                let url = text_of(b, "url").unwrap_or("");
                if chars(url) > 2000 {
                    push(
                        "button_url_too_long",
                        Error,
                        format!("{loc}.url"),
                        "The URL is longer than 2,000 characters.".into(),
                        "Shorten the URL.",
                    );
                }
                match tokens(url) {
                    Err(()) => push(
                        "variable_malformed",
                        Error,
                        format!("{loc}.url"),
                        "The braces of the URL's variable do not balance.".into(),
                        "Write the variable as {{1}} at the end of the URL.",
                    ),
                    Ok(toks) => {
                        if toks.iter().any(|(v, _)| matches!(v, Var::Malformed(_))) {
                            push(
                                "variable_malformed",
                                Error,
                                format!("{loc}.url"),
                                "The URL's variable is not {{1}}.".into(),
                                "Write the variable as {{1}} at the end of the URL.",
                            );
                        }
                        if toks.len() > 1 || toks.first().is_some_and(|(_, r)| r.end != url.len()) {
                            push(
                                "button_url_variable",
                                Error,
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
                        if !toks.is_empty() && !has_example {
                            push(
                                "sample_missing",
                                Error,
                                format!("{loc}.example"),
                                "A URL with a variable needs an example URL.".into(),
                                "Add example: [\"https://example.com/track/42\"].",
                            );
                        }
                    }
                }
            }
            "PHONE_NUMBER" if chars(text_of(b, "phone_number").unwrap_or("")) > 20 => {
                push(
                    "button_phone_too_long",
                    Error,
                    format!("{loc}.phone_number"),
                    "The phone number is longer than 20 characters.".into(),
                    "Use the number in international form without spaces.",
                );
            }
            _ => {}
        }
    }

    // Mixed formats.
    // Mixing both styles always contradicts the declared format, whichever it is.
    if (named_format && saw_positional) || (!named_format && saw_named) {
        push("mixed_parameter_format", Error, "parameter_format".into(), "Positional ({{1}}) and named ({{name}}) variables are mixed, or do not match parameter_format.".into(), "Use one style: named variables with \"parameter_format\": \"NAMED\", or {{1}}, {{2}}… without it.");
    }

    // Category fit.
    if matches!(category.as_str(), "UTILITY" | "AUTHENTICATION") {
        let lower = promo_text.to_lowercase();
        let phrase = PROMO_PHRASES.iter().find(|p| has_phrase(&lower, p));
        let emoji = body
            .and_then(|(_, c)| text_of(c, "text"))
            .map_or(0, |t| t.chars().filter(|c| is_emoji(*c)).count());
        let signal = phrase
            .map(|p| format!("the wording {p:?}"))
            .or_else(|| has_price(&promo_text).then(|| "a price or percentage".to_owned()))
            .or_else(|| (emoji >= 3).then(|| format!("{emoji} emoji")));
        if let Some(signal) = signal {
            push(
                "category_promotional",
                Warning,
                "category".into(),
                format!(
                    "This {category} template contains {signal}; Meta will likely re-categorise it as MARKETING (charged as marketing, and only sent with marketing consent)."
                ),
                "Remove the promotional content, or submit it as MARKETING.",
            );
        }
    }
    out.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(a.location.cmp(&b.location))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(t: Value) -> Vec<&'static str> {
        let mut r: Vec<_> = lint(&t).into_iter().map(|f| f.rule).collect();
        r.sort_unstable();
        r.dedup();
        r
    }

    #[test]
    fn a_clean_utility_template_has_no_findings() {
        let t = json!({"name": "order_shipped", "language": "en_US", "category": "UTILITY", "components": [
            {"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped and arrives tomorrow.", "example": {"body_text": [["Ann", "42"]]}}]});
        assert_eq!(rules(t), Vec::<&str>::new());
    }

    #[test]
    fn variable_rules() {
        let body = |text: &str| {
            json!({"name": "t", "language": "en", "category": "MARKETING", "components": [
            {"type": "BODY", "text": text, "example": {"body_text": [["a", "b"]]}}]})
        };
        assert!(
            rules(body("{{1}} hello there friend {{2}} ok and more words"))
                .contains(&"variable_at_start")
        );
        assert!(
            rules(body("Hello there friend {{1}} and more words {{2}}."))
                .contains(&"variable_at_end")
        );
        assert!(
            rules(body("Hello there {{1}}{{2}} and more words here"))
                .contains(&"variables_adjacent")
        );
        assert!(
            rules(body("Hello there {{1}} and {{3}} more words here"))
                .contains(&"variables_not_sequential")
        );
        assert!(
            rules(body("Hello there {{ first name }} more words here"))
                .contains(&"variable_malformed")
        );
        assert!(rules(body("Hello there {{1} more words here")).contains(&"variable_malformed"));
    }

    #[test]
    fn promotional_wording_in_utility_is_flagged_on_word_boundaries() {
        let t = |text: &str| {
            json!({"name": "t", "language": "en", "category": "UTILITY", "components": [
            {"type": "BODY", "text": text}]})
        };
        assert_eq!(
            rules(t("Your wholesale account was updated today.")),
            Vec::<&str>::new()
        );
        assert_eq!(
            rules(t("Your order shipped. Enjoy 20% off your next one!")),
            vec!["category_promotional"]
        );
        assert_eq!(
            rules(t("Your order shipped. Shop now for more.")),
            vec!["category_promotional"]
        );
    }
}
