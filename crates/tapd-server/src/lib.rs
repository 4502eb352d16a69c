//! tapd's HTTP server: the Graph-compatible admin API under `/v1.0`, the JSON sign-in API, the
//! OAuth token endpoint and health. `App::build` binds (port 0 in tests) and is used the same
//! way by `tapd serve` and by the integration tests.

pub mod auth;
pub mod authorize;
pub mod error;
pub mod extract;
pub mod graph;
pub mod oauth;
pub mod ops;
pub mod pages;
pub mod passkeys;
pub mod ratelimit;
pub mod secrets;
pub mod signin;
pub mod tokens;
pub mod web;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tapd_store::{Store, Tenant};
use time::OffsetDateTime;
use tokio::net::TcpListener;

pub use secrets::Keys;

use crate::error::{ApiError, REQUEST_ID};

/// The source of "now". Every time rule reads it from here, so tests can move time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

pub struct SystemClock;

impl Clock for SystemClock {
    /// Microsecond precision: what the database keeps, so a response and a later read agree.
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap_or(now)
    }
}

/// A clock that stays where it is put, for tests.
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn new(at: OffsetDateTime) -> Self {
        ManualClock(Mutex::new(at))
    }

    pub fn set(&self, at: OffsetDateTime) {
        *self.0.lock().expect("clock lock") = at;
    }

    pub fn advance(&self, by: time::Duration) {
        *self.0.lock().expect("clock lock") += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().expect("clock lock")
    }
}

/// Everything the server needs, resolved: the binary builds it from flags, env and file.
pub struct Config {
    pub listen: SocketAddr,
    pub public_url: Option<String>,
    pub keys: Keys,
    pub clock: Arc<dyn Clock>,
    /// Sign-in attempts per second per client address (burst: ten times this).
    pub signin_rate_per_sec: u32,
    pub access_token_ttl: time::Duration,
    pub refresh_token_ttl: time::Duration,
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
            access_token_ttl: DEFAULT_ACCESS_TOKEN_TTL,
            refresh_token_ttl: time::Duration::hours(24),
        }
    }
}

pub struct AppState {
    pub store: Store,
    /// The base URL clients reach this server at, without a trailing slash.
    pub public_url: String,
    pub tenant: Tenant,
    pub keys: Keys,
    pub clock: Arc<dyn Clock>,
    pub signer: tokens::TokenSigner,
    pub limiter: ratelimit::RateLimiter,
    pub access_token_ttl: time::Duration,
    pub refresh_token_ttl: time::Duration,
    /// The RP ID and origins passkeys are checked against, from the public URL.
    pub passkeys: passkeys::RelyingParty,
}

impl AppState {
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Rereads the signing keys if the copy in memory is stale (a rotation on another replica).
    pub async fn refresh_keys(&self) -> anyhow::Result<()> {
        self.signer
            .refresh(&self.store, &self.keys, self.now())
            .await
    }
}

pub type SharedState = Arc<AppState>;

pub struct App {
    listener: TcpListener,
    router: Router,
    pub state: SharedState,
}

impl App {
    /// Binds the listener and assembles the routes over an already migrated and bootstrapped store.
    pub async fn build(config: Config, store: Store) -> anyhow::Result<App> {
        let tenant = store
            .tenant()
            .await?
            .ok_or_else(|| anyhow::anyhow!("the directory is not initialised"))?;
        let listener = TcpListener::bind(config.listen).await?;
        let local = listener.local_addr()?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local}"))
            .trim_end_matches('/')
            .to_string();
        let issuer = format!("{public_url}/{}/v2.0", tenant.id);
        let passkeys = passkeys::RelyingParty::for_public_url(&public_url)?;
        let signer = tokens::TokenSigner::load(
            &store,
            &config.keys,
            issuer,
            config.access_token_ttl,
            config.clock.now(),
        )
        .await?;
        let state = Arc::new(AppState {
            signer,
            keys: config.keys,
            clock: config.clock,
            limiter: ratelimit::RateLimiter::new(config.signin_rate_per_sec),
            access_token_ttl: config.access_token_ttl,
            refresh_token_ttl: config.refresh_token_ttl,
            passkeys,
            store,
            tenant,
            public_url,
        });
        Ok(App {
            listener,
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
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
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
        if let Err(e) = state.store.purge_expired(state.now()).await {
            tracing::warn!(error = %e, "could not purge expired sessions");
        }
    }
}

/// How long a request may take before it is answered 503 (a transient error clients retry).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest request body accepted anywhere: policy and user objects are small.
const BODY_LIMIT: usize = 64 * 1024;

pub fn router(state: SharedState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/v1.0", graph::routes())
        .merge(signin::routes())
        .merge(passkeys::routes())
        .merge(oauth::routes())
        .merge(authorize::routes())
        .merge(web::routes())
        .merge(pages::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

async fn healthz(axum::extract::State(state): axum::extract::State<SharedState>) -> Response {
    match state.store.ping().await {
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

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "itemNotFound",
        "The requested resource does not exist.",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "badRequest",
        "The HTTP method is not allowed on this resource.",
    )
}

/// Gives every request an id (the client's `client-request-id` when it is a sane one, as Graph
/// does), echoes it as `request-id`, bounds its time, and logs one line per request, without
/// query or body.
async fn request_id(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = std::time::Instant::now();
    let mut response = REQUEST_ID
        .scope(id.clone(), async {
            match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
                Ok(response) => response,
                Err(_) => ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "generalException",
                    "The request took too long. Try again.",
                )
                .into_response(),
            }
        })
        .await;
    let status = response.status();
    if status.is_server_error() {
        tracing::warn!(request_id = %id, %method, %path, status = status.as_u16(), "request failed");
    } else {
        tracing::debug!(request_id = %id, %method, %path, status = status.as_u16(), elapsed_us = started.elapsed().as_micros() as u64, "request");
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("request-id", v);
    }
    response
}
