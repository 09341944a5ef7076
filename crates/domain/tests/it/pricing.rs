//! Pricing scenarios with hand-computed costs on the shipped example card (USD, 2026-10-01:
//! India utility 0.0014 and marketing 0.0118; Indonesia authentication 0.0250 and
//! authentication-international 0.1360; "Other" marketing 0.0604; illustrative India utility
//! tiers 0.0014 up to 25,000,000, 0.0013 to 50,000,000, 0.0011 beyond).

use switchboard_domain::pricing::{
    Micros, PriceCategory, PriceQuery, RateCard, billed, conversation_based_cost, price,
};

fn q(category: PriceCategory, market: &str) -> PriceQuery<'_> {
    PriceQuery {
        category,
        market,
        service_window_open: false,
        free_entry_point_open: false,
        auth_international: false,
        month_to_date: 0,
    }
}

#[test]
fn service_replies_are_free_and_utility_is_free_only_inside_the_window() {
    let card = RateCard::example();
    let reply = price(
        &card,
        &PriceQuery {
            service_window_open: true,
            ..q(PriceCategory::Service, "India")
        },
    );
    assert_eq!(
        (reply.micros, reply.pricing_type, reply.category),
        (Micros(0), "free_customer_service", "service")
    );
    let inside = price(
        &card,
        &PriceQuery {
            service_window_open: true,
            ..q(PriceCategory::Utility, "India")
        },
    );
    assert_eq!(
        (inside.micros, inside.pricing_type, inside.category),
        (Micros(0), "free_customer_service", "utility")
    );
    let outside = price(&card, &q(PriceCategory::Utility, "India"));
    assert_eq!(
        (outside.micros, outside.pricing_type),
        (Micros(1_400), "regular")
    );
}

#[test]
fn marketing_and_authentication_are_always_charged() {
    let card = RateCard::example();
    for open in [false, true] {
        let m = price(
            &card,
            &PriceQuery {
                service_window_open: open,
                ..q(PriceCategory::Marketing, "India")
            },
        );
        assert_eq!(
            (m.micros, m.category),
            (Micros(11_800), "marketing"),
            "window open: {open}"
        );
        let a = price(
            &card,
            &PriceQuery {
                service_window_open: open,
                ..q(PriceCategory::Authentication, "Indonesia")
            },
        );
        assert_eq!(a.micros, Micros(25_000));
    }
}

#[test]
fn authentication_international_applies_to_eligible_businesses() {
    let card = RateCard::example();
    let intl = price(
        &card,
        &PriceQuery {
            auth_international: true,
            ..q(PriceCategory::Authentication, "Indonesia")
        },
    );
    assert_eq!(
        (intl.micros, intl.category),
        (Micros(136_000), "authentication_international")
    );
    // A market without a separate rate on the card: the authentication rate.
    let india = price(
        &card,
        &PriceQuery {
            auth_international: true,
            ..q(PriceCategory::Authentication, "India")
        },
    );
    assert_eq!(india.micros, Micros(1_400));
}

#[test]
fn a_tier_crossed_mid_month_changes_the_rate_from_the_next_message() {
    let card = RateCard::example();
    let at = |n: u64| {
        price(
            &card,
            &PriceQuery {
                month_to_date: n,
                ..q(PriceCategory::Utility, "India")
            },
        )
        .micros
    };
    assert_eq!(at(24_999_999), Micros(1_400), "the 25,000,000th message");
    assert_eq!(at(25_000_000), Micros(1_300), "the 25,000,001st message");
    assert_eq!(at(60_000_000), Micros(1_100));
    // Telescopic over a range: 2 at 0.0014 and 2 at 0.0013 = 0.0054.
    assert_eq!(
        card.cost_of("India", PriceCategory::Utility, 24_999_998, 4),
        Micros(5_400)
    );
    // Marketing has no tiers.
    assert_eq!(
        card.cost_of("India", PriceCategory::Marketing, 30_000_000, 2),
        Micros(23_600)
    );
}

#[test]
fn a_free_entry_point_window_makes_everything_free() {
    let card = RateCard::example();
    for c in [
        PriceCategory::Marketing,
        PriceCategory::Utility,
        PriceCategory::Authentication,
    ] {
        let p = price(
            &card,
            &PriceQuery {
                free_entry_point_open: true,
                ..q(c, "India")
            },
        );
        assert_eq!(
            (p.micros, p.pricing_type),
            (Micros(0), "free_entry_point"),
            "{c:?}"
        );
    }
}

#[test]
fn a_market_not_on_the_card_is_priced_as_other_and_says_so() {
    let card = RateCard::example();
    let p = price(
        &card,
        &q(PriceCategory::Marketing, "Rest of Western Europe"),
    );
    assert_eq!((p.micros, p.fallback_market), (Micros(60_400), true));
    let p = price(&card, &q(PriceCategory::Marketing, "Germany"));
    assert_eq!((p.micros, p.fallback_market), (Micros(136_500), false));
}

#[test]
fn billed_amounts_follow_metas_pricing_object() {
    let card = RateCard::example();
    assert_eq!(
        billed(&card, "India", "regular", "utility", 0),
        Micros(1_400)
    );
    assert_eq!(
        billed(&card, "India", "free_customer_service", "utility", 0),
        Micros(0)
    );
    assert_eq!(
        billed(&card, "India", "regular", "marketing", 0),
        Micros(11_800)
    );
    assert_eq!(
        billed(
            &card,
            "Indonesia",
            "regular",
            "authentication_international",
            0
        ),
        Micros(136_000)
    );
    assert_eq!(
        billed(&card, "India", "free_entry_point", "referral_conversion", 0),
        Micros(0)
    );
}

#[test]
fn the_conversation_based_model_charges_once_per_24_hours_per_category() {
    let card = RateCard::example();
    let h = 3_600_000;
    let msgs = [
        ("a", 0, PriceCategory::Utility, "India"),
        ("a", 2 * h, PriceCategory::Utility, "India"),
        ("a", 3 * h, PriceCategory::Marketing, "India"),
        ("a", 4 * h, PriceCategory::Service, "India"),
        ("a", 25 * h, PriceCategory::Utility, "India"),
        ("b", 0, PriceCategory::Utility, "India"),
    ];
    // Utility conversations: a at 0 h and 25 h, b at 0 h = 3 × 0.0014; one marketing 0.0118.
    assert_eq!(
        conversation_based_cost(&card, &msgs),
        Micros(3 * 1_400 + 11_800)
    );
}

#[test]
fn a_card_is_read_from_metas_csv_and_bad_files_are_explained() {
    let card = RateCard::from_csv(
        "Market,Currency,Marketing,Utility,Authentication,Authentication-International,Service\nIndia,INR,0.86,0.115,0.115,n/a,n/a\nOther,INR,4.4,0.56,0.56,n/a,n/a\n",
        None,
        "2026-01-01",
        "INR",
    )
    .unwrap();
    assert_eq!(card.currency, "INR");
    assert_eq!(
        price(&card, &q(PriceCategory::Marketing, "India")).micros,
        Micros(860_000)
    );
    let err = RateCard::from_csv(
        "Market,Currency,Marketing,Utility,Authentication\nIndia,USD,abc,1,1\n",
        None,
        "x",
        "x",
    )
    .unwrap_err();
    assert!(err.contains("line 2"), "{err}");
    let err = RateCard::from_csv(
        "Market,Currency,Marketing,Utility,Authentication\nIndia,USD,1,1,1\nBrazil,EUR,1,1,1\n",
        None,
        "x",
        "x",
    )
    .unwrap_err();
    assert!(err.contains("one currency"), "{err}");
}

#[test]
fn a_forecast_applies_tiers_and_counts_the_in_window_saving() {
    use switchboard_domain::forecast::{forecast, parse_volumes};
    use switchboard_domain::pricing::Markets;
    let rows = parse_volumes(
        "country,category,monthly_volume,in_window_share\nIN,marketing,100000,\nIN,utility,30000000,20%\nUS,authentication,1000,0.5\nFJ,marketing,10,\nIN,service,5000,\n",
    )
    .unwrap();
    let f = forecast(&RateCard::example(), &Markets::default(), &rows).unwrap();
    // Marketing: 100,000 x 0.0118 = 1,180.00.
    assert_eq!(f.lines[0].cost, Micros(1_180_000_000));
    // Utility: 24,000,000 charged, all within the first tier: x 0.0014 = 33,600.00; the
    // 6,000,000 in-window messages would have cost 1,000,000 x 0.0014 + 5,000,000 x 0.0013.
    assert_eq!(f.lines[1].charged, 24_000_000);
    assert_eq!(f.lines[1].cost, Micros(33_600_000_000));
    assert_eq!(
        f.lines[1].saving_in_window,
        Micros(1_400_000_000 + 6_500_000_000)
    );
    // Authentication is charged inside windows too: 1,000 x 0.0034.
    assert_eq!(
        (f.lines[2].charged, f.lines[2].cost),
        (1_000, Micros(3_400_000))
    );
    // Fiji is not mapped to a market of its own: Other, 10 x 0.0604.
    assert_eq!(
        (f.lines[3].market.as_str(), f.lines[3].cost),
        ("Other", Micros(604_000))
    );
    assert_eq!(f.lines[4].cost, Micros(0), "service is free");
    assert_eq!(
        f.total,
        Micros(1_180_000_000 + 33_600_000_000 + 3_400_000 + 604_000)
    );
    let bad = parse_volumes("country,category,monthly_volume\nIN,postcards,1\nIN,utility,many\n")
        .unwrap_err();
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(bad[0].contains("line 2") && bad[1].contains("line 3"));
}
