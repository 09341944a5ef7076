//! Templates a test sends: created at the emulator, approved by its review, pulled into the
//! registry.

use std::time::Duration;

use serde_json::{Value, json};

use super::TestApp;

impl TestApp {
    /// Creates `template` (Meta's create body) at the emulator, lets its review finish (30 s of
    /// the emulator's clock) and pulls templates: it is ready to send.
    pub async fn approved_template(&self, template: Value, admin: &str) {
        let cfg = self.em.config();
        let token = secrecy::SecretString::from(cfg.access_token.clone());
        let graph = switchboard_graph::GraphClient::new(
            &self.emulator.base_url,
            &cfg.api_version,
            Duration::from_secs(5),
        );
        graph
            .create_template(&cfg.waba_id, &token, &template)
            .await
            .unwrap();
        self.em.advance(Duration::from_secs(31));
        let r = self
            .post_json("/api/v1/templates/sync", admin, &json!({}), &[])
            .await;
        assert_eq!(r.status(), 200);
    }
}
