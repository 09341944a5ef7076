//! The client side of Meta's Graph API.
//!
//! Today this crate owns the process's one HTTP client setup: reqwest over rustls with the
//! `ring` provider (aws-lc-rs, reqwest's default, costs ~25 s of C build on two cores for nothing
//! we need). The Cloud API calls (send, mark read, media, templates, phone numbers) and the
//! mapping of every Graph error to a retry class join it with the emulator they are tested
//! against.

use std::sync::Once;
use std::time::Duration;

static CRYPTO: Once = Once::new();

/// Installs rustls's `ring` provider for the process (idempotent).
pub fn install_crypto_provider() {
    CRYPTO.call_once(|| {
        // Err means another provider was installed first, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// An HTTP client with connect and request timeouts. Build one per process and clone it.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10).min(timeout))
        .timeout(timeout)
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a client with a crypto provider installed builds")
}

#[cfg(test)]
mod tests {
    #[test]
    fn clients_build_repeatedly() {
        let _a = super::http_client(std::time::Duration::from_secs(1));
        let _b = super::http_client(std::time::Duration::from_secs(1));
    }
}
