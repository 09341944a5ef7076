//! The send policy: "may this message go now, and if not, why". Pure: the caller gathers the
//! facts (window, consent, template, budgets) in the same transaction that will queue the
//! message, and this decides. Every refusal has a stable machine code and a sentence a person
//! can act on, so the caller learns before Meta is paid or the number's quality is hurt.

use serde::Serialize;
use switchboard_cloudapi::send::OutboundContent;

use crate::consent::Block;
pub use crate::consent::Consent;
use crate::template::{Category, TemplateDef, TemplateStatus, check_params};
use crate::time::UnixMs;
use crate::window::{window_closes_at, window_open};

/// The period messaging limits and the marketing cap count over: the rolling 24 hours.
pub const LIMIT_PERIOD_MS: i64 = 24 * 3_600_000;

/// Where the rolling period that ends `now` begins.
pub fn limit_period_start(now: UnixMs) -> UnixMs {
    now.plus_ms(-LIMIT_PERIOD_MS)
}

/// A messaging-limit tier as Meta names it (`TIER_2K`, …) in unique customers per rolling 24
/// hours; `None` when unlimited or unknown (then Meta is the judge).
pub fn tier_limit(tier: &str) -> Option<u32> {
    match tier {
        "TIER_50" => Some(50),
        "TIER_250" => Some(250),
        "TIER_1K" => Some(1_000),
        "TIER_2K" => Some(2_000),
        "TIER_10K" => Some(10_000),
        "TIER_100K" => Some(100_000),
        _ => None,
    }
}

/// The number's messaging-limit budget: unique users reached outside service windows in the
/// rolling 24 hours, against the tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitBudget {
    pub used: u32,
    /// `None`: unlimited.
    pub limit: Option<u32>,
    /// This recipient was already reached in the rolling window (costs nothing more).
    pub recipient_counted: bool,
}

/// What to do when the messaging-limit budget is spent: wait for it to roll, or refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenOverBudget {
    #[default]
    Hold,
    Refuse,
}

/// Everything the decision needs.
#[derive(Debug, Clone)]
pub struct SendFacts<'a> {
    pub now: UnixMs,
    pub content: &'a OutboundContent,
    /// The customer's last inbound message on this number (Meta's timestamp).
    pub last_inbound: Option<UnixMs>,
    pub consent: Consent,
    /// The template named by the content, if it is a template and we know it.
    pub template: Option<&'a TemplateDef>,
    pub budget: Option<LimitBudget>,
    pub over_budget: WhenOverBudget,
    /// Marketing templates this user received in the rolling 24 h, and our cap (if any).
    pub marketing_received_24h: u32,
    pub marketing_cap: Option<u32>,
    /// Approved templates the caller could use instead, for the window-closed explanation.
    pub usable_templates: &'a [String],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// Stable machine code.
    pub code: &'static str,
    /// A sentence a person can act on.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Send now. `business_initiated` counts against the messaging limit.
    Allow {
        business_initiated: bool,
    },
    /// Keep it queued until the messaging-limit budget allows (the caller chose to hold).
    Hold {
        code: &'static str,
        message: String,
    },
    Refuse(Refusal),
}

fn refuse(code: &'static str, message: String) -> Decision {
    Decision::Refuse(Refusal { code, message })
}

fn at(t: UnixMs) -> String {
    t.iso8601()
}

/// Decides whether a message may be sent now.
pub fn decide(f: &SendFacts<'_>) -> Decision {
    let open = window_open(f.last_inbound, f.now);
    let OutboundContent::Template(send) = f.content else {
        // Free-form: only inside the service window.
        if open {
            return Decision::Allow {
                business_initiated: false,
            };
        }
        let when = match f.last_inbound {
            Some(t) => format!(
                "The customer last wrote at {}; the 24-hour window closed at {}.",
                at(t),
                at(window_closes_at(t))
            ),
            None => "The customer has never written to this number, so no 24-hour window is open."
                .to_owned(),
        };
        let instead = if f.usable_templates.is_empty() {
            "Create and get a template approved to reach them.".to_owned()
        } else {
            format!(
                "Send an approved template instead: {}.",
                f.usable_templates.join(", ")
            )
        };
        return refuse(
            "window_closed",
            format!("{when} Only template messages can reach this customer now. {instead}"),
        );
    };

    let Some(def) = f.template else {
        return refuse(
            "template_unknown",
            format!(
                "No template {:?} in language {:?} is known for this number's account; check the name and language, or pull templates from Meta.",
                send.name,
                send.language.code.as_deref().unwrap_or("")
            ),
        );
    };
    match &def.status {
        TemplateStatus::Approved => {}
        TemplateStatus::Paused => {
            return refuse(
                "template_paused",
                format!(
                    "Template {} is paused by Meta for low quality; wait for it to be unpaused or use another template.",
                    def.name
                ),
            );
        }
        TemplateStatus::Disabled => {
            return refuse(
                "template_disabled",
                format!(
                    "Template {} was disabled by Meta after repeated pauses; create a new template.",
                    def.name
                ),
            );
        }
        other => {
            return refuse(
                "template_not_approved",
                format!(
                    "Template {} is {}; only APPROVED templates can be sent.",
                    def.name,
                    other.as_str().to_lowercase()
                ),
            );
        }
    }
    if let Err(problem) = check_params(def, send) {
        return refuse(
            "template_params_invalid",
            format!("Template {}: {problem}.", def.name),
        );
    }

    // Consent: an opted-out customer gets nothing business-initiated; marketing needs an opt-in.
    match f.consent.blocks(!open, def.category == Category::Marketing) {
        Some(Block::OptedOut) => {
            return refuse("opted_out", "This customer opted out of messages from this business; record a new opt-in before messaging them.".into());
        }
        Some(Block::NoMarketingConsent) => {
            return refuse("no_marketing_consent", "This customer has no recorded opt-in for marketing messages; record their consent (source and evidence) first.".into());
        }
        None => {}
    }
    if def.category == Category::Marketing
        && let Some(cap) = f.marketing_cap.filter(|c| f.marketing_received_24h >= *c)
    {
        return refuse(
            "marketing_cap_reached",
            format!(
                "This customer already received {} marketing message(s) in the last 24 hours (the cap is {cap}); try again tomorrow.",
                f.marketing_received_24h
            ),
        );
    }
    // Messaging limit: unique users reached outside windows in the rolling 24 h.
    if !open
        && let Some(b) = f.budget
        && let Some(limit) = b.limit
        && !b.recipient_counted
        && b.used >= limit
    {
        let message = format!(
            "This number's messaging limit of {limit} customers per 24 hours outside service windows is used up ({} reached).",
            b.used
        );
        return match f.over_budget {
            WhenOverBudget::Hold => Decision::Hold {
                code: "messaging_limit_reached",
                message: format!(
                    "{message} The message waits until the rolling window frees a slot."
                ),
            },
            WhenOverBudget::Refuse => refuse(
                "messaging_limit_reached",
                format!("{message} Try again later, or ask to hold it."),
            ),
        };
    }
    Decision::Allow {
        business_initiated: !open,
    }
}
