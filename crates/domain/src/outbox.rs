//! The outbox's rules: the states a message goes through, and the plan for queueing a send once
//! the policy decided (its state, lane, category, and when it is next looked at). The store
//! writes the plan it is given; it decides none of it.

use serde::Serialize;
use switchboard_cloudapi::send::OutboundContent;

use crate::pacing::Lane;
use crate::policy::Decision;
use crate::template::{Category, TemplateDef};
use crate::time::UnixMs;

/// A held message (messaging limit spent) is looked at again after this long, besides being
/// released as soon as the rolling budget frees a slot.
pub const HOLD_RECHECK_MS: i64 = 60_000;

/// Where a message is in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for its number's dispatcher.
    Queued,
    /// Part of a campaign that is not running (being created, or paused).
    Paused,
    /// Waiting for the messaging-limit budget.
    Held,
    /// Claimed by a dispatcher; its outcome is not recorded yet.
    Sending,
    /// Meta accepted it (its wamid is known); Meta's statuses follow.
    Accepted,
    Failed,
    /// The policy refused it (kept for an idempotency key or a campaign's record).
    Refused,
    /// Its campaign was cancelled before it went.
    Cancelled,
}

impl std::fmt::Display for OutboxState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// For reading the state from its column.
impl TryFrom<String> for OutboxState {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        OutboxState::parse(&s).ok_or_else(|| format!("unknown outbox state {s:?}"))
    }
}

impl OutboxState {
    pub const ALL: [OutboxState; 8] = [
        OutboxState::Queued,
        OutboxState::Paused,
        OutboxState::Held,
        OutboxState::Sending,
        OutboxState::Accepted,
        OutboxState::Failed,
        OutboxState::Refused,
        OutboxState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Queued => "queued",
            OutboxState::Paused => "paused",
            OutboxState::Held => "held",
            OutboxState::Sending => "sending",
            OutboxState::Accepted => "accepted",
            OutboxState::Failed => "failed",
            OutboxState::Refused => "refused",
            OutboxState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxState> {
        OutboxState::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Not gone yet, and may still go.
    pub fn waiting(self) -> bool {
        matches!(
            self,
            OutboxState::Queued | OutboxState::Held | OutboxState::Paused
        )
    }

    /// Ended without reaching Meta (nothing to pay for).
    pub fn ended_unsent(self) -> bool {
        matches!(
            self,
            OutboxState::Failed | OutboxState::Refused | OutboxState::Cancelled
        )
    }

    /// Counts against the messaging limit and the marketing cap (it has gone or will go).
    pub fn spends_budget(self) -> bool {
        matches!(
            self,
            OutboxState::Queued
                | OutboxState::Paused
                | OutboxState::Sending
                | OutboxState::Accepted
        )
    }
}

/// Meta's pricing category of a send: the template's, or `SERVICE` for a free-form reply;
/// `None` for a template we do not know.
pub fn category_of(
    content: &OutboundContent,
    template: Option<&TemplateDef>,
) -> Option<&'static str> {
    match (content, template) {
        (OutboundContent::Template(_), Some(t)) => Some(t.category.meta_name()),
        (OutboundContent::Template(_), None) => None,
        _ => Some("SERVICE"),
    }
}

/// The lane a send takes when its caller names none: marketing templates behind other
/// templates, both behind an agent's free-form reply.
pub fn default_lane(content: &OutboundContent, template: Option<&TemplateDef>) -> Lane {
    match (content, template) {
        (OutboundContent::Template(_), Some(t)) if t.category == Category::Marketing => {
            Lane::Marketing
        }
        (OutboundContent::Template(_), _) => Lane::Transactional,
        _ => Lane::Agent,
    }
}

/// What a caller asked for, beyond the message itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Asked {
    pub lane: Option<Lane>,
    /// Queue it paused (a campaign being created).
    pub park: bool,
    /// Not before this time (a scheduled campaign).
    pub not_before: Option<UnixMs>,
    /// A refusal is kept as a row (an idempotency key to answer a retry with, or a campaign
    /// whose report lists it); otherwise a refused send leaves nothing.
    pub keep_refusal: bool,
}

/// How a decided send is queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePlan {
    pub state: OutboxState,
    pub business_initiated: bool,
    /// Why it is held or refused.
    pub note: Option<String>,
    pub next_attempt_at: UnixMs,
    pub lane: Lane,
    pub category: Option<&'static str>,
}

impl QueuePlan {
    /// Whether queueing it spends a slot of the messaging-limit budget (if its recipient was not
    /// already reached in the period).
    pub fn spends_budget(&self) -> bool {
        self.business_initiated && self.state.spends_budget()
    }
}

/// The plan for a decided send; `None` when it leaves no row (a refusal nobody asked to keep).
pub fn plan(
    decision: &Decision,
    content: &OutboundContent,
    template: Option<&TemplateDef>,
    asked: Asked,
    now: UnixMs,
) -> Option<QueuePlan> {
    let due = asked.not_before.unwrap_or(now).0.max(now.0);
    let (state, business_initiated, note, next) = match decision {
        Decision::Allow { business_initiated } => (
            if asked.park {
                OutboxState::Paused
            } else {
                OutboxState::Queued
            },
            *business_initiated,
            None,
            due,
        ),
        Decision::Hold { message, .. } => (
            OutboxState::Held,
            true,
            Some(message.clone()),
            now.0 + HOLD_RECHECK_MS,
        ),
        Decision::Refuse(_) if !asked.keep_refusal => return None,
        Decision::Refuse(r) => (OutboxState::Refused, false, Some(r.message.clone()), due),
    };
    Some(QueuePlan {
        state,
        business_initiated,
        note,
        next_attempt_at: UnixMs(next),
        lane: asked
            .lane
            .unwrap_or_else(|| default_lane(content, template)),
        category: category_of(content, template),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Refusal;
    use switchboard_cloudapi::send::Template;

    fn text() -> OutboundContent {
        OutboundContent::text("hi", false).unwrap()
    }

    fn template() -> OutboundContent {
        OutboundContent::Template(Template::new("promo", "en").unwrap())
    }

    fn def(category: Category) -> TemplateDef {
        let mut d = TemplateDef::from_meta(&serde_json::json!({
            "name": "promo", "language": "en", "category": "MARKETING", "status": "APPROVED",
            "components": [{"type": "BODY", "text": "Sale"}]
        }))
        .unwrap();
        d.category = category;
        d
    }

    #[test]
    fn states_round_trip() {
        for s in OutboxState::ALL {
            assert_eq!(OutboxState::parse(s.as_str()), Some(s));
        }
        assert_eq!(OutboxState::parse("QUEUED"), None);
    }

    #[test]
    fn lanes_and_categories() {
        let m = def(Category::Marketing);
        let u = def(Category::Utility);
        assert_eq!(default_lane(&text(), None), Lane::Agent);
        assert_eq!(default_lane(&template(), Some(&m)), Lane::Marketing);
        assert_eq!(default_lane(&template(), Some(&u)), Lane::Transactional);
        assert_eq!(default_lane(&template(), None), Lane::Transactional);
        assert_eq!(category_of(&text(), None), Some("SERVICE"));
        assert_eq!(category_of(&template(), Some(&m)), Some("MARKETING"));
        assert_eq!(category_of(&template(), Some(&u)), Some("UTILITY"));
        assert_eq!(category_of(&template(), None), None);
    }

    #[test]
    fn plans_follow_the_decision() {
        let now = UnixMs(1_000_000);
        let allow = Decision::Allow {
            business_initiated: true,
        };
        let p = plan(&allow, &template(), None, Asked::default(), now).unwrap();
        assert_eq!(
            (p.state, p.next_attempt_at, p.spends_budget()),
            (OutboxState::Queued, now, true)
        );
        // A campaign being created: parked, and due when it was scheduled (never in the past).
        let later = UnixMs(now.0 + 5_000);
        let asked = Asked {
            park: true,
            not_before: Some(later),
            ..Asked::default()
        };
        let p = plan(&allow, &template(), None, asked, now).unwrap();
        assert_eq!((p.state, p.next_attempt_at), (OutboxState::Paused, later));
        let asked = Asked {
            not_before: Some(UnixMs(1)),
            ..Asked::default()
        };
        assert_eq!(
            plan(&allow, &text(), None, asked, now)
                .unwrap()
                .next_attempt_at,
            now
        );
        // Held: looked at again a minute later; it does not spend the budget yet.
        let hold = Decision::Hold {
            code: "messaging_limit_reached",
            message: "wait".into(),
        };
        let p = plan(&hold, &template(), None, Asked::default(), now).unwrap();
        assert_eq!(p.state, OutboxState::Held);
        assert_eq!(p.next_attempt_at, UnixMs(now.0 + HOLD_RECHECK_MS));
        assert!(!p.spends_budget());
        // A refusal leaves a row only when someone will ask for it.
        let refuse = Decision::Refuse(Refusal {
            code: "opted_out",
            message: "no".into(),
        });
        assert_eq!(plan(&refuse, &text(), None, Asked::default(), now), None);
        let keep = Asked {
            keep_refusal: true,
            lane: Some(Lane::Marketing),
            ..Asked::default()
        };
        let p = plan(&refuse, &text(), None, keep, now).unwrap();
        assert_eq!(
            (p.state, p.note.as_deref(), p.lane, p.spends_budget()),
            (OutboxState::Refused, Some("no"), Lane::Marketing, false)
        );
    }
}
