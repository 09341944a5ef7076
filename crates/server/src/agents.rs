//! Agents and admins who log in to the inbox: Argon2id password hashes (checked off the async
//! threads), sessions as a random token in an HttpOnly cookie (only its SHA-256 is stored),
//! a CSRF token per session that every state-changing request must echo in `x-csrf-token`,
//! and login rate limiting per account.
//!
//! [`Agent`] is the extractor: a handler that takes it cannot be reached without a live
//! session, and unsafe methods without the session's CSRF token are refused.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use switchboard_domain::Role;
use switchboard_store::UserRow;

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "sb_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lives.
pub const SESSION_MS: i64 = 12 * 3_600_000;

/// Hashes a password with Argon2id (tens of milliseconds of CPU: call from a blocking task).
pub fn hash_password(password: &str) -> Result<String, String> {
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).ok().is_some_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A generated password people can type: 20 characters from an unambiguous alphabet.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut b = [0u8; 20];
    rand::rng().fill_bytes(&mut b);
    b.iter()
        .map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char)
        .collect()
}

/// Failed logins per account: after `MAX_FAILURES` within `WINDOW`, the account's logins are
/// refused until the window passes (a correct password included, so guessing gains nothing).
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

const MAX_FAILURES: u32 = 5;
const WINDOW: Duration = Duration::from_secs(15 * 60);

impl LoginLimiter {
    /// Reserves an attempt: counted as failed until [`LoginLimiter::succeeded`] clears it, so
    /// parallel guesses cannot all pass the check. `Err(seconds to wait)` when locked out.
    pub fn check(&self, email: &str) -> Result<(), u64> {
        let mut m = self.failures.lock().expect("not poisoned");
        if m.len() > 100_000 {
            m.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let e = m.entry(email.to_owned()).or_insert((0, Instant::now()));
        if e.1.elapsed() >= WINDOW {
            *e = (0, Instant::now());
        }
        if e.0 >= MAX_FAILURES {
            return Err((WINDOW - e.1.elapsed()).as_secs().max(1));
        }
        e.0 += 1;
        Ok(())
    }

    /// A failed attempt (already counted by [`LoginLimiter::check`]).
    pub fn failed(&self, _email: &str) {}

    pub fn succeeded(&self, email: &str) {
        self.failures.lock().expect("not poisoned").remove(email);
    }
}

/// The person behind a request, from their session cookie.
#[derive(Debug, Clone)]
pub struct Agent {
    pub user: UserRow,
    pub role: Role,
    pub csrf: String,
    pub token_hash: String,
}

impl Agent {
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

fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

impl FromRequestParts<AppState> for Agent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = cookie(parts, SESSION_COOKIE).ok_or(ApiError::NotLoggedIn)?;
        let hash = token_hash(&token);
        let (user, csrf) = state
            .store
            .session(&hash, switchboard_domain::UnixMs::now().0)
            .await?
            .ok_or(ApiError::NotLoggedIn)?;
        if !parts.method.is_safe() {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !bool::from(sent.as_bytes().ct_eq(csrf.as_bytes())) {
                return Err(ApiError::Csrf);
            }
        }
        let role = Role::parse(&user.role).unwrap_or(Role::Agent);
        Ok(Agent {
            user,
            role,
            csrf,
            token_hash: hash,
        })
    }
}

/// The `Set-Cookie` value for a new session (`Secure` when served over HTTPS).
pub fn session_cookie(token: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        SESSION_MS / 1000,
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_a_salt_and_verify() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("wrong", &a));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn five_failures_lock_the_account_for_a_while() {
        let l = LoginLimiter::default();
        for _ in 0..5 {
            assert!(l.check("a@x").is_ok());
            l.failed("a@x");
        }
        // Checks count even before their outcome is known (parallel guesses).
        assert!(l.check("a@x").is_err());
        assert!(l.check("b@x").is_ok(), "per account");
        l.succeeded("a@x");
        assert!(l.check("a@x").is_ok());
    }
}
