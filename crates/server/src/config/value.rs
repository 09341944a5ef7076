//! The types a setting can have, and for each how it is read (from the environment's text or
//! the file's TOML), shown in `config check`, written in the example file, and whether it is a
//! secret. A row's type is all the loader needs to know about it.

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use switchboard_domain::E164;
use switchboard_domain::pricing::Micros;

/// A setting's value before it is parsed.
pub(super) enum Raw {
    /// Text from the environment, a flag or the default.
    Written(String),
    /// A value from the file, already typed by TOML.
    File(toml::Value),
}

impl Raw {
    /// The text of a value given as text (to compare a number's id across sources).
    pub(super) fn as_text(&self) -> Option<&str> {
        match self {
            Raw::Written(s) | Raw::File(toml::Value::String(s)) => Some(s),
            Raw::File(_) => None,
        }
    }
}

pub(super) trait Value: Sized {
    /// Whether `range` applies (checked when the table is compiled).
    const INTEGER: bool = false;

    /// Parses a value, with a message naming what was wrong when it cannot.
    fn from_raw(raw: Raw, range: Option<(i64, i64)>) -> Result<Self, String>;

    /// The value as `config check` prints it, secrets as `***`.
    fn shown(&self) -> toml::Value;

    /// The example file's value for a default.
    fn example(default: &str) -> String {
        format!("{default:?}")
    }

    /// Whether the file holding `value` for this setting holds a secret.
    fn holds_secret(_value: &toml::Value) -> bool {
        false
    }

    /// The value that means "not set" when wrapped in an `Option` (0, empty text).
    fn is_unset(&self) -> bool {
        false
    }

    /// How `config check` shows `None`.
    fn shown_unset() -> toml::Value {
        toml::Value::String(String::new())
    }
}

fn found(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "text",
        toml::Value::Integer(_) => "a whole number",
        toml::Value::Float(_) => "a decimal number",
        toml::Value::Boolean(_) => "true or false",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "a list",
        toml::Value::Table(_) => "a table",
    }
}

fn text(raw: Raw) -> Result<String, String> {
    match raw {
        Raw::Written(s) | Raw::File(toml::Value::String(s)) => Ok(s),
        Raw::File(v) => Err(format!("must be text in quotes, not {}", found(&v))),
    }
}

impl Value for String {
    fn from_raw(raw: Raw, _: Option<(i64, i64)>) -> Result<Self, String> {
        text(raw)
    }
    fn shown(&self) -> toml::Value {
        toml::Value::String(self.clone())
    }
    fn is_unset(&self) -> bool {
        self.trim().is_empty()
    }
}

impl Value for PathBuf {
    fn from_raw(raw: Raw, _: Option<(i64, i64)>) -> Result<Self, String> {
        text(raw).map(PathBuf::from)
    }
    fn shown(&self) -> toml::Value {
        toml::Value::String(self.display().to_string())
    }
}

impl Value for SecretString {
    fn from_raw(raw: Raw, _: Option<(i64, i64)>) -> Result<Self, String> {
        text(raw).map(SecretString::from)
    }
    fn shown(&self) -> toml::Value {
        toml::Value::String("***".into())
    }
    fn holds_secret(_: &toml::Value) -> bool {
        true
    }
    fn is_unset(&self) -> bool {
        self.expose_secret().trim().is_empty()
    }
}

impl Value for bool {
    fn from_raw(raw: Raw, _: Option<(i64, i64)>) -> Result<Self, String> {
        match raw {
            Raw::File(toml::Value::Boolean(b)) => Ok(b),
            Raw::File(v) => Err(format!("must be true or false, not {}", found(&v))),
            Raw::Written(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" | "" => Ok(false),
                _ => Err(format!("{s:?} is not true or false")),
            },
        }
    }
    fn shown(&self) -> toml::Value {
        toml::Value::Boolean(*self)
    }
    fn example(default: &str) -> String {
        default.to_owned()
    }
}

macro_rules! integer {
    ($($t:ty),*) => {$(
        impl Value for $t {
            const INTEGER: bool = true;
            fn from_raw(raw: Raw, range: Option<(i64, i64)>) -> Result<Self, String> {
                let value = match raw {
                    Raw::File(toml::Value::Integer(i)) => i,
                    Raw::File(v) => return Err(format!("must be a whole number, not {}", found(&v))),
                    Raw::Written(s) => s
                        .trim()
                        .parse::<i64>()
                        .map_err(|_| format!("{s:?} is not a whole number"))?,
                };
                let (min, max) = range.unwrap_or((0, i64::try_from(<$t>::MAX).unwrap_or(i64::MAX)));
                if !(min..=max).contains(&value) {
                    return Err(format!("is {value}; it must be between {min} and {max}"));
                }
                <$t>::try_from(value).map_err(|_| format!("is {value}; it must be at least 0"))
            }
            fn shown(&self) -> toml::Value {
                toml::Value::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
            }
            fn example(default: &str) -> String {
                default.to_owned()
            }
            fn is_unset(&self) -> bool {
                *self == 0
            }
            fn shown_unset() -> toml::Value {
                toml::Value::Integer(0)
            }
        }
    )*};
}
integer!(u32, u64, usize);

/// A list: comma separated in the environment, a TOML list in the file. Empty items are dropped.
impl Value for Vec<String> {
    fn from_raw(raw: Raw, _: Option<(i64, i64)>) -> Result<Self, String> {
        let items = match raw {
            Raw::Written(s) => s.split(',').map(|w| w.trim().to_owned()).collect(),
            Raw::File(toml::Value::Array(items)) => items
                .into_iter()
                .map(|v| text(Raw::File(v)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| "must be a list of texts in quotes, e.g. [\"a\", \"b\"]".to_owned())?,
            Raw::File(v) => {
                return Err(format!(
                    "must be a list like [\"a\", \"b\"], not {}",
                    found(&v)
                ));
            }
        };
        Ok(items.into_iter().filter(|w| !w.is_empty()).collect())
    }
    fn shown(&self) -> toml::Value {
        toml::Value::Array(
            self.iter()
                .map(|s| toml::Value::String(s.clone()))
                .collect(),
        )
    }
    fn example(default: &str) -> String {
        let items: Vec<String> = default
            .split(',')
            .filter(|w| !w.is_empty())
            .map(|w| format!("{w:?}"))
            .collect();
        format!("[{}]", items.join(", "))
    }
}

impl Value for Vec<SecretString> {
    fn from_raw(raw: Raw, range: Option<(i64, i64)>) -> Result<Self, String> {
        Vec::<String>::from_raw(raw, range).map(|v| v.into_iter().map(SecretString::from).collect())
    }
    fn shown(&self) -> toml::Value {
        toml::Value::Array(vec![toml::Value::String("***".into()); self.len()])
    }
    fn example(default: &str) -> String {
        Vec::<String>::example(default)
    }
    fn holds_secret(_: &toml::Value) -> bool {
        true
    }
}

/// Optional: empty text, or the inner type's "unset" value (0 for a limit), is `None`.
impl<T: Value> Value for Option<T> {
    const INTEGER: bool = T::INTEGER;
    fn from_raw(raw: Raw, range: Option<(i64, i64)>) -> Result<Self, String> {
        if raw.as_text().is_some_and(|s| s.trim().is_empty()) {
            return Ok(None);
        }
        T::from_raw(raw, range).map(|v| (!v.is_unset()).then_some(v))
    }
    fn shown(&self) -> toml::Value {
        self.as_ref().map_or_else(T::shown_unset, T::shown)
    }
    fn example(default: &str) -> String {
        T::example(default)
    }
    fn holds_secret(value: &toml::Value) -> bool {
        T::holds_secret(value)
    }
}

impl Value for SocketAddr {
    fn from_raw(raw: Raw, _: Option<(i64, i64)>) -> Result<Self, String> {
        let raw = text(raw)?;
        raw.trim().parse().map_err(|_| {
            format!("{raw:?} is not an address; write host:port with an IP, e.g. 127.0.0.1:8080 or 0.0.0.0:8080")
        })
    }
    fn shown(&self) -> toml::Value {
        toml::Value::String(self.to_string())
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Value for LogFormat {
    fn from_raw(raw: Raw, _: Option<(i64, i64)>) -> Result<Self, String> {
        match text(raw)?.as_str() {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            _ => Err("must be `pretty` or `json`".into()),
        }
    }
    fn shown(&self) -> toml::Value {
        toml::Value::String(match self {
            LogFormat::Pretty => "pretty".into(),
            LogFormat::Json => "json".into(),
        })
    }
}

/// A database URL whose `Debug` and `Display` hide the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn redacted(&self) -> String {
        let Some(scheme_end) = self.0.find("://").map(|i| i + 3) else {
            return self.0.clone();
        };
        let rest = &self.0[scheme_end..];
        match (rest.find('@'), rest.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                format!(
                    "{}{}:***{}",
                    &self.0[..scheme_end],
                    &rest[..colon],
                    &rest[at..]
                )
            }
            _ => self.0.clone(),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Value for DatabaseUrl {
    fn from_raw(raw: Raw, _: Option<(i64, i64)>) -> Result<Self, String> {
        let url = text(raw)?;
        match switchboard_store::Backend::of_url(&url) {
            Ok(_) => Ok(DatabaseUrl(url)),
            Err(_) => Err(
                "must start with sqlite:// (e.g. sqlite://switchboard.db) or postgres://".into(),
            ),
        }
    }
    fn shown(&self) -> toml::Value {
        toml::Value::String(self.redacted())
    }
    /// Only a URL with a password is a secret.
    fn holds_secret(value: &toml::Value) -> bool {
        value
            .as_str()
            .is_some_and(|u| DatabaseUrl(u.to_owned()).redacted() != u)
    }
}

impl Value for E164 {
    fn from_raw(raw: Raw, _: Option<(i64, i64)>) -> Result<Self, String> {
        E164::parse(&text(raw)?).map_err(|e| e.to_string())
    }
    fn shown(&self) -> toml::Value {
        toml::Value::String(self.as_str().to_owned())
    }
}

/// An amount of money, e.g. a budget (never negative).
impl Value for Micros {
    fn from_raw(raw: Raw, _: Option<(i64, i64)>) -> Result<Self, String> {
        let raw = text(raw)?;
        let amount = raw.trim();
        match Micros::parse(amount) {
            Ok(m) if m.0 >= 0 => Ok(m),
            _ => Err(format!("{amount:?} is not an amount; write it like 500.00")),
        }
    }
    fn shown(&self) -> toml::Value {
        toml::Value::String(self.decimal())
    }
}
