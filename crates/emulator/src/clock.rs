//! The emulator's clock: wall time plus an offset that `POST /_emulator/clock/advance` moves
//! forward, so a test can cross a 24-hour window or a rolling limit in a millisecond. Every rule
//! (windows, rate limits, URL expiry, status delays, webhook retries) reads this clock.

use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as i64;
        wall + self.offset_ms.load(Ordering::Relaxed)
    }
    pub fn now_secs(&self) -> i64 {
        self.now_ms() / 1000
    }
    pub fn advance_ms(&self, ms: i64) {
        self.offset_ms.fetch_add(ms.max(0), Ordering::Relaxed);
    }
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }
}

/// GCRA (generic cell rate algorithm): one cell per `interval_ms`, bursts of up to `burst`.
/// State is one number, the theoretical arrival time. Exactly Meta's pair-rate description:
/// a burst borrows against future quota.
#[derive(Debug, Clone, Copy)]
pub struct Gcra {
    tat_ms: f64,
}

impl Gcra {
    pub fn new() -> Self {
        Gcra { tat_ms: f64::MIN }
    }

    /// Takes a cell at `now` if allowed.
    pub fn try_take(&mut self, now_ms: i64, interval_ms: f64, burst: u32) -> bool {
        let now = now_ms as f64;
        let tat = self.tat_ms.max(now);
        let tolerance = interval_ms * (burst.max(1) as f64 - 1.0);
        if tat - now > tolerance {
            return false;
        }
        self.tat_ms = tat + interval_ms;
        true
    }
}

impl Default for Gcra {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcra_allows_the_burst_then_the_rate() {
        let mut g = Gcra::new();
        let taken = (0..50).filter(|_| g.try_take(0, 6_000.0, 45)).count();
        assert_eq!(taken, 45);
        assert!(!g.try_take(5_999, 6_000.0, 45));
        assert!(g.try_take(6_000, 6_000.0, 45));
        assert!(!g.try_take(6_001, 6_000.0, 45));
    }

    #[test]
    fn gcra_throughput_per_second() {
        let mut g = Gcra::new();
        // 80/s with a one-second burst: 80 at once, then one per 12.5 ms.
        let first = (0..100).filter(|_| g.try_take(1_000, 12.5, 80)).count();
        assert_eq!(first, 80);
        let next = (0..100).filter(|_| g.try_take(2_000, 12.5, 80)).count();
        assert_eq!(next, 80);
    }

    #[test]
    fn the_clock_moves_forward_only() {
        let c = Clock::default();
        let before = c.now_ms();
        c.advance_ms(86_400_000);
        c.advance_ms(-5);
        assert!(c.now_ms() - before >= 86_400_000);
    }
}
