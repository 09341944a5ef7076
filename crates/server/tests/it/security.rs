//! The attacks an inbox on the internet meets, each tried for real against the running server:
//! every route called by every kind of caller (the table below must name every route the
//! router serves), forged and malformed webhooks, cross-site requests, guessed passwords,
//! floods of requests and streams, and what a browser is told about each response.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_domain::Role;
use switchboard_store::testing::{TestDatabase, postgres, sqlite};

use crate::helpers::{Session, TestApp, error_code};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the login, health, assets, the API's description).
    Open,
    /// Meta only: the verify token or the app secret's signature, which no caller here has.
    Meta,
    /// Any API key or logged-in person.
    Agent,
    /// An admin's key or session.
    Admin,
    /// API keys of any role, and admins' sessions: sending to any number is not an agent's.
    Integration,
    /// A logged-in person only (the inbox's own actions), never an API key.
    Session,
    /// A page of the inbox: a logged-in person, else a redirect to the login page.
    Page,
    /// An admin's page.
    AdminPage,
}

impl Access {
    /// As `x-required-role` says it in the OpenAPI document.
    pub fn role(self) -> &'static str {
        match self {
            Access::Open => "none",
            Access::Meta => "meta",
            Access::Agent => "agent",
            Access::Admin => "admin",
            Access::Integration => "integration",
            Access::Session => "session",
            Access::Page => "page",
            Access::AdminPage => "admin-page",
        }
    }
}

use Access::*;

/// Every route the server serves and who may call it. A route missing here fails
/// `every_route_answers_each_kind_of_caller_as_the_table_says`.
pub const ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/webhooks/whatsapp", Meta),
    ("POST", "/webhooks/whatsapp", Meta),
    ("GET", "/healthz", Open),
    ("GET", "/readyz", Open),
    ("GET", "/api/openapi.json", Open),
    ("GET", "/", Open),
    ("GET", "/login", Open),
    ("GET", "/assets/app.css", Open),
    ("GET", "/assets/app.js", Open),
    ("GET", "/inbox", Page),
    ("GET", "/inbox/list", Page),
    ("GET", "/inbox/c/{id}", Page),
    ("GET", "/settings", Page),
    ("GET", "/templates", AdminPage),
    ("GET", "/costs", AdminPage),
    ("GET", "/api/v1/whoami", Agent),
    ("GET", "/api/v1/api-keys", Admin),
    ("POST", "/api/v1/api-keys", Admin),
    ("DELETE", "/api/v1/api-keys/{id}", Admin),
    ("GET", "/api/v1/conversations", Agent),
    ("GET", "/api/v1/conversations/{id}", Agent),
    ("GET", "/api/v1/conversations/{id}/messages", Agent),
    ("GET", "/api/v1/contacts/{id}", Agent),
    ("GET", "/api/v1/messages/{id}/media", Agent),
    ("POST", "/api/v1/messages/{id}/media/retry", Agent),
    ("GET", "/api/v1/webhook-events", Admin),
    ("POST", "/api/v1/webhook-events/replay", Admin),
    ("GET", "/api/v1/webhook-events/items", Admin),
    ("POST", "/api/v1/webhook-events/items/{id}/replay", Admin),
    ("POST", "/api/v1/messages", Integration),
    ("POST", "/api/v1/messages/check", Agent),
    ("GET", "/api/v1/messages/{id}", Agent),
    ("POST", "/api/v1/templates/sync", Admin),
    ("GET", "/api/v1/alerts", Admin),
    ("POST", "/api/v1/numbers/{id}/resume", Admin),
    ("GET", "/api/v1/contacts/{id}/consent", Agent),
    ("POST", "/api/v1/contacts/{id}/consent", Agent),
    ("GET", "/api/v1/contacts/export.csv", Admin),
    ("POST", "/api/v1/contacts/import", Admin),
    ("GET", "/api/v1/templates", Agent),
    ("POST", "/api/v1/templates", Admin),
    ("POST", "/api/v1/templates/lint", Agent),
    ("POST", "/api/v1/templates/plan", Admin),
    ("POST", "/api/v1/templates/push", Admin),
    ("GET", "/api/v1/templates/export", Admin),
    ("GET", "/api/v1/templates/{name}/{language}", Agent),
    ("DELETE", "/api/v1/templates/{name}/{language}", Admin),
    ("GET", "/api/v1/costs", Admin),
    ("POST", "/api/v1/forecast", Agent),
    ("GET", "/api/v1/rate-cards", Agent),
    ("POST", "/api/v1/auth/login", Open),
    ("POST", "/api/v1/auth/logout", Session),
    ("POST", "/api/v1/auth/password", Session),
    ("GET", "/api/v1/auth/me", Session),
    ("POST", "/api/v1/conversations/{id}/claim", Session),
    ("POST", "/api/v1/conversations/{id}/release", Session),
    ("POST", "/api/v1/conversations/{id}/assign", Session),
    ("POST", "/api/v1/conversations/{id}/take-over", Session),
    ("POST", "/api/v1/conversations/{id}/reply", Session),
    ("GET", "/api/v1/conversations/{id}/events", Session),
    ("POST", "/api/v1/conversations/{id}/status", Session),
    ("POST", "/api/v1/conversations/{id}/notes", Session),
    ("POST", "/api/v1/conversations/{id}/labels/{label}", Session),
    (
        "DELETE",
        "/api/v1/conversations/{id}/labels/{label}",
        Session,
    ),
    ("POST", "/api/v1/auth/presence", Session),
    ("GET", "/api/v1/teams", Agent),
    ("PUT", "/api/v1/teams/{name}/routing", Admin),
    ("PUT", "/api/v1/teams/{name}/budget", Admin),
    ("GET", "/api/v1/events", Session),
    ("POST", "/api/v1/conversations/{id}/presence", Session),
    ("POST", "/api/v1/conversations/{id}/check", Session),
    ("POST", "/api/v1/conversations/{id}/read", Session),
    ("GET", "/api/v1/canned-responses", Agent),
    ("POST", "/api/v1/canned-responses", Admin),
    ("DELETE", "/api/v1/canned-responses/{id}", Admin),
    ("GET", "/api/v1/campaigns", Agent),
    ("POST", "/api/v1/campaigns", Admin),
    ("GET", "/api/v1/campaigns/{id}", Agent),
    ("GET", "/api/v1/campaigns/{id}/events", Agent),
    ("POST", "/api/v1/campaigns/{id}/pause", Admin),
    ("POST", "/api/v1/campaigns/{id}/resume", Admin),
    ("POST", "/api/v1/campaigns/{id}/cancel", Admin),
];

/// The kinds of caller every route is tried with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Nobody,
    RevokedKey,
    AgentKey,
    AgentSession,
    /// An agent's session cookie on an unsafe method without the CSRF token.
    AgentSessionWithoutCsrf,
    AdminKey,
    AdminSession,
}

const CALLERS: [Caller; 7] = [
    Caller::Nobody,
    Caller::RevokedKey,
    Caller::AgentKey,
    Caller::AgentSession,
    Caller::AgentSessionWithoutCsrf,
    Caller::AdminKey,
    Caller::AdminSession,
];

/// What a caller must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Past authorisation: the handler answered (a 404 for the made-up id, a 422 for the empty
    /// body, a 200...), never 401 or 403 and never the router's own 404.
    Reached,
    Status(u16),
    /// To the login page.
    ToLogin,
}

fn expected(access: Access, caller: Caller, unsafe_method: bool) -> Expect {
    use Caller as C;
    use Expect::*;
    if caller == C::AgentSessionWithoutCsrf && unsafe_method && access != Open && access != Meta {
        return match access {
            Session | Agent | Integration | Admin => Status(403),
            _ => unreachable!("pages are read with GET"),
        };
    }
    let session = matches!(
        caller,
        C::AgentSession | C::AgentSessionWithoutCsrf | C::AdminSession
    );
    let admin = matches!(caller, C::AdminKey | C::AdminSession);
    match access {
        Open => Reached,
        Meta => Status(if unsafe_method { 401 } else { 403 }),
        _ if caller == C::Nobody || caller == C::RevokedKey => match access {
            Page | AdminPage => ToLogin,
            _ => Status(401),
        },
        Agent => Reached,
        Admin if admin => Reached,
        Admin => Status(403),
        Integration if caller == C::AgentSession || caller == C::AgentSessionWithoutCsrf => {
            Status(403)
        }
        Integration => Reached,
        Session if session => Reached,
        Session => Status(401),
        Page | AdminPage if !session => ToLogin,
        AdminPage if !admin => Status(403),
        Page | AdminPage => Reached,
    }
}

fn concrete(path: &str) -> String {
    path.replace("{id}", "999999")
        .replace("{name}", "nobody-team")
        .replace("{language}", "en_US")
        .replace("{label}", "vip")
}

async fn every_route_answers_each_kind_of_caller_as_the_table_says(db: TestDatabase) {
    let served: std::collections::BTreeSet<(String, String)> = switchboard_server::routes()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p))
        .collect();
    let listed: std::collections::BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        served.difference(&listed).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routes served without an entry in security::ROUTES: say who may call them"
    );
    assert_eq!(
        listed.difference(&served).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "entries in security::ROUTES the router does not serve"
    );

    let app = TestApp::spawn(db).await;
    app.add_user("ann@example.com", "Ann", "agent").await;
    app.add_user("root@example.com", "Root", "admin").await;
    let agent_session = app.session("ann@example.com").await;
    let admin_session = app.session("root@example.com").await;
    let agent_key = app.key(Role::Agent).await;
    let admin_key = app.key(Role::Admin).await;
    let (revoked_id, revoked) =
        switchboard_server::auth::create_api_key(&app.store, "gone", Role::Admin)
            .await
            .unwrap();
    assert!(app.store.revoke_api_key(revoked_id, 1).await.unwrap());
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let mut wrong = vec![];
    for (method, path, access) in ROUTES {
        let unsafe_method = *method != "GET";
        for caller in CALLERS {
            if caller == Caller::AgentSessionWithoutCsrf && !unsafe_method {
                continue;
            }
            // A logout ends the session it is sent with: it gets one of its own.
            let fresh;
            let session: Option<&Session> = match caller {
                Caller::AgentSession | Caller::AgentSessionWithoutCsrf
                    if *path == "/api/v1/auth/logout" =>
                {
                    fresh = app.session("ann@example.com").await;
                    Some(&fresh)
                }
                Caller::AgentSession | Caller::AgentSessionWithoutCsrf => Some(&agent_session),
                Caller::AdminSession if *path == "/api/v1/auth/logout" => {
                    fresh = app.session("root@example.com").await;
                    Some(&fresh)
                }
                Caller::AdminSession => Some(&admin_session),
                _ => None,
            };
            let url = format!("{}{}", app.base, concrete(path));
            let mut req = no_redirects.request(method.parse().unwrap(), &url);
            if unsafe_method {
                req = req.json(&json!({}));
            }
            req = match caller {
                Caller::Nobody => req,
                Caller::RevokedKey => req.bearer_auth(&revoked),
                Caller::AgentKey => req.bearer_auth(&agent_key),
                Caller::AdminKey => req.bearer_auth(&admin_key),
                Caller::AgentSessionWithoutCsrf => req.header("cookie", &session.unwrap().cookie),
                Caller::AgentSession | Caller::AdminSession => {
                    let s = session.unwrap();
                    req.header("cookie", &s.cookie)
                        .header("x-csrf-token", &s.csrf)
                }
            };
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let location = r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let body = if path.ends_with("/events") && status == 200 {
                String::new() // a live stream: nothing to read to its end
            } else {
                r.text().await.unwrap_or_default()
            };
            let ok = match expected(*access, caller, unsafe_method) {
                Expect::Status(s) => status == s,
                Expect::ToLogin => status == 303 && location.starts_with("/login"),
                Expect::Reached => {
                    let refused = [401, 403].contains(&status);
                    let unrouted = status == 404 && body.contains("\"The path");
                    let to_login = status == 303 && location.starts_with("/login");
                    !(refused || unrouted || to_login)
                }
            };
            if !ok {
                wrong.push(format!(
                    "{method} {path} as {caller:?}: got {status}, expected {:?} ({})",
                    expected(*access, caller, unsafe_method),
                    body.chars().take(120).collect::<String>()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

switchboard_store::per_backend!(every_route_answers_each_kind_of_caller_as_the_table_says);

switchboard_store::per_backend!(
    forged_truncated_and_malformed_webhooks_are_refused_before_the_journal,
    a_previous_app_secret_is_accepted_during_a_rotation,
    bodies_nested_too_deep_or_not_utf8_are_kept_as_dead_letters_and_harm_nothing,
    sessions_are_new_at_login_and_end_at_logout_and_password_change,
    cross_site_requests_with_a_session_are_refused,
    guessing_passwords_is_limited_per_account_and_per_address_without_telling_who_exists,
    a_caller_over_its_request_or_stream_limit_gets_429_with_retry_after,
    agents_cannot_act_on_conversations_others_hold,
);

async fn forged_truncated_and_malformed_webhooks_are_refused_before_the_journal(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let url = format!("{}/webhooks/whatsapp", app.base);
    let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    let good = switchboard_cloudapi::signature::sign(app.em.config().app_secret.as_bytes(), body);
    let hex = good.trim_start_matches("sha256=");
    let mut flipped = hex.to_owned().into_bytes();
    flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
    let flipped = format!("sha256={}", String::from_utf8(flipped).unwrap());
    for header in [
        String::new(),
        "sha256=".to_owned(),
        format!("sha256={}", &hex[..32]), // truncated
        format!("sha256={hex}00"),        // too long
        hex.to_owned(),                   // no scheme
        format!("sha1={hex}"),
        format!("sha256={}", hex.to_uppercase().replace('A', "Z")), // not hex
        flipped,
        switchboard_cloudapi::signature::sign(b"someone else's secret", body),
    ] {
        let r = app
            .http
            .post(&url)
            .header("x-hub-signature-256", &header)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{header:?}");
    }
    let r = app
        .http
        .post(&url)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "no header");
    assert_eq!(app.store.count_webhooks().await.unwrap(), 0);

    // The handshake: only the exact token, and never an empty one.
    let token = app.em.config().verify_token.clone();
    for (t, want) in [
        (token.as_str(), 200),
        ("", 403),
        (&token[..token.len() - 1], 403),
    ] {
        let r = app
            .http
            .get(&url)
            .query(&[
                ("hub.mode", "subscribe"),
                ("hub.verify_token", t),
                ("hub.challenge", "42"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want, "verify token {t:?}");
    }
    assert_eq!(app.post_signed(body).await.status(), 200);
    assert_eq!(app.store.count_webhooks().await.unwrap(), 1);
}

async fn a_previous_app_secret_is_accepted_during_a_rotation(db: TestDatabase) {
    let app = TestApp::spawn_full(
        db,
        |_| {},
        &[(
            "SWITCHBOARD_PREVIOUS_APP_SECRETS",
            "the-old-secret, an-older-one",
        )],
        false,
    )
    .await;
    let url = format!("{}/webhooks/whatsapp", app.base);
    let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    for (secret, want) in [
        (&b"the-old-secret"[..], 200),
        (b"an-older-one", 200),
        (b"never-configured", 401),
    ] {
        let sig = switchboard_cloudapi::signature::sign(secret, body);
        let r = app
            .http
            .post(&url)
            .header("x-hub-signature-256", sig)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want);
    }
    assert_eq!(app.post_signed(body).await.status(), 200, "the current one");
    assert_eq!(app.store.count_webhooks().await.unwrap(), 3);
}

async fn bodies_nested_too_deep_or_not_utf8_are_kept_as_dead_letters_and_harm_nothing(
    db: TestDatabase,
) {
    let app = TestApp::spawn(db).await;
    let admin = app.key(Role::Admin).await;
    let deep = format!(
        "{{\"object\":\"whatsapp_business_account\",\"entry\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let not_utf8 = b"{\"object\":\"whatsapp_business_account\",\"entry\":[\"\xff\xfe\"]}".to_vec();
    // Signed (so from Meta, or from someone with the secret): acknowledged, so Meta does not
    // retry for days, and never projected.
    assert_eq!(app.post_signed(deep.as_bytes()).await.status(), 200);
    assert_eq!(app.post_signed(&not_utf8).await.status(), 200);
    app.projector.drain().await.unwrap();
    let dead = app
        .get_json("/api/v1/webhook-events?dead_letters=true", &admin)
        .await;
    let rows = dead["data"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{dead}");
    assert!(rows.iter().all(|r| r["state"] == "dead_letter"), "{dead}");
    // The server is still well, and the next real message goes through.
    assert_eq!(app.get("/readyz", None).await.status(), 200);
    app.customer_writes("16505551234", TestApp::text("still here"));
    app.settle().await;
    assert_eq!(app.store.inbound_counts().await.unwrap().0, 1);
}

async fn sessions_are_new_at_login_and_end_at_logout_and_password_change(db: TestDatabase) {
    let app =
        TestApp::spawn_full(db, |_| {}, &[("SWITCHBOARD_SECURE_COOKIES", "true")], false).await;
    app.add_user("ann@example.com", "Ann", "agent").await;
    let r = app.login("ann@example.com", "a long enough password").await;
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(set.contains(flag), "{flag} in {set}");
    }
    // A session id the browser brings to the login is never kept: the login makes a new one.
    let planted = "sb_session=0000000000000000000000000000000000000000000000000000000000000000";
    let r = app
        .http
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("cookie", planted)
        .json(&json!({"email": "ann@example.com", "password": "a long enough password"}))
        .send()
        .await
        .unwrap();
    let second = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(!second.starts_with(planted) && second.split(';').next() != set.split(';').next());

    let phone = app.session("ann@example.com").await;
    let laptop = app.session("ann@example.com").await;
    let me = |s: &Session| {
        app.http
            .get(format!("{}/api/v1/auth/me", app.base))
            .header("cookie", s.cookie.clone())
            .send()
    };
    assert_eq!(me(&phone).await.unwrap().status(), 200);

    // A wrong current password changes nothing; a short new one is refused.
    let (status, code, _) = error_code(
        app.act(
            &laptop,
            "/api/v1/auth/password",
            json!({"current_password": "not it at all", "new_password": "another long password"}),
        )
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (422, "wrong_password"));
    let (status, _, message) = error_code(
        app.act(
            &laptop,
            "/api/v1/auth/password",
            json!({"current_password": "a long enough password", "new_password": "short"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(message.contains("12"), "{message}");

    let r = app
        .act(
            &laptop,
            "/api/v1/auth/password",
            json!({"current_password": "a long enough password", "new_password": "another long password"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let renewed = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let renewed = Session {
        cookie: renewed.split(';').next().unwrap().to_owned(),
        csrf: r.json::<Value>().await.unwrap()["csrf_token"]
            .as_str()
            .unwrap()
            .to_owned(),
        id: laptop.id,
    };
    assert_eq!(
        me(&phone).await.unwrap().status(),
        401,
        "other sessions end"
    );
    assert_eq!(me(&laptop).await.unwrap().status(), 401, "this one too");
    assert_eq!(
        me(&renewed).await.unwrap().status(),
        200,
        "the new one works"
    );
    assert_eq!(
        app.login("ann@example.com", "a long enough password")
            .await
            .status(),
        422,
        "the old password is gone"
    );
    assert_eq!(
        app.login("ann@example.com", "another long password")
            .await
            .status(),
        200
    );

    // Logout ends the session on the server, not only in the browser.
    assert_eq!(
        app.act(&renewed, "/api/v1/auth/logout", json!({}))
            .await
            .status(),
        204
    );
    assert_eq!(me(&renewed).await.unwrap().status(), 401);
}

async fn cross_site_requests_with_a_session_are_refused(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    app.add_user("ann@example.com", "Ann", "agent").await;
    let ann = app.session("ann@example.com").await;
    let admin = app.key(Role::Admin).await;
    app.customer_writes("16505551234", TestApp::text("hello"));
    app.settle().await;
    let id = app.get_json("/api/v1/conversations", &admin).await["data"][0]["id"]
        .as_i64()
        .unwrap();
    let claim = format!("{}/api/v1/conversations/{id}/claim", app.base);

    // What a hostile page's form can send: the browser adds the cookie, but not the token.
    let r = app
        .http
        .post(&claim)
        .header("cookie", &ann.cookie)
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("x=1")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.1, "csrf_token_invalid");
    // Even with a stolen token, another site's origin is refused.
    for (header, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let r = app
            .http
            .post(&claim)
            .header("cookie", &ann.cookie)
            .header("x-csrf-token", &ann.csrf)
            .header(header, value)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{header}: {value}");
    }
    let conv = app
        .get_json(&format!("/api/v1/conversations/{id}"), &admin)
        .await;
    assert!(conv["assignee"].is_null(), "nothing was claimed: {conv}");
    // The same request from the inbox's own origin works.
    let host = app.base.trim_start_matches("http://").to_owned();
    let r = app
        .http
        .post(&claim)
        .header("cookie", &ann.cookie)
        .header("x-csrf-token", &ann.csrf)
        .header("origin", format!("http://{host}"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A cross-site form cannot log a browser in to someone's account either.
    let login = format!("{}/api/v1/auth/login", app.base);
    let r = app
        .http
        .post(&login)
        .header("content-type", "text/plain")
        .body(r#"{"email": "ann@example.com", "password": "a long enough password"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "a login must be JSON");
    assert!(r.headers().get("set-cookie").is_none());
    let r = app
        .http
        .post(&login)
        .header("origin", "https://evil.example")
        .json(&json!({"email": "ann@example.com", "password": "a long enough password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("set-cookie").is_none());
}

async fn guessing_passwords_is_limited_per_account_and_per_address_without_telling_who_exists(
    db: TestDatabase,
) {
    let app = TestApp::spawn_full(
        db,
        |_| {},
        &[("SWITCHBOARD_TRUST_FORWARDED", "true")],
        false,
    )
    .await;
    app.add_user("ann@example.com", "Ann", "agent").await;
    let attempt = |email: &'static str, password: &'static str, from: &'static str| {
        app.http
            .post(format!("{}/api/v1/auth/login", app.base))
            .header("x-forwarded-for", from)
            .json(&json!({"email": email, "password": password}))
            .send()
    };
    // An existing and an unknown account answer alike, and lock alike.
    for email in ["ann@example.com", "nobody@example.com"] {
        for _ in 0..5 {
            let (status, code, message) = error_code(
                attempt(email, "wrong password!!", "198.51.100.7")
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!((status, code.as_str()), (422, "invalid_login"));
            assert_eq!(message, "The email or password is not right.");
        }
        let r = attempt(email, "a long enough password", "198.51.100.8")
            .await
            .unwrap();
        assert_eq!(r.status(), 429, "{email}: locked, whoever asks");
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&wait));
        let (_, code, message) = error_code(r).await;
        assert_eq!(code, "too_many_attempts");
        assert!(!message.contains("account"), "{message}");
    }
    // One address guessing across many accounts is stopped too, and only that address.
    let mut locked = false;
    for i in 0..40 {
        let email: &'static str = Box::leak(format!("user{i}@example.com").into_boxed_str());
        let r = attempt(email, "guess", "203.0.113.9").await.unwrap();
        if r.status() == 429 {
            locked = true;
            assert!(i >= 20, "not before many tries ({i})");
            break;
        }
    }
    assert!(locked, "an address guessing across accounts is limited");
    let r = attempt("someone@example.com", "guess", "192.0.2.1")
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "another address is not");
}

async fn a_caller_over_its_request_or_stream_limit_gets_429_with_retry_after(db: TestDatabase) {
    let app = TestApp::spawn_full(
        db,
        |_| {},
        &[
            ("SWITCHBOARD_REQUESTS_PER_MINUTE", "60"),
            ("SWITCHBOARD_EVENT_STREAMS_PER_USER", "2"),
        ],
        false,
    )
    .await;
    let key = app.key(Role::Agent).await;
    let other = app.key(Role::Agent).await;
    // A burst of a tenth of the minute's allowance, then 429 with when to come back.
    for i in 0..6 {
        assert_eq!(
            app.get("/api/v1/whoami", Some(&key)).await.status(),
            200,
            "{i}"
        );
    }
    let r = app.get("/api/v1/whoami", Some(&key)).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(error_code(r).await.1, "rate_limited");
    assert_eq!(app.get("/api/v1/whoami", Some(&other)).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.get("/api/v1/whoami", Some(&key)).await.status(), 200);

    // Live streams: two at once per person; a third waits for one to close.
    app.add_user("ann@example.com", "Ann", "agent").await;
    let ann = app.session("ann@example.com").await;
    let open = || {
        app.http
            .get(format!("{}/api/v1/events", app.base))
            .header("cookie", ann.cookie.clone())
            .send()
    };
    let first = open().await.unwrap();
    let second = open().await.unwrap();
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = open().await.unwrap();
    assert_eq!(third.status(), 429);
    assert!(third.headers().contains_key("retry-after"));
    drop(first);
    let mut reopened = 0;
    for _ in 0..100 {
        let r = open().await.unwrap();
        if r.status() == 200 {
            reopened += 1;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(reopened, 1, "a closed stream frees its place");
    drop(second);
}

async fn agents_cannot_act_on_conversations_others_hold(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    app.add_user("ann@example.com", "Ann", "agent").await;
    app.add_user("bob@example.com", "Bob", "agent").await;
    app.add_user("root@example.com", "Root", "admin").await;
    let (ann, bob, root) = (
        app.session("ann@example.com").await,
        app.session("bob@example.com").await,
        app.session("root@example.com").await,
    );
    let admin = app.key(Role::Admin).await;
    app.customer_writes("16505551234", TestApp::text("hello"));
    app.settle().await;
    let id = app.get_json("/api/v1/conversations", &admin).await["data"][0]["id"]
        .as_i64()
        .unwrap();
    let at = |what: &str| format!("/api/v1/conversations/{id}/{what}");
    assert_eq!(app.act(&ann, &at("claim"), json!({})).await.status(), 200);

    for (what, body) in [
        ("reply", json!({"text": "I'll take this"})),
        ("notes", json!({"text": "mine now"})),
        ("assign", json!({"user_id": bob.id})),
        ("status", json!({"status": "resolved"})),
        ("release", json!({})),
        ("claim", json!({})),
    ] {
        let r = app.act(&bob, &at(what), body).await;
        let (status, code, message) = error_code(r).await;
        assert!(
            matches!(status, 403 | 409),
            "{what}: {status} {code} {message}"
        );
        if !["release", "claim"].contains(&what) {
            assert!(
                message.contains("Ann"),
                "{what}: names the holder: {message}"
            );
        }
    }
    let conv = app
        .get_json(&format!("/api/v1/conversations/{id}"), &admin)
        .await;
    assert_eq!(conv["status"], "open", "{conv}");
    assert_eq!(conv["assignee"], ann.id.to_string(), "{conv}");
    // An admin may; an agent who must act takes it over first, which is recorded.
    assert_eq!(
        app.act(&root, &at("notes"), json!({"text": "admin note"}))
            .await
            .status(),
        201
    );
    assert_eq!(
        app.act(&bob, &at("take-over"), json!({})).await.status(),
        200
    );
    assert_eq!(
        app.act(&bob, &at("notes"), json!({"text": "taken over"}))
            .await
            .status(),
        201
    );
    // Ids of things that do not exist are 404, not someone else's data.
    let r = app
        .http
        .get(format!("{}/api/v1/conversations/{}", app.base, id + 1000))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

/// A client that trickles its headers is cut off; a live stream, which sends nothing more
/// once asked, is not.
#[tokio::test]
async fn a_client_that_trickles_its_headers_is_disconnected_but_live_streams_stay() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_full(
        sqlite(),
        |_| {},
        &[("SWITCHBOARD_HEADER_TIMEOUT_SECS", "1")],
        false,
    )
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read(&mut buf))
        .await
        .expect("the server hung up within the header timeout");
    let got = String::from_utf8_lossy(&buf[..read.unwrap_or(0)]).to_string();
    assert!(
        !got.contains("200 OK"),
        "the request was never completed, so never answered: {got}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        app.get("/healthz", None).await.status(),
        200,
        "others are served"
    );

    app.add_user("ann@example.com", "Ann", "agent").await;
    let ann = app.session("ann@example.com").await;
    let mut stream = app
        .http
        .get(format!("{}/api/v1/events", app.base))
        .header("cookie", &ann.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    app.customer_writes("16505551234", TestApp::text("still listening?"));
    app.settle().await;
    let mut seen = String::new();
    while !seen.contains("event: message") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .expect("an event arrives")
            .expect("the stream is still open")
            .expect("and not ended");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

switchboard_store::per_backend!(a_media_url_into_the_private_network_is_never_fetched);

/// A signed webhook (a leaked app secret is enough) names a URL on the business's own network:
/// the download is refused before any connection, and says why; only when the operator allows
/// private targets is it fetched. Media links in sends into such addresses are refused too.
async fn a_media_url_into_the_private_network_is_never_fetched(db: TestDatabase) {
    // An "internal admin panel" on loopback that counts who knocks.
    let panel = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let panel_addr = panel.local_addr().unwrap();
    let knocks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let k = knocks.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = panel.accept().await {
            k.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            use tokio::io::AsyncWriteExt;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecret")
                .await;
        }
    });
    let db2 = match db.backend {
        switchboard_store::Backend::Sqlite => sqlite(),
        switchboard_store::Backend::Postgres => postgres().await,
    };
    for (db, allow, want_knocks) in [(db, "false", 0), (db2, "true", 1)] {
        let app = TestApp::spawn_full(
            db,
            |_| {},
            &[("SWITCHBOARD_ALLOW_PRIVATE_TARGETS", allow)],
            false,
        )
        .await;
        let before = knocks.load(std::sync::atomic::Ordering::SeqCst);
        let now = switchboard_domain::UnixMs::now().0 / 1000;
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": app.number},
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
            "messages": [{"from": "16505551234", "id": "wamid.ssrf1", "timestamp": now.to_string(), "type": "image",
                "image": {"mime_type": "image/jpeg", "id": "1003383421387256", "url": format!("http://{panel_addr}/admin/export")}}]}}]}]});
        assert_eq!(
            app.post_signed(body.to_string().as_bytes()).await.status(),
            200
        );
        app.projector.drain().await.unwrap();
        app.media.run_once(10).await.unwrap();
        let id = app
            .store
            .message_by_wamid("wamid.ssrf1")
            .await
            .unwrap()
            .unwrap()
            .id;
        let rec = app.store.media(id).await.unwrap().unwrap();
        assert_eq!(
            knocks.load(std::sync::atomic::Ordering::SeqCst) - before,
            want_knocks,
            "allow_private_targets = {allow}: {:?}",
            rec.last_error
        );
        if allow == "false" {
            let why = rec.last_error.unwrap_or_default();
            assert!(why.contains("not a public address"), "{why}");

            // A send whose media link points inside is refused before it is queued.
            let key = app.key(Role::Agent).await;
            for link in [
                format!("http://{panel_addr}/x.jpg"),
                "http://169.254.169.254/latest/meta-data/x.jpg".to_owned(),
                "https://localhost/x.jpg".to_owned(),
            ] {
                let r = app
                    .post_json(
                        "/api/v1/messages",
                        &key,
                        &json!({"to": "+16505551234", "type": "image", "image": {"link": link}}),
                        &[],
                    )
                    .await;
                let (status, code, message) = error_code(r).await;
                assert_eq!((status, code.as_str()), (422, "private_link"), "{message}");
            }
        }
    }
}

/// Whatever the response, a browser is told not to sniff it, frame it or run anything in it;
/// pages allow only the server's own scripts; customers' files download, never render.
#[tokio::test]
async fn every_response_tells_the_browser_to_keep_it_inert() {
    let app = TestApp::spawn(sqlite()).await;
    let key = app.key(Role::Agent).await;
    app.add_user("ann@example.com", "Ann", "agent").await;
    let ann = app.session("ann@example.com").await;
    for (path, cookie) in [
        ("/api/v1/whoami", None),
        ("/api/v1/nothing-here", None),
        ("/healthz", None),
        ("/api/openapi.json", None),
        ("/inbox", Some(&ann.cookie)),
        ("/login", None),
    ] {
        let mut req = app
            .http
            .get(format!("{}{path}", app.base))
            .bearer_auth(&key);
        if let Some(c) = cookie {
            req = app
                .http
                .get(format!("{}{path}", app.base))
                .header("cookie", c);
        }
        let r = req.send().await.unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}: {csp}"
        );
        if h["content-type"].to_str().unwrap().starts_with("text/html") {
            assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        } else {
            assert!(
                csp.contains("default-src 'none'") && csp.contains("sandbox"),
                "{path}: {csp}"
            );
        }
    }

    // A customer's file, HTML for instance, is served as a download in a sandbox.
    app.customer_writes(
        "16505551234",
        json!({"type": "document", "document": {"filename": "invoice.html", "mime_type": "text/html"}}),
    );
    app.settle().await;
    app.media.run_once(10).await.unwrap();
    let conv = app.get_json("/api/v1/conversations", &key).await["data"][0]["id"]
        .as_i64()
        .unwrap();
    let msgs = app
        .get_json(&format!("/api/v1/conversations/{conv}/messages"), &key)
        .await;
    let id = msgs["data"][0]["id"].as_i64().unwrap();
    let r = app
        .get(&format!("/api/v1/messages/{id}/media"), Some(&key))
        .await;
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert_eq!(h["content-disposition"], "attachment");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
}

/// Without `http.trust_forwarded`, a client cannot pick its own address with
/// `X-Forwarded-For`: its connection's address is the one counted.
#[tokio::test]
async fn without_a_trusted_proxy_the_connections_address_is_counted() {
    let app = TestApp::spawn(sqlite()).await;
    let mut locked_at = None;
    for i in 0..40 {
        let r = app
            .http
            .post(format!("{}/api/v1/auth/login", app.base))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .json(&json!({"email": format!("user{i}@example.com"), "password": "guess"}))
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            locked_at = Some(i);
            break;
        }
    }
    assert_eq!(
        locked_at,
        Some(30),
        "the 31st guess from 127.0.0.1 is refused"
    );
}
