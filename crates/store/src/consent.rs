//! Contacts with their consent, in and out as CSV: an export of every contact's latest consent
//! per purpose, and an import that creates missing contacts and appends consent records (one
//! transaction, so a failed import changes nothing).

use serde::Serialize;

use crate::contacts::{FIND_BY_WA_ID, INSERT_CONTACT};
use crate::{BeginWrite, Store, StoreError, with_pool};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct ContactConsentRow {
    pub id: i64,
    pub wa_id: Option<String>,
    pub bsuid: Option<String>,
    pub name: Option<String>,
    pub marketing: Option<String>,
    pub all_messages: Option<String>,
}

/// One imported line: a phone (`wa_id` digits), an optional name, and consent per purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub wa_id: String,
    pub name: Option<String>,
    pub marketing: Option<&'static str>,
    pub all_messages: Option<&'static str>,
    pub source: String,
    pub evidence: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub rows: usize,
    pub contacts_created: usize,
    pub consents_recorded: usize,
}

const EXPORT: &str = "SELECT c.id, c.wa_id, c.bsuid, c.name, \
       (SELECT x.action FROM consents x WHERE x.contact_id = c.id AND x.purpose = 'marketing' ORDER BY x.at_ms DESC, x.id DESC LIMIT 1) AS marketing, \
       (SELECT x.action FROM consents x WHERE x.contact_id = c.id AND x.purpose = 'all' ORDER BY x.at_ms DESC, x.id DESC LIMIT 1) AS all_messages \
     FROM contacts c ORDER BY c.id";
const INSERT_CONSENT: &str = "INSERT INTO consents (contact_id, phone_number_id, purpose, action, source, evidence, actor, at_ms) \
     VALUES ($1, NULL, $2, $3, $4, $5, $6, $7)";
const SET_NAME: &str =
    "UPDATE contacts SET name = COALESCE(name, $2), updated_at_ms = $3 WHERE id = $1";

const META_PREFS: &str = "SELECT phone_number_id, value, meta_at_ms FROM marketing_preferences WHERE contact_id = $1 ORDER BY meta_at_ms DESC, id DESC";

impl Store {
    /// Meta's marketing-preference webhooks for a contact (`stop`/`resume`), newest first.
    pub async fn meta_marketing_preferences(
        &self,
        contact_id: i64,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(META_PREFS).bind(contact_id).fetch_all(p).await?))
    }

    pub async fn contacts_with_consent(&self) -> Result<Vec<ContactConsentRow>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(EXPORT).fetch_all(p).await?))
    }

    pub async fn import_contacts(
        &self,
        rows: &[ImportRow],
        actor: &str,
        now_ms: i64,
    ) -> Result<ImportSummary, StoreError> {
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            let mut sum = ImportSummary { rows: rows.len(), ..Default::default() };
            for r in rows {
                let found: Option<(i64,)> = sqlx::query_as(FIND_BY_WA_ID).bind(&r.wa_id).fetch_optional(&mut *tx).await?;
                let id = match found {
                    Some((id,)) => {
                        sqlx::query(SET_NAME).bind(id).bind(&r.name).bind(now_ms).execute(&mut *tx).await?;
                        id
                    }
                    None => {
                        let (id,): (i64,) = sqlx::query_as(INSERT_CONTACT).bind(&r.wa_id).bind(None::<String>).bind(None::<String>)
                            .bind(None::<String>).bind(&r.name).bind(now_ms).fetch_one(&mut *tx).await?;
                        sum.contacts_created += 1;
                        id
                    }
                };
                for (purpose, action) in [("marketing", r.marketing), ("all", r.all_messages)] {
                    if let Some(action) = action {
                        sqlx::query(INSERT_CONSENT).bind(id).bind(purpose).bind(action).bind(&r.source).bind(&r.evidence)
                            .bind(actor).bind(now_ms).execute(&mut *tx).await?;
                        sum.consents_recorded += 1;
                    }
                }
            }
            tx.commit().await?;
            Ok(sum)
        })
    }
}
