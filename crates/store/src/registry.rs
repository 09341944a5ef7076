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
