//! Passkeys (SPEC §6.3): each user's WebAuthn user handle, their registered credentials, and
//! the ceremonies in flight. A ceremony is kept in the database, not in memory, so any replica
//! can finish what another started, and it is taken with `DELETE … RETURNING` so it is used once.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{AuditKind, AuditRecord, finish, insert_audit};
use crate::oauth::{Grant, insert_refreshes, insert_web_sessions};
use crate::sql::{from_micros, is_unique_violation, micros, uuid_of};
use crate::{Result, Store, StoreError};

/// A registered passkey. The byte fields are the relying-party library's own encodings; the
/// store keeps them as they are.
#[derive(Clone, Debug)]
pub struct PasskeyRecord {
    pub credential_id: Vec<u8>,
    pub user_id: Uuid,
    pub user_handle: Vec<u8>,
    pub static_state: Vec<u8>,
    /// Signature counter, backup and verification flags: rewritten at each sign-in.
    pub dynamic_state: Vec<u8>,
    pub transports: u8,
    pub aaguid: Uuid,
    pub display_name: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

const PASSKEY_COLUMNS: &str = "credential_id, user_id, user_handle, static_state, dynamic_state, \
    transports, aaguid, display_name, created_at, last_used_at";

impl PasskeyRecord {
    fn from_row(r: &AnyRow) -> Result<PasskeyRecord> {
        Ok(PasskeyRecord {
            credential_id: r.try_get(0)?,
            user_id: uuid_of(&r.try_get::<String, _>(1)?)?,
            user_handle: r.try_get(2)?,
            static_state: r.try_get(3)?,
            dynamic_state: r.try_get(4)?,
            transports: u8::try_from(r.try_get::<i64, _>(5)?)
                .map_err(|e| StoreError::Corrupt(format!("passkey transports: {e}")))?,
            aaguid: uuid_of(&r.try_get::<String, _>(6)?)?,
            display_name: r.try_get(7)?,
            created_at: from_micros(r.try_get(8)?)?,
            last_used_at: r
                .try_get::<Option<i64>, _>(9)?
                .map(from_micros)
                .transpose()?,
        })
    }
}

/// What a ceremony in flight is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CeremonyKind {
    /// Registering a passkey for `Ceremony::user_id`.
    Registration,
    /// A sign-in without a user name: any of this server's passkeys may answer.
    DiscoverableSignIn,
    /// A sign-in for a named user: only their passkeys may answer.
    UserSignIn,
}

impl CeremonyKind {
    fn as_str(self) -> &'static str {
        match self {
            CeremonyKind::Registration => "registration",
            CeremonyKind::DiscoverableSignIn => "discoverable",
            CeremonyKind::UserSignIn => "user",
        }
    }

    fn parse(s: &str) -> Result<CeremonyKind> {
        match s {
            "registration" => Ok(CeremonyKind::Registration),
            "discoverable" => Ok(CeremonyKind::DiscoverableSignIn),
            "user" => Ok(CeremonyKind::UserSignIn),
            other => Err(StoreError::Corrupt(format!("ceremony kind {other}"))),
        }
    }
}

/// A started ceremony: its challenge (the key), and the library's state to finish it with.
#[derive(Clone, Debug)]
pub struct Ceremony {
    pub challenge: Vec<u8>,
    pub kind: CeremonyKind,
    pub user_id: Option<Uuid>,
    pub state: Vec<u8>,
    pub expires_at: OffsetDateTime,
}

impl Store {
    /// The user's WebAuthn user handle; `candidate` (fresh random bytes) becomes it if the user
    /// has none yet. Concurrent first calls agree on one.
    pub async fn user_handle(&self, user: Uuid, candidate: &[u8]) -> Result<Vec<u8>> {
        sqlx::query(
            "INSERT INTO webauthn_user_handles (user_id, handle) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user.to_string())
        .bind(candidate.to_vec())
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query("SELECT handle FROM webauthn_user_handles WHERE user_id = $1")
                .bind(user.to_string())
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?,
        )
    }

    /// The user's passkeys, oldest first.
    pub async fn passkeys_of(&self, user: Uuid) -> Result<Vec<PasskeyRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = $1 \
             ORDER BY created_at, credential_id"
        )))
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(PasskeyRecord::from_row).collect()
    }

    pub async fn passkey(&self, credential_id: &[u8]) -> Result<Option<PasskeyRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = $1"
        )))
        .bind(credential_id.to_vec())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(PasskeyRecord::from_row).transpose()
    }

    /// Stores a new passkey with its audit record. A credential id registered before (by
    /// anyone) is a conflict.
    pub async fn add_passkey(&self, p: &PasskeyRecord, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO passkeys ({PASSKEY_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )))
        .bind(p.credential_id.clone())
        .bind(p.user_id.to_string())
        .bind(p.user_handle.clone())
        .bind(p.static_state.clone())
        .bind(p.dynamic_state.clone())
        .bind(i64::from(p.transports))
        .bind(p.aaguid.to_string())
        .bind(p.display_name.clone())
        .bind(micros(p.created_at))
        .bind(p.last_used_at.map(micros))
        .execute(&mut *tx)
        .await;
        match res {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(
                    "This passkey is already registered.".into(),
                ));
            }
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
        finish(tx, true, audit).await.map(|_| ())
    }

    /// Deletes the user's passkey with this credential id, with its audit record.
    pub async fn delete_passkey(
        &self,
        user: Uuid,
        credential_id: &[u8],
        audit: &AuditRecord,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query("DELETE FROM passkeys WHERE credential_id = $1 AND user_id = $2")
            .bind(credential_id.to_vec())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }

    pub async fn put_ceremony(&self, c: &Ceremony) -> Result<()> {
        sqlx::query(
            "INSERT INTO webauthn_ceremonies (challenge, kind, user_id, state, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(c.challenge.clone())
        .bind(c.kind.as_str())
        .bind(c.user_id.map(|u| u.to_string()))
        .bind(c.state.clone())
        .bind(micros(c.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes (reads and deletes) the unexpired ceremony with this challenge: of any number of
    /// concurrent takers, one gets it.
    pub async fn take_ceremony(
        &self,
        challenge: &[u8],
        now: OffsetDateTime,
    ) -> Result<Option<Ceremony>> {
        let row = sqlx::query(
            "DELETE FROM webauthn_ceremonies WHERE challenge = $1 \
             RETURNING kind, user_id, state, expires_at",
        )
        .bind(challenge.to_vec())
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let ceremony = Ceremony {
            challenge: challenge.to_vec(),
            kind: CeremonyKind::parse(&r.try_get::<String, _>(0)?)?,
            user_id: r
                .try_get::<Option<String>, _>(1)?
                .as_deref()
                .map(uuid_of)
                .transpose()?,
            state: r.try_get(2)?,
            expires_at: from_micros(r.try_get(3)?)?,
        };
        Ok((now < ceremony.expires_at).then_some(ceremony))
    }

    /// Commits a passkey sign-in: writes the credential's new dynamic state (only if it is
    /// still `before`, so two sign-ins that raced on one counter don't both pass), stores what
    /// the sign-in grants and its audit record, in one transaction. False, writing nothing, when
    /// the passkey was deleted or changed meanwhile.
    pub async fn passkey_sign_in_commit(
        &self,
        credential_id: &[u8],
        before: &[u8],
        after: &[u8],
        grant: Grant,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query(
            "UPDATE passkeys SET dynamic_state = $1, last_used_at = $2 \
             WHERE credential_id = $3 AND dynamic_state = $4",
        )
        .bind(after.to_vec())
        .bind(micros(audit.at))
        .bind(credential_id.to_vec())
        .bind(before.to_vec())
        .execute(&mut *tx)
        .await?;
        if res.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        match &grant {
            Grant::Refresh(r) => insert_refreshes(&mut tx, &[r]).await?,
            Grant::Web(w) => insert_web_sessions(&mut tx, &[w]).await?,
        }
        insert_audit(&mut tx, AuditKind::SignIn.table(), audit).await?;
        tx.commit().await?;
        Ok(true)
    }
}
