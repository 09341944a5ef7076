//! The `switchboard` binary as an operator uses it.

mod crash;
mod logs;
mod outbox_crash;
mod templates;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    // The tests' own environment must not leak settings in.
    for (k, _) in std::env::vars() {
        if k.starts_with("SWITCHBOARD_") {
            c.env_remove(k);
        }
    }
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn config_errors_name_every_bad_key_and_exit_non_zero() {
    let out = bin()
        .args(["config", "check"])
        .env("SWITCHBOARD_LISTEN", "nowhere")
        .env("SWITCHBOARD_DATABASE_URL", "mysql://x")
        .env("SWITCHBOARD_PHONE_NUMBER_ID", "106540352242922")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for key in [
        "listen",
        "database_url",
        ".waba_id",
        ".access_token",
        ".app_secret",
    ] {
        assert!(err.contains(key), "{key} not named in: {err}");
    }
}

#[test]
fn config_check_redacts_secrets() {
    let out = bin()
        .args(["config", "check"])
        .env("SWITCHBOARD_PHONE_NUMBER_ID", "106540352242922")
        .env("SWITCHBOARD_WABA_ID", "102290129340398")
        .env("SWITCHBOARD_ACCESS_TOKEN", "EAAG-very-secret")
        .env("SWITCHBOARD_APP_SECRET", "app-very-secret")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("106540352242922"));
    assert!(!text.contains("very-secret"), "{text}");
}

#[test]
fn api_keys_are_printed_once_and_stored_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("sb.db").display());
    let out = bin()
        .args([
            "apikey",
            "create",
            "--name",
            "ci",
            "--role",
            "admin",
            "--database-url",
            &db,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(key.starts_with("sbk_") && key.len() == 68, "{key}");

    let list = bin()
        .args(["apikey", "list", "--database-url", &db])
        .output()
        .unwrap();
    let list = String::from_utf8(list.stdout).unwrap();
    assert!(
        list.contains(&key[..12]) && !list.contains(&key[12..]),
        "{list}"
    );
    let raw = std::fs::read(dir.path().join("sb.db")).unwrap();
    assert!(
        !raw.windows(key.len()).any(|w| w == key.as_bytes()),
        "the key itself is in the database file"
    );

    let bad_role = bin()
        .args([
            "apikey",
            "create",
            "--name",
            "x",
            "--role",
            "owner",
            "--database-url",
            &db,
        ])
        .output()
        .unwrap();
    assert!(!bad_role.status.success());
}

#[test]
fn serve_answers_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics) = (free_port(), free_port());
    let mut child = bin()
        .args([
            "serve",
            "--database-url",
            &format!("sqlite://{}", dir.path().join("sb.db").display()),
        ])
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--metrics-listen",
            &format!("127.0.0.1:{metrics}"),
        ])
        .env("SWITCHBOARD_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let ready = loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut resp = String::new();
            s.read_to_string(&mut resp).unwrap();
            break resp;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "server did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit}");
    let mut logs = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    // Structured logs: one JSON object per line.
    for line in logs.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
    assert!(
        logs.contains("switchboard is serving") && logs.contains("shutdown signal received"),
        "{logs}"
    );
}

#[test]
fn migrate_reports_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args([
            "migrate",
            "--database-url",
            &format!("sqlite://{}", dir.path().join("m.db").display()),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let latest = switchboard_store::SQLITE_MIGRATIONS
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("migrations applied up to version {latest}")),
        "{stdout}"
    );
}

#[test]
fn the_example_config_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin().args(["config", "example"]).output().unwrap();
    let path = dir.path().join("switchboard.toml");
    std::fs::write(&path, out.stdout).unwrap();
    let check = bin()
        .args(["config", "check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn the_emulator_prints_its_coordinates_and_serves() {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut child = bin()
        .args(["emulator", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not one JSON line ({e}): {line}"));
    for key in [
        "base_url",
        "phone_number_id",
        "waba_id",
        "access_token",
        "app_secret",
        "verify_token",
    ] {
        assert!(
            info[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key} missing in {line}"
        );
    }
    let addr = info["base_url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .to_owned();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.write_all(b"GET /_emulator/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "emulator did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn rates_import_and_forecast() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("sb.db").display());
    let volumes = dir.path().join("volumes.csv");
    std::fs::write(&volumes, "country,category,monthly_volume,in_window_share\nIN,marketing,1000,\nIN,utility,1000,25%\n").unwrap();
    // With the shipped example card: 1000 x 0.0118 + 750 x 0.0014 = 12.85.
    let out = bin()
        .args([
            "forecast",
            "--volumes",
            volumes.to_str().unwrap(),
            "--database-url",
            &db,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Monthly total: 12.8500 USD"), "{text}");
    // Import another card: it is in force from its effective date.
    let rates = dir.path().join("rates.csv");
    std::fs::write(&rates, "Market,Currency,Marketing,Utility,Authentication,Authentication-International,Service\nIndia,INR,0.86,0.115,0.115,n/a,n/a\nOther,INR,4.4,0.56,0.56,n/a,n/a\n").unwrap();
    let out = bin()
        .args([
            "rates",
            "import",
            "--rates",
            rates.to_str().unwrap(),
            "--effective",
            "2026-01-01",
            "--label",
            "Meta INR",
            "--database-url",
            &db,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bin()
        .args([
            "forecast",
            "--volumes",
            volumes.to_str().unwrap(),
            "--format",
            "json",
            "--database-url",
            &db,
        ])
        .output()
        .unwrap();
    let f: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // 1000 x 0.86 + 750 x 0.115 = 946.25 INR.
    assert_eq!(
        (f["currency"].as_str(), f["total"].as_i64()),
        (Some("INR"), Some(946_250_000)),
        "{f}"
    );
    // --rates prices under a file without importing it; a bad file is explained.
    std::fs::write(
        &rates,
        "Market,Currency,Marketing,Utility,Authentication\nIndia,USD,abc,1,1\n",
    )
    .unwrap();
    let out = bin()
        .args([
            "forecast",
            "--volumes",
            volumes.to_str().unwrap(),
            "--rates",
            rates.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn users_add_prints_a_generated_password_once_and_refuses_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("sb.db").display());
    let out = bin()
        .args([
            "users",
            "add",
            "--email",
            "lead@example.com",
            "--role",
            "admin",
            "--team",
            "support",
            "--database-url",
            &db,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let password = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(password.len(), 20, "{password}");
    let again = bin()
        .args([
            "users",
            "add",
            "--email",
            "lead@example.com",
            "--role",
            "agent",
            "--database-url",
            &db,
        ])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    let list = bin()
        .args(["users", "list", "--database-url", &db])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains("lead@example.com") && text.contains("support") && !text.contains(&password),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_with_the_emulator_agents_and_customers_writing_in() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--message-every-ms",
            "300",
            "--duration-secs",
            "60",
            "--data",
            dir.path().to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let start = Instant::now();
    while !lines.iter().any(|l: &String| l.starts_with("Press Ctrl-C")) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the demo did not start: {lines:?}"
        );
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            lines.push(l);
        }
    }
    let field = |name: &str| {
        lines
            .iter()
            .find_map(|l| {
                l.trim()
                    .strip_prefix(name)
                    .map(|r| r.split_whitespace().next().unwrap().to_owned())
            })
            .unwrap_or_else(|| panic!("{name} not printed: {lines:?}"))
    };
    let inbox = field("Inbox:");
    let base = inbox
        .strip_suffix("/inbox")
        .expect("the inbox URL is printed")
        .to_owned();
    let key = field("API key:");
    let agent = lines
        .iter()
        .find(|l| l.contains("ann@demo.switchboard"))
        .expect("agents printed")
        .clone();
    let password = agent.split_whitespace().nth(1).unwrap().to_owned();

    let http = switchboard_graph::http_client(Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v: serde_json::Value = http
            .get(format!("{base}/api/v1/conversations"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["data"].as_array().is_some_and(|d| !d.is_empty()) {
            break;
        }
        assert!(Instant::now() < deadline, "no customer wrote in: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "ann@demo.switchboard", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the printed password works");
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = http
        .get(&inbox)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text().await.unwrap().contains("id=\"conv-list\""),
        "the printed inbox URL serves the inbox"
    );
    let templates: serde_json::Value = http
        .get(format!("{base}/api/v1/templates"))
        .bearer_auth(&key)
        .query(&[("from", "106540352242922")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        templates.to_string().contains("order_update"),
        "{templates}"
    );
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let status = child.wait().unwrap();
    assert!(status.success(), "stops cleanly on SIGTERM: {status:?}");
}
