//! The customer service window: 24 hours from the customer's last message, by Meta's timestamp.
//! Inside it any message may be sent; outside it only templates. A click-to-WhatsApp referral
//! also opens a 72-hour free-entry-point window, in which templates are free.

use crate::UnixMs;

pub const SERVICE_WINDOW_MS: i64 = 24 * 3_600_000;
pub const FREE_ENTRY_POINT_MS: i64 = 72 * 3_600_000;

/// When the service window closes (or closed), given the customer's last inbound message.
pub fn window_closes_at(last_inbound: UnixMs) -> UnixMs {
    last_inbound.plus_ms(SERVICE_WINDOW_MS)
}

pub fn window_open(last_inbound: Option<UnixMs>, now: UnixMs) -> bool {
    last_inbound.is_some_and(|t| now < window_closes_at(t))
}

/// When the free-entry-point window a click-to-WhatsApp referral opened closes.
pub fn free_entry_point_closes_at(referral_at: UnixMs) -> UnixMs {
    referral_at.plus_ms(FREE_ENTRY_POINT_MS)
}

/// Open until the recorded closing time (the latest referral's), if there was one.
pub fn free_entry_point_open(closes_at: Option<UnixMs>, now: UnixMs) -> bool {
    closes_at.is_some_and(|t| now < t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_window_is_24_hours_from_the_last_inbound() {
        let t = UnixMs(1_750_000_000_000);
        assert!(window_open(Some(t), t));
        assert!(window_open(Some(t), t.plus_ms(SERVICE_WINDOW_MS - 1)));
        assert!(!window_open(Some(t), t.plus_ms(SERVICE_WINDOW_MS)));
        assert!(!window_open(None, t));
    }

    #[test]
    fn a_referral_opens_72_free_hours() {
        let t = UnixMs(1_750_000_000_000);
        let closes = free_entry_point_closes_at(t);
        assert!(free_entry_point_open(
            Some(closes),
            t.plus_ms(FREE_ENTRY_POINT_MS - 1)
        ));
        assert!(!free_entry_point_open(Some(closes), closes));
        assert!(!free_entry_point_open(None, t));
    }

    proptest! {
        #[test]
        fn open_exactly_before_the_deadline(last in 0i64..4_000_000_000_000, delta in -1_000_000i64..200_000_000) {
            let now = UnixMs(last + delta);
            prop_assert_eq!(window_open(Some(UnixMs(last)), now), delta < SERVICE_WINDOW_MS);
        }
    }
}
