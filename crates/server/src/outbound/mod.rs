//! The outbound path (docs/architecture.md, "Outbound"): a send request is read in Meta's own shape
//! (so an integrator has nothing new to learn), checked by the send policy and queued in one
//! transaction ([`submit`], the one send service); a [`dispatcher`] per number sends it, paced
//! ([`pacer`]), and records what Meta answered. Status webhooks then advance the message like any other.

pub mod dispatcher;
pub mod links;
pub mod pacer;
pub mod submit;
pub mod templates;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};
use switchboard_cloudapi::send::{Recipient, SendRequest};
use switchboard_domain::pacing::Lane;
use switchboard_domain::policy::WhenOverBudget;
use switchboard_domain::{Bsuid, E164};
use switchboard_store::{ContactKey, NewSend};
use tokio::sync::Notify;

use crate::config::{Config, NumberConfig};
use crate::error::ApiError;

/// What the outbound API needs at hand: the numbers it may send from and each dispatcher's bell.
pub struct Outbound {
    numbers: Vec<NumberConfig>,
    pub wakes: HashMap<String, Arc<Notify>>,
    /// Media links must not point into private networks.
    pub links: links::LinkCheck,
}

impl Outbound {
    pub fn new(config: &Config) -> Self {
        Outbound {
            links: links::LinkCheck::new(config.http.allow_private_targets),
            numbers: config.numbers.clone(),
            wakes: config
                .numbers
                .iter()
                .map(|n| (n.phone_number_id.clone(), Arc::default()))
                .collect(),
        }
    }

    /// The configured number a send goes from: the one named, or the only one.
    pub fn number(&self, from: Option<&str>) -> Result<&NumberConfig, ApiError> {
        match from {
            Some(id) => self
                .numbers
                .iter()
                .find(|n| n.phone_number_id == id || n.display_number.as_ref().is_some_and(|d| d.as_str() == id || d.wa_id() == id))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "from",
                        format!("{id:?} is not a number this Switchboard sends from; use one of the configured phone number ids."),
                    )
                }),
            None => match self.numbers.as_slice() {
                [only] => Ok(only),
                [] => Err(ApiError::Conflict {
                    code: "no_number",
                    message: "No sending number is configured; add one (see docs/configuration.md).".into(),
                }),
                _ => Err(ApiError::invalid(
                    "from",
                    "Several numbers are configured; say which one sends with \"from\".",
                )),
            },
        }
    }

    pub fn wake(&self, number: &str) {
        if let Some(w) = self.wakes.get(number) {
            w.notify_one();
        }
    }
}

/// Reads a send request: Meta's body (`to` or `recipient`, `type`, the type's object,
/// `context`…) plus our `from`, `lane` and `on_limit`. Returns the send to queue, without its
/// idempotency key.
pub fn parse_send(outbound: &Outbound, raw: &[u8]) -> Result<NewSend, ApiError> {
    let mut v: Value = serde_json::from_slice(raw)
        .map_err(|e| ApiError::invalid("body", format!("The body is not JSON: {e}.")))?;
    let obj = v
        .as_object_mut()
        .ok_or_else(|| ApiError::invalid("body", "The body must be a JSON object."))?;
    let text =
        |obj: &mut serde_json::Map<String, Value>, k: &str| -> Result<Option<String>, ApiError> {
            match obj.remove(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(ApiError::invalid(k, format!("\"{k}\" must be a string."))),
            }
        };
    let from = text(obj, "from")?;
    let lane = match text(obj, "lane")? {
        None => None,
        Some(l) => Some(Lane::parse(&l).ok_or_else(|| {
            ApiError::invalid(
                "lane",
                "\"lane\" must be agent, transactional or marketing.",
            )
        })?),
    };
    let over_budget = match text(obj, "on_limit")?.as_deref() {
        None | Some("hold") => WhenOverBudget::Hold,
        Some("refuse") => WhenOverBudget::Refuse,
        Some(_) => {
            return Err(ApiError::invalid(
                "on_limit",
                "\"on_limit\" must be hold (wait for the messaging limit) or refuse.",
            ));
        }
    };
    obj.entry("messaging_product")
        .or_insert_with(|| Value::String("whatsapp".into()));
    obj.entry("recipient_type")
        .or_insert_with(|| Value::String("individual".into()));
    let mut req: SendRequest = serde_json::from_value(v)
        .map_err(|e| ApiError::invalid("body", format!("This is not a Cloud API message: {e}.")))?;
    let number = outbound.number(from.as_deref())?;
    let (contact, recipient) = match req.recipient() {
        Some(Recipient::Phone(p)) => {
            let e164 = E164::parse(&p)
                .or_else(|_| E164::from_wa_id(&p))
                .map_err(|_| ApiError::invalid("to", format!("{p:?} is not a phone number; write it in international form, e.g. +16505551234.")))?;
            req.to = Some(e164.as_str().to_owned());
            (
                ContactKey {
                    wa_id: Some(e164.wa_id().to_owned()),
                    ..Default::default()
                },
                e164.as_str().to_owned(),
            )
        }
        Some(Recipient::Bsuid(b)) => {
            let bsuid = Bsuid::parse(&b).map_err(|_| {
                ApiError::invalid(
                    "recipient",
                    format!(
                        "{b:?} is not a business-scoped user id (e.g. US.13491208655302741918)."
                    ),
                )
            })?;
            let key = if bsuid.is_parent() {
                ContactKey {
                    parent_bsuid: Some(bsuid.as_str().to_owned()),
                    ..Default::default()
                }
            } else {
                ContactKey {
                    bsuid: Some(bsuid.as_str().to_owned()),
                    ..Default::default()
                }
            };
            (key, bsuid.as_str().to_owned())
        }
        None => {
            return Err(ApiError::invalid(
                "to",
                "Say who the message is for: \"to\" with a phone number, or \"recipient\" with a BSUID.",
            ));
        }
    };
    if contact.wa_id.is_none() && contact.bsuid.is_none() {
        return Err(ApiError::invalid(
            "recipient",
            "Parent BSUIDs cannot be messaged through the outbox yet; use the customer's BSUID or phone number.",
        ));
    }
    let request = serde_json::to_string(&req).map_err(|e| ApiError::Internal(Box::new(e)))?;
    let send = NewSend {
        phone_number_id: number.phone_number_id.clone(),
        waba_id: number.waba_id.clone(),
        contact,
        recipient,
        content: req.content,
        request,
        lane,
        over_budget,
        idempotency_key: None,
        request_hash: hex::encode(Sha256::digest(raw)),
        created_by: None,
        campaign_id: None,
        not_before_ms: None,
        park: false,
    };
    Ok(send)
}

/// `parse_send` reads whatever an API key holder posts: arbitrary bytes, arbitrary JSON, valid
/// send bodies (text, template with parameters, media by link, interactive…) with values
/// replaced, keys removed or added, and bytes cut or flipped. It never panics; a refusal always
/// has a stable machine code, the field it is about and a message; an acceptance re-reads to the
/// same send.
#[cfg(test)]
mod fuzz {
    use std::sync::LazyLock;

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::config::Overrides;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    /// One number: `from` may be left out.
    static ONE: LazyLock<Outbound> = LazyLock::new(|| {
        let config = Config::from_sources(
            None,
            env(&[
                ("SWITCHBOARD_PHONE_NUMBER_ID", "106540352242922"),
                ("SWITCHBOARD_WABA_ID", "102290129340398"),
                ("SWITCHBOARD_ACCESS_TOKEN", "token"),
                ("SWITCHBOARD_APP_SECRET", "secret"),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        Outbound::new(&config)
    });

    /// Two numbers: `from` must name one, by id or display number.
    static TWO: LazyLock<Outbound> = LazyLock::new(|| {
        let file = r#"
            [[numbers]]
            phone_number_id = "111"
            waba_id = "900"
            display_number = "+1 555 078 3881"
            access_token = "tok-a"
            app_secret = "sec-a"
            [[numbers]]
            phone_number_id = "222"
            waba_id = "901"
            access_token = "tok-b"
            app_secret = "sec-b"
        "#;
        let config = Config::from_sources(Some(file), env(&[]), &Overrides::default()).unwrap();
        Outbound::new(&config)
    });

    /// Valid bodies for [`ONE`], one of each kind a caller sends.
    fn seeds() -> Vec<Value> {
        vec![
            json!({"to": "+16505551234", "type": "text", "text": {"body": "Hello"}}),
            json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
                "type": "text", "text": {"body": "See https://x.example", "preview_url": true},
                "context": {"message_id": "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQ3ODk3QzAzNzQ4MUQ3NENERjYwMgA="},
                "biz_opaque_callback_data": "order-42", "lane": "agent", "on_limit": "refuse"}),
            json!({"recipient": "US.13491208655302741918", "type": "text", "text": {"body": "Hi"},
                "from": "106540352242922", "lane": "transactional", "on_limit": "hold"}),
            json!({"to": "+16505551234", "type": "template", "lane": "marketing", "template": {
                "name": "spring_sale_v2", "language": {"code": "en_US", "policy": "deterministic"},
                "components": [
                    {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/h.jpg"}}]},
                    {"type": "body", "parameters": [
                        {"type": "text", "text": "Pablo"},
                        {"type": "currency", "currency": {"fallback_value": "$100.99", "code": "USD", "amount_1000": 100990}},
                        {"type": "date_time", "date_time": {"fallback_value": "February 25, 1977"}}]},
                    {"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{"type": "payload", "payload": "STOP"}]},
                    {"type": "button", "sub_type": "url", "index": 1, "parameters": [{"type": "text", "text": "860198-230332"}]}]}}),
            json!({"to": "+16505551234", "type": "template", "template": {
                "name": "order_shipped_named", "language": {"code": "en"},
                "components": [{"type": "body", "parameters": [
                    {"type": "text", "text": "Sheena", "parameter_name": "first_name"},
                    {"type": "text", "text": "Thursday", "parameter_name": "delivery_date"}]}]}}),
            json!({"to": "+16505551234", "type": "image",
                "image": {"link": "https://cdn.example.com/img/succulent.jpg?v=3", "caption": "New"}}),
            json!({"to": "+16505551234", "type": "document",
                "document": {"link": "https://example.com/r.pdf", "filename": "receipt.pdf", "caption": "Your receipt"}}),
            json!({"to": "+16505551234", "type": "video", "video": {"id": "1166846181421424"}}),
            json!({"to": "+16505551234", "type": "audio", "audio": {"link": "https://example.com/a.ogg"}}),
            json!({"to": "+16505551234", "type": "interactive", "interactive": {
                "type": "button", "body": {"text": "Change the delivery date?"},
                "action": {"buttons": [
                    {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                    {"type": "reply", "reply": {"id": "no", "title": "No"}}]}}}),
            json!({"to": "+16505551234", "type": "interactive", "interactive": {
                "type": "list", "header": {"type": "text", "text": "Shipping"},
                "body": {"text": "Which option?"}, "footer": {"text": "Lucky Shrub"},
                "action": {"button": "Options", "sections": [{"title": "Fast", "rows": [
                    {"id": "express", "title": "Express", "description": "Next day"}]}]}}}),
            json!({"to": "+16505551234", "type": "interactive", "interactive": {
                "type": "cta_url", "body": {"text": "Track your order"},
                "action": {"name": "cta_url", "parameters": {"display_text": "Track", "url": "https://x.example/t/42"}}}}),
            json!({"to": "+16505551234", "type": "location",
                "location": {"latitude": 37.483307, "longitude": "-122.148981", "name": "Shop", "address": "1 Hacker Way"}}),
            json!({"to": "+16505551234", "type": "reaction",
                "reaction": {"message_id": "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQ3ODk3QzAzNzQ4MUQ3NENERjYwMgA=", "emoji": "👍"}}),
        ]
    }

    /// The seeds, and every request of the Cloud API's send corpus (not all of them sends this
    /// API accepts: parent BSUIDs, mark-as-read), to mutate.
    static SEEDS: LazyLock<Vec<Value>> = LazyLock::new(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../cloudapi/tests/corpus/send");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no send corpus in {dir}");
        let mut all = seeds();
        all.extend(
            files
                .iter()
                .map(|p| serde_json::from_slice::<Value>(&std::fs::read(p).unwrap()).unwrap()),
        );
        all
    });

    /// Every value a field might hold, skewed to the ones `parse_send` branches on.
    fn arb_json() -> BoxedStrategy<Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "[a-z_]{0,12}".prop_map(Value::String),
            prop::collection::vec(any::<char>(), 0..12)
                .prop_map(|c| Value::String(c.into_iter().collect())),
            prop::sample::select(
                &[
                    "+16505551234",
                    "16505551234",
                    "+1",
                    "+",
                    "+999999999999999999999",
                    "US.13491208655302741918",
                    "US.ENT.11815799212886844830",
                    "US.",
                    "106540352242922",
                    "111",
                    "+15550783881",
                    "15550783881",
                    "whatsapp",
                    "individual",
                    "text",
                    "template",
                    "image",
                    "document",
                    "interactive",
                    "reaction",
                    "button",
                    "list",
                    "reply",
                    "hold",
                    "refuse",
                    "agent",
                    "transactional",
                    "marketing",
                    "https://example.com/a.jpg",
                    "",
                ][..]
            )
            .prop_map(|s| Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(arb_key(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
        .boxed()
    }

    fn arb_key() -> BoxedStrategy<String> {
        prop_oneof![
            1 => "[a-z_]{1,10}",
            3 => prop::sample::select(
                &[
                    "to",
                    "recipient",
                    "from",
                    "lane",
                    "on_limit",
                    "type",
                    "messaging_product",
                    "recipient_type",
                    "context",
                    "message_id",
                    "biz_opaque_callback_data",
                    "text",
                    "body",
                    "preview_url",
                    "template",
                    "name",
                    "language",
                    "code",
                    "components",
                    "parameters",
                    "sub_type",
                    "index",
                    "image",
                    "link",
                    "id",
                    "caption",
                    "interactive",
                    "action",
                    "buttons",
                    "reply",
                    "title",
                ][..]
            )
            .prop_map(str::to_owned),
        ]
        .boxed()
    }

    /// A change to a body, at the `pick`-th node of a depth-first walk.
    #[derive(Debug, Clone)]
    enum Edit {
        Replace(usize, Value),
        Remove(usize, prop::sample::Index),
        Insert(usize, String, Value),
    }

    fn arb_edit() -> BoxedStrategy<Edit> {
        prop_oneof![
            3 => (0usize..60, arb_json()).prop_map(|(p, v)| Edit::Replace(p, v)),
            1 => (0usize..60, any::<prop::sample::Index>()).prop_map(|(p, i)| Edit::Remove(p, i)),
            2 => (0usize..60, arb_key(), arb_json()).prop_map(|(p, k, v)| Edit::Insert(p, k, v)),
        ]
        .boxed()
    }

    /// Calls `f` on the `pick`-th node of `v` (depth first); `true` once done.
    fn at(v: &mut Value, pick: &mut usize, f: &mut dyn FnMut(&mut Value)) -> bool {
        if *pick == 0 {
            f(v);
            return true;
        }
        *pick -= 1;
        match v {
            Value::Array(a) => a.iter_mut().any(|x| at(x, pick, f)),
            Value::Object(m) => m.values_mut().any(|x| at(x, pick, f)),
            _ => false,
        }
    }

    fn apply(v: &mut Value, edit: &Edit) {
        match edit {
            Edit::Replace(p, with) => {
                at(v, &mut p.clone(), &mut |x| *x = with.clone());
            }
            Edit::Remove(p, i) => {
                at(v, &mut p.clone(), &mut |x| {
                    if let Value::Object(m) = x
                        && !m.is_empty()
                    {
                        let k = m.keys().nth(i.index(m.len())).unwrap().clone();
                        m.remove(&k);
                    }
                });
            }
            Edit::Insert(p, k, with) => {
                at(v, &mut p.clone(), &mut |x| {
                    if let Value::Object(m) = x {
                        m.insert(k.clone(), with.clone());
                    }
                });
            }
        }
    }

    /// A change to the raw bytes of a body.
    fn arb_byte_edit() -> BoxedStrategy<(prop::sample::Index, u8, u8)> {
        (any::<prop::sample::Index>(), 0u8..4, any::<u8>()).boxed()
    }

    fn apply_bytes(bytes: &mut Vec<u8>, (at, op, b): &(prop::sample::Index, u8, u8)) {
        let i = at.index(bytes.len() + 1);
        match op {
            0 => bytes.truncate(i),
            1 if i < bytes.len() => bytes[i] = *b,
            2 => bytes.insert(i, *b),
            _ if i < bytes.len() => {
                bytes.remove(i);
            }
            _ => {}
        }
    }

    /// Parses `raw` (twice) and checks what `parse_send` promises of any outcome.
    fn check(outbound: &Outbound, raw: &[u8]) -> Result<(), TestCaseError> {
        let first = parse_send(outbound, raw);
        let again = parse_send(outbound, raw);
        match (&first, &again) {
            (Err(e), Err(e2)) => {
                // A machine code clients can branch on, a 4xx (never an internal error), a
                // sentence, and for an invalid request the field it is about.
                let code = e.code();
                prop_assert!(
                    code.starts_with(|c: char| c.is_ascii_lowercase())
                        && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                    "code {:?} of {:?}",
                    code,
                    e
                );
                prop_assert!(e.status().is_client_error(), "{:?}", e);
                let message = e.to_string();
                prop_assert!(!message.trim().is_empty(), "{:?}", e);
                if let ApiError::Invalid { field, .. } = e {
                    prop_assert!(!field.is_empty(), "{:?}", e);
                }
                prop_assert_eq!((code, message), (e2.code(), e2.to_string()));
            }
            (Ok(send), Ok(send2)) => {
                prop_assert_eq!(&send.request, &send2.request);
                prop_assert_eq!(&send.request_hash, &hex::encode(Sha256::digest(raw)));
                prop_assert!(!send.recipient.is_empty());
                prop_assert!(send.contact.wa_id.is_some() || send.contact.bsuid.is_some());
                // What is queued is itself a send this API accepts, to the same person, with
                // the same content. (Its JSON may differ once: an explicit
                // `"recipient_type": null` is dropped, then defaulted on the next read.)
                let queued = parse_send(&ONE, send.request.as_bytes());
                prop_assert!(
                    queued.is_ok(),
                    "{} re-reads as {:?}",
                    send.request,
                    queued.err()
                );
                let queued = queued.unwrap();
                prop_assert_eq!(&queued.recipient, &send.recipient);
                prop_assert_eq!(&queued.contact, &send.contact);
                prop_assert_eq!(&queued.content, &send.content);
                let settled = parse_send(&ONE, queued.request.as_bytes()).unwrap();
                prop_assert_eq!(&settled.request, &queued.request);
            }
            _ => prop_assert!(false, "parse_send is not deterministic"),
        }
        Ok(())
    }

    #[test]
    fn the_seeds_are_valid_sends() {
        for seed in seeds() {
            let raw = serde_json::to_vec(&seed).unwrap();
            if let Err(e) = parse_send(&ONE, &raw) {
                panic!("{seed}: {e}");
            }
        }
    }

    // Case counts keep this module to a few seconds of a debug build (CI runs it every time).
    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn parse_send_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            check(&ONE, &bytes)?;
            check(&TWO, &bytes)?;
        }

        #[test]
        fn parse_send_never_panics_on_arbitrary_json(v in arb_json()) {
            let raw = serde_json::to_vec(&v).unwrap();
            check(&ONE, &raw)?;
            check(&TWO, &raw)?;
        }

        #[test]
        fn parse_send_never_panics_on_mutated_sends(
            idx in any::<prop::sample::Index>(),
            from in prop::sample::select(&["111", "222", "+1 555 078 3881", "15550783881", "333"][..]),
            edits in prop::collection::vec(arb_edit(), 1..4),
        ) {
            let mut v = SEEDS[idx.index(SEEDS.len())].clone();
            // With two numbers, a send names the one it goes from (unless an edit drops it).
            if let Some(m) = v.as_object_mut() {
                m.entry("from").or_insert_with(|| json!(from));
            }
            for edit in &edits {
                apply(&mut v, edit);
            }
            let raw = serde_json::to_vec(&v).unwrap();
            check(&TWO, &raw)?;
            if let Some(m) = v.as_object_mut()
                && m.get("from") == Some(&json!(from))
            {
                m.remove("from");
            }
            check(&ONE, &serde_json::to_vec(&v).unwrap())?;
        }

        #[test]
        fn parse_send_never_panics_on_damaged_bytes(
            idx in any::<prop::sample::Index>(),
            edits in prop::collection::vec(arb_byte_edit(), 1..4),
        ) {
            let mut raw = serde_json::to_vec(&SEEDS[idx.index(SEEDS.len())]).unwrap();
            for edit in &edits {
                apply_bytes(&mut raw, edit);
            }
            check(&ONE, &raw)?;
            check(&TWO, &raw)?;
        }
    }
}
