//! The one send service: every origin of a message (the send API, an agent's reply, a campaign,
//! and next the automations) goes through these functions, so a send is read, checked, decided,
//! queued, priced and woken the same way whoever asked for it.
//!
//! [`read`] takes Meta's send body plus ours (`from`, `lane`, `on_limit`) and refuses media
//! links into private networks; [`check`] says what the policy would decide now, storing
//! nothing; [`submit`] has the store decide and queue in one transaction (the policy runs
//! there, against the facts it reads), then records each queued message's cost estimate and
//! wakes its number's dispatcher. What an origin adds (an idempotency key, who asked, a
//! campaign id, the conversation's recipient) it sets on the [`NewSend`] between the two.

use std::collections::HashSet;

use switchboard_domain::UnixMs;
use switchboard_domain::policy::Decision;
use switchboard_store::{NewSend, OutboundRow, PolicyLimits, Submitted};

use crate::Shared;
use crate::error::ApiError;

/// Reads a send request and checks its media links.
pub async fn read(state: &Shared, raw: &[u8]) -> Result<NewSend, ApiError> {
    let send = super::parse_send(&state.outbound, raw)?;
    state.outbound.links.check(&send.request).await?;
    Ok(send)
}

/// What the policy would decide for each send now; nothing is stored.
pub async fn check(state: &Shared, sends: &[NewSend]) -> Result<Vec<Decision>, ApiError> {
    Ok(state
        .store
        .check_sends(sends, limits(state), UnixMs::now())
        .await?)
}

/// Decides and queues `sends`, then prices and wakes what was queued. A failed estimate is
/// logged, never a reason to lose a queued message.
pub async fn submit(state: &Shared, sends: &[NewSend]) -> Result<Vec<Submitted>, ApiError> {
    let now = UnixMs::now();
    let out = state.store.submit_sends(sends, limits(state), now).await?;
    let queued: Vec<&OutboundRow> = out
        .iter()
        .filter_map(|s| match s {
            Submitted::New(row) => Some(row),
            _ => None,
        })
        .collect();
    // Only what is waiting to go is priced (refused rows are kept for their record).
    if let Err(e) = crate::costs::estimate(&state.store, &queued, now).await {
        tracing::error!(error = %crate::error::error_chain(&e), "could not record a cost estimate");
    }
    let numbers: HashSet<&str> = queued.iter().map(|r| r.phone_number_id.as_str()).collect();
    for number in numbers {
        state.outbound.wake(number);
    }
    Ok(out)
}

/// The limits the policy applies beyond what the store reads (the marketing cap) and the
/// policy's clock (the emulator's, in development).
pub fn limits(state: &Shared) -> PolicyLimits {
    PolicyLimits {
        marketing_cap: state.config.outbound.marketing_cap_per_user,
        clock_offset_ms: state.clock.offset_ms(),
    }
}
