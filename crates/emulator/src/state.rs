//! The emulator's world: numbers, simulated customers, what the business sent, templates,
//! media, and the counters behind Meta's limits. One mutex guards it; no `.await` happens while
//! it is held, so a std mutex is right (and cheaper than tokio's).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use crate::clock::Gcra;
use crate::config::{EmulatorConfig, NumberSpec};
use crate::faults::Faults;

pub const DAY_MS: i64 = 86_400_000;

pub struct State {
    pub numbers: HashMap<String, NumberState>,
    pub customers: HashMap<String, Customer>,
    /// BSUID → wa_id.
    pub by_bsuid: HashMap<String, String>,
    /// Outbound messages and rejected requests, by id, in arrival order.
    pub outbox: HashMap<String, OutboxRecord>,
    pub outbox_order: VecDeque<String>,
    /// Inbound wamids (for mark-as-read, reactions, context).
    pub inbound: HashMap<String, InboundRecord>,
    pub templates: Vec<TemplateRecord>,
    pub media: HashMap<String, MediaRecord>,
    /// Business-initiated deliveries per user in the rolling 24 h (messaging limit).
    pub reached: HashMap<String, i64>,
    pub faults: Faults,
    pub subscribed_apps: bool,
    pub seq: u64,
}

pub struct NumberState {
    pub spec: NumberSpec,
    pub throughput: Gcra,
    pub quality: String,
    pub status: String,
    /// Account restriction: business-initiated messaging blocked (368).
    pub restricted: bool,
    pub pair: HashMap<String, Gcra>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Customer {
    pub wa_id: String,
    pub name: String,
    pub user_id: String,
    pub username: Option<String>,
    /// False: the number is not on WhatsApp (sends fail with 131026).
    pub on_whatsapp: bool,
    /// Reads what it receives (read receipts on).
    pub reads: bool,
    pub read_delay_ms: Option<u64>,
    /// Replies to each business message after a delay, with a probability.
    pub auto_reply: Option<AutoReply>,
    pub opted_out_marketing: bool,
    pub blocked_business: bool,
    /// Last inbound message per business number (opens the 24 h service window).
    pub last_inbound_ms: HashMap<String, i64>,
    /// Free-entry-point window end per business number (72 h after a CTWA referral reply).
    pub fep_until_ms: HashMap<String, i64>,
    #[serde(skip)]
    pub marketing_received: VecDeque<i64>,
    /// The `contacts[]` profile JSON, kept ready (see [`Customer::refresh_contact`]).
    #[serde(skip)]
    pub contact: Arc<str>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct AutoReply {
    pub text: String,
    #[serde(default = "default_reply_delay")]
    pub delay_ms: u64,
    #[serde(default = "one")]
    pub probability: f64,
}

fn default_reply_delay() -> u64 {
    2_000
}
fn one() -> f64 {
    1.0
}

impl Customer {
    pub fn new(wa_id: &str, name: Option<&str>) -> Customer {
        Customer {
            wa_id: wa_id.to_owned(),
            name: name
                .map(str::to_owned)
                .unwrap_or_else(|| format!("Customer {}", &wa_id[wa_id.len().saturating_sub(4)..])),
            user_id: bsuid_for(wa_id),
            username: None,
            on_whatsapp: true,
            reads: true,
            read_delay_ms: None,
            auto_reply: None,
            opted_out_marketing: false,
            blocked_business: false,
            last_inbound_ms: HashMap::new(),
            fep_until_ms: HashMap::new(),
            marketing_received: VecDeque::new(),
            contact: Arc::from(""),
        }
    }

    pub fn window_open(&self, number: &str, now: i64) -> bool {
        self.last_inbound_ms
            .get(number)
            .is_some_and(|t| now - t < DAY_MS)
    }

    pub fn fep_open(&self, number: &str, now: i64) -> bool {
        self.fep_until_ms.get(number).is_some_and(|t| now < *t)
    }

    /// Recomputes the `contacts[]` profile Meta sends with this customer's messages and
    /// statuses (after a change of name, username or number).
    pub fn refresh_contact(&mut self) {
        let mut profile = serde_json::json!({ "name": self.name });
        if let Some(u) = &self.username {
            profile["username"] = Value::String(u.clone());
        }
        self.contact = Arc::from(
            serde_json::json!({ "profile": profile, "wa_id": self.wa_id, "user_id": self.user_id })
                .to_string(),
        );
    }
}

/// A BSUID for a phone: the country of its calling code, and digits derived from the number.
pub fn bsuid_for(wa_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(wa_id.as_bytes());
    let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    format!(
        "{}.{}",
        country_of(wa_id),
        n % (9 * 10u64.pow(18)) + 10u64.pow(18)
    )
}

/// ISO country of a wa_id by calling code (a short table: enough for simulated customers).
pub fn country_of(wa_id: &str) -> &'static str {
    const CODES: &[(&str, &str)] = &[
        ("1", "US"),
        ("44", "GB"),
        ("49", "DE"),
        ("33", "FR"),
        ("34", "ES"),
        ("39", "IT"),
        ("31", "NL"),
        ("55", "BR"),
        ("52", "MX"),
        ("54", "AR"),
        ("57", "CO"),
        ("91", "IN"),
        ("62", "ID"),
        ("60", "MY"),
        ("63", "PH"),
        ("65", "SG"),
        ("234", "NG"),
        ("27", "ZA"),
        ("20", "EG"),
        ("971", "AE"),
        ("966", "SA"),
        ("90", "TR"),
        ("7", "RU"),
        ("972", "IL"),
        ("61", "AU"),
        ("81", "JP"),
        ("82", "KR"),
        ("86", "CN"),
    ];
    CODES
        .iter()
        .filter(|(cc, _)| wa_id.starts_with(cc))
        .max_by_key(|(cc, _)| cc.len())
        .map_or("US", |(_, c)| c)
}

/// One thing the business sent (or tried to): what the client will see in the outbox.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxRecord {
    pub id: String,
    pub phone_number_id: String,
    pub received_at_ms: i64,
    pub to: Option<String>,
    pub recipient: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub template: Option<TemplateRef>,
    /// `accepted` (HTTP 200) or `rejected` (a Graph error was returned).
    pub verdict: &'static str,
    pub error: Option<VerdictError>,
    pub statuses: Vec<StatusRecord>,
    pub pricing: Option<Value>,
    /// The request body as received.
    #[serde(serialize_with = "json_bytes")]
    pub request: Bytes,
    #[serde(skip)]
    pub callback: Option<String>,
    #[serde(skip)]
    pub wa_id: Option<String>,
    #[serde(skip)]
    pub voice: bool,
}

/// Raw JSON bytes written as JSON (or as a string when they are not JSON).
fn json_bytes<S: serde::Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
    match serde_json::from_slice::<Value>(b) {
        Ok(v) => v.serialize(s),
        Err(_) => String::from_utf8_lossy(b).serialize(s),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TemplateRef {
    pub name: String,
    pub language: String,
    pub category: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerdictError {
    pub code: i64,
    pub http_status: u16,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusRecord {
    pub status: String,
    pub at_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct InboundRecord {
    pub wa_id: String,
    pub phone_number_id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TemplateRecord {
    pub id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: String,
    pub parameter_format: String,
    pub components: Value,
    pub quality_score: String,
    pub rejected_reason: Option<String>,
    pub created_at_ms: i64,
    #[serde(skip)]
    pub rejection: Option<(String, String)>,
}

pub struct MediaRecord {
    pub id: String,
    pub bytes: Bytes,
    pub mime_type: String,
    pub sha256_b64: String,
    pub created_at_ms: i64,
}

impl State {
    pub fn new(config: &EmulatorConfig) -> State {
        let numbers = config
            .numbers
            .iter()
            .map(|spec| {
                (
                    spec.phone_number_id.clone(),
                    NumberState {
                        spec: spec.clone(),
                        throughput: Gcra::new(),
                        quality: "GREEN".into(),
                        status: "CONNECTED".into(),
                        restricted: false,
                        pair: HashMap::new(),
                    },
                )
            })
            .collect();
        State {
            numbers,
            customers: HashMap::new(),
            by_bsuid: HashMap::new(),
            outbox: HashMap::new(),
            outbox_order: VecDeque::new(),
            inbound: HashMap::new(),
            templates: Vec::new(),
            media: HashMap::new(),
            reached: HashMap::new(),
            faults: Faults::default(),
            subscribed_apps: false,
            seq: 0,
        }
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A customer by wa_id, created when unknown and `auto` is set.
    pub fn customer_mut(&mut self, wa_id: &str, auto: bool) -> Option<&mut Customer> {
        if !self.customers.contains_key(wa_id) {
            if !auto {
                return None;
            }
            self.add_customer(Customer::new(wa_id, None));
        }
        self.customers.get_mut(wa_id)
    }

    pub fn add_customer(&mut self, mut c: Customer) -> &mut Customer {
        c.refresh_contact();
        self.by_bsuid.insert(c.user_id.clone(), c.wa_id.clone());
        let wa_id = c.wa_id.clone();
        self.customers.entry(wa_id).or_insert(c)
    }

    pub fn record(&mut self, rec: OutboxRecord, capacity: usize) {
        self.outbox_order.push_back(rec.id.clone());
        self.outbox.insert(rec.id.clone(), rec);
        while self.outbox_order.len() > capacity {
            if let Some(old) = self.outbox_order.pop_front() {
                self.outbox.remove(&old);
            }
        }
    }

    /// Counts a business-initiated delivery to `wa_id`; false when the messaging limit is spent.
    pub fn reach(&mut self, wa_id: &str, now: i64, limit: Option<usize>) -> bool {
        if self.reached.get(wa_id).is_some_and(|t| now - t < DAY_MS) {
            return true;
        }
        if let Some(limit) = limit {
            self.reached.retain(|_, t| now - *t < DAY_MS);
            if self.reached.len() >= limit {
                return false;
            }
        }
        self.reached.insert(wa_id.to_owned(), now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bsuids_are_stable_and_country_prefixed() {
        assert_eq!(bsuid_for("16505551234"), bsuid_for("16505551234"));
        assert!(bsuid_for("16505551234").starts_with("US."));
        assert!(bsuid_for("5511987654321").starts_with("BR."));
        assert!(bsuid_for("2348012345678").starts_with("NG."));
        assert_ne!(bsuid_for("16505551234"), bsuid_for("16505551235"));
    }

    #[test]
    fn messaging_limit_counts_unique_users_in_24h() {
        let mut s = State::new(&EmulatorConfig::default());
        assert!(s.reach("1", 0, Some(2)));
        assert!(
            s.reach("1", 10, Some(2)),
            "the same user again costs nothing"
        );
        assert!(s.reach("2", 20, Some(2)));
        assert!(!s.reach("3", 30, Some(2)));
        assert!(s.reach("3", DAY_MS + 1, Some(2)), "the window rolls");
    }
}
