//! Item dead letters in the store: an item of a body kept on its own in the transaction that
//! applies the rest, kept again (and reopened) by a later projection of the body, resolved by a
//! replay of the item, settled when the body applies whole again; a contact's profile applied
//! on its own; the notes that an isolation is under way.

use switchboard_cloudapi::webhook::{ItemArray, ItemPlace};
use switchboard_store::testing::TestDatabase;
use switchboard_store::{
    ContactKey, DeadItemCode, ItemDeadLetter, ItemDeadLetterQuery, ItemOp, MessageOp, Op,
    SETTLED_BY, Store,
};

const NUMBER: &str = "106540352242922";

fn message(wamid: &str) -> Op {
    Op::Message(Box::new(MessageOp {
        phone_number_id: NUMBER.into(),
        contact: ContactKey {
            wa_id: Some("16505551234".into()),
            ..Default::default()
        },
        wamid: wamid.into(),
        inbound: true,
        kind: "text".into(),
        text: Some("hello".into()),
        payload: "{}".into(),
        meta_at_ms: 1_000,
        free_entry_point_until_ms: None,
        media: None,
    }))
}

fn place(index: usize) -> ItemPlace {
    ItemPlace::item(0, 0, ItemArray::Messages, index)
}

fn dead(index: usize, reason: &str) -> Op {
    Op::Item(ItemOp::DeadLetter(ItemDeadLetter {
        place: place(index),
        code: DeadItemCode::Unparsed,
        reason: reason.into(),
        raw: format!(r#"{{"id":"wamid.BAD{index}"}}"#),
    }))
}

fn query(open: Option<bool>) -> ItemDeadLetterQuery {
    ItemDeadLetterQuery {
        open,
        limit: 50,
        ..Default::default()
    }
}

async fn messages(store: &Store) -> i64 {
    store.inbound_counts().await.unwrap().0
}

async fn a_bad_item_is_kept_beside_the_rest_of_its_body_and_kept_once_however_often_projected(
    db: TestDatabase,
) {
    let store = db.store().await;
    let ops = [message("wamid.GOOD"), dead(1, "missing field `timestamp`")];
    store.apply_projection(7, &ops, 100).await.unwrap();
    assert_eq!(messages(&store).await, 1, "the good item applied");
    let open = store.item_dead_letters(query(Some(true))).await.unwrap();
    assert_eq!(open.len(), 1);
    let letter = &open[0];
    assert_eq!(
        (letter.journal_id, letter.place, letter.code),
        (7, place(1), DeadItemCode::Unparsed)
    );
    assert_eq!(letter.raw, r#"{"id":"wamid.BAD1"}"#);
    assert_eq!((letter.created_at_ms, letter.resolved_at_ms), (100, None));

    // Projected again (a crash before the journal was marked, a replay): still one, with what
    // is wrong now.
    let again = [message("wamid.GOOD"), dead(1, "another reason")];
    store.apply_projection(7, &again, 200).await.unwrap();
    let all = store.item_dead_letters(query(None)).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].id, letter.id);
    assert_eq!(
        (
            all[0].reason.as_str(),
            all[0].created_at_ms,
            all[0].updated_at_ms
        ),
        ("another reason", 100, 200)
    );
    assert_eq!(messages(&store).await, 1);
    let counts = store.open_item_dead_letter_counts(&[6, 7]).await.unwrap();
    assert_eq!(counts.into_iter().collect::<Vec<_>>(), [(7, 1)]);
}

async fn a_replayed_item_resolves_its_dead_letter_once_and_a_failure_again_reopens_it(
    db: TestDatabase,
) {
    let store = db.store().await;
    store
        .apply_projection(3, &[dead(0, "bad")], 100)
        .await
        .unwrap();
    let resolve = |by: &str| {
        Op::Item(ItemOp::Resolve {
            place: place(0),
            by: by.into(),
        })
    };
    // The item's own ops and the resolution, in one transaction.
    let replay = [message("wamid.FIXED"), resolve("replayed by user:1")];
    store.apply_projection(3, &replay, 200).await.unwrap();
    assert_eq!(messages(&store).await, 1);
    assert!(
        store
            .item_dead_letters(query(Some(true)))
            .await
            .unwrap()
            .is_empty()
    );
    let resolved = store.item_dead_letters(query(Some(false))).await.unwrap();
    assert_eq!(resolved[0].resolved_at_ms, Some(200));
    assert_eq!(
        resolved[0].resolved_by.as_deref(),
        Some("replayed by user:1")
    );
    // Resolved already: a second resolution changes nothing.
    store
        .apply_projection(3, &[resolve("someone else")], 300)
        .await
        .unwrap();
    let resolved = store.item_dead_letter(resolved[0].id).await.unwrap();
    assert_eq!(resolved.resolved_at_ms, Some(200));
    assert_eq!(resolved.resolved_by.as_deref(), Some("replayed by user:1"));
    // Another place of the row is not touched by it.
    store
        .apply_projection(3, &[dead(1, "bad too")], 300)
        .await
        .unwrap();
    store
        .apply_projection(3, &[resolve("x")], 400)
        .await
        .unwrap();
    assert_eq!(
        store
            .item_dead_letters(query(Some(true)))
            .await
            .unwrap()
            .len(),
        1
    );
    // Kept again later (an older version replayed the body): open again.
    store
        .apply_projection(3, &[dead(0, "bad again")], 500)
        .await
        .unwrap();
    let open = store.item_dead_letters(query(Some(true))).await.unwrap();
    assert_eq!(open.len(), 2);
    assert!(open.iter().all(|l| l.resolved_by.is_none()));
}

async fn a_body_applied_whole_again_settles_its_dead_letters_but_those_it_keeps(db: TestDatabase) {
    let store = db.store().await;
    let ops = [dead(0, "a"), dead(1, "b"), dead(2, "c")];
    store.apply_projection(5, &ops, 100).await.unwrap();
    store
        .apply_projection(6, &[dead(0, "other row")], 100)
        .await
        .unwrap();
    assert_eq!(
        store
            .journal_rows_with_open_items(1, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(store.journal_rows_with_open_items(6, 6).await.unwrap(), [6]);
    // Projected again: items 0 and 2 parse now, item 1 still does not.
    let again = [
        message("wamid.0"),
        dead(1, "b"),
        message("wamid.2"),
        Op::Item(ItemOp::Settle {
            kept: vec![place(1)],
        }),
    ];
    store.apply_projection(5, &again, 200).await.unwrap();
    let row5 = ItemDeadLetterQuery {
        journal_id: Some(5),
        ..query(None)
    };
    let letters = store.item_dead_letters(row5).await.unwrap();
    let states: Vec<(String, Option<&str>)> = letters
        .iter()
        .map(|l| (l.place.to_string(), l.resolved_by.as_deref()))
        .collect();
    let at = |i: usize| place(i).to_string();
    assert_eq!(
        states,
        [
            (at(2), Some(SETTLED_BY)),
            (at(1), None),
            (at(0), Some(SETTLED_BY))
        ]
    );
    // Nothing kept: all settle; another row's are not touched.
    let settle_all = [Op::Item(ItemOp::Settle { kept: vec![] })];
    store.apply_projection(5, &settle_all, 300).await.unwrap();
    assert_eq!(
        store.journal_rows_with_open_items(1, 10).await.unwrap(),
        [6]
    );
}

async fn a_contacts_profile_applies_on_its_own_and_one_that_names_nobody_does_nothing(
    db: TestDatabase,
) {
    let store = db.store().await;
    store
        .apply_projection(1, &[message("wamid.1")], 100)
        .await
        .unwrap();
    let profile = ContactKey {
        wa_id: Some("16505551234".into()),
        name: Some("Sheena".into()),
        ..Default::default()
    };
    let nobody = ContactKey {
        name: Some("Nobody".into()),
        ..Default::default()
    };
    let ops = [
        Op::Item(ItemOp::Contact(profile)),
        Op::Item(ItemOp::Contact(nobody)),
    ];
    store.apply_projection(1, &ops, 200).await.unwrap();
    let contact = store
        .contact_by_wa_id("16505551234")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(contact.name.as_deref(), Some("Sheena"));
    assert_eq!(
        store.inbound_counts().await.unwrap().2,
        1,
        "no contact for nobody"
    );
}

async fn an_isolation_under_way_is_noted_once_until_it_ends(db: TestDatabase) {
    let store = db.store().await;
    assert!(store.unfinished_isolations(10).await.unwrap().is_empty());
    store.begin_isolation(9, 100).await.unwrap();
    store.begin_isolation(4, 100).await.unwrap();
    store.begin_isolation(9, 200).await.unwrap();
    assert_eq!(store.unfinished_isolations(10).await.unwrap(), [4, 9]);
    store.end_isolation(4).await.unwrap();
    assert_eq!(store.unfinished_isolations(10).await.unwrap(), [9]);
}

async fn item_dead_letters_page_newest_first(db: TestDatabase) {
    let store = db.store().await;
    for i in 0..5 {
        store
            .apply_projection(10 + i as i64, &[dead(i, "x")], 100)
            .await
            .unwrap();
    }
    let page = ItemDeadLetterQuery {
        limit: 2,
        ..query(Some(true))
    };
    let first = store.item_dead_letters(page).await.unwrap();
    let journal: Vec<i64> = first.iter().map(|l| l.journal_id).collect();
    assert_eq!(journal, [14, 13]);
    let next = ItemDeadLetterQuery {
        before_id: Some(first[1].id),
        ..page
    };
    let second = store.item_dead_letters(next).await.unwrap();
    let journal: Vec<i64> = second.iter().map(|l| l.journal_id).collect();
    assert_eq!(journal, [12, 11]);
}

switchboard_store::per_backend!(
    a_bad_item_is_kept_beside_the_rest_of_its_body_and_kept_once_however_often_projected,
    a_replayed_item_resolves_its_dead_letter_once_and_a_failure_again_reopens_it,
    a_body_applied_whole_again_settles_its_dead_letters_but_those_it_keeps,
    a_contacts_profile_applies_on_its_own_and_one_that_names_nobody_does_nothing,
    an_isolation_under_way_is_noted_once_until_it_ends,
    item_dead_letters_page_newest_first,
);
