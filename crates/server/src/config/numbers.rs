//! `[[numbers]]`: the sending numbers. Their keys are rows of the table (documented, typed and
//! read like every other setting), but a number is validated here by hand: it repeats, some of
//! its keys are required, and the environment describes at most one number, which may complete a
//! file's number with the same id (so the file can hold everything but the secrets).

use std::collections::{BTreeMap, HashSet};

use secrecy::SecretString;
use switchboard_domain::E164;
use switchboard_domain::pricing::Micros;

use super::load::{Source, unknown};
use super::settings::{SETTINGS, rows::numbers as row};
use super::table::Setting;
use super::value::{Raw, Value};
use super::{ConfigProblem, problem};

/// One sending number.
#[derive(Debug, Clone)]
pub struct NumberConfig {
    pub phone_number_id: String,
    pub waba_id: String,
    pub display_number: Option<E164>,
    pub access_token: SecretString,
    pub app_secret: SecretString,
    pub app_id: Option<String>,
    pub throughput_mps: u32,
    /// Micro-units of the rate card's currency.
    pub monthly_budget_micros: Option<i64>,
}

/// A number's values by key, before validation.
type RawNumber = BTreeMap<&'static str, Raw>;

/// The keys that, given in the environment, mean it describes a number.
const REQUIRED: [&Setting; 4] = [
    &row::phone_number_id,
    &row::waba_id,
    &row::access_token,
    &row::app_secret,
];

fn number_rows() -> impl Iterator<Item = &'static Setting> {
    SETTINGS.iter().filter(|s| s.section() == Some("numbers[]"))
}

/// The numbers of the file, then the one the environment describes (which overrides a file
/// number with the same id key by key).
pub(super) fn read(src: &mut Source<'_>) -> Vec<NumberConfig> {
    let mut raw_numbers: Vec<(String, RawNumber)> = vec![];
    for (label, table) in src.take_numbers() {
        let mut raw = RawNumber::new();
        for (key, value) in table {
            match number_rows().find(|s| s.name() == key) {
                Some(set) => {
                    raw.insert(set.name(), Raw::File(value));
                }
                None => src
                    .problems
                    .push(unknown(&format!("{label}.{key}"), Some("numbers[]"))),
            }
        }
        raw_numbers.push((label, raw));
    }
    let from_env: RawNumber = number_rows()
        .filter_map(|set| src.env(set).map(|v| (set.name(), Raw::Written(v))))
        .collect();
    if REQUIRED.iter().any(|set| from_env.contains_key(set.name())) {
        let env_id = id_of(&from_env).map(str::to_owned);
        match raw_numbers
            .iter_mut()
            .find(|(_, n)| env_id.is_some() && id_of(n) == env_id.as_deref())
        {
            Some((_, n)) => n.extend(from_env),
            None => raw_numbers.push((
                format!(
                    "{} (environment)",
                    row::phone_number_id.env.unwrap_or_default()
                ),
                from_env,
            )),
        }
    }
    let mut numbers = Vec::new();
    let mut seen = HashSet::new();
    for (label, raw) in raw_numbers {
        let mut fields = Fields {
            label: &label,
            raw,
            problems: &mut src.problems,
        };
        if let Some(n) = fields.number() {
            if !seen.insert(n.phone_number_id.clone()) {
                src.problems.push(problem(
                    &format!("{label}.phone_number_id"),
                    "is configured twice; each number appears once",
                ));
            }
            numbers.push(n);
        }
    }
    numbers
}

fn id_of(n: &RawNumber) -> Option<&str> {
    n.get(row::phone_number_id.name()).and_then(Raw::as_text)
}

/// One number's values being validated; each problem is named `numbers[i].key`.
struct Fields<'a> {
    label: &'a str,
    raw: RawNumber,
    problems: &'a mut Vec<ConfigProblem>,
}

impl Fields<'_> {
    fn number(&mut self) -> Option<NumberConfig> {
        let before = self.problems.len();
        let phone_number_id = self.id(&row::phone_number_id);
        let waba_id = self.id(&row::waba_id);
        let access_token = self.secret(&row::access_token);
        let app_secret = self.secret(&row::app_secret);
        let display_number = self.get::<Option<E164>>(&row::display_number).flatten();
        let app_id = self.get::<Option<String>>(&row::app_id).flatten();
        let throughput_mps = self.get::<u32>(&row::throughput_mps);
        let budget = self.get::<Option<Micros>>(&row::monthly_budget).flatten();
        if self.problems.len() != before {
            return None;
        }
        Some(NumberConfig {
            phone_number_id: phone_number_id?,
            waba_id: waba_id?,
            display_number,
            access_token: access_token?,
            app_secret: app_secret?,
            app_id,
            throughput_mps: throughput_mps?,
            monthly_budget_micros: budget.map(|m| m.0),
        })
    }

    fn report(&mut self, set: &Setting, message: &str) {
        self.problems
            .push(problem(&format!("{}.{}", self.label, set.name()), message));
    }

    /// The value given (or the row's default, if it has one); `None` and a problem if invalid.
    fn get<T: Value>(&mut self, set: &Setting) -> Option<T> {
        let raw = self
            .raw
            .remove(set.name())
            .or_else(|| (!set.default.is_empty()).then(|| Raw::Written(set.default.to_owned())))?;
        T::from_raw(raw, set.range)
            .map_err(|message| self.report(set, &message))
            .ok()
    }

    /// A required id of Meta's: digits only.
    fn id(&mut self, set: &Setting) -> Option<String> {
        if !self.raw.contains_key(set.name()) {
            self.report(
                set,
                "is required; copy it from WhatsApp Manager or the App Dashboard",
            );
            return None;
        }
        let id = self.get::<String>(set)?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            self.report(
                set,
                &format!("{id:?} must be the numeric id Meta shows (digits only)"),
            );
            return None;
        }
        Some(id)
    }

    /// A required secret.
    fn secret(&mut self, set: &Setting) -> Option<SecretString> {
        let before = self.problems.len();
        let secret = self.get::<Option<SecretString>>(set).flatten();
        if secret.is_none() && self.problems.len() == before {
            self.report(
                set,
                "is required (a secret; prefer the environment variable over the file)",
            );
        }
        secret
    }
}

impl NumberConfig {
    /// Each key with its value as `config check` shows it (secrets as `***`).
    pub(super) fn shown(&self) -> Vec<(&'static Setting, toml::Value)> {
        vec![
            (&row::phone_number_id, self.phone_number_id.shown()),
            (&row::waba_id, self.waba_id.shown()),
            (&row::display_number, self.display_number.shown()),
            (&row::access_token, self.access_token.shown()),
            (&row::app_secret, self.app_secret.shown()),
            (&row::app_id, self.app_id.shown()),
            (&row::throughput_mps, self.throughput_mps.shown()),
            (
                &row::monthly_budget,
                self.monthly_budget_micros.map(Micros).shown(),
            ),
        ]
    }
}
