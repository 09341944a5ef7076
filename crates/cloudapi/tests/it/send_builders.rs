//! The constructors make an invalid request hard to write, and build exactly Meta's shape.

use serde_json::json;
use switchboard_cloudapi::send::*;

#[test]
fn text_has_meta_shape() {
    let req = SendRequest::new(
        Recipient::Phone("+16505551234".into()),
        OutboundContent::text("Hi", true).unwrap(),
    )
    .in_reply_to("wamid.X")
    .unwrap();
    assert_eq!(
        serde_json::to_value(&req).unwrap(),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+16505551234",
               "type": "text", "text": {"body": "Hi", "preview_url": true}, "context": {"message_id": "wamid.X"}})
    );
}

#[test]
fn bsuid_recipient_uses_recipient_key() {
    let req = SendRequest::new(
        Recipient::Bsuid("US.13491208655302741918".into()),
        OutboundContent::text("Hi", false).unwrap(),
    );
    let v = serde_json::to_value(&req).unwrap();
    assert_eq!(v["recipient"], "US.13491208655302741918");
    assert!(v.get("to").is_none());
}

#[test]
fn limits_are_enforced() {
    assert!(matches!(
        OutboundContent::text("", false),
        Err(BuildError::Empty { .. })
    ));
    assert!(matches!(
        OutboundContent::text("x".repeat(4097), false),
        Err(BuildError::TooLong { max: 4096, .. })
    ));
    assert!(OutboundContent::text("x".repeat(4096), false).is_ok());
    assert!(Interactive::buttons("b", &[]).is_err());
    assert!(Interactive::buttons("b", &[("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")]).is_err());
    assert!(matches!(
        Interactive::buttons("b", &[("a", "Same"), ("b", "Same")]),
        Err(BuildError::Duplicate { .. })
    ));
    assert!(Interactive::buttons("b", &[("a", "This title is far too long")]).is_err());
    let rows = |n: usize| {
        (0..n)
            .map(|i| ListRow {
                id: format!("r{i}"),
                title: format!("Row {i}"),
                description: None,
            })
            .collect()
    };
    assert!(
        Interactive::list(
            "b",
            "Pick",
            &[ListSection {
                title: None,
                rows: rows(10)
            }]
        )
        .is_ok()
    );
    assert!(
        Interactive::list(
            "b",
            "Pick",
            &[ListSection {
                title: None,
                rows: rows(11)
            }]
        )
        .is_err()
    );
    assert!(
        OutboundContent::media(
            MediaKind::Sticker,
            MediaSource::Id("1".into()),
            Some("no".into()),
            None
        )
        .is_err()
    );
    assert!(
        OutboundContent::media(
            MediaKind::Image,
            MediaSource::Link("ftp://x".into()),
            None,
            None
        )
        .is_err()
    );
    assert!(OutboundContent::location(91.0, 0.0, None, None).is_err());
    let reaction = SendRequest::new(
        Recipient::Phone("+1".into()),
        OutboundContent::reaction("wamid.X", "👍").unwrap(),
    );
    assert!(reaction.in_reply_to("wamid.Y").is_err());
    let mixed = Template::new("t", "en")
        .unwrap()
        .body(vec![Parameter::text("a"), Parameter::named("n", "b")]);
    assert!(mixed.is_err());
}

#[test]
fn template_with_header_body_and_buttons() {
    let t = Template::new("order_confirmation", "en_US")
        .unwrap()
        .header(
            Parameter::media(
                MediaKind::Image,
                MediaSource::Link("https://example.com/h.jpg".into()),
            )
            .unwrap(),
        )
        .body(vec![Parameter::named("first_name", "Pablo")])
        .unwrap()
        .button("quick_reply", 0, Parameter::payload("STOP_PROMOS"))
        .unwrap();
    let req = SendRequest::new(
        Recipient::Phone("+16505551234".into()),
        OutboundContent::Template(t),
    );
    let v = serde_json::to_value(&req).unwrap();
    assert_eq!(v["type"], "template");
    assert_eq!(
        v["template"]["components"][0],
        json!({"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/h.jpg"}}]})
    );
    assert_eq!(
        v["template"]["components"][1]["parameters"][0],
        json!({"type": "text", "text": "Pablo", "parameter_name": "first_name"})
    );
    assert_eq!(
        v["template"]["components"][2],
        json!({"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{"type": "payload", "payload": "STOP_PROMOS"}]})
    );
    // and it parses back to the same thing
    let back: SendRequest = serde_json::from_value(v).unwrap();
    assert_eq!(back, req);
}
