//! The table of settings: one row per setting gives its key, type, default, environment
//! variable, bounds and meaning. Loading, `Config`'s fields, redaction, `docs/configuration.md`
//! and the example file are all generated from these rows (see `table.rs` for the row's grammar),
//! so adding a setting is adding a row here.

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;
use switchboard_domain::E164;
use switchboard_domain::pricing::Micros;

use super::Overrides;
use super::load::Source;
use super::numbers::{self, NumberConfig};
use super::table::{Setting, config_table};
use super::value::{DatabaseUrl, LogFormat, Value};

config_table! {
    top {
        /// Where Switchboard keeps its data. `sqlite://PATH` (created, WAL mode; the webhook journal
        /// goes in `PATH-webhooks.db` beside it, so back up both) or `postgres://USER:PASSWORD@HOST/DB`
        /// for several instances.
        database_url: DatabaseUrl = "sqlite://switchboard.db",
            env "SWITCHBOARD_DATABASE_URL", flag "--database-url";
        /// Address of the public listener: webhooks, REST API, web inbox, `/healthz`, `/readyz`.
        listen: SocketAddr = "127.0.0.1:8080", env "SWITCHBOARD_LISTEN", flag "--listen";
        /// Address of the Prometheus `/metrics` listener, kept off the public port. Empty disables it.
        metrics_listen: Option<SocketAddr> = "127.0.0.1:9090",
            env "SWITCHBOARD_METRICS_LISTEN", flag "--metrics-listen";
    }

    /// How the server logs.
    #[derive(PartialEq, Eq)]
    [log] LogConfig {
        /// `pretty` for people, `json` for log collectors (one object per line).
        format: LogFormat = "pretty", env "SWITCHBOARD_LOG_FORMAT";
        /// A tracing filter, e.g. `info` or `info,switchboard_server=debug`. Phone numbers and message
        /// bodies are never logged at info.
        filter: String = "info", env "SWITCHBOARD_LOG";
    }

    /// Where and how Meta's Graph API is called.
    [graph] GraphConfig {
        /// Meta's Graph API. Point it at the emulator (`switchboard emulator`) to work offline.
        base_url: String = "https://graph.facebook.com",
            env "SWITCHBOARD_GRAPH_BASE_URL", check http_url;
        /// The Graph API version sent on every call (`vNN.0`).
        api_version: String = "v26.0", env "SWITCHBOARD_GRAPH_API_VERSION", check graph_version;
        /// How long one Graph call may take before it counts as an ambiguous failure.
        timeout_secs: u64 = "30", env "SWITCHBOARD_GRAPH_TIMEOUT_SECS", range 1..=600;
    }

    /// How Meta's webhooks are accepted.
    [webhook] WebhookConfig {
        /// The verify token you entered in Meta's App Dashboard; answers the GET handshake. Secret.
        verify_token: Option<SecretString> = "", env "SWITCHBOARD_VERIFY_TOKEN",
            example r#""choose-a-long-random-string""#;
        /// Largest webhook body accepted (Meta sends at most 3 MB).
        max_body_bytes: usize = "3145728",
            env "SWITCHBOARD_WEBHOOK_MAX_BODY_BYTES", range 1024..=67_108_864;
        /// App secrets still accepted on webhooks while you rotate a Meta app's secret (comma separated
        /// in the environment, a list in the file). Secret. Remove them once Meta signs with the new
        /// secret.
        previous_app_secrets: Vec<SecretString> = "", env "SWITCHBOARD_PREVIOUS_APP_SECRETS";
    }

    /// How the public listener treats its clients: cookies, proxies, limits, what it may fetch.
    #[derive(PartialEq, Eq)]
    [http] HttpConfig {
        /// Always mark the session cookie `Secure`. Set it when a TLS proxy serves the inbox over
        /// https; without it the cookie is `Secure` only when the proxy sends `X-Forwarded-Proto:
        /// https`.
        secure_cookies: bool = "false", env "SWITCHBOARD_SECURE_COOKIES";
        /// Take the client's address from `X-Forwarded-For` (per-address login limits). Only behind a
        /// proxy that sets that header: otherwise anyone can claim any address.
        trust_forwarded: bool = "false", env "SWITCHBOARD_TRUST_FORWARDED";
        /// API requests a minute allowed per API key or logged-in person, with bursts of up to a tenth
        /// of it at once; more are answered 429 with `Retry-After`. 0 turns the limit off. Meta's
        /// webhooks are never limited.
        requests_per_minute: u32 = "6000",
            env "SWITCHBOARD_REQUESTS_PER_MINUTE", range 0..=10_000_000;
        /// Live-update streams (`GET /api/v1/events`) one person or API key may hold open at once (a
        /// browser tab holds one); a further one is answered 429.
        event_streams_per_user: u32 = "8",
            env "SWITCHBOARD_EVENT_STREAMS_PER_USER", range 1..=100_000;
        /// Seconds a client has to send a request's headers (and an idle keep-alive connection stays
        /// open); a client that trickles them is disconnected. Every request then has 60 seconds to be
        /// answered.
        header_timeout_secs: u64 = "30", env "SWITCHBOARD_HEADER_TIMEOUT_SECS", range 1..=3_600;
        /// Let media links in sends, and URLs the server downloads from, point at private, loopback and
        /// link-local addresses. For development only; the Graph API's own address (`graph.base_url`)
        /// is always allowed.
        allow_private_targets: bool = "false", env "SWITCHBOARD_ALLOW_PRIVATE_TARGETS";
    }

    /// Development and tests only.
    [dev] DevConfig {
        /// Development and tests only: follow the clock of the emulator at this URL (its
        /// `/_emulator/clock`), so advancing the emulator's clock closes service windows here too.
        /// Empty (production): the system clock.
        clock_url: Option<String> = "", env "SWITCHBOARD_DEV_CLOCK_URL";
    }

    /// Where customers' media is kept.
    [media] MediaConfig {
        /// Where downloaded customer media is kept, content-addressed by SHA-256.
        dir: PathBuf = "switchboard-media", env "SWITCHBOARD_MEDIA_DIR";
    }

    /// How the outbox sends: concurrency, per-customer pacing, retries, marketing cap.
    #[derive(PartialEq, Eq)]
    [outbound] OutboundConfig {
        /// Sends one number may have waiting for Meta's answer at once. At 1,000 messages/s and 300 ms
        /// per call a number needs about 300.
        max_in_flight: usize = "512", env "SWITCHBOARD_OUTBOUND_MAX_IN_FLIGHT", range 1..=10_000;
        /// Pacing per customer: at most one message per this many milliseconds on average (Meta's pair
        /// rate is one per 6 s; the default keeps a 5 % margin so network jitter never trips 131056).
        pair_interval_ms: u64 = "6300",
            env "SWITCHBOARD_OUTBOUND_PAIR_INTERVAL_MS", range 0..=3_600_000;
        /// Messages one customer may get in a burst before pacing applies (Meta allows 45, borrowed
        /// from the future).
        pair_burst: u32 = "40", env "SWITCHBOARD_OUTBOUND_PAIR_BURST", range 1..=1_000;
        /// Attempts for a message that keeps failing with transient errors (5xx, timeouts, 130429,
        /// 131056, 131057) before it is marked failed.
        max_attempts: u32 = "8", env "SWITCHBOARD_OUTBOUND_MAX_ATTEMPTS", range 1..=100;
        /// Marketing templates one customer may receive per rolling 24 hours before Switchboard refuses
        /// (`marketing_cap_reached`); 0 turns the cap off. Meta publishes no number, so this is yours
        /// to set.
        marketing_cap_per_user: Option<u32> = "0",
            env "SWITCHBOARD_OUTBOUND_MARKETING_CAP_PER_USER", range 0..=1_000;
    }

    /// Consent keywords and the automatic replies to them.
    #[derive(PartialEq, Eq)]
    [consent] ConsentConfig {
        /// Comma-separated words that, as a customer's whole message (case and punctuation ignored),
        /// opt them out of every business-initiated message from the number.
        opt_out_keywords: Vec<String> = "STOP,STOPALL,UNSUBSCRIBE,CANCEL,END,QUIT,OPTOUT,OPT OUT,PARAR,PARE,BAJA,CANCELAR,ARRÊT,ARRET,DÉSABONNER,DESABONNER,STOPP,ABMELDEN,ANNULLA,DISISCRIVITI,SAIR,BERHENTI,停止,退订",
            env "SWITCHBOARD_CONSENT_OPT_OUT_KEYWORDS";
        /// Comma-separated words that opt a customer back in.
        opt_in_keywords: Vec<String> = "START,UNSTOP,SUBSCRIBE,RESUME,OPTIN,OPT IN,ALTA,COMENZAR,DEMARRER,DÉMARRER,ANMELDEN,INICIAR,MULAI",
            env "SWITCHBOARD_CONSENT_OPT_IN_KEYWORDS";
        /// Sent automatically (inside the window the customer's message opened) after an opt-out
        /// keyword. Empty: no reply.
        opt_out_reply: String = "You will not receive further messages from us. Reply START to opt back in.",
            env "SWITCHBOARD_CONSENT_OPT_OUT_REPLY", keep_empty true;
        /// Sent automatically after an opt-in keyword. Empty: no reply.
        opt_in_reply: String = "You are subscribed again. Reply STOP to opt out.",
            env "SWITCHBOARD_CONSENT_OPT_IN_REPLY", keep_empty true;
    }

    [[numbers]] {
        /// The sending number's id in Meta's Graph API (digits). Required for each number.
        phone_number_id: String = "", env "SWITCHBOARD_PHONE_NUMBER_ID",
            example r#""106540352242922""#;
        /// The WhatsApp Business Account the number belongs to (digits). Required.
        waba_id: String = "", env "SWITCHBOARD_WABA_ID",
            example r#""102290129340398""#;
        /// The number customers see, in international form (`+15550783881`). Optional; shown in the
        /// inbox.
        display_number: Option<E164> = "", env "SWITCHBOARD_DISPLAY_NUMBER",
            example r#""+15550783881""#;
        /// A system-user access token with `whatsapp_business_messaging` and
        /// `whatsapp_business_management`. Secret. Required.
        access_token: SecretString = "", env "SWITCHBOARD_ACCESS_TOKEN",
            example r#""EAAG..."  # better: SWITCHBOARD_ACCESS_TOKEN"#;
        /// The Meta app's secret, which signs the webhooks for this number (`X-Hub-Signature-256`).
        /// Secret. Required.
        app_secret: SecretString = "", env "SWITCHBOARD_APP_SECRET",
            example r#""..."  # better: SWITCHBOARD_APP_SECRET"#;
        /// The Meta app's id. Optional; recorded with each webhook it signed.
        app_id: Option<String> = "", env "SWITCHBOARD_APP_ID",
            example r#""1234567890""#;
        /// A monthly budget for this number, in the rate card's currency (e.g. `500.00`). A campaign
        /// whose estimated cost would take the month's estimate past it is refused unless started with
        /// `"confirm_budget": true`. Empty: no budget.
        monthly_budget: Option<Micros> = "", env "SWITCHBOARD_MONTHLY_BUDGET",
            example r#""500.00""#;
        /// Messages per second Meta allows this number (80 by default, up to 1000 after an upgrade).
        throughput_mps: u32 = "80", env "SWITCHBOARD_THROUGHPUT_MPS", range 1..=1000;
    }
}

/// `graph.base_url`: an http(s) URL, kept without a trailing slash.
fn http_url(url: String) -> Result<String, String> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(url.trim_end_matches('/').to_owned())
    } else {
        Err("must be an http:// or https:// URL, e.g. https://graph.facebook.com".into())
    }
}

/// `graph.api_version`: `vNN.0`.
fn graph_version(version: String) -> Result<String, String> {
    let ok = version
        .strip_prefix('v')
        .and_then(|v| v.strip_suffix(".0"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(version)
    } else {
        Err("must look like v26.0".into())
    }
}
