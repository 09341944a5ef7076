//! Configuration: defaults, then a TOML file, then the environment, then command-line flags.
//!
//! [`SETTINGS`] is the one authoritative list of settings (key, environment variable, default,
//! meaning). `docs/configuration.md` and `switchboard config example` are generated from it, and a
//! test fails when the committed doc differs, so the documentation cannot drift from the code.
//!
//! Loading never stops at the first problem: every bad key is collected and reported together,
//! each naming the key and saying how to fix it. Secrets (access tokens, app secrets, the verify
//! token, the database password) are `SecretString`s or redacted in `Debug`, so a config dump in
//! a log shows none of them.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use switchboard_domain::E164;

/// One setting, as documented.
pub struct Setting {
    pub key: &'static str,
    pub env: Option<&'static str>,
    pub default: &'static str,
    pub doc: &'static str,
}

/// Every setting Switchboard reads. `[[numbers]]` keys repeat per number.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "database_url",
        env: Some("SWITCHBOARD_DATABASE_URL"),
        default: "sqlite://switchboard.db",
        doc: "Where Switchboard keeps its data. `sqlite://PATH` (created, WAL mode; the webhook journal goes in `PATH-webhooks.db` beside it, so back up both) or `postgres://USER:PASSWORD@HOST/DB` for several instances.",
    },
    Setting {
        key: "listen",
        env: Some("SWITCHBOARD_LISTEN"),
        default: "127.0.0.1:8080",
        doc: "Address of the public listener: webhooks, REST API, web inbox, `/healthz`, `/readyz`.",
    },
    Setting {
        key: "metrics_listen",
        env: Some("SWITCHBOARD_METRICS_LISTEN"),
        default: "127.0.0.1:9090",
        doc: "Address of the Prometheus `/metrics` listener, kept off the public port. Empty disables it.",
    },
    Setting {
        key: "log.format",
        env: Some("SWITCHBOARD_LOG_FORMAT"),
        default: "pretty",
        doc: "`pretty` for people, `json` for log collectors (one object per line).",
    },
    Setting {
        key: "log.filter",
        env: Some("SWITCHBOARD_LOG"),
        default: "info",
        doc: "A tracing filter, e.g. `info` or `info,switchboard_server=debug`. Phone numbers and message bodies are never logged at info.",
    },
    Setting {
        key: "graph.base_url",
        env: Some("SWITCHBOARD_GRAPH_BASE_URL"),
        default: "https://graph.facebook.com",
        doc: "Meta's Graph API. Point it at the emulator (`switchboard emulator`) to work offline.",
    },
    Setting {
        key: "graph.api_version",
        env: Some("SWITCHBOARD_GRAPH_API_VERSION"),
        default: "v26.0",
        doc: "The Graph API version sent on every call (`vNN.0`).",
    },
    Setting {
        key: "graph.timeout_secs",
        env: Some("SWITCHBOARD_GRAPH_TIMEOUT_SECS"),
        default: "30",
        doc: "How long one Graph call may take before it counts as an ambiguous failure.",
    },
    Setting {
        key: "webhook.verify_token",
        env: Some("SWITCHBOARD_VERIFY_TOKEN"),
        default: "",
        doc: "The verify token you entered in Meta's App Dashboard; answers the GET handshake. Secret.",
    },
    Setting {
        key: "webhook.max_body_bytes",
        env: Some("SWITCHBOARD_WEBHOOK_MAX_BODY_BYTES"),
        default: "3145728",
        doc: "Largest webhook body accepted (Meta sends at most 3 MB).",
    },
    Setting {
        key: "webhook.previous_app_secrets",
        env: Some("SWITCHBOARD_PREVIOUS_APP_SECRETS"),
        default: "",
        doc: "App secrets still accepted on webhooks while you rotate a Meta app's secret (comma separated in the environment, a list in the file). Secret. Remove them once Meta signs with the new secret.",
    },
    Setting {
        key: "http.secure_cookies",
        env: Some("SWITCHBOARD_SECURE_COOKIES"),
        default: "false",
        doc: "Always mark the session cookie `Secure`. Set it when a TLS proxy serves the inbox over https; without it the cookie is `Secure` only when the proxy sends `X-Forwarded-Proto: https`.",
    },
    Setting {
        key: "http.trust_forwarded",
        env: Some("SWITCHBOARD_TRUST_FORWARDED"),
        default: "false",
        doc: "Take the client's address from `X-Forwarded-For` (per-address login limits). Only behind a proxy that sets that header: otherwise anyone can claim any address.",
    },
    Setting {
        key: "http.requests_per_minute",
        env: Some("SWITCHBOARD_REQUESTS_PER_MINUTE"),
        default: "6000",
        doc: "API requests a minute allowed per API key or logged-in person, with bursts of up to a tenth of it at once; more are answered 429 with `Retry-After`. 0 turns the limit off. Meta's webhooks are never limited.",
    },
    Setting {
        key: "http.event_streams_per_user",
        env: Some("SWITCHBOARD_EVENT_STREAMS_PER_USER"),
        default: "8",
        doc: "Live-update streams (`GET /api/v1/events`) one person or API key may hold open at once (a browser tab holds one); a further one is answered 429.",
    },
    Setting {
        key: "http.header_timeout_secs",
        env: Some("SWITCHBOARD_HEADER_TIMEOUT_SECS"),
        default: "30",
        doc: "Seconds a client has to send a request's headers (and an idle keep-alive connection stays open); a client that trickles them is disconnected. Every request then has 60 seconds to be answered.",
    },
    Setting {
        key: "http.allow_private_targets",
        env: Some("SWITCHBOARD_ALLOW_PRIVATE_TARGETS"),
        default: "false",
        doc: "Let media links in sends, and URLs the server downloads from, point at private, loopback and link-local addresses. For development only; the Graph API's own address (`graph.base_url`) is always allowed.",
    },
    Setting {
        key: "dev.clock_url",
        env: Some("SWITCHBOARD_DEV_CLOCK_URL"),
        default: "",
        doc: "Development and tests only: follow the clock of the emulator at this URL (its `/_emulator/clock`), so advancing the emulator's clock closes service windows here too. Empty (production): the system clock.",
    },
    Setting {
        key: "media.dir",
        env: Some("SWITCHBOARD_MEDIA_DIR"),
        default: "switchboard-media",
        doc: "Where downloaded customer media is kept, content-addressed by SHA-256.",
    },
    Setting {
        key: "outbound.max_in_flight",
        env: Some("SWITCHBOARD_OUTBOUND_MAX_IN_FLIGHT"),
        default: "512",
        doc: "Sends one number may have waiting for Meta's answer at once. At 1,000 messages/s and 300 ms per call a number needs about 300.",
    },
    Setting {
        key: "outbound.pair_interval_ms",
        env: Some("SWITCHBOARD_OUTBOUND_PAIR_INTERVAL_MS"),
        default: "6300",
        doc: "Pacing per customer: at most one message per this many milliseconds on average (Meta's pair rate is one per 6 s; the default keeps a 5 % margin so network jitter never trips 131056).",
    },
    Setting {
        key: "outbound.pair_burst",
        env: Some("SWITCHBOARD_OUTBOUND_PAIR_BURST"),
        default: "40",
        doc: "Messages one customer may get in a burst before pacing applies (Meta allows 45, borrowed from the future).",
    },
    Setting {
        key: "outbound.max_attempts",
        env: Some("SWITCHBOARD_OUTBOUND_MAX_ATTEMPTS"),
        default: "8",
        doc: "Attempts for a message that keeps failing with transient errors (5xx, timeouts, 130429, 131056, 131057) before it is marked failed.",
    },
    Setting {
        key: "outbound.marketing_cap_per_user",
        env: Some("SWITCHBOARD_OUTBOUND_MARKETING_CAP_PER_USER"),
        default: "0",
        doc: "Marketing templates one customer may receive per rolling 24 hours before Switchboard refuses (`marketing_cap_reached`); 0 turns the cap off. Meta publishes no number, so this is yours to set.",
    },
    Setting {
        key: "consent.opt_out_keywords",
        env: Some("SWITCHBOARD_CONSENT_OPT_OUT_KEYWORDS"),
        default: "STOP,STOPALL,UNSUBSCRIBE,CANCEL,END,QUIT,OPTOUT,OPT OUT,PARAR,PARE,BAJA,CANCELAR,ARRÊT,ARRET,DÉSABONNER,DESABONNER,STOPP,ABMELDEN,ANNULLA,DISISCRIVITI,SAIR,BERHENTI,停止,退订",
        doc: "Comma-separated words that, as a customer's whole message (case and punctuation ignored), opt them out of every business-initiated message from the number.",
    },
    Setting {
        key: "consent.opt_in_keywords",
        env: Some("SWITCHBOARD_CONSENT_OPT_IN_KEYWORDS"),
        default: "START,UNSTOP,SUBSCRIBE,RESUME,OPTIN,OPT IN,ALTA,COMENZAR,DEMARRER,DÉMARRER,ANMELDEN,INICIAR,MULAI",
        doc: "Comma-separated words that opt a customer back in.",
    },
    Setting {
        key: "consent.opt_out_reply",
        env: Some("SWITCHBOARD_CONSENT_OPT_OUT_REPLY"),
        default: "You will not receive further messages from us. Reply START to opt back in.",
        doc: "Sent automatically (inside the window the customer's message opened) after an opt-out keyword. Empty: no reply.",
    },
    Setting {
        key: "consent.opt_in_reply",
        env: Some("SWITCHBOARD_CONSENT_OPT_IN_REPLY"),
        default: "You are subscribed again. Reply STOP to opt out.",
        doc: "Sent automatically after an opt-in keyword. Empty: no reply.",
    },
    Setting {
        key: "numbers[].phone_number_id",
        env: Some("SWITCHBOARD_PHONE_NUMBER_ID"),
        default: "",
        doc: "The sending number's id in Meta's Graph API (digits). Required for each number.",
    },
    Setting {
        key: "numbers[].waba_id",
        env: Some("SWITCHBOARD_WABA_ID"),
        default: "",
        doc: "The WhatsApp Business Account the number belongs to (digits). Required.",
    },
    Setting {
        key: "numbers[].display_number",
        env: Some("SWITCHBOARD_DISPLAY_NUMBER"),
        default: "",
        doc: "The number customers see, in international form (`+15550783881`). Optional; shown in the inbox.",
    },
    Setting {
        key: "numbers[].access_token",
        env: Some("SWITCHBOARD_ACCESS_TOKEN"),
        default: "",
        doc: "A system-user access token with `whatsapp_business_messaging` and `whatsapp_business_management`. Secret. Required.",
    },
    Setting {
        key: "numbers[].app_secret",
        env: Some("SWITCHBOARD_APP_SECRET"),
        default: "",
        doc: "The Meta app's secret, which signs the webhooks for this number (`X-Hub-Signature-256`). Secret. Required.",
    },
    Setting {
        key: "numbers[].app_id",
        env: Some("SWITCHBOARD_APP_ID"),
        default: "",
        doc: "The Meta app's id. Optional; recorded with each webhook it signed.",
    },
    Setting {
        key: "numbers[].monthly_budget",
        env: Some("SWITCHBOARD_MONTHLY_BUDGET"),
        default: "",
        doc: "A monthly budget for this number, in the rate card's currency (e.g. `500.00`). A campaign whose estimated cost would take the month's estimate past it is refused unless started with `\"confirm_budget\": true`. Empty: no budget.",
    },
    Setting {
        key: "numbers[].throughput_mps",
        env: Some("SWITCHBOARD_THROUGHPUT_MPS"),
        default: "80",
        doc: "Messages per second Meta allows this number (80 by default, up to 1000 after an upgrade).",
    },
];

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub listen: SocketAddr,
    pub metrics_listen: Option<SocketAddr>,
    pub log: LogConfig,
    pub graph: GraphConfig,
    pub webhook: WebhookConfig,
    pub media_dir: std::path::PathBuf,
    /// Development only: the emulator clock this server follows.
    pub dev_clock_url: Option<String>,
    pub outbound: OutboundConfig,
    pub consent: ConsentConfig,
    pub http: HttpConfig,
    pub numbers: Vec<NumberConfig>,
}

/// How the public listener treats its clients: cookies, proxies, limits, what it may fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    pub secure_cookies: bool,
    pub trust_forwarded: bool,
    /// 0: no limit.
    pub requests_per_minute: u32,
    pub event_streams_per_user: u32,
    pub header_timeout_secs: u64,
    pub allow_private_targets: bool,
}

/// Consent keywords and the automatic replies to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentConfig {
    pub opt_out_keywords: Vec<String>,
    pub opt_in_keywords: Vec<String>,
    pub opt_out_reply: String,
    pub opt_in_reply: String,
}

/// How the outbox sends: concurrency, per-customer pacing, retries, marketing cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundConfig {
    pub max_in_flight: usize,
    pub pair_interval_ms: u64,
    pub pair_burst: u32,
    pub max_attempts: u32,
    pub marketing_cap_per_user: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub format: LogFormat,
    pub filter: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub struct GraphConfig {
    pub base_url: String,
    pub api_version: String,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub verify_token: Option<SecretString>,
    pub max_body_bytes: usize,
    /// Old app secrets still accepted during a rotation.
    pub previous_app_secrets: Vec<SecretString>,
}

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

/// Command-line overrides, applied last.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub metrics_listen: Option<String>,
}

/// The file's shape: every key optional, unknown keys refused (a typo must not be ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    listen: Option<String>,
    metrics_listen: Option<String>,
    #[serde(default)]
    log: FileLog,
    #[serde(default)]
    graph: FileGraph,
    #[serde(default)]
    webhook: FileWebhook,
    #[serde(default)]
    media: FileMedia,
    #[serde(default)]
    dev: FileDev,
    #[serde(default)]
    outbound: FileOutbound,
    #[serde(default)]
    consent: FileConsent,
    #[serde(default)]
    http: FileHttp,
    #[serde(default)]
    numbers: Vec<FileNumber>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileHttp {
    secure_cookies: Option<bool>,
    trust_forwarded: Option<bool>,
    requests_per_minute: Option<i64>,
    event_streams_per_user: Option<i64>,
    header_timeout_secs: Option<i64>,
    allow_private_targets: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConsent {
    opt_out_keywords: Option<Vec<String>>,
    opt_in_keywords: Option<Vec<String>>,
    opt_out_reply: Option<String>,
    opt_in_reply: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOutbound {
    max_in_flight: Option<i64>,
    pair_interval_ms: Option<i64>,
    pair_burst: Option<i64>,
    max_attempts: Option<i64>,
    marketing_cap_per_user: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMedia {
    dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDev {
    clock_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLog {
    format: Option<String>,
    filter: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGraph {
    base_url: Option<String>,
    api_version: Option<String>,
    timeout_secs: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWebhook {
    verify_token: Option<String>,
    max_body_bytes: Option<i64>,
    previous_app_secrets: Option<Vec<String>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileNumber {
    phone_number_id: Option<String>,
    waba_id: Option<String>,
    display_number: Option<String>,
    access_token: Option<String>,
    app_secret: Option<String>,
    app_id: Option<String>,
    throughput_mps: Option<i64>,
    monthly_budget: Option<String>,
}

fn default_of(key: &str) -> &'static str {
    SETTINGS
        .iter()
        .find(|s| s.key == key)
        .map(|s| s.default)
        .expect("every key has a Setting")
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

    /// Loads from a file's text, an environment lookup and flags (tests pass their own `env`).
    pub fn from_sources(
        file_text: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let file: FileConfig = match file_text.map(toml::from_str::<FileConfig>) {
            None => FileConfig::default(),
            Some(Ok(f)) => f,
            Some(Err(e)) => {
                // toml names the key and line; nothing else can be checked from a file that does not parse.
                return Err(ConfigError(vec![ConfigProblem {
                    key: "config file".into(),
                    message: e.to_string().trim().replace('\n', " "),
                }]));
            }
        };
        let raw_env = |k: &str| env(k);
        let env = |k: &str| env(k).filter(|v| !v.is_empty());
        let pick =
            |flag: &Option<String>, var: &str, from_file: Option<String>, key: &str| -> String {
                flag.clone()
                    .or_else(|| env(var))
                    .or(from_file)
                    .unwrap_or_else(|| default_of(key).to_owned())
            };

        let database_url = pick(
            &overrides.database_url,
            "SWITCHBOARD_DATABASE_URL",
            file.database_url,
            "database_url",
        );
        if switchboard_store::Backend::of_url(&database_url).is_err() {
            problems.push(problem(
                "database_url",
                "must start with sqlite:// (e.g. sqlite://switchboard.db) or postgres://",
            ));
        }
        let listen = parse_addr(
            &mut problems,
            "listen",
            &pick(
                &overrides.listen,
                "SWITCHBOARD_LISTEN",
                file.listen,
                "listen",
            ),
        );
        let metrics_raw = overrides
            .metrics_listen
            .clone()
            .or_else(|| env("SWITCHBOARD_METRICS_LISTEN"))
            .or(file.metrics_listen)
            .unwrap_or_else(|| default_of("metrics_listen").to_owned());
        let metrics_listen = if metrics_raw.trim().is_empty() {
            None
        } else {
            Some(parse_addr(&mut problems, "metrics_listen", &metrics_raw))
        };

        let format = env("SWITCHBOARD_LOG_FORMAT")
            .or(file.log.format)
            .unwrap_or_else(|| default_of("log.format").into());
        let format = match format.as_str() {
            "pretty" => LogFormat::Pretty,
            "json" => LogFormat::Json,
            _ => {
                problems.push(problem("log.format", "must be `pretty` or `json`"));
                LogFormat::Pretty
            }
        };
        let filter = env("SWITCHBOARD_LOG")
            .or(file.log.filter)
            .unwrap_or_else(|| default_of("log.filter").into());

        let base_url = env("SWITCHBOARD_GRAPH_BASE_URL")
            .or(file.graph.base_url)
            .unwrap_or_else(|| default_of("graph.base_url").into());
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            problems.push(problem(
                "graph.base_url",
                "must be an http:// or https:// URL, e.g. https://graph.facebook.com",
            ));
        }
        let api_version = env("SWITCHBOARD_GRAPH_API_VERSION")
            .or(file.graph.api_version)
            .unwrap_or_else(|| default_of("graph.api_version").into());
        let version_ok = api_version
            .strip_prefix('v')
            .and_then(|v| v.strip_suffix(".0"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !version_ok {
            problems.push(problem("graph.api_version", "must look like v26.0"));
        }
        let timeout_secs = int_setting(
            &mut problems,
            "graph.timeout_secs",
            env("SWITCHBOARD_GRAPH_TIMEOUT_SECS"),
            file.graph.timeout_secs,
            1,
            600,
        );

        // An empty token would let an empty `hub.verify_token` through: it counts as unset.
        let verify_token = env("SWITCHBOARD_VERIFY_TOKEN")
            .or(file.webhook.verify_token)
            .filter(|t| !t.is_empty())
            .map(SecretString::from);
        let previous_app_secrets = env("SWITCHBOARD_PREVIOUS_APP_SECRETS")
            .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect())
            .or(file.webhook.previous_app_secrets)
            .unwrap_or_default()
            .into_iter()
            .filter(|s: &String| !s.is_empty())
            .map(SecretString::from)
            .collect();
        let http = HttpConfig {
            secure_cookies: bool_setting(
                &mut problems,
                "http.secure_cookies",
                env("SWITCHBOARD_SECURE_COOKIES"),
                file.http.secure_cookies,
            ),
            trust_forwarded: bool_setting(
                &mut problems,
                "http.trust_forwarded",
                env("SWITCHBOARD_TRUST_FORWARDED"),
                file.http.trust_forwarded,
            ),
            requests_per_minute: int_setting(
                &mut problems,
                "http.requests_per_minute",
                env("SWITCHBOARD_REQUESTS_PER_MINUTE"),
                file.http.requests_per_minute,
                0,
                10_000_000,
            ) as u32,
            event_streams_per_user: int_setting(
                &mut problems,
                "http.event_streams_per_user",
                env("SWITCHBOARD_EVENT_STREAMS_PER_USER"),
                file.http.event_streams_per_user,
                1,
                100_000,
            ) as u32,
            header_timeout_secs: int_setting(
                &mut problems,
                "http.header_timeout_secs",
                env("SWITCHBOARD_HEADER_TIMEOUT_SECS"),
                file.http.header_timeout_secs,
                1,
                3_600,
            ) as u64,
            allow_private_targets: bool_setting(
                &mut problems,
                "http.allow_private_targets",
                env("SWITCHBOARD_ALLOW_PRIVATE_TARGETS"),
                file.http.allow_private_targets,
            ),
        };
        let max_body_bytes = int_setting(
            &mut problems,
            "webhook.max_body_bytes",
            env("SWITCHBOARD_WEBHOOK_MAX_BODY_BYTES"),
            file.webhook.max_body_bytes,
            1024,
            64 * 1024 * 1024,
        ) as usize;

        let dev_clock_url = env("SWITCHBOARD_DEV_CLOCK_URL")
            .or(file.dev.clock_url)
            .filter(|u| !u.trim().is_empty());
        let media_dir = env("SWITCHBOARD_MEDIA_DIR")
            .or(file.media.dir)
            .unwrap_or_else(|| default_of("media.dir").into());

        let outbound = OutboundConfig {
            max_in_flight: int_setting(
                &mut problems,
                "outbound.max_in_flight",
                env("SWITCHBOARD_OUTBOUND_MAX_IN_FLIGHT"),
                file.outbound.max_in_flight,
                1,
                10_000,
            ) as usize,
            pair_interval_ms: int_setting(
                &mut problems,
                "outbound.pair_interval_ms",
                env("SWITCHBOARD_OUTBOUND_PAIR_INTERVAL_MS"),
                file.outbound.pair_interval_ms,
                0,
                3_600_000,
            ) as u64,
            pair_burst: int_setting(
                &mut problems,
                "outbound.pair_burst",
                env("SWITCHBOARD_OUTBOUND_PAIR_BURST"),
                file.outbound.pair_burst,
                1,
                1_000,
            ) as u32,
            max_attempts: int_setting(
                &mut problems,
                "outbound.max_attempts",
                env("SWITCHBOARD_OUTBOUND_MAX_ATTEMPTS"),
                file.outbound.max_attempts,
                1,
                100,
            ) as u32,
            marketing_cap_per_user: match int_setting(
                &mut problems,
                "outbound.marketing_cap_per_user",
                env("SWITCHBOARD_OUTBOUND_MARKETING_CAP_PER_USER"),
                file.outbound.marketing_cap_per_user,
                0,
                1_000,
            ) {
                0 => None,
                n => Some(n as u32),
            },
        };

        let list = |var: &str, from_file: Option<Vec<String>>, key: &str| -> Vec<String> {
            env(var)
                .map(|v| {
                    v.split(',')
                        .map(|w| w.trim().to_owned())
                        .filter(|w| !w.is_empty())
                        .collect()
                })
                .or(from_file)
                .unwrap_or_else(|| default_of(key).split(',').map(str::to_owned).collect())
        };
        // An empty reply is meaningful (no reply), so only an unset variable falls through.
        let reply = |var: &str, from_file: Option<String>, key: &str| -> String {
            raw_env(var)
                .or(from_file)
                .unwrap_or_else(|| default_of(key).to_owned())
        };
        let consent = ConsentConfig {
            opt_out_keywords: list(
                "SWITCHBOARD_CONSENT_OPT_OUT_KEYWORDS",
                file.consent.opt_out_keywords,
                "consent.opt_out_keywords",
            ),
            opt_in_keywords: list(
                "SWITCHBOARD_CONSENT_OPT_IN_KEYWORDS",
                file.consent.opt_in_keywords,
                "consent.opt_in_keywords",
            ),
            opt_out_reply: reply(
                "SWITCHBOARD_CONSENT_OPT_OUT_REPLY",
                file.consent.opt_out_reply,
                "consent.opt_out_reply",
            ),
            opt_in_reply: reply(
                "SWITCHBOARD_CONSENT_OPT_IN_REPLY",
                file.consent.opt_in_reply,
                "consent.opt_in_reply",
            ),
        };

        // Numbers: those of the file, then the one the environment describes (which overrides a
        // file number with the same id key by key, so a file can hold everything but the secrets).
        let mut raw_numbers: Vec<(String, FileNumber)> = file
            .numbers
            .into_iter()
            .enumerate()
            .map(|(i, n)| (format!("numbers[{i}]"), n))
            .collect();
        let from_env = FileNumber {
            phone_number_id: env("SWITCHBOARD_PHONE_NUMBER_ID"),
            waba_id: env("SWITCHBOARD_WABA_ID"),
            display_number: env("SWITCHBOARD_DISPLAY_NUMBER"),
            access_token: env("SWITCHBOARD_ACCESS_TOKEN"),
            app_secret: env("SWITCHBOARD_APP_SECRET"),
            app_id: env("SWITCHBOARD_APP_ID"),
            throughput_mps: None,
            monthly_budget: env("SWITCHBOARD_MONTHLY_BUDGET"),
        };
        let env_throughput = env("SWITCHBOARD_THROUGHPUT_MPS");
        let env_describes_number = from_env.phone_number_id.is_some()
            || from_env.waba_id.is_some()
            || from_env.access_token.is_some()
            || from_env.app_secret.is_some();
        if env_describes_number {
            let existing = raw_numbers.iter_mut().find(|(_, n)| {
                n.phone_number_id.is_some() && n.phone_number_id == from_env.phone_number_id
            });
            match existing {
                Some((_, n)) => merge_number(n, from_env),
                None => {
                    raw_numbers.push(("SWITCHBOARD_PHONE_NUMBER_ID (environment)".into(), from_env))
                }
            }
        }
        let mut numbers = Vec::new();
        let mut seen = HashSet::new();
        for (label, n) in raw_numbers {
            let throughput_from_env = env_throughput
                .clone()
                .filter(|_| label.contains("environment"));
            if let Some(num) = validate_number(&mut problems, &label, n, throughput_from_env) {
                if !seen.insert(num.phone_number_id.clone()) {
                    problems.push(problem(
                        &format!("{label}.phone_number_id"),
                        "is configured twice; each number appears once",
                    ));
                }
                numbers.push(num);
            }
        }

        if !problems.is_empty() {
            return Err(ConfigError(problems));
        }
        Ok(Config {
            database_url: DatabaseUrl(database_url),
            listen,
            metrics_listen,
            log: LogConfig { format, filter },
            graph: GraphConfig {
                base_url: base_url.trim_end_matches('/').to_owned(),
                api_version,
                timeout_secs: timeout_secs as u64,
            },
            webhook: WebhookConfig {
                verify_token,
                max_body_bytes,
                previous_app_secrets,
            },
            media_dir: media_dir.into(),
            dev_clock_url,
            outbound,
            consent,
            http,
            numbers,
        })
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
            let file: toml::Value = toml::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
            let mut secrets = vec![];
            find_secrets(&file, "", &mut secrets);
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
        out.push_str(&format!(
            "database_url = {:?}\n",
            self.database_url.redacted()
        ));
        out.push_str(&format!("listen = \"{}\"\n", self.listen));
        out.push_str(&format!(
            "metrics_listen = \"{}\"\n",
            self.metrics_listen
                .map(|a| a.to_string())
                .unwrap_or_default()
        ));
        out.push_str(&format!(
            "\n[log]\nformat = \"{}\"\nfilter = {:?}\n",
            if self.log.format == LogFormat::Json {
                "json"
            } else {
                "pretty"
            },
            self.log.filter
        ));
        out.push_str(&format!(
            "\n[graph]\nbase_url = {:?}\napi_version = {:?}\ntimeout_secs = {}\n",
            self.graph.base_url, self.graph.api_version, self.graph.timeout_secs
        ));
        out.push_str(&format!(
            "\n[webhook]\nverify_token = \"{}\"\nmax_body_bytes = {}\n",
            if self.webhook.verify_token.is_some() {
                "***"
            } else {
                ""
            },
            self.webhook.max_body_bytes
        ));
        if !self.webhook.previous_app_secrets.is_empty() {
            out.push_str(&format!(
                "previous_app_secrets = [{}]\n",
                vec!["\"***\""; self.webhook.previous_app_secrets.len()].join(", ")
            ));
        }
        out.push_str(&format!(
            "\n[http]\nsecure_cookies = {}\ntrust_forwarded = {}\nrequests_per_minute = {}\nevent_streams_per_user = {}\nheader_timeout_secs = {}\nallow_private_targets = {}\n",
            self.http.secure_cookies,
            self.http.trust_forwarded,
            self.http.requests_per_minute,
            self.http.event_streams_per_user,
            self.http.header_timeout_secs,
            self.http.allow_private_targets
        ));
        out.push_str(&format!(
            "\n[media]\ndir = {:?}\n",
            self.media_dir.display().to_string()
        ));
        if let Some(u) = &self.dev_clock_url {
            out.push_str(&format!("\n[dev]\nclock_url = {u:?}\n"));
        }
        let c = &self.consent;
        out.push_str(&format!(
            "\n[consent]\nopt_out_keywords = {:?}\nopt_in_keywords = {:?}\nopt_out_reply = {:?}\nopt_in_reply = {:?}\n",
            c.opt_out_keywords, c.opt_in_keywords, c.opt_out_reply, c.opt_in_reply
        ));
        let o = &self.outbound;
        out.push_str(&format!(
            "\n[outbound]\nmax_in_flight = {}\npair_interval_ms = {}\npair_burst = {}\nmax_attempts = {}\nmarketing_cap_per_user = {}\n",
            o.max_in_flight, o.pair_interval_ms, o.pair_burst, o.max_attempts, o.marketing_cap_per_user.unwrap_or(0)
        ));
        for n in &self.numbers {
            out.push_str(&format!(
                "\n[[numbers]]\nphone_number_id = {:?}\nwaba_id = {:?}\ndisplay_number = \"{}\"\naccess_token = \"***\"\napp_secret = \"***\"\napp_id = \"{}\"\nthroughput_mps = {}\nmonthly_budget = \"{}\"\n",
                n.phone_number_id,
                n.waba_id,
                n.display_number.as_ref().map(|d| d.as_str()).unwrap_or(""),
                n.app_id.as_deref().unwrap_or(""),
                n.throughput_mps,
                n.monthly_budget_micros.map(|m| switchboard_domain::pricing::Micros(m).decimal()).unwrap_or_default()
            ));
        }
        out
    }
}

fn problem(key: &str, message: &str) -> ConfigProblem {
    ConfigProblem {
        key: key.to_owned(),
        message: message.to_owned(),
    }
}

fn parse_addr(problems: &mut Vec<ConfigProblem>, key: &str, raw: &str) -> SocketAddr {
    raw.trim().parse().unwrap_or_else(|_| {
        problems.push(problem(key, &format!("{raw:?} is not an address; write host:port with an IP, e.g. 127.0.0.1:8080 or 0.0.0.0:8080")));
        SocketAddr::from(([127, 0, 0, 1], 0))
    })
}

/// The keys in a config file that hold secrets (a database URL only with a password).
#[cfg(unix)]
fn find_secrets(v: &toml::Value, at: &str, out: &mut Vec<String>) {
    const SECRET: &[&str] = &[
        "access_token",
        "app_secret",
        "verify_token",
        "previous_app_secrets",
    ];
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                let secret = SECRET.contains(&k.as_str())
                    || (k == "database_url"
                        && v.as_str()
                            .is_some_and(|u| DatabaseUrl(u.to_owned()).redacted() != u));
                if secret {
                    out.push(key);
                } else {
                    find_secrets(v, &key, out);
                }
            }
        }
        toml::Value::Array(a) => a
            .iter()
            .for_each(|v| find_secrets(v, &format!("{at}[]"), out)),
        _ => {}
    }
}

fn bool_setting(
    problems: &mut Vec<ConfigProblem>,
    key: &str,
    env: Option<String>,
    file: Option<bool>,
) -> bool {
    match env {
        Some(raw) => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" | "" => false,
            _ => {
                problems.push(problem(key, &format!("{raw:?} is not true or false")));
                false
            }
        },
        None => file.unwrap_or_else(|| default_of(key) == "true"),
    }
}

fn int_setting(
    problems: &mut Vec<ConfigProblem>,
    key: &str,
    env: Option<String>,
    file: Option<i64>,
    min: i64,
    max: i64,
) -> i64 {
    let value = match env {
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(v) => v,
            Err(_) => {
                problems.push(problem(key, &format!("{raw:?} is not a whole number")));
                return min;
            }
        },
        None => file.unwrap_or_else(|| default_of(key).parse().expect("numeric default")),
    };
    if !(min..=max).contains(&value) {
        problems.push(problem(
            key,
            &format!("is {value}; it must be between {min} and {max}"),
        ));
        return min;
    }
    value
}

fn merge_number(into: &mut FileNumber, from: FileNumber) {
    macro_rules! take {
        ($($f:ident),*) => { $( if from.$f.is_some() { into.$f = from.$f; } )* };
    }
    take!(
        monthly_budget,
        phone_number_id,
        waba_id,
        display_number,
        access_token,
        app_secret,
        app_id,
        throughput_mps
    );
}

fn validate_number(
    problems: &mut Vec<ConfigProblem>,
    label: &str,
    n: FileNumber,
    env_throughput: Option<String>,
) -> Option<NumberConfig> {
    let before = problems.len();
    let mut required_digits = |field: &str, v: Option<String>| -> String {
        match v {
            Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => v,
            Some(v) => {
                problems.push(problem(
                    &format!("{label}.{field}"),
                    &format!("{v:?} must be the numeric id Meta shows (digits only)"),
                ));
                String::new()
            }
            None => {
                problems.push(problem(
                    &format!("{label}.{field}"),
                    "is required; copy it from WhatsApp Manager or the App Dashboard",
                ));
                String::new()
            }
        }
    };
    let phone_number_id = required_digits("phone_number_id", n.phone_number_id);
    let waba_id = required_digits("waba_id", n.waba_id);
    let mut secret = |field: &str, v: Option<String>| -> SecretString {
        match v {
            Some(v) if !v.trim().is_empty() => SecretString::from(v),
            _ => {
                problems.push(problem(
                    &format!("{label}.{field}"),
                    "is required (a secret; prefer the environment variable over the file)",
                ));
                SecretString::from(String::new())
            }
        }
    };
    let access_token = secret("access_token", n.access_token);
    let app_secret = secret("app_secret", n.app_secret);
    let display_number = match n.display_number {
        None => None,
        Some(raw) => match E164::parse(&raw) {
            Ok(e) => Some(e),
            Err(e) => {
                problems.push(problem(&format!("{label}.display_number"), &e.to_string()));
                None
            }
        },
    };
    let throughput_mps = int_setting(
        problems,
        &format!("{label}.throughput_mps"),
        env_throughput,
        n.throughput_mps.or(Some(80)),
        1,
        1000,
    ) as u32;
    let monthly_budget_micros = match n
        .monthly_budget
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        None => None,
        Some(b) => match switchboard_domain::pricing::Micros::parse(b) {
            Ok(m) if m.0 >= 0 => Some(m.0),
            _ => {
                problems.push(problem(
                    &format!("{label}.monthly_budget"),
                    &format!("{b:?} is not an amount; write it like 500.00"),
                ));
                None
            }
        },
    };
    (problems.len() == before).then_some(NumberConfig {
        phone_number_id,
        waba_id,
        display_number,
        access_token,
        app_secret,
        app_id: n.app_id.filter(|s| !s.is_empty()),
        throughput_mps,
        monthly_budget_micros,
    })
}

/// `docs/configuration.md`, generated from [`SETTINGS`].
pub fn reference_markdown() -> String {
    let mut s = String::from(
        "# Configuration\n\n\
         <!-- Generated from crates/server/src/config.rs (SETTINGS) by `switchboard config docs`; a test fails when it differs. -->\n\n\
         Switchboard reads, in order, each overriding the one before: built-in defaults, a TOML file \
         (`switchboard serve --config FILE`, or `SWITCHBOARD_CONFIG`), environment variables, and the \
         flags `--database-url`, `--listen` and `--metrics-listen`. Every problem is reported at start-up \
         at once, naming the key. Unknown keys in the file are an error, so a typo is never ignored.\n\n\
         A single number can be configured by environment alone (`SWITCHBOARD_PHONE_NUMBER_ID`, \
         `SWITCHBOARD_WABA_ID`, `SWITCHBOARD_ACCESS_TOKEN`, `SWITCHBOARD_APP_SECRET`); several numbers, of \
         one or several WABAs and apps, go in the file as `[[numbers]]` tables. When the environment names \
         a number the file also has, the environment's values win key by key, so the file can hold \
         everything but the secrets.\n\n\
         `switchboard config example` prints a commented example file; `switchboard config check` \
         validates the configuration and prints it with secrets redacted.\n\n\
         | key | environment | default | meaning |\n|---|---|---|---|\n",
    );
    for set in SETTINGS {
        let default = if set.default.is_empty() {
            "—".to_owned()
        } else {
            format!("`{}`", set.default)
        };
        s.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            set.key,
            set.env.map(|e| format!("`{e}`")).unwrap_or_default(),
            default,
            set.doc
        ));
    }
    s
}

/// A commented example file, generated from [`SETTINGS`].
pub fn example_toml() -> String {
    let mut sections: BTreeMap<&str, Vec<&Setting>> = BTreeMap::new();
    for set in SETTINGS {
        let section = set.key.split_once('.').map_or("", |(s, _)| s);
        sections.entry(section).or_default().push(set);
    }
    let mut s = String::from(
        "# Switchboard configuration. Every key is optional unless marked required;\n# environment variables override the file, flags override both.\n",
    );
    let write = |s: &mut String, set: &Setting| {
        s.push_str(&format!("\n# {}\n", set.doc));
        if let Some(e) = set.env {
            s.push_str(&format!("# Environment: {e}\n"));
        }
        let key = set.key.rsplit('.').next().unwrap();
        let example = match set.key {
            "numbers[].phone_number_id" => "\"106540352242922\"".to_owned(),
            "numbers[].waba_id" => "\"102290129340398\"".to_owned(),
            "numbers[].display_number" => "\"+15550783881\"".to_owned(),
            "numbers[].access_token" => {
                "\"EAAG...\"  # better: SWITCHBOARD_ACCESS_TOKEN".to_owned()
            }
            "numbers[].app_secret" => "\"...\"  # better: SWITCHBOARD_APP_SECRET".to_owned(),
            "numbers[].app_id" => "\"1234567890\"".to_owned(),
            "numbers[].monthly_budget" => "\"500.00\"".to_owned(),
            "webhook.verify_token" => "\"choose-a-long-random-string\"".to_owned(),
            "webhook.previous_app_secrets" => "[]".to_owned(),
            _ if set.default == "true" || set.default == "false" => set.default.to_owned(),
            "consent.opt_out_keywords" | "consent.opt_in_keywords" => format!(
                "[{}]",
                set.default
                    .split(',')
                    .map(|w| format!("{w:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ if set.default.parse::<i64>().is_ok() => set.default.to_owned(),
            _ => format!("{:?}", set.default),
        };
        s.push_str(&format!("{key} = {example}\n"));
    };
    for set in sections.get("").into_iter().flatten() {
        write(&mut s, set);
    }
    for (section, sets) in &sections {
        if section.is_empty() {
            continue;
        }
        if *section == "numbers[]" {
            s.push_str(
                "\n# One table per sending number; repeat [[numbers]] for more.\n[[numbers]]\n",
            );
        } else {
            s.push_str(&format!("\n[{section}]\n"));
        }
        for set in sets {
            write(&mut s, set);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_alone_are_valid() {
        let c = Config::from_sources(None, env(&[]), &Overrides::default()).unwrap();
        assert_eq!(c.database_url.expose(), "sqlite://switchboard.db");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.metrics_listen.unwrap().to_string(), "127.0.0.1:9090");
        assert_eq!(c.graph.base_url, "https://graph.facebook.com");
        assert!(c.numbers.is_empty());
    }

    #[test]
    fn a_single_number_from_the_environment_alone() {
        let c = Config::from_sources(
            None,
            env(&[
                ("SWITCHBOARD_DATABASE_URL", "postgres://sb:hunter2@db/sb"),
                ("SWITCHBOARD_LISTEN", "0.0.0.0:8000"),
                ("SWITCHBOARD_METRICS_LISTEN", "127.0.0.1:9900"),
                ("SWITCHBOARD_GRAPH_BASE_URL", "http://127.0.0.1:4000/"),
                ("SWITCHBOARD_GRAPH_API_VERSION", "v24.0"),
                ("SWITCHBOARD_APP_SECRET", "app-secret-value"),
                ("SWITCHBOARD_VERIFY_TOKEN", "verify-me"),
                ("SWITCHBOARD_PHONE_NUMBER_ID", "106540352242922"),
                ("SWITCHBOARD_WABA_ID", "102290129340398"),
                ("SWITCHBOARD_ACCESS_TOKEN", "EAAG-token-value"),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:8000");
        assert_eq!(c.graph.base_url, "http://127.0.0.1:4000");
        assert_eq!(c.graph.api_version, "v24.0");
        assert_eq!(c.numbers.len(), 1);
        let n = &c.numbers[0];
        assert_eq!(
            (
                n.phone_number_id.as_str(),
                n.waba_id.as_str(),
                n.throughput_mps
            ),
            ("106540352242922", "102290129340398", 80)
        );
        assert_eq!(n.access_token.expose_secret(), "EAAG-token-value");
        // Secrets never show in Debug.
        let debug = format!("{c:?}");
        for secret in [
            "hunter2",
            "app-secret-value",
            "verify-me",
            "EAAG-token-value",
        ] {
            assert!(
                !debug.contains(secret),
                "{secret} leaked into Debug: {debug}"
            );
            assert!(
                !c.redacted_toml().contains(secret),
                "{secret} leaked into redacted_toml"
            );
        }
        assert!(debug.contains("postgres://sb:***@db/sb"));
    }

    #[cfg(unix)]
    #[test]
    fn a_config_file_with_secrets_that_others_can_read_is_named() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchboard.toml");
        std::fs::write(
            &path,
            "database_url = \"postgres://sb:pw@db/sb\"\n[[numbers]]\napp_secret = \"s\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let why = Config::exposed_secrets(&path).expect("named");
        assert!(
            why.contains("database_url")
                && why.contains("numbers[].app_secret")
                && why.contains("644"),
            "{why}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(Config::exposed_secrets(&path), None, "600 is fine");
        std::fs::write(&path, "listen = \"0.0.0.0:8080\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(Config::exposed_secrets(&path), None, "nothing secret in it");
    }

    #[test]
    fn several_numbers_from_a_file_with_env_secrets_merged() {
        let file = r#"
            database_url = "sqlite:///var/lib/switchboard/data.db"
            [webhook]
            verify_token = "t"
            [[numbers]]
            phone_number_id = "111"
            waba_id = "900"
            display_number = "+1 555 078 3881"
            access_token = "tok-a"
            app_secret = "sec-a"
            throughput_mps = 1000
            [[numbers]]
            phone_number_id = "222"
            waba_id = "901"
            app_secret = "sec-b"
        "#;
        let c = Config::from_sources(
            Some(file),
            env(&[
                ("SWITCHBOARD_PHONE_NUMBER_ID", "222"),
                ("SWITCHBOARD_ACCESS_TOKEN", "tok-b"),
            ]),
            &Overrides {
                listen: Some("127.0.0.1:0".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(c.numbers.len(), 2);
        assert_eq!(
            c.numbers[0].display_number.as_ref().unwrap().as_str(),
            "+15550783881"
        );
        assert_eq!(c.numbers[0].throughput_mps, 1000);
        assert_eq!(c.numbers[1].access_token.expose_secret(), "tok-b");
        assert_eq!(c.listen.port(), 0, "flags override");
        assert_eq!(c.app_secrets().len(), 2);
    }

    #[test]
    fn every_problem_is_reported_at_once_naming_its_key() {
        let file = r#"
            database_url = "mysql://x"
            listen = "localhost"
            [log]
            format = "xml"
            [graph]
            api_version = "26"
            [[numbers]]
            phone_number_id = "abc"
            throughput_mps = 5000
            display_number = "555-1234"
        "#;
        let err = Config::from_sources(
            Some(file),
            env(&[("SWITCHBOARD_GRAPH_TIMEOUT_SECS", "soon")]),
            &Overrides::default(),
        )
        .unwrap_err();
        let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
        for key in [
            "database_url",
            "listen",
            "log.format",
            "graph.api_version",
            "graph.timeout_secs",
            "numbers[0].phone_number_id",
            "numbers[0].waba_id",
            "numbers[0].access_token",
            "numbers[0].app_secret",
            "numbers[0].display_number",
            "numbers[0].throughput_mps",
        ] {
            assert!(keys.contains(&key), "{key} not reported; got {keys:?}");
        }
        assert!(
            err.to_string()
                .contains("numbers[0].throughput_mps: is 5000; it must be between 1 and 1000"),
            "{err}"
        );
    }

    #[test]
    fn typos_in_the_file_are_errors() {
        let err = Config::from_sources(
            Some("listn = \"0.0.0.0:1\""),
            env(&[]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
        let err = Config::from_sources(
            Some("[[numbers]]\nphone_id = \"1\""),
            env(&[]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("phone_id"), "{err}");
    }

    #[test]
    fn duplicate_numbers_are_refused() {
        let file = "[[numbers]]\nphone_number_id=\"1\"\nwaba_id=\"2\"\naccess_token=\"a\"\napp_secret=\"b\"\n\
                    [[numbers]]\nphone_number_id=\"1\"\nwaba_id=\"2\"\naccess_token=\"a\"\napp_secret=\"b\"\n";
        let err = Config::from_sources(Some(file), env(&[]), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("configured twice"), "{err}");
    }

    #[test]
    fn the_example_file_is_valid_and_documents_every_setting() {
        let example = example_toml();
        let c = Config::from_sources(Some(&example), env(&[]), &Overrides::default()).unwrap();
        assert_eq!(c.numbers.len(), 1);
        for set in SETTINGS {
            assert!(
                example.contains(set.doc),
                "{} is not in the example",
                set.key
            );
        }
    }

    #[test]
    fn the_committed_reference_is_current() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            committed,
            reference_markdown(),
            "docs/configuration.md is stale: run `switchboard config docs > docs/configuration.md`"
        );
    }
}
