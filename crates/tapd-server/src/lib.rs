//! tapd's server. Requests flow one way: an edge room (`graph`, `api`, `oidc`, `web`,
//! `passkeys`) parses, calls one operation of the `service` room, and renders its result; the
//! service authorizes, validates, audits and calls the store. `http` holds what every edge
//! shares, `keys` the server's secrets. `App::build` binds (port 0 in tests) and is used the
//! same way by `tapd serve` and by the integration tests.

pub mod answers;
pub mod api;
pub mod graph;
pub mod http;
pub mod keys;
pub mod mail;
pub mod memory;
pub mod oidc;
pub mod openapi;
pub mod passkeys;
pub mod service;
pub mod state;
pub mod telemetry;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use tapd_store::Store;
use tokio::net::TcpListener;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use keys::Keys;

pub use state::{AppState, Clock, ManualClock, SharedState, SystemClock};

use crate::http::client_addr::{self, AddressBlocks, TrustedProxies};
use crate::http::middleware;
use crate::http::tls::TlsListener;
pub use crate::http::tls::{TlsError, TlsFiles};
use crate::service::Services;
use crate::service::ratelimit::RateLimiter;
use crate::service::sessions::Sessions;

/// Everything the server needs, resolved: the binary builds it from flags, env and file.
pub struct Config {
    pub listen: SocketAddr,
    pub public_url: Option<String>,
    pub keys: Keys,
    pub clock: Arc<dyn Clock>,
    /// Sign-in attempts per second per client address (burst: ten times this).
    pub signin_rate_per_sec: u32,
    /// The reverse proxies believed when they say whom they forward for.
    pub trusted_proxies: TrustedProxies,
    /// Who may read `/metrics` (loopback by default).
    pub metrics_from: AddressBlocks,
    pub access_token_ttl: time::Duration,
    pub refresh_token_ttl: time::Duration,
    /// Outgoing mail (one-time links to passes); `None` refuses mail delivery.
    pub mailer: Option<mail::Mailer>,
    /// Serve HTTPS with this certificate and key (reloadable); plain HTTP when `None`.
    pub tls: Option<TlsFiles>,
}

/// How long an access or ID token lasts (capped at the pass for a TAP sign-in).
pub const DEFAULT_ACCESS_TOKEN_TTL: time::Duration = time::Duration::minutes(60);

impl Config {
    pub fn new(listen: SocketAddr, keys: Keys) -> Config {
        Config {
            listen,
            public_url: None,
            keys,
            clock: Arc::new(SystemClock),
            signin_rate_per_sec: 20,
            trusted_proxies: TrustedProxies::default(),
            metrics_from: AddressBlocks::loopback(),
            access_token_ttl: DEFAULT_ACCESS_TOKEN_TTL,
            refresh_token_ttl: time::Duration::hours(24),
            mailer: None,
            tls: None,
        }
    }
}

pub struct App {
    listener: TcpListener,
    tls: Option<TlsFiles>,
    router: Router,
    pub state: SharedState,
}

impl App {
    /// Binds the listener and assembles the routes over an already migrated and bootstrapped store.
    pub async fn build(config: Config, store: Store) -> anyhow::Result<App> {
        let default_tenant = store
            .default_tenant()
            .await?
            .ok_or_else(|| anyhow::anyhow!("the directory is not initialised"))?;
        let listener = TcpListener::bind(config.listen).await?;
        let local = listener.local_addr()?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| {
                let scheme = if config.tls.is_some() {
                    "https"
                } else {
                    "http"
                };
                format!("{scheme}://{local}")
            })
            .trim_end_matches('/')
            .to_string();
        let passkeys = service::passkeys::RelyingParty::for_public_url(&public_url)?;
        let signer = keys::TokenSigner::load(
            &store,
            &config.keys,
            public_url.clone(),
            config.access_token_ttl,
            config.clock.now(),
        )
        .await?;
        let state = Arc::new(AppState {
            sessions: Sessions {
                signer,
                limiter: RateLimiter::new(config.signin_rate_per_sec),
                access_token_ttl: config.access_token_ttl,
                refresh_token_ttl: config.refresh_token_ttl,
            },
            svc: Services::new(store, config.keys).with_mailer(config.mailer),
            clock: config.clock,
            passkeys,
            default_tenant,
            public_url,
            trusted_proxies: config.trusted_proxies,
            metrics_from: config.metrics_from,
        });
        Ok(App {
            listener,
            tls: config.tls,
            router: router(state.clone()),
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let purge = tokio::spawn(purge_expired(self.state.clone()));
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = match self.tls {
            None => {
                axum::serve(self.listener, service)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
            Some(files) => {
                let listener =
                    TlsListener::new(self.listener, &files).map_err(std::io::Error::other)?;
                // `tap_io` only so that axum hands the client address to `ConnectInfo`.
                axum::serve(listener.tap_io(|_| {}), service)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
        };
        purge.abort();
        served
    }
}

/// Every ten minutes, removes expired codes, refresh tokens, browser sessions and passkey
/// ceremonies.
async fn purge_expired(state: SharedState) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        if let Err(e) = state.svc.store.purge_expired(state.now()).await {
            tracing::warn!(error = %e, "could not purge expired sessions");
        }
    }
}

/// Largest request body accepted anywhere: policy and user objects are small.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

pub fn router(state: SharedState) -> Router {
    let (api, doc) = OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(healthz))
        .nest("/v1.0", graph::routes())
        .merge(api::routes())
        .merge(passkeys::routes())
        .merge(oidc::routes())
        .split_for_parts();
    let doc = openapi::finish(doc, &state.public_url);
    telemetry::recorder();
    api.route("/openapi.json", get(move || async move { axum::Json(doc) }))
        .route("/metrics", get(telemetry::metrics))
        .merge(web::routes())
        .route_layer(axum::middleware::from_fn(middleware::record_route))
        .fallback(answers::not_found)
        .method_not_allowed_fallback(answers::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client_addr::resolve,
        ))
        .layer(axum::middleware::from_fn(middleware::uri_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            answers::shape,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::request_id,
        ))
        .with_state(state)
}

/// Whether tapd can reach its database.
#[utoipa::path(get, path = "/healthz", tag = "health", security(()),
    responses((status = 200, description = "Healthy.", body = openapi::shapes::Health),
        (status = 503, description = "The database is unreachable.", body = openapi::shapes::Health)))]
async fn healthz(axum::extract::State(state): axum::extract::State<SharedState>) -> Response {
    match state.svc.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ok"})),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"status": "database unreachable"})),
            )
                .into_response()
        }
    }
}
