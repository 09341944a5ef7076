//! The `{{…}}` placeholders of a template text. One scanner serves the template model, which
//! lists the variables a send must fill, and the linter, which reports the malformed ones and
//! the braces that do not balance, so the two can never disagree on where a variable is.
//!
//! The scan is lenient and reports instead of failing: a `}}` with no opener is skipped and an
//! unclosed `{{` ends the scan, with `balanced` false in both cases. The model reads what a
//! stored template has; the linter decides what to refuse.

use std::ops::Range;

/// What a placeholder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `{{1}}`, `{{2}}`…
    Positional(u32),
    /// `{{first_name}}`: lowercase letters, digits and underscores, starting with a letter.
    Named,
    /// Anything else between the braces: `{{first name}}`, `{{$x}}`, `{{}}`, a number too big.
    Malformed,
}

/// One `{{…}}` of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder<'a> {
    /// What stands between the braces, without the spaces around it.
    pub inner: &'a str,
    pub kind: Kind,
    /// The bytes of the whole `{{…}}`, braces included.
    pub range: Range<usize>,
}

/// The placeholders of a text, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan<'a> {
    /// Every `{{…}}`, up to a `{{` that never closes.
    pub placeholders: Vec<Placeholder<'a>>,
    /// False when a `}}` has no opener or a `{{` no closer.
    pub balanced: bool,
}

pub fn scan(text: &str) -> Scan<'_> {
    let mut placeholders = Vec::new();
    let mut balanced = true;
    let mut i = 0;
    while let Some(open) = text[i..].find("{{").map(|o| o + i) {
        // A `}}` before the next `{{` with no opener in between.
        if text[i..open].contains("}}") {
            balanced = false;
        }
        let Some(close) = text[open + 2..].find("}}").map(|c| c + open + 2) else {
            return Scan {
                placeholders,
                balanced: false,
            };
        };
        let inner = text[open + 2..close].trim();
        placeholders.push(Placeholder {
            inner,
            kind: kind(inner),
            range: open..close + 2,
        });
        i = close + 2;
    }
    if text[i..].contains("}}") {
        balanced = false;
    }
    Scan {
        placeholders,
        balanced,
    }
}

fn kind(inner: &str) -> Kind {
    if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) {
        inner.parse().map_or(Kind::Malformed, Kind::Positional)
    } else if inner.starts_with(|c: char| c.is_ascii_lowercase())
        && inner
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        Kind::Named
    } else {
        Kind::Malformed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `(inner, kind, range)` of each placeholder, and whether the braces balance.
    type Parts<'a> = (Vec<(&'a str, Kind, Range<usize>)>, bool);

    fn parts(text: &str) -> Parts<'_> {
        let s = scan(text);
        let found = s
            .placeholders
            .into_iter()
            .map(|p| (p.inner, p.kind, p.range))
            .collect();
        (found, s.balanced)
    }

    #[test]
    fn positional_variables_are_numbered_with_their_ranges() {
        assert_eq!(
            parts("Hi {{1}}, order {{2}} shipped"),
            (
                vec![
                    ("1", Kind::Positional(1), 3..8),
                    ("2", Kind::Positional(2), 16..21)
                ],
                true
            )
        );
        // Leading zeros are still the number; the linter judges the sequence.
        assert_eq!(
            parts("{{007}}"),
            (vec![("007", Kind::Positional(7), 0..7)], true)
        );
    }

    #[test]
    fn named_variables_are_lowercase_snake_case() {
        assert_eq!(
            parts("Hi {{first_name}} of {{team2}}"),
            (
                vec![
                    ("first_name", Kind::Named, 3..17),
                    ("team2", Kind::Named, 21..30)
                ],
                true
            )
        );
        for bad in ["{{First}}", "{{_x}}", "{{first-name}}", "{{2nd}}", "{{$x}}"] {
            assert_eq!(scan(bad).placeholders[0].kind, Kind::Malformed, "{bad}");
        }
    }

    #[test]
    fn spaces_around_a_variable_are_trimmed_but_spaces_inside_are_malformed() {
        assert_eq!(
            parts("{{ 1 }}"),
            (vec![("1", Kind::Positional(1), 0..7)], true)
        );
        assert_eq!(
            parts("{{ first name }}"),
            (vec![("first name", Kind::Malformed, 0..16)], true)
        );
    }

    #[test]
    fn an_empty_placeholder_or_a_number_too_big_is_malformed() {
        assert_eq!(parts("{{}}"), (vec![("", Kind::Malformed, 0..4)], true));
        assert_eq!(
            parts("{{99999999999}}"),
            (vec![("99999999999", Kind::Malformed, 0..15)], true)
        );
    }

    #[test]
    fn an_unclosed_placeholder_ends_the_scan_unbalanced() {
        assert_eq!(parts("Hi {{1"), (vec![], false));
        assert_eq!(
            parts("Hi {{1}} and {{2"),
            (vec![("1", Kind::Positional(1), 3..8)], false)
        );
        // The single brace does not close it: the next `}}` does.
        assert_eq!(
            parts("{{1} and {{2}}"),
            (vec![("1} and {{2", Kind::Malformed, 0..14)], true)
        );
    }

    #[test]
    fn a_closing_pair_without_an_opener_is_unbalanced_but_skipped() {
        assert_eq!(
            parts("a }} {{1}}"),
            (vec![("1", Kind::Positional(1), 5..10)], false)
        );
        assert_eq!(
            parts("{{1}} b }}"),
            (vec![("1", Kind::Positional(1), 0..5)], false)
        );
        assert_eq!(
            parts("{{1}} b }} {{2}}"),
            (
                vec![
                    ("1", Kind::Positional(1), 0..5),
                    ("2", Kind::Positional(2), 11..16)
                ],
                false
            )
        );
    }

    #[test]
    fn nested_braces_close_at_the_first_pair() {
        assert_eq!(
            parts("{{{{1}}}}"),
            (vec![("{{1", Kind::Malformed, 0..7)], false)
        );
        assert_eq!(
            parts("{{{1}}}"),
            (vec![("{1", Kind::Malformed, 0..6)], true)
        );
    }

    #[test]
    fn a_text_without_braces_has_no_placeholders() {
        assert_eq!(parts(""), (vec![], true));
        assert_eq!(parts("Hello { there }"), (vec![], true));
    }

    proptest! {
        /// Whatever the text, each placeholder is a `{{…}}` of it, in order and not overlapping,
        /// and its inner text is what stands between the braces.
        #[test]
        fn placeholders_are_the_braced_spans_of_the_text(
            text in prop::collection::vec(
                prop_oneof![
                    Just("{{".to_owned()),
                    Just("}}".to_owned()),
                    Just("{".to_owned()),
                    Just("}".to_owned()),
                    Just(" ".to_owned()),
                    "[0-9]{1,3}",
                    "[a-z_]{1,5}",
                    "[A-Zé€ -]{1,3}",
                ],
                0..12,
            )
            .prop_map(|p| p.concat())
        ) {
            let s = scan(&text);
            let mut end = 0;
            for p in &s.placeholders {
                prop_assert!(p.range.start >= end);
                let span = &text[p.range.clone()];
                prop_assert!(span.starts_with("{{") && span.ends_with("}}"));
                prop_assert_eq!(span[2..span.len() - 2].trim(), p.inner);
                prop_assert!(!span[2..span.len() - 2].contains("}}"));
                end = p.range.end;
            }
            if !text.contains("}}") {
                prop_assert!(s.placeholders.is_empty());
                prop_assert_eq!(s.balanced, !text.contains("{{"));
            }
        }
    }
}
