//! What an emulated Meta looks like: its numbers and credentials, the limits it enforces, how
//! fast simulated customers react, and how it delivers webhooks. Every rule can be tuned, and
//! the defaults are Meta's documented values.

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EmulatorConfig {
    /// Graph API version accepted in paths (any `vNN.0` is accepted; this one is advertised).
    pub api_version: String,
    pub app_id: String,
    pub app_secret: String,
    pub access_token: String,
    /// Valid tokens without write permissions: sends answer 10, template changes 200 (403).
    pub read_only_tokens: Vec<String>,
    pub verify_token: String,
    pub waba_id: String,
    /// ISO country of the business (for authentication-international pricing).
    pub business_country: String,
    pub numbers: Vec<NumberSpec>,
    /// Where webhooks go; `None` keeps them in the delivery log only.
    pub webhook_url: Option<String>,
    /// Messaging-limit tier: unique users reached outside service windows per rolling 24 h.
    pub messaging_limit: MessagingLimit,
    /// Pair rate: one message per `pair_interval_secs` to the same user, bursts up to `pair_burst`.
    pub pair_interval_secs: f64,
    pub pair_burst: u32,
    /// Marketing templates one user may receive per rolling 24 h before Meta answers 131049
    /// (Meta publishes no number; 0 disables the cap).
    pub marketing_cap_per_user: u32,
    pub statuses: StatusTiming,
    pub webhooks: WebhookDelivery,
    /// How long template review takes (emulated time).
    pub template_review_secs: u64,
    /// Unknown phone numbers are WhatsApp users (a new simulated customer each).
    pub auto_customers: bool,
    /// Upper bound on outbox records kept for `GET /_emulator/outbox` (oldest dropped first).
    pub outbox_capacity: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct NumberSpec {
    pub phone_number_id: String,
    /// Digits without `+`, as Meta's `display_phone_number`.
    pub display_phone_number: String,
    pub verified_name: String,
    /// Messages per second (Meta: 80 by default, 1,000 after an upgrade).
    pub throughput_mps: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessagingLimit {
    #[serde(rename = "TIER_250")]
    Tier250,
    #[serde(rename = "TIER_2K")]
    Tier2K,
    #[serde(rename = "TIER_10K")]
    Tier10K,
    #[serde(rename = "TIER_100K")]
    Tier100K,
    #[serde(rename = "TIER_UNLIMITED")]
    Unlimited,
}

impl MessagingLimit {
    pub fn users(self) -> Option<usize> {
        match self {
            MessagingLimit::Tier250 => Some(250),
            MessagingLimit::Tier2K => Some(2_000),
            MessagingLimit::Tier10K => Some(10_000),
            MessagingLimit::Tier100K => Some(100_000),
            MessagingLimit::Unlimited => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            MessagingLimit::Tier250 => "TIER_250",
            MessagingLimit::Tier2K => "TIER_2K",
            MessagingLimit::Tier10K => "TIER_10K",
            MessagingLimit::Tier100K => "TIER_100K",
            MessagingLimit::Unlimited => "TIER_UNLIMITED",
        }
    }
}

/// Delays after an accepted send, in emulated milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusTiming {
    pub sent_ms: u64,
    pub delivered_ms: u64,
    /// When a customer who reads messages reads one (customers can override).
    pub read_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookDelivery {
    /// Most updates (messages, statuses, events) in one POST.
    pub max_batch: usize,
    /// How long to wait for more updates before posting a batch (real milliseconds).
    pub batch_window_ms: u64,
    /// POSTs in flight at once.
    pub concurrency: usize,
    /// Probability that a batch is delivered twice (as Meta's retries and multi-app setups do).
    pub duplicate_rate: f64,
    /// Probability that a batch is held back and delivered after the next one.
    pub reorder_rate: f64,
    /// Meta's retry schedule runs for 7 days; multiply its delays by this (1.0 = real time).
    pub retry_time_scale: f64,
    /// How long the receiver has to answer one POST.
    pub timeout_ms: u64,
    /// Delivery attempts kept in the log (`GET /_emulator/webhooks`); bodies are shared with
    /// the batches, not copied.
    pub log_capacity: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            api_version: "v26.0".into(),
            app_id: "1234567890123456".into(),
            app_secret: "emulator-app-secret".into(),
            access_token: "EAAG-emulator-access-token".into(),
            read_only_tokens: vec!["EAAG-emulator-read-only-token".into()],
            verify_token: "emulator-verify-token".into(),
            waba_id: "102290129340398".into(),
            business_country: "US".into(),
            numbers: vec![NumberSpec::default()],
            webhook_url: None,
            messaging_limit: MessagingLimit::Tier2K,
            pair_interval_secs: 6.0,
            pair_burst: 45,
            marketing_cap_per_user: 0,
            statuses: StatusTiming::default(),
            webhooks: WebhookDelivery::default(),
            template_review_secs: 30,
            auto_customers: true,
            outbox_capacity: 500_000,
        }
    }
}

impl Default for NumberSpec {
    fn default() -> Self {
        NumberSpec {
            phone_number_id: "106540352242922".into(),
            display_phone_number: "15550783881".into(),
            verified_name: "Lucky Shrub".into(),
            throughput_mps: 80,
        }
    }
}

impl Default for StatusTiming {
    fn default() -> Self {
        StatusTiming {
            sent_ms: 200,
            delivered_ms: 1_000,
            read_ms: 5_000,
        }
    }
}

impl Default for WebhookDelivery {
    fn default() -> Self {
        WebhookDelivery {
            max_batch: 50,
            batch_window_ms: 5,
            concurrency: 8,
            duplicate_rate: 0.0,
            reorder_rate: 0.0,
            retry_time_scale: 1.0,
            timeout_ms: 10_000,
            log_capacity: 2_000,
        }
    }
}

/// Meta's retry schedule for a failing webhook receiver: immediately, then ever more slowly,
/// for seven days (the exact steps are not published; this follows its described shape).
pub fn retry_delays() -> impl Iterator<Item = Duration> {
    const STEPS_SECS: &[u64] = &[
        0, 15, 30, 60, 120, 300, 600, 1_800, 3_600, 7_200, 14_400, 28_800, 43_200,
    ];
    let mut total = 0u64;
    STEPS_SECS
        .iter()
        .copied()
        .chain(std::iter::repeat(86_400))
        .take_while(move |s| {
            total += s;
            total <= 7 * 86_400
        })
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    #[test]
    fn retries_span_seven_days() {
        let total: u64 = super::retry_delays().map(|d| d.as_secs()).sum();
        assert!(total <= 7 * 86_400 && total > 6 * 86_400, "{total}");
        assert_eq!(super::retry_delays().next().unwrap().as_secs(), 0);
    }
}
