//! Group commit for the sign-in hot path. Every successful sign-in writes (consume the pass,
//! store the refresh token, audit); with durable commits each transaction costs an fsync, which
//! caps a one-at-a-time writer at a few hundred sign-ins a second. Writer tasks take whatever
//! sign-ins are waiting and commit them in one transaction. Each sign-in keeps its own
//! all-or-nothing outcome: a pass consumed by an earlier sign-in of the same batch (or locked
//! meanwhile) makes only that sign-in fail, and no reply is sent before the commit is durable.

use std::collections::HashSet;
use std::sync::Arc;

use sqlx::{AssertSqlSafe, Row};

use time::OffsetDateTime;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::{AuditRecord, Grant, RefreshToken, Result, StoreError, WebSession, micros};
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
    /// A success: consume the pass if any (gating the rest), then store what it grants.
    Session {
        pass: Option<TapPass>,
        now: OffsetDateTime,
        grant: Box<Grant>,
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

/// Writes a batch in one transaction with a fixed number of statements, however many jobs:
/// wrong codes are counted first (a lock reached first wins), then the passes are consumed with
/// one statement per kind, then the refresh tokens and audit records are inserted in bulk.
async fn write(pool: &sqlx::AnyPool, jobs: &[Job]) -> Result<Vec<Outcome>> {
    let mut tx = pool.begin().await?;
    let mut outcomes = vec![
        Outcome {
            accepted: true,
            failures: 0,
        };
        jobs.len()
    ];
    for (job, outcome) in jobs.iter().zip(outcomes.iter_mut()) {
        if let Write::WrongCode { pass } = &job.write {
            let row = sqlx::query(
                "UPDATE taps SET failed_attempts = failed_attempts + 1 WHERE id = $1 \
                 RETURNING failed_attempts",
            )
            .bind(pass.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                outcome.failures = row.try_get::<i64, _>(0)? as u32;
            }
        }
    }

    let passes = |pick: fn(&TapPass) -> bool| -> Vec<String> {
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
    };
    let max = tapd_core::MAX_FAILED_ATTEMPTS as i64;
    // A one-time pass is consumed only if still unused: the check and the write are one
    // statement, so exactly one of any number of concurrent attempts wins.
    let now = jobs
        .iter()
        .find_map(|j| match &j.write {
            Write::Session { now, .. } => Some(*now),
            _ => None,
        })
        .unwrap_or_else(OffsetDateTime::now_utc);
    let consumed = returning_ids(
        &mut tx,
        "UPDATE taps SET used_at = $1, failed_attempts = 0 WHERE used_at IS NULL AND failed_attempts < $2 AND id IN",
        Some(micros(now)),
        max,
        &passes(|p| p.is_usable_once),
    )
    .await?;
    // A multi-use pass with failures on record has them reset; any pass must not be locked.
    let reset = returning_ids(
        &mut tx,
        "UPDATE taps SET failed_attempts = 0 WHERE failed_attempts < $1 AND id IN",
        None,
        max,
        &passes(|p| !p.is_usable_once && p.failed_attempts > 0),
    )
    .await?;
    let unlocked = returning_ids(
        &mut tx,
        "SELECT id FROM taps WHERE failed_attempts < $1 AND id IN",
        None,
        max,
        &passes(|p| !p.is_usable_once && p.failed_attempts == 0),
    )
    .await?;

    let mut claimed = HashSet::new();
    let mut refreshes = Vec::new();
    let mut webs = Vec::new();
    let mut audits = Vec::new();
    for (job, outcome) in jobs.iter().zip(outcomes.iter_mut()) {
        if let Write::Session { pass, grant, .. } = &job.write {
            outcome.accepted = match pass {
                None => true,
                Some(p) if p.is_usable_once => {
                    let id = p.id.to_string();
                    consumed.contains(&id) && claimed.insert(id)
                }
                Some(p) => {
                    let id = p.id.to_string();
                    reset.contains(&id) || unlocked.contains(&id)
                }
            };
            match grant.as_ref() {
                _ if !outcome.accepted => {}
                Grant::Refresh(r) => refreshes.push(r),
                Grant::Web(w) => webs.push(w),
            }
        }
        if outcome.accepted {
            audits.push(&job.audit);
        }
    }
    insert_refreshes(&mut tx, &refreshes).await?;
    insert_web_sessions(&mut tx, &webs).await?;
    insert_audits(&mut tx, &audits).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// `$first, $first+1, …` for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, …, $columns), (…), …` for a multi-row INSERT of `rows` rows.
fn rows_of(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|i| format!("({})", placeholders(i * columns + 1, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `{sql} (ids…)` (with `RETURNING id` for an UPDATE) and answers the ids it touched.
/// `$1` is `at` when given, then the failure limit, then the ids.
async fn returning_ids(
    tx: &mut crate::Tx<'_>,
    sql: &str,
    at: Option<i64>,
    max_failures: i64,
    ids: &[String],
) -> Result<HashSet<String>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let first = if at.is_some() { 3 } else { 2 };
    let returning = if sql.starts_with("UPDATE") {
        " RETURNING id"
    } else {
        ""
    };
    let sql = format!("{sql} ({}){returning}", placeholders(first, ids.len()));
    let mut query = sqlx::query(AssertSqlSafe(sql));
    if let Some(at) = at {
        query = query.bind(at);
    }
    query = query.bind(max_failures);
    for id in ids {
        query = query.bind(id.clone());
    }
    let rows = query.fetch_all(&mut **tx).await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>(0)?))
        .collect()
}

pub(crate) async fn insert_refreshes(
    tx: &mut crate::Tx<'_>,
    refreshes: &[&RefreshToken],
) -> Result<()> {
    if refreshes.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO refresh_tokens ({}) VALUES {}",
        crate::REFRESH_COLUMNS,
        rows_of(refreshes.len(), 10)
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for r in refreshes {
        query = r.bind_to(query);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

pub(crate) async fn insert_web_sessions(
    tx: &mut crate::Tx<'_>,
    webs: &[&WebSession],
) -> Result<()> {
    if webs.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO web_sessions ({}) VALUES {}",
        crate::WEB_SESSION_COLUMNS,
        rows_of(webs.len(), 7)
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for w in webs {
        query = w.bind_to(query);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

async fn insert_audits(tx: &mut crate::Tx<'_>, audits: &[&AuditRecord]) -> Result<()> {
    if audits.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO sign_ins (id, at, body) VALUES {}",
        rows_of(audits.len(), 3)
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for a in audits {
        query = query
            .bind(a.id.to_string())
            .bind(micros(a.at))
            .bind(a.body.to_string());
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_every_value_once() {
        assert_eq!(placeholders(3, 2), "$3, $4");
        assert_eq!(rows_of(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(rows_of(0, 3), "");
    }
}
