//! `switchboard demo`: Switchboard on a fresh SQLite database with the emulator of Meta's API
//! in the same process, two numbers, two teams with routing rules, agents with printed
//! passwords, an admin API key, approved templates, and simulated customers writing in.

use std::time::Duration;

use anyhow::Context;
use rand::seq::IndexedRandom;
use serde_json::json;
use switchboard_emulator::{AutoReply, Customer, Emulator, EmulatorConfig, NumberSpec};
use switchboard_server::config::{Config, Overrides};
use switchboard_server::{Application, UnixMs};
use switchboard_store::{ConnectOptions, NewUser, Store};

use crate::DemoArgs;

const CUSTOMERS: &[(&str, &str)] = &[
    ("16505550111", "Maya Patel"),
    ("16505550112", "Lucas Moreau"),
    ("447700900123", "Olivia Brown"),
    ("5511987654321", "Rafael Souza"),
    ("919812345678", "Priya Sharma"),
    ("4915112345678", "Jonas Weber"),
    ("525512345678", "Sofía Hernández"),
    ("16505550113", "Ethan Clark"),
];

const QUESTIONS: &[&str] = &[
    "Hi! Where is my order #4821? It was supposed to arrive yesterday.",
    "Can I change the delivery address for my last order?",
    "Do you have the ceramic planter in large?",
    "I was charged twice for the same order, can you check?",
    "What are your opening hours on Saturday?",
    "The package arrived damaged. What should I do?",
    "Is the spring sale still on?",
    "Can I return an item I bought two weeks ago?",
    "Thanks, that solved it!",
    "How long does shipping to Berlin take?",
];

const PEOPLE: &[(&str, &str, &str, &str)] = &[
    ("lead@demo.switchboard", "Lena (lead)", "admin", "Support"),
    ("ann@demo.switchboard", "Ann", "agent", "Support"),
    ("bob@demo.switchboard", "Bob", "agent", "Support"),
    ("cleo@demo.switchboard", "Cleo", "agent", "Sales"),
    ("dev@demo.switchboard", "Dev", "agent", "Sales"),
];

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .init();
    let (dir, _keep) = match &args.data {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            (d.clone(), None)
        }
        None => {
            let t = tempfile_dir()?;
            (t.clone(), Some(t))
        }
    };
    let db = format!("sqlite://{}", dir.join("demo.db").display());
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let base = format!("http://{}", listener.local_addr()?);

    // Meta, emulated: two numbers, customers who read and sometimes answer.
    let mut ec = EmulatorConfig {
        webhook_url: Some(format!("{base}/webhooks/whatsapp")),
        ..Default::default()
    };
    ec.numbers = vec![
        NumberSpec {
            throughput_mps: 80,
            ..Default::default()
        },
        NumberSpec {
            phone_number_id: "106540352242923".into(),
            display_phone_number: "15550783882".into(),
            verified_name: "Lucky Shrub Sales".into(),
            throughput_mps: 80,
        },
    ];
    let emulator = Emulator::start(ec.clone(), "127.0.0.1:0".parse()?).await?;
    let em = emulator.emulator.clone();
    for (wa_id, name) in CUSTOMERS {
        let mut c = Customer::new(wa_id, Some(name));
        c.read_delay_ms = Some(3_000);
        c.auto_reply = Some(AutoReply {
            text: "Thanks! 🙏".into(),
            delay_ms: 8_000,
            probability: 0.3,
        });
        em.add_customer(c);
    }

    let mut toml = String::new();
    for n in &ec.numbers {
        toml.push_str(&format!(
            "[[numbers]]\nphone_number_id = \"{}\"\nwaba_id = \"{}\"\ndisplay_number = \"+{}\"\naccess_token = \"{}\"\napp_secret = \"{}\"\nthroughput_mps = 80\n\n",
            n.phone_number_id, ec.waba_id, n.display_phone_number, ec.access_token, ec.app_secret
        ));
    }
    let graph_base = emulator.base_url.clone();
    let verify = ec.verify_token.clone();
    let media = dir.join("media").display().to_string();
    let config = Config::from_sources(
        Some(&toml),
        |k| match k {
            "SWITCHBOARD_GRAPH_BASE_URL" => Some(graph_base.clone()),
            "SWITCHBOARD_VERIFY_TOKEN" => Some(verify.clone()),
            "SWITCHBOARD_MEDIA_DIR" => Some(media.clone()),
            // Advancing the emulator's clock (POST /_emulator/clock/advance) closes windows here.
            "SWITCHBOARD_DEV_CLOCK_URL" => Some(format!("{graph_base}/_emulator/clock")),
            _ => None,
        },
        &Overrides {
            database_url: Some(db.clone()),
            listen: Some(base.trim_start_matches("http://").to_owned()),
            metrics_listen: Some(String::new()),
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = Store::connect(&db, &ConnectOptions::default()).await?;
    store.migrate().await?;

    // Templates, approved by the emulator's review.
    let graph = switchboard_graph::GraphClient::new(
        &emulator.base_url,
        &ec.api_version,
        Duration::from_secs(10),
    );
    let token = secrecy::SecretString::from(ec.access_token.clone());
    for t in [
        json!({"name": "order_update", "language": "en_US", "category": "UTILITY", "components": [
            {"type": "BODY", "text": "Hi {{1}}, there is an update on your order {{2}}: it is on its way.", "example": {"body_text": [["Maya", "4821"]]}}]}),
        json!({"name": "spring_sale", "language": "en_US", "category": "MARKETING", "components": [
            {"type": "BODY", "text": "Hi {{1}}, our spring sale is on: 20% off all planters until Sunday.", "example": {"body_text": [["Maya"]]}}]}),
    ] {
        graph
            .create_template(&ec.waba_id, &token, &t)
            .await
            .context("creating demo templates")?;
    }
    em.advance(Duration::from_secs(31));

    // People, teams and routing.
    let mut printed = Vec::new();
    for (email, name, role, team) in PEOPLE {
        let password = switchboard_server::agents::generate_password();
        let hash =
            switchboard_server::agents::hash_password(&password).map_err(|e| anyhow::anyhow!(e))?;
        if store
            .create_user(
                &NewUser {
                    email: (*email).into(),
                    name: (*name).into(),
                    role: (*role).into(),
                    team: Some((*team).into()),
                    password_hash: hash,
                },
                UnixMs::now().0,
            )
            .await?
            .is_some()
        {
            printed.push((*email, *name, *role, *team, password));
        }
    }
    let support = json!({"strategy": "round_robin", "capacity": 5, "numbers": [ec.numbers[0].phone_number_id]});
    let sales = json!({"strategy": "least_open", "capacity": 3, "numbers": [ec.numbers[1].phone_number_id]});
    store
        .set_team_rules("Support", &support.to_string(), UnixMs::now().0)
        .await?;
    store
        .set_team_rules("Sales", &sales.to_string(), UnixMs::now().0)
        .await?;
    let (_, key) =
        switchboard_server::auth::create_api_key(&store, "demo", switchboard_server::Role::Admin)
            .await?;

    let app = Application::build_on(config, store.clone(), listener).await?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stop_rx.await;
    }));

    println!("Switchboard demo");
    println!("  Inbox:        {base}/inbox   (log in as one of the people below)");
    println!("  API:          {base}/api/v1   (OpenAPI: {base}/api/openapi.json)");
    println!("  API key:      {key}");
    println!(
        "  Emulator:     {}   (Meta's Graph API, offline)",
        emulator.base_url
    );
    println!("  Data:         {}", dir.display());
    println!("  People:");
    for (email, name, role, team, password) in &printed {
        println!("    {email:<26} {password}  {name}, {role}, {team}");
    }
    println!(
        "  Numbers: +{} (Support, round-robin), +{} (Sales, least-open)",
        ec.numbers[0].display_phone_number, ec.numbers[1].display_phone_number
    );
    println!("  Customers write in every few seconds. Try:");
    println!("    curl -H 'Authorization: Bearer {key}' {base}/api/v1/conversations");
    println!("Press Ctrl-C to stop.");
    use std::io::Write;
    std::io::stdout().flush()?;

    // Customers write in.
    let numbers: Vec<String> = ec
        .numbers
        .iter()
        .map(|n| n.phone_number_id.clone())
        .collect();
    let writer = {
        let em = em.clone();
        let every = Duration::from_millis(args.message_every_ms.max(200));
        tokio::spawn(async move {
            loop {
                let (who, number, text) = {
                    let mut rng = rand::rng();
                    (
                        CUSTOMERS
                            .choose(&mut rng)
                            .map(|c| c.0)
                            .unwrap_or("16505550111"),
                        numbers.choose(&mut rng).cloned().unwrap_or_default(),
                        *QUESTIONS.choose(&mut rng).unwrap_or(&"Hello"),
                    )
                };
                let _ = em.customer_sends(
                    who,
                    &number,
                    json!({"type": "text", "text": {"body": text}}),
                );
                tokio::time::sleep(every).await;
            }
        })
    };
    let limit = async {
        match args.duration_secs {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = limit => {}
        _ = switchboard_server::shutdown_signal() => {}
    }
    writer.abort();
    let _ = stop_tx.send(());
    server.await??;
    emulator.stop();
    store.close().await;
    Ok(())
}

/// A fresh directory for one demo run (kept afterwards, so its data can be looked at).
fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "switchboard-demo-{}-{}",
        std::process::id(),
        UnixMs::now().0
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
