//! Money: integer micro-units of a currency, parsed from and written as exact decimals (rate
//! cards, budgets, reports), never floating point.

use serde::Serialize;

/// Money in micro-units (a millionth of the currency unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Hash)]
#[serde(transparent)]
pub struct Micros(pub i64);

impl Micros {
    /// Parses a decimal like `0.0250` or `12` exactly (up to six decimals).
    pub fn parse(s: &str) -> Result<Micros, String> {
        let s = s.trim();
        let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(format!("{s:?} is not a decimal amount"));
        }
        if frac.len() > 6 && frac[6..].bytes().any(|b| b != b'0') {
            return Err(format!("{s:?} has more than six decimals"));
        }
        let int: i64 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| format!("{s:?} is too large"))?
        };
        let mut f = frac.chars().take(6).collect::<String>();
        while f.len() < 6 {
            f.push('0');
        }
        let v = int
            .checked_mul(1_000_000)
            .and_then(|i| i.checked_add(f.parse::<i64>().unwrap_or(0)))
            .ok_or_else(|| format!("{s:?} is too large"))?;
        Ok(Micros(if neg { -v } else { v }))
    }

    /// As a decimal with up to six places, trailing zeros kept to four (`0.0250`).
    pub fn decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        let mut frac = format!("{:06}", a % 1_000_000);
        while frac.len() > 4 && frac.ends_with('0') {
            frac.pop();
        }
        format!("{sign}{}.{frac}", a / 1_000_000)
    }

    pub fn times(self, n: u64) -> Micros {
        Micros(self.0.saturating_mul(i64::try_from(n).unwrap_or(i64::MAX)))
    }
}

impl std::ops::Add for Micros {
    type Output = Micros;
    fn add(self, o: Micros) -> Micros {
        Micros(self.0.saturating_add(o.0))
    }
}

impl std::iter::Sum for Micros {
    fn sum<I: Iterator<Item = Micros>>(iter: I) -> Micros {
        Micros(iter.fold(0i64, |a, m| a.saturating_add(m.0)))
    }
}
