//! Meta's per-message pricing (cloud-api.md §9): what a message costs given its category, the
//! recipient's market, whether a service window or free-entry-point window is open, and the
//! month's volume so far (utility and authentication have graduated volume tiers). Money is
//! integer micro-units of the card's currency, parsed from the rate card's decimals exactly.
//!
//! A rate card is Meta's rates CSV (`Market,Currency,Marketing,Utility,Authentication,
//! Authentication-International,Service`) plus an optional volume-tier CSV (`Market,Currency,
//! Category,From,To,Rate`), with an effective date. The recipient's market comes from the
//! longest calling-code prefix of its number (Meta's market mapping, `data/markets.csv`); a
//! market the card does not list is priced at the card's "Other" row and said so.
//!
//! The legacy conversation-based model (before 2025-07-01) is here too, for history and
//! comparison: one charge per 24-hour conversation per category.

use std::collections::HashMap;

use serde::Serialize;

use crate::csv::{Header, parse};
pub use crate::markets::Markets;
pub use crate::money::Micros;

/// The pricing categories of Meta's rate card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceCategory {
    Marketing,
    Utility,
    Authentication,
    AuthenticationInternational,
    /// A non-template message.
    Service,
}

impl PriceCategory {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "marketing" | "marketing_lite" => Some(Self::Marketing),
            "utility" => Some(Self::Utility),
            "authentication" => Some(Self::Authentication),
            "authentication_international" => Some(Self::AuthenticationInternational),
            "service" => Some(Self::Service),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Marketing => "marketing",
            Self::Utility => "utility",
            Self::Authentication => "authentication",
            Self::AuthenticationInternational => "authentication_international",
            Self::Service => "service",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct MarketRates {
    marketing: Option<Micros>,
    utility: Option<Micros>,
    authentication: Option<Micros>,
    authentication_international: Option<Micros>,
    service: Option<Micros>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Tier {
    from: u64,
    to: Option<u64>,
    rate: Micros,
}

/// A dated rate card in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateCard {
    pub effective: String,
    pub currency: String,
    pub label: String,
    rates: HashMap<String, MarketRates>,
    tiers: HashMap<(String, PriceCategory), Vec<Tier>>,
}

const DEFAULT_RATES: &str = include_str!("../data/rates_example_usd_2026-10-01.csv");
const DEFAULT_TIERS: &str = include_str!("../data/volume_tiers_example.csv");

impl RateCard {
    /// The card shipped with Switchboard: an EXAMPLE (a third-party transcription of Meta's USD
    /// card of 2026-10-01, with illustrative volume tiers), not for billing.
    pub fn example() -> RateCard {
        RateCard::from_csv(
            DEFAULT_RATES,
            Some(DEFAULT_TIERS),
            "2026-10-01",
            "example USD card (not for billing; import Meta's CSV)",
        )
        .expect("the shipped card parses")
    }

    /// Reads Meta's rates CSV and (optionally) its volume-tier CSV. Errors name the line.
    pub fn from_csv(
        rates: &str,
        tiers: Option<&str>,
        effective: &str,
        label: &str,
    ) -> Result<RateCard, String> {
        let rows = parse(rates)?;
        let (head, lines) = rows.split_first().ok_or("the rates file is empty")?;
        let h = Header::new(head);
        for col in [
            "market",
            "currency",
            "marketing",
            "utility",
            "authentication",
        ] {
            if h.index(col).is_none() {
                return Err(format!(
                    "the rates file has no {col:?} column (expected Market,Currency,Marketing,Utility,Authentication,Authentication-International,Service)"
                ));
            }
        }
        let mut currency = String::new();
        let mut out = HashMap::new();
        for (i, r) in lines.iter().enumerate() {
            let line = i + 2;
            let market = h
                .get(r, "market")
                .ok_or(format!("line {line}: no market"))?
                .to_owned();
            let cur = h.get(r, "currency").unwrap_or("").to_ascii_uppercase();
            if currency.is_empty() {
                currency = cur.clone();
            } else if cur != currency {
                return Err(format!(
                    "line {line}: currency {cur} differs from {currency}; a card has one currency"
                ));
            }
            let rate = |col: &str| -> Result<Option<Micros>, String> {
                match h.get(r, col) {
                    None => Ok(None),
                    Some(v) if v.eq_ignore_ascii_case("n/a") || v == "-" => Ok(None),
                    Some(v) => Micros::parse(v)
                        .map(Some)
                        .map_err(|e| format!("line {line}, {col}: {e}")),
                }
            };
            out.insert(
                market,
                MarketRates {
                    marketing: rate("marketing")?,
                    utility: rate("utility")?,
                    authentication: rate("authentication")?,
                    authentication_international: rate("authentication-international")?,
                    service: rate("service")?,
                },
            );
        }
        let mut tier_map: HashMap<(String, PriceCategory), Vec<Tier>> = HashMap::new();
        if let Some(t) = tiers {
            let rows = parse(t)?;
            if let Some((head, lines)) = rows.split_first() {
                let h = Header::new(head);
                for (i, r) in lines.iter().enumerate() {
                    let line = i + 2;
                    let market = h
                        .get(r, "market")
                        .ok_or(format!("tiers line {line}: no market"))?
                        .to_owned();
                    let cat =
                        h.get(r, "category")
                            .and_then(PriceCategory::parse)
                            .ok_or(format!(
                                "tiers line {line}: category must be UTILITY or AUTHENTICATION"
                            ))?;
                    let num = |c: &str| {
                        h.get(r, c)
                            .map(|v| {
                                v.parse::<u64>().map_err(|_| {
                                    format!("tiers line {line}: {c} {v:?} is not a count")
                                })
                            })
                            .transpose()
                    };
                    let from = num("from")?.ok_or(format!("tiers line {line}: no From"))?;
                    let to = num("to")?;
                    let rate = Micros::parse(
                        h.get(r, "rate")
                            .ok_or(format!("tiers line {line}: no Rate"))?,
                    )?;
                    tier_map
                        .entry((market, cat))
                        .or_default()
                        .push(Tier { from, to, rate });
                }
            }
        }
        for v in tier_map.values_mut() {
            v.sort_by_key(|t| t.from);
        }
        if out.is_empty() {
            return Err("the rates file has no markets".into());
        }
        Ok(RateCard {
            effective: effective.to_owned(),
            currency,
            label: label.to_owned(),
            rates: out,
            tiers: tier_map,
        })
    }

    pub fn markets(&self) -> impl Iterator<Item = &str> {
        self.rates.keys().map(String::as_str)
    }

    /// The list rate of `category` in `market` (or "Other"), and whether it came from "Other".
    fn list_rate(&self, market: &str, category: PriceCategory) -> Option<(Micros, bool)> {
        let pick = |r: &MarketRates| match category {
            PriceCategory::Marketing => r.marketing,
            PriceCategory::Utility => r.utility,
            PriceCategory::Authentication => r.authentication,
            PriceCategory::AuthenticationInternational => {
                r.authentication_international.or(r.authentication)
            }
            PriceCategory::Service => r.service,
        };
        match self.rates.get(market) {
            Some(r) => pick(r).map(|m| (m, false)),
            None => self.rates.get("Other").and_then(pick).map(|m| (m, true)),
        }
    }

    /// The rate of the `n`-th charged message of the month (1-based) of a category in a market.
    fn rate_at(&self, market: &str, category: PriceCategory, n: u64) -> Option<(Micros, bool)> {
        let (list, fallback) = self.list_rate(market, category)?;
        let tiered = matches!(
            category,
            PriceCategory::Utility | PriceCategory::Authentication
        );
        if tiered
            && let Some(tiers) = self.tiers.get(&(market.to_owned(), category))
            && let Some(t) = tiers
                .iter()
                .find(|t| t.from <= n && t.to.is_none_or(|to| n <= to))
        {
            return Some((t.rate, fallback));
        }
        Some((list, fallback))
    }

    /// The cost of `count` charged messages after `already` earlier ones this month
    /// (telescopic: each message at the rate of the tier it falls in).
    pub fn cost_of(
        &self,
        market: &str,
        category: PriceCategory,
        already: u64,
        count: u64,
    ) -> Micros {
        let tiered = matches!(
            category,
            PriceCategory::Utility | PriceCategory::Authentication
        );
        let tiers = if tiered {
            self.tiers.get(&(market.to_owned(), category))
        } else {
            None
        };
        let Some(tiers) = tiers.filter(|t| !t.is_empty()) else {
            return self
                .list_rate(market, category)
                .map_or(Micros(0), |(r, _)| r.times(count));
        };
        let (start, end) = (already.saturating_add(1), already.saturating_add(count));
        let mut total = Micros(0);
        let mut covered = 0;
        for t in tiers {
            let lo = t.from.max(start);
            let hi = t.to.unwrap_or(u64::MAX).min(end);
            if lo <= hi {
                total = total + t.rate.times(hi - lo + 1);
                covered += hi - lo + 1;
            }
        }
        // Messages no tier covers go at the list rate.
        if covered < count
            && let Some((r, _)) = self.list_rate(market, category)
        {
            total = total + r.times(count - covered);
        }
        total
    }
}

/// What is known when pricing one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceQuery<'a> {
    /// The template's category, or `Service` for a non-template message.
    pub category: PriceCategory,
    pub market: &'a str,
    pub service_window_open: bool,
    pub free_entry_point_open: bool,
    /// The business is eligible for authentication-international rates in this market.
    pub auth_international: bool,
    /// Charged messages of this market and category earlier this month (for tiers).
    pub month_to_date: u64,
}

/// The price of one message, with Meta's `pricing` labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Price {
    pub micros: Micros,
    /// Meta's `pricing.type`: `regular`, `free_customer_service`, `free_entry_point`.
    pub pricing_type: &'static str,
    /// Meta's `pricing.category`.
    pub category: &'static str,
    /// The market was not on the card: priced at "Other".
    pub fallback_market: bool,
}

/// The price of one delivered message under per-message pricing (§9.2, §9.3).
pub fn price(card: &RateCard, q: &PriceQuery<'_>) -> Price {
    let free = |t: &'static str, c: &'static str| Price {
        micros: Micros(0),
        pricing_type: t,
        category: c,
        fallback_market: false,
    };
    if q.free_entry_point_open {
        return free(
            "free_entry_point",
            if q.category == PriceCategory::Service {
                "service"
            } else {
                "referral_conversion"
            },
        );
    }
    let category = match q.category {
        PriceCategory::Service => return free("free_customer_service", "service"),
        PriceCategory::Utility if q.service_window_open => {
            return free("free_customer_service", "utility");
        }
        PriceCategory::Authentication if q.auth_international => {
            PriceCategory::AuthenticationInternational
        }
        c => c,
    };
    let (micros, fallback_market) = card
        .rate_at(q.market, category, q.month_to_date + 1)
        .unwrap_or((Micros(0), true));
    Price {
        micros,
        pricing_type: "regular",
        category: category.as_str(),
        fallback_market,
    }
}

/// The billed price of a message from its status webhook's `pricing` object: `regular`
/// messages at the card's rate of the reported category (tiers by `month_to_date`).
pub fn billed(
    card: &RateCard,
    market: &str,
    pricing_type: &str,
    category: &str,
    month_to_date: u64,
) -> Micros {
    if pricing_type != "regular" {
        return Micros(0);
    }
    match PriceCategory::parse(category) {
        Some(PriceCategory::Service) | None => Micros(0),
        Some(c) => card
            .rate_at(market, c, month_to_date + 1)
            .map_or(Micros(0), |r| r.0),
    }
}

/// How long a legacy (conversation-based) conversation lasted.
const LEGACY_CONVERSATION_MS: i64 = 24 * 3_600_000;

/// The legacy conversation-based model (before 2025-07-01): the first message of a category
/// to a customer opens a 24-hour conversation, charged once at that category's rate; service
/// conversations are free (since 2024-11-01). `messages`: (customer, time, category, market),
/// in time order.
pub fn conversation_based_cost(
    card: &RateCard,
    messages: &[(&str, i64, PriceCategory, &str)],
) -> Micros {
    let mut open: HashMap<(&str, PriceCategory), i64> = HashMap::new();
    let mut total = Micros(0);
    for (who, at, cat, market) in messages {
        if *cat == PriceCategory::Service {
            continue;
        }
        let key = (*who, *cat);
        if open.get(&key).is_some_and(|until| at < until) {
            continue;
        }
        open.insert(key, at + LEGACY_CONVERSATION_MS);
        total = total + card.list_rate(market, *cat).map_or(Micros(0), |r| r.0);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_parsed_exactly() {
        assert_eq!(Micros::parse("0.0250"), Ok(Micros(25_000)));
        assert_eq!(Micros::parse("12"), Ok(Micros(12_000_000)));
        assert_eq!(Micros::parse(".5"), Ok(Micros(500_000)));
        assert!(Micros::parse("0.0000001").is_err());
        assert!(Micros::parse("1,5").is_err());
        assert_eq!(Micros(25_000).decimal(), "0.0250");
        assert_eq!(Micros(1_234_567).decimal(), "1.234567");
    }

    #[test]
    fn markets_by_longest_prefix_and_bsuid_country() {
        let m = Markets::default();
        assert_eq!(m.of_phone("+16505551234"), "North America");
        assert_eq!(m.of_phone("18095551234"), "Rest of Latin America");
        assert_eq!(m.of_phone("+919876543210"), "India");
        assert_eq!(m.of_phone("+4915123456789"), "Germany");
        assert_eq!(m.of_phone("+4312345678"), "Rest of Western Europe");
        assert_eq!(m.of_phone("+6799999999"), "Other");
        assert_eq!(m.of_bsuid("IN.13491208655302741918"), "India");
        assert_eq!(m.of_bsuid("ZZ.1"), "Other");
        assert_eq!(m.of_country("in").as_deref(), Some("India"));
        assert_eq!(
            m.of_country("Rest of Africa").as_deref(),
            Some("Rest of Africa")
        );
    }
}
