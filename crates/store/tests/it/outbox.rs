//! The outbox in the store: a send is queued, claimed and accepted; a status Meta sent before
//! we recorded the acceptance (parked) is applied when the message appears, the same way
//! projection applies one that came before its echo (`statuses.rs`).

use switchboard_cloudapi::send::SendRequest;
use switchboard_domain::UnixMs;
use switchboard_domain::policy::WhenOverBudget;
use switchboard_store::testing::TestDatabase;
use switchboard_store::{
    ContactKey, MessageOp, NewSend, Op, Outcome, PolicyLimits, StatusOp, Submitted,
};

const NUMBER: &str = "106540352242922";
const CUSTOMER: &str = "16505551234";

fn customer() -> ContactKey {
    ContactKey {
        wa_id: Some(CUSTOMER.into()),
        ..Default::default()
    }
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
    store
        .apply_projection(
            1,
            &[Op::Message(Box::new(MessageOp {
                phone_number_id: NUMBER.into(),
                contact: customer(),
                wamid: "wamid.IN1".into(),
                inbound: true,
                kind: "text".into(),
                text: Some("hello".into()),
                payload: "{}".into(),
                meta_at_ms: now.0 - 60_000,
                free_entry_point_until_ms: None,
                media: None,
            }))],
            now.0,
        )
        .await
        .unwrap();
    let request = format!(
        r#"{{"messaging_product":"whatsapp","to":"+{CUSTOMER}","type":"text","text":{{"body":"on its way"}}}}"#
    );
    let send = NewSend {
        phone_number_id: NUMBER.into(),
        waba_id: "102290129340398".into(),
        contact: customer(),
        recipient: format!("+{CUSTOMER}"),
        content: serde_json::from_str::<SendRequest>(&request)
            .unwrap()
            .content,
        request: request.clone(),
        lane: None,
        over_budget: WhenOverBudget::Hold,
        idempotency_key: None,
        request_hash: "h".into(),
        created_by: None,
        campaign_id: None,
        not_before_ms: None,
        park: false,
    };
    let submitted = store
        .submit_sends(&[send], PolicyLimits::default(), now, false)
        .await
        .unwrap();
    let Submitted::New(row) = &submitted[0] else {
        panic!("queued: {submitted:?}");
    };
    assert_eq!(row.state, "queued", "{row:?}");
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
    a_status_that_came_before_the_acceptance_is_applied_when_it_is_recorded
);
