//! The template's own fields and its set of components: what Meta checks before it reads any
//! text.

use super::{Findings, Template, of_type, text_of};

pub(super) fn name_format(t: &Template, out: &mut Findings) {
    let name = text_of(t.json, "name").unwrap_or("");
    if name.is_empty()
        || name.len() > 512
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        out.push(
            "name_format",
            "name".into(),
            format!("The name {name:?} is not valid."),
            "Use lowercase letters, digits and underscores only, at most 512 characters (e.g. order_shipped).",
        );
    }
}

pub(super) fn language_format(t: &Template, out: &mut Findings) {
    let lang = text_of(t.json, "language").unwrap_or("");
    let (base, region) = lang
        .split_once('_')
        .map_or((lang, None), |(a, b)| (a, Some(b)));
    let locale = (2..=3).contains(&base.len())
        && base.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()));
    if !locale {
        out.push(
            "language_format",
            "language".into(),
            format!("The language {lang:?} is not a locale code."),
            "Use a locale code such as en, en_US or pt_BR.",
        );
    }
}

pub(super) fn category_invalid(t: &Template, out: &mut Findings) {
    if !matches!(
        t.category.as_str(),
        "MARKETING" | "UTILITY" | "AUTHENTICATION"
    ) {
        out.push(
            "category_invalid",
            "category".into(),
            format!(
                "The category {:?} is not one of Meta's.",
                text_of(t.json, "category").unwrap_or("")
            ),
            "Set category to MARKETING, UTILITY or AUTHENTICATION.",
        );
    }
}

pub(super) fn component_duplicate(t: &Template, out: &mut Findings) {
    for kind in ["HEADER", "BODY", "FOOTER", "BUTTONS"] {
        if let Some((i, _)) = of_type(&t.components, kind).nth(1) {
            out.push(
                "component_duplicate",
                format!("components[{i}]"),
                format!("There is more than one {kind} component."),
                "Keep one component of each type: merge or remove the extra one.",
            );
        }
    }
}
