//! The writes of the hot paths, committed in groups: what a sign-in writes, a pass's issuance
//! and a user's creation — the `Store` calls, and the writer tasks behind them.
//!
//! Every successful sign-in writes (consume the pass, store the refresh token, audit), and so
//! does every issuance and every new user; with durable commits each transaction costs an
//! fsync, which caps a one-at-a-time writer at a few hundred a second. Writer tasks take
//! whatever writes are waiting and commit them in one transaction with a fixed number of
//! statements. Each write keeps its own all-or-nothing outcome: a pass consumed by an earlier
//! sign-in of the same batch (or locked meanwhile) makes only that sign-in fail, a user name
//! taken makes only that creation fail, and no reply is sent before the commit is durable. A
//! batch that fails as a whole (a user deleted under an issuance, say) is written again one
//! write per transaction, so that only the write at fault fails.

use std::collections::HashSet;
use std::sync::Arc;

use sqlx::Connection;
use tapd_core::TapPass;
use time::OffsetDateTime;
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use crate::audit::{AuditKind, AuditRecord, AuditRow, insert_audits};
use crate::delivery::{PassLink, insert_link};
use crate::direct::Owned;
use crate::directory::{UserRecord, insert_users, upn_taken};
use crate::oauth::{Grant, RefreshToken, WebSession, insert_refreshes, insert_web_sessions};
use crate::passes::{StoredSecret, upsert_taps};
use crate::sql::{Value, Writer, begin_write, micros, param, placeholders};
use crate::throttle::{Subject, bump};
use crate::{Dialect, Result, Store, StoreError, lite};

impl Store {
    /// Commits a successful sign-in: consumes the pass if any (gating the rest), stores what it
    /// grants and the audit record. False, writing nothing, when the pass could not be consumed.
    pub async fn sign_in_commit(
        &self,
        pass: Option<TapPass>,
        grant: Grant,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let write = Write::Session {
            pass,
            now: audit.at,
            grant: Box::new(grant),
        };
        Ok(self.queue(write, audit).await?.accepted)
    }

    /// Counts a wrong code against the pass and audits the attempt; returns the new count.
    pub async fn record_tap_failure(&self, pass: Uuid, audit: &AuditRecord) -> Result<u32> {
        let write = Write::WrongCode { pass };
        Ok(self.queue(write, audit).await?.failures)
    }

    /// Counts a wrong password against `user`'s run of failures and audits the attempt;
    /// returns the run's new length.
    pub async fn record_password_failure(&self, user: Uuid, audit: &AuditRecord) -> Result<u32> {
        let write = Write::WrongPassword { user, at: audit.at };
        Ok(self.queue(write, audit).await?.failures)
    }

    /// Audits a failed sign-in attempt.
    pub async fn audit_sign_in_failure(&self, audit: &AuditRecord) -> Result<()> {
        self.queue(Write::AuditOnly, audit).await.map(|_| ())
    }

    /// Stores a new pass for its user, replacing any pass the user had (its row takes the new
    /// pass's id, so the old one is gone), with its audit record, in one commit. Two issuances
    /// for the same user at once are applied one after the other (the later wins) rather than
    /// one failing on the user's unique pass.
    pub async fn replace_tap(
        &self,
        pass: &TapPass,
        secret: &StoredSecret,
        audit: &AuditRecord,
    ) -> Result<()> {
        self.replace_tap_with_link(pass, secret, None, audit).await
    }

    /// [`Store::replace_tap`], and the pass's one-time link if it has one: the user's earlier
    /// link goes with their earlier pass, in the same commit.
    pub async fn replace_tap_with_link(
        &self,
        pass: &TapPass,
        secret: &StoredSecret,
        link: Option<&PassLink>,
        audit: &AuditRecord,
    ) -> Result<()> {
        let write = Write::Issue(Box::new(Issue {
            pass: pass.clone(),
            secret: secret.clone(),
            link: link.cloned(),
        }));
        self.queue(write, audit).await.map(|_| ())
    }

    /// Creates a user, with its audit record, in one commit; a user name already taken is a
    /// conflict and writes nothing.
    pub async fn create_user(&self, user: &UserRecord, audit: &AuditRecord) -> Result<()> {
        let write = Write::CreateUser(Box::new(user.clone()));
        match self.queue(write, audit).await?.accepted {
            true => Ok(()),
            false => Err(upn_taken(&user.upn)),
        }
    }

    /// Queues the write for the next batch and waits until that batch is durable.
    async fn queue(&self, write: Write, audit: &AuditRecord) -> Result<Outcome> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            write,
            audit: AuditRow::of(audit),
            reply,
        };
        let gone = || StoreError::Corrupt("the batch writer has stopped".into());
        self.writes.send(job).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// Largest number of sign-ins committed together.
const MAX_BATCH: usize = 128;

/// One sign-in attempt's writes.
pub(crate) struct Job {
    pub write: Write,
    /// The audit record, written with an accepted write.
    pub audit: AuditRow,
    pub reply: oneshot::Sender<Result<Outcome>>,
}

pub(crate) enum Write {
    /// A success: consume the pass if any (gating the rest), then store what it grants.
    Session {
        pass: Option<TapPass>,
        now: OffsetDateTime,
        grant: Box<Grant>,
    },
    /// A wrong code: count it against the pass.
    WrongCode { pass: Uuid },
    /// A wrong password at `at`: count it against the account.
    WrongPassword { user: Uuid, at: OffsetDateTime },
    /// Any other failure: the audit record alone.
    AuditOnly,
    /// A new pass replacing the user's pass, if any.
    Issue(Box<Issue>),
    /// A new user; refused when the user name is taken.
    CreateUser(Box<UserRecord>),
}

impl Write {
    /// The log the write's audit record goes to.
    fn audit_kind(&self) -> AuditKind {
        match self {
            Write::Issue(_) | Write::CreateUser(_) => AuditKind::DirectoryAudit,
            _ => AuditKind::SignIn,
        }
    }
}

/// A pass's issuance.
pub(crate) struct Issue {
    pass: TapPass,
    secret: StoredSecret,
    link: Option<PassLink>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// False when the pass could no longer be consumed; nothing else was written.
    pub accepted: bool,
    /// The pass's consecutive wrong codes after a `WrongCode`, the account's consecutive wrong
    /// passwords after a `WrongPassword`.
    pub failures: u32,
}

pub(crate) type Queue = mpsc::Sender<Job>;

/// Starts `workers` writer tasks, each committing its batches in a transaction of its own
/// connection to `url` (PostgreSQL; see `direct`), or of `pool` when there is no URL (an
/// in-memory SQLite database, which only the pool's connections see).
pub(crate) fn start(
    pool: sqlx::AnyPool,
    dialect: Dialect,
    url: Option<&str>,
    workers: usize,
) -> Queue {
    let (tx, rx) = mpsc::channel::<Job>(QUEUE);
    let rx = Arc::new(Mutex::new(rx));
    for _ in 0..workers {
        let (pool, rx) = (pool.clone(), rx.clone());
        let mut own = url.map(Owned::new);
        tokio::spawn(async move {
            loop {
                let jobs = {
                    let mut rx = rx.lock().await;
                    match rx.recv().await {
                        Some(job) => more(&mut rx, job),
                        None => return,
                    }
                };
                match own.as_mut() {
                    Some(own) => commit(jobs, &mut ConnBatches(own)).await,
                    None => commit(jobs, &mut PoolBatches(&pool, dialect)).await,
                }
            }
        });
    }
    tx
}

/// Starts SQLite's one writer: a thread of its own that owns its connection, so that a batch's
/// statements run where they are issued (no hop to a worker thread and back per statement)
/// and the connection's page cache stays warm between batches (no other connection of this
/// process writes the hot tables). The checkpointer (`lite::start_checkpointer`) stops with it.
pub(crate) fn start_sqlite(path: &str) -> Result<Queue> {
    let mut conn = lite::open_writer(path)?;
    let checkpoints = lite::start_checkpointer(path)?;
    let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
    std::thread::Builder::new()
        .name("tapd-sqlite-writer".into())
        .spawn(move || {
            let _checkpoints = checkpoints;
            while let Some(job) = rx.blocking_recv() {
                let jobs = more(&mut rx, job);
                // A batch that could not finish at once has dropped its jobs: their callers
                // are told the write failed.
                if let Err(e) = lite::at_once(commit(jobs, &mut SqliteBatches(&mut conn))) {
                    tracing::error!(error = %e, "a batch could not be written");
                }
            }
        })
        .map_err(|e| StoreError::Corrupt(format!("cannot start the SQLite writer: {e}")))?;
    Ok(tx)
}

/// Most jobs waiting in the queue; a caller beyond them waits to queue.
const QUEUE: usize = 4096;

/// `first` and whatever else is waiting, up to a batch.
fn more(rx: &mut mpsc::Receiver<Job>, first: Job) -> Vec<Job> {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    jobs.push(first);
    while jobs.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(job) => jobs.push(job),
            Err(_) => break,
        }
    }
    jobs
}

/// Where a batch is committed, in one transaction.
trait Batches {
    async fn transaction(&mut self, jobs: &[Job]) -> Result<Vec<Outcome>>;
}

/// A transaction of the pool.
struct PoolBatches<'a>(&'a sqlx::AnyPool, Dialect);

impl Batches for PoolBatches<'_> {
    async fn transaction(&mut self, jobs: &[Job]) -> Result<Vec<Outcome>> {
        write_and_commit(begin_write(self.0, self.1).await?, jobs).await
    }
}

/// Writes the batch in `tx` and commits it.
async fn write_and_commit(mut tx: crate::sql::Tx<'_>, jobs: &[Job]) -> Result<Vec<Outcome>> {
    let outcomes = write(&mut tx, jobs).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// A transaction of a writer's own PostgreSQL connection; a failure closes the connection, and
/// the next transaction opens another.
struct ConnBatches<'a>(&'a mut Owned);

impl Batches for ConnBatches<'_> {
    async fn transaction(&mut self, jobs: &[Job]) -> Result<Vec<Outcome>> {
        let written = async {
            let tx = self.0.get().await?.begin().await?;
            write_and_commit(tx, jobs).await
        }
        .await;
        if written.is_err() {
            self.0.discard();
        }
        written
    }
}

/// A transaction of SQLite's writer connection.
struct SqliteBatches<'a>(&'a mut rusqlite::Connection);

impl Batches for SqliteBatches<'_> {
    async fn transaction(&mut self, jobs: &[Job]) -> Result<Vec<Outcome>> {
        let mut tx = lite::Transaction::begin(self.0)?;
        let outcomes = write(&mut tx, jobs).await?;
        tx.commit()?;
        Ok(outcomes)
    }
}

/// Commits the batch in one transaction and answers each job; a batch that fails is written
/// again one job at a time, so that only the job at fault fails.
async fn commit(jobs: Vec<Job>, batches: &mut impl Batches) {
    metrics::histogram!("tapd_sign_in_batch_size").record(jobs.len() as f64);
    match batches.transaction(&jobs).await {
        Ok(outcomes) => {
            for (job, outcome) in jobs.into_iter().zip(outcomes) {
                let _ = job.reply.send(Ok(outcome));
            }
        }
        Err(e) if jobs.len() > 1 => {
            tracing::warn!(error = %e, batch = jobs.len(), "batch failed; writing its jobs one by one");
            for job in jobs {
                let outcome = batches.transaction(std::slice::from_ref(&job)).await;
                let _ = job.reply.send(outcome.map(|o| o[0]).map_err(failed));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "write failed");
            for job in jobs {
                let _ = job.reply.send(Err(failed(&e)));
            }
        }
    }
}

fn failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::Batch(format!("write failed: {e}"))
}

/// Writes a batch in one transaction with a fixed number of statements, however many jobs:
/// wrong codes are counted first (a lock reached first wins), then the passes are consumed with
/// one statement per kind, then the refresh tokens and audit records are inserted in bulk.
async fn write(tx: &mut impl Writer, jobs: &[Job]) -> Result<Vec<Outcome>> {
    let mut outcomes = vec![
        Outcome {
            accepted: true,
            failures: 0,
        };
        jobs.len()
    ];
    count_wrong_codes(tx, jobs, &mut outcomes).await?;
    let usable = claim_passes(tx, jobs).await?;
    let rows = settle(jobs, &mut outcomes, &usable);
    insert_refreshes(tx, &rows.refreshes).await?;
    insert_web_sessions(tx, &rows.webs).await?;
    create_users(tx, jobs, &mut outcomes).await?;
    issue_passes(tx, jobs).await?;
    for kind in [AuditKind::SignIn, AuditKind::DirectoryAudit] {
        let audits: Vec<&AuditRow> = jobs
            .iter()
            .zip(&outcomes)
            .filter(|(job, outcome)| outcome.accepted && job.write.audit_kind() == kind)
            .map(|(job, _)| &job.audit)
            .collect();
        insert_audits(tx, kind, &audits).await?;
    }
    Ok(outcomes)
}

/// Inserts the batch's new users with one statement; a user whose name is taken (before or
/// earlier in the batch) is skipped, and its outcome refused.
async fn create_users(tx: &mut impl Writer, jobs: &[Job], outcomes: &mut [Outcome]) -> Result<()> {
    let users: Vec<&UserRecord> = jobs
        .iter()
        .filter_map(|j| match &j.write {
            Write::CreateUser(user) => Some(user.as_ref()),
            _ => None,
        })
        .collect();
    let created = insert_users(tx, &users).await?;
    for (job, outcome) in jobs.iter().zip(outcomes.iter_mut()) {
        if let Write::CreateUser(user) = &job.write {
            outcome.accepted = created.contains(&user.id.to_string());
        }
    }
    Ok(())
}

/// Stores the batch's new passes: each user's earlier links go, then one statement replaces
/// each user's pass. A user issued two passes in the batch keeps the later one, as if the two
/// had been written one after the other.
async fn issue_passes(tx: &mut impl Writer, jobs: &[Job]) -> Result<()> {
    let mut latest: Vec<&Issue> = Vec::new();
    for job in jobs.iter().rev() {
        if let Write::Issue(issue) = &job.write
            && !latest.iter().any(|i| i.pass.user_id == issue.pass.user_id)
        {
            latest.push(issue);
        }
    }
    if latest.is_empty() {
        return Ok(());
    }
    let users: Vec<Value> = latest
        .iter()
        .map(|i| i.pass.user_id.to_string().into())
        .collect();
    let sql = format!(
        "DELETE FROM pass_links WHERE user_id IN ({})",
        placeholders(tx.dialect(), 1, users.len())
    );
    tx.execute(&sql, users).await?;
    let passes: Vec<(&TapPass, &StoredSecret)> =
        latest.iter().map(|i| (&i.pass, &i.secret)).collect();
    upsert_taps(tx, &passes).await?;
    for link in latest.iter().filter_map(|i| i.link.as_ref()) {
        insert_link(tx, link).await?;
    }
    Ok(())
}

/// Adds each wrong code to its pass's count and each wrong password to its account's run, and
/// puts the new count in its outcome.
async fn count_wrong_codes(
    tx: &mut impl Writer,
    jobs: &[Job],
    outcomes: &mut [Outcome],
) -> Result<()> {
    for (job, outcome) in jobs.iter().zip(outcomes.iter_mut()) {
        if let Write::WrongCode { pass } = &job.write {
            let counts = tx
                .fetch(
                    "UPDATE taps SET failed_attempts = failed_attempts + 1 WHERE id = $1 \
                     RETURNING failed_attempts",
                    vec![pass.to_string().into()],
                    |r| r.int(0),
                )
                .await?;
            if let Some(count) = counts.first() {
                outcome.failures = (*count).clamp(0, u32::MAX as i64) as u32;
            }
        }
        if let Write::WrongPassword { user, at } = &job.write {
            outcome.failures = bump(tx, Subject::Account(*user), *at).await?;
        }
    }
    Ok(())
}

/// The ids of the passes the batch's sign-ins may still use, by how each kind was checked.
struct UsablePasses {
    /// One-time passes this batch consumed.
    consumed: HashSet<String>,
    /// Multi-use passes that had failures on record, now reset.
    reset: HashSet<String>,
    /// Multi-use passes without failures, found not locked.
    unlocked: HashSet<String>,
}

/// Takes the batch's passes, each kind with one statement, and only passes that are not locked.
async fn claim_passes(tx: &mut impl Writer, jobs: &[Job]) -> Result<UsablePasses> {
    // A one-time pass is consumed only if still unused: the check and the write are one
    // statement, so exactly one of any number of concurrent attempts wins.
    let now = jobs
        .iter()
        .find_map(|j| match &j.write {
            Write::Session { now, .. } => Some(*now),
            _ => None,
        })
        .unwrap_or_else(OffsetDateTime::now_utc);
    let consumed = unlocked_ids(
        tx,
        "UPDATE taps SET used_at = {at}, failed_attempts = 0 WHERE used_at IS NULL AND",
        Some(micros(now)),
        &pass_ids(jobs, |p| p.is_usable_once),
    )
    .await?;
    // A multi-use pass with failures on record has them reset; any pass must not be locked.
    let reset = unlocked_ids(
        tx,
        "UPDATE taps SET failed_attempts = 0 WHERE",
        None,
        &pass_ids(jobs, |p| !p.is_usable_once && p.failed_attempts > 0),
    )
    .await?;
    let unlocked = unlocked_ids(
        tx,
        "SELECT id FROM taps WHERE",
        None,
        &pass_ids(jobs, |p| !p.is_usable_once && p.failed_attempts == 0),
    )
    .await?;
    Ok(UsablePasses {
        consumed,
        reset,
        unlocked,
    })
}

/// The distinct, sorted ids of the passes `pick` chooses among the batch's successes.
fn pass_ids(jobs: &[Job], pick: fn(&TapPass) -> bool) -> Vec<String> {
    let mut ids: Vec<String> = jobs
        .iter()
        .filter_map(|j| match &j.write {
            Write::Session { pass: Some(p), .. } if pick(p) => Some(p.id.to_string()),
            _ => None,
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// What a batch inserts once its outcomes are known.
struct Rows<'a> {
    refreshes: Vec<&'a RefreshToken>,
    webs: Vec<&'a WebSession>,
}

/// Decides each success from the passes claimed (a one-time pass presented twice in the batch
/// goes to the first), and collects the grants of the accepted jobs.
fn settle<'a>(jobs: &'a [Job], outcomes: &mut [Outcome], usable: &UsablePasses) -> Rows<'a> {
    let mut claimed = HashSet::new();
    let mut rows = Rows {
        refreshes: Vec::new(),
        webs: Vec::new(),
    };
    for (job, outcome) in jobs.iter().zip(outcomes.iter_mut()) {
        if let Write::Session { pass, grant, .. } = &job.write {
            outcome.accepted = match pass {
                None => true,
                Some(p) if p.is_usable_once => {
                    let id = p.id.to_string();
                    usable.consumed.contains(&id) && claimed.insert(id)
                }
                Some(p) => {
                    let id = p.id.to_string();
                    usable.reset.contains(&id) || usable.unlocked.contains(&id)
                }
            };
            match grant.as_ref() {
                _ if !outcome.accepted => {}
                Grant::Refresh(r) => rows.refreshes.push(r),
                Grant::Web(w) => rows.webs.push(w),
            }
        }
    }
    rows
}

/// Runs `{head} <not locked> AND id IN (ids…)` (with `RETURNING id` for an UPDATE) and
/// answers the ids it touched. `{at}` in `head` is bound to `at` when given, then the ids.
///
/// The lock rule lives here, once: a pass is used only while it has fewer than
/// `MAX_FAILED_ATTEMPTS` consecutive wrong codes (`TapPass::is_locked` is the same rule in
/// Rust). Every statement that lets a batch's pass sign in comes through here, so a lock
/// reached after the sign-in read, or earlier in the same batch, still wins.
async fn unlocked_ids(
    tx: &mut impl Writer,
    head: &str,
    at: Option<i64>,
    ids: &[String],
) -> Result<HashSet<String>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let dialect = tx.dialect();
    let first = if at.is_some() { 2 } else { 1 };
    let returning = if head.starts_with("UPDATE") {
        " RETURNING id"
    } else {
        ""
    };
    let sql = format!(
        "{head} failed_attempts < {max} AND id IN ({ids}){returning}",
        head = head.replace("{at}", &param(dialect, 1)),
        max = tapd_core::MAX_FAILED_ATTEMPTS,
        ids = placeholders(dialect, first, ids.len()),
    );
    let mut args: Vec<Value> = Vec::with_capacity(ids.len() + 1);
    args.extend(at.map(Value::from));
    args.extend(ids.iter().map(|id| Value::from(id.as_str())));
    let touched = tx.fetch(&sql, args, |r| r.text(0)).await?;
    Ok(touched.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use tapd_core::{MAX_FAILED_ATTEMPTS, TapPolicy};
    use time::Duration;

    use super::*;
    use crate::{StoredSecret, UserRecord, WebSession};

    /// A fresh database: SQLite in a temporary folder, or a new database on the PostgreSQL
    /// server `TAPD_TEST_DATABASE_URL` names.
    async fn fresh_store() -> Store {
        let name = format!("tapd_store_t_{}", Uuid::new_v4().simple());
        let url = match std::env::var("TAPD_TEST_DATABASE_URL") {
            Ok(server) if !server.is_empty() => Store::create_postgres_database(&server, &name)
                .await
                .expect("create a test database"),
            _ => {
                let dir = std::env::temp_dir().join(name);
                std::fs::create_dir_all(&dir).expect("temp dir");
                format!("sqlite://{}?mode=rwc", dir.join("tapd.db").display())
            }
        };
        Store::connect(&url).await.expect("connect")
    }

    fn user(upn: &str) -> UserRecord {
        let at = OffsetDateTime::from_unix_timestamp(1_780_000_000).expect("instant");
        UserRecord::member(Uuid::nil(), upn.into(), upn.into(), at)
    }

    fn pass_for(user: &UserRecord) -> TapPass {
        TapPass {
            id: Uuid::new_v4(),
            user_id: user.id,
            created_at: user.created_at,
            start: user.created_at,
            lifetime_minutes: 60,
            is_usable_once: true,
            used_at: None,
            failed_attempts: 0,
        }
    }

    fn secret() -> StoredSecret {
        StoredSecret {
            salt: vec![1; 16],
            hash: vec![2; 32],
        }
    }

    /// Many creations at once share batches: each keeps its own outcome, a name taken before
    /// or by another creation of the same batch (in any case) fails alone.
    #[tokio::test]
    async fn users_created_together_each_get_their_own_outcome() {
        let store = fresh_store().await;
        let at = user("x").created_at;
        store
            .create_user(&user("taken@tapd.test"), &audit(at))
            .await
            .expect("first");
        let mut names: Vec<String> = (0..40).map(|i| format!("u{i}@tapd.test")).collect();
        names.push("TAKEN@tapd.test".into());
        names.push("Twice@tapd.test".into());
        names.push("twice@TAPD.test".into());
        let tasks: Vec<_> = names
            .iter()
            .map(|name| {
                let (store, user) = (store.clone(), user(name));
                tokio::spawn(async move { store.create_user(&user, &audit(at)).await })
            })
            .collect();
        let mut conflicts = Vec::new();
        for (name, task) in names.iter().zip(tasks) {
            match task.await.expect("task") {
                Ok(()) => {}
                Err(StoreError::Conflict(_)) => conflicts.push(name.to_lowercase()),
                Err(e) => panic!("{name}: {e}"),
            }
        }
        conflicts.sort();
        assert_eq!(conflicts, ["taken@tapd.test", "twice@tapd.test"]);
        assert_eq!(store.count_users().await.expect("count"), 42);
        for name in names.iter().take(40) {
            assert!(
                store.user_anywhere(name).await.expect("find").is_some(),
                "{name}"
            );
        }
        store.close().await;
    }

    /// PostgreSQL dropping every connection (a restart, a failover) costs no read and no write:
    /// the hot reads' and the writers' own connections are replaced, the read made again, the
    /// batch written again one job at a time. (SQLite has no server to drop them; there the
    /// test only reads and writes.)
    #[tokio::test]
    async fn reads_and_writes_go_on_after_the_database_drops_the_connections() {
        let store = fresh_store().await;
        let at = user("x").created_at;
        store
            .create_user(&user("before@tapd.test"), &audit(at))
            .await
            .expect("a write");
        let read = store
            .user_with_tap("before@tapd.test")
            .await
            .expect("a read");
        assert!(read.is_some());
        if store.dialect == Dialect::Postgres {
            let dropped = sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .fetch_all(&store.pool)
            .await
            .expect("drop the other connections");
            assert!(dropped.len() >= 2, "the reader and the writer were dropped");
        }
        for i in 0..3 {
            let read = store.user_with_tap("before@tapd.test").await;
            assert!(read.expect("a read after the drop").is_some(), "read {i}");
        }
        store
            .create_user(&user("after@tapd.test"), &audit(at))
            .await
            .expect("a write after the drop");
        assert!(
            store
                .user_with_tap("after@tapd.test")
                .await
                .expect("read")
                .is_some()
        );
        store.close().await;
    }

    /// Seeding takes more users than one statement holds (the bench seeds a million).
    #[tokio::test]
    async fn seeding_takes_more_users_than_one_statement_holds() {
        let store = fresh_store().await;
        let users: Vec<UserRecord> = (0..4_000)
            .map(|i| user(&format!("s{i}@tapd.test")))
            .collect();
        store.seed_users(&users).await.expect("seed");
        assert_eq!(store.count_users().await.expect("count"), 4_000);
        store.close().await;
    }

    /// Issuances at once share batches; one for a user that no longer exists fails alone, and
    /// each user keeps exactly one pass.
    #[tokio::test]
    async fn passes_issued_together_fail_alone_and_replace_per_user() {
        let store = fresh_store().await;
        let mut users = Vec::new();
        for i in 0..20 {
            let u = user(&format!("p{i}@tapd.test"));
            store
                .create_user(&u, &audit(u.created_at))
                .await
                .expect("create");
            users.push(u);
        }
        let gone = user("gone@tapd.test");
        let mut issued = Vec::new();
        let mut tasks = Vec::new();
        for u in users.iter().chain(users.iter().take(5)).chain([&gone]) {
            let (store, pass) = (store.clone(), pass_for(u));
            issued.push(pass.clone());
            tasks.push(tokio::spawn(async move {
                store
                    .replace_tap(&pass, &secret(), &audit(pass.created_at))
                    .await
            }));
        }
        for (pass, task) in issued.iter().zip(tasks) {
            let result = task.await.expect("task");
            assert_eq!(result.is_ok(), pass.user_id != gone.id, "{result:?}");
        }
        for u in &users {
            let (pass, _) = store.tap_of(u.id).await.expect("read").expect("a pass");
            assert!(issued.iter().any(|p| p.id == pass.id && p.user_id == u.id));
        }
        assert!(store.tap_of(gone.id).await.expect("read").is_none());
        store.close().await;
    }

    /// Managing a user's methods reads, at once, the user by id or by name in any case, whether
    /// they hold a role, and their tenant's policy (the defaults until one is stored); another
    /// tenant's user is none.
    #[tokio::test]
    async fn a_managed_user_comes_with_their_roles_and_their_tenants_policy() {
        let store = fresh_store().await;
        let (plain, admin) = (user("plain@tapd.test"), user("admin@tapd.test"));
        let at = plain.created_at;
        for u in [&plain, &admin] {
            store.create_user(u, &audit(at)).await.expect("create");
        }
        let role = crate::RoleAssignment {
            id: Uuid::new_v4(),
            principal_id: admin.id,
            role: tapd_core::Role::GlobalReader,
            created_at: at,
        };
        store.assign_role(&role, &audit(at)).await.expect("assign");
        let tenant = plain.tenant;
        let found = store
            .managed_user(tenant, "PLAIN@tapd.test")
            .await
            .expect("read");
        let found = found.expect("by name, in any case");
        assert_eq!((found.user.id, found.holds_role), (plain.id, false));
        assert_eq!(found.policy, TapPolicy::default());

        let policy = TapPolicy {
            default_lifetime_in_minutes: 90,
            ..TapPolicy::default()
        };
        store
            .set_policy(tenant, &policy, at, &audit(at))
            .await
            .expect("store a policy");
        let found = store.managed_user(tenant, &admin.id.to_string()).await;
        let found = found.expect("read").expect("by id");
        assert_eq!((found.user.id, found.holds_role), (admin.id, true));
        assert_eq!(found.policy, policy);

        let elsewhere = store.managed_user(Uuid::new_v4(), "plain@tapd.test").await;
        assert!(elsewhere.expect("read").is_none(), "another tenant's user");
        let unknown = store.managed_user(tenant, "nobody@tapd.test").await;
        assert!(unknown.expect("read").is_none());
        store.close().await;
    }

    fn audit(at: OffsetDateTime) -> AuditRecord {
        AuditRecord {
            id: Uuid::new_v4(),
            tenant: Uuid::nil(),
            at,
            body: serde_json::json!({}),
        }
    }

    /// Gives `user` a new pass with `failures` wrong codes on record and commits a sign-in
    /// with it; answers whether the commit accepted it, and the pass as stored afterwards.
    async fn sign_in_with(
        store: &Store,
        user: &UserRecord,
        is_usable_once: bool,
        failures: u32,
    ) -> (bool, TapPass) {
        let now = user.created_at + Duration::minutes(1);
        let pass = TapPass {
            id: Uuid::new_v4(),
            user_id: user.id,
            created_at: now,
            start: now,
            lifetime_minutes: 60,
            is_usable_once,
            used_at: None,
            failed_attempts: failures,
        };
        let secret = StoredSecret {
            salt: vec![1; 16],
            hash: vec![2; 32],
        };
        store
            .replace_tap(&pass, &secret, &audit(now))
            .await
            .expect("store the pass");
        let session = WebSession {
            token_hash: Uuid::new_v4().to_string(),
            user_id: user.id,
            tap_id: Some(pass.id),
            amr: "otp".into(),
            auth_time: now,
            created_at: now,
            expires_at: now + Duration::hours(1),
        };
        let token = session.token_hash.clone();
        let accepted = store
            .sign_in_commit(Some(pass), Grant::Web(session), &audit(now))
            .await
            .expect("commit");
        let stored = store.web_session(&token).await.expect("read the session");
        assert_eq!(
            accepted,
            stored.is_some(),
            "a refused sign-in writes nothing"
        );
        let (after, _) = store
            .tap_of(user.id)
            .await
            .expect("read")
            .expect("the pass");
        (accepted, after)
    }

    #[tokio::test]
    async fn the_batch_refuses_a_pass_that_reached_the_failure_limit() {
        let store = fresh_store().await;
        let user = user("alice@tapd.test");
        let created_at = user.created_at;
        store
            .create_user(&user, &audit(created_at))
            .await
            .expect("create the user");
        let limit = MAX_FAILED_ATTEMPTS;
        for once in [true, false] {
            let (accepted, pass) = sign_in_with(&store, &user, once, limit).await;
            assert!(!accepted, "locked, one-time {once}");
            assert_eq!((pass.used_at, pass.failed_attempts), (None, limit));

            let (accepted, pass) = sign_in_with(&store, &user, once, limit - 1).await;
            assert!(accepted, "one below the limit, one-time {once}");
            assert_eq!(
                pass.used_at.is_some(),
                once,
                "only a one-time pass is consumed"
            );
            assert_eq!(pass.failed_attempts, 0, "a success resets the count");
        }
        let (accepted, _) = sign_in_with(&store, &user, false, 0).await;
        assert!(accepted, "a multi-use pass without failures");
        store.close().await;
    }
}
