//! The parsers never panic, whatever arrives: arbitrary bytes, arbitrary JSON, and corpus
//! payloads with values replaced at random paths.

use proptest::prelude::*;
use serde_json::Value;
use switchboard_cloudapi::send::MessagesRequest;
use switchboard_cloudapi::webhook::Envelope;

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z_]{0,12}".prop_map(Value::String),
        Just(Value::String("1749416383".into())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-z_]{1,10}",
                    Just("type".to_owned()),
                    Just("entry".to_owned()),
                    Just("changes".to_owned()),
                    Just("field".to_owned()),
                    Just("value".to_owned()),
                    Just("messages".to_owned()),
                    Just("statuses".to_owned()),
                    Just("timestamp".to_owned()),
                    Just("text".to_owned()),
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn corpus_values() -> Vec<Value> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/webhooks");
    let mut files: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

/// Replaces the value at the `pick`-th node (in a depth-first walk) with `with`.
fn mutate(v: &mut Value, pick: &mut usize, with: &Value) {
    if *pick == 0 {
        *v = with.clone();
        *pick = usize::MAX;
        return;
    }
    *pick -= 1;
    match v {
        Value::Array(a) => a.iter_mut().for_each(|x| {
            if *pick != usize::MAX {
                mutate(x, pick, with)
            }
        }),
        Value::Object(m) => m.values_mut().for_each(|x| {
            if *pick != usize::MAX {
                mutate(x, pick, with)
            }
        }),
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Envelope::parse(&bytes);
        let _ = serde_json::from_slice::<MessagesRequest>(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        if let Ok(env) = Envelope::parse(&bytes) {
            // Whatever parses must re-serialise.
            serde_json::to_vec(&env).unwrap();
        }
        let _ = MessagesRequest::from_value(v);
    }

    #[test]
    fn mutated_corpus_never_panics(idx in any::<prop::sample::Index>(), pick in 0usize..400, with in arb_json()) {
        let values = corpus_values();
        let mut v = values[idx.index(values.len())].clone();
        let mut p = pick;
        mutate(&mut v, &mut p, &with);
        let bytes = serde_json::to_vec(&v).unwrap();
        if let Ok(env) = Envelope::parse(&bytes) {
            let again = serde_json::to_value(&env).unwrap();
            // Lossless even after mutation, except for explicit nulls, which typed optional keys drop.
            if !bytes.windows(4).any(|w| w == b"null") {
                prop_assert_eq!(again, v);
            }
        }
    }

    /// Whatever a change's value holds, the body parses: a bad change or item is kept
    /// unparsed (and written back as it came), never a failure of the body.
    #[test]
    fn a_mutated_change_value_never_fails_the_body(idx in any::<prop::sample::Index>(), change in any::<prop::sample::Index>(), pick in 0usize..200, with in arb_json()) {
        let values = corpus_values();
        let mut v = values[idx.index(values.len())].clone();
        let changes: Vec<(usize, usize)> = v["entry"].as_array().unwrap().iter().enumerate()
            .flat_map(|(e, entry)| (0..entry["changes"].as_array().unwrap().len()).map(move |c| (e, c)))
            .collect();
        let (e, c) = changes[change.index(changes.len())];
        let mut p = pick;
        mutate(&mut v["entry"][e]["changes"][c]["value"], &mut p, &with);
        let bytes = serde_json::to_vec(&v).unwrap();
        let env = Envelope::parse(&bytes);
        prop_assert!(env.is_ok(), "{:?}", env.err());
        let again = serde_json::to_value(env.unwrap()).unwrap();
        if !bytes.windows(4).any(|w| w == b"null") {
            prop_assert_eq!(again, v);
        }
    }
}
