//! `TestApp`: a running Switchboard on port 0 over a fresh database, wired to an emulator of
//! Meta's API that delivers real signed webhooks to it, and a client for both.

mod agents;
mod templates;

pub use agents::Session;

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_domain::Role;
use switchboard_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use switchboard_server::config::{Config, Overrides};
use switchboard_server::inbound::media::MediaWorker;
use switchboard_server::inbound::projector::Projector;
use switchboard_server::outbound::dispatcher::Dispatcher;
use switchboard_server::{Application, auth};
use switchboard_store::Store;
use switchboard_store::testing::TestDatabase;
use tokio::sync::oneshot;

pub struct TestApp {
    pub base: String,
    pub metrics_base: String,
    pub store: Store,
    pub http: reqwest::Client,
    pub emulator: RunningEmulator,
    pub em: Emulator,
    pub projector: Projector,
    pub media: MediaWorker,
    pub dispatcher: Dispatcher,
    pub routing: switchboard_server::routing::Router,
    pub number: String,
    config: Config,
    background: bool,
    _db: TestDatabase,
    _media_dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    pub server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(db: TestDatabase) -> TestApp {
        Self::spawn_with(db, |_| {}).await
    }

    /// Starts Switchboard and an emulator configured by `tweak`, pointed at each other.
    pub async fn spawn_with(db: TestDatabase, tweak: impl FnOnce(&mut EmulatorConfig)) -> TestApp {
        Self::spawn_full(db, tweak, &[], false).await
    }

    /// As [`TestApp::spawn_with`], with extra configuration variables, and with the background
    /// workers running (`background`) instead of driven by the test.
    pub async fn spawn_full(
        db: TestDatabase,
        tweak: impl FnOnce(&mut EmulatorConfig),
        extra: &[(&str, &str)],
        background: bool,
    ) -> TestApp {
        let store = db.store().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut ec = EmulatorConfig {
            webhook_url: Some(format!("{base}/webhooks/whatsapp")),
            ..Default::default()
        };
        ec.webhooks.batch_window_ms = 2;
        ec.numbers[0].throughput_mps = 1000;
        tweak(&mut ec);
        let emulator = Emulator::start(ec.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let em = emulator.emulator.clone();
        let media_dir = tempfile::tempdir().unwrap();
        let mut vars: Vec<(&str, String)> = vec![
            // Short, so the tests of calls that time out do not wait long.
            ("SWITCHBOARD_GRAPH_TIMEOUT_SECS", "2".into()),
            ("SWITCHBOARD_GRAPH_BASE_URL", emulator.base_url.clone()),
            ("SWITCHBOARD_VERIFY_TOKEN", ec.verify_token.clone()),
            (
                "SWITCHBOARD_PHONE_NUMBER_ID",
                ec.numbers[0].phone_number_id.clone(),
            ),
            ("SWITCHBOARD_WABA_ID", ec.waba_id.clone()),
            ("SWITCHBOARD_ACCESS_TOKEN", ec.access_token.clone()),
            ("SWITCHBOARD_APP_SECRET", ec.app_secret.clone()),
            (
                "SWITCHBOARD_DISPLAY_NUMBER",
                format!("+{}", ec.numbers[0].display_phone_number),
            ),
            (
                "SWITCHBOARD_MEDIA_DIR",
                media_dir.path().display().to_string(),
            ),
        ];
        // `{emulator}` in a value is the emulator's base URL.
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| (*k, v.replace("{emulator}", &emulator.base_url))),
        );
        let config = Config::from_sources(
            None,
            |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()),
            &Overrides {
                database_url: Some(db.url.clone()),
                listen: Some("127.0.0.1:0".into()),
                metrics_listen: Some("127.0.0.1:0".into()),
            },
        )
        .expect("test config is valid");
        let (app, stop, server) = start(config.clone(), store.clone(), listener, background).await;
        let metrics_base = format!("http://{}", app.metrics_addr);
        TestApp {
            config,
            background,
            dispatcher: app.dispatcher,
            routing: app.routing,
            base,
            metrics_base,
            store,
            http: switchboard_graph::http_client(Duration::from_secs(30)),
            number: em.default_number(),
            emulator,
            em,
            projector: app.projector,
            media: app.media,
            _db: db,
            _media_dir: media_dir,
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// Stops Switchboard as SIGTERM would and starts it again on the same database and address.
    pub async fn restart(&mut self) {
        self.stop().await;
        let addr = self.base.trim_start_matches("http://").to_owned();
        let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
        let (app, stop, server) = start(
            self.config.clone(),
            self.store.clone(),
            listener,
            self.background,
        )
        .await;
        self.dispatcher = app.dispatcher;
        self.routing = app.routing;
        self.projector = app.projector;
        self.media = app.media;
        self.stop = Some(stop);
        self.server = Some(server);
    }

    /// A second instance of Switchboard on the same database (PostgreSQL deployments run
    /// several), without background workers. Returns its base URL and what stops it.
    pub async fn second_instance(
        &self,
    ) -> (
        String,
        oneshot::Sender<()>,
        tokio::task::JoinHandle<std::io::Result<()>>,
    ) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (_, stop, server) =
            start(self.config.clone(), self.store.clone(), listener, false).await;
        (base, stop, server)
    }

    /// POSTs JSON with a key (and optional extra headers).
    pub async fn post_json(
        &self,
        path: &str,
        key: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
            .json(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    /// Sets emulator faults through its control API.
    pub async fn faults(&self, body: Value) {
        let r = self
            .http
            .post(format!("{}/_emulator/faults", self.emulator.base_url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "faults: {}", r.status());
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

    pub async fn get_json(&self, path: &str, key: &str) -> Value {
        let r = self.get(path, Some(key)).await;
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// A simulated customer who writes `text`.
    pub fn customer_writes(&self, wa_id: &str, content: Value) -> String {
        if self.em.customer(wa_id).is_none() {
            self.em.add_customer(switchboard_emulator::Customer::new(
                wa_id,
                Some("Sheena Nelson"),
            ));
        }
        self.em
            .customer_sends(wa_id, &self.number, content)
            .unwrap()
    }

    pub fn text(body: &str) -> Value {
        json!({"type": "text", "text": {"body": body}})
    }

    /// Waits until the emulator has delivered everything (bounded), then projects it all.
    pub async fn settle(&self) {
        tokio::time::timeout(Duration::from_secs(10), self.em.flush())
            .await
            .expect("the emulator's webhooks were delivered");
        self.projector.drain().await.unwrap();
    }

    /// POSTs `body` to our webhook endpoint signed with the emulator's app secret.
    pub async fn post_signed(&self, body: &[u8]) -> reqwest::Response {
        let sig =
            switchboard_cloudapi::signature::sign(self.em.config().app_secret.as_bytes(), body);
        self.http
            .post(format!("{}/webhooks/whatsapp", self.base))
            .header("x-hub-signature-256", sig)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    /// Runs `statements` on the test database directly, beside the server (a test that makes
    /// the database refuse something).
    pub async fn sql(&self, statements: &str) {
        use sqlx::Connection;
        let sql = sqlx::AssertSqlSafe(statements.to_owned());
        match self._db.backend {
            switchboard_store::Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self._db.url)
                    .await
                    .unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
                c.close().await.unwrap();
            }
            switchboard_store::Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self._db.url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
                c.close().await.unwrap();
            }
        }
    }

    pub fn backend(&self) -> switchboard_store::Backend {
        self._db.backend
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

struct Started {
    metrics_addr: std::net::SocketAddr,
    projector: Projector,
    media: MediaWorker,
    dispatcher: Dispatcher,
    routing: switchboard_server::routing::Router,
}

async fn start(
    config: Config,
    store: Store,
    listener: tokio::net::TcpListener,
    background: bool,
) -> (
    Started,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let mut app = Application::build_on(config, store, listener)
        .await
        .expect("bind");
    if !background {
        app = app.without_background_workers();
    }
    let started = Started {
        metrics_addr: app.metrics_addr().unwrap(),
        projector: app.projector(),
        media: app.media_worker(),
        dispatcher: app.dispatchers().remove(0),
        routing: app.routing(),
    };
    let (tx, rx) = oneshot::channel();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    (started, tx, server)
}

/// The error code of a JSON error response.
pub async fn error_code(resp: reqwest::Response) -> (u16, String, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    (
        status,
        body["error"]["code"].as_str().unwrap().to_owned(),
        body["error"]["message"].as_str().unwrap().to_owned(),
    )
}
