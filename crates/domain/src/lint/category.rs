//! Does the template fit its category? Meta re-categorises a UTILITY or AUTHENTICATION template
//! that reads as promotion (wording, a price, emoji) and a UTILITY one too vague to be about one
//! transaction, as MARKETING: approved, but billed and consented as marketing.

use super::variables::{balanced, static_words};
use super::{Findings, Template, text_of};

pub(super) fn category_vague(t: &Template, out: &mut Findings) {
    let (Some(c), Some(text)) = (&t.body, t.body_text()) else {
        return;
    };
    let words = static_words(text, &balanced(text).unwrap_or_default());
    if t.category == "UTILITY" && words < 3 {
        out.push("category_vague", format!("{}.text", c.loc), "The body says too little to be clearly about one transaction; Meta treats vague templates as MARKETING.".into(), "Say what the message is about (the order, appointment or account) in the body.");
    }
}

pub(super) fn category_promotional(t: &Template, out: &mut Findings) {
    let category = &t.category;
    if !matches!(category.as_str(), "UTILITY" | "AUTHENTICATION") {
        return;
    }
    let text = promo_text(t);
    let lower = text.to_lowercase();
    let phrase = PROMO_PHRASES.iter().find(|p| has_phrase(&lower, p));
    let emoji = t
        .body
        .as_ref()
        .and_then(|c| text_of(c.json, "text"))
        .map_or(0, |t| t.chars().filter(|c| is_emoji(*c)).count());
    let signal = phrase
        .map(|p| format!("the wording {p:?}"))
        .or_else(|| has_price(&text).then(|| "a price or percentage".to_owned()))
        .or_else(|| (emoji >= 3).then(|| format!("{emoji} emoji")));
    if let Some(signal) = signal {
        out.push(
            "category_promotional",
            "category".into(),
            format!(
                "This {category} template contains {signal}; Meta will likely re-categorise it as MARKETING (charged as marketing, and only sent with marketing consent)."
            ),
            "Remove the promotional content, or submit it as MARKETING.",
        );
    }
}

/// Every text a customer reads: the body's own, a text header, the footer, the button labels;
/// one a line so no phrase runs from one into the next.
fn promo_text(t: &Template) -> String {
    let footer = t
        .footer
        .as_ref()
        .map(|c| text_of(c.json, "text").unwrap_or(""));
    let buttons = t.button_list();
    let labels = buttons.iter().filter_map(|b| text_of(b, "text"));
    let mut text = String::new();
    for part in [t.body_text(), t.header_text(), footer]
        .into_iter()
        .flatten()
        .chain(labels)
    {
        text.push_str(part);
        text.push('\n');
    }
    text
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
