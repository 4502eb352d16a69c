//! What every request shares: the server's state (the service's dependencies, token minting,
//! the public URL, the tenant, the clock), the request's id, and the service context a request
//! acts in.

use std::sync::{Arc, Mutex};

use tapd_store::Tenant;
use time::OffsetDateTime;

use crate::http::client_addr::{AddressBlocks, TrustedProxies};
use crate::service::passkeys::RelyingParty;
use crate::service::sessions::Sessions;
use crate::service::{Ctx, Initiator, Services};

tokio::task_local! {
    /// The id of the request being served, set by the request-id middleware so that every error
    /// body and log line can carry it.
    pub static REQUEST_ID: String;
}

pub fn current_request_id() -> String {
    REQUEST_ID
        .try_with(|id| id.clone())
        .unwrap_or_else(|_| "none".into())
}

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

pub struct AppState {
    /// The store and keys every operation needs.
    pub svc: Services,
    /// Token signing, lifetimes and the sign-in limit.
    pub sessions: Sessions,
    /// The base URL clients reach this server at, without a trailing slash.
    pub public_url: String,
    /// The tenant made on first start: the one a caller acts in when nothing names another.
    pub default_tenant: Tenant,
    pub clock: Arc<dyn Clock>,
    /// The RP ID and origins passkeys are checked against, from the public URL.
    pub passkeys: RelyingParty,
    /// The reverse proxies whose forwarding headers name the client.
    pub trusted_proxies: TrustedProxies,
    pub metrics_from: AddressBlocks,
}

impl AppState {
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// The service context of the request being served, in the initiator's tenant (the
    /// default tenant for an anonymous caller).
    pub fn ctx(&self, initiator: Initiator, ip: Option<std::net::IpAddr>) -> Ctx {
        let tenant = initiator.tenant().unwrap_or(self.default_tenant.id);
        self.ctx_in(tenant, initiator, ip)
    }

    /// The service context of the request being served, in `tenant`.
    pub fn ctx_in(
        &self,
        tenant: uuid::Uuid,
        initiator: Initiator,
        ip: Option<std::net::IpAddr>,
    ) -> Ctx {
        Ctx::new(tenant, initiator, current_request_id(), self.now()).with_ip(ip)
    }

    /// Rereads the signing keys if the copy in memory is stale (a rotation on another replica).
    pub async fn refresh_keys(&self) -> anyhow::Result<()> {
        self.sessions
            .signer
            .refresh(&self.svc.store, &self.svc.keys, self.now())
            .await
    }
}

pub type SharedState = Arc<AppState>;
