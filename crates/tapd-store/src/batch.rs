//! Group commit for the sign-in hot path. Every successful sign-in writes (consume the pass,
//! store the refresh token, audit); with durable commits each transaction costs an fsync, which
//! caps a one-at-a-time writer at a few hundred sign-ins a second. Writer tasks take whatever
//! sign-ins are waiting and commit them in one transaction. Each sign-in keeps its own
//! all-or-nothing outcome: a pass consumed by an earlier sign-in of the same batch (or locked
//! meanwhile) makes only that sign-in fail, and no reply is sent before the commit is durable.

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::{AuditRecord, RefreshToken, Result, StoreError, micros};
use tapd_core::TapPass;

/// Largest number of sign-ins committed together.
const MAX_BATCH: usize = 128;

/// One sign-in attempt's writes.
pub(crate) struct Job {
    pub write: Write,
    /// The `signIn` audit record, written whatever the outcome.
    pub audit: AuditRecord,
    pub reply: oneshot::Sender<Result<Outcome>>,
}

pub(crate) enum Write {
    /// A success: consume the pass if any (gating the rest), then store the refresh token.
    Session {
        pass: Option<TapPass>,
        now: OffsetDateTime,
        refresh: Box<RefreshToken>,
    },
    /// A wrong code: count it against the pass.
    WrongCode { pass: uuid::Uuid },
    /// Any other failure: the audit record alone.
    AuditOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// False when the pass could no longer be consumed; nothing else was written.
    pub accepted: bool,
    /// The pass's consecutive wrong codes after a `WrongCode`.
    pub failures: u32,
}

pub(crate) type Queue = mpsc::Sender<Job>;

/// Starts `workers` writer tasks over `pool`.
pub(crate) fn start(pool: sqlx::AnyPool, workers: usize) -> Queue {
    let (tx, rx) = mpsc::channel::<Job>(4096);
    let rx = Arc::new(Mutex::new(rx));
    for _ in 0..workers {
        let (pool, rx) = (pool.clone(), rx.clone());
        tokio::spawn(async move {
            loop {
                let mut jobs = Vec::with_capacity(MAX_BATCH);
                {
                    let mut rx = rx.lock().await;
                    match rx.recv().await {
                        Some(job) => jobs.push(job),
                        None => return,
                    }
                    while jobs.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(job) => jobs.push(job),
                            Err(_) => break,
                        }
                    }
                }
                commit(&pool, jobs).await;
            }
        });
    }
    tx
}

async fn commit(pool: &sqlx::AnyPool, jobs: Vec<Job>) {
    match write(pool, &jobs).await {
        Ok(outcomes) => {
            for (job, outcome) in jobs.into_iter().zip(outcomes) {
                let _ = job.reply.send(Ok(outcome));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, batch = jobs.len(), "sign-in batch failed");
            let message = e.to_string();
            for job in jobs {
                let _ = job.reply.send(Err(StoreError::Corrupt(format!(
                    "sign-in batch failed: {message}"
                ))));
            }
        }
    }
}

async fn write(pool: &sqlx::AnyPool, jobs: &[Job]) -> Result<Vec<Outcome>> {
    let mut tx = pool.begin().await?;
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in jobs {
        let mut outcome = Outcome {
            accepted: true,
            failures: 0,
        };
        match &job.write {
            Write::Session { pass, now, refresh } => {
                if let Some(pass) = pass {
                    outcome.accepted = consume(&mut tx, pass, *now).await?;
                }
                if outcome.accepted {
                    crate::insert_refresh(&mut tx, refresh).await?;
                }
            }
            Write::WrongCode { pass } => {
                let row = sqlx::query(
                    "UPDATE taps SET failed_attempts = failed_attempts + 1 WHERE id = $1 \
                     RETURNING failed_attempts",
                )
                .bind(pass.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(row) = row {
                    use sqlx::Row;
                    outcome.failures = row.try_get::<i64, _>(0)? as u32;
                }
            }
            Write::AuditOnly => {}
        }
        if outcome.accepted {
            crate::insert_audit(&mut tx, "sign_ins", &job.audit).await?;
        }
        outcomes.push(outcome);
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// A one-time pass is consumed only if still unused; any pass only if not locked. The check
/// and the write are one statement, so exactly one of any number of concurrent attempts wins.
async fn consume(tx: &mut crate::Tx<'_>, pass: &TapPass, now: OffsetDateTime) -> Result<bool> {
    let max = tapd_core::MAX_FAILED_ATTEMPTS as i64;
    let affected = if pass.is_usable_once {
        sqlx::query(
            "UPDATE taps SET used_at = $1, failed_attempts = 0 WHERE id = $2 \
             AND used_at IS NULL AND failed_attempts < $3",
        )
        .bind(micros(now))
        .bind(pass.id.to_string())
        .bind(max)
        .execute(&mut **tx)
        .await?
        .rows_affected()
    } else if pass.failed_attempts > 0 {
        sqlx::query("UPDATE taps SET failed_attempts = 0 WHERE id = $1 AND failed_attempts < $2")
            .bind(pass.id.to_string())
            .bind(max)
            .execute(&mut **tx)
            .await?
            .rows_affected()
    } else {
        // Still there, and not locked by failures since it was read.
        sqlx::query("SELECT 1 FROM taps WHERE id = $1 AND failed_attempts < $2")
            .bind(pass.id.to_string())
            .bind(max)
            .fetch_optional(&mut **tx)
            .await?
            .map_or(0, |_| 1)
    };
    Ok(affected == 1)
}
