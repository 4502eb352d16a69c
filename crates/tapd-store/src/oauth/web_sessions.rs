//! Browser sessions of tapd's own pages, each known by the hash of its cookie. Like a refresh
//! token, a session opened with a pass ends when that pass is deleted.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::sql::{Value, Writer, column_count, from_micros, micros, opt_uuid, rows_of, uuid_of};
use crate::{Result, Store};

/// A browser session, known by the hash of its cookie.
#[derive(Clone, Debug)]
pub struct WebSession {
    pub token_hash: String,
    pub user_id: Uuid,
    pub tap_id: Option<Uuid>,
    pub amr: String,
    pub auth_time: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

const WEB_SESSION_COLUMNS: &str =
    "token_hash, user_id, tap_id, amr, auth_time, created_at, expires_at";

impl WebSession {
    /// The `WEB_SESSION_COLUMNS` values, in order.
    fn values(&self, out: &mut Vec<Value>) {
        out.extend([
            self.token_hash.as_str().into(),
            self.user_id.to_string().into(),
            self.tap_id.map(|t| t.to_string()).into(),
            self.amr.as_str().into(),
            micros(self.auth_time).into(),
            micros(self.created_at).into(),
            micros(self.expires_at).into(),
        ]);
    }

    fn from_row(r: &AnyRow) -> Result<WebSession> {
        Ok(WebSession {
            token_hash: r.try_get(0)?,
            user_id: uuid_of(&r.try_get::<String, _>(1)?)?,
            tap_id: opt_uuid(r.try_get(2)?)?,
            amr: r.try_get(3)?,
            auth_time: from_micros(r.try_get(4)?)?,
            created_at: from_micros(r.try_get(5)?)?,
            expires_at: from_micros(r.try_get(6)?)?,
        })
    }
}

impl Store {
    pub async fn web_session(&self, token_hash: &str) -> Result<Option<WebSession>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {WEB_SESSION_COLUMNS} FROM web_sessions WHERE token_hash = $1"
        )))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(WebSession::from_row).transpose()
    }

    pub async fn end_web_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Inserts browser sessions with one statement.
pub(crate) async fn insert_web_sessions(tx: &mut impl Writer, webs: &[&WebSession]) -> Result<()> {
    if webs.is_empty() {
        return Ok(());
    }
    let columns = column_count(WEB_SESSION_COLUMNS);
    let sql = format!(
        "INSERT INTO web_sessions ({WEB_SESSION_COLUMNS}) VALUES {}",
        rows_of(tx.dialect(), webs.len(), columns)
    );
    let mut args = Vec::with_capacity(webs.len() * columns);
    for w in webs {
        w.values(&mut args);
    }
    tx.execute(&sql, args).await?;
    Ok(())
}
