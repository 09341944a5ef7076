//! Who a customer is: the one resolver of a contact from what identifies it (a BSUID, a phone
//! number as `wa_id`, a parent BSUID, a username, a profile name), used wherever a contact is
//! found or made: projection of Meta's webhooks, the outbox's sends and the contacts import.
//!
//! A contact is found by BSUID first (it survives a change of number), then by phone, and a key
//! with only a parent BSUID by that. What the
//! key knows and the row does not is filled in (a phone or BSUID already on another contact is
//! left alone); a name the customer set replaces the old one, while a name the business gave
//! (an import) only fills a contact that has none. A key that says nothing beyond the
//! identifier it was found by changes nothing, so a campaign to 100,000 known customers writes
//! no contact rows.

/// A customer as a webhook identifies them (§13.7: parent BSUID, BSUID, wa_id; any may be absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactKey {
    pub wa_id: Option<String>,
    pub bsuid: Option<String>,
    pub parent_bsuid: Option<String>,
    pub username: Option<String>,
    /// The customer's own profile name: replaces the one we have.
    pub name: Option<String>,
    /// A name the business knows them by (an import): used only when we have none.
    pub name_if_unknown: Option<String>,
}

impl ContactKey {
    /// Whether the key carries facts beyond one identifier (a name, a username, a parent
    /// BSUID beside another identifier, or both a phone and a BSUID): only then can it add to a contact found by it.
    pub fn says_more_than_an_identifier(&self) -> bool {
        self.name.is_some()
            || self.name_if_unknown.is_some()
            || self.username.is_some()
            || (self.parent_bsuid.is_some() && (self.wa_id.is_some() || self.bsuid.is_some()))
            || (self.wa_id.is_some() && self.bsuid.is_some())
    }
}

pub(crate) const FIND_BY_BSUID: &str = "SELECT id FROM contacts WHERE bsuid = $1";
pub(crate) const FIND_BY_PHONE: &str = "SELECT id FROM contacts WHERE wa_id = $1";
// The oldest contact of a parent BSUID, for a key that carries nothing else (a send addressed
// to a parent BSUID).
pub(crate) const FIND_BY_PARENT: &str =
    "SELECT id FROM contacts WHERE parent_bsuid = $1 ORDER BY id LIMIT 1";
pub(crate) const INSERT_CONTACT: &str = "INSERT INTO contacts (wa_id, bsuid, parent_bsuid, username, name, created_at_ms, updated_at_ms) \
     VALUES ($1, $2, $3, $4, COALESCE($5, $7), $6, $6) RETURNING id";
// Fill what we did not know; a phone or BSUID already on another contact is left alone.
pub(crate) const UPDATE_CONTACT: &str = "UPDATE contacts SET \
       wa_id = CASE WHEN wa_id IS NULL AND NOT EXISTS (SELECT 1 FROM contacts c2 WHERE c2.wa_id = $2) THEN $2 ELSE wa_id END, \
       bsuid = CASE WHEN bsuid IS NULL AND NOT EXISTS (SELECT 1 FROM contacts c3 WHERE c3.bsuid = $3) THEN $3 ELSE bsuid END, \
       parent_bsuid = COALESCE($4, parent_bsuid), username = COALESCE($5, username), name = COALESCE($6, name, $8), updated_at_ms = $7 \
     WHERE id = $1";

/// The id of the contact `$key` (a `&ContactKey`) identifies, found or made inside the
/// transaction `$tx` at `$now` (ms); `?` propagates database errors.
macro_rules! contact_id {
    ($tx:expr, $key:expr, $now:expr) => {
        $crate::contacts::resolve_contact!($tx, $key, $now).0
    };
}
pub(crate) use contact_id;

/// As [`contact_id!`], with whether the contact was made now: `(id, created)`.
macro_rules! resolve_contact {
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
                found = sqlx::query_as($crate::contacts::FIND_BY_PHONE)
                    .bind(w)
                    .fetch_optional(&mut *$tx)
                    .await?;
            }
        }
        if found.is_none() && key.bsuid.is_none() && key.wa_id.is_none() {
            if let Some(parent) = &key.parent_bsuid {
                found = sqlx::query_as($crate::contacts::FIND_BY_PARENT)
                    .bind(parent)
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
                    .bind(&key.name_if_unknown)
                    .execute(&mut *$tx)
                    .await?;
                (id, false)
            }
            Some((id,)) => (id, false),
            None => {
                let (id,): (i64,) = sqlx::query_as($crate::contacts::INSERT_CONTACT)
                    .bind(&key.wa_id)
                    .bind(&key.bsuid)
                    .bind(&key.parent_bsuid)
                    .bind(&key.username)
                    .bind(&key.name)
                    .bind($now)
                    .bind(&key.name_if_unknown)
                    .fetch_one(&mut *$tx)
                    .await?;
                (id, true)
            }
        }
    }};
}
pub(crate) use resolve_contact;

impl crate::Store {
    /// The contact with this phone number (`wa_id`: digits without `+`), if known.
    pub async fn contact_id_by_wa_id(&self, wa_id: &str) -> Result<Option<i64>, crate::StoreError> {
        crate::with_pool!(&self.pool, p => {
            let row: Option<(i64,)> = sqlx::query_as(FIND_BY_PHONE).bind(wa_id).fetch_optional(p).await?;
            Ok(row.map(|r| r.0))
        })
    }
}

/// The contacts of many keys that each say nothing beyond one identifier (a phone or a BSUID:
/// a campaign's recipients), found or made with a few set statements inside `$tx` at `$now`.
/// The rule is [`resolve_contact!`]'s for such keys: found by that identifier, else made;
/// nothing to update. `$keys: &[&ContactKey]`; evaluates to their ids, in order.
macro_rules! resolve_identified {
    ($tx:expr, $keys:expr, $now:expr) => {{
        let keys: &[&$crate::contacts::ContactKey] = $keys;
        let now: i64 = $now;
        let mut found: [std::collections::HashMap<String, i64>; 2] = Default::default();
        for (slot, column) in [(0usize, "wa_id"), (1, "bsuid")] {
            // A key with a BSUID is found by it (as `resolve_contact!` does first).
            let mut wanted: Vec<&str> = keys
                .iter()
                .filter_map(|k| match slot {
                    0 if k.bsuid.is_none() => k.wa_id.as_deref(),
                    0 => None,
                    _ => k.bsuid.as_deref(),
                })
                .collect();
            wanted.sort_unstable();
            wanted.dedup();
            for _pass in 0..2 {
                let missing: Vec<&str> = wanted
                    .iter()
                    .copied()
                    .filter(|w| !found[slot].contains_key(*w))
                    .collect();
                for chunk in missing.chunks(500) {
                    let mut q = sqlx::QueryBuilder::new(format!(
                        "SELECT id, {column} FROM contacts WHERE {column} IN "
                    ));
                    $crate::push_list!(q, chunk);
                    let rows: Vec<(i64, String)> = q.build_query_as().fetch_all(&mut *$tx).await?;
                    found[slot].extend(rows.into_iter().map(|(id, w)| (w, id)));
                }
                let missing: Vec<&str> = wanted
                    .iter()
                    .copied()
                    .filter(|w| !found[slot].contains_key(*w))
                    .collect();
                if missing.is_empty() {
                    break;
                }
                // Made; one that another transaction made meanwhile is found on the next pass.
                for chunk in missing.chunks(500) {
                    let mut q = sqlx::QueryBuilder::new(format!(
                        "INSERT INTO contacts ({column}, created_at_ms, updated_at_ms) "
                    ));
                    q.push_values(chunk, |mut b, w| {
                        b.push_bind(*w).push_bind(now).push_bind(now);
                    });
                    q.push(format!(" ON CONFLICT DO NOTHING RETURNING id, {column}"));
                    let rows: Vec<(i64, String)> = q.build_query_as().fetch_all(&mut *$tx).await?;
                    found[slot].extend(rows.into_iter().map(|(id, w)| (w, id)));
                }
            }
        }
        let mut ids = Vec::with_capacity(keys.len());
        for k in keys {
            let id = match (&k.bsuid, &k.wa_id) {
                (Some(b), _) => found[1].get(b).copied(),
                (None, Some(w)) => found[0].get(w).copied(),
                (None, None) => None,
            };
            ids.push(id.ok_or($crate::StoreError::NotFound)?);
        }
        ids
    }};
}
pub(crate) use resolve_identified;
