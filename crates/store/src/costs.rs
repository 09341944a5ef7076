//! The cost ledger: an estimate per outbound message when it is queued, and the facts Meta
//! reports (the `pricing` object of its status webhooks), read side by side for totals and
//! reconciliation. Rate cards are kept as imported.

use std::collections::HashMap;

use serde::Serialize;

use crate::{BeginWrite, Store, StoreError, with_pool};

/// One estimate to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCost {
    pub outbound_id: i64,
    pub phone_number_id: String,
    pub market: String,
    pub category: String,
    pub pricing_type: String,
    pub estimate_micros: i64,
    pub month_seq: i64,
    pub currency: String,
    pub card_effective: String,
    pub month: String,
}

/// A ledger line with what is needed to group it and what Meta reported.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct CostRow {
    pub outbound_id: i64,
    pub phone_number_id: String,
    pub market: String,
    pub category: String,
    pub pricing_type: String,
    pub estimate_micros: i64,
    pub month_seq: i64,
    pub currency: String,
    pub created_at_ms: i64,
    pub template_name: Option<String>,
    pub campaign_id: Option<i64>,
    pub created_by: Option<String>,
    #[sqlx(try_from = "String")]
    pub state: switchboard_domain::outbox::OutboxState,
    /// The latest `pricing` object Meta sent for the message, if any.
    pub pricing: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct RateCardRow {
    pub id: i64,
    pub effective: String,
    pub currency: String,
    pub label: String,
    pub rates_csv: String,
    pub tiers_csv: Option<String>,
    pub imported_at_ms: i64,
}

const INSERT_CARD: &str = "INSERT INTO rate_cards (effective, currency, label, rates_csv, tiers_csv, imported_at_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
const ACTIVE_CARD: &str = "SELECT id, effective, currency, label, rates_csv, tiers_csv, imported_at_ms FROM rate_cards WHERE effective <= $1 ORDER BY effective DESC, id DESC LIMIT 1";
const CARDS: &str = "SELECT id, effective, currency, label, rates_csv, tiers_csv, imported_at_ms FROM rate_cards ORDER BY effective DESC, id DESC";
const MONTH_COUNT: &str = "SELECT COUNT(*) FROM message_costs WHERE month = $1 AND market = $2 AND category = $3 AND pricing_type = 'regular'";
const ROWS: &str = "SELECT c.outbound_id, c.phone_number_id, c.market, c.category, c.pricing_type, c.estimate_micros, c.month_seq, c.currency, c.created_at_ms, \
       o.template_name, o.campaign_id, o.created_by, o.state, \
       (SELECT s.pricing FROM message_statuses s WHERE s.wamid = o.wamid AND s.pricing IS NOT NULL ORDER BY s.rank DESC LIMIT 1) AS pricing, \
       m.status AS status \
     FROM message_costs c JOIN outbound o ON o.id = c.outbound_id LEFT JOIN messages m ON m.wamid = o.wamid \
     WHERE c.created_at_ms >= $1 AND c.created_at_ms < $2 AND ($3 IS NULL OR o.campaign_id = $3) ORDER BY c.created_at_ms";
const NUMBER_MONTH_ESTIMATE: &str = "SELECT CAST(COALESCE(SUM(c.estimate_micros), 0) AS BIGINT) FROM message_costs c JOIN outbound o ON o.id = c.outbound_id \
     WHERE c.phone_number_id = $1 AND c.month = $2 AND o.state NOT IN ('refused', 'cancelled', 'failed') AND ($3 IS NULL OR o.campaign_id IS NULL OR o.campaign_id <> $3)";
// A team's month: its campaigns, and what its agents sent outside campaigns (replies and
// templates from the inbox).
const TEAM_MONTH_ESTIMATE: &str = "SELECT CAST(COALESCE(SUM(c.estimate_micros), 0) AS BIGINT) FROM message_costs c JOIN outbound o ON o.id = c.outbound_id \
     WHERE c.month = $2 AND o.state NOT IN ('refused', 'cancelled', 'failed') AND ($3 IS NULL OR o.campaign_id IS NULL OR o.campaign_id <> $3) \
     AND (o.campaign_id IN (SELECT id FROM campaigns WHERE team_id = $1) \
          OR (o.campaign_id IS NULL AND o.created_by IN (SELECT 'user:' || CAST(id AS TEXT) FROM users WHERE team_id = $1)))";
const TEAM_BUDGET: &str = "SELECT id, monthly_budget_micros FROM teams WHERE name = $1";
const TEAM_BUDGETS: &str = "SELECT id, name, monthly_budget_micros FROM teams WHERE monthly_budget_micros IS NOT NULL ORDER BY name";
const SET_TEAM_BUDGET: &str = "INSERT INTO teams (name, created_at_ms, monthly_budget_micros) VALUES ($1, $2, $3) \
     ON CONFLICT (name) DO UPDATE SET monthly_budget_micros = excluded.monthly_budget_micros RETURNING id";
const CAMPAIGN_ESTIMATE: &str = "SELECT CAST(COALESCE(SUM(c.estimate_micros), 0) AS BIGINT) FROM message_costs c JOIN outbound o ON o.id = c.outbound_id \
     WHERE o.campaign_id = $1 AND o.state NOT IN ('refused', 'cancelled')";

const TEMPLATE_CATEGORY: &str =
    "SELECT category FROM template_state WHERE waba_id = $1 AND name = $2 AND language = $3";

impl Store {
    /// A template's category as the registry knows it (`MARKETING`, `UTILITY`, …).
    pub async fn template_category(
        &self,
        waba_id: &str,
        name: &str,
        language: &str,
    ) -> Result<Option<String>, StoreError> {
        with_pool!(&self.pool, p => {
            let row: Option<(Option<String>,)> = sqlx::query_as(TEMPLATE_CATEGORY).bind(waba_id).bind(name).bind(language).fetch_optional(p).await?;
            Ok(row.and_then(|r| r.0))
        })
    }

    /// Contact ids of these phone numbers (`wa_id`s) where known.
    pub async fn contact_ids_by_wa_ids(
        &self,
        wa_ids: &[String],
    ) -> Result<HashMap<String, i64>, StoreError> {
        let mut out = HashMap::new();
        for chunk in wa_ids.chunks(500) {
            let rows: Vec<(String, i64)> = with_pool!(&self.pool, p => {
                let mut q = sqlx::QueryBuilder::new("SELECT wa_id, id FROM contacts WHERE wa_id IN ");
                crate::push_list!(q, chunk);
                q.build_query_as().fetch_all(p).await?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    pub async fn import_rate_card(
        &self,
        effective: &str,
        currency: &str,
        label: &str,
        rates_csv: &str,
        tiers_csv: Option<&str>,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        with_pool!(&self.writer, p => {
            let (id,): (i64,) = sqlx::query_as(INSERT_CARD).bind(effective).bind(currency).bind(label).bind(rates_csv).bind(tiers_csv).bind(now_ms).fetch_one(p).await?;
            Ok(id)
        })
    }

    /// The card in force on `date` (YYYY-MM-DD), if any was imported.
    pub async fn active_rate_card(&self, date: &str) -> Result<Option<RateCardRow>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(ACTIVE_CARD).bind(date).fetch_optional(p).await?))
    }

    pub async fn rate_cards(&self) -> Result<Vec<RateCardRow>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(CARDS).fetch_all(p).await?))
    }

    /// Charged estimates this month per (market, category), for volume tiers.
    pub async fn month_counts(
        &self,
        month: &str,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), i64>, StoreError> {
        let mut out = HashMap::new();
        with_pool!(&self.pool, p => {
            for (market, category) in keys {
                let (n,): (i64,) = sqlx::query_as(MONTH_COUNT).bind(month).bind(market).bind(category).fetch_one(p).await?;
                out.insert((market.clone(), category.clone()), n);
            }
        });
        Ok(out)
    }

    /// Records estimates (many in one transaction; a message keeps its first estimate).
    pub async fn record_costs(&self, costs: &[NewCost], now_ms: i64) -> Result<(), StoreError> {
        if costs.is_empty() {
            return Ok(());
        }
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            for chunk in costs.chunks(500) {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO message_costs (outbound_id, phone_number_id, market, category, pricing_type, estimate_micros, month_seq, currency, card_effective, month, created_at_ms) ");
                q.push_values(chunk, |mut b, c| {
                    b.push_bind(c.outbound_id).push_bind(c.phone_number_id.as_str()).push_bind(c.market.as_str()).push_bind(c.category.as_str())
                        .push_bind(c.pricing_type.as_str()).push_bind(c.estimate_micros).push_bind(c.month_seq).push_bind(c.currency.as_str())
                        .push_bind(c.card_effective.as_str()).push_bind(c.month.as_str()).push_bind(now_ms);
                });
                q.push(" ON CONFLICT (outbound_id) DO NOTHING");
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Ledger lines created in `[from_ms, to_ms)`, optionally of one campaign.
    pub async fn cost_rows(
        &self,
        from_ms: i64,
        to_ms: i64,
        campaign: Option<i64>,
    ) -> Result<Vec<CostRow>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(ROWS).bind(from_ms).bind(to_ms).bind(campaign).fetch_all(p).await?))
    }

    /// What a number's messages this month are estimated to cost (leaving out one campaign).
    pub async fn number_month_estimate(
        &self,
        phone_number_id: &str,
        month: &str,
        except_campaign: Option<i64>,
    ) -> Result<i64, StoreError> {
        with_pool!(&self.pool, p => {
            let (n,): (i64,) = sqlx::query_as(NUMBER_MONTH_ESTIMATE).bind(phone_number_id).bind(month).bind(except_campaign).fetch_one(p).await?;
            Ok(n)
        })
    }

    /// What a team's campaigns and agents are estimated to cost in `month`, leaving out one
    /// campaign (the one being decided).
    pub async fn team_month_estimate(
        &self,
        team_id: i64,
        month: &str,
        except_campaign: Option<i64>,
    ) -> Result<i64, StoreError> {
        with_pool!(&self.pool, p => {
            let (n,): (i64,) = sqlx::query_as(TEAM_MONTH_ESTIMATE).bind(team_id).bind(month).bind(except_campaign).fetch_one(p).await?;
            Ok(n)
        })
    }

    /// A team's id and monthly budget (micro-units), if the team exists.
    pub async fn team_budget(&self, name: &str) -> Result<Option<(i64, Option<i64>)>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(TEAM_BUDGET).bind(name).fetch_optional(p).await?))
    }

    /// Teams with a budget: (id, name, budget micro-units).
    pub async fn team_budgets(&self) -> Result<Vec<(i64, String, i64)>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(TEAM_BUDGETS).fetch_all(p).await?))
    }

    /// Sets (or with `None` clears) a team's monthly budget; the team is created if new.
    pub async fn set_team_budget(
        &self,
        name: &str,
        micros: Option<i64>,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        with_pool!(&self.writer, p => {
            let (id,): (i64,) = sqlx::query_as(SET_TEAM_BUDGET).bind(name).bind(now_ms).bind(micros).fetch_one(p).await?;
            Ok(id)
        })
    }

    pub async fn campaign_estimate(&self, campaign_id: i64) -> Result<i64, StoreError> {
        with_pool!(&self.pool, p => {
            let (n,): (i64,) = sqlx::query_as(CAMPAIGN_ESTIMATE).bind(campaign_id).fetch_one(p).await?;
            Ok(n)
        })
    }

    /// (contact, last inbound, free-entry-point expiry) of a number's conversations with these
    /// contacts, for pricing.
    pub async fn window_facts(
        &self,
        phone_number_id: &str,
        contacts: &[i64],
    ) -> Result<HashMap<i64, (Option<i64>, Option<i64>)>, StoreError> {
        let mut out = HashMap::new();
        for chunk in contacts.chunks(500) {
            let rows: Vec<(i64, Option<i64>, Option<i64>)> = with_pool!(&self.pool, p => {
                let mut q = sqlx::QueryBuilder::new("SELECT contact_id, last_inbound_at_ms, fep_expires_at_ms FROM conversations WHERE phone_number_id = ");
                q.push_bind(phone_number_id);
                q.push(" AND contact_id IN ");
                crate::push_list!(q, chunk);
                q.build_query_as().fetch_all(p).await?
            });
            out.extend(rows.into_iter().map(|(c, l, f)| (c, (l, f))));
        }
        Ok(out)
    }
}
