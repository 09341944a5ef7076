//! The `switchboard` binary: a thin shell over the library crates.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use switchboard_server::config::{self, Config, LogFormat, Overrides};
use switchboard_server::{Application, auth};
use switchboard_store::{ConnectOptions, Store};

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "A self-hosted server for the WhatsApp Business Platform (Cloud API)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: webhooks, API, health, metrics.
    Serve(ConfigArgs),
    /// Apply database migrations and exit.
    Migrate(ConfigArgs),
    /// Manage API keys.
    Apikey {
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// Work with the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Templates as code: lint a folder of template files, compare it with Meta, push, pull.
    Templates {
        #[command(subcommand)]
        command: TemplatesCommand,
    },
    /// A demo: Switchboard on a fresh SQLite database with the emulator in the same process,
    /// two numbers, two teams, agents (passwords printed), templates and customers writing in.
    Demo(DemoArgs),
    /// People who log in to the inbox.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Rate cards: import Meta's rates CSV (and volume-tier CSV) with an effective date.
    Rates {
        #[command(subcommand)]
        command: RatesCommand,
    },
    /// Forecast a month's cost from volumes (CSV: country,category,monthly_volume[,in_window_share]).
    Forecast {
        #[arg(long)]
        volumes: PathBuf,
        /// Price under this rates CSV instead of the active card.
        #[arg(long)]
        rates: Option<PathBuf>,
        /// Volume tiers for --rates.
        #[arg(long)]
        tiers: Option<PathBuf>,
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Run the offline emulator of Meta's Cloud API. Prints one JSON line (base URL, ids,
    /// credentials), then serves until stopped.
    Emulator(EmulatorArgs),
}

#[derive(Args)]
struct EmulatorArgs {
    /// Address to serve on (port 0 picks a free one; the JSON line says which).
    #[arg(long, default_value = "127.0.0.1:4040")]
    listen: std::net::SocketAddr,
    /// Where to deliver webhooks (Switchboard's /webhooks/whatsapp). Without it, webhooks are
    /// only logged (GET /_emulator/webhooks).
    #[arg(long)]
    webhook_url: Option<String>,
    /// A JSON file with any emulator settings (see crates/emulator/src/config.rs).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Messages per second each number accepts before answering 130429.
    #[arg(long)]
    throughput_mps: Option<u32>,
    /// Multiply Meta's 7-day webhook retry schedule by this (e.g. 0.001 for tests).
    #[arg(long)]
    retry_time_scale: Option<f64>,
}

#[derive(Args, Clone)]
struct ConfigArgs {
    /// A TOML configuration file (see `switchboard config example`).
    #[arg(long, env = "SWITCHBOARD_CONFIG")]
    config: Option<PathBuf>,
    /// Overrides `database_url` (sqlite://PATH or postgres://…).
    #[arg(long)]
    database_url: Option<String>,
    /// Overrides `listen`.
    #[arg(long)]
    listen: Option<String>,
    /// Overrides `metrics_listen` (empty disables the metrics listener).
    #[arg(long)]
    metrics_listen: Option<String>,
}

#[derive(Subcommand)]
enum ApikeyCommand {
    /// Create a key and print it once; only its hash is stored.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["admin", "agent"])]
        role: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List keys (never the keys themselves).
    List {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Revoke a key by id.
    Revoke {
        id: i64,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Args)]
struct DemoArgs {
    /// Where Switchboard serves (port 0 picks a free one; the demo prints it).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Keep the demo's data here (default: a new temporary directory).
    #[arg(long)]
    data: Option<PathBuf>,
    /// How often a simulated customer writes in.
    #[arg(long, default_value_t = 4_000)]
    message_every_ms: u64,
    /// Stop after this long (default: until Ctrl-C).
    #[arg(long)]
    duration_secs: Option<u64>,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Add a user; without --password one is generated and printed once.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["admin", "agent"])]
        role: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        team: Option<String>,
        /// Prefer the environment (SWITCHBOARD_NEW_PASSWORD) over the command line.
        #[arg(long, env = "SWITCHBOARD_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List users (never their passwords).
    List {
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Subcommand)]
enum RatesCommand {
    /// Store a card; the latest effective on or before today prices messages.
    Import {
        /// Meta's rates CSV (Market,Currency,Marketing,Utility,Authentication,Authentication-International,Service).
        #[arg(long)]
        rates: PathBuf,
        /// Meta's volume-tier CSV (Market,Currency,Category,From,To,Rate).
        #[arg(long)]
        tiers: Option<PathBuf>,
        /// The date it takes effect (YYYY-MM-DD; Meta changes prices on the 1st of a quarter).
        #[arg(long)]
        effective: String,
        #[arg(long, default_value = "Meta rate card")]
        label: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List imported cards and the one in force.
    List {
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Subcommand)]
enum TemplatesCommand {
    /// Check every template file of DIR against Meta's rules (offline). Exits 1 on errors.
    Lint {
        dir: PathBuf,
        /// `text` for people, `json` for tools.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
    /// Show what pushing DIR would change at Meta.
    Diff(TemplatesArgs),
    /// Create and update at Meta what DIR says; with --prune, also delete what no file names
    /// (asking first, unless --yes).
    Push {
        #[command(flatten)]
        args: TemplatesArgs,
        /// Delete templates at Meta that no file names.
        #[arg(long)]
        prune: bool,
        /// Do not ask before deleting.
        #[arg(long)]
        yes: bool,
    },
    /// Write Meta's current templates into DIR, one file each.
    Pull(TemplatesArgs),
}

#[derive(Args)]
struct TemplatesArgs {
    dir: PathBuf,
    /// Which configured number's account (phone number id); default: the only one.
    #[arg(long)]
    number: Option<String>,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print a commented example configuration file.
    Example,
    /// Validate the configuration and print it with secrets redacted.
    Check(ConfigArgs),
    /// Print docs/configuration.md (the reference of every setting).
    Docs,
}

mod demo;
mod templates;

fn load_config(args: &ConfigArgs) -> anyhow::Result<Config> {
    let overrides = Overrides {
        database_url: args.database_url.clone(),
        listen: args.listen.clone(),
        metrics_listen: args.metrics_listen.clone(),
    };
    Ok(Config::load(args.config.as_deref(), &overrides)?)
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&config.log.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Pretty => builder.init(),
    }
}

async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(config.database_url.expose(), &ConnectOptions::default())
        .await
        .with_context(|| format!("opening {}", config.database_url))?;
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let config = load_config(&args)?;
            init_logging(&config);
            if let Some(why) = args.config.as_deref().and_then(Config::exposed_secrets) {
                tracing::warn!("{why}");
            }
            if config.numbers.is_empty() {
                tracing::warn!(
                    "no sending number is configured: webhooks cannot be verified and nothing can be sent"
                );
            }
            let store = open_store(&config).await?;
            let db = config.database_url.to_string();
            let app = Application::build(config, store)
                .await
                .context("binding the listeners")?;
            tracing::info!(addr = %app.addr(), metrics = ?app.metrics_addr(), database = %db, "switchboard is serving");
            app.run_until_stopped(switchboard_server::shutdown_signal())
                .await?;
            tracing::info!("stopped");
        }
        Command::Migrate(args) => {
            let config = load_config(&args)?;
            init_logging(&config);
            let store = open_store(&config).await?;
            let versions = store.applied_migrations().await?;
            println!(
                "{}: migrations applied up to version {}",
                config.database_url,
                versions.last().copied().unwrap_or(0)
            );
        }
        Command::Apikey { command } => match command {
            ApikeyCommand::Create { name, role, config } => {
                let config = load_config(&config)?;
                let store = open_store(&config).await?;
                let role = switchboard_server::Role::parse(&role).expect("clap restricts the role");
                let (id, key) = auth::create_api_key(&store, &name, role).await?;
                eprintln!("Created API key {id} ({name}, {role}). It is shown once; store it now:");
                println!("{key}");
            }
            ApikeyCommand::List { config } => {
                let config = load_config(&config)?;
                let store = open_store(&config).await?;
                println!(
                    "{:>4}  {:<14} {:<6} {:<24} revoked",
                    "id", "prefix", "role", "name"
                );
                for k in store.list_api_keys().await? {
                    println!(
                        "{:>4}  {:<14} {:<6} {:<24} {}",
                        k.id,
                        k.prefix,
                        k.role,
                        k.name,
                        if k.revoked_at_ms.is_some() {
                            "yes"
                        } else {
                            "no"
                        }
                    );
                }
            }
            ApikeyCommand::Revoke { id, config } => {
                let config = load_config(&config)?;
                let store = open_store(&config).await?;
                anyhow::ensure!(
                    store
                        .revoke_api_key(id, switchboard_server::UnixMs::now().0)
                        .await?,
                    "no live API key has id {id}"
                );
                println!("revoked API key {id}");
            }
        },
        Command::Emulator(args) => run_emulator(args).await?,
        Command::Demo(args) => demo::run(args).await?,
        Command::Templates { command } => templates::run(command).await?,
        Command::Users { command } => match command {
            UsersCommand::Add {
                email,
                role,
                name,
                team,
                password,
                config,
            } => {
                anyhow::ensure!(
                    email.contains('@') && email.len() <= 254,
                    "--email must be an email address"
                );
                let generated = password.is_none();
                let password =
                    password.unwrap_or_else(switchboard_server::agents::generate_password);
                anyhow::ensure!(
                    password.chars().count() >= switchboard_server::agents::MIN_PASSWORD_CHARS,
                    "the password must have at least 12 characters"
                );
                let config = load_config(&config)?;
                let store = open_store(&config).await?;
                let hash = switchboard_server::agents::hash_password(&password)
                    .map_err(|e| anyhow::anyhow!(e))?;
                let name =
                    name.unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_owned());
                let id = store
                    .create_user(
                        &switchboard_store::NewUser {
                            email: email.clone(),
                            name: name.clone(),
                            role: role.clone(),
                            team: team.clone(),
                            password_hash: hash,
                        },
                        switchboard_server::UnixMs::now().0,
                    )
                    .await?
                    .ok_or_else(|| {
                        anyhow::anyhow!("a user with the email {email} exists already")
                    })?;
                eprintln!(
                    "Added user {id}: {name} <{email}>, {role}{}",
                    team.map(|t| format!(", team {t}")).unwrap_or_default()
                );
                if generated {
                    eprintln!("Their password is shown once; give it to them now:");
                    println!("{password}");
                }
            }
            UsersCommand::List { config } => {
                let config = load_config(&config)?;
                let store = open_store(&config).await?;
                for u in store.users().await? {
                    println!(
                        "{:>4}  {:<30} {:<6} {:<16} {}",
                        u.id,
                        u.email,
                        u.role,
                        u.team.as_deref().unwrap_or("-"),
                        u.name
                    );
                }
            }
        },
        Command::Rates { command } => match command {
            RatesCommand::Import {
                rates,
                tiers,
                effective,
                label,
                config,
            } => {
                let ok_date = effective.len() == 10
                    && effective.as_bytes()[4] == b'-'
                    && effective.as_bytes()[7] == b'-'
                    && effective.bytes().filter(|b| b.is_ascii_digit()).count() == 8;
                anyhow::ensure!(ok_date, "--effective must be a date like 2026-10-01");
                let rates_csv = std::fs::read_to_string(&rates)
                    .with_context(|| format!("reading {}", rates.display()))?;
                let tiers_csv = tiers
                    .as_ref()
                    .map(|t| {
                        std::fs::read_to_string(t)
                            .with_context(|| format!("reading {}", t.display()))
                    })
                    .transpose()?;
                let card = switchboard_domain::pricing::RateCard::from_csv(
                    &rates_csv,
                    tiers_csv.as_deref(),
                    &effective,
                    &label,
                )
                .map_err(|e| anyhow::anyhow!("{}: {e}", rates.display()))?;
                let config = load_config(&config)?;
                let store = open_store(&config).await?;
                let id = store
                    .import_rate_card(
                        &effective,
                        &card.currency,
                        &label,
                        &rates_csv,
                        tiers_csv.as_deref(),
                        switchboard_server::UnixMs::now().0,
                    )
                    .await?;
                println!(
                    "imported rate card {id}: {} markets in {}, effective {effective}",
                    card.markets().count(),
                    card.currency
                );
            }
            RatesCommand::List { config } => {
                let config = load_config(&config)?;
                let store = open_store(&config).await?;
                let active = switchboard_server::costs::active_card(
                    &store,
                    switchboard_server::UnixMs::now(),
                )
                .await?;
                println!(
                    "in force: {} (effective {}, {})",
                    active.label, active.effective, active.currency
                );
                for c in store.rate_cards().await? {
                    println!("{:>4}  {}  {}  {}", c.id, c.effective, c.currency, c.label);
                }
            }
        },
        Command::Forecast {
            volumes,
            rates,
            tiers,
            format,
            config,
        } => {
            let text = std::fs::read_to_string(&volumes)
                .with_context(|| format!("reading {}", volumes.display()))?;
            let rows = switchboard_domain::forecast::parse_volumes(&text)
                .map_err(|p| anyhow::anyhow!("{}:\n{}", volumes.display(), p.join("\n")))?;
            let card = match rates {
                Some(r) => {
                    let rates_csv = std::fs::read_to_string(&r)
                        .with_context(|| format!("reading {}", r.display()))?;
                    let tiers_csv = tiers
                        .as_ref()
                        .map(|t| {
                            std::fs::read_to_string(t)
                                .with_context(|| format!("reading {}", t.display()))
                        })
                        .transpose()?;
                    switchboard_domain::pricing::RateCard::from_csv(
                        &rates_csv,
                        tiers_csv.as_deref(),
                        "as given",
                        &r.display().to_string(),
                    )
                    .map_err(|e| anyhow::anyhow!("{}: {e}", r.display()))?
                }
                None => {
                    let config = load_config(&config)?;
                    let store = open_store(&config).await?;
                    switchboard_server::costs::active_card(
                        &store,
                        switchboard_server::UnixMs::now(),
                    )
                    .await?
                }
            };
            let f = switchboard_domain::forecast::forecast(
                &card,
                &switchboard_domain::pricing::Markets::default(),
                &rows,
            )
            .map_err(|p| anyhow::anyhow!("{}:\n{}", volumes.display(), p.join("\n")))?;
            if format == "json" {
                println!("{}", serde_json::to_string_pretty(&f)?);
            } else {
                print!("{}", switchboard_domain::forecast::render(&f));
            }
        }
        Command::Config { command } => match command {
            ConfigCommand::Example => print!("{}", config::example_toml()),
            ConfigCommand::Docs => print!("{}", config::reference_markdown()),
            ConfigCommand::Check(args) => {
                let config = load_config(&args)?;
                print!("{}", config.redacted_toml());
            }
        },
    }
    Ok(())
}

async fn run_emulator(args: EmulatorArgs) -> anyhow::Result<()> {
    use switchboard_emulator::{Emulator, EmulatorConfig};
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .init();
    let mut config: EmulatorConfig = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| {
                format!("{} is not a valid emulator configuration", path.display())
            })?
        }
        None => EmulatorConfig::default(),
    };
    if args.webhook_url.is_some() {
        config.webhook_url = args.webhook_url;
    }
    if let Some(t) = args.throughput_mps {
        anyhow::ensure!(
            (1..=100_000).contains(&t),
            "--throughput-mps must be between 1 and 100000"
        );
        config.numbers.iter_mut().for_each(|n| n.throughput_mps = t);
    }
    if let Some(s) = args.retry_time_scale {
        anyhow::ensure!(s > 0.0, "--retry-time-scale must be positive");
        config.webhooks.retry_time_scale = s;
    }
    let running = Emulator::start(config, args.listen)
        .await
        .context("starting the emulator")?;
    println!(
        "{}",
        switchboard_emulator::control::info_json(&running.emulator)
    );
    use std::io::Write;
    std::io::stdout().flush()?;
    switchboard_server::shutdown_signal().await;
    running.stop();
    Ok(())
}
