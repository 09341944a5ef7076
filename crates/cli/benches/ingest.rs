//! Signed webhook ingestion: 64 concurrent senders POST signed bodies (1 message per POST, and
//! 50 per POST) to `switchboard serve` (release build, its own process) on SQLite and on
//! PostgreSQL. Measured: requests/s, messages/s, p50/p99 time to the 200, the server's peak
//! RSS, and that rows stored = messages sent once the projector caught up. Baseline in the same
//! run: a bare axum handler that only verifies the signature and journals with the same group
//! commit. Run: `cargo bench -p switchboard --bench ingest`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use switchboard_store::testing::{TestDatabase, postgres, sqlite};
use switchboard_store::{Backend, ConnectOptions, NewWebhook, Store};

const CONCURRENCY: usize = 64;
const RUN: Duration = Duration::from_secs(4);
const SECRET: &str = "bench-app-secret";

fn body(seq: u64, per_post: usize) -> Vec<u8> {
    let mut messages = String::new();
    for i in 0..per_post {
        if i > 0 {
            messages.push(',');
        }
        let n = seq * per_post as u64 + i as u64;
        messages.push_str(&format!(
            r#"{{"from":"1650{:07}","id":"wamid.BENCH{n:012}","timestamp":"1750000000","type":"text","text":{{"body":"Hello, is my order {n} on its way?"}}}}"#,
            n % 5000
        ));
    }
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550783881","phone_number_id":"106540352242922"}},"contacts":[{{"profile":{{"name":"Bench"}},"wa_id":"16500000001"}}],"messages":[{messages}]}}}}]}}]}}"#
    )
    .into_bytes()
}

struct Result_ {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    ok: u64,
    failed: u64,
}

/// Requests prepared before the clock starts (body, signature and HTTP framing), so the load
/// generator spends its CPU on sockets, not on JSON and HMAC.
fn prepare(addr: &str, per_post: usize, count: usize, seq_base: u64) -> Vec<Vec<u8>> {
    (0..count as u64)
        .map(|i| {
            let b = body(seq_base + i, per_post);
            let sig = switchboard_cloudapi::signature::sign(SECRET.as_bytes(), &b);
            let mut req = format!(
                "POST /webhooks/whatsapp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nX-Hub-Signature-256: {sig}\r\nContent-Length: {}\r\n\r\n",
                b.len()
            )
            .into_bytes();
            req.extend_from_slice(&b);
            req
        })
        .collect()
}

/// Reads one HTTP/1.1 response; returns its status.
async fn read_response(
    stream: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<u16> {
    use tokio::io::AsyncReadExt;
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).unwrap_or("");
            let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let mut chunk = [0u8; 4096];
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.drain(..end + 4 + len);
            return Ok(status);
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn drive(addr: String, requests: Arc<Vec<Vec<u8>>>) -> Result_ {
    use tokio::io::AsyncWriteExt;
    let next = Arc::new(AtomicU64::new(0));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (addr, requests, next, ok, failed) = (
            addr.clone(),
            requests.clone(),
            next.clone(),
            ok.clone(),
            failed.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let mut buf = Vec::with_capacity(8192);
            while start.elapsed() < RUN {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(req) = requests.get(i) else { break };
                let t = Instant::now();
                let status = match stream.write_all(req).await {
                    Ok(()) => read_response(&mut stream, &mut buf).await.unwrap_or(0),
                    Err(_) => 0,
                };
                if status == 200 {
                    lat.push(t.elapsed().as_micros() as u32);
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                    stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
                    buf.clear();
                }
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    Result_ {
        rps: ok.load(Ordering::Relaxed) as f64 / secs,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        ok: ok.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
    }
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// The near-limit baseline: verify the signature, group-commit the body, answer 200.
async fn baseline(db: &TestDatabase) -> String {
    let store = db.store().await;
    let (tx, mut rx) =
        tokio::sync::mpsc::channel::<(NewWebhook, tokio::sync::oneshot::Sender<()>)>(4096);
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while let Ok(x) = rx.try_recv() {
                batch.push(x);
                if batch.len() == 512 {
                    break;
                }
            }
            let (hooks, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
            store.append_webhooks(&hooks).await.unwrap();
            for r in replies {
                let _ = r.send(());
            }
        }
    });
    let app = axum::Router::new().route(
        "/webhooks/whatsapp",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let sig = headers
                    .get("x-hub-signature-256")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !switchboard_cloudapi::signature::verify(SECRET.as_bytes(), &body, sig) {
                    return StatusCode::UNAUTHORIZED;
                }
                let (done, wait) = tokio::sync::oneshot::channel();
                let hook = NewWebhook {
                    received_at_ms: 0,
                    signature: sig.to_owned(),
                    app_id: None,
                    body: body.to_vec(),
                };
                tx.send((hook, done)).await.unwrap();
                wait.await.unwrap();
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!("| backend | messages/POST | server | requests/s | messages/s | p50 ms | p99 ms | non-200 | peak RSS MB | rows = messages |");
        println!("|---|---|---|---|---|---|---|---|---|---|");
        // BENCH_ONLY=sqlite or BENCH_ONLY=postgres runs one backend.
        let only = std::env::var("BENCH_ONLY").unwrap_or_default();
        for backend in [Backend::Sqlite, Backend::Postgres] {
            if !only.is_empty() && !format!("{backend:?}").eq_ignore_ascii_case(&only) {
                continue;
            }
            for per_post in [1usize, 50] {
                // Baseline.
                let db = if backend == Backend::Sqlite { sqlite() } else { postgres().await };
                let count = if per_post == 1 { 150_000 } else { 25_000 };
                let addr = baseline(&db).await;
                let r = drive(addr.clone(), Arc::new(prepare(&addr, per_post, count, 0))).await;
                println!(
                    "| {backend:?} | {per_post} | baseline | {:.0} | {:.0} | {:.2} | {:.2} | {} | – | – |",
                    r.rps, r.rps * per_post as f64, r.p50_ms, r.p99_ms, r.failed
                );

                // Switchboard.
                let db = if backend == Backend::Sqlite { sqlite() } else { postgres().await };
                db.store().await;
                let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
                let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
                    .args(["serve", "--database-url", &db.url, "--listen", &format!("127.0.0.1:{port}"), "--metrics-listen", ""])
                    .env("SWITCHBOARD_PHONE_NUMBER_ID", "106540352242922")
                    .env("SWITCHBOARD_WABA_ID", "102290129340398")
                    .env("SWITCHBOARD_ACCESS_TOKEN", "bench-token")
                    .env("SWITCHBOARD_APP_SECRET", SECRET)
                    .env("SWITCHBOARD_GRAPH_BASE_URL", "http://127.0.0.1:9")
                    .env("SWITCHBOARD_LOG", "warn")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap();
                while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let addr = format!("127.0.0.1:{port}");
                let requests = Arc::new(prepare(&addr, per_post, count, 0));
                let r = drive(addr, requests).await;
                let rss = peak_rss_mb(child.id());
                // The projector catches up: every acknowledged message is stored, once.
                let store = Store::connect(&db.url, &ConnectOptions::default()).await.unwrap();
                let expected = r.ok as i64 * per_post as i64;
                let t = Instant::now();
                let mut stored = 0;
                while t.elapsed() < Duration::from_secs(120) {
                    stored = store.inbound_counts().await.unwrap().0;
                    if stored >= expected {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                println!(
                    "| {backend:?} | {per_post} | switchboard | {:.0} | {:.0} | {:.2} | {:.2} | {} | {rss:.0} | {} ({stored} of {expected}, projected {:.1} s after the run) |",
                    r.rps,
                    r.rps * per_post as f64,
                    r.p50_ms,
                    r.p99_ms,
                    r.failed,
                    stored == expected,
                    t.elapsed().as_secs_f64()
                );
                child.kill().unwrap();
                child.wait().unwrap();
                store.close().await;
            }
        }
    });
}
