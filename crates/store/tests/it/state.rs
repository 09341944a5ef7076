use switchboard_store::Op;
use switchboard_store::testing::TestDatabase;

fn template(status: Option<&str>, category: Option<&str>, quality: Option<&str>, at_ms: i64) -> Op {
    Op::TemplateState {
        waba_id: "1".into(),
        name: "order_shipped".into(),
        language: "en_US".into(),
        template_id: Some("99".into()),
        status: status.map(str::to_owned),
        category: category.map(str::to_owned),
        quality: quality.map(str::to_owned),
        reason: status
            .filter(|s| *s == "REJECTED")
            .map(|_| "INVALID_FORMAT".to_owned()),
        at_ms,
    }
}

fn number(quality: Option<&str>, restricted: Option<bool>, at_ms: i64) -> Op {
    Op::NumberState {
        key: "106540352242922".into(),
        display: None,
        quality: quality.map(str::to_owned),
        messaging_limit: None,
        restricted,
        at_ms,
    }
}

async fn each_field_keeps_the_newest_value_whatever_the_arrival_order(db: TestDatabase) {
    let store = db.store().await;
    let state = || async {
        store
            .template_state("1", "order_shipped", "en_US")
            .await
            .unwrap()
            .unwrap()
    };
    store
        .apply_projection(
            1,
            &[template(Some("PENDING"), Some("UTILITY"), None, 100)],
            0,
        )
        .await
        .unwrap();
    store
        .apply_projection(2, &[template(None, Some("MARKETING"), None, 150)], 0)
        .await
        .unwrap();
    // The review result (t=120) arrives after the newer category change (t=150): still applied.
    store
        .apply_projection(3, &[template(Some("REJECTED"), None, None, 120)], 0)
        .await
        .unwrap();
    let s = state().await;
    assert_eq!(
        (s.0.as_deref(), s.1.as_deref(), s.3.as_deref()),
        (Some("REJECTED"), Some("MARKETING"), Some("INVALID_FORMAT")),
        "{:?}",
        db.backend
    );
    // An older status (t=110) arriving late changes nothing; an older category neither.
    store
        .apply_projection(
            4,
            &[template(Some("APPROVED"), Some("UTILITY"), None, 110)],
            0,
        )
        .await
        .unwrap();
    let s = state().await;
    assert_eq!(
        (s.0.as_deref(), s.1.as_deref()),
        (Some("REJECTED"), Some("MARKETING"))
    );
    store
        .apply_projection(5, &[template(None, None, Some("GREEN"), 90)], 0)
        .await
        .unwrap();
    assert_eq!(
        state().await.2.as_deref(),
        Some("GREEN"),
        "the first quality is taken even if older than other fields"
    );

    store
        .apply_projection(6, &[number(Some("RED"), None, 200)], 0)
        .await
        .unwrap();
    store
        .apply_projection(7, &[number(None, Some(true), 300)], 0)
        .await
        .unwrap();
    store
        .apply_projection(8, &[number(Some("GREEN"), None, 250)], 0)
        .await
        .unwrap();
    store
        .apply_projection(9, &[number(Some("YELLOW"), Some(false), 100)], 0)
        .await
        .unwrap();
    let n = store
        .number_state("106540352242922")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (n.0.as_deref(), n.2),
        (Some("GREEN"), true),
        "{:?}",
        db.backend
    );
}

async fn only_the_newest_red_rating_pauses_campaigns(db: TestDatabase) {
    let store = db.store().await;
    let campaign = store
        .create_campaign(
            &switchboard_store::NewCampaign {
                name: "c".into(),
                phone_number_id: "106540352242922".into(),
                template_name: "t".into(),
                language: "en_US".into(),
                audience: "{}".into(),
                schedule_at_ms: 0,
                created_by: None,
                team_id: None,
            },
            0,
        )
        .await
        .unwrap();
    assert!(store.start_campaign(campaign, 0).await.unwrap());
    store
        .apply_projection(1, &[number(Some("GREEN"), None, 200)], 0)
        .await
        .unwrap();
    // A RED from before the GREEN, delivered late: the number is GREEN, campaigns go on.
    store
        .apply_projection(2, &[number(Some("RED"), None, 100)], 0)
        .await
        .unwrap();
    assert_eq!(
        store.campaign(campaign).await.unwrap().state,
        "running",
        "{:?}",
        db.backend
    );
    store
        .apply_projection(3, &[number(Some("RED"), None, 300)], 0)
        .await
        .unwrap();
    assert_eq!(
        store.campaign(campaign).await.unwrap().state,
        "paused",
        "{:?}",
        db.backend
    );
}

switchboard_store::per_backend!(
    each_field_keeps_the_newest_value_whatever_the_arrival_order,
    only_the_newest_red_rating_pauses_campaigns,
);
