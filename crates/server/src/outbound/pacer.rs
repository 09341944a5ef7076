//! Pacing: when each claimed message may go. Where every part of pacing lives:
//!
//! - **Lanes** (an agent's reply before a notification before a campaign): the lane a send gets
//!   is `domain::outbox::default_lane` unless its caller names one; the outbox claims in lane
//!   order (`store/src/outbox/claim.rs`).
//! - **The number's throughput** (Meta's messages per second per number): evenly spaced slots
//!   from a GCRA ([`Pacer::next`], with `domain::pacing::Gcra`).
//! - **Each customer's pair rate** (Meta's limit per business-customer pair): a GCRA per
//!   recipient here; a message over it goes back to the queue for later without an attempt.
//! - **Campaign holds**: a paused or scheduled campaign's messages are not due
//!   (`store/src/outbox/claim.rs` claims only running campaigns' rows); messages held for the
//!   messaging limit are released as its rolling budget frees slots
//!   (`store/src/outbox/senders.rs`, with `domain::policy::tier_limit`).
//! - **A paused number** (auth or account errors): nothing goes; claimed rows go back.
//! - **Retries** after a failure: `domain::pacing::after_failure`, applied by the dispatcher.

use std::collections::HashMap;
use std::time::Duration;

use switchboard_domain::UnixMs;
use switchboard_domain::pacing::Gcra;
use switchboard_store::{Claimed, Outcome};
use tokio::time::Instant;

/// Recipients remembered for their pair rate before idle ones are forgotten.
const MAX_PAIRS: usize = 100_000;
/// Slots missed while claiming that are made up: a burst Meta's per-second throughput window
/// absorbs.
const CATCH_UP_MS: f64 = 50.0;

/// The pacing state of one number.
pub struct Pacer {
    throughput_mps: u32,
    pair_interval_ms: u64,
    pair_burst: u32,
    slots: Gcra,
    /// The instant the slot clock counts from (slots are milliseconds after it).
    epoch: Instant,
    pairs: HashMap<String, Gcra>,
}

impl Pacer {
    pub fn new(throughput_mps: u32, pair_interval_ms: u64, pair_burst: u32) -> Pacer {
        Pacer {
            throughput_mps,
            pair_interval_ms,
            pair_burst,
            slots: Gcra::default(),
            epoch: Instant::now(),
            pairs: HashMap::new(),
        }
    }

    /// The instant `row` may go (the number's next slot), or the outcome that puts it back
    /// without an attempt: the customer's pair rate says later, or the number is paused.
    pub fn next(&mut self, row: &Claimed, now: UnixMs, paused: bool) -> Result<Instant, Outcome> {
        let elapsed_ms = self.epoch.elapsed().as_secs_f64() * 1000.0;
        let slot_ms = self.slot(row, now, paused, elapsed_ms)?;
        Ok(self.epoch + Duration::from_secs_f64(slot_ms / 1000.0))
    }

    /// [`Pacer::next`] as milliseconds after the pacer's start, `elapsed_ms` being now.
    fn slot(
        &mut self,
        row: &Claimed,
        now: UnixMs,
        paused: bool,
        elapsed_ms: f64,
    ) -> Result<f64, Outcome> {
        let back = |at_ms: i64| Outcome::Deferred {
            id: row.id,
            attempt: row.attempts,
            at_ms,
        };
        if paused {
            return Err(back(now.0));
        }
        let now_f = now.0 as f64;
        if self.pairs.len() > MAX_PAIRS {
            self.pairs.retain(|_, g| !g.is_idle(now_f));
        }
        let pair = self.pairs.entry(row.recipient.clone()).or_default();
        if let Err(next) = pair.try_take(now_f, self.pair_interval_ms as f64, self.pair_burst) {
            return Err(back(next.ceil() as i64));
        }
        let interval = 1000.0 / f64::from(self.throughput_mps.max(1));
        let slot = self.slots.reserve(elapsed_ms, interval, CATCH_UP_MS);
        Ok(slot.max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, to: &str) -> Claimed {
        Claimed {
            id,
            recipient: to.into(),
            request: String::new(),
            lane: 0,
            attempts: 1,
            ambiguous: false,
        }
    }

    #[test]
    fn slots_are_spaced_by_the_throughput_and_pairs_by_their_rate() {
        let mut p = Pacer::new(10, 6_000, 1);
        let now = UnixMs(1_000_000);
        // The clock stands still at 1 s after the pacer started.
        let at = 1_000.0;
        let a = p.slot(&row(1, "+1"), now, false, at).unwrap();
        let b = p.slot(&row(2, "+2"), now, false, at).unwrap();
        let c = p.slot(&row(5, "+4"), now, false, at).unwrap();
        // Up to 50 ms of slots missed while claiming are made up, then 10 per second: 100 ms
        // apart.
        assert_eq!((a, b, c), (950.0, 1_050.0, 1_150.0));
        // The same customer again at once: over the pair rate, back to the queue for later.
        match p.slot(&row(3, "+1"), now, false, at) {
            Err(Outcome::Deferred { id: 3, at_ms, .. }) => assert!(at_ms > now.0),
            other => panic!("{other:?}"),
        }
        // Paused: back now, no slot used.
        assert!(matches!(
            p.slot(&row(4, "+3"), now, true, at),
            Err(Outcome::Deferred { id: 4, .. })
        ));
    }
}
