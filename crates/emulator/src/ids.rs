//! Identifiers shaped like Meta's (§14.1): numeric string ids, `wamid.` + base64, 32-hex
//! conversation ids, fbtrace ids. Opaque to clients, unique within a run.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// An outbound (`inbound = false`) or inbound wamid embedding the user's number and a sequence.
pub fn wamid(wa_id: &str, seq: u64, inbound: bool) -> String {
    let mut blob = Vec::with_capacity(48);
    blob.extend_from_slice(&[0x1c, 0x18, wa_id.len() as u8]);
    blob.extend_from_slice(wa_id.as_bytes());
    blob.extend_from_slice(if inbound {
        &[0x15, 0x02, 0x00, 0x12, 0x18]
    } else {
        &[0x15, 0x02, 0x00, 0x11, 0x18]
    });
    blob.extend_from_slice(&seq.to_be_bytes());
    blob.extend_from_slice(&rand::random::<[u8; 6]>());
    format!("wamid.{}", STANDARD.encode(blob))
}

/// A 16-digit numeric id (media, templates).
pub fn numeric(seq: u64) -> String {
    format!(
        "{}",
        1_000_000_000_000_000u64 + seq * 1_000 + rand::random_range(0..1_000u64)
    )
}

pub fn fbtrace() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 18]>())
}

pub fn conversation_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

#[cfg(test)]
mod tests {
    #[test]
    fn wamids_are_unique_and_shaped() {
        let a = super::wamid("16505551234", 1, false);
        let b = super::wamid("16505551234", 2, false);
        assert!(a.starts_with("wamid.HBgL"), "{a}");
        assert_ne!(a, b);
        assert_eq!(super::conversation_id().len(), 32);
    }
}
