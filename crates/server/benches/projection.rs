//! The projector from a backlog: how many status updates and inbound messages a second it turns
//! from journaled webhook bodies into rows.
//!
//! `cargo bench -p switchboard-server --bench projection` runs, on SQLite and then on the
//! throwaway PostgreSQL cluster the tests use:
//!
//! - **statuses**: a campaign's answer. `BENCH_MESSAGES` (default 50,000) outbound messages,
//!   one per customer over five numbers, are seeded straight into the tables; then each gets
//!   `sent`, `delivered` and `read`, one status per webhook body as Meta sends them (a wave of
//!   1,000 messages at a time: their `sent`s, then their `delivered`s, then their `read`s).
//! - **inbound**: `BENCH_MESSAGES` text messages, one per body, from a fifth as many customers
//!   (each writes five times) to five numbers, each with the customer's profile name.
//!
//! The bodies are appended to the journal first (timed: the baseline, the journal's own
//! append rate through `Store::append_webhooks`, in the same run), then the projector drains
//! the backlog (timed: the figure). Afterwards every message must be `read` (statuses) or every
//! message stored (inbound), or the bench fails. `BENCH_ONLY=sqlite|postgres` and
//! `BENCH_SCENARIO=statuses|inbound` narrow the run; `BENCH_ROUNDS` (default 1) repeats it.
//!
//! `BENCH_SCENARIO=steady` instead offers a steady load (`BENCH_RATE` statuses/s, default
//! 15,000, plus `BENCH_INBOUND_RATE` inbound messages/s, default 1,000, for `BENCH_SECONDS`,
//! default 60) while the projector runs, and reports how far behind it was (see `steady`).

use std::time::{Duration, Instant};

use switchboard_server::Application;
use switchboard_server::config::{Config, Overrides};
use switchboard_store::testing::TestDatabase;
use switchboard_store::{Backend, NewWebhook, Store};

const NUMBERS: usize = 5;
const WAVE: usize = 1_000;

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn number(i: usize) -> String {
    format!("10654035224292{}", i % NUMBERS)
}

fn wrap(number: &str, value: &str) -> Vec<u8> {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"1555078388{}","phone_number_id":"{number}"}},{value}}},"field":"messages"}}]}}]}}"#,
        &number[number.len() - 1..]
    )
    .into_bytes()
}

fn status_body(i: usize, status: &str, ts: i64) -> Vec<u8> {
    let pricing = r#""pricing":{"billable":true,"pricing_model":"PMP","type":"regular","category":"utility"}"#;
    wrap(
        &number(i),
        &format!(
            r#""statuses":[{{"id":"wamid.bench{i}","status":"{status}","timestamp":"{ts}","recipient_id":"1650{i:07}",{pricing}}}]"#
        ),
    )
}

fn inbound_body(i: usize, customers: usize, ts: i64) -> Vec<u8> {
    let c = i % customers;
    wrap(
        &number(c),
        &format!(
            r#""contacts":[{{"profile":{{"name":"Customer {c}"}},"wa_id":"4917{c:08}"}}],"messages":[{{"from":"4917{c:08}","id":"wamid.in{i}","timestamp":"{ts}","type":"text","text":{{"body":"Hello, where is my order {i}?"}}}}]"#
        ),
    )
}

/// Outbound messages `wamid.bench0..n`, one conversation (and customer) each, as the outbox
/// leaves them once Meta accepted them.
async fn seed(db: &TestDatabase, n: usize) {
    macro_rules! seed_on {
        ($conn:expr, $ids:expr) => {{
            let conn = &mut $conn;
            let now = switchboard_domain::UnixMs::now().0;
            for chunk in (0..n).collect::<Vec<_>>().chunks(2_000) {
                let mut q = sqlx::QueryBuilder::new(format!(
                    "INSERT INTO contacts (id, wa_id, created_at_ms, updated_at_ms) {}",
                    $ids
                ));
                q.push_values(chunk, |mut b, &i| {
                    b.push_bind(i as i64 + 1)
                        .push_bind(format!("1650{i:07}"))
                        .push_bind(now)
                        .push_bind(now);
                });
                q.build().execute(&mut *conn).await.unwrap();
                let mut q = sqlx::QueryBuilder::new(format!(
                    "INSERT INTO conversations (id, phone_number_id, contact_id, status, last_message_at_ms, created_at_ms) {}",
                    $ids
                ));
                q.push_values(chunk, |mut b, &i| {
                    b.push_bind(i as i64 + 1)
                        .push_bind(number(i))
                        .push_bind(i as i64 + 1)
                        .push_bind("open")
                        .push_bind(now)
                        .push_bind(now);
                });
                q.build().execute(&mut *conn).await.unwrap();
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO messages (wamid, conversation_id, direction, type, payload, meta_at_ms, status, status_rank, created_at_ms) ",
                );
                q.push_values(chunk, |mut b, &i| {
                    b.push_bind(format!("wamid.bench{i}"))
                        .push_bind(i as i64 + 1)
                        .push_bind("out")
                        .push_bind("template")
                        .push_bind("{}")
                        .push_bind(now)
                        .push_bind("accepted")
                        .push_bind(0i64)
                        .push_bind(now);
                });
                q.build().execute(&mut *conn).await.unwrap();
            }
        }};
    }
    use sqlx::Connection;
    match db.backend {
        Backend::Sqlite => seed_on!(sqlx::SqliteConnection::connect(&db.url).await.unwrap(), ""),
        Backend::Postgres => {
            // The ids are given so messages can name their conversations; the identity
            // sequences are moved past them.
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            seed_on!(c, "OVERRIDING SYSTEM VALUE ");
            for table in ["contacts", "conversations"] {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                )))
                .execute(&mut c)
                .await
                .unwrap();
            }
        }
    }
}

async fn scalar(db: &TestDatabase, sql: &'static str) -> i64 {
    use sqlx::Connection;
    match db.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
        }
    }
}

async fn projector_for(
    store: &Store,
    url: &str,
) -> switchboard_server::inbound::projector::Projector {
    let mut toml = String::new();
    for i in 0..NUMBERS {
        toml.push_str(&format!(
            "[[numbers]]\nphone_number_id = \"{}\"\nwaba_id = \"102290129340398\"\naccess_token = \"token\"\napp_secret = \"secret\"\n",
            number(i)
        ));
    }
    let config = Config::from_sources(
        Some(&toml),
        |k| (k == "SWITCHBOARD_LOG").then(|| "warn".to_owned()),
        &Overrides {
            database_url: Some(url.to_owned()),
            listen: Some("127.0.0.1:0".into()),
            metrics_listen: Some(String::new()),
        },
    )
    .unwrap();
    Application::build(config, store.clone())
        .await
        .unwrap()
        .projector()
}

/// (journal bodies/s, projected items/s)
async fn run(db: &TestDatabase, scenario: &str, n: usize) -> (f64, f64) {
    let store = db.store().await;
    let ts = switchboard_domain::UnixMs::now().0 / 1000 - 3_600;
    let bodies: Vec<Vec<u8>> = match scenario {
        "statuses" => {
            seed(db, n).await;
            let mut bodies = Vec::with_capacity(3 * n);
            for wave in (0..n).collect::<Vec<_>>().chunks(WAVE) {
                for (k, status) in ["sent", "delivered", "read"].iter().enumerate() {
                    for &i in wave {
                        bodies.push(status_body(i, status, ts + k as i64));
                    }
                }
            }
            bodies
        }
        _ => {
            let customers = (n / 5).max(1);
            (0..n)
                .map(|i| inbound_body(i, customers, ts + (i / customers) as i64))
                .collect()
        }
    };
    let items = bodies.len();
    let now = switchboard_domain::UnixMs::now().0;
    let appended = Instant::now();
    for chunk in bodies.chunks(512) {
        let hooks = chunk
            .iter()
            .map(|b| NewWebhook::new(now, "sha256=bench".into(), None, b.clone()))
            .collect();
        store.append_webhooks(hooks).await.unwrap();
    }
    let append_rate = items as f64 / appended.elapsed().as_secs_f64();

    let projector = projector_for(&store, &db.url).await;
    let started = Instant::now();
    let pass = projector.drain().await.unwrap();
    let rate = items as f64 / started.elapsed().as_secs_f64();
    assert_eq!(pass.projected, items, "every body projected");
    assert_eq!(pass.dead_letters, 0);

    // Checked, so a faster projector cannot be a wrong one.
    let (messages, statuses, contacts, _) = store.inbound_counts().await.unwrap();
    match scenario {
        "statuses" => {
            let read = scalar(
                db,
                "SELECT COUNT(*) FROM messages WHERE status = 'read' AND status_rank = 3",
            )
            .await;
            assert_eq!(read, n as i64, "every message read");
            assert_eq!(statuses, 3 * n as i64, "every status kept");
        }
        _ => {
            assert_eq!(messages, n as i64, "every message stored");
            assert_eq!(contacts, (n / 5).max(1) as i64, "one contact per customer");
        }
    }
    store.close().await;
    (append_rate, rate)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// Steady offered load: `rate` status bodies a second (a campaign's `sent`, `delivered`, `read`
/// in waves) plus `inbound` message bodies a second, journaled in slices every 10 ms for `secs`
/// seconds through `Store::append_webhooks` (the intake's path without HTTP and signatures),
/// while the projector runs as the server runs it. Every 100 ms the age of the oldest
/// unprojected row is sampled (`Backlog::read`, what `/readyz` reports): an upper bound on
/// every body's time from journaled to projected at that instant.
async fn steady(db: &TestDatabase, rate: usize, inbound: usize, secs: usize) {
    use switchboard_server::inbound::projector::Backlog;
    let store = db.store().await;
    let n = rate * secs / 3 + WAVE;
    seed(db, n).await;
    let ts = switchboard_domain::UnixMs::now().0 / 1000 - 3_600;
    let mut statuses = Vec::with_capacity(3 * n);
    for wave in (0..n).collect::<Vec<_>>().chunks(WAVE) {
        for (k, status) in ["sent", "delivered", "read"].iter().enumerate() {
            for &i in wave {
                statuses.push(status_body(i, status, ts + k as i64));
            }
        }
    }
    let customers = (inbound * secs / 5).max(1);
    let projector = projector_for(&store, &db.url).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(projector.clone().run(stop.clone()));
    let sampler = {
        let store = store.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut samples: Vec<(f64, Backlog)> = Vec::new();
            let started = Instant::now();
            while !stop.is_cancelled() {
                if let Ok(b) = Backlog::read(&store).await {
                    samples.push((started.elapsed().as_secs_f64(), b));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            samples
        })
    };
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let (mut sent_statuses, mut sent_inbound) = (0usize, 0usize);
    let slices = secs * 100;
    for slice in 0..slices {
        tick.tick().await;
        let now = switchboard_domain::UnixMs::now().0;
        let want_statuses = rate * (slice + 1) / 100;
        let want_inbound = inbound * (slice + 1) / 100;
        let mut hooks = Vec::new();
        while sent_statuses < want_statuses {
            hooks.push(NewWebhook::new(
                now,
                "sha256=bench".into(),
                None,
                statuses[sent_statuses].clone(),
            ));
            sent_statuses += 1;
        }
        while sent_inbound < want_inbound {
            let body = inbound_body(
                sent_inbound,
                customers,
                ts + (sent_inbound / customers) as i64,
            );
            hooks.push(NewWebhook::new(now, "sha256=bench".into(), None, body));
            sent_inbound += 1;
        }
        store.append_webhooks(hooks).await.unwrap();
    }
    let offered_secs = started.elapsed().as_secs_f64();
    // Then until caught up (two minutes at most).
    let caught_up = Instant::now();
    while caught_up.elapsed() < Duration::from_secs(120) {
        if Backlog::read(&store).await.unwrap().rows == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drain_secs = caught_up.elapsed().as_secs_f64();
    stop.cancel();
    running.await.unwrap();
    let samples = sampler.await.unwrap();
    let during: Vec<&(f64, Backlog)> = samples.iter().filter(|(t, _)| *t <= offered_secs).collect();
    let mut lags: Vec<f64> = during.iter().map(|(_, b)| b.lag_seconds).collect();
    let half = |first: bool| {
        let v: Vec<f64> = during
            .iter()
            .filter(|(t, _)| (*t <= offered_secs / 2.0) == first)
            .map(|(_, b)| b.lag_seconds)
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let (first_half, second_half) = (half(true), half(false));
    let max_rows = during.iter().map(|(_, b)| b.rows).max().unwrap_or(0);
    let (messages, kept, _, _) = store.inbound_counts().await.unwrap();
    assert_eq!(kept, sent_statuses as i64, "every status projected");
    assert_eq!(
        messages,
        (n + sent_inbound) as i64,
        "every message projected"
    );
    println!(
        "| {:?} | {:.0} + {:.0} | {offered_secs:.1} | {:.3} | {:.3} | {:.3} | {first_half:.3} / {second_half:.3} | {max_rows} | {drain_secs:.1} |",
        db.backend,
        sent_statuses as f64 / offered_secs,
        sent_inbound as f64 / offered_secs,
        pct(&mut lags, 0.5),
        pct(&mut lags, 0.99),
        lags.iter().copied().fold(0.0, f64::max),
    );
    store.close().await;
}

#[tokio::main]
async fn main() {
    let n = env_usize("BENCH_MESSAGES", 50_000);
    let rounds = env_usize("BENCH_ROUNDS", 1);
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let only_scenario = std::env::var("BENCH_SCENARIO").unwrap_or_default();
    if only_scenario == "steady" {
        let rate = env_usize("BENCH_RATE", 15_000);
        let inbound = env_usize("BENCH_INBOUND_RATE", 1_000);
        let secs = env_usize("BENCH_SECONDS", 60);
        println!(
            "| backend | offered statuses/s + inbound/s | seconds | oldest unprojected p50 s | p99 s | max s | mean 1st / 2nd half s | most rows behind | catch-up after s |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
        for round in 0..rounds {
            for backend in ["sqlite", "postgres"] {
                if !only.is_empty() && only != backend {
                    continue;
                }
                let db = match backend {
                    "sqlite" => switchboard_store::testing::sqlite(),
                    _ => switchboard_store::testing::postgres().await,
                };
                let _ = round;
                steady(&db, rate, inbound, secs).await;
            }
        }
        return;
    }
    println!(
        "| round | backend | scenario | items | journal append /s (baseline) | projected /s |"
    );
    println!("|---|---|---|---|---|---|");
    for round in 1..=rounds {
        for backend in ["sqlite", "postgres"] {
            if !only.is_empty() && only != backend {
                continue;
            }
            for scenario in ["statuses", "inbound"] {
                if !only_scenario.is_empty() && only_scenario != scenario {
                    continue;
                }
                let db = match backend {
                    "sqlite" => switchboard_store::testing::sqlite(),
                    _ => switchboard_store::testing::postgres().await,
                };
                let items = if scenario == "statuses" { 3 * n } else { n };
                let (append, rate) = run(&db, scenario, n).await;
                println!(
                    "| {round} | {backend} | {scenario} | {items} | {append:.0} | {rate:.0} |"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}
