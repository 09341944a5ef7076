//! `switchboard templates`: a folder of template files linted offline, compared with Meta,
//! pushed (create, update, prune with --yes) and pulled back, against the emulator.

use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_emulator::{Emulator, EmulatorConfig};

fn templates(em: &Emulator, args: &[&str]) -> Output {
    let c = em.config();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SWITCHBOARD_") {
            cmd.env_remove(k);
        }
    }
    cmd.arg("templates")
        .args(args)
        .env("SWITCHBOARD_GRAPH_BASE_URL", em.base_url())
        .env("SWITCHBOARD_PHONE_NUMBER_ID", &c.numbers[0].phone_number_id)
        .env("SWITCHBOARD_WABA_ID", &c.waba_id)
        .env("SWITCHBOARD_ACCESS_TOKEN", &c.access_token)
        .env("SWITCHBOARD_APP_SECRET", &c.app_secret)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn shipped(body: &str) -> Value {
    json!({"name": "order_shipped", "language": "en_US", "category": "UTILITY", "components": [
        {"type": "BODY", "text": body, "example": {"body_text": [["Ann", "42"]]}}]})
}

fn write(dir: &std::path::Path, file: &str, v: &Value) {
    std::fs::write(dir.join(file), serde_json::to_string_pretty(v).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lint_diff_push_and_pull_a_folder_of_templates() {
    let running = Emulator::start(EmulatorConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let em = running.emulator.clone();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "order_shipped.en_US.json",
        &shipped("Hi {{1}}, your order {{2}} has shipped and arrives soon."),
    );
    write(
        dir.path(),
        "bad.json",
        &json!({"name": "Bad Name", "language": "en_US", "category": "UTILITY", "components": [
        {"type": "BODY", "text": "{{1}} 20% off everything today {{2}}"}]}),
    );

    // Lint: errors named by rule, exit 1; JSON for tools.
    let out = templates(&em, &["lint", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    for rule in [
        "name_format",
        "variable_at_start",
        "variable_at_end",
        "sample_missing",
        "category_promotional",
    ] {
        assert!(text.contains(rule), "{rule} missing from: {text}");
    }
    let out = templates(
        &em,
        &["lint", "--format", "json", dir.path().to_str().unwrap()],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["errors"].as_u64().unwrap() >= 4, "{v}");
    assert_eq!(v["files"][0]["file"], "bad.json");

    // Push refuses while a file has errors.
    let out = templates(&em, &["push", dir.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert_eq!(em.outbox().len(), 0);
    std::fs::remove_file(dir.path().join("bad.json")).unwrap();

    // Diff, push, review: then nothing differs.
    let d = dir.path().to_str().unwrap();
    let out = templates(&em, &["diff", d]);
    assert!(
        stdout(&out).contains("+ create  order_shipped (en_US)"),
        "{}",
        stdout(&out)
    );
    let out = templates(&em, &["push", d]);
    assert!(
        out.status.success(),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    em.advance(Duration::from_secs(31));
    let out = templates(&em, &["diff", d]);
    assert!(
        stdout(&out).contains("= same    order_shipped (en_US)"),
        "{}",
        stdout(&out)
    );

    // An edit goes back to review.
    write(
        dir.path(),
        "order_shipped.en_US.json",
        &shipped("Hello {{1}}, order {{2}} is on its way to you now."),
    );
    let out = templates(&em, &["diff", d]);
    assert!(
        stdout(&out).contains("~ update  order_shipped (en_US)  components"),
        "{}",
        stdout(&out)
    );
    assert!(templates(&em, &["push", d]).status.success());
    let graph = switchboard_graph::GraphClient::new(
        &em.base_url(),
        &em.config().api_version,
        Duration::from_secs(5),
    );
    let token = secrecy::SecretString::from(em.config().access_token.clone());
    let list = graph
        .list_templates(&em.config().waba_id, &token, 100, None)
        .await
        .unwrap();
    assert_eq!(list["data"][0]["status"], "PENDING");
    assert!(
        list["data"][0]["components"]
            .to_string()
            .contains("on its way")
    );
    em.advance(Duration::from_secs(31));

    // A template at Meta that no file names: kept unless --prune, deleted with --yes.
    graph
        .create_template(&em.config().waba_id, &token, &json!({"name": "old_notice", "language": "en_US", "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Our office is closed on Monday for maintenance."}]}))
        .await
        .unwrap();
    let out = templates(&em, &["push", d]);
    assert!(out.status.success());
    assert!(!stdout(&out).contains("delete"));
    let out = templates(&em, &["push", "--prune", "--yes", d]);
    assert!(
        stdout(&out).contains("- delete  old_notice (en_US)"),
        "{}",
        stdout(&out)
    );
    let list = graph
        .list_templates(&em.config().waba_id, &token, 100, None)
        .await
        .unwrap();
    assert!(
        !list.to_string().contains("old_notice")
            || list["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["name"] != "old_notice" || t["status"] == "DELETED"),
        "{list}"
    );

    // YAML files in the same shape work too.
    std::fs::write(
        dir.path().join("appointment.yaml"),
        "name: appointment_reminder\nlanguage: en_US\ncategory: UTILITY\ncomponents:\n  - type: BODY\n    text: \"Hi {{1}}, this is a reminder of your appointment on {{2}} at our clinic.\"\n    example:\n      body_text: [[\"Ann\", \"Monday\"]]\n",
    )
    .unwrap();
    let out = templates(&em, &["diff", d]);
    assert!(
        stdout(&out).contains("+ create  appointment_reminder (en_US)  from appointment.yaml"),
        "{}",
        stdout(&out)
    );
    let out = templates(&em, &["push", d]);
    assert!(
        out.status.success(),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );

    // Pull writes Meta's state as files in the same shape.
    let pulled = tempfile::tempdir().unwrap();
    let out = templates(&em, &["pull", pulled.path().to_str().unwrap()]);
    assert!(out.status.success());
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(pulled.path().join("order_shipped.en_US.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(file["category"], "UTILITY");
    assert!(
        file.get("id").is_none() && file.get("status").is_none(),
        "{file}"
    );
    let out = templates(&em, &["diff", pulled.path().to_str().unwrap()]);
    assert!(stdout(&out).contains("= same"), "{}", stdout(&out));
}
