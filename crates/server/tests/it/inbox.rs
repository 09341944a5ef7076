//! The inbox's rules as agents meet them: log in (rate-limited), one assignee per
//! conversation, claims that cannot both win, transfers, recorded take-overs that tell the
//! previous holder, replies refused for anyone but the holder, and a warning when the thread
//! changed while a reply was written. Sessions are cookies with a CSRF token.

use serde_json::{Value, json};
use switchboard_domain::UnixMs;
use switchboard_store::testing::TestDatabase;

use crate::helpers::{Session, TestApp, error_code};

async fn two_agents_one_conversation_and_no_overriding(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    app.add_user("ann@example.com", "Ann", "agent").await;
    app.add_user("bob@example.com", "Bob", "agent").await;
    let a = app.session("ann@example.com").await;
    let b = app.session("bob@example.com").await;
    app.customer_writes("16505550501", TestApp::text("Hello, is anyone there?"));
    app.settle().await;
    let key = app.key(switchboard_domain::Role::Admin).await;
    let conv = app.get_json("/api/v1/conversations", &key).await["data"][0]["id"]
        .as_i64()
        .unwrap();
    let reply = json!({"type": "text", "text": {"body": "Hi! Ann here."}});

    // Nobody holds it: replying needs a claim first.
    let (status, code, _) = error_code(app.replies(&a, conv, reply.clone()).await).await;
    assert_eq!(
        (status, code.as_str()),
        (409, "not_assigned"),
        "{backend:?}"
    );
    // Ann claims; Bob's claim loses and says who holds it.
    assert_eq!(app.claims(&a, conv).await.status(), 200);
    let (status, code, message) = error_code(app.claims(&b, conv).await).await;
    assert_eq!((status, code.as_str()), (409, "assigned_to_other"));
    assert!(message.contains("Ann"), "{message}");

    // A reply goes to the conversation's customer, whatever the body says.
    let mut elsewhere = reply.clone();
    elsewhere["to"] = json!("+16505559999");
    assert_eq!(app.replies(&a, conv, elsewhere).await.status(), 202);
    assert_eq!(app.dispatcher.run_once(UnixMs::now()).await.unwrap(), 1);
    assert_eq!(app.em.outbox()[0].to.as_deref(), Some("+16505550501"));

    // Ann replies; Bob's reply is refused by the server, naming Ann.
    let r = app
        .act(
            &a,
            &format!("/api/v1/conversations/{conv}/reply"),
            reply.clone(),
        )
        .await;
    assert_eq!(r.status(), 202, "{backend:?}");
    let (status, code, message) = error_code(
        app.replies(
            &b,
            conv,
            json!({"type": "text", "text": {"body": "Bob here"}}),
        )
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (409, "not_assignee"));
    assert!(message.contains("Ann holds this conversation"), "{message}");
    assert_eq!(app.dispatcher.run_once(UnixMs::now()).await.unwrap(), 1);
    assert_eq!(app.em.outbox().len(), 2, "only Ann's replies went out");

    // The customer writes again while Ann's next reply is being written: warned first.
    let seen = app.store.last_message_id(conv).await.unwrap().unwrap();
    app.customer_writes("16505550501", TestApp::text("Actually, one more thing"));
    app.settle().await;
    let mut late =
        json!({"type": "text", "text": {"body": "Anything else?"}, "seen_message_id": seen});
    let (status, code, _) = error_code(app.replies(&a, conv, late.clone()).await).await;
    assert_eq!(
        (status, code.as_str()),
        (422, "thread_changed"),
        "{backend:?}"
    );
    late["confirm"] = json!(true);
    assert_eq!(app.replies(&a, conv, late).await.status(), 202);

    // Bob takes over explicitly: recorded, and Ann is told.
    let r = app.takes_over(&b, conv).await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["assignee"].as_i64(), v["previous_name"].as_str()),
        (Some(b.id), Some("Ann"))
    );
    let me: Value = app
        .http
        .get(format!("{}/api/v1/auth/me", app.base))
        .header("cookie", &a.cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        me["taken_over_from_you"][0]["conversation_id"], conv,
        "{me}"
    );
    let (status, code, _) = error_code(app.replies(&a, conv, reply.clone()).await).await;
    assert_eq!((status, code.as_str()), (409, "not_assignee"));
    // Bob transfers it back; only the holder can.
    let (status, _, _) = error_code(
        app.act(
            &a,
            &format!("/api/v1/conversations/{conv}/assign"),
            json!({"user_id": a.id}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(
        app.act(
            &b,
            &format!("/api/v1/conversations/{conv}/assign"),
            json!({"user_id": a.id})
        )
        .await
        .status(),
        200
    );
    let events: Value = app
        .http
        .get(format!("{}/api/v1/conversations/{conv}/events", app.base))
        .header("cookie", &a.cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["claimed", "taken_over", "transferred"],
        "{backend:?}"
    );
}

#[tokio::test]
async fn sessions_need_their_csrf_token_and_logins_are_rate_limited() {
    let app = TestApp::spawn(switchboard_store::testing::sqlite()).await;
    app.add_user("ann@example.com", "Ann", "agent").await;
    let a = app.session("ann@example.com").await;
    let r = app
        .http
        .post(format!("{}/api/v1/auth/logout", app.base))
        .header("cookie", &a.cookie)
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_code(r).await;
    assert_eq!((status, code.as_str()), (403, "csrf_token_invalid"));
    let r = app
        .http
        .get(format!("{}/api/v1/auth/me", app.base))
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_code(r).await;
    assert_eq!((status, code.as_str()), (401, "not_logged_in"));
    assert_eq!(
        app.act(&a, "/api/v1/auth/logout", json!({})).await.status(),
        204
    );
    let r = app
        .http
        .get(format!("{}/api/v1/auth/me", app.base))
        .header("cookie", &a.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the session ended");

    // Wrong passwords: the same answer for an unknown account; five failures lock the account.
    let (status, code, _) =
        error_code(app.login("nobody@example.com", "whatever it is").await).await;
    assert_eq!((status, code.as_str()), (422, "invalid_login"));
    for _ in 0..5 {
        let (_, code, _) = error_code(app.login("ann@example.com", "wrong password!!").await).await;
        assert_eq!(code, "invalid_login");
    }
    let (status, code, _) =
        error_code(app.login("ann@example.com", "a long enough password").await).await;
    assert_eq!((status, code.as_str()), (429, "too_many_attempts"));
}

async fn routing_spreads_new_conversations_respects_capacity_and_requeues_from_offline_agents(
    db: TestDatabase,
) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    let admin = app.key(switchboard_domain::Role::Admin).await;
    let ann_id = app.add_user("ann@example.com", "Ann", "agent").await;
    let bob_id = app.add_user("bob@example.com", "Bob", "agent").await;
    let (a, b) = (
        app.session("ann@example.com").await,
        app.session("bob@example.com").await,
    );
    let r = app
        .http
        .put(format!("{}/api/v1/teams/support/routing", app.base))
        .bearer_auth(&admin)
        .json(&json!({"strategy": "round_robin", "capacity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{backend:?}");
    for s in [&a, &b] {
        assert_eq!(
            app.act(s, "/api/v1/auth/presence", json!({}))
                .await
                .status(),
            204
        );
    }
    for who in ["16505550601", "16505550602", "16505550603"] {
        app.customer_writes(who, TestApp::text("I need help"));
    }
    app.settle().await;
    let now = UnixMs::now();
    assert_eq!(
        app.routing.run_once(now).await.unwrap(),
        2,
        "{backend:?}: capacity 1 each, the third waits"
    );
    let list = app
        .get_json("/api/v1/conversations?assignee=none", &admin)
        .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
    let held_by = |v: &Value, user: i64| {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| {
                c["assignee"].as_str() == Some(user.to_string().as_str()) || c["assignee"] == user
            })
            .map(|c| c["id"].as_i64().unwrap())
    };
    let all = app.get_json("/api/v1/conversations", &admin).await;
    let anns = held_by(&all, ann_id).expect("Ann got one");
    let bobs = held_by(&all, bob_id).expect("Bob got one");

    // Ann resolves hers; the waiting conversation goes to her.
    assert_eq!(
        app.act(
            &a,
            &format!("/api/v1/conversations/{anns}/status"),
            json!({"status": "resolved"})
        )
        .await
        .status(),
        200
    );
    assert_eq!(app.routing.run_once(now).await.unwrap(), 1);
    // Bob's status change on Ann's conversation is refused.
    let (status, _, _) = error_code(
        app.act(
            &b,
            &format!("/api/v1/conversations/{anns}/status"),
            json!({"status": "open"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 409);

    // Bob stops sending heartbeats: his conversation goes back to the queue (Ann is full).
    let later = UnixMs(now.0 + 61_000);
    app.act(&a, "/api/v1/auth/presence", json!({})).await;
    assert_eq!(app.routing.run_once(later).await.unwrap(), 0);
    let events: Value = app
        .http
        .get(format!("{}/api/v1/conversations/{bobs}/events", app.base))
        .header("cookie", &a.cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["routed", "requeued"], "{backend:?}");

    // Notes and labels.
    assert_eq!(
        app.act(
            &a,
            &format!("/api/v1/conversations/{bobs}/notes"),
            json!({"text": "VIP customer, be quick"})
        )
        .await
        .status(),
        201
    );
    let r = app
        .act(
            &a,
            &format!("/api/v1/conversations/{bobs}/labels/VIP"),
            json!({}),
        )
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["labels"], json!(["vip"]));
    let vip = app
        .get_json("/api/v1/conversations?label=vip", &admin)
        .await;
    assert_eq!(vip["data"][0]["id"], bobs);
    let teams = app.get_json("/api/v1/teams", &admin).await;
    assert_eq!(teams["data"][0]["routing"]["capacity"], 1);
}

#[tokio::test]
async fn outside_business_hours_new_conversations_wait_in_the_queue() {
    let app = TestApp::spawn(switchboard_store::testing::sqlite()).await;
    let admin = app.key(switchboard_domain::Role::Admin).await;
    app.add_user("ann@example.com", "Ann", "agent").await;
    let a = app.session("ann@example.com").await;
    app.act(&a, "/api/v1/auth/presence", json!({})).await;
    // Open only on a weekday that is not today.
    let today = ((UnixMs::now().0.div_euclid(86_400_000) + 3).rem_euclid(7)) as u8;
    let other = (today + 1) % 7;
    let r = app
        .http
        .put(format!("{}/api/v1/teams/support/routing", app.base))
        .bearer_auth(&admin)
        .json(&json!({"hours": {"utc_offset_minutes": 0, "weekly": [[other, 0, 1440]]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.customer_writes("16505550701", TestApp::text("hello?"));
    app.settle().await;
    assert_eq!(app.routing.run_once(UnixMs::now()).await.unwrap(), 0);
    let bad = app
        .http
        .put(format!("{}/api/v1/teams/support/routing", app.base))
        .bearer_auth(&admin)
        .json(&json!({"hours": {"weekly": [[9, 0, 10]]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
}

/// The next SSE event as (event name, data), within five seconds.
async fn next_event(resp: &mut reqwest::Response, buf: &mut String) -> (String, Value) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if let Some(end) = buf.find("\n\n") {
            let block = buf[..end].to_owned();
            *buf = buf[end + 2..].to_owned();
            let name = block
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or("message")
                .to_owned();
            if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                return (name, serde_json::from_str(data).unwrap());
            }
            continue;
        }
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .expect("an event within 5 s")
            .unwrap()
            .expect("open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn every_open_inbox_hears_new_messages_hand_changes_and_typing_live() {
    let app = TestApp::spawn(switchboard_store::testing::sqlite()).await;
    app.add_user("ann@example.com", "Ann", "agent").await;
    app.add_user("bob@example.com", "Bob", "agent").await;
    let a = app.session("ann@example.com").await;
    let b = app.session("bob@example.com").await;
    let mut sse = app
        .http
        .get(format!("{}/api/v1/events", app.base))
        .header("cookie", &a.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), 200);
    let mut buf = String::new();

    app.customer_writes("16505550801", TestApp::text("Hello?"));
    app.settle().await;
    let (name, v) = next_event(&mut sse, &mut buf).await;
    assert_eq!(name, "message", "{v}");
    let conv = v["conversation_id"].as_i64().unwrap();

    assert_eq!(app.claims(&b, conv).await.status(), 200);
    let (name, v) = next_event(&mut sse, &mut buf).await;
    assert_eq!(
        (name.as_str(), v["data"]["assignee"].as_i64()),
        ("assignment", Some(b.id)),
        "{v}"
    );

    assert_eq!(
        app.act(
            &b,
            &format!("/api/v1/conversations/{conv}/presence"),
            json!({"typing": true})
        )
        .await
        .status(),
        204
    );
    let (name, v) = next_event(&mut sse, &mut buf).await;
    assert_eq!(
        (
            name.as_str(),
            v["data"]["name"].as_str(),
            v["data"]["typing"].as_bool()
        ),
        ("presence", Some("Bob"), Some(true))
    );

    // Without a session there is no stream.
    let r = app
        .http
        .get(format!("{}/api/v1/events", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

async fn two_claims_at_the_same_moment_cannot_both_win(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    app.add_user("ann@example.com", "Ann", "agent").await;
    app.add_user("bob@example.com", "Bob", "agent").await;
    let a = app.session("ann@example.com").await;
    let b = app.session("bob@example.com").await;
    for round in 0..5 {
        let who = format!("165055509{round:02}");
        app.customer_writes(&who, TestApp::text("hi"));
        app.settle().await;
        // The newest conversation is first.
        let key = app.key(switchboard_domain::Role::Admin).await;
        let conv = app.get_json("/api/v1/conversations", &key).await["data"][0]["id"]
            .as_i64()
            .unwrap();
        let (ra, rb) = tokio::join!(app.claims(&a, conv), app.claims(&b, conv));
        let wins = [ra.status(), rb.status()]
            .iter()
            .filter(|s| s.as_u16() == 200)
            .count();
        assert_eq!(wins, 1, "{backend:?} round {round}");
        let events = app.store.conversation_events(conv).await.unwrap();
        assert_eq!(
            events
                .iter()
                .filter(|e| e.kind == switchboard_domain::conversation::EventKind::Claimed)
                .count(),
            1,
            "{backend:?}"
        );
    }
}

impl TestApp {
    async fn page(&self, s: Option<&Session>, path: &str) -> reqwest::Response {
        let mut r = self.http.get(format!("{}{path}", self.base));
        if let Some(s) = s {
            r = r.header("cookie", &s.cookie);
        }
        r.send().await.unwrap()
    }
}

async fn the_inbox_pages_check_policy_before_sending_and_keep_canned_responses(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    app.add_user("ann@example.com", "Ann", "agent").await;
    app.add_user("lead@example.com", "Lead", "admin").await;
    let ann = app.session("ann@example.com").await;
    let lead = app.session("lead@example.com").await;
    app.customer_writes("16505550142", TestApp::text("<b>hello</b> & goodbye"));
    app.settle().await;
    let id = app
        .store
        .conversations(&Default::default())
        .await
        .unwrap()
        .first()
        .expect("the customer's conversation")
        .id;

    // Pages: a login redirect without a session; with one, escaped customer text and
    // the headers that keep injected markup from running.
    let r = app.page(None, "/inbox").await;
    assert_eq!(r.status(), 200, "{backend:?}: redirects are followed");
    assert!(r.url().path().starts_with("/login"), "{}", r.url());
    let r = app
        .page(Some(&ann), &format!("/inbox?view=all&c={id}"))
        .await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = r.text().await.unwrap();
    assert!(
        html.contains("&#60;b&#62;hello&#60;/b&#62; &#38; goodbye"),
        "escaped: {backend:?}"
    );
    assert!(!html.contains("<b>hello</b>"));
    assert!(html.contains("Nobody holds this conversation"));
    // Admin pages are admins'.
    assert_eq!(app.page(Some(&ann), "/costs").await.status(), 403);
    assert_eq!(app.page(Some(&lead), "/costs").await.status(), 200);
    assert_eq!(app.page(Some(&lead), "/templates").await.status(), 200);

    // Views: once Ann claims it, it is in her Mine and her team's, not in Unassigned.
    let list = |who: &Session, q: &str| {
        let (http, base, cookie) = (app.http.clone(), app.base.clone(), who.cookie.clone());
        let q = q.to_owned();
        async move {
            http.get(format!("{base}/inbox/list?{q}"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let row = format!("data-id=\"{id}\"");
    assert!(list(&ann, "view=unassigned").await.contains(&row));
    assert!(!list(&ann, "view=mine").await.contains(&row));
    let r = app
        .act(
            &ann,
            &format!("/api/v1/conversations/{id}/claim"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let mine = list(&ann, "view=mine").await;
    assert!(mine.contains(&row), "{backend:?}");
    assert!(
        mine.contains("conv-preview\">&#60;b&#62;hello&#60;/b&#62; &#38; goodbye"),
        "the last message, escaped: {mine}"
    );
    assert!(
        mine.contains("data-mine=\"1\" data-mine-unread=\"1\""),
        "{mine}"
    );
    assert!(!list(&ann, "view=unassigned").await.contains(&row));
    assert!(
        list(&lead, "view=team").await.contains(&row),
        "Lead is in Ann's team"
    );
    assert!(!list(&lead, "view=mine").await.contains(&row));
    assert!(!list(&ann, "view=mine&status=resolved").await.contains(&row));
    assert!(
        list(&ann, "view=all&q=goodbye").await.contains(&row),
        "searched"
    );
    assert!(!list(&ann, "view=all&q=farewell").await.contains(&row));

    // Read: the unread count goes to zero.
    assert_eq!(app.store.conversation(id).await.unwrap().unread_count, 1);
    let r = app
        .act(&ann, &format!("/api/v1/conversations/{id}/read"), json!({}))
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(app.store.conversation(id).await.unwrap().unread_count, 0);

    // Check: the policy's decision without sending. Inside the window free text is fine;
    // a template that does not exist is refused, and nothing was queued either way.
    let r = app
        .act(
            &ann,
            &format!("/api/v1/conversations/{id}/check"),
            json!({"type": "text", "text": {"body": "hi"}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["allowed"], true, "{v}");
    let r = app
        .act(&ann, &format!("/api/v1/conversations/{id}/check"),
            json!({"type": "template", "template": {"name": "nope", "language": {"code": "en_US"}}}))
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["allowed"], false, "{v}");
    assert_eq!(v["decision"]["decision"], "refuse");
    assert!(
        v["decision"]["message"].as_str().unwrap().contains("nope"),
        "{v}"
    );
    assert!(
        app.store
            .outbound_counts(&app.number)
            .await
            .unwrap()
            .is_empty(),
        "a check queues nothing"
    );
    // A holder check comes first: Lead does not hold it.
    let v: Value = app
        .act(
            &lead,
            &format!("/api/v1/conversations/{id}/check"),
            json!({"type": "text", "text": {"body": "hi"}}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["allowed"], false);
    assert_eq!(v["decision"]["code"], "not_assignee", "{v}");
    // An agent's session cannot send to any number: replies go through conversations.
    let (status, code, _) = error_code(
        app.act(
            &ann,
            "/api/v1/messages",
            json!({"to": "+16505550199", "type": "text", "text": {"body": "hi"}}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (403, "agents_reply_in_conversations")
    );

    // The session works on the rest of the API too (the pages' actions use it), and unsafe
    // methods still need the CSRF token.
    let r = app
        .http
        .get(format!("{}/api/v1/conversations", app.base))
        .header("cookie", &ann.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .http
        .post(format!("{}/api/v1/canned-responses", app.base))
        .header("cookie", &lead.cookie)
        .json(&json!({"shortcut": "hours", "body": "We are open 9-18."}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.1, "csrf_token_invalid");

    // Canned responses: admins add and delete, agents list; shortcuts are unique.
    let body =
        json!({"shortcut": "/Hours", "body": "Hi {{contact.first_name}}, we are open 9-18."});
    let r = app
        .act(&ann, "/api/v1/canned-responses", body.clone())
        .await;
    assert_eq!(r.status(), 403, "agents cannot add");
    let r = app
        .act(&lead, "/api/v1/canned-responses", body.clone())
        .await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["shortcut"], "hours");
    // An admin API key adds them too (no person behind it).
    let key = app.key(switchboard_domain::Role::Admin).await;
    let r = app
        .post_json(
            "/api/v1/canned-responses",
            &key,
            &json!({"shortcut": "thanks", "body": "Thank you!"}),
            &[],
        )
        .await;
    assert_eq!(r.status(), 201, "{backend:?}");
    let (status, code, _) =
        error_code(app.act(&lead, "/api/v1/canned-responses", body).await).await;
    assert_eq!((status, code.as_str()), (409, "shortcut_taken"));
    let (status, code, _) = error_code(
        app.act(
            &lead,
            "/api/v1/canned-responses",
            json!({"shortcut": "no spaces", "body": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (422, "invalid_request"));
    let list: Value = app
        .http
        .get(format!("{}/api/v1/canned-responses", app.base))
        .header("cookie", &ann.cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 2, "{backend:?}");
    let html = app
        .page(Some(&ann), &format!("/inbox/c/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("/hours"), "offered in the reply box");
    let r = app
        .http
        .delete(format!(
            "{}/api/v1/canned-responses/{}",
            app.base, created["id"]
        ))
        .header("cookie", &lead.cookie)
        .header("x-csrf-token", &lead.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

/// PostgreSQL deployments run several instances: an agent connected to one sees, live, what
/// happened on another (events cross with LISTEN/NOTIFY).
#[tokio::test]
async fn live_updates_cross_instances_on_postgres() {
    let db = switchboard_store::testing::postgres().await;
    let app = TestApp::spawn(db).await;
    app.add_user("ann@example.com", "Ann", "agent").await;
    app.add_user("bob@example.com", "Bob", "agent").await;
    app.customer_writes("16505550142", TestApp::text("hello"));
    app.settle().await;
    let id = app.store.conversations(&Default::default()).await.unwrap()[0].id;
    let (other, stop, server) = app.second_instance().await;
    let ann = app.session("ann@example.com").await;
    // Bob is on the other instance, watching.
    let bob = app.session("bob@example.com").await;
    let mut stream = app
        .http
        .get(format!("{other}/api/v1/events"))
        .header("cookie", &bob.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    // The other instance is listening once presence sent here reaches Bob there.
    let mut buf = String::new();
    let mut ready = false;
    for _ in 0..50 {
        app.act(
            &ann,
            &format!("/api/v1/conversations/{id}/presence"),
            json!({}),
        )
        .await;
        if let Ok(Some(Ok(chunk))) =
            tokio::time::timeout(std::time::Duration::from_millis(200), stream.chunk())
                .await
                .map(|c| c.transpose())
        {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            if buf.contains("event: presence") {
                ready = true;
                break;
            }
        }
    }
    assert!(ready, "presence never crossed instances");
    buf.clear();
    let r = app
        .act(
            &ann,
            &format!("/api/v1/conversations/{id}/claim"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let (kind, data) = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            let (kind, data) = next_event(&mut stream, &mut buf).await;
            if kind != "presence" {
                return (kind, data);
            }
        }
    })
    .await
    .expect("the claim on one instance reaches the other within 5 s");
    assert_eq!(kind, "assignment");
    assert_eq!(data["conversation_id"], id);
    assert_eq!(data["data"]["assignee"], ann.id);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// One team nobody can serve (its agents are offline) does not hold up another team's queue,
/// however many of its conversations wait.
async fn a_team_nobody_can_serve_does_not_hold_up_another_teams_queue(db: TestDatabase) {
    let backend = db.backend;
    let second = "106540352242923".to_owned();
    let app = TestApp::spawn_with(db, |ec| {
        let mut n = ec.numbers[0].clone();
        n.phone_number_id = "106540352242923".into();
        n.display_phone_number = "15550783882".into();
        ec.numbers.push(n);
    })
    .await;
    let now = UnixMs::now();
    let hash = switchboard_server::agents::hash_password("a long enough password").unwrap();
    let mut ids = vec![];
    for (email, team) in [
        ("ann@example.com", "support"),
        ("cleo@example.com", "sales"),
    ] {
        ids.push(
            app.store
                .create_user(
                    &switchboard_store::NewUser {
                        email: email.into(),
                        name: email.into(),
                        role: "agent".into(),
                        team: Some(team.into()),
                        password_hash: hash.clone(),
                    },
                    now.0,
                )
                .await
                .unwrap()
                .unwrap(),
        );
    }
    app.store
        .set_team_rules(
            "support",
            &json!({"numbers": [app.number]}).to_string(),
            now.0,
        )
        .await
        .unwrap();
    app.store
        .set_team_rules("sales", &json!({"numbers": [second]}).to_string(), now.0)
        .await
        .unwrap();
    // Only Cleo (sales) is online.
    app.store.touch_presence(ids[1], now.0).await.unwrap();
    // Support's customers wrote first, then one of Sales'.
    for who in ["16505550701", "16505550702", "16505550703"] {
        app.customer_writes(who, TestApp::text("support please"));
        app.em.advance(std::time::Duration::from_secs(1));
    }
    app.em.add_customer(switchboard_emulator::Customer::new(
        "16505550799",
        Some("Sal"),
    ));
    app.em
        .customer_sends("16505550799", &second, TestApp::text("I want to buy"))
        .unwrap();
    app.settle().await;
    let router = switchboard_server::routing::Router::new(
        app.store.clone(),
        std::sync::Arc::new(tokio::sync::Notify::new()),
        Default::default(),
    )
    .with_window(2);
    assert_eq!(
        router.run_once(UnixMs::now()).await.unwrap(),
        1,
        "{backend:?}"
    );
    let sales = app
        .store
        .conversations(&switchboard_store::ConversationFilter {
            phone_number_id: Some(second.clone()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(sales[0].assignee, Some(ids[1].to_string()), "Cleo has it");
}

/// The router runs when a customer writes (woken by the event bus), not on its next poll: with
/// the background workers running, a new conversation is assigned well before `routing::POLL`.
#[tokio::test]
async fn a_new_conversation_is_routed_as_soon_as_it_arrives() {
    let app = TestApp::spawn_full(switchboard_store::testing::sqlite(), |_| {}, &[], true).await;
    let admin = app.key(switchboard_domain::Role::Admin).await;
    let ann = app.add_user("ann@example.com", "Ann", "agent").await;
    let a = app.session("ann@example.com").await;
    let r = app
        .http
        .put(format!("{}/api/v1/teams/support/routing", app.base))
        .bearer_auth(&admin)
        .json(&json!({"strategy": "round_robin", "capacity": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.act(&a, "/api/v1/auth/presence", json!({}))
            .await
            .status(),
        204
    );
    // Let the router finish the pass the presence rang for, then wait on events again.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let wrote = std::time::Instant::now();
    app.customer_writes("16505550701", TestApp::text("I need help"));
    let deadline = switchboard_server::routing::POLL / 2;
    loop {
        let list = app.get_json("/api/v1/conversations", &admin).await;
        let assignee = list["data"][0]["assignee"].as_str();
        if assignee.and_then(|a| a.parse::<i64>().ok()) == Some(ann) {
            break;
        }
        assert!(
            wrote.elapsed() < deadline,
            "not routed within {deadline:?}: {list}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

switchboard_store::per_backend!(
    two_agents_one_conversation_and_no_overriding,
    routing_spreads_new_conversations_respects_capacity_and_requeues_from_offline_agents,
    two_claims_at_the_same_moment_cannot_both_win,
    the_inbox_pages_check_policy_before_sending_and_keep_canned_responses,
    a_team_nobody_can_serve_does_not_hold_up_another_teams_queue,
);
