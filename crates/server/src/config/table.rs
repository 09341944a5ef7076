//! The machinery behind the settings table: [`Setting`] (one row, as documented) and
//! `config_table!`, which turns the rows of `settings.rs` into everything that must agree with
//! them. vaultwarden's `make_config!` is the model: one list, and the code that reads, shows and
//! documents a setting is generated from its row, so none of them can forget one.

/// One setting, as documented.
pub struct Setting {
    /// `database_url`, `http.requests_per_minute`, `numbers[].waba_id`.
    pub key: &'static str,
    pub env: Option<&'static str>,
    /// As written in the environment; empty when there is none.
    pub default: &'static str,
    pub doc: &'static str,
    /// Inclusive bounds of a whole-number setting.
    pub range: Option<(i64, i64)>,
    /// The command-line flag that overrides it, if any.
    pub flag: Option<&'static str>,
    /// An empty environment variable is a value (e.g. "no reply"), not "unset".
    pub(super) keep_empty: bool,
    /// The example file's value, as TOML, when the default does not make a good one.
    pub(super) example: Option<&'static str>,
    pub(super) example_of: fn(&str) -> String,
    pub(super) holds_secret: fn(&toml::Value) -> bool,
}

impl Setting {
    /// `[http]` → `http`; none for top-level keys.
    pub(super) fn section(&self) -> Option<&'static str> {
        self.key.rsplit_once('.').map(|(section, _)| section)
    }

    /// The key inside its table: `requests_per_minute`.
    pub(super) fn name(&self) -> &'static str {
        self.key.rsplit_once('.').map_or(self.key, |(_, name)| name)
    }

    /// Whether this value, as the file has it, is a secret (a database URL only with a password).
    pub(super) fn is_secret(&self, value: &toml::Value) -> bool {
        (self.holds_secret)(value)
    }

    /// The value the example file shows.
    pub(super) fn example_value(&self) -> String {
        self.example
            .map_or_else(|| (self.example_of)(self.default), str::to_owned)
    }
}

/// The grammar of a row (fixed order; everything after `env` optional):
///
/// ```text
/// /// What it means, for the docs (several lines join with a space).
/// name: Type = "default", env "VARIABLE", range MIN..=MAX, check path::to::fn,
///     keep_empty true, example "TOML", flag "--flag";
/// ```
///
/// The type decides parsing, secrecy (`SecretString`) and how the value is shown; `range` is
/// checked at compile time to sit on a whole-number type; `check` validates or normalises after
/// parsing; `flag` (top level only) reads the `Overrides` field of the same name. Top-level rows
/// become fields of `Config`, a section's rows fields of its struct; `[[numbers]]` rows are typed
/// and documented here but read and validated by hand in `numbers.rs` (`rows::numbers::*`).
macro_rules! config_table {
    (@range) => { None };
    (@range $min:literal, $max:literal) => { Some(($min, $max)) };
    (@some) => { None };
    (@some $v:literal) => { Some($v) };
    (@check $ty:ty;) => { None };
    (@check $ty:ty; $check:path) => { Some($check as fn($ty) -> Result<$ty, String>) };
    (@flag $value:expr;) => { None };
    (@flag $value:expr; $flag:literal) => { $value.as_deref() };
    (@row $key:expr, $ty:ty, $default:literal, $env:literal, [$($doc:literal)+],
        [$($min:literal, $max:literal)?], [$($keep:literal)?], [$($example:literal)?],
        [$($flag:literal)?]) => {{
        $(
            const _: () = {
                let _bounds: (i64, i64) = ($min, $max);
                assert!(<$ty as Value>::INTEGER, "a range needs a whole-number type");
            };
        )?
        Setting {
            key: $key,
            env: Some($env),
            default: $default,
            doc: concat!($($doc),+).trim_ascii_start(),
            range: config_table!(@range $($min, $max)?),
            flag: config_table!(@some $($flag)?),
            keep_empty: false $(|| $keep)?,
            example: config_table!(@some $($example)?),
            example_of: <$ty as Value>::example,
            holds_secret: <$ty as Value>::holds_secret,
        }
    }};
    (
        top {
            $(
                $(#[doc = $tdoc:literal])+
                $tfield:ident: $tty:ty = $tdefault:literal, env $tenv:literal
                $(, range $tmin:literal ..= $tmax:literal)?
                $(, check $tcheck:path)?
                $(, keep_empty $tkeep:literal)?
                $(, example $texample:literal)?
                $(, flag $tflag:literal)?
                ;
            )*
        }
        $(
            $(#[$smeta:meta])*
            [$section:ident] $Section:ident {
                $(
                    $(#[doc = $doc:literal])+
                    $field:ident: $ty:ty = $default:literal, env $env:literal
                    $(, range $min:literal ..= $max:literal)?
                    $(, check $check:path)?
                    $(, keep_empty $keep:literal)?
                    $(, example $example:literal)?
                    ;
                )*
            }
        )*
        [[numbers]] {
            $(
                $(#[doc = $ndoc:literal])+
                $nfield:ident: $nty:ty = $ndefault:literal, env $nenv:literal
                $(, range $nmin:literal ..= $nmax:literal)?
                $(, example $nexample:literal)?
                ;
            )*
        }
    ) => {
        /// Every row by name: `rows::listen`, `rows::http::requests_per_minute`,
        /// `rows::numbers::waba_id`.
        #[allow(non_upper_case_globals)]
        pub mod rows {
            use super::*;
            $(
                pub const $tfield: Setting = config_table!(@row stringify!($tfield), $tty,
                    $tdefault, $tenv, [$($tdoc)+], [$($tmin, $tmax)?], [$($tkeep)?],
                    [$($texample)?], [$($tflag)?]);
            )*
            $(
                pub mod $section {
                    use super::*;
                    $(
                        pub const $field: Setting = config_table!(@row
                            concat!(stringify!($section), ".", stringify!($field)), $ty,
                            $default, $env, [$($doc)+], [$($min, $max)?], [$($keep)?],
                            [$($example)?], []);
                    )*
                }
            )*
            pub mod numbers {
                use super::*;
                $(
                    pub const $nfield: Setting = config_table!(@row
                        concat!("numbers[].", stringify!($nfield)), $nty, $ndefault, $nenv,
                        [$($ndoc)+], [$($nmin, $nmax)?], [], [$($nexample)?], []);
                )*
            }
        }

        /// Every setting Switchboard reads, in the order of the docs. `[[numbers]]` keys repeat
        /// per number.
        pub const SETTINGS: &[Setting] = &[
            $(rows::$tfield,)*
            $($(rows::$section::$field,)*)*
            $(rows::numbers::$nfield,)*
        ];

        /// The validated configuration.
        #[derive(Debug, Clone)]
        pub struct Config {
            $( $(#[doc = $tdoc])+ pub $tfield: $tty, )*
            $( pub $section: $Section, )*
            pub numbers: Vec<NumberConfig>,
        }

        $(
            $(#[$smeta])*
            #[derive(Debug, Clone)]
            pub struct $Section {
                $( $(#[doc = $doc])+ pub $field: $ty, )*
            }
        )*

        impl Config {
            /// Reads every setting from `src`, in table order, collecting its problems.
            pub(super) fn read(src: &mut Source<'_>, overrides: &Overrides) -> Config {
                Config {
                    $(
                        $tfield: src.setting::<$tty>(
                            &rows::$tfield,
                            config_table!(@flag overrides.$tfield; $($tflag)?),
                            config_table!(@check $tty; $($tcheck)?),
                        ),
                    )*
                    $(
                        $section: $Section {
                            $(
                                $field: src.setting::<$ty>(
                                    &rows::$section::$field,
                                    None,
                                    config_table!(@check $ty; $($check)?),
                                ),
                            )*
                        },
                    )*
                    numbers: numbers::read(src),
                }
            }

            /// Each setting with its value as `config check` shows it (secrets as `***`).
            pub(super) fn shown(&self) -> Vec<(&'static Setting, toml::Value)> {
                vec![
                    $( (&rows::$tfield, Value::shown(&self.$tfield)), )*
                    $($( (&rows::$section::$field, Value::shown(&self.$section.$field)), )*)*
                ]
            }
        }
    };
}

pub(super) use config_table;
