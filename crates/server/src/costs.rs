//! Cost: the active rate card (the latest imported one in force, else the shipped example),
//! an estimate for every outbound message when it is queued, and the ledger read back against
//! what Meta billed (the `pricing` objects of the status webhooks).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;
use switchboard_domain::UnixMs;
use switchboard_domain::pricing::{
    Markets, Micros, PriceCategory, PriceQuery, RateCard, billed, price,
};
use switchboard_store::{CostRow, NewCost, OutboundRow, Store, StoreError};

/// The rate card in force today.
pub async fn active_card(store: &Store, now: UnixMs) -> Result<RateCard, StoreError> {
    match store.active_rate_card(&now.date()).await? {
        Some(c) => {
            Ok(
                RateCard::from_csv(&c.rates_csv, c.tiers_csv.as_deref(), &c.effective, &c.label)
                    .map_err(StoreError::Corrupt)?,
            )
        }
        None => Ok(RateCard::example()),
    }
}

/// The market of a recipient as the outbox stores it (`+E164` or a BSUID).
pub fn market_of(markets: &Markets, recipient: &str) -> String {
    if recipient.starts_with('+') || recipient.bytes().all(|b| b.is_ascii_digit()) {
        markets.of_phone(recipient).to_owned()
    } else {
        markets.of_bsuid(recipient).to_owned()
    }
}

fn category_of(row: &OutboundRow) -> Option<PriceCategory> {
    match row.category.as_deref() {
        Some("SERVICE") => Some(PriceCategory::Service),
        Some(c) => PriceCategory::parse(c),
        None => None,
    }
}

/// Estimates the cost of newly queued messages and records it in the ledger.
pub async fn estimate(
    store: &Store,
    rows: &[&OutboundRow],
    now: UnixMs,
) -> Result<Micros, StoreError> {
    let rows: Vec<&OutboundRow> = rows.iter().copied().filter(|r| r.state.waiting()).collect();
    if rows.is_empty() {
        return Ok(Micros(0));
    }
    let card = active_card(store, now).await?;
    let markets = Markets::default();
    let month = now.month();
    let mut by_number: HashMap<&str, Vec<i64>> = HashMap::new();
    for r in &rows {
        by_number
            .entry(&r.phone_number_id)
            .or_default()
            .push(r.contact_id);
    }
    let mut windows = HashMap::new();
    for (number, contacts) in by_number {
        for (c, w) in store.window_facts(number, &contacts).await? {
            windows.insert((number.to_owned(), c), w);
        }
    }
    let keys: HashSet<(String, String)> = rows
        .iter()
        .filter_map(|r| {
            Some((
                market_of(&markets, &r.recipient),
                category_of(r)?.as_str().to_owned(),
            ))
        })
        .collect();
    let mut counts = store
        .month_counts(&month, &keys.into_iter().collect::<Vec<_>>())
        .await?;
    let mut costs = Vec::with_capacity(rows.len());
    let mut total = Micros(0);
    for r in rows {
        let Some(category) = category_of(r) else {
            continue;
        };
        let market = market_of(&markets, &r.recipient);
        let (last_inbound, fep) = windows
            .get(&(r.phone_number_id.clone(), r.contact_id))
            .copied()
            .unwrap_or((None, None));
        let key = (market.clone(), category.as_str().to_owned());
        let seq = counts.get(&key).copied().unwrap_or(0);
        let p = price(
            &card,
            &PriceQuery {
                category,
                market: &market,
                service_window_open: switchboard_domain::window::window_open(
                    last_inbound.map(UnixMs),
                    now,
                ),
                free_entry_point_open: switchboard_domain::window::free_entry_point_open(
                    fep.map(UnixMs),
                    now,
                ),
                auth_international: false,
                month_to_date: seq as u64,
            },
        );
        if p.pricing_type == "regular" {
            counts.insert(key, seq + 1);
        }
        total = total + p.micros;
        costs.push(NewCost {
            outbound_id: r.id,
            phone_number_id: r.phone_number_id.clone(),
            market,
            category: p.category.to_owned(),
            pricing_type: p.pricing_type.to_owned(),
            estimate_micros: p.micros.0,
            month_seq: seq,
            currency: card.currency.clone(),
            card_effective: card.effective.clone(),
            month: month.clone(),
        });
    }
    store.record_costs(&costs, now.0).await?;
    Ok(total)
}

/// The estimated cost of sends not queued yet (a campaign's preview): the same pricing as
/// [`estimate`], with the customers' windows where we know them; nothing is recorded.
pub async fn estimate_unsent(
    store: &Store,
    sends: &[&switchboard_store::NewSend],
    now: UnixMs,
) -> Result<Micros, StoreError> {
    if sends.is_empty() {
        return Ok(Micros(0));
    }
    let card = active_card(store, now).await?;
    let markets = Markets::default();
    let month = now.month();
    let wa_ids: Vec<String> = sends
        .iter()
        .filter_map(|s| s.contact.wa_id.clone())
        .collect();
    let known = store.contact_ids_by_wa_ids(&wa_ids).await?;
    let mut windows: HashMap<(String, i64), (Option<i64>, Option<i64>)> = HashMap::new();
    let mut by_number: HashMap<&str, Vec<i64>> = HashMap::new();
    for s in sends {
        if let Some(c) = s.contact.wa_id.as_ref().and_then(|w| known.get(w)) {
            by_number.entry(&s.phone_number_id).or_default().push(*c);
        }
    }
    for (number, contacts) in by_number {
        for (c, w) in store.window_facts(number, &contacts).await? {
            windows.insert((number.to_owned(), c), w);
        }
    }
    // A template's category is the registry's (what the policy used); cached per template.
    let mut categories: HashMap<(String, String, String), Option<PriceCategory>> = HashMap::new();
    let mut counts: HashMap<(String, String), i64> = HashMap::new();
    let mut total = Micros(0);
    for s in sends {
        let category = match &s.content {
            switchboard_cloudapi::send::OutboundContent::Template(t) => {
                let key = (
                    s.waba_id.clone(),
                    t.name.clone(),
                    t.language.code.clone().unwrap_or_default(),
                );
                if !categories.contains_key(&key) {
                    let c = store.template_category(&key.0, &key.1, &key.2).await?;
                    categories.insert(key.clone(), c.as_deref().and_then(PriceCategory::parse));
                }
                match categories[&key] {
                    Some(c) => c,
                    None => continue,
                }
            }
            _ => PriceCategory::Service,
        };
        let market = market_of(&markets, &s.recipient);
        let key = (market.clone(), category.as_str().to_owned());
        if !counts.contains_key(&key) {
            let c = store
                .month_counts(&month, std::slice::from_ref(&key))
                .await?;
            counts.insert(key.clone(), c.get(&key).copied().unwrap_or(0));
        }
        let seq = counts[&key];
        let (last_inbound, fep) = s
            .contact
            .wa_id
            .as_ref()
            .and_then(|w| known.get(w))
            .and_then(|c| windows.get(&(s.phone_number_id.clone(), *c)))
            .copied()
            .unwrap_or((None, None));
        let p = price(
            &card,
            &PriceQuery {
                category,
                market: &market,
                service_window_open: switchboard_domain::window::window_open(
                    last_inbound.map(UnixMs),
                    now,
                ),
                free_entry_point_open: switchboard_domain::window::free_entry_point_open(
                    fep.map(UnixMs),
                    now,
                ),
                auth_international: false,
                month_to_date: seq as u64,
            },
        );
        if p.pricing_type == "regular" {
            counts.insert(key, seq + 1);
        }
        total = total + p.micros;
    }
    Ok(total)
}

/// What Meta reported for one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Billed {
    pub pricing_type: String,
    pub category: String,
    pub micros: Micros,
}

fn billed_of(card: &RateCard, row: &CostRow) -> Option<Billed> {
    let p: Value = serde_json::from_str(row.pricing.as_deref()?).ok()?;
    // `type` is Meta's; older webhooks only had `billable`.
    let pricing_type = p["type"].as_str().map(str::to_owned).unwrap_or_else(|| {
        if p["billable"].as_bool() == Some(true) {
            "regular".into()
        } else {
            "free_customer_service".into()
        }
    });
    let category = p["category"].as_str().unwrap_or("").to_owned();
    let micros = billed(
        card,
        &row.market,
        &pricing_type,
        &category,
        row.month_seq as u64,
    );
    Some(Billed {
        pricing_type,
        category,
        micros,
    })
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CostTotals {
    pub messages: u64,
    pub estimated: Micros,
    /// What Meta's pricing objects bill (for the messages it reported on).
    pub billed: Micros,
    pub reported: u64,
    /// Messages whose billed category or type differs from the estimate.
    pub differences: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostReport {
    pub currency: String,
    pub group_by: String,
    pub total: CostTotals,
    pub groups: BTreeMap<String, CostTotals>,
    /// The messages whose billing differs from the estimate (at most 100).
    pub differences: Vec<Value>,
}

/// The ledger of `[from, to)` totalled and grouped by `group_by` (`day`, `number`,
/// `category`, `market`, `template`, `campaign`, `agent`).
pub async fn report(
    store: &Store,
    from_ms: i64,
    to_ms: i64,
    group_by: &str,
    campaign: Option<i64>,
) -> Result<CostReport, StoreError> {
    let card = active_card(store, UnixMs::now()).await?;
    let rows = store.cost_rows(from_ms, to_ms, campaign).await?;
    let mut total = CostTotals::default();
    let mut groups: BTreeMap<String, CostTotals> = BTreeMap::new();
    let mut differences = Vec::new();
    for r in &rows {
        // Refused, cancelled and failed messages are not sent, so not charged.
        if r.state.ended_unsent() || r.status.as_deref() == Some("failed") {
            continue;
        }
        let key = match group_by {
            "day" => UnixMs(r.created_at_ms).date(),
            "number" => r.phone_number_id.clone(),
            "category" => r.category.clone(),
            "market" => r.market.clone(),
            "template" => r
                .template_name
                .clone()
                .unwrap_or_else(|| "(session message)".into()),
            "campaign" => r
                .campaign_id
                .map_or_else(|| "(none)".into(), |c| c.to_string()),
            _ => r.created_by.clone().unwrap_or_else(|| "(unknown)".into()),
        };
        let g = groups.entry(key).or_default();
        let b = billed_of(&card, r);
        let differs = b.as_ref().is_some_and(|b| {
            b.pricing_type != r.pricing_type
                || (b.pricing_type == "regular" && b.category != r.category)
        });
        for t in [&mut total, g] {
            t.messages += 1;
            t.estimated = t.estimated + Micros(r.estimate_micros);
            if let Some(b) = &b {
                t.reported += 1;
                t.billed = t.billed + b.micros;
            }
            if differs {
                t.differences += 1;
            }
        }
        if differs && differences.len() < 100 {
            differences.push(serde_json::json!({
                "outbound_id": r.outbound_id, "market": r.market,
                "estimated": {"type": r.pricing_type, "category": r.category, "amount": Micros(r.estimate_micros).decimal()},
                "billed": b,
            }));
        }
    }
    Ok(CostReport {
        currency: card.currency.clone(),
        group_by: group_by.to_owned(),
        total,
        groups,
        differences,
    })
}
