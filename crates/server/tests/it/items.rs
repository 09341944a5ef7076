//! A bad item never takes good ones with it. Meta delivers bodies that mix good items with items
//! that cannot be applied (a shape this version does not read, a value the database refuses):
//! every good message, status, echo and opt-out is applied, each bad item is kept alone as an
//! item dead letter with its place and the reason, the admin sees them, and a replay of one
//! applies just that item, once.

use serde_json::{Value, json};
use switchboard_domain::Role;
use switchboard_server::inbound::project::{ProjectCtx, project_items};
use switchboard_store::testing::TestDatabase;
use switchboard_store::{Backend, DeadItemCode, ItemDeadLetter, ItemOp, Journaled, Op, SETTLED_BY};

use crate::helpers::{TestApp, error_code};

const WABA: &str = "102290129340398";
const CUSTOMER: &str = "16505551234";

fn metadata(app: &TestApp) -> Value {
    json!({"display_phone_number": "15550783881", "phone_number_id": app.number})
}

fn text(id: &str, ts: i64, body: &str) -> Value {
    json!({"from": CUSTOMER, "id": id, "timestamp": ts.to_string(), "type": "text", "text": {"body": body}})
}

fn envelope(entries: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": entries})).unwrap()
}

/// A body with a good and a bad item of every kind, an item of a type nobody knows yet, a
/// management change of another shape, and a second entry that is all good.
fn mixed(app: &TestApp) -> Vec<u8> {
    envelope(json!([
        {"id": WABA, "changes": [
            {"field": "message_template_status_update", "value": {"event": 5, "message_template_name": "promo"}},
            {"field": "messages", "value": {
                "messaging_product": "whatsapp", "metadata": metadata(app),
                "contacts": [{"profile": {"name": "Sheena"}, "wa_id": CUSTOMER}, {"profile": "nameless", "wa_id": "16505550142"}],
                "messages": [
                    text("wamid.GOOD", 1_776_002_000, "hello"),
                    {"from": CUSTOMER, "id": "wamid.NO_TIMESTAMP", "type": "text", "text": {"body": "where am I"}},
                    {"from": CUSTOMER, "id": "wamid.HOLO", "timestamp": "1776002001", "type": "hologram", "hologram": {"depth": 3}}
                ],
                "message_echoes": [
                    {"to": CUSTOMER, "id": 42, "timestamp": "1776002002", "type": "text", "text": {"body": "?"}},
                    {"from": "15550783881", "to": CUSTOMER, "id": "wamid.ECHO", "timestamp": "1776002003", "type": "text", "text": {"body": "from the app"}}
                ],
                "statuses": [
                    {"id": "wamid.OUT", "status": "delivered", "timestamp": "1776002004", "recipient_id": CUSTOMER},
                    {"id": "wamid.OUT", "status": "read", "timestamp": "later", "recipient_id": CUSTOMER}
                ],
                "user_preferences": [
                    {"wa_id": CUSTOMER, "category": "marketing_messages", "value": "stop", "timestamp": 1_776_002_005},
                    {"wa_id": CUSTOMER, "value": "resume", "timestamp": 1_776_002_006}
                ],
                "errors": [
                    {"code": 130429, "title": "Rate limit hit"},
                    {"title": "an error without a code"}
                ]
            }}
        ]},
        {"id": WABA, "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": metadata(app),
            "messages": [text("wamid.SECOND_ENTRY", 1_776_002_007, "still here")]
        }}]}
    ]))
}

/// The open item dead letters, as the admin API lists them, oldest first.
async fn open_items(app: &TestApp, admin: &str) -> Vec<Value> {
    let page = app.get_json("/api/v1/webhook-events/items", admin).await;
    let mut items = page["data"].as_array().unwrap().clone();
    items.reverse();
    items
}

async fn replay(app: &TestApp, admin: &str, id: i64) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/webhook-events/items/{id}/replay"),
        admin,
        &json!({}),
        &[],
    )
    .await
}

async fn messages(app: &TestApp) -> i64 {
    app.store.inbound_counts().await.unwrap().0
}

async fn a_body_mixing_good_and_bad_items_of_every_kind_applies_every_good_one_and_dead_letters_each_bad_one_alone(
    db: TestDatabase,
) {
    let app = TestApp::spawn(db).await;
    let admin = app.key(Role::Admin).await;
    assert_eq!(app.post_signed(&mixed(&app)).await.status(), 200);
    let pass = app.projector.drain().await.unwrap();
    assert_eq!(
        (pass.projected, pass.dead_letters, pass.item_dead_letters),
        (1, 0, 7)
    );

    // Every good item applied.
    for wamid in [
        "wamid.GOOD",
        "wamid.HOLO",
        "wamid.ECHO",
        "wamid.SECOND_ENTRY",
    ] {
        assert!(
            app.store.message_by_wamid(wamid).await.unwrap().is_some(),
            "{wamid} applied"
        );
    }
    let holo = app
        .store
        .message_by_wamid("wamid.HOLO")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(holo.kind, "hologram", "a type nobody knows yet is kept raw");
    assert!(holo.payload.contains("\"depth\":3"));
    assert_eq!(messages(&app).await, 4);
    let statuses = app.store.statuses_of("wamid.OUT").await.unwrap();
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].status, "delivered");
    let contact = app.store.contact_by_wa_id(CUSTOMER).await.unwrap().unwrap();
    assert_eq!(contact.name.as_deref(), Some("Sheena"));
    let preferences = app.store.account_events("user_preferences").await.unwrap();
    assert_eq!(preferences.len(), 1, "{preferences:?}");
    assert!(preferences[0].contains("\"stop\""));
    let errors = app.store.account_events("messages.errors").await.unwrap();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].contains("130429") && !errors[0].contains("without a code"));

    // Each bad one is a dead letter of its own, with its place, the reason, and itself.
    let items = open_items(&app, &admin).await;
    let places: Vec<&str> = items.iter().map(|i| i["place"].as_str().unwrap()).collect();
    let at = |path: &str| format!("entry[0].changes[1].value.{path}");
    assert_eq!(
        places,
        [
            "entry[0].changes[0]".to_owned(),
            at("contacts[1]"),
            at("messages[1]"),
            at("message_echoes[0]"),
            at("statuses[1]"),
            at("user_preferences[1]"),
            at("errors[1]"),
        ]
    );
    let message = &items[2];
    assert_eq!(
        (
            &message["entry"],
            &message["change"],
            &message["array"],
            &message["index"]
        ),
        (&json!(0), &json!(1), &json!("messages"), &json!(1))
    );
    assert_eq!(message["code"], "unparsed");
    assert_eq!(message["state"], "open");
    assert_eq!(message["item"]["id"], "wamid.NO_TIMESTAMP");
    let reason = message["reason"].as_str().unwrap();
    assert!(
        reason.contains("missing field `timestamp`") && reason.contains("replay this item"),
        "{reason}"
    );
    assert_eq!(items[0]["array"], Value::Null);
    assert_eq!(items[0]["item"]["event"], 5);

    // The body is projected (not a dead letter), and says how many of its items are.
    let journal = app.get_json("/api/v1/webhook-events", &admin).await;
    assert_eq!(journal["data"][0]["state"], "projected");
    assert_eq!(journal["data"][0]["open_item_dead_letters"], 7);
    let dead = app
        .get_json("/api/v1/webhook-events?dead_letters=true", &admin)
        .await;
    assert_eq!(dead["data"].as_array().unwrap().len(), 0);

    // Admins only.
    let agent = app.key(Role::Agent).await;
    let (status, code, _) =
        error_code(app.get("/api/v1/webhook-events/items", Some(&agent)).await).await;
    assert_eq!((status, code.as_str()), (403, "forbidden"));

    // A replay of an item this version still cannot read says so, and applies nothing.
    let id = message["id"].as_i64().unwrap();
    let (status, code, text) = error_code(replay(&app, &admin, id).await).await;
    assert_eq!(
        (status, code.as_str()),
        (409, "item_still_unparsed"),
        "{text}"
    );
    assert!(text.contains("missing field `timestamp`"), "{text}");
    assert_eq!(messages(&app).await, 4);
    assert_eq!(open_items(&app, &admin).await.len(), 7);
    let (status, code, _) = error_code(replay(&app, &admin, 999_999).await).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
}

/// As a version that could not read `messages[1]` left the body: every other item applied, that
/// one an item dead letter. (Today's version reads it: the "fix" is in place.)
async fn projected_by_an_older_version(app: &TestApp) -> i64 {
    let body = envelope(
        json!([{"id": WABA, "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": metadata(app),
            "contacts": [{"profile": {"name": "Sheena"}, "wa_id": CUSTOMER}],
            "messages": [
                text("wamid.READ_ALWAYS", 1_776_003_000, "first"),
                text("wamid.READ_NOW", 1_776_003_001, "second"),
                text("wamid.READ_ALWAYS_TOO", 1_776_003_002, "third")
            ]
        }}]}]),
    );
    assert_eq!(app.post_signed(&body).await.status(), 200);
    let row = app.store.unprojected_webhooks(10).await.unwrap().remove(0);
    let env = switchboard_cloudapi::webhook::Envelope::parse(&row.body).unwrap();
    let fixed = "entry[0].changes[0].value.messages[1]".parse().unwrap();
    let projection = project_items(&env, &ProjectCtx::default());
    let mut ops: Vec<Op> = projection
        .items()
        .filter(|(place, _)| *place != fixed)
        .flat_map(|(_, ops)| ops.to_vec())
        .collect();
    ops.push(Op::Item(ItemOp::DeadLetter(ItemDeadLetter {
        place: fixed,
        code: DeadItemCode::Unparsed,
        reason: "This message does not have the shape this version reads.".into(),
        raw: env.item_json(&fixed).unwrap().to_string(),
    })));
    let entry = Journaled {
        journal_id: row.id,
        dedupe_key: row.dedupe_key,
        ops,
    };
    app.store.apply_projections(&[entry], 1).await.unwrap();
    assert!(
        app.store
            .message_by_wamid("wamid.READ_NOW")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(messages(app).await, 2);
    row.id
}

async fn a_replay_of_a_fixed_item_applies_just_that_item_exactly_once(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.key(Role::Admin).await;
    projected_by_an_older_version(&app).await;
    let items = open_items(&app, &admin).await;
    assert_eq!(items.len(), 1);
    let id = items[0]["id"].as_i64().unwrap();

    let r = replay(&app, &admin, id).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["applied"]["messages_new"], 1);
    assert_eq!(body["dead_letter"]["state"], "resolved");
    assert!(
        body["dead_letter"]["resolved_by"]
            .as_str()
            .unwrap()
            .starts_with("replayed by api_key:")
    );
    let m = app
        .store
        .message_by_wamid("wamid.READ_NOW")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.text.as_deref(), Some("second"));
    assert_eq!(messages(&app).await, 3, "just that item");

    // Once: a second replay applies nothing and says why.
    let (status, code, text) = error_code(replay(&app, &admin, id).await).await;
    assert_eq!(
        (status, code.as_str()),
        (409, "item_dead_letter_resolved"),
        "{text}"
    );
    assert_eq!(messages(&app).await, 3);
    assert!(open_items(&app, &admin).await.is_empty());
    let resolved = app
        .get_json("/api/v1/webhook-events/items?state=resolved", &admin)
        .await;
    assert_eq!(resolved["data"][0]["id"], id);
    let (status, code, _) = error_code(
        app.get("/api/v1/webhook-events/items?state=closed", Some(&admin))
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (422, "invalid_request"));
}

async fn a_body_replayed_whole_applies_its_fixed_items_and_settles_their_dead_letters(
    db: TestDatabase,
) {
    let app = TestApp::spawn(db).await;
    let admin = app.key(Role::Admin).await;
    let journal_id = projected_by_an_older_version(&app).await;
    let r = app
        .post_json(
            "/api/v1/webhook-events/replay",
            &admin,
            &json!({"from_id": journal_id, "to_id": journal_id}),
            &[],
        )
        .await;
    assert_eq!(r.status(), 200);
    // Queued again: the item waits for its body.
    let id = open_items(&app, &admin).await[0]["id"].as_i64().unwrap();
    let (status, code, _) = error_code(replay(&app, &admin, id).await).await;
    assert_eq!((status, code.as_str()), (409, "webhook_pending"));

    let pass = app.projector.drain().await.unwrap();
    assert_eq!((pass.projected, pass.item_dead_letters), (1, 0));
    assert_eq!(messages(&app).await, 3);
    assert!(open_items(&app, &admin).await.is_empty());
    let resolved = app
        .get_json(
            &format!("/api/v1/webhook-events/items?state=all&journal_id={journal_id}"),
            &admin,
        )
        .await;
    assert_eq!(resolved["data"][0]["resolved_by"], SETTLED_BY);
}

/// Makes the database refuse to store the message `wamid.REFUSED` (as it would a value it
/// cannot take), until [`take_it`].
async fn refuse_it(app: &TestApp) {
    app.sql(match app.backend() {
        Backend::Sqlite => {
            "CREATE TRIGGER refuse_message BEFORE INSERT ON messages WHEN NEW.wamid = 'wamid.REFUSED' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
        }
        Backend::Postgres => {
            "CREATE FUNCTION refuse_message() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
               IF NEW.wamid = 'wamid.REFUSED' THEN RAISE EXCEPTION 'refused by the test'; END IF; \
               RETURN NEW; END $$; \
             CREATE TRIGGER refuse_message BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse_message();"
        }
    })
    .await;
}

async fn take_it(app: &TestApp) {
    app.sql(match app.backend() {
        Backend::Sqlite => "DROP TRIGGER refuse_message;",
        Backend::Postgres => "DROP TRIGGER refuse_message ON messages;",
    })
    .await;
}

async fn an_item_the_database_refuses_is_dead_lettered_alone_and_applies_once_it_takes_it(
    db: TestDatabase,
) {
    let app = TestApp::spawn(db).await;
    let admin = app.key(Role::Admin).await;
    refuse_it(&app).await;
    let body = envelope(
        json!([{"id": WABA, "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": metadata(&app),
            "messages": [
                text("wamid.BEFORE", 1_776_004_000, "before"),
                text("wamid.REFUSED", 1_776_004_001, "refused"),
                text("wamid.AFTER", 1_776_004_002, "after")
            ],
            "statuses": [{"id": "wamid.OUT", "status": "sent", "timestamp": "1776004003", "recipient_id": CUSTOMER}]
        }}]}]),
    );
    assert_eq!(app.post_signed(&body).await.status(), 200);
    // A body of its own after it, projected in the same batch.
    app.customer_writes(CUSTOMER, TestApp::text("next body"));
    app.settle().await;

    assert_eq!(
        messages(&app).await,
        3,
        "everything but the refused message"
    );
    assert!(
        app.store
            .message_by_wamid("wamid.REFUSED")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(app.store.statuses_of("wamid.OUT").await.unwrap().len(), 1);
    assert!(
        app.store
            .unfinished_isolations(10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(app.store.unprojected_webhooks(10).await.unwrap().is_empty());
    let items = open_items(&app, &admin).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["place"], "entry[0].changes[0].value.messages[1]");
    assert_eq!(items[0]["code"], "refused");
    assert_eq!(items[0]["item"]["id"], "wamid.REFUSED");
    let reason = items[0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("The database refused this message")
            && reason.contains("refused by the test"),
        "{reason}"
    );

    // Still refused: says so, and stays open.
    let id = items[0]["id"].as_i64().unwrap();
    let (status, code, _) = error_code(replay(&app, &admin, id).await).await;
    assert_eq!((status, code.as_str()), (409, "item_refused"));
    assert_eq!(open_items(&app, &admin).await.len(), 1);

    take_it(&app).await;
    assert_eq!(replay(&app, &admin, id).await.status(), 200);
    assert!(
        app.store
            .message_by_wamid("wamid.REFUSED")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(messages(&app).await, 4);
    assert!(open_items(&app, &admin).await.is_empty());
}

async fn a_body_whose_item_cannot_even_be_kept_is_kept_whole_as_a_dead_letter(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    refuse_it(&app).await;
    // The database takes no item dead letter either.
    app.sql(match app.backend() {
        Backend::Sqlite => {
            "CREATE TRIGGER refuse_letters BEFORE INSERT ON webhook_item_dead_letters \
             BEGIN SELECT RAISE(ABORT, 'no letters'); END;"
        }
        Backend::Postgres => {
            "CREATE FUNCTION refuse_letters() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
               RAISE EXCEPTION 'no letters'; END $$; \
             CREATE TRIGGER refuse_letters BEFORE INSERT ON webhook_item_dead_letters FOR EACH ROW EXECUTE FUNCTION refuse_letters();"
        }
    })
    .await;
    let body = envelope(
        json!([{"id": WABA, "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": metadata(&app),
            "messages": [text("wamid.BEFORE", 1_776_006_000, "before"), text("wamid.REFUSED", 1_776_006_001, "x")]
        }}]}]),
    );
    assert_eq!(app.post_signed(&body).await.status(), 200);
    let pass = app.projector.drain().await.unwrap();
    assert_eq!((pass.projected, pass.dead_letters), (0, 1));
    let admin = app.key(Role::Admin).await;
    let dead = app
        .get_json("/api/v1/webhook-events?dead_letters=true", &admin)
        .await;
    assert_eq!(dead["data"].as_array().unwrap().len(), 1);
    assert!(
        app.store
            .unfinished_isolations(10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn an_isolation_cut_short_is_finished_by_the_next_pass(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let body = envelope(
        json!([{"id": WABA, "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": metadata(&app),
            "messages": [text("wamid.A", 1_776_005_000, "a"), text("wamid.B", 1_776_005_001, "b")]
        }}]}]),
    );
    assert_eq!(app.post_signed(&body).await.status(), 200);
    let row = app.store.unprojected_webhooks(10).await.unwrap().remove(0);
    // As a server that stopped after noting the isolation and applying the first item.
    app.store.begin_isolation(row.id, 1).await.unwrap();
    let env = switchboard_cloudapi::webhook::Envelope::parse(&row.body).unwrap();
    let first = project_items(&env, &ProjectCtx::default())
        .items()
        .next()
        .unwrap()
        .1
        .to_vec();
    let entry = Journaled {
        journal_id: row.id,
        dedupe_key: row.dedupe_key.clone(),
        ops: first,
    };
    app.store.apply_projections(&[entry], 1).await.unwrap();
    assert_eq!(messages(&app).await, 1);
    assert!(app.store.unprojected_webhooks(10).await.unwrap().is_empty());

    let pass = app.projector.run_once(10).await.unwrap();
    assert_eq!(pass.projected, 1);
    assert_eq!(messages(&app).await, 2, "the rest of the body applied");
    assert!(
        app.store
            .unfinished_isolations(10)
            .await
            .unwrap()
            .is_empty()
    );
}

switchboard_store::per_backend!(
    a_body_mixing_good_and_bad_items_of_every_kind_applies_every_good_one_and_dead_letters_each_bad_one_alone,
    a_replay_of_a_fixed_item_applies_just_that_item_exactly_once,
    a_body_replayed_whole_applies_its_fixed_items_and_settles_their_dead_letters,
    an_item_the_database_refuses_is_dead_lettered_alone_and_applies_once_it_takes_it,
    a_body_whose_item_cannot_even_be_kept_is_kept_whole_as_a_dead_letter,
    an_isolation_cut_short_is_finished_by_the_next_pass,
);
