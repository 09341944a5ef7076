//! The outbox against the emulator: a campaign's worth of template messages queued, then sent
//! by the dispatchers at each number's configured throughput while the emulator answers after a
//! realistic Graph latency (100–300 ms), so a number needs hundreds of calls in flight.
//!
//! `cargo bench -p switchboard-server --bench outbox` runs two scenarios: one number at
//! 1,000 messages/s with 100,000 messages, and five numbers at 1,000/s each with 20,000 each.
//! `BENCH_MESSAGES` scales the message count; `BENCH_ONLY=one` or `five` runs one scenario. Everything runs in this process (Switchboard, its
//! SQLite database, the emulator), on the machine's two cores.
//!
//! Reported: queueing rate (messages written to the outbox per second, 1,000 per transaction),
//! sustained send rate (accepted by the emulator, from the first to the last), the median of the
//! per-second rates, scheduling lag (when the outcome was recorded minus the message's slot under
//! perfect pacing at the configured rate: network latency plus any falling behind), CPU seconds
//! per 1,000 messages and the peak RSS of the whole process (emulator included).

use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_domain::UnixMs;
use switchboard_emulator::{Emulator, EmulatorConfig, MessagingLimit, NumberSpec};
use switchboard_server::config::{Config, Overrides};
use switchboard_server::outbound::{Outbound, parse_send};
use switchboard_server::{Application, outbound};
use switchboard_store::{PolicyLimits, Store, Submitted};

const RATE: u32 = 1_000;

fn proc_field(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User + system CPU seconds of this process.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

async fn scenario(numbers: usize, per_number: usize) {
    let mut ec = EmulatorConfig {
        messaging_limit: MessagingLimit::Unlimited,
        webhook_url: None,
        outbox_capacity: 1_000,
        ..Default::default()
    };
    ec.numbers = (0..numbers)
        .map(|i| NumberSpec {
            phone_number_id: format!("10654035224292{i}"),
            display_phone_number: format!("1555078388{i}"),
            throughput_mps: RATE,
            ..Default::default()
        })
        .collect();
    let emulator = Emulator::start(ec.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let http = switchboard_graph::http_client(Duration::from_secs(10));
    http.post(format!("{}/_emulator/faults", emulator.base_url))
        .json(&json!({"latency_ms": 100, "latency_jitter_ms": 200}))
        .send()
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let mut toml = String::new();
    for n in &ec.numbers {
        toml.push_str(&format!(
            "[[numbers]]\nphone_number_id = \"{}\"\nwaba_id = \"{}\"\naccess_token = \"{}\"\napp_secret = \"{}\"\nthroughput_mps = {RATE}\n",
            n.phone_number_id, ec.waba_id, ec.access_token, ec.app_secret
        ));
    }
    let base = emulator.base_url.clone();
    let config = Config::from_sources(
        Some(&toml),
        |k| (k == "SWITCHBOARD_GRAPH_BASE_URL").then(|| base.clone()),
        &Overrides {
            database_url: Some(url.clone()),
            listen: Some("127.0.0.1:0".into()),
            metrics_listen: Some("".into()),
        },
    )
    .unwrap();
    let store = Store::connect(&url, &Default::default()).await.unwrap();
    store.migrate().await.unwrap();

    // An approved utility template, pulled into the registry.
    let graph =
        switchboard_graph::GraphClient::new(&base, &ec.api_version, Duration::from_secs(10));
    let token = secrecy::SecretString::from(ec.access_token.clone());
    graph
        .create_template(&ec.waba_id, &token, &json!({"name": "order_shipped", "language": "en_US", "category": "UTILITY", "components": [
            {"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped.", "example": {"body_text": [["Ann", "42"]]}}]}))
        .await
        .unwrap();
    emulator.emulator.advance(Duration::from_secs(31));
    outbound::templates::sync_all(&store, &graph, &config)
        .await
        .unwrap();

    // Queue the campaign: per_number distinct customers per number.
    let ob = Outbound::new(&config);
    let total = numbers * per_number;
    let queued_at = Instant::now();
    let mut sends = Vec::with_capacity(1_000);
    for i in 0..total {
        let number = &ec.numbers[i % numbers].phone_number_id;
        let body = json!({"from": number, "to": format!("+1650{:07}", i), "type": "template", "template": {
            "name": "order_shipped", "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ann"}, {"type": "text", "text": format!("{i}")}]}]}});
        sends.push(parse_send(&ob, body.to_string().as_bytes()).unwrap());
        if sends.len() == 1_000 || i + 1 == total {
            let out = store
                .submit_sends(&sends, PolicyLimits::default(), UnixMs::now())
                .await
                .unwrap();
            assert!(out.iter().all(|s| matches!(s, Submitted::New(_))));
            sends.clear();
        }
    }
    let queue_secs = queued_at.elapsed().as_secs_f64();

    let cpu0 = cpu_secs();
    let app = Application::build(config, store.clone()).await.unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let start_ms = UnixMs::now().0;
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stop_rx.await;
    }));
    let mut per_second = Vec::new();
    let mut last = 0i64;
    let deadline = Duration::from_secs((total as u64 / u64::from(RATE) / numbers as u64) * 3 + 60);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut accepted = 0;
        for n in &ec.numbers {
            accepted += store
                .outbound_counts(&n.phone_number_id)
                .await
                .unwrap()
                .get("accepted")
                .copied()
                .unwrap_or(0);
        }
        per_second.push((accepted - last) as f64);
        last = accepted;
        if accepted as usize >= total || started.elapsed() > deadline {
            break;
        }
    }
    let cpu = cpu_secs() - cpu0;
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();

    // Rates and lag from the recorded outcomes.
    let rows: Vec<(String, i64)> = store.outbound_accepted_times().await.unwrap();
    let first = rows.iter().map(|r| r.1).min().unwrap_or(start_ms);
    let last_at = rows.iter().map(|r| r.1).max().unwrap_or(start_ms);
    let sustained = rows.len() as f64 * 1000.0 / (last_at - first).max(1) as f64;
    // Slot of the k-th message of a number under perfect pacing, from the first outcome.
    let mut by_number: std::collections::HashMap<&str, Vec<i64>> = Default::default();
    for (number, at) in &rows {
        by_number.entry(number).or_default().push(*at);
    }
    let mut lags: Vec<f64> = Vec::new();
    for ats in by_number.values_mut() {
        ats.sort_unstable();
        for (k, at) in ats.iter().enumerate() {
            let slot = first as f64 + k as f64 * 1000.0 / f64::from(RATE);
            lags.push((*at as f64 - slot).max(0.0));
        }
    }
    let steady: Vec<f64> = per_second
        .iter()
        .copied()
        .skip(1)
        .take(per_second.len().saturating_sub(2))
        .collect();
    let mut steady = if steady.is_empty() {
        per_second.clone()
    } else {
        steady
    };
    let median_rate = percentile(&mut steady, 0.5);
    let rss_mb = proc_field("/proc/self/status", "VmHWM:").unwrap_or(0) / 1024;
    println!(
        "| {numbers} × {RATE}/s | {total} | {:.0} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {rss_mb} |",
        total as f64 / queue_secs,
        rows.len(),
        sustained,
        median_rate,
        percentile(&mut lags.clone(), 0.5),
        percentile(&mut lags, 0.99),
        cpu / (rows.len().max(1) as f64 / 1000.0),
    );
    store.close().await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let scale: f64 = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(1.0, |n: f64| n / 100_000.0);
    println!(
        "| numbers | messages | queued/s | accepted | sustained/s | median/s | lag p50 ms | lag p99 ms | CPU s per 1k | peak RSS MB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only != "five" {
        scenario(1, (100_000.0 * scale) as usize).await;
    }
    if only != "one" {
        scenario(5, (20_000.0 * scale) as usize).await;
    }
}
