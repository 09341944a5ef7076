//! Customer identities: a phone number in E.164 and, since 2026, Meta's business-scoped user id
//! (BSUID, `CC.digits` or parent `CC.ENT.digits`). Both are parsed once at the edge.
//!
//! E.164 here is structural (a `+`, a non-zero first digit, 8 to 15 digits in all): Meta itself
//! normalises numbers and answers 131026 for ones that are not on WhatsApp, so rejecting more at
//! our edge would only refuse numbers Meta accepts.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "{0:?} is not a phone number in international form: write + then country code and number, e.g. +16505551234"
    )]
    Phone(String),
    #[error("{0:?} is not a business-scoped user id: it looks like US.13491208655302741918")]
    Bsuid(String),
}

/// A phone number in E.164 form: `+` and 8–15 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct E164(String);

impl E164 {
    /// Accepts the forms people type (`+1 (650) 555-1234`, `+1-650-555-1234`) and normalises them.
    pub fn parse(input: &str) -> Result<Self, IdentityError> {
        let err = || IdentityError::Phone(input.to_owned());
        let rest = input.trim().strip_prefix('+').ok_or_else(err)?;
        let mut digits = String::with_capacity(16);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '(' | ')' | '.' => {}
                _ => return Err(err()),
            }
        }
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(err());
        }
        Ok(E164(format!("+{digits}")))
    }

    /// From Meta's `wa_id` (digits without `+`).
    pub fn from_wa_id(wa_id: &str) -> Result<Self, IdentityError> {
        if wa_id.bytes().all(|b| b.is_ascii_digit()) {
            Self::parse(&format!("+{wa_id}"))
        } else {
            Err(IdentityError::Phone(wa_id.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Meta's `wa_id` form: the digits without `+`.
    pub fn wa_id(&self) -> &str {
        &self.0[1..]
    }

    /// For logs at info level: country code and the last two digits only (`+1•••••••34`).
    pub fn masked(&self) -> String {
        let d = self.wa_id();
        let keep_front = d.len().min(2);
        let keep_back = 2.min(d.len() - keep_front);
        format!(
            "+{}{}{}",
            &d[..keep_front],
            "•".repeat(d.len() - keep_front - keep_back),
            &d[d.len() - keep_back..]
        )
    }
}

impl TryFrom<String> for E164 {
    type Error = IdentityError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        E164::parse(&s)
    }
}
impl From<E164> for String {
    fn from(e: E164) -> Self {
        e.0
    }
}
impl std::fmt::Display for E164 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A business-scoped user id: `<ISO country>.<1–128 alphanumerics>`, or a parent BSUID
/// `<ISO country>.ENT.<alphanumerics>`. Used exactly as Meta wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Bsuid(String);

impl Bsuid {
    pub fn parse(input: &str) -> Result<Self, IdentityError> {
        let err = || IdentityError::Bsuid(input.to_owned());
        let (cc, rest) = input.split_once('.').ok_or_else(err)?;
        if cc.len() != 2 || !cc.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(err());
        }
        let id = rest.strip_prefix("ENT.").unwrap_or(rest);
        if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(err());
        }
        Ok(Bsuid(input.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The ISO 3166 alpha-2 country the BSUID was issued under.
    pub fn country(&self) -> &str {
        &self.0[..2]
    }
    pub fn is_parent(&self) -> bool {
        self.0[3..].starts_with("ENT.")
    }
}

impl TryFrom<String> for Bsuid {
    type Error = IdentityError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Bsuid::parse(&s)
    }
}
impl From<Bsuid> for String {
    fn from(b: Bsuid) -> Self {
        b.0
    }
}
impl std::fmt::Display for Bsuid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phones_people_type_are_normalised() {
        assert_eq!(
            E164::parse("+1 (650) 555-1234").unwrap().as_str(),
            "+16505551234"
        );
        assert_eq!(
            E164::parse("+49 151 2345 6789").unwrap().wa_id(),
            "4915123456789"
        );
        assert_eq!(
            E164::from_wa_id("16505551234").unwrap().as_str(),
            "+16505551234"
        );
        for bad in [
            "16505551234",
            "+0123456789",
            "+1",
            "+1650555123456789",
            "+1 650 CALL NOW",
            "",
            "+",
        ] {
            assert!(E164::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn masking_hides_the_subscriber_number() {
        let m = E164::parse("+16505551234").unwrap().masked();
        assert!(
            m.starts_with("+16") && m.ends_with("34") && !m.contains("555"),
            "{m}"
        );
    }

    #[test]
    fn bsuids() {
        let b = Bsuid::parse("US.13491208655302741918").unwrap();
        assert_eq!(b.country(), "US");
        assert!(!b.is_parent());
        assert!(
            Bsuid::parse("US.ENT.11815799212886844830")
                .unwrap()
                .is_parent()
        );
        for bad in [
            "13491208655302741918",
            "us.123",
            "USA.123",
            "US.",
            "US.12-3",
            "US.ENT.",
        ] {
            assert!(Bsuid::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn e164_parse_format_round_trip(cc in 1u32..999, rest in "[0-9]{7,11}") {
            let s = format!("+{cc}{rest}");
            if let Ok(p) = E164::parse(&s) {
                prop_assert_eq!(E164::parse(p.as_str()).unwrap(), p.clone());
                prop_assert_eq!(E164::from_wa_id(p.wa_id()).unwrap(), p);
            }
        }

        #[test]
        fn parsers_never_panic(s in ".*") {
            let _ = E164::parse(&s);
            let _ = Bsuid::parse(&s);
            if let Ok(p) = E164::parse(&s) { let _ = p.masked(); }
        }
    }
}
