//! The outbox in the store: a send is queued, claimed and accepted; a status Meta sent before
//! we recorded the acceptance (parked) is applied when the message appears, the same way
//! projection applies one that came before its echo (`statuses.rs`); consent is looked at again
//! when a message is claimed; a new sender puts back what a stopped one left in flight, and a
//! late answer to an old attempt changes nothing; a check stores nothing; an idempotency key
//! answers a retry with the first row.

use switchboard_cloudapi::send::SendRequest;
use switchboard_domain::UnixMs;
use switchboard_domain::outbox::OutboxState;
use switchboard_domain::policy::Decision;
use switchboard_domain::policy::WhenOverBudget;
use switchboard_store::testing::TestDatabase;
use switchboard_store::{
    ContactKey, MessageOp, NewSend, Op, Outcome, PolicyLimits, StatusOp, Store, Submitted,
};

const NUMBER: &str = "106540352242922";
const CUSTOMER: &str = "16505551234";

fn customer() -> ContactKey {
    ContactKey {
        wa_id: Some(CUSTOMER.into()),
        ..Default::default()
    }
}

const WABA: &str = "102290129340398";

/// A send of Meta's request body `body` (the `type` and its object) to the customer.
fn send(body: &str) -> NewSend {
    let request = format!(r#"{{"messaging_product":"whatsapp","to":"+{CUSTOMER}",{body}}}"#);
    NewSend {
        phone_number_id: NUMBER.into(),
        waba_id: WABA.into(),
        contact: customer(),
        recipient: format!("+{CUSTOMER}"),
        content: serde_json::from_str::<SendRequest>(&request)
            .unwrap()
            .content,
        request,
        lane: None,
        over_budget: WhenOverBudget::Hold,
        idempotency_key: None,
        request_hash: body.into(),
        created_by: None,
        campaign_id: None,
        not_before_ms: None,
        park: false,
    }
}

fn text(body: &str) -> NewSend {
    send(&format!(r#""type":"text","text":{{"body":"{body}"}}"#))
}

fn promo() -> NewSend {
    send(r#""type":"template","template":{"name":"promo","language":{"code":"en"}}"#)
}

/// The customer writes to the number at `at` (opening the service window).
async fn customer_wrote(store: &Store, seq: i64, at: i64) {
    store
        .apply_projection(
            seq,
            &[Op::Message(Box::new(MessageOp {
                phone_number_id: NUMBER.into(),
                contact: customer(),
                wamid: format!("wamid.IN{seq}"),
                inbound: true,
                kind: "text".into(),
                text: Some("hello".into()),
                payload: "{}".into(),
                meta_at_ms: at,
                free_entry_point_until_ms: None,
                media: None,
            }))],
            at,
        )
        .await
        .unwrap();
}

/// An approved marketing template `promo`, and the customer's opt-in to marketing.
async fn marketing_allowed(store: &Store, now: i64) {
    store
        .sync_templates(
            WABA,
            &[serde_json::json!({
                "id": "1", "name": "promo", "language": "en", "category": "MARKETING",
                "status": "APPROVED", "components": [{"type": "BODY", "text": "Sale today"}]
            })],
            now,
        )
        .await
        .unwrap();
    let contact = store.contact_id_by_wa_id(CUSTOMER).await.unwrap().unwrap();
    store
        .record_consent(
            contact,
            None,
            "marketing",
            "opt_in",
            "test",
            None,
            None,
            now,
        )
        .await
        .unwrap();
}

async fn submit(store: &Store, sends: &[NewSend], now: UnixMs) -> Vec<Submitted> {
    store
        .submit_sends(sends, PolicyLimits::default(), now)
        .await
        .unwrap()
}

fn queued(out: &[Submitted]) -> i64 {
    match &out[0] {
        Submitted::New(row) => {
            assert_eq!(row.state, OutboxState::Queued, "{row:?}");
            row.id
        }
        other => panic!("queued: {other:?}"),
    }
}

async fn an_opt_out_after_queueing_stops_the_message_when_it_is_claimed(db: TestDatabase) {
    let store = db.store().await;
    let now = UnixMs::now();
    customer_wrote(&store, 1, now.0 - 60_000).await;
    marketing_allowed(&store, now.0 - 30_000).await;
    // Inside the window a marketing template is not business-initiated for the messaging
    // limit, but consent still governs it.
    let promo_id = queued(&submit(&store, &[promo()], now).await);
    let reply_id = queued(&submit(&store, &[text("your order")], now).await);
    let contact = store.contact_id_by_wa_id(CUSTOMER).await.unwrap().unwrap();
    store
        .record_consent(
            contact,
            None,
            "all",
            "opt_out",
            "keyword",
            Some("STOP"),
            None,
            now.0 + 1,
        )
        .await
        .unwrap();
    let claimed = store.claim_outbound(NUMBER, now.0 + 2, 10).await.unwrap();
    // The reply to the customer's own message still goes; the promotion does not.
    assert_eq!(
        claimed.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![reply_id]
    );
    let promo_row = store.outbound(promo_id).await.unwrap();
    assert_eq!(promo_row.state, OutboxState::Refused);
    assert!(promo_row.error_message.unwrap().contains("opted out"));
    let history = store.outbound_history(promo_id).await.unwrap();
    assert_eq!(
        history.iter().map(|h| h.state.as_str()).collect::<Vec<_>>(),
        vec!["queued", "refused"]
    );
}

async fn meta_marketing_stop_after_queueing_stops_a_campaign_message(db: TestDatabase) {
    let store = db.store().await;
    let now = UnixMs::now();
    customer_wrote(&store, 1, now.0 - 60_000).await;
    marketing_allowed(&store, now.0 - 30_000).await;
    let id = queued(&submit(&store, &[promo()], now).await);
    // Meta's `user_preferences` stop, after the message was queued.
    store
        .apply_projection(
            2,
            &[Op::MarketingPreference {
                phone_number_id: NUMBER.into(),
                contact: customer(),
                value: "stop".into(),
                meta_at_ms: now.0 + 1,
            }],
            now.0 + 1,
        )
        .await
        .unwrap();
    assert!(
        store
            .claim_outbound(NUMBER, now.0 + 2, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.outbound(id).await.unwrap().state,
        OutboxState::Refused
    );
}

async fn a_new_sender_requeues_what_a_stopped_one_left_in_flight(db: TestDatabase) {
    let store = db.store().await;
    let now = UnixMs::now().0;
    customer_wrote(&store, 1, now - 60_000).await;
    let id = queued(&submit(&store, &[text("one")], UnixMs(now)).await);
    let a = store
        .lease_sender(NUMBER, "a", now, now + 1_000)
        .await
        .unwrap();
    assert!(a.held);
    let first = store.claim_outbound(NUMBER, now, 10).await.unwrap();
    assert_eq!((first.len(), first[0].attempts), (1, 1));
    // While "a" holds the lease, "b" cannot take it; once it has run out, "b" can.
    assert!(
        !store
            .lease_sender(NUMBER, "b", now + 500, now + 1_500)
            .await
            .unwrap()
            .held
    );
    assert!(
        store
            .lease_sender(NUMBER, "b", now + 2_000, now + 3_000)
            .await
            .unwrap()
            .held
    );
    let row = store.outbound(id).await.unwrap();
    assert_eq!((row.state, row.ambiguous), (OutboxState::Queued, true));
    assert_eq!(store.outbound_requeued_count(NUMBER).await.unwrap(), 1);
    // "a"'s late answer is for an attempt nobody is waiting for.
    store
        .record_outcomes(
            &[Outcome::Accepted {
                id,
                attempt: 1,
                wamid: "wamid.LATE".into(),
            }],
            now + 2_100,
        )
        .await
        .unwrap();
    assert_eq!(store.outbound(id).await.unwrap().state, OutboxState::Queued);
    let second = store.claim_outbound(NUMBER, now + 2_200, 10).await.unwrap();
    assert_eq!((second[0].attempts, second[0].ambiguous), (2, true));
    store
        .record_outcomes(
            &[Outcome::Accepted {
                id,
                attempt: 2,
                wamid: "wamid.OK".into(),
            }],
            now + 2_300,
        )
        .await
        .unwrap();
    let row = store.outbound(id).await.unwrap();
    assert_eq!(
        (row.state, row.wamid.as_deref()),
        (OutboxState::Accepted, Some("wamid.OK"))
    );
}

async fn a_check_stores_nothing_and_a_key_answers_a_retry(db: TestDatabase) {
    let store = db.store().await;
    let now = UnixMs::now();
    // Nobody wrote: a free-form text is refused, and without a key nothing is kept.
    let decisions = store
        .check_sends(&[text("hi")], PolicyLimits::default(), now)
        .await
        .unwrap();
    assert!(
        matches!(&decisions[0], Decision::Refuse(r) if r.code == "window_closed"),
        "{decisions:?}"
    );
    assert_eq!(
        store.contact_id_by_wa_id(CUSTOMER).await.unwrap(),
        None,
        "a check made no contact"
    );
    assert!(matches!(
        &submit(&store, &[text("hi")], now).await[0],
        Submitted::Refused(_)
    ));
    assert!(
        store.outbound_counts(NUMBER).await.unwrap().is_empty(),
        "a refusal without a key keeps no row"
    );
    customer_wrote(&store, 1, now.0 - 1_000).await;
    let decisions = store
        .check_sends(&[text("hi")], PolicyLimits::default(), now)
        .await
        .unwrap();
    assert_eq!(
        decisions,
        vec![Decision::Allow {
            business_initiated: false
        }]
    );
    assert!(
        store.outbound_counts(NUMBER).await.unwrap().is_empty(),
        "a check queues nothing"
    );
    // With a key: the first request queues, a retry gets the same row, another body is refused.
    let mut keyed = text("hi");
    keyed.idempotency_key = Some("k1".into());
    let id = queued(&submit(&store, std::slice::from_ref(&keyed), now).await);
    match &submit(&store, std::slice::from_ref(&keyed), now).await[0] {
        Submitted::Replayed(row) => assert_eq!(row.id, id),
        other => panic!("replayed: {other:?}"),
    }
    let mut other = text("something else");
    other.idempotency_key = Some("k1".into());
    assert_eq!(submit(&store, &[other], now).await[0], Submitted::KeyReused);
    assert_eq!(
        store.outbound_counts(NUMBER).await.unwrap().get("queued"),
        Some(&1)
    );
}

async fn sends_to_a_parent_bsuid_share_one_contact(db: TestDatabase) {
    let store = db.store().await;
    let now = UnixMs::now();
    let mut to_parent = promo();
    to_parent.contact = ContactKey {
        parent_bsuid: Some("US.ENT.11815799212886844830".into()),
        ..Default::default()
    };
    for i in 0..3 {
        store
            .check_sends(
                std::slice::from_ref(&to_parent),
                PolicyLimits::default(),
                now,
            )
            .await
            .unwrap();
        let mut kept = to_parent.clone();
        // Refused (no such template), but kept: the key remembers it.
        kept.idempotency_key = Some(format!("k{i}"));
        submit(&store, &[kept], now).await;
    }
    let (_, _, contacts, _) = store.inbound_counts().await.unwrap();
    assert_eq!(contacts, 1);
}

async fn a_chunk_of_sends_is_decided_in_order_as_one_at_a_time_would(db: TestDatabase) {
    let store = db.store().await;
    let now = UnixMs::now();
    customer_wrote(&store, 1, now.0 - 60_000).await;
    marketing_allowed(&store, now.0 - 30_000).await;
    let to = |wa_id: &str, mut s: NewSend| {
        s.contact = ContactKey {
            wa_id: Some(wa_id.into()),
            ..Default::default()
        };
        s.recipient = format!("+{wa_id}");
        s
    };
    // One call: a promotion, a second promotion to the same customer (over a cap of one), a
    // text to a customer who never wrote (refused, no row), and a promotion to a new customer
    // (no marketing opt-in: refused).
    let sends = [
        promo(),
        promo(),
        to("16505550002", text("hi")),
        to("16505550003", promo()),
    ];
    let limits = PolicyLimits {
        marketing_cap: Some(1),
        ..PolicyLimits::default()
    };
    let out = store.submit_sends(&sends, limits, now).await.unwrap();
    assert_eq!(out.len(), 4);
    let first = queued(&out[..1]);
    let refusal = |o: &Submitted| match o {
        Submitted::Refused(Decision::Refuse(r)) => r.code,
        other => panic!("refused: {other:?}"),
    };
    assert_eq!(refusal(&out[1]), "marketing_cap_reached");
    assert_eq!(refusal(&out[2]), "window_closed");
    assert_eq!(refusal(&out[3]), "no_marketing_consent");
    assert_eq!(
        store.outbound_counts(NUMBER).await.unwrap().get("queued"),
        Some(&1)
    );
    let row = store.outbound(first).await.unwrap();
    assert_eq!((row.category.as_deref(), row.lane), (Some("MARKETING"), 2));
    // The chunk made the contacts it needed, once each; a later call finds them.
    let (_, _, contacts, _) = store.inbound_counts().await.unwrap();
    assert_eq!(contacts, 3);
    store
        .submit_sends(&[to("16505550003", promo())], limits, now)
        .await
        .unwrap();
    let (_, _, contacts, _) = store.inbound_counts().await.unwrap();
    assert_eq!(contacts, 3);
}

fn status(wamid: &str, status: &str, rank: i64, at: i64) -> Op {
    Op::Status(StatusOp {
        wamid: wamid.into(),
        status: status.into(),
        rank,
        meta_at_ms: at,
        pricing: None,
        errors: None,
        error_code: None,
        payload: "{}".into(),
    })
}

async fn a_status_that_came_before_the_acceptance_is_applied_when_it_is_recorded(db: TestDatabase) {
    let store = db.store().await;
    let now = UnixMs::now();
    // The customer wrote: the window is open, so a text may go.
    customer_wrote(&store, 1, now.0 - 60_000).await;
    queued(&submit(&store, &[text("on its way")], now).await);
    // The send found the contact the customer's message made (one resolver, `contacts.rs`).
    let (_, _, contacts, conversations) = store.inbound_counts().await.unwrap();
    assert_eq!((contacts, conversations), (1, 1));
    let claimed = store.claim_outbound(NUMBER, now.0, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);

    // Meta answered, and its webhooks came first: `delivered` and, late and out of order,
    // `sent` are parked, since no message has the wamid yet.
    store
        .apply_projection(
            2,
            &[
                status("wamid.OUT1", "delivered", 2, now.0 + 2_000),
                status("wamid.OUT1", "sent", 1, now.0 + 1_000),
            ],
            now.0,
        )
        .await
        .unwrap();
    assert!(
        store
            .message_by_wamid("wamid.OUT1")
            .await
            .unwrap()
            .is_none()
    );
    store
        .record_outcomes(
            &[Outcome::Accepted {
                id: claimed[0].id,
                attempt: claimed[0].attempts,
                wamid: "wamid.OUT1".into(),
            }],
            now.0 + 3_000,
        )
        .await
        .unwrap();
    let message = store
        .message_by_wamid("wamid.OUT1")
        .await
        .unwrap()
        .expect("the accepted send is a message");
    assert_eq!(
        (message.status.as_deref(), message.status_at_ms),
        (Some("delivered"), Some(now.0 + 2_000)),
        "the best parked status, not the last one to arrive"
    );
    // And from there only forward: a replayed `sent` changes nothing; `read` does.
    store
        .apply_projection(3, &[status("wamid.OUT1", "sent", 1, now.0 + 1_000)], now.0)
        .await
        .unwrap();
    store
        .apply_projection(4, &[status("wamid.OUT1", "read", 3, now.0 + 4_000)], now.0)
        .await
        .unwrap();
    let message = store.message_by_wamid("wamid.OUT1").await.unwrap().unwrap();
    assert_eq!(message.status.as_deref(), Some("read"));
}

switchboard_store::per_backend!(
    a_status_that_came_before_the_acceptance_is_applied_when_it_is_recorded,
    an_opt_out_after_queueing_stops_the_message_when_it_is_claimed,
    meta_marketing_stop_after_queueing_stops_a_campaign_message,
    a_new_sender_requeues_what_a_stopped_one_left_in_flight,
    a_check_stores_nothing_and_a_key_answers_a_retry,
    sends_to_a_parent_bsuid_share_one_contact,
    a_chunk_of_sends_is_decided_in_order_as_one_at_a_time_would,
);
