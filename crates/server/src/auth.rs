//! API keys: how they are made, stored and checked.
//!
//! A key is `sbk_` and 64 hex characters (256 random bits). Only its SHA-256 is stored, with the
//! first 12 characters as a prefix an admin can recognise; the key is shown once, at creation.
//! A fast hash is right here (unlike passwords): nobody can guess 256 random bits, so there is
//! nothing for a slow hash to protect against, and every API request pays the lookup.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};
use switchboard_domain::{Role, UnixMs};
use switchboard_store::{NewApiKey, Store, StoreError};

use crate::AppState;
use crate::error::ApiError;

const KEY_PREFIX: &str = "sbk_";

/// A newly made key: the plaintext (show once) and what to store.
pub struct IssuedKey {
    pub plaintext: String,
    pub record: NewApiKey,
}

pub fn issue_api_key(name: &str, role: Role, now: UnixMs) -> IssuedKey {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let plaintext = format!("{KEY_PREFIX}{}", hex::encode(bytes));
    let record = NewApiKey {
        name: name.to_owned(),
        role,
        prefix: plaintext[..12].to_owned(),
        key_hash: hash_api_key(&plaintext),
        created_at_ms: now.0,
    };
    IssuedKey { plaintext, record }
}

pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Creates and stores a key; returns its id and the plaintext to show once.
pub async fn create_api_key(
    store: &Store,
    name: &str,
    role: Role,
) -> Result<(i64, String), StoreError> {
    let issued = issue_api_key(name, role, UnixMs::now());
    let id = store.create_api_key(&issued.record).await?;
    Ok((id, issued.plaintext))
}

/// The caller of an API request: a bearer API key, or (when no `Authorization` header is sent)
/// a person logged in to the web inbox, whose unsafe requests must carry the session's CSRF
/// token. Handlers take it as an argument, so an endpoint without it cannot be reached
/// without credentials; `require` checks roles.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    /// The API key's id, or 0 for a person's session.
    pub key_id: i64,
    /// The person, when the caller is a logged-in session.
    pub user_id: Option<i64>,
    pub name: String,
    pub role: Role,
}

impl ApiCaller {
    /// Sending to any number (`POST /api/v1/messages`, campaigns) is for integrations (API
    /// keys) and admins: an agent in the inbox replies in a conversation they hold.
    pub fn require_integration(&self, what: &str) -> Result<(), ApiError> {
        if self.user_id.is_some() && self.role != Role::Admin {
            return Err(ApiError::Denied {
                code: "agents_reply_in_conversations",
                message: format!(
                    "Agents cannot {what} from the inbox; reply in a conversation you hold (POST /api/v1/conversations/{{id}}/reply), or use an API key."
                ),
            });
        }
        Ok(())
    }

    /// Who did it, as recorded: `api_key:3` or `user:5`.
    pub fn actor(&self) -> String {
        match self.user_id {
            Some(u) => format!("user:{u}"),
            None => format!("api_key:{}", self.key_id),
        }
    }

    /// What idempotency keys are scoped to (a key's id, kept as before; `u5` for a person).
    pub fn idempotency_scope(&self) -> String {
        match self.user_id {
            Some(u) => format!("u{u}"),
            None => self.key_id.to_string(),
        }
    }

    /// Whose share of the request and stream limits this is: `k3` for key 3, `u5` for person 5.
    pub fn limit_key(&self) -> String {
        match self.user_id {
            Some(u) => format!("u{u}"),
            None => format!("k{}", self.key_id),
        }
    }

    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                needed: needed.as_str(),
                has: self.role.as_str(),
            })
        }
    }
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            // The web inbox: its session (CSRF checked for unsafe methods), or no credentials.
            return match crate::agents::Agent::from_request_parts(parts, state).await {
                Ok(a) => Ok(ApiCaller {
                    key_id: 0,
                    user_id: Some(a.user.id),
                    name: a.user.name,
                    role: a.role,
                }),
                Err(ApiError::NotLoggedIn) => Err(ApiError::MissingCredentials),
                Err(e) => Err(e),
            };
        };
        let value = header.to_str().map_err(|_| ApiError::InvalidCredentials)?;
        let key = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or(ApiError::MissingCredentials)?;
        if !key.starts_with(KEY_PREFIX) {
            return Err(ApiError::InvalidCredentials);
        }
        // The lookup is by hash: an equality test on a hash leaks nothing usable about the key.
        let record = state
            .store
            .api_key_by_hash(&hash_api_key(key))
            .await?
            .ok_or(ApiError::InvalidCredentials)?;
        // Last use is kept to the minute: a write on every request would put the API's reads
        // behind SQLite's single writer.
        state.limits.request(&format!("k{}", record.id))?; // as `limit_key`
        let now = UnixMs::now().0;
        if record.last_used_at_ms.is_none_or(|t| now - t >= 60_000) {
            state.store.touch_api_key(record.id, now).await?;
        }
        Ok(ApiCaller {
            key_id: record.id,
            user_id: None,
            name: record.name,
            role: record.role,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_only_their_hash_is_kept() {
        let a = issue_api_key("a", Role::Admin, UnixMs(1));
        let b = issue_api_key("a", Role::Admin, UnixMs(1));
        assert_ne!(a.plaintext, b.plaintext);
        assert_eq!(a.plaintext.len(), 4 + 64);
        assert_eq!(a.record.key_hash, hash_api_key(&a.plaintext));
        assert!(!a.record.key_hash.contains(&a.plaintext[4..]));
        assert!(a.plaintext.starts_with(&a.record.prefix));
    }

    #[test]
    fn roles() {
        let agent = ApiCaller {
            key_id: 1,
            user_id: None,
            name: "x".into(),
            role: Role::Agent,
        };
        assert!(agent.require(Role::Agent).is_ok());
        assert!(matches!(
            agent.require(Role::Admin),
            Err(ApiError::Forbidden { .. })
        ));
        let admin = ApiCaller {
            role: Role::Admin,
            ..agent
        };
        assert!(admin.require(Role::Agent).is_ok());
    }
}
