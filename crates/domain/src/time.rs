//! Time as Switchboard stores it: Unix milliseconds in an `i64`, the same in SQLite and
//! PostgreSQL, so comparisons are identical SQL on both. Meta's seconds convert at the edge.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixMs(pub i64);

impl UnixMs {
    pub fn from_secs(secs: i64) -> Self {
        UnixMs(secs.saturating_mul(1000))
    }
    /// The wall clock. Deciding code takes time as a parameter; only the edges call this.
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        UnixMs(d.as_millis() as i64)
    }
    pub fn plus_ms(self, ms: i64) -> Self {
        UnixMs(self.0.saturating_add(ms))
    }
}
