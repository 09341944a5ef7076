//! `X-Hub-Signature-256`: HMAC-SHA256 of the exact raw body, keyed with the app secret, as
//! `sha256=<lowercase hex>`. Verify over the bytes received, before any parsing: Meta escapes
//! non-ASCII as `\uXXXX`, so re-serialised JSON would not match.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header name, lower-case as HTTP/2 and axum present it.
pub const HEADER: &str = "x-hub-signature-256";

/// The header value Meta would send for `body` signed with `app_secret`.
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac(app_secret, body)))
}

/// Constant-time check of a header value against `body`. Any malformed header is `false`.
pub fn verify(app_secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = HmacSha256::new_from_slice(app_secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// `appsecret_proof`: hex(HMAC-SHA256(app_secret, access_token)), for Graph calls (§1.4).
pub fn appsecret_proof(app_secret: &[u8], access_token: &str) -> String {
    hex::encode(hmac(app_secret, access_token.as_bytes()))
}

fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2.
        let sig = sign(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify(b"Jefe", b"what do ya want for nothing?", &sig));
    }

    #[test]
    fn rejects_malformed_headers() {
        let body = b"{}";
        let good = sign(b"k", body);
        assert!(!verify(b"k", body, ""));
        assert!(!verify(b"k", body, "sha1=abc"));
        assert!(!verify(b"k", body, "sha256=zz"));
        assert!(!verify(b"k", body, &good[..good.len() - 2]));
        assert!(!verify(b"other", body, &good));
        assert!(!verify(b"k", b"{} ", &good));
    }

    proptest! {
        #[test]
        fn sign_then_verify(secret in proptest::collection::vec(any::<u8>(), 0..64),
                            body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let sig = sign(&secret, &body);
            prop_assert!(verify(&secret, &body, &sig));
        }

        #[test]
        fn any_flipped_bit_fails(body in proptest::collection::vec(any::<u8>(), 1..256), bit in 0usize..2048) {
            let sig = sign(b"secret", &body);
            let mut tampered = body.clone();
            let i = bit % (tampered.len() * 8);
            tampered[i / 8] ^= 1 << (i % 8);
            prop_assert!(!verify(b"secret", &tampered, &sig));
        }

        #[test]
        fn arbitrary_headers_never_panic(h in ".*") {
            let _ = verify(b"secret", b"body", &h);
        }
    }
}
