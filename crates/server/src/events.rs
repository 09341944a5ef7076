//! The event bus (ARCHITECTURE.md, "Inbound" step 3): what changed, published as it is
//! applied — a message in a conversation, a status, a change of hands, a note, an agent
//! viewing or typing — so every open inbox updates within a second. In-process broadcast: one
//! instance sees its own changes; several PostgreSQL instances need LISTEN/NOTIFY on top
//! (not built yet).

use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast;

/// One change, as the inbox receives it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// `message`, `status`, `assignment`, `conversation`, `note`, `presence`.
    pub kind: &'static str,
    pub conversation_id: Option<i64>,
    pub data: Value,
}

/// Cheap to clone; a slow subscriber misses old events (it is told, and reloads).
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus {
            tx: broadcast::channel(4_096).0,
        }
    }
}

impl EventBus {
    pub fn publish(&self, kind: &'static str, conversation_id: Option<i64>, data: Value) {
        // No subscriber is not an error: nobody is looking.
        let _ = self.tx.send(Event {
            kind,
            conversation_id,
            data,
        });
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}
