//! Nothing accepted is lost, nothing is sent twice but what was in flight: 10,000 queued
//! template messages, `switchboard serve` SIGKILLed while it sends them, restarted; every
//! message reaches the emulator, and the recipients who got a message twice are at most the
//! messages that were in flight at the kill (the ones requeued as ambiguous). The test prints
//! the numbers.

use std::collections::HashMap;
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_domain::UnixMs;
use switchboard_emulator::{Emulator, EmulatorConfig, MessagingLimit};
use switchboard_server::config::{Config, Overrides};
use switchboard_server::outbound::{Outbound, parse_send};
use switchboard_store::testing::each_backend;
use switchboard_store::{PolicyLimits, Submitted};

const TOTAL: usize = 10_000;
const RATE: &str = "400";

fn serve(db_url: &str, port: u16, em: &Emulator) -> Child {
    crate::crash::serve_with(db_url, port, em, &[("SWITCHBOARD_THROUGHPUT_MPS", RATE)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_campaign_sends_everything_and_duplicates_at_most_what_was_in_flight() {
    for db in each_backend().await {
        let backend = db.backend;
        let store = db.store().await;
        let mut ec = EmulatorConfig {
            messaging_limit: MessagingLimit::Unlimited,
            outbox_capacity: 100_000,
            ..Default::default()
        };
        ec.numbers[0].throughput_mps = RATE.parse().unwrap();
        let running = Emulator::start(ec.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let em = running.emulator.clone();
        let http = switchboard_graph::http_client(Duration::from_secs(10));
        // Realistic Graph latency, so many calls are in flight when the kill comes.
        http.post(format!("{}/_emulator/faults", running.base_url))
            .json(&json!({"latency_ms": 50, "latency_jitter_ms": 100}))
            .send()
            .await
            .unwrap();
        let graph = switchboard_graph::GraphClient::new(
            &running.base_url,
            &ec.api_version,
            Duration::from_secs(10),
        );
        let token = secrecy::SecretString::from(ec.access_token.clone());
        graph
            .create_template(&ec.waba_id, &token, &json!({"name": "order_shipped", "language": "en_US", "category": "UTILITY", "components": [
                {"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped.", "example": {"body_text": [["Ann", "42"]]}}]}))
            .await
            .unwrap();
        em.advance(Duration::from_secs(31));
        let list = graph
            .list_templates(&ec.waba_id, &token, 100, None)
            .await
            .unwrap();
        store
            .sync_templates(
                &ec.waba_id,
                list["data"].as_array().unwrap(),
                UnixMs::now().0,
            )
            .await
            .unwrap();

        // The campaign: 10,000 customers, queued as a campaign queues them (in bulk).
        let env = |k: &str| match k {
            "SWITCHBOARD_PHONE_NUMBER_ID" => Some(ec.numbers[0].phone_number_id.clone()),
            "SWITCHBOARD_WABA_ID" => Some(ec.waba_id.clone()),
            "SWITCHBOARD_ACCESS_TOKEN" => Some(ec.access_token.clone()),
            "SWITCHBOARD_APP_SECRET" => Some(ec.app_secret.clone()),
            _ => None,
        };
        let config = Config::from_sources(None, env, &Overrides::default()).unwrap();
        let ob = Outbound::new(&config);
        // Queued as a campaign is: parked under a campaign row, then started.
        let campaign = store
            .create_campaign(
                &switchboard_store::NewCampaign {
                    name: "crash test".into(),
                    phone_number_id: ec.numbers[0].phone_number_id.clone(),
                    template_name: "order_shipped".into(),
                    language: "en_US".into(),
                    audience: "{}".into(),
                    schedule_at_ms: UnixMs::now().0,
                    created_by: None,
                    team_id: None,
                },
                UnixMs::now().0,
            )
            .await
            .unwrap();
        let mut batch = Vec::new();
        for i in 0..TOTAL {
            let body = json!({"to": format!("+1650{i:07}"), "type": "template", "template": {
                "name": "order_shipped", "language": {"code": "en_US"},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ann"}, {"type": "text", "text": format!("{i}")}]}]}});
            let mut send = parse_send(&ob, body.to_string().as_bytes()).unwrap();
            send.campaign_id = Some(campaign);
            send.park = true;
            batch.push(send);
            if batch.len() == 1_000 {
                let out = store
                    .submit_sends(&batch, PolicyLimits::default(), UnixMs::now())
                    .await
                    .unwrap();
                assert!(out.iter().all(|s| matches!(s, Submitted::New(_))));
                batch.clear();
            }
        }

        assert!(
            store
                .start_campaign(campaign, UnixMs::now().0)
                .await
                .unwrap()
        );

        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = serve(&db.url, port, &em);
        // Kill it a third of the way through, without warning.
        let start = Instant::now();
        while em.outbox().len() < TOTAL / 3 {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "{backend:?}: sending did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server.kill().unwrap();
        server.wait().unwrap();
        let at_kill = em.outbox().len();

        let mut server = serve(&db.url, port, &em);
        let number = &ec.numbers[0].phone_number_id;
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let counts = store.outbound_counts(number).await.unwrap();
            let accepted = counts.get("accepted").copied().unwrap_or(0) as usize;
            if accepted == TOTAL {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{backend:?}: only {accepted} of {TOTAL} accepted after the restart: {counts:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        server.kill().unwrap();
        server.wait().unwrap();

        // Every message reached Meta; a recipient got a second copy only if its message was in
        // flight at the kill.
        let mut per_recipient: HashMap<String, usize> = HashMap::new();
        for r in em.outbox() {
            assert_eq!(r.verdict, "accepted", "{backend:?}: {:?}", r.error);
            *per_recipient
                .entry(r.to.clone().unwrap_or_default())
                .or_default() += 1;
        }
        assert_eq!(
            per_recipient.len(),
            TOTAL,
            "{backend:?}: every customer got the message"
        );
        let duplicates: usize = per_recipient.values().map(|n| n - 1).sum();
        let requeued = store.outbound_requeued_count(number).await.unwrap() as usize;
        println!(
            "{backend:?}: {TOTAL} messages, {at_kill} at the emulator when killed, {requeued} in flight (requeued as ambiguous), {duplicates} sent twice"
        );
        assert!(
            duplicates <= requeued,
            "{backend:?}: {duplicates} duplicates but only {requeued} messages were in flight"
        );
        store.close().await;
    }
}
