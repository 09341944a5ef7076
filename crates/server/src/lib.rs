//! Switchboard's HTTP application.
//!
//! Reading order: [`config`] (what an operator sets), [`Application`] here (how the app is built
//! and bound; tests build it on port 0 and drive it over real HTTP), [`error`] (the one error
//! type every handler returns, with a stable machine code), [`auth`] (API keys and the extractor
//! that checks them on every API request), then the routes: [`health`] and [`api`].
//!
//! The public listener serves health, readiness and the API; Prometheus metrics are on a listener
//! of their own so they are never exposed on the public port by accident.

pub mod agents;
pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod costs;
pub mod error;
pub mod events;
pub mod health;
pub mod inbound;
pub mod limits;
pub mod metrics;
pub mod outbound;
pub mod routes;
pub mod routing;
pub mod serve;
pub mod template_files;
pub mod ui;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, Request};
use switchboard_store::Store;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

pub use config::Config;

/// What every handler can reach: one allocation shared by every request (axum clones the
/// state into each handler; a clone is one reference count, not one per field).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The fields of [`AppState`].
pub struct Shared {
    pub store: Store,
    pub config: Arc<Config>,
    pub inbound: Arc<inbound::Inbound>,
    pub outbound: Arc<outbound::Outbound>,
    pub graph: switchboard_graph::GraphClient,
    pub logins: Arc<agents::LoginLimiter>,
    /// Requests a minute and live streams per caller.
    pub limits: limits::Limits,
    /// Rung when routing may have work (an agent came online, rules changed, a message came).
    pub router_wake: Arc<tokio::sync::Notify>,
    pub events: events::EventBus,
    /// The clock policy decides at ([`clock`]).
    pub clock: Arc<clock::Clock>,
    /// Cancelled when the server stops: long-lived responses (live updates) end with it, so
    /// a graceful shutdown does not wait for browsers to close their streams.
    pub shutdown: tokio_util::sync::CancellationToken,
}

impl Shared {
    /// Now, as the send policy and the inbox see it.
    pub fn now(&self) -> UnixMs {
        self.clock.now()
    }
}

/// A built, bound application: listeners are open (so the ports are known) but nothing is
/// served until [`Application::run_until_stopped`], which also runs the background workers.
pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    router: Router,
    metrics_router: Router,
    projector: inbound::projector::Projector,
    media: inbound::media::MediaWorker,
    dispatchers: Vec<outbound::dispatcher::Dispatcher>,
    routing: routing::Router,
    template_sync: Option<StartupTask>,
    clock_follow: Option<ClockTask>,
    shutdown: tokio_util::sync::CancellationToken,
    events_relay: Option<(
        Store,
        events::EventBus,
        tokio::sync::mpsc::Receiver<events::Event>,
    )>,
    background_workers: bool,
    header_timeout: Duration,
}

type ClockTask = Box<dyn FnOnce(tokio_util::sync::CancellationToken) -> StartupTask + Send>;

type StartupTask = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A random (version 4) UUID per request, from the thread's random generator: tower-http's
/// `MakeRequestUuid` asks the kernel for entropy on every request, a system call per webhook.
#[derive(Clone, Copy)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        axum::http::HeaderValue::try_from(id.to_string())
            .ok()
            .map(RequestId::new)
    }
}

impl Application {
    /// Binds the listeners of `config` and builds the routes and workers over `store`
    /// (already migrated).
    pub async fn build(config: Config, store: Store) -> std::io::Result<Application> {
        let listener = TcpListener::bind(config.listen).await?;
        Self::build_on(config, store, listener).await
    }

    /// As [`Application::build`], on a listener the caller bound (tests that must know the
    /// address before building, e.g. to give it to the emulator as its webhook URL).
    pub async fn build_on(
        config: Config,
        store: Store,
        listener: TcpListener,
    ) -> std::io::Result<Application> {
        let metrics_listener = match config.metrics_listen {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let inbound = Arc::new(inbound::Inbound::new(&config));
        let ctx = inbound::project::ProjectCtx {
            keywords: switchboard_domain::consent::Keywords::new(
                &config.consent.opt_out_keywords,
                &config.consent.opt_in_keywords,
            ),
            opt_out_reply: config.consent.opt_out_reply.clone(),
            opt_in_reply: config.consent.opt_in_reply.clone(),
            display_to_id: config
                .numbers
                .iter()
                .filter_map(|n| {
                    Some((
                        n.display_number.as_ref()?.wa_id().to_owned(),
                        n.phone_number_id.clone(),
                    ))
                })
                .collect(),
            numbers_of_waba: config.numbers.iter().fold(
                Default::default(),
                |mut m: std::collections::HashMap<String, Vec<String>>, n| {
                    m.entry(n.waba_id.clone())
                        .or_default()
                        .push(n.phone_number_id.clone());
                    m
                },
            ),
        };
        let templates_changed = Arc::new(tokio::sync::Notify::new());
        // On PostgreSQL several instances may serve the inbox: events cross with NOTIFY.
        let (bus, relay_rx) = if store.backend() == switchboard_store::Backend::Postgres {
            let (bus, rx) = events::EventBus::relayed();
            (bus, Some(rx))
        } else {
            (events::EventBus::default(), None)
        };
        let projector = inbound::projector::Projector::new(
            store.clone(),
            ctx,
            inbound.projector_wake.clone(),
            store.journal_activity(),
            templates_changed.clone(),
            bus.clone(),
        );
        let graph = switchboard_graph::GraphClient::new(
            &config.graph.base_url,
            &config.graph.api_version,
            Duration::from_secs(config.graph.timeout_secs),
        )
        .allowing_private_targets(config.http.allow_private_targets);
        let tokens = config
            .numbers
            .iter()
            .map(|n| (n.phone_number_id.clone(), n.access_token.clone()))
            .collect();
        let media = inbound::media::MediaWorker::new(
            store.clone(),
            graph.clone(),
            config.media.dir.clone(),
            tokens,
        );
        let outbound = Arc::new(outbound::Outbound::new(&config));
        let router_wake = Arc::new(tokio::sync::Notify::new());
        let routing = routing::Router::new(store.clone(), router_wake.clone(), bus.clone());
        // One owner id per process: the lease says which instance sends for a number.
        let owner = format!("{}-{}", std::process::id(), uuid_like());
        let dispatchers = config
            .numbers
            .iter()
            .map(|n| {
                outbound::dispatcher::Dispatcher::new(
                    store.clone(),
                    graph.clone(),
                    n.phone_number_id.clone(),
                    n.access_token.clone(),
                    owner.clone(),
                    outbound::dispatcher::Pacing {
                        throughput_mps: n.throughput_mps,
                        pair_interval_ms: config.outbound.pair_interval_ms,
                        pair_burst: config.outbound.pair_burst,
                        max_in_flight: config.outbound.max_in_flight,
                        retry: switchboard_domain::pacing::RetryPolicy {
                            max_attempts: config.outbound.max_attempts,
                            ..Default::default()
                        },
                    },
                    outbound.wakes[&n.phone_number_id].clone(),
                )
            })
            .collect();
        let limits = limits::Limits::new(
            config.http.requests_per_minute,
            config.http.event_streams_per_user,
        );
        let state = AppState(Arc::new(Shared {
            store,
            config: Arc::new(config),
            inbound,
            outbound,
            graph,
            logins: Arc::default(),
            limits,
            router_wake: router_wake.clone(),
            events: bus,
            clock: Arc::default(),
            shutdown: tokio_util::sync::CancellationToken::new(),
        }));
        projector.answer_keywords_with(&state);
        let _ = state.inbound.projector.set(projector.clone());
        let template_sync: StartupTask = Box::pin(outbound::templates::keep_synced(
            state.store.clone(),
            state.graph.clone(),
            state.config.clone(),
            templates_changed,
        ));
        let clock_follow = state.config.dev.clock_url.clone().map(|url| {
            let clock = state.clock.clone();
            let bus = state.events.clone();
            move |t| {
                Box::pin(clock::follow(clock, url, t, move |offset| {
                    bus.publish("clock", None, serde_json::json!({"offset_ms": offset}))
                })) as StartupTask
            }
        });
        let events_relay = relay_rx.map(|rx| (state.store.clone(), state.events.clone(), rx));
        let header_timeout = Duration::from_secs(state.config.http.header_timeout_secs);
        Ok(Application {
            shutdown: state.shutdown.clone(),
            events_relay,
            clock_follow: clock_follow.map(|f| Box::new(f) as ClockTask),
            template_sync: Some(template_sync),
            listener,
            metrics_listener,
            router: router(state),
            metrics_router: metrics::router(),
            projector,
            media,
            dispatchers,
            routing,
            background_workers: true,
            header_timeout,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .map(|l| l.local_addr().expect("bound listener has an address"))
    }

    /// Serve without running the projector and media worker in the background; the caller
    /// drives them with `run_once`/`drain` (tests that must be deterministic).
    pub fn without_background_workers(mut self) -> Self {
        self.background_workers = false;
        self
    }

    /// The projector (tests drain it deterministically with `run_once`/`drain`).
    pub fn projector(&self) -> inbound::projector::Projector {
        self.projector.clone()
    }

    pub fn media_worker(&self) -> inbound::media::MediaWorker {
        self.media.clone()
    }

    /// The router (tests drive it with `run_once`).
    pub fn routing(&self) -> routing::Router {
        self.routing.clone()
    }

    /// The outbox dispatchers, one per configured number (tests drive them with `run_once`).
    pub fn dispatchers(&self) -> Vec<outbound::dispatcher::Dispatcher> {
        self.dispatchers.clone()
    }

    /// Serves and runs the workers until `shutdown` completes, then stops accepting, lets
    /// in-flight requests finish and stops the workers.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let token = self.shutdown.clone();
        let metrics = self.metrics_listener.map(|l| {
            let t = token.clone();
            tokio::spawn(
                axum::serve(l, self.metrics_router)
                    .with_graceful_shutdown(async move { t.cancelled().await })
                    .into_future(),
            )
        });
        let workers = if self.background_workers {
            let mut w = vec![
                tokio::spawn(self.projector.clone().publish_backlog(token.clone())),
                tokio::spawn(self.projector.run(token.clone())),
                tokio::spawn(self.media.run(token.clone())),
            ];
            w.push(tokio::spawn(self.routing.run(token.clone())));
            for d in self.dispatchers {
                w.push(tokio::spawn(d.run(token.clone())));
            }
            if let Some(sync) = self.template_sync {
                let t = token.clone();
                w.push(tokio::spawn(async move {
                    tokio::select! { _ = sync => {}, _ = t.cancelled() => {} }
                }));
            }
            w
        } else {
            vec![]
        };
        // The clock is followed even without background workers: tests step the rest.
        let clock = self.clock_follow.map(|f| tokio::spawn(f(token.clone())));
        // Live updates to and from other instances (PostgreSQL), whatever else runs: serving
        // the inbox needs them.
        let relay = self.events_relay.map(|(store, bus, rx)| {
            (
                tokio::spawn(events::relay(store.clone(), bus.clone(), rx, token.clone())),
                tokio::spawn(events::listen(store, bus, token.clone())),
            )
        });
        let t = token.clone();
        tokio::spawn(async move {
            shutdown.await;
            t.cancel();
        });
        let t = token.clone();
        let served = serve::serve(self.listener, self.router, self.header_timeout, t).await;
        token.cancel();
        for w in workers {
            let _ = w.await;
        }
        if let Some(c) = clock {
            let _ = c.await;
        }
        if let Some((a, b)) = relay {
            let _ = a.await;
            let _ = b.await;
        }
        if let Some(m) = metrics {
            m.await.map_err(std::io::Error::other)??;
        }
        served
    }
}

/// The public routes with their middleware: request ids (generated unless the caller sent one,
/// echoed in the response and recorded on the request's log span), secrets kept out of logs,
/// panics turned into 500s, request metrics.
///
/// Meta's webhook is the exception: it is the hot path (every message and status of every
/// number), machine to machine, and keeps only what it needs (panics as 500s, the body limit, a
/// timeout) with metrics of its own (`switchboard_webhook_*`); the per-request layers cost it
/// about a tenth of its throughput.
pub fn router(state: AppState) -> Router {
    let trace = TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
        let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
        tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
    });
    let timeout = || {
        tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        )
    };
    let webhook_limit = axum::extract::DefaultBodyLimit::max(state.config.webhook.max_body_bytes);
    let webhooks = inbound::router()
        .into_router()
        .layer(webhook_limit)
        .with_state(state.clone())
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(timeout())
        .layer(axum::middleware::map_response(inbound::count_response));
    let rest = public_routes()
        .into_router()
        .fallback(error::not_found)
        .with_state(state)
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(trace)
        .layer(SetSensitiveRequestHeadersLayer::new([
            axum::http::header::AUTHORIZATION,
            axum::http::header::COOKIE,
        ]))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, RandomRequestId))
        .layer(timeout());
    webhooks.merge(rest)
}

/// The headers every response of the public routes carries unless it set its own: nothing may
/// frame it, sniff a type into it or learn where a link came from, and a response that is not a
/// page may load nothing at all (a JSON body opened in a tab stays inert). Pages set a policy of
/// their own (`ui`).
async fn security_headers(mut r: axum::response::Response) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let h = r.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'; sandbox",
        ),
    ] {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
    r
}

/// Every route but Meta's webhook: health, the API, its OpenAPI document, the inbox's pages.
fn public_routes() -> routes::Routes {
    routes::Routes::new()
        .merge(health::router())
        .nest("/api/v1", api::router())
        .get("/api/openapi.json", api::openapi)
        .merge(ui::router())
}

/// The method and path of every route the public listener serves (Meta's webhook included),
/// for the tests that check each one is documented and authorised.
pub fn routes() -> Vec<(axum::http::Method, String)> {
    let mut all = inbound::router().listed().to_vec();
    all.extend_from_slice(public_routes().listed());
    all
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

/// A random hex id (no uuid crate needed for one id per process).
fn uuid_like() -> String {
    hex::encode(rand::random::<[u8; 8]>())
}

pub use switchboard_domain::{Role, UnixMs};
