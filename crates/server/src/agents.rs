//! Agents and admins who log in to the inbox: Argon2id password hashes (checked off the async
//! threads), sessions as a random token in an HttpOnly cookie (only its SHA-256 is stored),
//! a CSRF token per session that every state-changing request must echo in `x-csrf-token`,
//! and login rate limiting per account.
//!
//! [`Agent`] is the extractor: a handler that takes it cannot be reached without a live
//! session, and unsafe methods without the session's CSRF token are refused.

use std::collections::HashMap;
use std::net::IpAddr;
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
/// The least length of a password, for the API and `switchboard users add`.
pub const MIN_PASSWORD_CHARS: usize = 12;
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

/// Failed logins per account and per client address: after `MAX_FAILURES` for an account (or
/// `MAX_ADDRESS_FAILURES` from one address) within `WINDOW`, logins are refused until the window
/// passes, a correct password included, so guessing gains nothing. An unknown account is counted
/// like a known one, so the answer never tells whether an account exists. The address limit keeps
/// one client from guessing across many accounts (or locking them all out).
#[derive(Default)]
pub struct LoginLimiter {
    accounts: Failures,
    addresses: Failures,
}

#[derive(Default)]
struct Failures(Mutex<HashMap<String, (u32, Instant)>>);

const MAX_FAILURES: u32 = 5;
const MAX_ADDRESS_FAILURES: u32 = 30;
const WINDOW: Duration = Duration::from_secs(15 * 60);

impl Failures {
    /// Reserves an attempt (counted as failed until cleared); `Err(seconds to wait)` past `max`.
    fn reserve(&self, key: &str, max: u32) -> Result<(), u64> {
        let mut m = self.0.lock().expect("not poisoned");
        if m.len() > 100_000 {
            m.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let e = m.entry(key.to_owned()).or_insert((0, Instant::now()));
        if e.1.elapsed() >= WINDOW {
            *e = (0, Instant::now());
        }
        if e.0 >= max {
            return Err((WINDOW - e.1.elapsed()).as_secs().max(1));
        }
        e.0 += 1;
        Ok(())
    }

    fn release(&self, key: &str) {
        if let Some(e) = self.0.lock().expect("not poisoned").get_mut(key) {
            e.0 = e.0.saturating_sub(1);
        }
    }

    fn clear(&self, key: &str) {
        self.0.lock().expect("not poisoned").remove(key);
    }
}

impl LoginLimiter {
    /// Reserves an attempt for the account and the address: counted as failed until
    /// [`LoginLimiter::succeeded`], so parallel guesses cannot all pass the check.
    /// `Err(seconds to wait)` when either is locked out.
    pub fn check(&self, email: &str, addr: Option<IpAddr>) -> Result<(), u64> {
        let addr = addr.map(|a| a.to_string());
        if let Some(a) = &addr {
            self.addresses.reserve(a, MAX_ADDRESS_FAILURES)?;
        }
        self.accounts.reserve(email, MAX_FAILURES).inspect_err(|_| {
            if let Some(a) = &addr {
                self.addresses.release(a);
            }
        })
    }

    /// A correct password: the account's failures are forgotten; the address keeps the failures
    /// it made, less this attempt (a valid account must not wash a guesser's record clean).
    pub fn succeeded(&self, email: &str, addr: Option<IpAddr>) {
        self.accounts.clear(email);
        if let Some(a) = addr {
            self.addresses.release(&a.to_string());
        }
    }
}

/// The client's address: the connection's peer, or the first `X-Forwarded-For` hop when the
/// operator says a proxy sets it (`http.trust_forwarded`). `None` when unknown.
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_addr(
            parts,
            state.config.http.trust_forwarded,
        )))
    }
}

pub fn client_addr(parts: &Parts, trust_forwarded: bool) -> Option<IpAddr> {
    let forwarded = trust_forwarded
        .then(|| parts.headers.get("x-forwarded-for")?.to_str().ok())
        .flatten()
        .and_then(|v| v.split(',').next()?.trim().parse().ok());
    forwarded.or_else(|| crate::serve::PEER.try_with(|p| p.ip()).ok())
}

/// A browser's cross-site request: its `Origin` names another host than the one it was sent
/// to, or `Sec-Fetch-Site` says `cross-site`. A second line behind the CSRF token (and the
/// only one where there is no session yet, the login).
pub fn cross_site(parts: &Parts) -> bool {
    let h = &parts.headers;
    if h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return true;
    }
    let Some(origin) = h.get(axum::http::header::ORIGIN) else {
        return false;
    };
    let host = h
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest);
    match (origin_host, host) {
        (Some(o), Some(h)) => !o.eq_ignore_ascii_case(h),
        // `Origin: null` (sandboxed frames, some redirects) or no Host: not provably ours.
        _ => true,
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
            if cross_site(parts) {
                return Err(ApiError::Csrf);
            }
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !bool::from(sent.as_bytes().ct_eq(csrf.as_bytes())) {
                return Err(ApiError::Csrf);
            }
        }
        state.limits.request(&format!("u{}", user.id))?;
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
            assert!(l.check("a@x", None).is_ok());
        }
        // Checks count even before their outcome is known (parallel guesses).
        assert!(l.check("a@x", None).is_err());
        assert!(l.check("b@x", None).is_ok(), "per account");
        l.succeeded("a@x", None);
        assert!(l.check("a@x", None).is_ok());
    }

    #[test]
    fn one_address_guessing_across_accounts_is_stopped_and_a_success_does_not_clear_it() {
        let l = LoginLimiter::default();
        let guesser: IpAddr = "203.0.113.9".parse().unwrap();
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        for i in 0..MAX_ADDRESS_FAILURES - 1 {
            assert!(l.check(&format!("user{i}@x"), Some(guesser)).is_ok());
        }
        // The guesser's own valid account does not wash the record clean.
        assert!(l.check("mine@x", Some(guesser)).is_ok());
        l.succeeded("mine@x", Some(guesser));
        assert!(l.check("next@x", Some(guesser)).is_ok());
        assert!(l.check("another@x", Some(guesser)).is_err(), "per address");
        assert!(
            l.check("another@x", Some(other)).is_ok(),
            "others unaffected"
        );
    }
}
