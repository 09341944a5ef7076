//! Reading the sources in order of precedence: a flag, then the environment, then the file, then
//! the row's default. Every key of the file a row takes is removed from it, so what is left at
//! the end is a key no row knows: a typo, reported with the others.

use super::settings::SETTINGS;
use super::table::Setting;
use super::value::{Raw, Value};
use super::{Config, ConfigError, ConfigProblem, Overrides, problem};

/// The file (what is left of it), the environment, and the problems found so far.
pub(super) struct Source<'a> {
    file: toml::Table,
    env: &'a dyn Fn(&str) -> Option<String>,
    pub(super) problems: Vec<ConfigProblem>,
}

impl Config {
    /// Loads from a file's text, an environment lookup and flags (tests pass their own `env`).
    pub fn from_sources(
        file_text: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let file = match file_text.map(toml::from_str::<toml::Table>) {
            None => toml::Table::new(),
            Some(Ok(f)) => f,
            Some(Err(e)) => {
                // toml names the line; nothing else can be checked from a file that does not parse.
                return Err(ConfigError(vec![ConfigProblem {
                    key: "config file".into(),
                    message: e.to_string().trim().replace('\n', " "),
                }]));
            }
        };
        let mut src = Source {
            file,
            env: &env,
            problems: Vec::new(),
        };
        let config = Config::read(&mut src, overrides);
        src.report_unknown_keys();
        if src.problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError(src.problems))
        }
    }
}

impl Source<'_> {
    /// One setting's value; a problem (and the default in its place) when it is invalid.
    pub(super) fn setting<T: Value>(
        &mut self,
        set: &Setting,
        flag: Option<&str>,
        check: Option<fn(T) -> Result<T, String>>,
    ) -> T {
        let from_file = self.take_file(set);
        let raw = flag
            .map(|f| Raw::Written(f.to_owned()))
            .or_else(|| self.env(set).map(Raw::Written))
            .or(from_file.map(Raw::File))
            .unwrap_or_else(|| Raw::Written(set.default.to_owned()));
        let parse = |raw| {
            let value = T::from_raw(raw, set.range)?;
            match check {
                Some(check) => check(value),
                None => Ok(value),
            }
        };
        parse(raw).unwrap_or_else(|message| {
            self.problems.push(problem(set.key, &message));
            parse(Raw::Written(set.default.to_owned()))
                .unwrap_or_else(|_| panic!("the default of {} is valid", set.key))
        })
    }

    /// The environment's value for a row; an empty variable counts as unset unless the row
    /// says empty means something.
    pub(super) fn env(&self, set: &Setting) -> Option<String> {
        set.env
            .and_then(|var| (self.env)(var))
            .filter(|v| set.keep_empty || !v.is_empty())
    }

    /// Removes and returns the file's value for a top-level or section row.
    fn take_file(&mut self, set: &Setting) -> Option<toml::Value> {
        match set.section() {
            None => self.file.remove(set.key),
            Some(section) => match self.file.get_mut(section) {
                Some(toml::Value::Table(t)) => t.remove(set.name()),
                _ => None,
            },
        }
    }

    /// Removes and returns the file's `[[numbers]]` tables, with the label each is reported by.
    pub(super) fn take_numbers(&mut self) -> Vec<(String, toml::Table)> {
        let Some(numbers) = self.file.remove("numbers") else {
            return vec![];
        };
        let toml::Value::Array(numbers) = numbers else {
            self.problems.push(problem(
                "numbers",
                "must be [[numbers]] tables, one per sending number",
            ));
            return vec![];
        };
        let mut tables = vec![];
        for (i, n) in numbers.into_iter().enumerate() {
            let label = format!("numbers[{i}]");
            match n {
                toml::Value::Table(t) => tables.push((label, t)),
                _ => self
                    .problems
                    .push(problem(&label, "must be a table of keys")),
            }
        }
        tables
    }

    /// Names every key of the file no row took.
    fn report_unknown_keys(&mut self) {
        for (key, value) in std::mem::take(&mut self.file) {
            let known_section = SETTINGS.iter().any(|s| s.section() == Some(key.as_str()));
            match value {
                toml::Value::Table(t) if known_section => {
                    for k in t.keys() {
                        self.problems
                            .push(unknown(&format!("{key}.{k}"), Some(key.as_str())));
                    }
                }
                _ if known_section => self.problems.push(problem(
                    &key,
                    &format!("must be a table: write [{key}] on a line of its own, then its keys"),
                )),
                _ => self.problems.push(unknown(&key, None)),
            }
        }
    }
}

/// A key no row of `section` (top level: none) knows, with the keys it could have meant.
pub(super) fn unknown(key: &str, section: Option<&str>) -> ConfigProblem {
    let known: Vec<&str> = SETTINGS
        .iter()
        .filter(|s| s.section() == section)
        .map(|s| s.name())
        .collect();
    problem(
        key,
        &format!(
            "is not a setting Switchboard knows (a typo?); the keys here are: {}",
            known.join(", ")
        ),
    )
}

/// The keys in a config file that hold secrets, as the table marks them.
pub(super) fn secrets_in(file: &toml::Table) -> Vec<&'static str> {
    SETTINGS
        .iter()
        .filter(|set| {
            tables_of(file, set)
                .iter()
                .filter_map(|t| t.get(set.name()))
                .any(|v| set.is_secret(v))
        })
        .map(|set| set.key)
        .collect()
}

/// The tables of a file a row's key can be in: the file itself, its section, or each number.
fn tables_of<'a>(file: &'a toml::Table, set: &Setting) -> Vec<&'a toml::Table> {
    match set.section() {
        None => vec![file],
        Some("numbers[]") => match file.get("numbers") {
            Some(toml::Value::Array(a)) => a.iter().filter_map(toml::Value::as_table).collect(),
            _ => vec![],
        },
        Some(section) => file
            .get(section)
            .and_then(toml::Value::as_table)
            .into_iter()
            .collect(),
    }
}
