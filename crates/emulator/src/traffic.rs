//! The traffic generator: `customers` simulated people writing to a business number at an
//! overall `rate_per_sec` for `duration_secs`, and replying to what they receive with a
//! probability. Used by the demo and by load tests; it stops by itself.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Emulator;
use crate::state::{AutoReply, Customer};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrafficSpec {
    pub customers: u32,
    pub rate_per_sec: f64,
    pub duration_secs: f64,
    #[serde(default)]
    pub reply_probability: f64,
    /// First wa_id; customers are numbered from it.
    #[serde(default = "default_base")]
    pub base_wa_id: u64,
    pub phone_number_id: Option<String>,
}

fn default_base() -> u64 {
    15_550_100_000
}

#[derive(Debug, Default, Serialize)]
pub struct TrafficStats {
    pub running: bool,
    pub sent: u64,
}

/// Per-emulator traffic counters.
#[derive(Debug, Default)]
pub struct TrafficState {
    running: AtomicBool,
    sent: AtomicU64,
}

const LINES: &[&str] = &[
    "Hi! Is my order on its way?",
    "Do you have this in blue?",
    "What are your opening hours?",
    "I'd like to change my delivery address.",
    "Can I return an item I bought last week?",
    "Thanks, that helps!",
    "Is the sale still on?",
    "My package arrived damaged.",
];

impl Emulator {
    pub fn start_traffic(&self, spec: TrafficSpec) -> Result<(), String> {
        if spec.customers == 0 || spec.customers > 1_000_000 {
            return Err("customers must be between 1 and 1,000,000".into());
        }
        let rate_ok = spec.rate_per_sec > 0.0 && spec.rate_per_sec <= 100_000.0;
        let duration_ok = spec.duration_secs > 0.0 && spec.duration_secs <= 86_400.0;
        if !(rate_ok && duration_ok) {
            return Err(
                "rate_per_sec must be in (0, 100000] and duration_secs in (0, 86400]".into(),
            );
        }
        if self.0.traffic.running.swap(true, Ordering::SeqCst) {
            return Err("traffic is already running".into());
        }
        let number = spec
            .phone_number_id
            .clone()
            .unwrap_or_else(|| self.default_number());
        for i in 0..spec.customers as u64 {
            let wa_id = (spec.base_wa_id + i).to_string();
            let mut c = Customer::new(&wa_id, None);
            if spec.reply_probability > 0.0 {
                c.auto_reply = Some(AutoReply {
                    text: "Thanks!".into(),
                    delay_ms: 3_000,
                    probability: spec.reply_probability,
                });
            }
            self.add_customer(c);
        }
        let em = self.clone();
        tokio::spawn(async move {
            let interval = Duration::from_secs_f64(1.0 / spec.rate_per_sec);
            let total = (spec.rate_per_sec * spec.duration_secs) as u64;
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            for n in 0..total {
                tick.tick().await;
                let who = (spec.base_wa_id + n % spec.customers as u64).to_string();
                let line = LINES[(n as usize) % LINES.len()];
                let _ = em.customer_sends(
                    &who,
                    &number,
                    serde_json::json!({"type": "text", "text": {"body": line}}),
                );
                em.0.traffic.sent.fetch_add(1, Ordering::Relaxed);
            }
            em.0.traffic.running.store(false, Ordering::SeqCst);
        });
        Ok(())
    }

    pub fn traffic_stats(&self) -> TrafficStats {
        TrafficStats {
            running: self.0.traffic.running.load(Ordering::SeqCst),
            sent: self.0.traffic.sent.load(Ordering::Relaxed),
        }
    }
}
