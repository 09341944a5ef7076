//! People in the inbox: users, their sessions, and what they do to a conversation, in the words
//! a test tells its story with (`ann.claims(conv)`, `bob.takes_over(conv)`, `ann.replies(…)`).

use serde_json::{Value, json};
use switchboard_domain::UnixMs;

use super::TestApp;

/// A person logged in to the inbox: the session cookie, its CSRF token, the user id.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
    pub id: i64,
}

impl TestApp {
    /// A person who can log in with "a long enough password".
    pub async fn add_user(&self, email: &str, name: &str, role: &str) -> i64 {
        let hash = switchboard_server::agents::hash_password("a long enough password").unwrap();
        self.store
            .create_user(
                &switchboard_store::NewUser {
                    email: email.into(),
                    name: name.into(),
                    role: role.into(),
                    team: Some("support".into()),
                    password_hash: hash,
                },
                UnixMs::now().0,
            )
            .await
            .unwrap()
            .unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// Logs `email` in (their password is the one `add_user` gives).
    pub async fn session(&self, email: &str) -> Session {
        let r = self.login(email, "a long enough password").await;
        assert_eq!(r.status(), 200);
        let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax"),
            "{set}"
        );
        let cookie = set.split(';').next().unwrap().to_owned();
        let v: Value = r.json().await.unwrap();
        Session {
            cookie,
            csrf: v["csrf_token"].as_str().unwrap().to_owned(),
            id: v["user"]["id"].as_i64().unwrap(),
        }
    }

    /// POSTs JSON as a logged-in person, with the CSRF token.
    pub async fn act(&self, s: &Session, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("cookie", &s.cookie)
            .header("x-csrf-token", &s.csrf)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

/// What a logged-in person does to conversation `conv`, each the inbox API's POST with the
/// person's session and CSRF token; the response is the caller's to check.
impl TestApp {
    pub async fn claims(&self, who: &Session, conv: i64) -> reqwest::Response {
        self.act(
            who,
            &format!("/api/v1/conversations/{conv}/claim"),
            json!({}),
        )
        .await
    }

    pub async fn takes_over(&self, who: &Session, conv: i64) -> reqwest::Response {
        self.act(
            who,
            &format!("/api/v1/conversations/{conv}/take-over"),
            json!({}),
        )
        .await
    }

    /// Replies with `body` (Meta's send shape without a recipient: the conversation has one).
    pub async fn replies(&self, who: &Session, conv: i64, body: Value) -> reqwest::Response {
        self.act(who, &format!("/api/v1/conversations/{conv}/reply"), body)
            .await
    }
}
