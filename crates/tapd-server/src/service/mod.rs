//! The service layer: one plain function per operation, the single path every caller takes —
//! Graph handlers, the JSON sign-in API, OpenID Connect, the web pages and the
//! direct-to-database commands. Each takes a [`Ctx`] (tenant, initiator, request id, client
//! address, `now`) and typed input, and returns domain types or a [`ServiceError`]. It is the
//! only place that authorizes (by role and by target), validates, builds the audit record and
//! writes, in one transaction where it writes. No HTTP types here: each edge maps
//! [`ServiceError`] to its own wire form in one place.

pub mod apps;
pub mod audit;
pub mod code_flow;
pub mod delivery;
pub mod device;
pub mod domains;
pub mod federation;
pub mod fido2;
pub mod groups;
pub mod managers;
pub mod methods;
pub mod oauth;
pub mod operator;
pub mod partners;
pub mod passes;
pub mod passkeys;
pub mod policy;
pub mod ratelimit;
pub mod reports;
pub mod roles;
pub mod sessions;
pub mod signin;
pub mod users;

use std::net::IpAddr;

use tapd_core::{Action, DomainError, Principal, Role};
use tapd_store::{AppRecord, Store, StoreError, Tenant, UserRecord};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::keys::{HashMemory, Keys};

/// What every directory operation needs: the store, the server's keys, and the gate in front
/// of password hashing.
pub struct Services {
    pub store: Store,
    pub keys: Keys,
    hashing: std::sync::Arc<HashGate>,
    /// Outgoing mail, when `[smtp]` is configured.
    pub mailer: Option<crate::mail::Mailer>,
}

impl Services {
    pub fn new(store: Store, keys: Keys) -> Services {
        Services {
            store,
            keys,
            hashing: std::sync::Arc::new(HashGate::sized_to_cores()),
            mailer: None,
        }
    }

    /// The same, sending mail through `mailer`.
    pub fn with_mailer(mut self, mailer: Option<crate::mail::Mailer>) -> Services {
        self.mailer = mailer;
        self
    }

    /// How many password checks wait for a core.
    pub fn hash_waiting(&self) -> usize {
        self.hashing
            .waiting
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Runs password (argon2) work on a blocking thread, at most one per core at a time, so
    /// that a flood of password or client-secret attempts bounds its memory (each hash takes
    /// 19 MiB) and leaves the other requests their CPU. The work computes in the memory of its
    /// slot, reused while attempts keep coming and given back once none waits. Beyond
    /// [`HASH_QUEUE`] waiting, the attempt is refused as too many requests rather than queued
    /// without end.
    pub async fn hash<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut HashMemory) -> T + Send + 'static,
    ) -> ServiceResult<T> {
        let permit = self.hashing.enter().await?;
        // The slot is held until the work is done, also when the request is abandoned meanwhile.
        let gate = self.hashing.clone();
        let (done, answer) = tokio::sync::oneshot::channel();
        self.hashing.workers.run(Box::new(move || {
            let mut memory = gate.take_memory();
            let out = f(&mut memory);
            gate.give_back(memory);
            drop(permit);
            let _ = done.send(out);
        }))?;
        answer.await.map_err(ServiceError::internal)
    }
}

/// How many password checks may wait for a core before more are refused.
pub const HASH_QUEUE: usize = 256;

/// A semaphore sized to the cores, with a bounded queue in front, the hashing memory of the
/// slots, and the threads that do the work.
struct HashGate {
    running: std::sync::Arc<tokio::sync::Semaphore>,
    workers: HashWorkers,
    waiting: std::sync::atomic::AtomicUsize,
    /// Memory of slots between two hashes, kept only while more attempts wait.
    idle_memory: std::sync::Mutex<Vec<HashMemory>>,
}

impl HashGate {
    fn sized_to_cores() -> HashGate {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        HashGate::new(cores)
    }

    fn new(cores: usize) -> HashGate {
        HashGate {
            running: std::sync::Arc::new(tokio::sync::Semaphore::new(cores)),
            workers: HashWorkers::start(cores),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            idle_memory: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn take_memory(&self) -> HashMemory {
        let reused = self.idle_memory.lock().ok().and_then(|mut idle| idle.pop());
        reused.unwrap_or_default()
    }

    /// Keeps the memory for the next attempt if one waits; otherwise frees it, so that a quiet
    /// server holds none (it is large enough to go straight back to the system).
    fn give_back(&self, memory: HashMemory) {
        if self.waiting.load(std::sync::atomic::Ordering::Acquire) > 0
            && let Ok(mut idle) = self.idle_memory.lock()
        {
            idle.push(memory);
            return;
        }
        drop(memory);
        if let Ok(mut idle) = self.idle_memory.lock() {
            idle.clear();
        }
    }

    async fn enter(&self) -> ServiceResult<tokio::sync::OwnedSemaphorePermit> {
        use std::sync::atomic::Ordering;
        /// Counts one waiter until dropped: also when the request is abandoned while waiting.
        struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let waiting = Waiting(&self.waiting);
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= HASH_QUEUE {
            return Err(ServiceError::TooManyRequests);
        }
        let permit = self.running.clone().acquire_owned().await;
        drop(waiting);
        permit.map_err(ServiceError::internal)
    }
}

type HashJob = Box<dyn FnOnce() + Send>;

/// The threads that hash, one per core, each below the server's other threads in the
/// scheduler (nice 10): a flood of password attempts gets the CPU the rest of the server leaves
/// idle, and Graph requests and sign-ins by other methods keep their latency. The gate admits
/// at most one job per thread, so the channel never holds more than that.
struct HashWorkers {
    jobs: std::sync::mpsc::Sender<HashJob>,
}

impl HashWorkers {
    fn start(threads: usize) -> HashWorkers {
        let (jobs, queue) = std::sync::mpsc::channel::<HashJob>();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("tapd-hash-{i}"))
                .spawn(move || {
                    crate::memory::lower_this_threads_priority();
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        // A panicking job loses its answer (the caller sees an internal error),
                        // not the thread.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a hashing thread");
            }
        }
        HashWorkers { jobs }
    }

    fn run(&self, job: HashJob) -> ServiceResult<()> {
        self.jobs
            .send(job)
            .map_err(|_| ServiceError::Internal("no hashing thread is running".into()))
    }
}

/// Who asks for an operation.
#[derive(Clone, Debug)]
pub enum Initiator {
    /// A signed-in user with the roles read from the database for this request. `tap` is the
    /// pass the session was opened with, if any.
    User {
        user: UserRecord,
        roles: Vec<Role>,
        tap: Option<Uuid>,
    },
    /// An application (service principal) with its application permissions.
    App(AppRecord),
    /// Someone at the database: `tapd recover`, `tapd app create`, the first start.
    Operator,
    /// Nobody yet: a sign-in in progress.
    Anonymous,
}

impl Initiator {
    /// The tenant a signed-in user or an app belongs to.
    pub fn tenant(&self) -> Option<Uuid> {
        match self {
            Initiator::User { user, .. } => Some(user.tenant),
            Initiator::App(app) => Some(app.tenant),
            Initiator::Operator | Initiator::Anonymous => None,
        }
    }
}

/// The context of one operation.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// The tenant the operation acts in: every object it reads or changes is this tenant's.
    pub tenant: Uuid,
    pub initiator: Initiator,
    pub request_id: String,
    pub ip: Option<IpAddr>,
    pub now: OffsetDateTime,
}

impl Ctx {
    pub fn new(tenant: Uuid, initiator: Initiator, request_id: String, now: OffsetDateTime) -> Ctx {
        Ctx {
            tenant,
            initiator,
            request_id,
            ip: None,
            now,
        }
    }

    /// A change made at the database by the operator.
    pub fn operator(tenant: Uuid, now: OffsetDateTime) -> Ctx {
        let request_id = Uuid::new_v4().to_string();
        Ctx::new(tenant, Initiator::Operator, request_id, now)
    }

    pub fn with_ip(mut self, ip: Option<IpAddr>) -> Ctx {
        self.ip = ip;
        self
    }

    /// The signed-in user, for `/me`; apps and the operator have none.
    pub fn user(&self) -> Result<&UserRecord, ServiceError> {
        match &self.initiator {
            Initiator::User { user, .. } => Ok(user),
            _ => Err(DomainError::BadRequest(
                "/me request is only valid with delegated authentication flow.".into(),
            )
            .into()),
        }
    }

    pub fn user_id(&self) -> Option<Uuid> {
        match &self.initiator {
            Initiator::User { user, .. } => Some(user.id),
            _ => None,
        }
    }

    /// The initiator as the domain's authorization rules see it.
    pub fn principal(&self) -> Option<Principal> {
        match &self.initiator {
            Initiator::User { user, roles, .. } => Some(Principal::User {
                id: user.id,
                roles: roles.clone(),
            }),
            Initiator::App(app) => Some(Principal::App {
                id: app.id,
                permissions: app.permissions.clone(),
            }),
            Initiator::Operator | Initiator::Anonymous => None,
        }
    }

    /// SPEC §4 for `action`. The operator holds the database and may do anything; an
    /// anonymous caller nothing.
    pub fn authorize(&self, action: Action) -> Result<(), ServiceError> {
        match (&self.initiator, self.principal()) {
            (Initiator::Operator, _) => Ok(()),
            (_, Some(principal)) => Ok(tapd_core::authorize(&principal, &action)?),
            (_, None) => Err(DomainError::AccessDenied("Sign in first.".into()).into()),
        }
    }

    /// Whether `action` would be allowed, for pages that show only what a user may do.
    pub fn may(&self, action: Action) -> bool {
        self.authorize(action).is_ok()
    }
}

/// Why an operation did not happen, in domain words; each edge maps it once.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A domain rule refused (bad input, not allowed, not found, conflict).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A sign-in was refused, or a credential or session is no longer good.
    #[error("{0}")]
    Unauthenticated(String),
    /// An OAuth 2.0 request refused, with RFC 6749's error kind.
    #[error("{1}")]
    OAuth(oauth::Refusal, String),
    /// Too many attempts from this client address.
    #[error("Too many requests from this client. Wait a moment and try again.")]
    TooManyRequests,
    /// Too many wrong secrets in a row from this OAuth client: it waits `retry_after` seconds.
    #[error("Too many failed attempts for this client. Try again in {retry_after} seconds.")]
    Throttled { retry_after: u64 },
    /// The store failed; the detail is logged with the request id, never shown.
    #[error("store failure: {0}")]
    Store(StoreError),
    /// Something else failed inside tapd; the detail is logged, never shown.
    #[error("internal failure: {0}")]
    Internal(String),
    /// A mail could not be sent, so the operation did not happen; the message says why.
    #[error("{0}")]
    MailNotSent(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => ServiceError::Domain(DomainError::Conflict(m)),
            other => ServiceError::Store(other),
        }
    }
}

impl ServiceError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ServiceError::Domain(DomainError::BadRequest(message.into()))
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ServiceError::Domain(DomainError::NotFound(message.into()))
    }

    pub fn internal(what: impl std::fmt::Display) -> Self {
        ServiceError::Internal(what.to_string())
    }

    /// Graph's words for an unknown user.
    pub fn user_not_found(id: &str) -> Self {
        Self::not_found(format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ))
    }

    /// The message a person may read (internal failures say nothing internal).
    pub fn public_message(&self) -> String {
        match self {
            ServiceError::Store(_) | ServiceError::Internal(_) => {
                "An internal error occurred. Quote the request id when reporting it.".into()
            }
            other => other.to_string(),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// A new object id: a UUIDv7 of `now`, random apart from its time. Rows created one after the
/// other (audit records, users, passes, sessions) are then appended to the indexes of their ids
/// instead of written all over them, which is most of what a commit writes.
pub fn new_id(now: OffsetDateTime) -> Uuid {
    let seconds = now.unix_timestamp().max(0) as u64;
    let at = uuid::Timestamp::from_unix(uuid::NoContext, seconds, now.nanosecond());
    Uuid::new_v7(at)
}

/// Parses an object id from a path, or answers Graph's 404 for `what`.
pub fn parse_id(what: &str, s: &str) -> ServiceResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| ServiceError::not_found(format!("{what} '{s}' does not exist.")))
}

/// The tenant `/{tenant}/…` in a URL names: its id or one of its domains.
pub async fn tenant_named(svc: &Services, name: &str) -> ServiceResult<Option<Tenant>> {
    Ok(svc.store.tenant_named(name).await?)
}

/// Resolves `{id|userPrincipalName}` in the caller's tenant or answers 404 in Graph's words:
/// another tenant's user is not found.
pub async fn find_user(svc: &Services, ctx: &Ctx, id_or_upn: &str) -> ServiceResult<UserRecord> {
    svc.store
        .find_user(ctx.tenant, id_or_upn)
        .await?
        .ok_or_else(|| ServiceError::user_not_found(id_or_upn))
}

/// Runs CPU-heavy hashing off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> ServiceResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ServiceError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;
    use time::Duration;

    /// Ids are UUIDv7s of the injected instant: ordered by it, distinct within one instant,
    /// and an instant before 1970 is clamped rather than wrapped.
    #[test]
    fn new_ids_follow_the_injected_clock() {
        let t = OffsetDateTime::from_unix_timestamp(1_780_000_000).expect("instant");
        let (a, b) = (new_id(t), new_id(t + Duration::milliseconds(1)));
        assert_eq!(a.get_version_num(), 7);
        assert!(a.to_string() < b.to_string());
        assert_ne!(new_id(t), new_id(t));
        let seconds = |u: Uuid| u.get_timestamp().map(|ts| ts.to_unix().0);
        assert_eq!(seconds(a), Some(1_780_000_000));
        let before = OffsetDateTime::UNIX_EPOCH - Duration::days(1);
        assert_eq!(seconds(new_id(before)), Some(0));
    }

    fn gate(cores: usize) -> HashGate {
        HashGate::new(cores)
    }

    #[tokio::test]
    async fn hashing_runs_at_most_one_per_core_and_refuses_a_queue_beyond_its_bound() {
        let gate = gate(2);
        let first = gate.enter().await.expect("a core is free");
        let _second = gate.enter().await.expect("a core is free");
        // A third waits for a core: it is not admitted while both are busy.
        let third = tokio::time::timeout(std::time::Duration::ZERO, gate.enter()).await;
        assert!(third.is_err(), "no third hash while two run");
        assert_eq!(
            gate.waiting.load(Ordering::Acquire),
            0,
            "a waiter that gave up is not counted"
        );
        drop(first);
        let _third = gate.enter().await.expect("admitted once a core is free");
        // With the queue full, an attempt is refused at once.
        gate.waiting.store(HASH_QUEUE, Ordering::Release);
        assert!(matches!(
            gate.enter().await,
            Err(ServiceError::TooManyRequests)
        ));
        assert_eq!(gate.waiting.load(Ordering::Acquire), HASH_QUEUE);
    }
}
