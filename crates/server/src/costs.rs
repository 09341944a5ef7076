//! Cost: the active rate card (the latest imported one in force, else the shipped example),
//! an estimate for every outbound message when it is queued, and the ledger read back against
//! what Meta billed (the `pricing` objects of the status webhooks).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;
use switchboard_domain::pricing::{
    Markets, Micros, Price, PriceCategory, PriceQuery, RateCard, billed, price,
};
use switchboard_domain::{UnixMs, window};
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

/// Prices messages one after another as the month goes: each regular message moves its market
/// and category one step along the volume tiers. The one pricing loop of the queued estimate and
/// the campaign preview.
struct Pricer {
    card: RateCard,
    markets: Markets,
    month: String,
    now: UnixMs,
    /// Regular messages so far this month per (market, category), read once per key.
    counts: HashMap<(String, String), i64>,
}

impl Pricer {
    async fn new(store: &Store, now: UnixMs) -> Result<Pricer, StoreError> {
        Ok(Pricer {
            card: active_card(store, now).await?,
            markets: Markets::default(),
            month: now.month(),
            now,
            counts: HashMap::new(),
        })
    }

    /// The price of one message to `recipient` in `category`, given the customer's window facts
    /// (last inbound, free entry point until); with its market and month sequence.
    async fn price(
        &mut self,
        store: &Store,
        recipient: &str,
        category: PriceCategory,
        (last_inbound, fep): (Option<i64>, Option<i64>),
    ) -> Result<(String, i64, Price), StoreError> {
        let market = market_of(&self.markets, recipient);
        let key = (market.clone(), category.as_str().to_owned());
        if !self.counts.contains_key(&key) {
            let c = store
                .month_counts(&self.month, std::slice::from_ref(&key))
                .await?;
            self.counts
                .insert(key.clone(), c.get(&key).copied().unwrap_or(0));
        }
        let seq = self.counts[&key];
        let p = price(
            &self.card,
            &PriceQuery {
                category,
                market: &market,
                service_window_open: window::window_open(last_inbound.map(UnixMs), self.now),
                free_entry_point_open: window::free_entry_point_open(fep.map(UnixMs), self.now),
                auth_international: false,
                month_to_date: seq as u64,
            },
        );
        if p.pricing_type == "regular" {
            self.counts.insert(key, seq + 1);
        }
        Ok((market, seq, p))
    }
}

/// The window facts of (number, contact) pairs, as `(last inbound, free entry point until)`.
async fn windows_of(
    store: &Store,
    pairs: impl Iterator<Item = (&str, i64)>,
) -> Result<HashMap<(String, i64), (Option<i64>, Option<i64>)>, StoreError> {
    let mut by_number: HashMap<&str, Vec<i64>> = HashMap::new();
    for (number, contact) in pairs {
        by_number.entry(number).or_default().push(contact);
    }
    let mut windows = HashMap::new();
    for (number, contacts) in by_number {
        for (c, w) in store.window_facts(number, &contacts).await? {
            windows.insert((number.to_owned(), c), w);
        }
    }
    Ok(windows)
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
    let mut pricer = Pricer::new(store, now).await?;
    let windows = windows_of(
        store,
        rows.iter()
            .map(|r| (r.phone_number_id.as_str(), r.contact_id)),
    )
    .await?;
    let mut costs = Vec::with_capacity(rows.len());
    let mut total = Micros(0);
    for r in rows {
        let Some(category) = category_of(r) else {
            continue;
        };
        let window = windows
            .get(&(r.phone_number_id.clone(), r.contact_id))
            .copied()
            .unwrap_or((None, None));
        let (market, seq, p) = pricer.price(store, &r.recipient, category, window).await?;
        total = total + p.micros;
        costs.push(NewCost {
            outbound_id: r.id,
            phone_number_id: r.phone_number_id.clone(),
            market,
            category: p.category.to_owned(),
            pricing_type: p.pricing_type.to_owned(),
            estimate_micros: p.micros.0,
            month_seq: seq,
            currency: pricer.card.currency.clone(),
            card_effective: pricer.card.effective.clone(),
            month: pricer.month.clone(),
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
    let mut pricer = Pricer::new(store, now).await?;
    let wa_ids: Vec<String> = sends
        .iter()
        .filter_map(|s| s.contact.wa_id.clone())
        .collect();
    let known = store.contact_ids_by_wa_ids(&wa_ids).await?;
    let contact_of = |s: &switchboard_store::NewSend| {
        s.contact.wa_id.as_ref().and_then(|w| known.get(w)).copied()
    };
    let windows = windows_of(
        store,
        sends
            .iter()
            .filter_map(|s| Some((s.phone_number_id.as_str(), contact_of(s)?))),
    )
    .await?;
    // A template's category is the registry's (what the policy used); cached per template.
    let mut categories: HashMap<(String, String, String), Option<PriceCategory>> = HashMap::new();
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
        let window = contact_of(s)
            .and_then(|c| windows.get(&(s.phone_number_id.clone(), c)))
            .copied()
            .unwrap_or((None, None));
        let (_, _, p) = pricer.price(store, &s.recipient, category, window).await?;
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
