//! Limits on what one caller may take of the server: API requests a minute per API key or
//! person (GCRA, the same rule the outbox paces with, in `domain::pacing`), and live-update
//! streams open at once per caller. Both are per instance: behind a load balancer each
//! instance allows its share, which is what protects each one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use switchboard_domain::pacing::Gcra;

use crate::error::ApiError;

pub struct Limits {
    per_minute: u32,
    started: Instant,
    requests: Mutex<HashMap<String, Gcra>>,
    streams_per_caller: u32,
    streams: Arc<Mutex<HashMap<String, u32>>>,
}

impl Limits {
    /// `per_minute` 0: no request limit.
    pub fn new(per_minute: u32, streams_per_caller: u32) -> Limits {
        Limits {
            per_minute,
            started: Instant::now(),
            requests: Mutex::default(),
            streams_per_caller,
            streams: Arc::default(),
        }
    }

    /// Counts one request of `caller` (`k3` for API key 3, `u5` for person 5).
    pub fn request(&self, caller: &str) -> Result<(), ApiError> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let now = self.started.elapsed().as_secs_f64() * 1000.0;
        let interval = 60_000.0 / f64::from(self.per_minute);
        let burst = (self.per_minute / 10).max(1);
        let mut m = self.requests.lock().expect("not poisoned");
        if m.len() > 10_000 {
            m.retain(|_, g| !g.is_idle(now));
        }
        let cell = m.entry(caller.to_owned()).or_default();
        cell.try_take(now, interval, burst).map_err(|next| {
            let wait = ((next - now) / 1000.0).ceil().max(1.0) as u64;
            ApiError::TooMany {
                code: "rate_limited",
                message: format!(
                    "Too many requests from this caller (the limit is {} a minute); try again in {wait} s.",
                    self.per_minute
                ),
                retry_after_secs: wait,
            }
        })
    }

    /// Takes one of `caller`'s live-update streams; it is given back when the slot drops.
    pub fn stream(&self, caller: &str) -> Result<StreamSlot, ApiError> {
        let mut m = self.streams.lock().expect("not poisoned");
        let open = m.entry(caller.to_owned()).or_default();
        if *open >= self.streams_per_caller {
            return Err(ApiError::TooMany {
                code: "too_many_streams",
                message: format!(
                    "This caller already has {} live-update streams open; close a tab or window first.",
                    self.streams_per_caller
                ),
                retry_after_secs: 5,
            });
        }
        *open += 1;
        Ok(StreamSlot {
            caller: caller.to_owned(),
            streams: self.streams.clone(),
        })
    }
}

/// An open live-update stream; dropping it (the stream ended) frees the slot.
pub struct StreamSlot {
    caller: String,
    streams: Arc<Mutex<HashMap<String, u32>>>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut m = self.streams.lock().expect("not poisoned");
        if let Some(n) = m.get_mut(&self.caller) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.caller);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_a_tenth_then_refused_with_a_wait() {
        let l = Limits::new(600, 2);
        for _ in 0..60 {
            l.request("k1").unwrap();
        }
        let Err(ApiError::TooMany {
            retry_after_secs, ..
        }) = l.request("k1")
        else {
            panic!("the 61st request at once is refused");
        };
        assert_eq!(retry_after_secs, 1, "one cell every 100 ms");
        assert!(l.request("k2").is_ok(), "per caller");
        assert!(Limits::new(0, 1).request("k1").is_ok(), "0 is no limit");
    }

    #[test]
    fn streams_are_counted_while_open() {
        let l = Limits::new(0, 2);
        let a = l.stream("u1").unwrap();
        let _b = l.stream("u1").unwrap();
        assert!(l.stream("u1").is_err());
        assert!(l.stream("u2").is_ok());
        drop(a);
        assert!(l.stream("u1").is_ok(), "a closed stream frees its slot");
    }
}
