//! A conversation's states and the events of its history (who held it, what became of it), as
//! the inbox records and shows them.

use serde::{Serialize, Serializer};

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConversationStatus {
    Open,
    /// Waiting on the customer or on someone else.
    Pending,
    Resolved,
}

impl ConversationStatus {
    pub const ALL: [ConversationStatus; 3] = [
        ConversationStatus::Open,
        ConversationStatus::Pending,
        ConversationStatus::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Open => "open",
            ConversationStatus::Pending => "pending",
            ConversationStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<ConversationStatus> {
        ConversationStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// One event of a conversation's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// An agent took an unassigned conversation.
    Claimed,
    Released,
    /// The holder or an admin handed it to someone.
    Transferred,
    /// Someone took it from its holder (recorded; the holder is told).
    TakenOver,
    /// The router gave it to an agent.
    Routed,
    /// Back in the queue: its agent went offline.
    Requeued,
    /// An internal note.
    Note,
    /// Its status changed to this.
    Status(ConversationStatus),
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Claimed => "claimed",
            EventKind::Released => "released",
            EventKind::Transferred => "transferred",
            EventKind::TakenOver => "taken_over",
            EventKind::Routed => "routed",
            EventKind::Requeued => "requeued",
            EventKind::Note => "note",
            EventKind::Status(s) => s.as_str(),
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        Some(match s {
            "claimed" => EventKind::Claimed,
            "released" => EventKind::Released,
            "transferred" => EventKind::Transferred,
            "taken_over" => EventKind::TakenOver,
            "routed" => EventKind::Routed,
            "requeued" => EventKind::Requeued,
            "note" => EventKind::Note,
            other => EventKind::Status(ConversationStatus::parse(other)?),
        })
    }

    /// The events that hand the conversation to someone (routing's "last assigned").
    pub const HANDS_OVER: [EventKind; 4] = [
        EventKind::Routed,
        EventKind::Claimed,
        EventKind::Transferred,
        EventKind::TakenOver,
    ];
}

impl Serialize for EventKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// For reading the kind from its column.
impl TryFrom<String> for EventKind {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        EventKind::parse(&s).ok_or_else(|| format!("unknown conversation event {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_unknown_ones_are_refused() {
        let all = [
            EventKind::Claimed,
            EventKind::Released,
            EventKind::Transferred,
            EventKind::TakenOver,
            EventKind::Routed,
            EventKind::Requeued,
            EventKind::Note,
            EventKind::Status(ConversationStatus::Open),
            EventKind::Status(ConversationStatus::Pending),
            EventKind::Status(ConversationStatus::Resolved),
        ];
        for k in all {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("Claimed"), None);
        assert_eq!(
            serde_json::to_value(EventKind::TakenOver).unwrap(),
            "taken_over"
        );
    }
}
