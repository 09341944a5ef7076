//! A running emulator, a Graph client pointed at it, and a webhook receiver that answers the
//! handshake, checks `X-Hub-Signature-256` on every POST and keeps the bodies.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use secrecy::SecretString;
use serde_json::{Value, json};
use switchboard_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use switchboard_graph::GraphClient;

#[derive(Clone, Default)]
pub struct Receiver {
    pub bodies: Arc<Mutex<Vec<Value>>>,
    pub handshakes: Arc<AtomicUsize>,
    pub bad_signatures: Arc<AtomicUsize>,
    /// Answer 500 to this many POSTs before accepting.
    pub fail_first: Arc<AtomicUsize>,
    secret: Arc<String>,
    verify_token: Arc<String>,
}

impl Receiver {
    pub fn all_changes(&self) -> Vec<(String, Value)> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .flat_map(|b| b["entry"].as_array().cloned().unwrap_or_default())
            .flat_map(|e| e["changes"].as_array().cloned().unwrap_or_default())
            .map(|c| (c["field"].as_str().unwrap().to_owned(), c["value"].clone()))
            .collect()
    }

    /// Every `statuses[]` item received, in arrival order.
    pub fn statuses(&self) -> Vec<Value> {
        self.all_changes()
            .into_iter()
            .flat_map(|(_, v)| v["statuses"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    pub fn statuses_of(&self, wamid: &str) -> Vec<String> {
        self.statuses()
            .iter()
            .filter(|s| s["id"] == wamid)
            .map(|s| s["status"].as_str().unwrap().to_owned())
            .collect()
    }

    pub fn messages(&self) -> Vec<Value> {
        self.all_changes()
            .into_iter()
            .flat_map(|(_, v)| v["messages"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    pub fn field(&self, field: &str) -> Vec<Value> {
        self.all_changes()
            .into_iter()
            .filter(|(f, _)| f == field)
            .map(|(_, v)| v)
            .collect()
    }
}

async fn handshake(
    State(r): State<Receiver>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> (StatusCode, String) {
    if q.get("hub.mode").map(String::as_str) == Some("subscribe")
        && q.get("hub.verify_token") == Some(&r.verify_token)
    {
        r.handshakes.fetch_add(1, Ordering::SeqCst);
        (
            StatusCode::OK,
            q.get("hub.challenge").cloned().unwrap_or_default(),
        )
    } else {
        (StatusCode::FORBIDDEN, String::new())
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let sig = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !switchboard_cloudapi::signature::verify(r.secret.as_bytes(), &body, sig) {
        r.bad_signatures.fetch_add(1, Ordering::SeqCst);
        return StatusCode::UNAUTHORIZED;
    }
    if r.fail_first.load(Ordering::SeqCst) > 0 {
        r.fail_first.fetch_sub(1, Ordering::SeqCst);
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    r.bodies
        .lock()
        .unwrap()
        .push(serde_json::from_slice(&body).expect("webhook bodies are JSON"));
    StatusCode::OK
}

pub struct Harness {
    pub running: RunningEmulator,
    pub em: Emulator,
    pub graph: GraphClient,
    pub token: SecretString,
    pub number: String,
    pub receiver: Receiver,
    pub http: reqwest::Client,
}

impl Harness {
    pub async fn start() -> Harness {
        Self::with(|_| {}).await
    }

    pub async fn with(tweak: impl FnOnce(&mut EmulatorConfig)) -> Harness {
        let mut config = EmulatorConfig::default();
        let receiver = Receiver {
            secret: Arc::new(config.app_secret.clone()),
            verify_token: Arc::new(config.verify_token.clone()),
            ..Default::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhook", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/webhook", get(handshake).post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        config.webhook_url = Some(url);
        config.webhooks.batch_window_ms = 2;
        config.numbers[0].throughput_mps = 1000;
        tweak(&mut config);
        let running = Emulator::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let em = running.emulator.clone();
        let graph = GraphClient::new(&running.base_url, "v26.0", Duration::from_secs(5));
        let token = SecretString::from(em.config().access_token.clone());
        let number = em.default_number();
        Harness {
            running,
            em,
            graph,
            token,
            number,
            receiver,
            http: switchboard_graph::http_client(Duration::from_secs(5)),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url)
    }

    /// A customer who has just written (so the service window is open).
    pub async fn customer_writing(&self, wa_id: &str) -> String {
        self.em
            .add_customer(switchboard_emulator::Customer::new(wa_id, Some("Sheena")));
        self.em
            .customer_sends(
                wa_id,
                &self.number,
                json!({"type": "text", "text": {"body": "Hi"}}),
            )
            .unwrap()
    }

    /// Advances the emulator clock in steps and waits for webhooks to settle.
    pub async fn advance(&self, secs: u64) {
        self.em.advance(Duration::from_secs(secs));
        self.settle().await;
    }

    /// Runs what is due and waits until the emulator has nothing waiting or in flight to the
    /// receiver (bounded).
    pub async fn settle(&self) {
        tokio::time::timeout(Duration::from_millis(2_500), self.em.flush())
            .await
            .expect("webhooks settled within 2.5 s");
    }

    /// POSTs raw JSON to /messages and returns (status, body).
    pub async fn post_messages(&self, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(&format!("/v26.0/{}/messages", self.number)))
            .bearer_auth(&self.em.config().access_token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// Creates a template through the Graph API and lets review finish.
    pub async fn approved_template(&self, body: Value) -> String {
        let created = self
            .graph
            .create_template(&self.em.config().waba_id, &self.token, &body)
            .await
            .unwrap();
        assert_eq!(created["status"], "PENDING");
        self.advance(31).await;
        created["id"].as_str().unwrap().to_owned()
    }
}

/// The error code of a Graph error body.
pub fn code(body: &Value) -> i64 {
    body["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not a Graph error: {body}"))
}
