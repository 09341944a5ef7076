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

/// A contact's identity as [`resolve_many!`] reads it: (id, wa_id, bsuid, parent_bsuid,
/// username, name).
pub(crate) type ContactFacts = (
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl ContactKey {
    /// Whether [`UPDATE_CONTACT`] would change the contact `row`, so a batch writes only the
    /// contacts a key adds to (a customer writing again under the same name changes nothing).
    /// The statement's rules, read the other way: a phone or BSUID fills only an empty one; a
    /// parent BSUID, username or the customer's name replaces a different one; a name the
    /// business gave fills only a contact with none.
    pub(crate) fn would_change(&self, row: &ContactFacts) -> bool {
        let (_, wa_id, bsuid, parent, username, name) = row;
        (self.wa_id.is_some() && wa_id.is_none())
            || (self.bsuid.is_some() && bsuid.is_none())
            || (self.parent_bsuid.is_some() && parent != &self.parent_bsuid)
            || (self.username.is_some() && username != &self.username)
            || (self.name.is_some() && name != &self.name)
            || (self.name.is_none() && self.name_if_unknown.is_some() && name.is_none())
    }

    /// Folds a later key for the same customer into this one, as applying both in order would:
    /// what the later one says wins, what it does not say is kept.
    pub(crate) fn absorb(&mut self, later: &ContactKey) {
        fn take(mine: &mut Option<String>, theirs: &Option<String>) {
            if theirs.is_some() {
                mine.clone_from(theirs);
            }
        }
        take(&mut self.wa_id, &later.wa_id);
        take(&mut self.bsuid, &later.bsuid);
        take(&mut self.parent_bsuid, &later.parent_bsuid);
        take(&mut self.username, &later.username);
        take(&mut self.name, &later.name);
        take(&mut self.name_if_unknown, &later.name_if_unknown);
    }

    /// The identifier a batch knows this customer by: the BSUID, else the phone.
    pub(crate) fn batch_key(&self) -> Option<(&str, bool)> {
        self.bsuid
            .as_deref()
            .map(|b| (b, true))
            .or_else(|| self.wa_id.as_deref().map(|w| (w, false)))
    }
}

/// The contacts of many keys, found or made inside `$tx` at `$now` with a few set statements,
/// by [`resolve_contact!`]'s rules: found by BSUID, then by phone; a found contact is updated
/// only when the key adds to it ([`ContactKey::would_change`]); the rest are made in one
/// statement. Keys that could meet one another (two new keys sharing a phone or a BSUID), keys
/// with only a parent BSUID, and a contact another transaction made meanwhile go through
/// [`resolve_contact!`] one by one, in order (so should a batch's keys repeat one customer,
/// fold them first with [`ContactKey::absorb`]). `$keys: &[&ContactKey]`; evaluates to their
/// ids, in order.
macro_rules! resolve_many {
    ($tx:expr, $keys:expr, $now:expr) => {{
        let keys: &[&$crate::contacts::ContactKey] = $keys;
        let now: i64 = $now;
        let mut rows: Vec<Option<$crate::contacts::ContactFacts>> = vec![None; keys.len()];
        for by_bsuid in [true, false] {
            let column = if by_bsuid { "bsuid" } else { "wa_id" };
            let ident = |k: &$crate::contacts::ContactKey| {
                if by_bsuid {
                    k.bsuid.clone()
                } else {
                    k.wa_id.clone()
                }
            };
            let mut wanted: Vec<String> = keys
                .iter()
                .zip(&rows)
                .filter(|(_, row)| row.is_none())
                .filter_map(|(k, _)| ident(k))
                .collect();
            wanted.sort_unstable();
            wanted.dedup();
            let mut found: std::collections::HashMap<String, $crate::contacts::ContactFacts> =
                std::collections::HashMap::new();
            for chunk in wanted.chunks(500) {
                let mut q = sqlx::QueryBuilder::new(format!(
                    "SELECT id, wa_id, bsuid, parent_bsuid, username, name FROM contacts WHERE {column} IN "
                ));
                $crate::push_list!(q, chunk);
                let got: Vec<$crate::contacts::ContactFacts> =
                    q.build_query_as().fetch_all(&mut *$tx).await?;
                for row in got {
                    let value = if by_bsuid { row.2.clone() } else { row.1.clone() };
                    if let Some(v) = value {
                        found.insert(v, row);
                    }
                }
            }
            for (k, row) in keys.iter().zip(rows.iter_mut()) {
                if row.is_none() {
                    if let Some(v) = ident(k) {
                        *row = found.get(&v).cloned();
                    }
                }
            }
        }
        let mut ids: Vec<Option<i64>> = vec![None; keys.len()];
        // Made in one statement: new keys with a phone or BSUID no other new key shares.
        let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (k, row) in keys.iter().zip(&rows) {
            if row.is_none() {
                for v in [k.wa_id.as_deref(), k.bsuid.as_deref()].into_iter().flatten() {
                    *seen.entry(v).or_default() += 1;
                }
            }
        }
        let alone = |k: &$crate::contacts::ContactKey| {
            (k.wa_id.is_some() || k.bsuid.is_some())
                && [k.wa_id.as_deref(), k.bsuid.as_deref()]
                    .into_iter()
                    .flatten()
                    .all(|v| seen.get(v) == Some(&1))
        };
        let new: Vec<usize> = (0..keys.len())
            .filter(|&i| rows[i].is_none() && alone(keys[i]))
            .collect();
        for chunk in new.chunks(500) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO contacts (wa_id, bsuid, parent_bsuid, username, name, created_at_ms, updated_at_ms) ",
            );
            q.push_values(chunk, |mut b, &i| {
                let k = keys[i];
                b.push_bind(&k.wa_id)
                    .push_bind(&k.bsuid)
                    .push_bind(&k.parent_bsuid)
                    .push_bind(&k.username)
                    .push_bind(k.name.as_ref().or(k.name_if_unknown.as_ref()))
                    .push_bind(now)
                    .push_bind(now);
            });
            q.push(" ON CONFLICT DO NOTHING RETURNING id, wa_id, bsuid");
            let made: Vec<(i64, Option<String>, Option<String>)> =
                q.build_query_as().fetch_all(&mut *$tx).await?;
            let made: std::collections::HashMap<(bool, String), i64> = made
                .into_iter()
                .flat_map(|(id, w, b)| {
                    [w.map(|w| ((false, w), id)), b.map(|b| ((true, b), id))]
                        .into_iter()
                        .flatten()
                })
                .collect();
            for &i in chunk {
                let k = keys[i];
                ids[i] = match (&k.bsuid, &k.wa_id) {
                    (Some(b), _) => made.get(&(true, b.clone())).copied(),
                    (None, Some(w)) => made.get(&(false, w.clone())).copied(),
                    (None, None) => None,
                };
            }
        }
        for i in 0..keys.len() {
            if ids[i].is_some() {
                continue;
            }
            let k = keys[i];
            ids[i] = Some(match &rows[i] {
                Some(row) if !k.would_change(row) => row.0,
                // Found, and the key adds to it: the one statement that fills a contact.
                Some(row) => {
                    sqlx::query($crate::contacts::UPDATE_CONTACT)
                        .bind(row.0)
                        .bind(&k.wa_id)
                        .bind(&k.bsuid)
                        .bind(&k.parent_bsuid)
                        .bind(&k.username)
                        .bind(&k.name)
                        .bind(now)
                        .bind(&k.name_if_unknown)
                        .execute(&mut *$tx)
                        .await?;
                    row.0
                }
                // Made where the batch could not: the one-key rules.
                None => $crate::contacts::contact_id!($tx, k, now),
            });
        }
        ids.into_iter().map(|id| id.unwrap_or_default()).collect::<Vec<i64>>()
    }};
}
pub(crate) use resolve_many;
