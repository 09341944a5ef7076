//! The event bus (docs/architecture.md, "Inbound"): what changed, published as it is
//! applied — a message in a conversation, a status, a change of hands, a note, an agent
//! viewing or typing — so every open inbox updates within a second.
//!
//! In-process broadcast, and on PostgreSQL across instances: every event is also sent with
//! `NOTIFY` ([`relay`]), and each instance re-publishes the events other instances sent
//! ([`listen`]), so an agent connected to one instance sees what happened on another.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_store::Store;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

/// One change, as the inbox receives it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// `message`, `status`, `assignment`, `conversation`, `note`, `presence`, `clock`.
    pub kind: &'static str,
    pub conversation_id: Option<i64>,
    pub data: Value,
}

const KINDS: &[&str] = &[
    "message",
    "status",
    "assignment",
    "conversation",
    "note",
    "presence",
    "clock",
    "contact",
];

/// Events waiting to be relayed to other instances.
const RELAY_WAITING: usize = 16_384;

/// Cheap to clone; a slow subscriber misses old events (it is told, and reloads).
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
    /// This process's id, so it can tell its own events from other instances'.
    origin: String,
    relay: Option<mpsc::Sender<Event>>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus {
            tx: broadcast::channel(4_096).0,
            origin: hex::encode(rand::random::<[u8; 8]>()),
            relay: None,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Wire {
    origin: String,
    kind: String,
    conversation_id: Option<i64>,
    data: Value,
}

impl EventBus {
    /// A bus whose events are also handed to the returned receiver, for [`relay`].
    pub fn relayed() -> (EventBus, mpsc::Receiver<Event>) {
        let (tx, rx) = mpsc::channel(RELAY_WAITING);
        let bus = EventBus {
            relay: Some(tx),
            ..EventBus::default()
        };
        (bus, rx)
    }

    pub fn publish(&self, kind: &'static str, conversation_id: Option<i64>, data: Value) {
        let e = Event {
            kind,
            conversation_id,
            data,
        };
        // If the database cannot take NOTIFYs as fast as events come, other instances' inboxes
        // miss some live updates (they refresh on the next one) rather than this one's memory
        // growing without end.
        if let Some(r) = &self.relay
            && let Err(mpsc::error::TrySendError::Full(_)) = r.try_send(e.clone())
        {
            metrics::counter!("switchboard_events_relay_dropped_total").increment(1);
        }
        // No subscriber is not an error: nobody is looking.
        let _ = self.tx.send(e);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}

/// Sends this instance's events to the others (`NOTIFY`), in batches as they come.
pub async fn relay(
    store: Store,
    bus: EventBus,
    mut rx: mpsc::Receiver<Event>,
    stop: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            e = rx.recv() => match e { Some(e) => e, None => return },
            _ = stop.cancelled() => return,
        };
        let mut batch = vec![first];
        while batch.len() < 500
            && let Ok(e) = rx.try_recv()
        {
            batch.push(e);
        }
        let payloads: Vec<String> = batch
            .into_iter()
            .filter_map(|e| {
                let mut w = Wire {
                    origin: bus.origin.clone(),
                    kind: e.kind.to_owned(),
                    conversation_id: e.conversation_id,
                    data: e.data,
                };
                let s = serde_json::to_string(&w).ok()?;
                // NOTIFY's payload limit is 8,000 bytes: a bigger event goes without its data
                // (the inbox refetches what changed from the conversation id anyway).
                if s.len() < 7_900 {
                    return Some(s);
                }
                w.data = serde_json::json!({"truncated": true});
                serde_json::to_string(&w).ok()
            })
            .collect();
        if let Err(e) = store.notify_events(&payloads).await {
            tracing::warn!(error = %e, "live updates could not be sent to other instances");
        }
    }
}

/// Re-publishes here what other instances published (PostgreSQL); returns at once on SQLite.
/// A lost connection is re-established, and open inboxes are told to reload (`lagged`).
pub async fn listen(store: Store, bus: EventBus, stop: CancellationToken) {
    loop {
        let listening = tokio::select! {
            l = store.listen_events() => l,
            _ = stop.cancelled() => return,
        };
        let mut listener = match listening {
            Ok(Some(l)) => l,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for other instances' live updates; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => continue,
                    _ = stop.cancelled() => return,
                }
            }
        };
        loop {
            let n = tokio::select! {
                n = listener.try_recv() => n,
                _ = stop.cancelled() => return,
            };
            match n {
                Ok(Some(n)) => {
                    let Ok(w) = serde_json::from_str::<Wire>(n.payload()) else {
                        continue;
                    };
                    if w.origin == bus.origin {
                        continue;
                    }
                    if let Some(kind) = KINDS.iter().find(|k| **k == w.kind) {
                        let _ = bus.tx.send(Event {
                            kind,
                            conversation_id: w.conversation_id,
                            data: w.data,
                        });
                    }
                }
                // The connection dropped and was re-established: what was sent meanwhile is
                // lost, so every open inbox reloads.
                Ok(None) => {
                    let _ = bus.tx.send(Event {
                        kind: "lagged",
                        conversation_id: None,
                        data: serde_json::json!({"reason": "instances reconnected"}),
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "lost the live-updates listener; reconnecting");
                    break;
                }
            }
        }
    }
}
