//! The keys tokens are signed with: Ed25519, the private half sealed by the server before it
//! reaches the store. A key activates at a set time; keys retired long enough ago are pruned.

use sqlx::{AssertSqlSafe, Row};
use time::OffsetDateTime;

use crate::sql::{from_micros, micros};
use crate::{Result, Store};

/// An Ed25519 signing key; the private half sealed by the server.
#[derive(Clone, Debug)]
pub struct SigningKeyRow {
    pub kid: String,
    pub sealed_pkcs8: Vec<u8>,
    pub public_key: Vec<u8>,
    pub created_at: OffsetDateTime,
    pub activates_at: OffsetDateTime,
}

impl Store {
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRow>> {
        let rows = sqlx::query(
            "SELECT kid, sealed_pkcs8, public_key, created_at, activates_at FROM signing_keys \
             ORDER BY activates_at",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SigningKeyRow {
                    kid: r.try_get(0)?,
                    sealed_pkcs8: r.try_get(1)?,
                    public_key: r.try_get(2)?,
                    created_at: from_micros(r.try_get(3)?)?,
                    activates_at: from_micros(r.try_get(4)?)?,
                })
            })
            .collect()
    }

    /// Adds a signing key. With `only_if_none`, only into an empty table (the first start;
    /// replicas racing through it add one key). Keys retired before `prune_before` are removed.
    pub async fn add_signing_key(
        &self,
        key: &SigningKeyRow,
        only_if_none: bool,
        prune_before: Option<OffsetDateTime>,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let condition = if only_if_none {
            " WHERE NOT EXISTS (SELECT 1 FROM signing_keys)"
        } else {
            ""
        };
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO signing_keys (kid, sealed_pkcs8, public_key, created_at, activates_at) \
             SELECT $1, $2, $3, $4, $5{condition} ON CONFLICT (kid) DO NOTHING"
        )))
        .bind(&key.kid)
        .bind(key.sealed_pkcs8.clone())
        .bind(key.public_key.clone())
        .bind(micros(key.created_at))
        .bind(micros(key.activates_at))
        .execute(&mut *tx)
        .await?;
        if let Some(before) = prune_before {
            // A key is retired when a later key activates; remove those retired long enough ago.
            sqlx::query(
                "DELETE FROM signing_keys WHERE EXISTS (SELECT 1 FROM signing_keys AS n \
                 WHERE n.activates_at > signing_keys.activates_at AND n.activates_at < $1)",
            )
            .bind(micros(before))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
