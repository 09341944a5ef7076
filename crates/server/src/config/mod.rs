//! Configuration: defaults, then a TOML file, then the environment, then command-line flags.
//!
//! Reading order: `settings.rs` is the table, one row per setting (key, type, default,
//! environment variable, bounds, meaning); `table.rs` is the macro that turns the rows into
//! `Config`'s fields, the loading code and [`SETTINGS`]; `value.rs` says how each type is read,
//! shown and kept secret; `load.rs` applies the precedence; `numbers.rs` validates the repeated
//! `[[numbers]]`; `docs.rs` writes `docs/configuration.md` and the example file from the table.
//! Adding a setting is adding a row, and nothing can forget it.
//!
//! Loading never stops at the first problem: every bad key (unknown keys and wrong types in the
//! file included) is collected and reported together, each naming the key and saying how to fix
//! it. Secrets (access tokens, app secrets, the verify token, the database password) are
//! `SecretString`s or redacted in `Debug`, so a config dump in a log shows none of them.

mod docs;
mod load;
mod numbers;
mod settings;
mod table;
mod value;

use std::collections::HashSet;
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

pub use docs::{example_toml, reference_markdown};
pub use numbers::NumberConfig;
pub use settings::{
    Config, ConsentConfig, DevConfig, GraphConfig, HttpConfig, LogConfig, MediaConfig,
    OutboundConfig, SETTINGS, WebhookConfig, rows,
};
pub use table::Setting;
pub use value::{DatabaseUrl, LogFormat};

/// One problem with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub key: String,
    pub message: String,
}

/// Everything wrong with a configuration, reported at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render_problems(.0))]
pub struct ConfigError(pub Vec<ConfigProblem>);

fn render_problems(problems: &[ConfigProblem]) -> String {
    let mut s = format!("the configuration has {} problem(s):", problems.len());
    for p in problems {
        s.push_str(&format!("\n  - {}: {}", p.key, p.message));
    }
    s
}

fn problem(key: &str, message: &str) -> ConfigProblem {
    ConfigProblem {
        key: key.to_owned(),
        message: message.to_owned(),
    }
}

/// Command-line overrides, applied last (the rows with a `flag` read them).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub metrics_listen: Option<String>,
}

impl Config {
    /// Loads from an optional file, the process environment, and flags.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let text = match file {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                ConfigError(vec![ConfigProblem {
                    key: path.display().to_string(),
                    message: format!("cannot read the file: {e}"),
                }])
            })?),
            None => None,
        };
        Config::from_sources(text.as_deref(), |k| std::env::var(k).ok(), overrides)
    }

    /// The distinct app secrets webhooks may be signed with, with the app id each belongs to
    /// (none for a previous secret kept during a rotation).
    pub fn app_secrets(&self) -> Vec<(Option<String>, SecretString)> {
        let mut seen = HashSet::new();
        self.numbers
            .iter()
            .map(|n| (n.app_id.clone(), n.app_secret.clone()))
            .chain(
                self.webhook
                    .previous_app_secrets
                    .iter()
                    .map(|s| (None, s.clone())),
            )
            .filter(|(_, s)| seen.insert(s.expose_secret().to_owned()))
            .collect()
    }

    /// Why the config file at `path` should not be readable by other users, if it is: it
    /// holds a secret (a token, an app secret, a database password) and its mode lets the
    /// group or everyone read it. Said as a sentence for the start-up warning.
    pub fn exposed_secrets(path: &Path) -> Option<String> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
            if mode & 0o044 == 0 {
                return None;
            }
            let file: toml::Table = toml::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
            let secrets = load::secrets_in(&file);
            if secrets.is_empty() {
                return None;
            }
            Some(format!(
                "{} holds secrets ({}) and other users can read it (mode {mode:o}); run chmod 600 on it",
                path.display(),
                secrets.join(", ")
            ))
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            None
        }
    }

    /// The configuration as TOML with every secret replaced by `***`, for `config check`.
    pub fn redacted_toml(&self) -> String {
        let mut out = String::new();
        let mut section = None;
        for (set, value) in self.shown() {
            if set.section() != section {
                section = set.section();
                out.push_str(&format!("\n[{}]\n", section.unwrap_or_default()));
            }
            out.push_str(&format!("{} = {value}\n", set.name()));
        }
        for n in &self.numbers {
            out.push_str("\n[[numbers]]\n");
            for (set, value) in n.shown() {
                out.push_str(&format!("{} = {value}\n", set.name()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
