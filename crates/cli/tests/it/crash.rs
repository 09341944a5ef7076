//! Nothing acknowledged is lost: the server is SIGKILLed while the emulator delivers thousands
//! of webhooks, then restarted; every body it acknowledged is in the journal, every message is
//! projected exactly once, and what it did not acknowledge arrives through Meta's retries.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use switchboard_emulator::{Customer, Emulator, EmulatorConfig};
use switchboard_store::testing::each_backend;
use switchboard_store::{ConnectOptions, Store};

fn serve(db_url: &str, port: u16, em: &Emulator) -> Child {
    serve_with(
        db_url,
        port,
        em,
        &[("SWITCHBOARD_VERIFY_TOKEN", &em.config().verify_token)],
    )
}

/// `switchboard serve` on `db_url` and `port`, pointed at the emulator's first number, with
/// `extra` environment variables.
pub(crate) fn serve_with(db_url: &str, port: u16, em: &Emulator, extra: &[(&str, &str)]) -> Child {
    let c = em.config();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SWITCHBOARD_") {
            cmd.env_remove(k);
        }
    }
    cmd.args([
        "serve",
        "--database-url",
        db_url,
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--metrics-listen",
        "",
    ])
    .env("SWITCHBOARD_GRAPH_BASE_URL", em.base_url())
    .env("SWITCHBOARD_PHONE_NUMBER_ID", &c.numbers[0].phone_number_id)
    .env("SWITCHBOARD_WABA_ID", &c.waba_id)
    .env("SWITCHBOARD_ACCESS_TOKEN", &c.access_token)
    .env("SWITCHBOARD_APP_SECRET", &c.app_secret)
    .env("SWITCHBOARD_LOG", "warn")
    .envs(extra.iter().copied())
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap()
}

async fn wait_ready(port: u16) {
    let start = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_delivery_loses_nothing_acknowledged_and_duplicates_nothing() {
    for db in each_backend().await {
        let backend = db.backend;
        db.store().await; // migrate once up front
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut config = EmulatorConfig {
            webhook_url: Some(format!("http://127.0.0.1:{port}/webhooks/whatsapp")),
            ..Default::default()
        };
        config.webhooks.max_batch = 10;
        config.webhooks.batch_window_ms = 1;
        config.webhooks.concurrency = 16;
        config.webhooks.retry_time_scale = 0.0002; // Meta's 7-day schedule in two minutes
        config.webhooks.timeout_ms = 2_000;
        config.webhooks.log_capacity = 100_000;
        let running = Emulator::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let em = running.emulator.clone();
        let number = em.default_number();
        for i in 0..50 {
            em.add_customer(Customer::new(&format!("1650555{i:04}"), None));
        }

        let mut first = Some(serve(&db.url, port, &em));
        wait_ready(port).await;
        const TOTAL: usize = 3_000;
        let mut sent = HashSet::new();
        for n in 0..TOTAL {
            let who = format!("1650555{:04}", n % 50);
            sent.insert(
                em.customer_sends(
                    &who,
                    &number,
                    serde_json::json!({"type": "text", "text": {"body": format!("message {n}")}}),
                )
                .unwrap(),
            );
            if n == TOTAL / 3
                && let Some(mut server) = first.take()
            {
                // Let deliveries be in flight, then kill the server without warning.
                tokio::time::sleep(Duration::from_millis(30)).await;
                server.kill().unwrap();
                server.wait().unwrap();
            }
            if n % 100 == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut server = serve(&db.url, port, &em);
        wait_ready(port).await;

        let store = Store::connect(&db.url, &ConnectOptions::default())
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (messages, ..) = store.inbound_counts().await.unwrap();
            if messages as usize == sent.len()
                && em.webhooks_idle()
                && store.unprojected_webhooks(1).await.unwrap().is_empty()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{backend:?}: only {messages} of {} messages after two minutes",
                sent.len()
            );
            em.advance(Duration::from_secs(3_600)); // let the retry schedule run
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        // Every acknowledged body is journaled (by its SHA-256, exactly as signed).
        let mut journaled = HashSet::new();
        let mut after = 0;
        loop {
            let page = store.webhooks_after(after, 1000).await.unwrap();
            let Some(last) = page.last() else { break };
            after = last.id;
            for e in &page {
                assert!(
                    e.projected_at_ms.is_some() && e.error.is_none(),
                    "{backend:?}: journal row {} not projected cleanly",
                    e.id
                );
                journaled.insert(e.dedupe_key.clone());
            }
        }
        let log = em.deliveries();
        assert!(log.len() < 100_000, "the whole delivery log was kept");
        let acknowledged: Vec<_> = log
            .into_iter()
            .filter(|d| d.outcome == "delivered")
            .collect();
        assert!(!acknowledged.is_empty());
        for d in &acknowledged {
            let key = hex::encode(Sha256::digest(&d.body));
            assert!(
                journaled.contains(&key),
                "{backend:?}: batch {} was acknowledged but is not in the journal",
                d.batch_id
            );
        }
        let failed_attempts = em
            .deliveries()
            .iter()
            .filter(|d| d.outcome == "will_retry")
            .count();
        assert!(
            failed_attempts > 0,
            "the kill interrupted deliveries (else this test proves nothing)"
        );
        // Exactly once: one row per wamid, and as many rows as messages sent.
        let (messages, _, contacts, conversations) = store.inbound_counts().await.unwrap();
        assert_eq!(messages as usize, TOTAL, "{backend:?}");
        assert_eq!((contacts, conversations), (50, 50));
        println!(
            "{backend:?}: {TOTAL} messages, {} journal rows, {} acknowledged batches, {failed_attempts} failed delivery attempts during the outage",
            journaled.len(),
            acknowledged.len()
        );
        server.kill().unwrap();
        server.wait().unwrap();
        store.close().await;
    }
}
