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

    /// The UTC civil date and time: (year, month, day, hour, minute, second). Days since the
    /// epoch to a date without a time-zone library (Howard Hinnant's algorithm).
    pub fn civil(self) -> (i64, i64, i64, i64, i64, i64) {
        let secs = self.0.div_euclid(1000);
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
    }

    /// `2026-12-01T19:35:25Z`.
    pub fn iso8601(self) -> String {
        let (y, m, d, h, mi, s) = self.civil();
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }

    /// `2026-12-01` (UTC).
    pub fn date(self) -> String {
        let (y, m, d, ..) = self.civil();
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// `2026-12` (UTC).
    pub fn month(self) -> String {
        let (y, m, ..) = self.civil();
        format!("{y:04}-{m:02}")
    }

    /// Midnight UTC on the first of this month.
    pub fn month_start(self) -> UnixMs {
        let (_, _, d, h, mi, s) = self.civil();
        UnixMs(
            self.0 - self.0.rem_euclid(1000) - ((d - 1) * 86_400 + h * 3600 + mi * 60 + s) * 1000,
        )
    }
}

#[cfg(test)]
mod civil_tests {
    use super::UnixMs;

    #[test]
    fn dates_and_month_starts() {
        let t = UnixMs(1_796_153_725_000); // 2026-12-01T19:35:25Z
        assert_eq!(t.iso8601(), "2026-12-01T19:35:25Z");
        assert_eq!(
            (t.date().as_str(), t.month().as_str()),
            ("2026-12-01", "2026-12")
        );
        assert_eq!(t.month_start().iso8601(), "2026-12-01T00:00:00Z");
        assert_eq!(UnixMs(951_782_400_000).date(), "2000-02-29");
    }
}
