//! `TestApp`: a running Switchboard on port 0 over a fresh database, and a client for it.

use switchboard_domain::Role;
use switchboard_server::config::{Config, Overrides};
use switchboard_server::{Application, auth};
use switchboard_store::Store;
use switchboard_store::testing::TestDatabase;
use tokio::sync::oneshot;

pub struct TestApp {
    pub base: String,
    pub metrics_base: String,
    pub store: Store,
    pub http: reqwest::Client,
    _db: TestDatabase,
    stop: Option<oneshot::Sender<()>>,
    pub server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(db: TestDatabase) -> TestApp {
        let store = db.store().await;
        let config = Config::from_sources(
            None,
            |_| None,
            &Overrides {
                database_url: Some(db.url.clone()),
                listen: Some("127.0.0.1:0".into()),
                metrics_listen: Some("127.0.0.1:0".into()),
            },
        )
        .expect("test config is valid");
        let app = Application::build(config, store.clone())
            .await
            .expect("bind");
        let base = format!("http://{}", app.addr());
        let metrics_base = format!("http://{}", app.metrics_addr().unwrap());
        let (tx, rx) = oneshot::channel();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        TestApp {
            base,
            metrics_base,
            store,
            http: switchboard_graph::http_client(std::time::Duration::from_secs(30)),
            _db: db,
            stop: Some(tx),
            server: Some(server),
        }
    }

    /// A new API key of `role`, created as `switchboard apikey create` would.
    pub async fn key(&self, role: Role) -> String {
        auth::create_api_key(&self.store, &format!("test-{role}"), role)
            .await
            .unwrap()
            .1
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        req.send().await.unwrap()
    }

    /// Stops the server as SIGTERM would and waits for it to finish.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            s.await.unwrap().unwrap();
        }
    }
}

/// The error code of a JSON error response.
pub async fn error_code(resp: reqwest::Response) -> (u16, String, String) {
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap();
    (
        status,
        body["error"]["code"].as_str().unwrap().to_owned(),
        body["error"]["message"].as_str().unwrap().to_owned(),
    )
}
