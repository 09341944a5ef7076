//! The time policy decisions are made at. In production it is the system clock. In development
//! and tests it can follow the emulator's clock (`dev.clock_url`), so that advancing the
//! emulator's clock by a day closes the service windows its customers opened, here too.
//!
//! Only what decides against Meta's timestamps reads it (the send policy, the inbox's window
//! countdown); leases, retries and sessions keep the system clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use switchboard_domain::UnixMs;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn now(&self) -> UnixMs {
        UnixMs::now().plus_ms(self.offset_ms.load(Ordering::Relaxed))
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    pub fn set_offset_ms(&self, ms: i64) {
        self.offset_ms.store(ms, Ordering::Relaxed);
    }
}

/// Polls the emulator's clock (`{"offset_ms": …}`) every 200 ms and follows it.
/// `moved` is told the new offset whenever it changes by more than a second.
pub async fn follow(
    clock: Arc<Clock>,
    url: String,
    stop: CancellationToken,
    moved: impl Fn(i64) + Send,
) {
    let http = switchboard_graph::http_client(Duration::from_secs(5));
    loop {
        let got = tokio::select! {
            r = http.get(&url).send() => r,
            _ = stop.cancelled() => return,
        };
        match got {
            Ok(r) => match r.json::<serde_json::Value>().await {
                Ok(v) => {
                    if let Some(o) = v["offset_ms"].as_i64() {
                        let before = clock.offset_ms();
                        clock.set_offset_ms(o);
                        if (o - before).abs() > 1000 {
                            moved(o);
                        }
                    }
                }
                Err(e) => tracing::debug!(error = %e, "emulator clock: not JSON"),
            },
            Err(e) => tracing::debug!(error = %e, "emulator clock unreachable"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}
