//! Every payload in `tests/corpus/` (written from the reference, see its README) parses into our
//! types and re-serialises to the same JSON value: nothing Meta sends is lost.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use switchboard_cloudapi::send::{MessagesRequest, SendResponse, SuccessResponse};
use switchboard_cloudapi::webhook::{ChangeValue, Envelope, Field, InboundContent};
use switchboard_cloudapi::{GraphErrorBody, RetryClass};

fn corpus(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn read(path: &Path) -> (Vec<u8>, Value) {
    let bytes = std::fs::read(path).unwrap();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    (bytes, value)
}

/// Parses `bytes` as `T` and checks that serialising it gives back `original`.
fn round_trip<T: DeserializeOwned + Serialize>(path: &Path, bytes: &[u8], original: &Value) -> T {
    let parsed: T =
        serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let again = serde_json::to_value(&parsed).unwrap();
    if &again != original {
        panic!(
            "{} lost or changed data on re-serialisation:\n original: {}\n   output: {}",
            path.display(),
            serde_json::to_string(original).unwrap(),
            serde_json::to_string(&again).unwrap()
        );
    }
    parsed
}

#[test]
fn the_corpus_has_at_least_sixty_payloads() {
    let n = corpus("webhooks").len() + corpus("send").len() + corpus("responses").len();
    assert!(n >= 60, "only {n} payloads in the corpus");
}

#[test]
fn every_webhook_round_trips() {
    let files = corpus("webhooks");
    assert!(files.len() >= 40);
    for path in files {
        let (bytes, value) = read(&path);
        let env: Envelope = round_trip(&path, &bytes, &value);
        assert_eq!(
            env.object,
            "whatsapp_business_account",
            "{}",
            path.display()
        );
        assert!(
            env.changes().count() >= 1,
            "{} has no changes",
            path.display()
        );
        // Lenient reading must not hide a parser that no longer reads what Meta sends.
        let unparsed: Vec<String> = env
            .unparsed()
            .map(|u| format!("{}: {}", u.place, u.error))
            .collect();
        assert!(unparsed.is_empty(), "{}: {unparsed:?}", path.display());
    }
}

#[test]
fn every_send_request_round_trips() {
    let files = corpus("send");
    assert!(files.len() >= 20);
    for path in files {
        let (bytes, value) = read(&path);
        let req: MessagesRequest = round_trip(&path, &bytes, &value);
        let name = path.file_name().unwrap().to_str().unwrap();
        match req {
            MessagesRequest::Send(send) => {
                assert!(name.starts_with("send_"), "{name} parsed as a send");
                assert!(send.recipient().is_some(), "{name} has no recipient");
                let type_name = value["type"].as_str().unwrap();
                assert!(
                    !matches!(
                        send.content,
                        switchboard_cloudapi::send::OutboundContent::Other { .. }
                    ),
                    "{name}: type {type_name} was not recognised"
                );
            }
            MessagesRequest::MarkRead(read) => {
                assert!(
                    name.starts_with("read_") || name.starts_with("typing_"),
                    "{name} parsed as mark-read"
                );
                assert_eq!(read.status, "read");
                assert_eq!(read.typing_indicator.is_some(), name.starts_with("typing_"));
            }
        }
    }
}

#[test]
fn every_response_round_trips() {
    for path in corpus("responses") {
        let (bytes, value) = read(&path);
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.starts_with("error_") {
            let body: GraphErrorBody = round_trip(&path, &bytes, &value);
            let code: i64 = name
                .trim_start_matches("error_")
                .split(['_', '.'])
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(body.error.code.0, code, "{name}");
        } else if name.starts_with("ok_send") {
            let r: SendResponse = round_trip(&path, &bytes, &value);
            assert!(r.wamid().is_some_and(|w| w.starts_with("wamid.")), "{name}");
        } else if name == "ok_success.json" {
            let r: SuccessResponse = round_trip(&path, &bytes, &value);
            assert_eq!(r.success, Some(true));
        } else {
            let _: Value = round_trip(&path, &bytes, &value);
        }
    }
}

/// The typed view sees what the payload says, not just that it parsed.
#[test]
fn typed_views_match_the_payloads() {
    let mut seen_types = std::collections::BTreeSet::new();
    let mut statuses = 0;
    let mut fields = std::collections::BTreeSet::new();
    for path in corpus("webhooks") {
        let (bytes, value) = read(&path);
        let env = Envelope::parse(&bytes).unwrap();
        let raw_changes: Vec<&Value> = value["entry"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|e| e["changes"].as_array().unwrap().iter())
            .collect();
        assert_eq!(
            raw_changes.len(),
            env.changes().count(),
            "{}: every change is kept",
            path.display()
        );
        for ((_, change), raw) in env.changes().zip(raw_changes) {
            assert_eq!(change.field().as_str(), raw["field"].as_str().unwrap());
            fields.insert(change.field().as_str().to_owned());
            if let ChangeValue::Messaging(Field::Messages, v) = &change.value {
                let raw_msgs = raw["value"]["messages"].as_array().map_or(0, |a| a.len());
                assert_eq!(v.messages().len(), raw_msgs, "{}", path.display());
                for (m, rm) in v
                    .messages()
                    .iter()
                    .zip(raw["value"]["messages"].as_array().into_iter().flatten())
                {
                    assert_eq!(m.type_name(), rm["type"].as_str().unwrap());
                    assert_eq!(
                        m.timestamp.as_secs().to_string(),
                        rm["timestamp"].as_str().unwrap()
                    );
                    seen_types.insert(m.type_name().to_owned());
                    let modelled = !matches!(m.content, InboundContent::Other { .. });
                    let expected =
                        !["poll", "hologram"].contains(&m.type_name()) && m.content_is_present();
                    assert_eq!(
                        modelled,
                        expected,
                        "{}: type {} typed={modelled}",
                        path.display(),
                        m.type_name()
                    );
                    if let InboundContent::Text(t) = &m.content {
                        assert_eq!(t.body, rm["text"]["body"].as_str().unwrap());
                    }
                }
                statuses += v.statuses().len();
            }
        }
    }
    for t in [
        "text",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "location",
        "contacts",
        "reaction",
        "button",
        "interactive",
        "order",
        "system",
        "unsupported",
    ] {
        assert!(
            seen_types.contains(t),
            "no inbound {t} message in the corpus (saw {seen_types:?})"
        );
    }
    assert!(statuses >= 6, "only {statuses} statuses in the corpus");
    for f in [
        "messages",
        "message_template_status_update",
        "message_template_quality_update",
        "template_category_update",
        "phone_number_quality_update",
        "account_update",
        "user_preferences",
        "business_capability_update",
    ] {
        assert!(fields.contains(f), "no {f} webhook in the corpus");
    }
}

#[test]
fn unknown_fields_types_and_keys_are_kept_not_rejected() {
    let body = serde_json::json!({
        "object": "whatsapp_business_account",
        "future_top": 1,
        "entry": [{"id": "1", "changes": [
            {"field": "brand_new_field", "value": {"anything": [1, 2, 3]}},
            {"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                "messages": [{"from": "16505551234", "id": "wamid.A", "timestamp": "1749416383",
                              "type": "hologram", "hologram": {"depth": 3}, "future_key": true}]
            }}
        ]}]
    });
    let bytes = serde_json::to_vec(&body).unwrap();
    let env = Envelope::parse(&bytes).unwrap();
    let changes: Vec<_> = env.changes().map(|(_, c)| c).collect();
    assert!(
        matches!(&changes[0].value, ChangeValue::Unknown(Field::Other(f), _) if f == "brand_new_field")
    );
    let ChangeValue::Messaging(_, v) = &changes[1].value else {
        panic!("messages not typed")
    };
    let m = &v.messages()[0];
    assert!(
        matches!(&m.content, InboundContent::Other { type_name, content: Some(_) } if type_name == "hologram")
    );
    assert_eq!(m.extra.get("future_key"), Some(&Value::Bool(true)));
    assert_eq!(serde_json::to_value(&env).unwrap(), body);
}

#[test]
fn failed_statuses_carry_classified_errors() {
    let mut checked = 0;
    for path in corpus("webhooks") {
        let (bytes, _) = read(&path);
        let env = Envelope::parse(&bytes).unwrap();
        for (_, change) in env.changes() {
            if let ChangeValue::Messaging(_, v) = &change.value {
                for s in v.statuses() {
                    if s.status == switchboard_cloudapi::webhook::StatusKind::Failed {
                        let e = &s.errors.as_ref().expect("failed status has errors")[0];
                        if e.code.0 == 131047 {
                            assert_eq!(e.code.retry_class(), RetryClass::NeedsTemplate);
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked >= 2, "only {checked} failed statuses in the corpus");
}
