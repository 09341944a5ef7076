//! Contacts with their consent, in and out as CSV: an export of every contact's latest consent
//! per purpose, and an import that creates missing contacts and appends consent records (one
//! transaction, so a failed import changes nothing).

use serde::Serialize;

use crate::contacts::ContactKey;
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
                let key = ContactKey { wa_id: Some(r.wa_id.clone()), name_if_unknown: r.name.clone(), ..ContactKey::default() };
                let (id, created) = crate::contacts::resolve_contact!(tx, &key, now_ms);
                sum.contacts_created += usize::from(created);
                for (purpose, action) in [("marketing", r.marketing), ("all", r.all_messages)] {
                    if let Some(action) = action {
                        sqlx::query(RECORD_CONSENT).bind(id).bind(None::<String>).bind(purpose).bind(action).bind(&r.source).bind(&r.evidence)
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

const RECORD_CONSENT: &str = "INSERT INTO consents (contact_id, phone_number_id, purpose, action, source, evidence, actor, at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// One consent record.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct ConsentRow {
    pub id: i64,
    pub phone_number_id: Option<String>,
    pub purpose: String,
    pub action: String,
    pub source: String,
    pub evidence: Option<String>,
    pub actor: Option<String>,
    pub at_ms: i64,
}

const CONSENT_HISTORY: &str = "SELECT id, phone_number_id, purpose, action, source, evidence, actor, at_ms FROM consents \
     WHERE contact_id = $1 ORDER BY at_ms DESC, id DESC";

impl Store {
    /// Appends a consent record (opt-in or opt-out) for a contact.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_consent(
        &self,
        contact_id: i64,
        phone_number_id: Option<&str>,
        purpose: &str,
        action: &str,
        source: &str,
        evidence: Option<&str>,
        actor: Option<&str>,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        with_pool!(&self.writer, p => {
            sqlx::query(RECORD_CONSENT).bind(contact_id).bind(phone_number_id).bind(purpose).bind(action).bind(source)
                .bind(evidence).bind(actor).bind(at_ms).execute(p).await?;
            Ok(())
        })
    }

    /// A contact's consent records, newest first.
    pub async fn consent_history(&self, contact_id: i64) -> Result<Vec<ConsentRow>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(CONSENT_HISTORY).bind(contact_id).fetch_all(p).await?))
    }
}
