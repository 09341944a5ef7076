//! What the logs of a whole run hold: `switchboard serve` at debug level, with JSON logs, while
//! a customer writes, people log in (wrongly and rightly), an agent replies, an integration
//! sends, someone forges a webhook and Meta verifies the endpoint. No secret may appear at any
//! level; no message body or phone number at info level or above.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_emulator::{Customer, Emulator, EmulatorConfig};

const BODY: &str = "my card ends 4242, ship to Elm Street";
const REPLY: &str = "thanks, zebra-quartz confirmed";
const SENT: &str = "your parcel left the depot, kiwi-orbit";
const CUSTOMER: &str = "16505557788";
const PASSWORD: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_run_logs_no_secret_and_no_customer_data_at_info() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("sb.db").display());
    let port = super::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let running = Emulator::start(
        EmulatorConfig {
            webhook_url: Some(format!("{base}/webhooks/whatsapp")),
            ..Default::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let em = running.emulator.clone();
    let c = em.config();

    // A person and a key, made as an operator would.
    let out = super::bin()
        .args([
            "users",
            "add",
            "--email",
            "ann@example.com",
            "--role",
            "agent",
            "--name",
            "Ann",
        ])
        .args(["--database-url", &db])
        .env("SWITCHBOARD_NEW_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = super::bin()
        .args([
            "apikey",
            "create",
            "--name",
            "crm",
            "--role",
            "agent",
            "--database-url",
            &db,
        ])
        .output()
        .unwrap();
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(key.starts_with("sbk_"));

    let log = dir.path().join("serve.log");
    // The verify token in a config file others can read, as a careless operator would leave it.
    let config = dir.path().join("switchboard.toml");
    std::fs::write(
        &config,
        format!("[webhook]\nverify_token = {:?}\n", c.verify_token),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let mut server = super::bin()
        .args([
            "serve",
            "--database-url",
            &db,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["--metrics-listen", ""])
        .arg("--config")
        .arg(&config)
        .env("SWITCHBOARD_GRAPH_BASE_URL", em.base_url())
        .env("SWITCHBOARD_PHONE_NUMBER_ID", &c.numbers[0].phone_number_id)
        .env("SWITCHBOARD_WABA_ID", &c.waba_id)
        .env("SWITCHBOARD_ACCESS_TOKEN", &c.access_token)
        .env("SWITCHBOARD_APP_SECRET", &c.app_secret)
        .env("SWITCHBOARD_MEDIA_DIR", dir.path().join("media"))
        .env("SWITCHBOARD_LOG", "debug")
        .env("SWITCHBOARD_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let start = Instant::now();
    while http.get(format!("{base}/readyz")).send().await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Meta verifies the endpoint; someone forges a webhook.
    let r = http
        .get(format!("{base}/webhooks/whatsapp"))
        .query(&[
            ("hub.mode", "subscribe"),
            ("hub.verify_token", c.verify_token.as_str()),
            ("hub.challenge", "7"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(format!("{base}/webhooks/whatsapp"))
        .header("x-hub-signature-256", "sha256=00")
        .body(format!(
            "{{\"text\": \"{BODY}\", \"from\": \"{CUSTOMER}\"}}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A customer writes; it arrives.
    em.add_customer(Customer::new(CUSTOMER, Some("Maya Lopez")));
    let number = em.default_number();
    em.customer_sends(
        CUSTOMER,
        &number,
        json!({"type": "text", "text": {"body": BODY}}),
    )
    .unwrap();
    let conversations = loop {
        let v: Value = http
            .get(format!("{base}/api/v1/conversations"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["data"].as_array().is_some_and(|a| !a.is_empty()) {
            break v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the message never arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let id = conversations["data"][0]["id"].as_i64().unwrap();

    // A wrong password, then the right one; the agent claims and replies.
    let login = |password: &'static str| {
        http.post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": "ann@example.com", "password": password}))
            .send()
    };
    assert_eq!(
        login("not the password at all").await.unwrap().status(),
        422
    );
    let r = login(PASSWORD).await.unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let session_token = cookie.trim_start_matches("sb_session=").to_owned();
    let csrf = r.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for (what, body) in [
        ("claim", json!({})),
        ("reply", json!({"type": "text", "text": {"body": REPLY}})),
    ] {
        let r = http
            .post(format!("{base}/api/v1/conversations/{id}/{what}"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{what}: {}", r.status());
    }
    // An integration sends to the customer too.
    let r = http
        .post(format!("{base}/api/v1/messages"))
        .bearer_auth(&key)
        .json(&json!({"to": format!("+{CUSTOMER}"), "type": "text", "text": {"body": SENT}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "send: {}", r.status());
    // Let the outbox send and the statuses come back.
    while em.outbox().len() < 2 && start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    sigterm(server.id());
    server.wait().unwrap();

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(lines.len() > 20, "a debug run logs plenty: {}", lines.len());
    assert!(
        lines.iter().any(|l| l["level"] == "DEBUG"),
        "debug lines are there to be checked"
    );
    assert!(
        lines.iter().any(|l| l["level"] == "WARN"
            && l["message"]
                .as_str()
                .is_some_and(|m| m.contains("webhook.verify_token") && m.contains("chmod 600"))),
        "the readable config file is named at start"
    );
    for (what, secret) in [
        ("the access token", c.access_token.as_str()),
        ("the app secret", c.app_secret.as_str()),
        ("the verify token", c.verify_token.as_str()),
        ("the API key", &key[4..]),
        ("the password", PASSWORD),
        ("the session token", &session_token),
        ("the CSRF token", &csrf),
    ] {
        assert!(!text.contains(secret), "{what} is in the log");
    }
    for line in lines
        .iter()
        .filter(|l| l["level"] != "DEBUG" && l["level"] != "TRACE")
    {
        let l = line.to_string();
        for (what, private) in [
            ("a message body", BODY),
            ("a reply", REPLY),
            ("a sent message", SENT),
            ("a phone number", CUSTOMER),
            ("a phone number", &CUSTOMER[1..]),
            ("a customer's name", "Maya Lopez"),
            ("an email", "ann@example.com"),
        ] {
            assert!(!l.contains(private), "{what} at {}: {l}", line["level"]);
        }
    }
}

/// SIGTERM, so the server stops as it would under systemd and flushes its logs.
fn sigterm(pid: u32) {
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}
