//! A bad item never takes good ones with it: every array of a messaging value, and every change,
//! is read on its own; what does not parse is kept, in place, with the reason.

use serde_json::{Value, json};
use switchboard_cloudapi::webhook::{ChangeValue, Envelope, ItemArray, ItemPlace};

const NUMBER: &str = "106540352242922";

/// A `messages` change with one good and one bad item in every array.
fn mixed_value() -> Value {
    json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": NUMBER},
        "contacts": [
            {"profile": {"name": "Sheena"}, "wa_id": "16505551234"},
            {"profile": "not an object", "wa_id": "16505550142"}
        ],
        "messages": [
            {"from": "16505551234", "id": "wamid.GOOD", "timestamp": "1776002000", "type": "text", "text": {"body": "hi"}},
            {"from": "16505550142", "id": "wamid.NO_TIMESTAMP", "type": "text", "text": {"body": "lost?"}},
            {"from": "16505551234", "id": "wamid.HOLO", "timestamp": "1776002001", "type": "hologram", "hologram": {"depth": 3}}
        ],
        "message_echoes": [
            {"from": "15550783881", "to": "16505551234", "id": 42, "timestamp": "1776002002", "type": "text", "text": {"body": "echo"}},
            {"from": "15550783881", "to": "16505551234", "id": "wamid.ECHO", "timestamp": "1776002003", "type": "text", "text": {"body": "echo"}}
        ],
        "statuses": [
            {"id": "wamid.S1", "status": "delivered", "timestamp": "1776002004", "recipient_id": "16505551234"},
            {"id": "wamid.S2", "status": "read", "timestamp": "soon", "recipient_id": "16505551234"}
        ],
        "user_preferences": [
            {"wa_id": "16505551234", "category": "marketing_messages", "value": "stop", "timestamp": 1776002005},
            {"wa_id": "16505550142", "value": "stop", "timestamp": 1776002006}
        ],
        "errors": [
            {"code": "not a code", "title": "?"},
            {"code": 130429, "title": "Rate limit hit"}
        ]
    })
}

fn body(changes: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": changes}]})
}

fn parse(v: &Value) -> Envelope {
    Envelope::parse(&serde_json::to_vec(v).unwrap()).expect("the body parses")
}

#[test]
fn a_bad_item_of_each_kind_is_kept_unparsed_in_its_place_and_the_good_ones_parse() {
    let raw = body(json!([{"field": "messages", "value": mixed_value()}]));
    let env = parse(&raw);
    let ChangeValue::Messaging(_, v) = &env.entry[0].changes[0].value else {
        panic!("messages not typed")
    };
    assert_eq!(v.contacts().len(), 1);
    let ids: Vec<&str> = v.messages().iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        ["wamid.GOOD", "wamid.HOLO"],
        "the unknown type is kept"
    );
    assert_eq!(v.messages()[1].type_name(), "hologram");
    assert_eq!(v.message_echoes()[0].id, "wamid.ECHO");
    assert_eq!(v.statuses()[0].id, "wamid.S1");
    assert_eq!(v.user_preferences()[0].value, "stop");
    assert_eq!(v.errors()[0].code.0, 130429);

    let unparsed: Vec<(String, Value)> = env
        .unparsed()
        .map(|u| (u.place.to_string(), u.raw.clone()))
        .collect();
    let at = |array: &str, i: usize| format!("entry[0].changes[0].value.{array}[{i}]");
    assert_eq!(
        unparsed,
        [
            (at("contacts", 1), mixed_value()["contacts"][1].clone()),
            (at("messages", 1), mixed_value()["messages"][1].clone()),
            (
                at("message_echoes", 0),
                mixed_value()["message_echoes"][0].clone()
            ),
            (at("statuses", 1), mixed_value()["statuses"][1].clone()),
            (
                at("user_preferences", 1),
                mixed_value()["user_preferences"][1].clone()
            ),
            (at("errors", 0), mixed_value()["errors"][0].clone()),
        ]
    );
    let reasons: Vec<&str> = env.unparsed().map(|u| u.error).collect();
    assert!(
        reasons[1].contains("missing field `timestamp`"),
        "{reasons:?}"
    );
    assert!(
        reasons[4].contains("missing field `category`"),
        "{reasons:?}"
    );

    // Lossless: every item, parsed or not, goes back where it was.
    assert_eq!(serde_json::to_value(&env).unwrap(), raw);
    let place = ItemPlace::item(0, 0, ItemArray::Statuses, 1);
    assert_eq!(
        env.item_json(&place),
        Some(mixed_value()["statuses"][1].clone())
    );
    let good = ItemPlace::item(0, 0, ItemArray::Messages, 0);
    assert_eq!(
        env.item_json(&good),
        Some(mixed_value()["messages"][0].clone())
    );
    let errors = ItemPlace::array(0, 0, ItemArray::Errors);
    assert_eq!(
        env.item_json(&errors),
        Some(mixed_value()["errors"].clone())
    );
    assert_eq!(
        env.item_json(&ItemPlace::item(0, 0, ItemArray::Messages, 3)),
        None
    );
    assert_eq!(
        env.item_json(&ItemPlace::item(0, 1, ItemArray::Messages, 0)),
        None
    );
}

#[test]
fn a_change_whose_value_has_another_shape_is_kept_unparsed_beside_the_others() {
    let template = json!({"event": 5, "message_template_name": "welcome"});
    let not_an_array = json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": NUMBER},
        "messages": {"id": "wamid.X"}
    });
    let raw = body(json!([
        {"field": "message_template_status_update", "value": template},
        {"field": "messages", "value": not_an_array},
        {"field": "messages", "value": mixed_value()},
        {"field": "brand_new_field", "value": {"anything": 1}}
    ]));
    let env = parse(&raw);
    let changes = &env.entry[0].changes;
    assert!(
        matches!(&changes[0].value, ChangeValue::Unparsed { raw, .. } if *raw == template),
        "{:?}",
        changes[0].value
    );
    assert!(matches!(&changes[1].value, ChangeValue::Unparsed { .. }));
    assert!(matches!(&changes[2].value, ChangeValue::Messaging(..)));
    assert!(matches!(&changes[3].value, ChangeValue::Unknown(..)));
    let places: Vec<String> = env.unparsed().map(|u| u.place.to_string()).collect();
    assert_eq!(places[..2], ["entry[0].changes[0]", "entry[0].changes[1]"]);
    assert_eq!(places.len(), 2 + 6);
    assert_eq!(env.item_json(&ItemPlace::change(0, 0)), Some(template));
    assert_eq!(serde_json::to_value(&env).unwrap(), raw);
}

#[test]
fn only_a_body_that_is_not_an_envelope_fails() {
    for bad in [
        json!({"entry": []}),
        json!({"object": "whatsapp_business_account", "entry": {}}),
        json!({"object": "whatsapp_business_account", "entry": [{"changes": []}]}),
        json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"value": {}}]}]}),
        json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages"}]}]}),
    ] {
        assert!(
            Envelope::parse(&serde_json::to_vec(&bad).unwrap()).is_err(),
            "{bad}"
        );
    }
    assert!(Envelope::parse(b"{not json").is_err());
}
