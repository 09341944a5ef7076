//! Pacing and retries for the outbox: how fast a number may send, how often one customer may be
//! messaged, and what to do after a failed call. Pure: the dispatcher brings the clock and the
//! random jitter, so every rule here is tested without waiting.
//!
//! Pacing is GCRA (one number of state per limiter, the theoretical arrival time). The number's
//! limiter is used as a *scheduler* (each message gets the next free slot, no bursts), because
//! Meta's throughput limit counts arrivals and a burst we send can arrive even more bunched. The
//! per-recipient limiter follows Meta's pair-rate description (a burst borrows from the future).

use switchboard_cloudapi::{ErrorCode, RetryClass};

use crate::UnixMs;

/// The generic cell rate algorithm: one cell per `interval_ms`, bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gcra {
    tat_ms: f64,
}

impl Default for Gcra {
    fn default() -> Self {
        Gcra { tat_ms: f64::MIN }
    }
}

impl Gcra {
    /// Takes a cell at `now` if one is free; otherwise returns when the next one will be.
    pub fn try_take(&mut self, now_ms: f64, interval_ms: f64, burst: u32) -> Result<(), f64> {
        let tat = self.tat_ms.max(now_ms);
        let tolerance = interval_ms * (f64::from(burst.max(1)) - 1.0);
        if tat - now_ms > tolerance {
            return Err(tat - tolerance);
        }
        self.tat_ms = tat + interval_ms;
        Ok(())
    }

    /// Reserves the next slot (no burst): returns when to send. A scheduler that was busy
    /// (claiming from the database) may catch up on at most `catch_up_ms` of missed slots, so
    /// short pauses do not lower the rate while longer idle time is never banked into a burst.
    pub fn reserve(&mut self, now_ms: f64, interval_ms: f64, catch_up_ms: f64) -> f64 {
        let slot = self.tat_ms.max(now_ms - catch_up_ms);
        self.tat_ms = slot + interval_ms;
        slot
    }

    /// True when the limiter holds no debt at `now` (it can be forgotten).
    pub fn is_idle(&self, now_ms: f64) -> bool {
        self.tat_ms <= now_ms
    }
}

/// Which messages go first when a number's throughput is the bottleneck.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lane {
    /// An agent answering a customer who is waiting.
    Agent = 0,
    /// Notifications the business's systems trigger (order shipped, codes).
    Transactional = 1,
    /// Campaigns.
    Marketing = 2,
}

impl Lane {
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Agent => "agent",
            Lane::Transactional => "transactional",
            Lane::Marketing => "marketing",
        }
    }
    pub fn parse(s: &str) -> Option<Lane> {
        match s {
            "agent" => Some(Lane::Agent),
            "transactional" => Some(Lane::Transactional),
            "marketing" => Some(Lane::Marketing),
            _ => None,
        }
    }
    pub fn from_rank(rank: i64) -> Lane {
        match rank {
            0 => Lane::Agent,
            1 => Lane::Transactional,
            _ => Lane::Marketing,
        }
    }
}

/// How a send attempt failed, as the Graph client classified it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub class: RetryClass,
    pub code: Option<ErrorCode>,
    /// The request may have reached Meta (a timeout after it was written).
    pub ambiguous: bool,
}

/// What to do next with a message whose attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again at `at`. `ambiguous` marks that a duplicate at the customer is possible.
    Retry { at: UnixMs, ambiguous: bool },
    /// Give up: retrying cannot help (or the attempts are spent).
    Fail { ambiguous: bool },
    /// The number's credentials or account are unusable: keep the message, stop the number,
    /// alert a person.
    PauseNumber,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay_ms: i64,
    pub max_delay_ms: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay_ms: 1_000,
            max_delay_ms: 15 * 60_000,
        }
    }
}

/// Decides after the `attempt`-th failed attempt (1-based). `was_ambiguous`: an earlier attempt
/// of this message already ended ambiguously (a second ambiguous retry could mean a second
/// duplicate, so it fails instead). `jitter` is uniform in [0, 1).
pub fn after_failure(
    p: &RetryPolicy,
    f: Failure,
    attempt: u32,
    was_ambiguous: bool,
    now: UnixMs,
    jitter: f64,
) -> AfterFailure {
    let ambiguous = was_ambiguous || f.ambiguous;
    match f.class {
        RetryClass::Auth => return AfterFailure::PauseNumber,
        RetryClass::Permanent | RetryClass::NeedsTemplate => {
            return AfterFailure::Fail { ambiguous };
        }
        RetryClass::Transient | RetryClass::Throttled => {}
    }
    if attempt >= p.max_attempts || (f.ambiguous && was_ambiguous) {
        return AfterFailure::Fail { ambiguous };
    }
    // Exponential backoff with "equal jitter": half fixed, half random, so retries of many
    // messages that failed together spread out but none comes back sooner than half the step.
    let exp = p
        .base_delay_ms
        .saturating_mul(1i64 << (attempt.saturating_sub(1)).min(30))
        .min(p.max_delay_ms);
    let jittered = exp / 2 + ((exp / 2) as f64 * jitter.clamp(0.0, 1.0)) as i64;
    // Meta's own advice where it gives one (4^n s after a pair-rate hit) is a floor.
    let floor = f
        .code
        .and_then(|c| c.min_retry_delay_secs(attempt))
        .map_or(0, |s| (s as i64).saturating_mul(1000));
    let delay = jittered.max(floor);
    AfterFailure::Retry {
        at: now.plus_ms(delay),
        ambiguous,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(class: RetryClass, code: Option<i64>, ambiguous: bool) -> Failure {
        Failure {
            class,
            code: code.map(ErrorCode),
            ambiguous,
        }
    }

    #[test]
    fn gcra_burst_then_rate_and_the_next_free_time() {
        let mut g = Gcra::default();
        let taken = (0..50)
            .filter(|_| g.try_take(0.0, 6_000.0, 45).is_ok())
            .count();
        assert_eq!(taken, 45);
        assert_eq!(g.try_take(10.0, 6_000.0, 45), Err(6_000.0));
        assert!(g.try_take(6_000.0, 6_000.0, 45).is_ok());
    }

    #[test]
    fn reserve_spaces_slots_evenly_and_never_in_the_past() {
        let mut g = Gcra::default();
        let slots: Vec<f64> = (0..4).map(|_| g.reserve(100.0, 12.5, 0.0)).collect();
        assert_eq!(slots, vec![100.0, 112.5, 125.0, 137.5]);
        assert_eq!(
            g.reserve(1_000.0, 12.5, 0.0),
            1_000.0,
            "idle time is not banked"
        );
        assert!(!g.is_idle(1_000.0) && g.is_idle(1_012.5));
        // A busy scheduler catches up on a bounded number of missed slots.
        let mut g = Gcra::default();
        assert_eq!(g.reserve(100.0, 1.0, 50.0), 50.0, "at most 50 ms behind");
        assert_eq!(
            g.reserve(60.0, 1.0, 50.0),
            51.0,
            "a late scheduler takes the missed slot"
        );
        assert_eq!(
            g.reserve(1_000.0, 1.0, 50.0),
            950.0,
            "idle time beyond that is not banked"
        );
    }

    #[test]
    fn permanent_errors_fail_at_once_and_auth_pauses_the_number() {
        let p = RetryPolicy::default();
        let now = UnixMs(0);
        assert_eq!(
            after_failure(
                &p,
                fail(RetryClass::Permanent, Some(100), false),
                1,
                false,
                now,
                0.5
            ),
            AfterFailure::Fail { ambiguous: false }
        );
        assert_eq!(
            after_failure(
                &p,
                fail(RetryClass::NeedsTemplate, Some(131047), false),
                1,
                false,
                now,
                0.5
            ),
            AfterFailure::Fail { ambiguous: false }
        );
        assert_eq!(
            after_failure(
                &p,
                fail(RetryClass::Auth, Some(190), false),
                1,
                false,
                now,
                0.5
            ),
            AfterFailure::PauseNumber
        );
    }

    #[test]
    fn transient_errors_back_off_exponentially_with_jitter_up_to_the_cap() {
        let p = RetryPolicy::default();
        let at = |attempt, jitter| match after_failure(
            &p,
            fail(RetryClass::Transient, Some(131000), false),
            attempt,
            false,
            UnixMs(0),
            jitter,
        ) {
            AfterFailure::Retry { at, .. } => at.0,
            other => panic!("{other:?}"),
        };
        assert_eq!(at(1, 0.0), 500);
        assert_eq!(at(1, 0.999_999), 999);
        assert_eq!(at(2, 0.0), 1_000);
        assert_eq!(at(3, 0.0), 2_000);
        assert!(at(7, 0.99) <= p.max_delay_ms);
        assert_eq!(
            after_failure(
                &p,
                fail(RetryClass::Transient, None, false),
                8,
                false,
                UnixMs(0),
                0.0
            ),
            AfterFailure::Fail { ambiguous: false },
            "attempts are bounded"
        );
    }

    #[test]
    fn pair_rate_hits_wait_at_least_four_to_the_n_seconds() {
        let p = RetryPolicy::default();
        for (attempt, floor) in [(1, 4_000), (2, 16_000), (3, 64_000)] {
            let AfterFailure::Retry { at, .. } = after_failure(
                &p,
                fail(RetryClass::Throttled, Some(131056), false),
                attempt,
                false,
                UnixMs(0),
                0.0,
            ) else {
                panic!()
            };
            assert!(at.0 >= floor, "attempt {attempt}: {}", at.0);
        }
    }

    #[test]
    fn an_ambiguous_failure_is_retried_once_and_flagged() {
        let p = RetryPolicy::default();
        let timeout = fail(RetryClass::Transient, None, true);
        assert!(matches!(
            after_failure(&p, timeout, 1, false, UnixMs(0), 0.0),
            AfterFailure::Retry {
                ambiguous: true,
                ..
            }
        ));
        assert_eq!(
            after_failure(&p, timeout, 2, true, UnixMs(0), 0.0),
            AfterFailure::Fail { ambiguous: true }
        );
        // A later clear failure keeps the flag: the first attempt may still have been delivered.
        assert!(matches!(
            after_failure(
                &p,
                fail(RetryClass::Transient, Some(131000), false),
                2,
                true,
                UnixMs(0),
                0.0
            ),
            AfterFailure::Retry {
                ambiguous: true,
                ..
            }
        ));
    }
}
