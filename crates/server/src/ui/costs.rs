//! The costs page (admins): this month's ledger as charts (by day, category, market, number),
//! and each budget against what was spent.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use switchboard_domain::{Role, UnixMs};

use super::{Chrome, Lookup, Page, chrome, html};
use crate::AppState;
use crate::error::ApiError;

/// One bar of a chart: its label, amount, and height in the chart's units (0–100).
pub struct Bar {
    pub label: String,
    pub amount: String,
    pub messages: u64,
    pub height: u32,
    pub x: u32,
    pub y: u32,
}

pub struct Budget {
    pub number: String,
    pub budget: String,
    pub spent: String,
    pub percent: u32,
}

impl Budget {
    fn new(who: String, budget: i64, spent: i64) -> Budget {
        Budget {
            number: who,
            budget: switchboard_domain::pricing::Micros(budget).decimal(),
            spent: switchboard_domain::pricing::Micros(spent).decimal(),
            percent: if budget > 0 {
                (spent * 100 / budget).clamp(0, 100) as u32
            } else {
                100
            },
        }
    }
}

#[derive(Template)]
#[template(path = "costs.html")]
struct CostsPage {
    chrome: Chrome,
    currency: String,
    month: String,
    total_estimated: String,
    total_billed: String,
    messages: u64,
    differences: u64,
    days: Vec<Bar>,
    categories: Vec<Bar>,
    markets: Vec<Bar>,
    numbers: Vec<Bar>,
    budgets: Vec<Budget>,
}

fn bars(
    groups: &std::collections::BTreeMap<String, crate::costs::CostTotals>,
    top: usize,
) -> Vec<Bar> {
    let mut v: Vec<(&String, &crate::costs::CostTotals)> = groups.iter().collect();
    if top > 0 {
        v.sort_by_key(|b| std::cmp::Reverse(b.1.estimated.0));
        v.truncate(top);
    }
    let max = v
        .iter()
        .map(|(_, t)| t.estimated.0)
        .max()
        .unwrap_or(0)
        .max(1);
    v.into_iter()
        .enumerate()
        .map(|(i, (k, t))| {
            let height = ((t.estimated.0 as f64 / max as f64) * 100.0).round() as u32;
            Bar {
                label: k.clone(),
                amount: t.estimated.decimal(),
                messages: t.messages,
                height,
                x: i as u32 * 24,
                y: 100 - height,
            }
        })
        .collect()
}

/// One bar per day of the month so far (days without messages included), labelled by day.
fn day_bars(
    groups: &std::collections::BTreeMap<String, crate::costs::CostTotals>,
    month_start: i64,
    now: UnixMs,
) -> Vec<Bar> {
    let mut days = std::collections::BTreeMap::new();
    let mut t = month_start;
    while t <= now.0 {
        let date = UnixMs(t).date();
        days.insert(date.clone(), groups.get(&date).cloned().unwrap_or_default());
        t += 86_400_000;
    }
    let mut v = bars(&days, 0);
    for b in &mut v {
        b.label = b.label.get(8..10).unwrap_or("").to_owned();
    }
    v
}

pub(super) async fn costs(
    Page(agent): Page,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    agent.require(Role::Admin)?;
    let now = UnixMs::now();
    let from = now.month_start().0;
    let report = |g: &'static str| crate::costs::report(&state.store, from, now.0 + 1, g, None);
    let by_day = report("day").await?;
    let by_category = report("category").await?;
    let by_market = report("market").await?;
    let by_number = report("number").await?;
    let lookup = Lookup::load(&state).await?;
    let budgets: Vec<Budget> = state
        .config
        .numbers
        .iter()
        .filter_map(|n| {
            let b = n.monthly_budget_micros?;
            let spent = by_number
                .groups
                .get(&n.phone_number_id)
                .map_or(0, |t| t.estimated.0);
            Some(Budget::new(lookup.number(&n.phone_number_id), b, spent))
        })
        .collect();
    let month = now.month();
    let mut budgets = budgets;
    for (id, name, budget) in state.store.team_budgets().await? {
        let spent = state.store.team_month_estimate(id, &month, None).await?;
        budgets.push(Budget::new(format!("{name} (team)"), budget, spent));
    }
    let mut numbers = bars(&by_number.groups, 0);
    for b in &mut numbers {
        b.label = lookup.number(&b.label);
    }
    Ok(html(&CostsPage {
        chrome: chrome(&agent, "costs"),
        currency: by_day.currency.clone(),
        month: UnixMs(from).date()[..7].to_owned(),
        total_estimated: by_day.total.estimated.decimal(),
        total_billed: by_day.total.billed.decimal(),
        messages: by_day.total.messages,
        differences: by_day.total.differences,
        days: day_bars(&by_day.groups, from, now),
        categories: bars(&by_category.groups, 0),
        markets: bars(&by_market.groups, 12),
        numbers,
        budgets,
    }))
}
