//! Small value types shared by every payload: the `extra` map, Meta's string-or-number fields,
//! and the machinery for objects whose content sits under a key named by their `type`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

/// Keys of an object that this crate does not model, kept so re-serialising loses nothing.
pub type Extra = Map<String, Value>;

/// A Unix time in seconds, as Meta sends it: usually a string (`"1749416383"`), sometimes an
/// integer (`user_preferences`, `entry.time`). The original form is kept for lossless output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp {
    secs: i64,
    quoted: bool,
}

impl Timestamp {
    /// A timestamp written the way Meta writes message and status timestamps (a string).
    pub fn from_secs(secs: i64) -> Self {
        Self { secs, quoted: true }
    }
    /// A timestamp written as a JSON integer (as in `user_preferences`).
    pub fn from_secs_unquoted(secs: i64) -> Self {
        Self {
            secs,
            quoted: false,
        }
    }
    pub fn as_secs(&self) -> i64 {
        self.secs
    }
    pub fn as_millis(&self) -> i64 {
        self.secs.saturating_mul(1000)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.quoted {
            s.collect_str(&self.secs)
        } else {
            s.serialize_i64(self.secs)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Flexible::deserialize(d)? {
            Flexible::Number(n) => n
                .as_i64()
                .map(Timestamp::from_secs_unquoted)
                .ok_or_else(|| {
                    serde::de::Error::custom("timestamp is not a whole number of seconds")
                }),
            Flexible::String(s) => {
                s.trim()
                    .parse::<i64>()
                    .map(Timestamp::from_secs)
                    .map_err(|_| {
                        serde::de::Error::custom(format!(
                            "timestamp {s:?} is not a number of seconds"
                        ))
                    })
            }
        }
    }
}

/// A value Meta sends as a number in one place and a string in another (coordinates, template
/// ids, prices). Kept in its original form; read it with [`Flexible::as_f64`] or `as_str`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Flexible {
    Number(Number),
    String(String),
}

impl Flexible {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Flexible::Number(n) => n.as_f64(),
            Flexible::String(s) => s.trim().parse().ok(),
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Flexible::Number(n) => n.as_i64(),
            Flexible::String(s) => s.trim().parse().ok(),
        }
    }
    /// The value as text, whichever form it came in (`1689556908129835` or `"1689556908129835"`).
    pub fn to_text(&self) -> String {
        match self {
            Flexible::Number(n) => n.to_string(),
            Flexible::String(s) => s.clone(),
        }
    }
}

impl From<&str> for Flexible {
    fn from(s: &str) -> Self {
        Flexible::String(s.to_owned())
    }
}

impl From<f64> for Flexible {
    fn from(v: f64) -> Self {
        Number::from_f64(v)
            .map(Flexible::Number)
            .unwrap_or_else(|| Flexible::String(v.to_string()))
    }
}

/// Content whose JSON lives under a key named by a sibling `type` string:
/// `{"type": "text", "text": {...}}`. Implemented by the message and parameter content enums.
pub trait TypeKeyed: Sized {
    fn type_name(&self) -> &str;
    /// The value stored under the `type_name()` key; `None` when the type carries no object.
    fn content(&self) -> Result<Option<Value>, serde_json::Error>;
    fn from_content(type_name: String, content: Option<Value>) -> Result<Self, serde_json::Error>;
}

/// Declares a string enum with a lossless `Other(String)` fallback for values Meta adds later.
macro_rules! string_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this version does not know, kept as sent.
            Other(String),
        }
        impl $name {
            pub fn as_str(&self) -> &str {
                match self { $($name::$variant => $text,)* $name::Other(s) => s }
            }
            pub fn parse(s: &str) -> Self {
                match s { $($text => $name::$variant,)* other => $name::Other(other.to_owned()) }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
        }
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok($name::parse(&s))
            }
        }
    };
}
pub(crate) use string_enum;

/// Declares a [`TypeKeyed`] enum: each listed variant wraps the type found under the key named
/// by the literal; `$unit` variants carry no object; anything else is kept in `Other`.
macro_rules! type_keyed_enum {
    (
        $(#[$meta:meta])* pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident($ty:ty) = $text:literal,)*
        }
        $(unit $(#[$umeta:meta])* $unit:ident = $utext:literal;)*
    ) => {
        $(#[$meta])*
        // Variants differ in size; these are parsed one message at a time, never held in bulk.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $($(#[$vmeta])* $variant($ty),)*
            $($(#[$umeta])* $unit,)*
            /// A type this version does not model, kept as sent (its object, if any, is raw JSON).
            Other { type_name: String, content: Option<serde_json::Value> },
        }
        impl $crate::wire::TypeKeyed for $name {
            fn type_name(&self) -> &str {
                match self {
                    $($name::$variant(_) => $text,)*
                    $($name::$unit => $utext,)*
                    $name::Other { type_name, .. } => type_name,
                }
            }
            fn content(&self) -> Result<Option<serde_json::Value>, serde_json::Error> {
                Ok(match self {
                    $($name::$variant(v) => Some(serde_json::to_value(v)?),)*
                    $($name::$unit => None,)*
                    $name::Other { content, .. } => content.clone(),
                })
            }
            fn from_content(type_name: String, content: Option<serde_json::Value>) -> Result<Self, serde_json::Error> {
                match (type_name.as_str(), content) {
                    $(($text, Some(v)) => Ok($name::$variant(serde_json::from_value(v)?)),)*
                    $(($utext, None) => Ok($name::$unit),)*
                    (_, content) => Ok($name::Other { type_name, content }),
                }
            }
        }
    };
}
pub(crate) use type_keyed_enum;

/// Declares a wire object whose keys are all optional, with an `extra` map for unknown keys.
macro_rules! wire_struct {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            $($(#[$fmeta])* #[serde(default, skip_serializing_if = "Option::is_none")] pub $field: Option<$ty>,)*
            #[serde(flatten)]
            pub extra: $crate::wire::Extra,
        }
    };
}
pub(crate) use wire_struct;

/// Splits `rest[type_name]` off a flattened remainder map into typed content.
pub(crate) fn take_content<T: TypeKeyed>(
    type_name: String,
    rest: &mut Extra,
) -> Result<T, serde_json::Error> {
    let content = rest.remove(&type_name);
    T::from_content(type_name, content)
}

/// Puts typed content back under its type key.
pub(crate) fn put_content<T: TypeKeyed>(
    content: &T,
    rest: &mut Extra,
) -> Result<(), serde_json::Error> {
    if let Some(v) = content.content()? {
        rest.insert(content.type_name().to_owned(), v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_keeps_its_form() {
        let quoted: Timestamp = serde_json::from_str("\"1749416383\"").unwrap();
        let bare: Timestamp = serde_json::from_str("1731705721").unwrap();
        assert_eq!(quoted.as_secs(), 1_749_416_383);
        assert_eq!(serde_json::to_string(&quoted).unwrap(), "\"1749416383\"");
        assert_eq!(serde_json::to_string(&bare).unwrap(), "1731705721");
        assert!(serde_json::from_str::<Timestamp>("\"soon\"").is_err());
        assert!(serde_json::from_str::<Timestamp>("1.5").is_err());
    }

    #[test]
    fn flexible_reads_both_forms() {
        let n: Flexible = serde_json::from_str("37.44221496582").unwrap();
        let s: Flexible = serde_json::from_str("\"-122.16170\"").unwrap();
        assert_eq!(n.as_f64(), Some(37.44221496582));
        assert_eq!(s.as_f64(), Some(-122.1617));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"-122.16170\"");
    }
}
