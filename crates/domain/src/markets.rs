//! Which of Meta's pricing markets a recipient is in: the longest calling-code prefix of a
//! phone number (`data/markets.csv`), or a BSUID's country.

use crate::csv::{Header, parse};

const MARKETS: &str = include_str!("../data/markets.csv");

/// Meta's market mapping: longest calling-code prefix wins; unlisted countries are "Other".
#[derive(Debug, Clone)]
pub struct Markets {
    by_prefix: Vec<(String, String)>,
}

impl Default for Markets {
    fn default() -> Self {
        Markets::from_csv(MARKETS).expect("the shipped market table parses")
    }
}

/// ISO country codes (as in BSUID prefixes) of the markets Meta prices on their own or by
/// region, to calling codes. Countries not listed resolve to "Other".
const ISO_CALLING: &[(&str, &str)] = &[
    ("US", "1"),
    ("CA", "1"),
    ("AR", "54"),
    ("BR", "55"),
    ("CL", "56"),
    ("CO", "57"),
    ("EG", "20"),
    ("FR", "33"),
    ("DE", "49"),
    ("IN", "91"),
    ("ID", "62"),
    ("IL", "972"),
    ("IT", "39"),
    ("MY", "60"),
    ("MX", "52"),
    ("NL", "31"),
    ("NG", "234"),
    ("PK", "92"),
    ("PE", "51"),
    ("RU", "7"),
    ("SA", "966"),
    ("ZA", "27"),
    ("ES", "34"),
    ("TR", "90"),
    ("AE", "971"),
    ("GB", "44"),
    ("AT", "43"),
    ("BE", "32"),
    ("DK", "45"),
    ("FI", "358"),
    ("IE", "353"),
    ("NO", "47"),
    ("PT", "351"),
    ("SE", "46"),
    ("CH", "41"),
    ("AU", "61"),
    ("CN", "86"),
    ("HK", "852"),
    ("JP", "81"),
    ("NZ", "64"),
    ("PH", "63"),
    ("SG", "65"),
    ("TW", "886"),
    ("TH", "66"),
    ("VN", "84"),
    ("BD", "880"),
    ("LK", "94"),
    ("NP", "977"),
    ("PL", "48"),
    ("RO", "40"),
    ("HU", "36"),
    ("CZ", "420"),
    ("GR", "30"),
    ("UA", "380"),
    ("KE", "254"),
    ("GH", "233"),
    ("MA", "212"),
    ("TZ", "255"),
    ("UG", "256"),
    ("EC", "593"),
    ("GT", "502"),
    ("UY", "598"),
    ("VE", "58"),
    ("BO", "591"),
    ("KW", "965"),
    ("QA", "974"),
    ("OM", "968"),
    ("JO", "962"),
    ("LB", "961"),
    ("BH", "973"),
    ("IQ", "964"),
];

impl Markets {
    pub fn from_csv(text: &str) -> Result<Markets, String> {
        let rows = parse(text)?;
        let (head, lines) = rows.split_first().ok_or("the market table is empty")?;
        let h = Header::new(head);
        let mut by_prefix: Vec<(String, String)> = lines
            .iter()
            .filter_map(|r| {
                Some((
                    h.get(r, "prefix")?.to_owned(),
                    h.get(r, "market")?.to_owned(),
                ))
            })
            .collect();
        by_prefix.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        Ok(Markets { by_prefix })
    }

    /// The market of a phone number (digits, with or without `+`).
    pub fn of_phone(&self, phone: &str) -> &str {
        let digits = phone.trim_start_matches('+');
        self.by_prefix
            .iter()
            .find(|(p, _)| digits.starts_with(p.as_str()))
            .map_or("Other", |(_, m)| m.as_str())
    }

    /// The market of a BSUID, from its country prefix (`US.1349…`).
    pub fn of_bsuid(&self, bsuid: &str) -> &str {
        let country = bsuid.split('.').next().unwrap_or("").to_ascii_uppercase();
        match ISO_CALLING.iter().find(|(c, _)| *c == country) {
            Some((_, code)) => self.of_phone(code),
            None => "Other",
        }
    }

    /// The market of an ISO country code, a calling code or a market name (forecast input);
    /// `None` for anything else.
    pub fn of_country(&self, country: &str) -> Option<String> {
        let c = country.trim();
        if let Some((_, code)) = ISO_CALLING
            .iter()
            .find(|(iso, _)| iso.eq_ignore_ascii_case(c))
        {
            return Some(self.of_phone(code).to_owned());
        }
        if c.eq_ignore_ascii_case("other") {
            return Some("Other".into());
        }
        // A calling code (`91`, `+91`).
        let digits = c.trim_start_matches('+');
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return Some(self.of_phone(digits).to_owned());
        }
        if let Some((_, m)) = self
            .by_prefix
            .iter()
            .find(|(_, m)| m.eq_ignore_ascii_case(c))
        {
            return Some(m.clone());
        }
        // Any other ISO country code: Meta prices countries it does not list as "Other".
        (c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic())).then(|| "Other".to_owned())
    }
}
