//! Consent keywords: a customer who writes STOP (or UNSUBSCRIBE, PARAR, ARRÊT…) opts out of
//! business-initiated messages; START opts back in. Matching is on the whole message, ignoring
//! case, accents' absence, surrounding spaces and punctuation, so "Stop." and "stop" count and
//! "please don't stop" does not. The lists are configurable; these are the defaults.

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
