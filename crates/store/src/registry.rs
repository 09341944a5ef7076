//! The template registry as the API shows it: every template Meta told us about (by pull or
//! webhook) with its status, category, quality and rejection reason, whether its definition is
//! known (it must be, to be sent), and its history from the template webhooks.

use serde::Serialize;

use crate::{Store, StoreError, with_pool};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct TemplateRow {
    pub waba_id: String,
    pub name: String,
    pub language: String,
    pub template_id: Option<String>,
    pub status: Option<String>,
    pub reason: Option<String>,
    pub category: Option<String>,
    pub quality: Option<String>,
    pub updated_at_ms: i64,
    pub definition: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct TemplateEvent {
    pub field: String,
    pub meta_at_ms: Option<i64>,
    pub payload: String,
}

const LIST: &str = "SELECT s.waba_id, s.name, s.language, s.template_id, s.status, s.reason, s.category, s.quality, s.updated_at_ms, d.definition \
     FROM template_state s LEFT JOIN template_definitions d ON d.waba_id = s.waba_id AND d.name = s.name AND d.language = s.language \
     WHERE s.waba_id = $1 ORDER BY s.name, s.language";
const ONE: &str = "SELECT s.waba_id, s.name, s.language, s.template_id, s.status, s.reason, s.category, s.quality, s.updated_at_ms, d.definition \
     FROM template_state s LEFT JOIN template_definitions d ON d.waba_id = s.waba_id AND d.name = s.name AND d.language = s.language \
     WHERE s.waba_id = $1 AND s.name = $2 AND s.language = $3";
const EVENTS: &str = "SELECT field, meta_at_ms, payload FROM account_events WHERE waba_id = $1 \
     AND field IN ('message_template_status_update', 'message_template_quality_update', 'template_category_update', 'message_template_components_update') \
     ORDER BY meta_at_ms DESC, id DESC LIMIT 2000";

impl Store {
    pub async fn templates(&self, waba_id: &str) -> Result<Vec<TemplateRow>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(LIST).bind(waba_id).fetch_all(p).await?))
    }

    pub async fn template(
        &self,
        waba_id: &str,
        name: &str,
        language: &str,
    ) -> Result<TemplateRow, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(ONE).bind(waba_id).bind(name).bind(language).fetch_one(p).await?))
    }

    /// The account's template webhooks, newest first (the caller picks one template's).
    pub async fn template_events(&self, waba_id: &str) -> Result<Vec<TemplateEvent>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(EVENTS).bind(waba_id).fetch_all(p).await?))
    }
}

const UPSERT_DEFINITION: &str = "INSERT INTO template_definitions (waba_id, name, language, definition, synced_at_ms) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (waba_id, name, language) DO UPDATE SET definition = excluded.definition, synced_at_ms = excluded.synced_at_ms";

impl Store {
    /// Stores templates as Meta returned them (`GET /message_templates` items) and records the
    /// status and category seen, as of `now_ms`, beside those the webhooks keep.
    pub async fn sync_templates(
        &self,
        waba_id: &str,
        templates: &[serde_json::Value],
        now_ms: i64,
    ) -> Result<usize, StoreError> {
        with_pool!(&self.writer, p => {
            let mut tx = crate::BeginWrite::begin_write(p).await?;
            let mut n = 0;
            for t in templates {
                let (Some(name), Some(language)) = (t.get("name").and_then(|v| v.as_str()), t.get("language").and_then(|v| v.as_str())) else { continue };
                sqlx::query(UPSERT_DEFINITION).bind(waba_id).bind(name).bind(language).bind(t.to_string()).bind(now_ms).execute(&mut *tx).await?;
                let s = |k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_ascii_uppercase);
                sqlx::query(crate::inbound::UPSERT_TEMPLATE).bind(waba_id).bind(name).bind(language).bind(t.get("id").and_then(|v| v.as_str()))
                    .bind(s("status")).bind(s("category")).bind(t.get("quality_score").and_then(|q| q.get("score")).and_then(|v| v.as_str()))
                    .bind(t.get("rejected_reason").and_then(|v| v.as_str())).bind(now_ms)
                    .execute(&mut *tx).await?;
                n += 1;
            }
            tx.commit().await?;
            Ok(n)
        })
    }
}
