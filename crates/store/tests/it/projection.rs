//! Projection in sets: a batch must leave the database as applying its entries one by one, in
//! order, would (the projector writes a batch's messages, statuses and contacts in a few set
//! statements; tests elsewhere apply bodies one at a time).

use switchboard_store::testing::TestDatabase;
use switchboard_store::{Backend, ContactKey, Journaled, MessageOp, Op, StatusOp, Store};

const NUMBER: &str = "106540352242922";
const NOW: i64 = 1_750_000_100_000;

fn key(wa_id: &str, name: Option<&str>) -> ContactKey {
    ContactKey {
        wa_id: Some(wa_id.into()),
        name: name.map(str::to_owned),
        ..Default::default()
    }
}

fn message(wamid: &str, contact: ContactKey, inbound: bool, at_s: i64) -> Op {
    Op::Message(Box::new(MessageOp {
        phone_number_id: NUMBER.into(),
        contact,
        wamid: wamid.into(),
        inbound,
        kind: "text".into(),
        text: Some(format!("text of {wamid}")),
        payload: "{}".into(),
        meta_at_ms: at_s * 1000,
        free_entry_point_until_ms: None,
        media: None,
    }))
}

fn status(wamid: &str, status: &str, rank: i64, at_s: i64) -> Op {
    Op::Status(StatusOp {
        wamid: wamid.into(),
        status: status.into(),
        rank,
        meta_at_ms: at_s * 1000,
        pricing: None,
        errors: None,
        error_code: (status == "failed").then_some(131_026),
        payload: "{}".into(),
    })
}

/// A batch with what makes sets hard: a copy of a body inside the batch, one customer writing
/// twice under a new name, a number that never wrote before, statuses before their message (an
/// echo) and out of order, a status of a message we never see, a replayed message.
fn entries() -> Vec<Journaled> {
    let e = |id: i64, body: &str, ops: Vec<Op>| Journaled {
        journal_id: id,
        dedupe_key: format!("body-{body}"),
        ops,
    };
    vec![
        e(
            1,
            "a",
            vec![message(
                "in.1",
                key("4915100000001", Some("Ann")),
                true,
                100,
            )],
        ),
        e(
            2,
            "a",
            vec![message(
                "in.1",
                key("4915100000001", Some("Ann")),
                true,
                100,
            )],
        ),
        e(
            3,
            "b",
            vec![
                message("in.2", key("4915100000001", Some("Anna")), true, 130),
                message("in.3", key("4915100000002", Some("Bo")), true, 120),
            ],
        ),
        e(
            4,
            "c",
            vec![
                status("out.1", "read", 3, 150),
                status("out.1", "delivered", 2, 140),
            ],
        ),
        e(
            5,
            "d",
            vec![message("out.1", key("4915100000002", None), false, 135)],
        ),
        e(
            6,
            "e",
            vec![
                status("out.1", "sent", 1, 136),
                status("out.2", "failed", 10, 160),
                status("out.1", "read", 3, 150),
            ],
        ),
        e(
            7,
            "f",
            vec![message(
                "in.2",
                key("4915100000001", Some("Anna")),
                true,
                130,
            )],
        ),
    ]
}

type Snapshot = (
    (i64, i64, i64, i64),
    Vec<(Option<String>, Option<String>)>,
    Vec<(String, i64, Option<i64>, i64, String)>,
    Vec<(String, Option<String>, Option<i64>)>,
);

async fn snapshot(store: &Store) -> Snapshot {
    let counts = store.inbound_counts().await.unwrap();
    let mut contacts = Vec::new();
    let mut conversations = Vec::new();
    for wa in ["4915100000001", "4915100000002"] {
        let c = store.contact_by_wa_id(wa).await.unwrap().expect("contact");
        contacts.push((c.wa_id.clone(), c.name.clone()));
    }
    let mut messages = Vec::new();
    for wamid in ["in.1", "in.2", "in.3", "out.1", "out.2"] {
        if let Some(m) = store.message_by_wamid(wamid).await.unwrap() {
            let conv = store.conversation(m.conversation_id).await.unwrap();
            conversations.push((
                conv.status,
                conv.unread_count,
                conv.last_inbound_at_ms,
                conv.last_message_at_ms,
                conv.contact_wa_id.unwrap_or_default(),
            ));
            messages.push((m.wamid, m.status, m.error_code));
        }
    }
    (counts, contacts, conversations, messages)
}

async fn another(db: &TestDatabase) -> TestDatabase {
    match db.backend {
        Backend::Sqlite => switchboard_store::testing::sqlite(),
        Backend::Postgres => switchboard_store::testing::postgres().await,
    }
}

async fn a_batch_leaves_what_one_entry_at_a_time_leaves(db: TestDatabase) {
    let batched = db.store().await;
    let other = another(&db).await;
    let one_by_one = other.store().await;

    let sum = batched.apply_projections(&entries(), NOW).await.unwrap();
    let mut duplicates = 0;
    for e in entries() {
        duplicates += one_by_one
            .apply_projections(std::slice::from_ref(&e), NOW)
            .await
            .unwrap()
            .duplicates;
    }
    let expected = snapshot(&one_by_one).await;
    assert_eq!(snapshot(&batched).await, expected, "{:?}", db.backend);
    assert_eq!((sum.duplicates, duplicates), (1, 1));
    assert_eq!(sum.messages_new, 4, "{sum:?}");
    assert_eq!(sum.messages_seen, 1, "{sum:?}");
    assert_eq!(sum.statuses_new, 4, "{sum:?}");
    assert_eq!(sum.statuses_seen, 1, "{sum:?}");

    // What one at a time leaves, spelled out: one contact per customer, under the newest name;
    // Ann's two messages unread in one conversation; out.1 read although `sent` came last;
    // out.2 never seen, its status parked.
    let (counts, contacts, _, messages) = expected;
    assert_eq!(counts, (4, 4, 2, 2), "{:?}", db.backend);
    assert_eq!(contacts[0].1.as_deref(), Some("Anna"));
    assert_eq!(contacts[1].1.as_deref(), Some("Bo"));
    let out1 = messages.iter().find(|m| m.0 == "out.1").unwrap();
    assert_eq!(out1.1.as_deref(), Some("read"));
    let ann = batched
        .conversation(
            batched
                .message_by_wamid("in.2")
                .await
                .unwrap()
                .unwrap()
                .conversation_id,
        )
        .await
        .unwrap();
    assert_eq!(ann.unread_count, 2);
    assert_eq!(ann.last_inbound_at_ms, Some(130_000));

    // A replay of the whole batch changes nothing.
    let again = batched
        .apply_projections(&entries(), NOW + 1)
        .await
        .unwrap();
    assert_eq!(
        (again.messages_new, again.statuses_new),
        (0, 0),
        "{again:?}"
    );
    assert_eq!(snapshot(&batched).await.0, counts);
    let _ = other;
}

switchboard_store::per_backend!(a_batch_leaves_what_one_entry_at_a_time_leaves);
