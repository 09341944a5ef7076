//! Signed webhook ingestion: 64 concurrent connections (wrk, its own process) POST signed
//! bodies (1 message per POST, and 50 per POST) to `switchboard serve` (release build, its own
//! process) on SQLite and on PostgreSQL. Measured: requests/s, messages/s, p50/p99 time to the 200, the server's peak
//! RSS, and that rows stored = messages sent once the projector caught up. Baseline in the same
//! run: a bare axum handler that only verifies the signature and journals with the same group
//! commit. Run: `cargo bench -p switchboard --bench ingest` (needs wrk: `apt-get install wrk`);
//! `BENCH_ONLY=sqlite|postgres` and `BENCH_PER_POST=1|50` narrow it; `BENCH_SERVER_BIN=path` measures
//! another build of the server (an A/B in one session).

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

/// The load generator: wrk (Debian's package), its own process, 2 threads and 64 keep-alive
/// connections, replaying `count` distinct signed requests prepared before the clock starts (a
/// file of signature and body per line, loaded by a Lua script), so its CPU goes to sockets and
/// the server under test does not share a runtime with it.
fn drive(
    addr: &str,
    per_post: usize,
    count: usize,
    run: Duration,
    dir: &std::path::Path,
) -> Result_ {
    use std::io::Write;
    let bodies = dir.join(format!("bodies-{per_post}.txt"));
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&bodies).unwrap());
        for i in 0..count as u64 {
            let b = body(i, per_post);
            let sig = switchboard_cloudapi::signature::sign(SECRET.as_bytes(), &b);
            f.write_all(sig.as_bytes()).unwrap();
            f.write_all(b"\t").unwrap();
            f.write_all(&b).unwrap();
            f.write_all(b"\n").unwrap();
        }
    }
    let script = dir.join("post.lua");
    std::fs::write(&script, LUA).unwrap();
    let out = std::process::Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{CONCURRENCY}"),
            &format!("-d{}s", run.as_secs()),
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(format!("http://{addr}"))
        .arg("--")
        .arg(&bodies)
        .output()
        .expect("wrk runs (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(&bodies);
    let field = |prefix: &str| -> Option<String> {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    };
    // "12345 requests in 4.00s, 1.50MB read"
    let line = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .unwrap_or("");
    let mut words = line.split_whitespace();
    let total: u64 = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let secs = words
        .nth(2)
        .map(|s| duration_ms(s.trim_end_matches(',')) / 1000.0)
        .unwrap_or(1.0);
    // "N requests" counts responses; socket errors (connect, read, write, timeout) are not
    // among them, but are failures too.
    let non_2xx: u64 = field("Non-2xx or 3xx responses:")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let socket_errors: u64 = text
        .lines()
        .find(|l| l.contains("Socket errors"))
        .map(|l| {
            l.split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    let ok = total.saturating_sub(non_2xx);
    let failed = non_2xx + socket_errors;
    if ok as usize > count {
        eprintln!(
            "warning: wrk sent more requests ({ok}) than were prepared ({count}); repeats were stored and deduplicated"
        );
    }
    Result_ {
        rps: ok as f64 / secs,
        p50_ms: field("50%").map(|v| duration_ms(&v)).unwrap_or(f64::NAN),
        p99_ms: field("99%").map(|v| duration_ms(&v)).unwrap_or(f64::NAN),
        ok,
        failed,
    }
}

/// wrk's durations: "812.00us", "4.21ms", "1.02s", "4.00s".
fn duration_ms(v: &str) -> f64 {
    let (n, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: f64 = n.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => f64::NAN,
    }
}

/// Each wrk thread loads its share of the prepared requests and replays them in order.
const LUA: &str = r#"
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
local reqs = {}
local idx = 0
function init(args)
  local i = 0
  for line in io.lines(args[1]) do
    if i % 2 == tid then
      local tab = line:find("\t")
      reqs[#reqs + 1] = wrk.format("POST", "/webhooks/whatsapp",
        {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = line:sub(1, tab - 1)},
        line:sub(tab + 1))
    end
    i = i + 1
  end
end
function request()
  idx = idx + 1
  if idx > #reqs then idx = 1 end
  return reqs[idx]
end
"#;

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

/// The near-limit baseline: verify the signature, journal the body through the store (its one
/// group-committing writer), answer 200.
async fn baseline(db: &TestDatabase) -> (String, tokio::task::JoinHandle<()>) {
    let store = db.store().await;
    let app = axum::Router::new().route(
        "/webhooks/whatsapp",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let store = store.clone();
            async move {
                let sig = headers
                    .get("x-hub-signature-256")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !switchboard_cloudapi::signature::verify(SECRET.as_bytes(), &body, sig) {
                    return StatusCode::UNAUTHORIZED;
                }
                let hook = NewWebhook::new(0, sig.to_owned(), None, body.to_vec());
                store.append_webhook(hook).await.unwrap();
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    // Aborting the server drops the app and the store with it.
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, server)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if std::process::Command::new("wrk")
        .arg("-v")
        .output()
        .is_err()
    {
        eprintln!("this benchmark drives the server with wrk: apt-get install wrk");
        std::process::exit(1);
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    rt.block_on(async {
        println!("| backend | messages/POST | server | requests/s | messages/s | p50 ms | p99 ms | non-200 | peak RSS MB | rows = messages |");
        println!("|---|---|---|---|---|---|---|---|---|---|");
        // BENCH_ONLY=sqlite or BENCH_ONLY=postgres runs one backend.
        let only = std::env::var("BENCH_ONLY").unwrap_or_default();
        for backend in [Backend::Sqlite, Backend::Postgres] {
            if !only.is_empty() && !format!("{backend:?}").eq_ignore_ascii_case(&only) {
                continue;
            }
            // BENCH_PER_POST=1 or 50 runs one body size.
            let sizes: Vec<usize> = match std::env::var("BENCH_PER_POST").ok().and_then(|v| v.parse().ok()) {
                Some(n) => vec![n],
                None => vec![1, 50],
            };
            for per_post in sizes {
                // Baseline.
                let db = if backend == Backend::Sqlite { sqlite() } else { postgres().await };
                // Enough distinct bodies for the run (a body sent twice would be Meta's retry).
                let (count, run) = if per_post == 1 { (250_000, RUN) } else { (50_000, RUN / 2) };
                let (addr, server) = baseline(&db).await;
                let r = tokio::task::block_in_place(|| drive(&addr, per_post, count, run, &dir));
                server.abort();
                println!(
                    "| {backend:?} | {per_post} | baseline | {:.0} | {:.0} | {:.2} | {:.2} | {} | – | – |",
                    r.rps, r.rps * per_post as f64, r.p50_ms, r.p99_ms, r.failed
                );

                // Switchboard.
                let db = if backend == Backend::Sqlite { sqlite() } else { postgres().await };
                // BENCH_SERVER_BIN: another build of `switchboard` to measure (an A/B against an
                // older commit in the same session); it migrates its database itself.
                let server_bin = std::env::var("BENCH_SERVER_BIN")
                    .unwrap_or_else(|_| env!("CARGO_BIN_EXE_switchboard").to_owned());
                if std::env::var_os("BENCH_SERVER_BIN").is_none() {
                    db.store().await;
                }
                let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
                let mut child = std::process::Command::new(&server_bin)
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
                let r = tokio::task::block_in_place(|| drive(&addr, per_post, count, run, &dir));
                let rss = peak_rss_mb(child.id());
                // The projector catches up: every journaled body is projected, and its messages
                // stored once (a body wrk repeated is a copy and stores nothing). The journal
                // holds at least what wrk counted as acknowledged (requests in flight when wrk
                // stops were acknowledged too, but wrk does not count them).
                let store = Store::connect(&db.url, &ConnectOptions::default()).await.unwrap();
                let t = Instant::now();
                let (mut journaled, mut copies, mut pending) = (0, 0, 1);
                while t.elapsed() < Duration::from_secs(120) && pending > 0 {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    (journaled, copies, pending) = store.journal_counts().await.unwrap();
                }
                let stored = store.inbound_counts().await.unwrap().0;
                let expected = (journaled - copies) * per_post as i64;
                let all = stored == expected && journaled >= r.ok as i64;
                println!(
                    "| {backend:?} | {per_post} | switchboard | {:.0} | {:.0} | {:.2} | {:.2} | {} | {rss:.0} | {} ({stored} of {expected} from {journaled} bodies journaled, {copies} copies, {pending} not projected yet; {} acknowledged to wrk; {:.1} s after the run) |",
                    r.rps,
                    r.rps * per_post as f64,
                    r.p50_ms,
                    r.p99_ms,
                    r.failed,
                    if all { "yes" } else { "NO" },
                    r.ok,
                    t.elapsed().as_secs_f64()
                );
                child.kill().unwrap();
                child.wait().unwrap();
                store.close().await;
            }
        }
    });
}
