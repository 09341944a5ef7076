//! Consent: what a customer agreed to, and the words they use to change it.
//!
//! [`Consent::from_records`] is the one rule for "which record wins" (the latest per purpose;
//! Meta's marketing `stop`/`resume` counts as a marketing record at its time), and
//! [`Consent::blocks`] the one rule for what consent forbids (nothing business-initiated after
//! an opt-out; no marketing without an opt-in). The send policy applies them when a message is
//! asked for, and the outbox again when it is about to go, so a STOP in between is obeyed.
//!
//! Keywords: a customer who writes STOP (or UNSUBSCRIBE, PARAR, ARRÊT…) opts out of
//! business-initiated messages; START opts back in. Matching is on the whole message, ignoring
//! case, accents' absence, surrounding spaces and punctuation, so "Stop." and "stop" count and
//! "please don't stop" does not. The lists are configurable; these are the defaults.

/// What a consent record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Every business-initiated message.
    All,
    /// Marketing templates.
    Marketing,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::All => "all",
            Purpose::Marketing => "marketing",
        }
    }
    pub fn parse(s: &str) -> Option<Purpose> {
        match s {
            "all" => Some(Purpose::All),
            "marketing" => Some(Purpose::Marketing),
            _ => None,
        }
    }
}

/// One of our consent records (an import, a keyword, an agent, the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentRecord {
    pub purpose: Purpose,
    pub opt_in: bool,
    pub at_ms: i64,
}

/// Meta's marketing preference for a customer on a number (the `user_preferences` webhook).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaPreference {
    /// `resume`; anything else Meta sends (`stop`) is read as a stop.
    pub resume: bool,
    pub at_ms: i64,
}

impl MetaPreference {
    pub fn parse(value: &str, at_ms: i64) -> MetaPreference {
        MetaPreference {
            resume: value.eq_ignore_ascii_case("resume"),
            at_ms,
        }
    }
}

/// What a business-initiated message may need from the customer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Consent {
    /// The customer opted out (STOP, an agent, an import): nothing business-initiated.
    pub opted_out: bool,
    /// A recorded opt-in for marketing, not overruled by a later stop (ours or Meta's).
    pub marketing_opt_in: bool,
}

/// What consent forbids for a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    /// The customer opted out of everything business-initiated.
    OptedOut,
    /// A marketing message without a standing marketing opt-in.
    NoMarketingConsent,
}

impl Consent {
    /// The customer's consent from our records (any order) and Meta's latest preference: per
    /// purpose the latest record decides; between our marketing record and Meta's, the later.
    /// On equal times our record wins over Meta's, and of two of ours the one given later in
    /// `records` (newest first, as stored) loses.
    pub fn from_records(records: &[ConsentRecord], meta: Option<MetaPreference>) -> Consent {
        let latest = |purpose: Purpose| {
            records
                .iter()
                .filter(|r| r.purpose == purpose)
                .fold(None::<&ConsentRecord>, |best, r| match best {
                    Some(b) if b.at_ms >= r.at_ms => Some(b),
                    _ => Some(r),
                })
                .map(|r| (r.opt_in, r.at_ms))
        };
        let opted_out = latest(Purpose::All).is_some_and(|(opt_in, _)| !opt_in);
        let ours = latest(Purpose::Marketing);
        let theirs = meta.map(|m| (m.resume, m.at_ms));
        let marketing = match (ours, theirs) {
            (Some(a), Some(b)) => Some(if b.1 > a.1 { b.0 } else { a.0 }),
            (a, b) => a.or(b).map(|x| x.0),
        };
        Consent {
            opted_out,
            marketing_opt_in: marketing.unwrap_or(false) && !opted_out,
        }
    }

    /// What this consent forbids for a message that is business-initiated (outside the window,
    /// or marketing) and/or marketing; `None` when it may go.
    pub fn blocks(&self, business_initiated: bool, marketing: bool) -> Option<Block> {
        if self.opted_out && (business_initiated || marketing) {
            Some(Block::OptedOut)
        } else if marketing && !self.marketing_opt_in {
            Some(Block::NoMarketingConsent)
        } else {
            None
        }
    }
}

/// Opt-out words in common languages.
pub const DEFAULT_OPT_OUT: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "OPT OUT",
    "PARAR",
    "PARE",
    "BAJA",
    "CANCELAR",
    "ARRÊT",
    "ARRET",
    "DÉSABONNER",
    "DESABONNER",
    "STOPP",
    "ABMELDEN",
    "ANNULLA",
    "DISISCRIVITI",
    "SAIR",
    "BERHENTI",
    "停止",
    "退订",
];

/// Opt-in (resume) words.
pub const DEFAULT_OPT_IN: &[&str] = &[
    "START",
    "UNSTOP",
    "SUBSCRIBE",
    "RESUME",
    "OPTIN",
    "OPT IN",
    "ALTA",
    "COMENZAR",
    "DEMARRER",
    "DÉMARRER",
    "ANMELDEN",
    "INICIAR",
    "MULAI",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeywordAction {
    OptOut,
    OptIn,
}

/// The keyword lists in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keywords {
    opt_out: Vec<String>,
    opt_in: Vec<String>,
}

fn normalise(s: &str) -> String {
    s.trim()
        .trim_matches(|c: char| !c.is_alphanumeric())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

impl Keywords {
    pub fn new<S: AsRef<str>>(opt_out: &[S], opt_in: &[S]) -> Self {
        let norm = |l: &[S]| {
            l.iter()
                .map(|k| normalise(k.as_ref()))
                .filter(|k| !k.is_empty())
                .collect()
        };
        Keywords {
            opt_out: norm(opt_out),
            opt_in: norm(opt_in),
        }
    }

    /// What a customer's message asks for, and the keyword it matched.
    pub fn classify(&self, text: &str) -> Option<(KeywordAction, String)> {
        let t = normalise(text);
        if self.opt_out.contains(&t) {
            Some((KeywordAction::OptOut, t))
        } else if self.opt_in.contains(&t) {
            Some((KeywordAction::OptIn, t))
        } else {
            None
        }
    }
}

impl Default for Keywords {
    fn default() -> Self {
        Keywords::new(DEFAULT_OPT_OUT, DEFAULT_OPT_IN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(purpose: Purpose, opt_in: bool, at_ms: i64) -> ConsentRecord {
        ConsentRecord {
            purpose,
            opt_in,
            at_ms,
        }
    }

    #[test]
    fn the_latest_record_per_purpose_decides() {
        let none = Consent::from_records(&[], None);
        assert!(!none.opted_out && !none.marketing_opt_in);
        let opted_in = Consent::from_records(&[rec(Purpose::Marketing, true, 10)], None);
        assert!(opted_in.marketing_opt_in);
        // Order does not matter: the later record wins.
        let later_out = [
            rec(Purpose::Marketing, true, 10),
            rec(Purpose::Marketing, false, 20),
        ];
        assert!(!Consent::from_records(&later_out, None).marketing_opt_in);
        let mut reversed = later_out;
        reversed.reverse();
        assert!(!Consent::from_records(&reversed, None).marketing_opt_in);
        // Meta's later "stop" beats our earlier opt-in; our later opt-in beats an older stop.
        let stop = |at| Some(MetaPreference::parse("stop", at));
        assert!(
            !Consent::from_records(&[rec(Purpose::Marketing, true, 10)], stop(20)).marketing_opt_in
        );
        assert!(
            Consent::from_records(&[rec(Purpose::Marketing, true, 30)], stop(20)).marketing_opt_in
        );
        assert!(
            Consent::from_records(&[], Some(MetaPreference::parse("RESUME", 5))).marketing_opt_in
        );
        // Opting out of everything also ends a marketing opt-in.
        let out = Consent::from_records(
            &[
                rec(Purpose::All, false, 40),
                rec(Purpose::Marketing, true, 30),
            ],
            None,
        );
        assert!(out.opted_out && !out.marketing_opt_in);
        // ... until the customer opts back in.
        let back = Consent::from_records(
            &[rec(Purpose::All, true, 50), rec(Purpose::All, false, 40)],
            None,
        );
        assert!(!back.opted_out);
    }

    #[test]
    fn what_consent_blocks() {
        let out = Consent {
            opted_out: true,
            marketing_opt_in: false,
        };
        assert_eq!(out.blocks(true, false), Some(Block::OptedOut));
        // A marketing template inside the window is still business-initiated for consent.
        assert_eq!(out.blocks(false, true), Some(Block::OptedOut));
        // A reply inside the window is not.
        assert_eq!(out.blocks(false, false), None);
        let no_marketing = Consent::default();
        assert_eq!(no_marketing.blocks(true, false), None);
        assert_eq!(
            no_marketing.blocks(true, true),
            Some(Block::NoMarketingConsent)
        );
        let marketing = Consent {
            opted_out: false,
            marketing_opt_in: true,
        };
        assert_eq!(marketing.blocks(true, true), None);
    }

    #[test]
    fn whole_message_keywords_in_several_languages() {
        let k = Keywords::default();
        for t in [
            "STOP",
            "stop",
            " Stop. ",
            "Unsubscribe!",
            "parar",
            "Arrêt",
            "opt out",
            "退订",
        ] {
            assert_eq!(
                k.classify(t).map(|x| x.0),
                Some(KeywordAction::OptOut),
                "{t:?}"
            );
        }
        for t in ["START", "start!", "Resume"] {
            assert_eq!(
                k.classify(t).map(|x| x.0),
                Some(KeywordAction::OptIn),
                "{t:?}"
            );
        }
        for t in ["please don't stop", "stopped", "", "when does it start?"] {
            assert_eq!(k.classify(t), None, "{t:?}");
        }
    }

    #[test]
    fn lists_are_configurable() {
        let k = Keywords::new(&["halt"], &["go"]);
        assert_eq!(k.classify("HALT").map(|x| x.0), Some(KeywordAction::OptOut));
        assert_eq!(k.classify("stop"), None);
    }
}
