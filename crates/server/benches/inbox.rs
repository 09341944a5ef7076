//! The web inbox at size: 100,000 conversations and 1,000,000 messages in SQLite (generated),
//! 30 agents in three teams; then the conversation list (each view, a filter, a full-text
//! search) and the thread view timed over loopback HTTP as the browser fetches them, against
//! `/healthz` in the same run as the floor. Then 200 live-update (SSE) clients connect, and a
//! customer writes through the emulator: the memory the 200 streams cost and how long the
//! message takes to reach all of them.
//!
//! `cargo bench -p switchboard-server --bench inbox`. `BENCH_CONVERSATIONS` (default 100,000;
//! ten messages each, plus ten threads of 1,000) and `BENCH_SSE_CLIENTS` (default 200) scale it.
//!
//! Server time is the request's time to the last byte of the response on loopback, so it
//! includes HTTP; the `/healthz` row shows that floor.

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Connection;
use switchboard_emulator::{Customer, Emulator, EmulatorConfig};
use switchboard_server::Application;
use switchboard_server::config::{Config, Overrides};
use switchboard_store::{NewUser, Store};

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Reads what is there (a bare socket, no I/O helpers).
async fn read(s: &tokio::net::TcpStream, buf: &mut [u8]) -> usize {
    loop {
        s.readable().await.unwrap();
        match s.try_read(buf) {
            Ok(n) => return n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

const WORDS: &[&str] = &[
    "order", "parcel", "delivery", "refund", "invoice", "address", "tracking", "courier",
    "damaged", "late", "thanks", "hello", "please", "price", "discount", "size", "colour",
    "return", "exchange", "warranty", "payment", "card", "cash", "store", "opening", "hours",
    "tomorrow", "today", "monday", "friday", "lisbon", "porto", "madrid", "paris", "berlin",
];

/// Deterministic pseudo-random numbers (xorshift), so every run has the same data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn sentence(r: &mut Rng) -> String {
    let n = 4 + r.below(10) as usize;
    (0..n)
        .map(|_| WORDS[r.below(WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes the data set straight into the database (the projector's tables), in big
/// transactions: what a year of a busy number leaves behind.
async fn generate(url: &str, conversations: usize, number: &str, users: &[i64]) {
    let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
    sqlx::query("PRAGMA synchronous = OFF")
        .execute(&mut c)
        .await
        .unwrap();
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let now = switchboard_domain::UnixMs::now().0;
    let start = Instant::now();
    let mut message_id = 0i64;
    for chunk in (0..conversations).collect::<Vec<_>>().chunks(5_000) {
        let mut tx = c.begin().await.unwrap();
        for &i in chunk {
            let id = i as i64 + 1;
            let wa = format!("4915{:09}", i);
            sqlx::query("INSERT INTO contacts (id, wa_id, name, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $4)")
                .bind(id).bind(&wa).bind(format!("Customer {i} {}", WORDS[i % WORDS.len()]))
                .bind(now - 86_400_000 * 365).execute(&mut *tx).await.unwrap();
            // 70% resolved, 20% open with an agent, 10% open and unassigned.
            let roll = r.below(10);
            let (status, assignee) = match roll {
                0 => ("open", None),
                1 | 2 => ("open", Some(users[r.below(users.len() as u64) as usize])),
                _ => (
                    "resolved",
                    Some(users[r.below(users.len() as u64) as usize]),
                ),
            };
            let messages = if i < 10 { 1_000 } else { 10 };
            let last = now - (conversations - i) as i64 * 60_000;
            sqlx::query("INSERT INTO conversations (id, phone_number_id, contact_id, status, assignee, last_inbound_at_ms, last_message_at_ms, unread_count, created_at_ms) \
                 VALUES ($1, $2, $1, $3, $4, $5, $5, $6, $7)")
                .bind(id).bind(number).bind(status).bind(assignee.map(|a| a.to_string()))
                .bind(last).bind(if roll == 0 { 1 } else { 0 }).bind(last - messages as i64 * 60_000)
                .execute(&mut *tx).await.unwrap();
            for m in 0..messages {
                message_id += 1;
                let inbound = m % 2 == 0;
                let mut text = sentence(&mut r);
                if (message_id + 1) % 1_000 == 0 {
                    // A rarer term, as real searches are: an invoice number.
                    text.push_str(&format!(" invoice INV{}", message_id + 1));
                }
                let at = last - (messages - m) as i64 * 60_000;
                let payload = json!({"from": wa, "id": format!("wamid.g{message_id}"), "timestamp": (at / 1000).to_string(), "type": "text", "text": {"body": text}});
                sqlx::query("INSERT INTO messages (id, wamid, conversation_id, direction, type, text, payload, meta_at_ms, status, status_rank, created_at_ms) \
                     VALUES ($1, $2, $3, $4, 'text', $5, $6, $7, $8, $9, $7)")
                    .bind(message_id).bind(format!("wamid.g{message_id}")).bind(id)
                    .bind(if inbound { "in" } else { "out" }).bind(&text).bind(payload.to_string()).bind(at)
                    .bind(if inbound { None } else { Some("read") }).bind(if inbound { 0 } else { 3 })
                    .execute(&mut *tx).await.unwrap();
            }
        }
        tx.commit().await.unwrap();
    }
    sqlx::query("ANALYZE").execute(&mut c).await.unwrap();
    println!(
        "generated {conversations} conversations, {message_id} messages in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

async fn time_get(http: &reqwest::Client, url: &str, cookie: &str, n: usize) -> (f64, f64, usize) {
    let mut v = Vec::with_capacity(n);
    let mut bytes = 0;
    for _ in 0..n {
        let t = Instant::now();
        let r = http.get(url).header("cookie", cookie).send().await.unwrap();
        assert!(r.status().is_success(), "{url}: {}", r.status());
        bytes = r.bytes().await.unwrap().len();
        v.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    (pct(&mut v, 0.5), pct(&mut v, 0.95), bytes)
}

#[tokio::main]
async fn main() {
    let conversations = env_usize("BENCH_CONVERSATIONS", 100_000);
    let clients = env_usize("BENCH_SSE_CLIENTS", 200);

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("inbox.db").display());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let ec = EmulatorConfig {
        webhook_url: Some(format!("{base}/webhooks/whatsapp")),
        ..Default::default()
    };
    let emulator = Emulator::start(ec.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let number = ec.numbers[0].phone_number_id.clone();

    let store = Store::connect(&url, &Default::default()).await.unwrap();
    store.migrate().await.unwrap();
    let hash = switchboard_server::agents::hash_password("bench-password-1").unwrap();
    let mut users = vec![];
    for i in 0..30 {
        let id = store
            .create_user(
                &NewUser {
                    email: format!("agent{i}@example.com"),
                    name: format!("Agent {i}"),
                    role: if i == 0 { "admin" } else { "agent" }.into(),
                    team: Some(format!("Team {}", i % 3)),
                    password_hash: hash.clone(),
                },
                0,
            )
            .await
            .unwrap()
            .unwrap();
        users.push(id);
    }
    generate(&url, conversations, &number, &users).await;

    let toml = format!(
        "[[numbers]]\nphone_number_id = \"{number}\"\nwaba_id = \"{}\"\ndisplay_number = \"+{}\"\naccess_token = \"{}\"\napp_secret = \"{}\"\n",
        ec.waba_id, ec.numbers[0].display_phone_number, ec.access_token, ec.app_secret
    );
    let graph = emulator.base_url.clone();
    let verify = ec.verify_token.clone();
    let config = Config::from_sources(
        Some(&toml),
        |k| match k {
            "SWITCHBOARD_GRAPH_BASE_URL" => Some(graph.clone()),
            "SWITCHBOARD_VERIFY_TOKEN" => Some(verify.clone()),
            "SWITCHBOARD_MEDIA_DIR" => Some(dir.path().join("media").display().to_string()),
            "SWITCHBOARD_LOG" => Some("warn".into()),
            // One person opens every stream and makes every request of the measurement.
            "SWITCHBOARD_EVENT_STREAMS_PER_USER" => Some("100000".into()),
            "SWITCHBOARD_REQUESTS_PER_MINUTE" => Some("0".into()),
            _ => None,
        },
        &Overrides {
            database_url: Some(url.clone()),
            listen: Some("127.0.0.1:0".into()),
            metrics_listen: Some(String::new()),
        },
    )
    .unwrap();
    let app = Application::build_on(config, store.clone(), listener)
        .await
        .unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stop_rx.await;
    }));

    let http = switchboard_graph::http_client(Duration::from_secs(30));
    // Agent 1 (team 0) logs in as the browser would.
    let r = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "agent1@example.com", "password": "bench-password-1"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    println!(
        "\n{conversations} conversations; median and p95 of 50 requests each (ms), response size"
    );
    println!(
        "{:<52} {:>8} {:>8} {:>9}",
        "request", "median", "p95", "bytes"
    );
    let rows: Vec<(&str, String)> = vec![
        ("/healthz (the HTTP floor)", format!("{base}/healthz")),
        ("list: Mine", format!("{base}/inbox/list?view=mine")),
        (
            "list: Unassigned",
            format!("{base}/inbox/list?view=unassigned"),
        ),
        ("list: Team", format!("{base}/inbox/list?view=team")),
        ("list: All", format!("{base}/inbox/list?view=all")),
        (
            "list: All, resolved",
            format!("{base}/inbox/list?view=all&status=resolved"),
        ),
        (
            "list: search an invoice number (FTS5)",
            format!(
                "{base}/inbox/list?view=all&status=any&q=INV{}",
                (conversations * 10 / 2000) * 1000
            ),
        ),
        (
            "list: search two common words \"refund lisbon\" (FTS5)",
            format!("{base}/inbox/list?view=all&status=any&q=refund%20lisbon"),
        ),
        (
            "list: search a contact by number",
            format!("{base}/inbox/list?view=all&status=any&q=491500004"),
        ),
        (
            "thread: 10 messages",
            format!("{base}/inbox/c/{}", conversations / 2),
        ),
        (
            "thread: 1,000 messages (newest 200 shown)",
            format!("{base}/inbox/c/3"),
        ),
        (
            "whole page: inbox with a thread open",
            format!("{base}/inbox?view=all&c={}", conversations / 2),
        ),
    ];
    for (name, u) in &rows {
        // Warm up, then measure.
        time_get(&http, u, &cookie, 3).await;
        let (med, p95, bytes) = time_get(&http, u, &cookie, 50).await;
        println!("{name:<52} {med:>8.2} {p95:>8.2} {bytes:>9}");
    }

    // Live updates: N idle SSE streams, then one customer message to all of them.
    let addr = base.trim_start_matches("http://").to_owned();
    let before = rss_kb();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let mut tasks = vec![];
    let connected = std::sync::Arc::new(tokio::sync::Barrier::new(clients + 1));
    for _ in 0..clients {
        let (addr, cookie, tx, connected) =
            (addr.clone(), cookie.clone(), tx.clone(), connected.clone());
        tasks.push(tokio::spawn(async move {
            // A bare socket per client (no HTTP client library), so the clients' own memory
            // stays small next to what the server spends on each stream.
            let s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let req = format!("GET /api/v1/events HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n");
            let mut out = req.as_bytes();
            while !out.is_empty() {
                s.writable().await.unwrap();
                match s.try_write(out) {
                    Ok(n) => out = &out[n..],
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => panic!("{e}"),
                }
            }
            let mut buf = [0u8; 4096];
            let mut seen = String::new();
            // The response head first.
            while !seen.contains("\r\n\r\n") {
                let n = read(&s, &mut buf).await;
                seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
            connected.wait().await;
            loop {
                let n = read(&s, &mut buf).await;
                if n == 0 {
                    return;
                }
                if String::from_utf8_lossy(&buf[..n]).contains("event: message") {
                    let _ = tx.send(Instant::now());
                    return;
                }
            }
        }));
    }
    connected.wait().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_kb();
    emulator
        .emulator
        .add_customer(Customer::new("4915999999999", Some("Live Customer")));
    let sent = Instant::now();
    emulator
        .emulator
        .customer_sends(
            "4915999999999",
            &number,
            json!({"type": "text", "text": {"body": "is anyone there?"}}),
        )
        .unwrap();
    let mut arrivals = Vec::with_capacity(clients);
    for _ in 0..clients {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(t)) => arrivals.push((t - sent).as_secs_f64() * 1000.0),
            _ => break,
        }
    }
    let after = rss_kb();
    println!(
        "\n{clients} SSE clients: RSS {:.1} MB before, {:.1} MB with them connected (+{:.1} MB), {:.1} MB after delivering a message (+{:.1} MB); \
         the clients' own sockets and tasks are in this process too, so this is an upper bound",
        before as f64 / 1024.0,
        idle as f64 / 1024.0,
        (idle as f64 - before as f64) / 1024.0,
        after as f64 / 1024.0,
        (after as f64 - before as f64) / 1024.0
    );
    assert_eq!(arrivals.len(), clients, "every client heard the message");
    println!(
        "customer message (emulator → signed webhook → journal → projector → SSE) reached all {clients}: median {:.1} ms, slowest {:.1} ms",
        pct(&mut arrivals, 0.5),
        pct(&mut arrivals, 1.0)
    );
    for t in tasks {
        t.abort();
    }
    let _ = stop_tx.send(());
    let _ = server.await;
}
