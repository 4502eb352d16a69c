//! Runs of consecutive wrong secrets, per account and per client (`tapd_core::throttle` holds
//! the rule; this keeps the counts, shared by every replica).

use sqlx::Row;
use tapd_core::FailureRun;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::sql::{Writer, from_micros, micros};
use crate::{Result, Store, StoreError};

/// Whose run of failures a row counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// Password sign-in of a user.
    Account(Uuid),
    /// Secret checks of an OAuth client at the token endpoint.
    Client(Uuid),
    /// User codes a signed-in person types on the device page.
    UserCodes(Uuid),
}

impl Subject {
    /// The row's key; deleting a user or an app deletes its row by the same shape.
    fn key(self) -> String {
        match self {
            Subject::Account(id) => format!("user:{id}"),
            Subject::Client(id) => format!("client:{id}"),
            Subject::UserCodes(id) => format!("usercodes:{id}"),
        }
    }
}

impl Store {
    /// The current run of failures of `subject`, if any.
    pub async fn failure_run(&self, subject: Subject) -> Result<Option<FailureRun>> {
        let row =
            sqlx::query("SELECT failures, last_failure_at FROM failure_runs WHERE subject = $1")
                .bind(subject.key())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(FailureRun {
                failures: r.try_get::<i64, _>(0)?.clamp(0, u32::MAX as i64) as u32,
                last_failure_at: from_micros(r.try_get(1)?)?,
            })
        })
        .transpose()
    }

    /// Counts one more failure of `subject` at `now`; answers the run's new length.
    pub async fn record_failure(&self, subject: Subject, now: OffsetDateTime) -> Result<u32> {
        let mut tx = self.write_tx().await?;
        let failures = bump(&mut tx, subject, now).await?;
        tx.commit().await?;
        Ok(failures)
    }

    /// Ends the run of `subject` (a success, or an administrator's reset).
    pub async fn clear_failures(&self, subject: Subject) -> Result<()> {
        sqlx::query("DELETE FROM failure_runs WHERE subject = $1")
            .bind(subject.key())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// One more failure in the run of `subject`, atomically whatever other replicas do.
pub(crate) async fn bump(
    tx: &mut impl Writer,
    subject: Subject,
    now: OffsetDateTime,
) -> Result<u32> {
    let sql = "INSERT INTO failure_runs (subject, failures, last_failure_at) VALUES ($1, 1, $2) \
               ON CONFLICT (subject) DO UPDATE SET failures = failure_runs.failures + 1, \
               last_failure_at = $2 RETURNING failures";
    let args = vec![subject.key().into(), micros(now).into()];
    let runs = tx.fetch(sql, args, |r| r.int(0)).await?;
    let run = runs
        .first()
        .ok_or_else(|| StoreError::Corrupt("a failure run was not counted".into()))?;
    Ok((*run).clamp(0, u32::MAX as i64) as u32)
}
