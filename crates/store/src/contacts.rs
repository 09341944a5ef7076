//! Who a customer is: the one resolver of a contact from what identifies it (a BSUID, a phone
//! number as `wa_id`, a parent BSUID, a username, a profile name), used wherever a contact is
//! found or made: projection of Meta's webhooks and the outbox's sends.
//!
//! A contact is found by BSUID first (it survives a change of number), then by phone. What the
//! key knows and the row does not is filled in (a phone or BSUID already on another contact is
//! left alone); a name the customer set replaces the old one. A key that says nothing beyond the
//! identifier it was found by changes nothing, so a campaign to 100,000 known customers writes
//! no contact rows.

/// A customer as a webhook identifies them (§13.7: parent BSUID, BSUID, wa_id; any may be absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactKey {
    pub wa_id: Option<String>,
    pub bsuid: Option<String>,
    pub parent_bsuid: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
}

impl ContactKey {
    /// Whether the key carries facts beyond one identifier (a name, a username, a parent
    /// BSUID, or both a phone and a BSUID): only then can it add to a contact found by it.
    pub fn says_more_than_an_identifier(&self) -> bool {
        self.name.is_some()
            || self.username.is_some()
            || self.parent_bsuid.is_some()
            || (self.wa_id.is_some() && self.bsuid.is_some())
    }
}

pub(crate) const FIND_BY_BSUID: &str = "SELECT id FROM contacts WHERE bsuid = $1";
pub(crate) const FIND_BY_WA_ID: &str = "SELECT id FROM contacts WHERE wa_id = $1";
pub(crate) const INSERT_CONTACT: &str = "INSERT INTO contacts (wa_id, bsuid, parent_bsuid, username, name, created_at_ms, updated_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id";
// Fill what we did not know; a phone or BSUID already on another contact is left alone.
pub(crate) const UPDATE_CONTACT: &str = "UPDATE contacts SET \
       wa_id = CASE WHEN wa_id IS NULL AND NOT EXISTS (SELECT 1 FROM contacts c2 WHERE c2.wa_id = $2) THEN $2 ELSE wa_id END, \
       bsuid = CASE WHEN bsuid IS NULL AND NOT EXISTS (SELECT 1 FROM contacts c3 WHERE c3.bsuid = $3) THEN $3 ELSE bsuid END, \
       parent_bsuid = COALESCE($4, parent_bsuid), username = COALESCE($5, username), name = COALESCE($6, name), updated_at_ms = $7 \
     WHERE id = $1";

/// The id of the contact `$key` (a `&ContactKey`) identifies, found or made inside the
/// transaction `$tx` at `$now` (ms); `?` propagates database errors.
macro_rules! contact_id {
    ($tx:expr, $key:expr, $now:expr) => {{
        let key: &$crate::contacts::ContactKey = $key;
        let mut found: Option<(i64,)> = None;
        if let Some(b) = &key.bsuid {
            found = sqlx::query_as($crate::contacts::FIND_BY_BSUID)
                .bind(b)
                .fetch_optional(&mut *$tx)
                .await?;
        }
        if found.is_none() {
            if let Some(w) = &key.wa_id {
                found = sqlx::query_as($crate::contacts::FIND_BY_WA_ID)
                    .bind(w)
                    .fetch_optional(&mut *$tx)
                    .await?;
            }
        }
        match found {
            Some((id,)) if key.says_more_than_an_identifier() => {
                sqlx::query($crate::contacts::UPDATE_CONTACT)
                    .bind(id)
                    .bind(&key.wa_id)
                    .bind(&key.bsuid)
                    .bind(&key.parent_bsuid)
                    .bind(&key.username)
                    .bind(&key.name)
                    .bind($now)
                    .execute(&mut *$tx)
                    .await?;
                id
            }
            Some((id,)) => id,
            None => {
                let (id,): (i64,) = sqlx::query_as($crate::contacts::INSERT_CONTACT)
                    .bind(&key.wa_id)
                    .bind(&key.bsuid)
                    .bind(&key.parent_bsuid)
                    .bind(&key.username)
                    .bind(&key.name)
                    .bind($now)
                    .fetch_one(&mut *$tx)
                    .await?;
                id
            }
        }
    }};
}
pub(crate) use contact_id;
