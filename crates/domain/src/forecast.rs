//! The monthly cost forecast: volumes per country and category (`country,category,
//! monthly_volume[,in_window_share]`) priced under a rate card, with volume tiers applied per
//! market and category across the month, and the saving from sending utility messages while
//! service windows are open (those are free).

use std::collections::HashMap;

use serde::Serialize;

use crate::csv::{Header, parse};
use crate::pricing::{Markets, Micros, PriceCategory, RateCard};

#[derive(Debug, Clone, PartialEq)]
pub struct VolumeRow {
    pub country: String,
    pub category: PriceCategory,
    pub monthly_volume: u64,
    /// Share of the messages sent while the customer's service window is open (0 to 1).
    pub in_window_share: f64,
}

/// Reads the volumes CSV; every bad line is reported.
pub fn parse_volumes(text: &str) -> Result<Vec<VolumeRow>, Vec<String>> {
    let rows = parse(text).map_err(|e| vec![e])?;
    let Some((head, lines)) = rows.split_first() else {
        return Err(vec!["the file is empty; the first line is country,category,monthly_volume[,in_window_share]".into()]);
    };
    let h = Header::new(head);
    for c in ["country", "category", "monthly_volume"] {
        if h.index(c).is_none() {
            return Err(vec![format!(
                "the first line must name the columns country,category,monthly_volume (and optionally in_window_share); {c:?} is missing"
            )]);
        }
    }
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, r) in lines.iter().enumerate() {
        let line = i + 2;
        let country = h.get(r, "country").unwrap_or("").to_owned();
        let category = h.get(r, "category").and_then(PriceCategory::parse);
        let volume = h
            .get(r, "monthly_volume")
            .and_then(|v| v.replace('_', "").parse::<u64>().ok())
            // A trillion messages a month is past any real business; larger is a typo.
            .filter(|v| *v <= 1_000_000_000_000);
        let share = match h.get(r, "in_window_share") {
            None => Some(0.0),
            Some(v) => v
                .trim_end_matches('%')
                .parse::<f64>()
                .ok()
                .map(|x| if v.ends_with('%') { x / 100.0 } else { x })
                .filter(|x| (0.0..=1.0).contains(x)),
        };
        match (country.is_empty(), category, volume, share) {
            (false, Some(category), Some(monthly_volume), Some(in_window_share)) => out.push(VolumeRow { country, category, monthly_volume, in_window_share }),
            (true, ..) => problems.push(format!("line {line}: no country")),
            (_, None, ..) => problems.push(format!("line {line}: category must be marketing, utility, authentication, authentication_international or service")),
            (_, _, None, _) => problems.push(format!("line {line}: monthly_volume must be a whole number up to 1,000,000,000,000")),
            (_, _, _, None) => problems.push(format!("line {line}: in_window_share must be between 0 and 1 (or 0% to 100%)")),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastLine {
    pub country: String,
    pub market: String,
    pub category: PriceCategory,
    pub monthly_volume: u64,
    /// Messages Meta charges (utility sent inside a window is free; service is free).
    pub charged: u64,
    pub cost: Micros,
    /// The same charged messages at the list rate, without volume tiers.
    pub cost_without_tiers: Micros,
    /// What the utility messages sent inside windows would have cost outside them.
    pub saving_in_window: Micros,
    /// The market is not on the card: priced at its "Other" row.
    pub fallback_market: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    pub currency: String,
    pub card: String,
    pub effective: String,
    pub lines: Vec<ForecastLine>,
    pub total: Micros,
    pub total_without_tiers: Micros,
    pub saving_in_window: Micros,
}

/// Prices a month of volumes. Rows of the same market and category share their tiers, in the
/// order given.
pub fn forecast(
    card: &RateCard,
    markets: &Markets,
    rows: &[VolumeRow],
) -> Result<Forecast, Vec<String>> {
    let mut so_far: HashMap<(String, PriceCategory), u64> = HashMap::new();
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let Some(market) = markets.of_country(&r.country) else {
            problems.push(format!(
                "row {}: {:?} is neither an ISO country code we map nor a market name",
                i + 1,
                r.country
            ));
            continue;
        };
        let fallback_market = !card.markets().any(|m| m == market);
        let (charged, free_in_window) = match r.category {
            PriceCategory::Service => (0, 0),
            PriceCategory::Utility => {
                let free = (r.monthly_volume as f64 * r.in_window_share).round() as u64;
                (r.monthly_volume - free, free)
            }
            _ => (r.monthly_volume, 0),
        };
        let key = (market.clone(), r.category);
        let already = *so_far.get(&key).unwrap_or(&0);
        let cost = card.cost_of(&market, r.category, already, charged);
        so_far.insert(key, already + charged);
        let list_one = card.cost_of(&market, r.category, 0, 1);
        let cost_without_tiers = if r.category == PriceCategory::Service {
            Micros(0)
        } else {
            list_one.times(charged)
        };
        // The in-window messages would have been charged after the others, at the tiers they
        // would have reached.
        let saving_in_window = if free_in_window > 0 {
            card.cost_of(&market, r.category, already + charged, free_in_window)
        } else {
            Micros(0)
        };
        lines.push(ForecastLine {
            country: r.country.clone(),
            market,
            category: r.category,
            monthly_volume: r.monthly_volume,
            charged,
            cost,
            cost_without_tiers,
            saving_in_window,
            fallback_market,
        });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Forecast {
        currency: card.currency.clone(),
        card: card.label.clone(),
        effective: card.effective.clone(),
        total: lines.iter().map(|l| l.cost).sum(),
        total_without_tiers: lines.iter().map(|l| l.cost_without_tiers).sum(),
        saving_in_window: lines.iter().map(|l| l.saving_in_window).sum(),
        lines,
    })
}

/// The forecast as a table for people.
pub fn render(f: &Forecast) -> String {
    let mut s = format!(
        "Rate card: {} (effective {}, {})\n\n",
        f.card, f.effective, f.currency
    );
    s.push_str(&format!(
        "{:<8} {:<32} {:<28} {:>12} {:>12} {:>14} {:>14}\n",
        "country", "market", "category", "volume", "charged", "cost", "in-window saving"
    ));
    for l in &f.lines {
        s.push_str(&format!(
            "{:<8} {:<32} {:<28} {:>12} {:>12} {:>14} {:>14}{}\n",
            l.country,
            l.market,
            l.category.as_str(),
            l.monthly_volume,
            l.charged,
            l.cost.decimal(),
            l.saving_in_window.decimal(),
            if l.fallback_market {
                "  (priced as Other)"
            } else {
                ""
            }
        ));
    }
    s.push_str(&format!(
        "\nMonthly total: {} {} (without volume tiers {}); sending utility messages inside open service windows saves {}.\n",
        f.total.decimal(),
        f.currency,
        f.total_without_tiers.decimal(),
        f.saving_in_window.decimal()
    ));
    s
}
