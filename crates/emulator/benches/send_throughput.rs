//! Send throughput of the emulator with every rule on, at concurrency 64 over loopback, against
//! a baseline in the same run: a minimal axum handler that parses the JSON body and answers a
//! fixed success. Run with `cargo bench -p switchboard-emulator --bench send_throughput`.
//!
//! Rules on means each request is authenticated, parsed into Meta's wire types, validated, and
//! passes the throughput and pair-rate limiters (set high enough not to refuse), the recipient's
//! service window is looked up, the message is recorded in the outbox and its statuses are
//! scheduled and emitted (batched into webhook bodies; no receiver, so they are logged).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::routing::post;
use serde_json::{Value, json};
use switchboard_emulator::{Customer, Emulator, EmulatorConfig};

const CONCURRENCY: usize = 64;
const ROUND: Duration = Duration::from_secs(3);
const ROUNDS: usize = 5;
const CUSTOMERS: u64 = 20_000;

async fn drive(url: String, token: String) -> (f64, u64) {
    let client = switchboard_graph::http_client(Duration::from_secs(10));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let seq = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, url, token, ok, failed, seq) = (
            client.clone(),
            url.clone(),
            token.clone(),
            ok.clone(),
            failed.clone(),
            seq.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while start.elapsed() < ROUND {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let to = 16_500_000_000 + n % CUSTOMERS;
                let body = json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": format!("+{to}"),
                                  "type": "text", "text": {"body": "Your order #1234 has shipped and will arrive tomorrow."}});
                match client.post(&url).bearer_auth(&token).json(&body).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    (
        ok.load(Ordering::Relaxed) as f64 / secs,
        failed.load(Ordering::Relaxed),
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Baseline: parse the body, answer a fixed success.
        let app = axum::Router::new().route(
            "/v26.0/{n}/messages",
            post(|Json(_): Json<Value>| async { Json(json!({"messaging_product": "whatsapp", "contacts": [{"input": "+1", "wa_id": "1"}], "messages": [{"id": "wamid.X"}]})) }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v26.0/1/messages", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let mut config = EmulatorConfig::default();
        config.numbers[0].throughput_mps = 1_000_000;
        config.outbox_capacity = 2_000_000;
        let running = Emulator::start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let em = running.emulator.clone();
        let number = em.default_number();
        for i in 0..CUSTOMERS {
            let wa_id = (16_500_000_000 + i).to_string();
            em.add_customer(Customer::new(&wa_id, None));
            em.customer_sends(&wa_id, &number, json!({"type": "text", "text": {"body": "hi"}})).unwrap();
        }
        let emu_url = format!("{}/v26.0/{number}/messages", running.base_url);
        let token = em.config().access_token.clone();

        let (mut base_rates, mut emu_rates, mut emu_failed) = (Vec::new(), Vec::new(), 0);
        for round in 0..ROUNDS {
            let (b, _) = drive(base.clone(), token.clone()).await;
            // A different window of recipients each round keeps every pair under its burst.
            let (e, f) = drive(emu_url.clone(), token.clone()).await;
            println!(
                "round {round}: baseline {b:.0} req/s, emulator {e:.0} req/s ({f} non-2xx); webhooks idle: {}, timed events waiting: {}, RSS so far {:.0} MB",
                em.webhooks_idle(),
                em.pending_events(),
                peak_rss_mb()
            );
            base_rates.push(b);
            emu_rates.push(e);
            emu_failed += f;
            em.advance(Duration::from_secs(60));
        }
        let (b, e) = (median(base_rates), median(emu_rates));
        println!(
            "\nmedian over {ROUNDS} rounds of {}s, concurrency {CONCURRENCY}: baseline {b:.0} req/s, emulator (all rules) {e:.0} req/s = {:.0}% of baseline; {emu_failed} non-2xx; outbox {} records; peak RSS {:.0} MB",
            ROUND.as_secs(),
            100.0 * e / b,
            em.outbox().len(),
            peak_rss_mb()
        );
    });
}
