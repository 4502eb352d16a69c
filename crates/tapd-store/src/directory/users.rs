//! Users: the record, its columns and decoding, and creating, finding, listing, updating and
//! deleting users (a deletion takes everything hanging off the user with it).

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::LazyLock;

use sqlx::Row;
use tapd_core::odata::Query;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{AuditKind, AuditRecord, finish, insert_audit};
use crate::query::{Column, Listing, TENANT_COLUMN};
use crate::read::{Arg, Columns};
use crate::sql::{
    Tx, Writer, column_count, from_micros, is_unique_violation, micros, rows_of, uuid_of,
};
use crate::{Page, Result, Store, StoreError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserType {
    Member,
    Guest,
}

impl UserType {
    pub fn as_str(self) -> &'static str {
        match self {
            UserType::Member => "Member",
            UserType::Guest => "Guest",
        }
    }

    pub fn parse(s: &str) -> Option<UserType> {
        match s {
            "Member" => Some(UserType::Member),
            "Guest" => Some(UserType::Guest),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct UserRecord {
    pub id: Uuid,
    /// The tenant the user belongs to.
    pub tenant: Uuid,
    pub upn: String,
    pub display_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub account_enabled: bool,
    pub user_type: UserType,
    /// An external guest authenticates elsewhere and can never hold a TAP (SPEC §8).
    pub is_external: bool,
    pub creation_type: Option<String>,
    pub external_user_state: Option<String>,
    pub password_hash: Option<String>,
    pub password_set_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// A cross-tenant guest's home: the tenant and the user there who signs in for it.
    pub home: Option<HomeIdentity>,
}

/// Where a cross-tenant guest authenticates: another tenant of this deployment, as one of its
/// users.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HomeIdentity {
    pub tenant: Uuid,
    pub user: Uuid,
}

pub(crate) const USER_COLUMNS: &str = "id, upn, display_name, given_name, surname, mail, \
    account_enabled, user_type, is_external, creation_type, external_user_state, password_hash, \
    password_set_at, created_at, tenant_id, home_tenant_id, home_user_id";

/// How a user is looked up by what names them: by id (true) when it is a UUID, otherwise by
/// user principal name, which compares without case; and the key.
pub(crate) fn user_key(id_or_upn: &str) -> (bool, String) {
    match Uuid::from_str(id_or_upn) {
        Ok(id) => (true, id.to_string()),
        Err(_) => (false, id_or_upn.to_lowercase()),
    }
}

impl UserRecord {
    /// A new enabled member with a fresh id and nothing else set: no name parts, mail or
    /// password.
    pub fn member(
        tenant: Uuid,
        upn: String,
        display_name: String,
        created_at: OffsetDateTime,
    ) -> UserRecord {
        UserRecord {
            id: Uuid::new_v4(),
            tenant,
            upn,
            display_name,
            given_name: None,
            surname: None,
            mail: None,
            account_enabled: true,
            user_type: UserType::Member,
            is_external: false,
            creation_type: None,
            external_user_state: None,
            password_hash: None,
            password_set_at: None,
            created_at,
            home: None,
        }
    }

    pub(crate) fn from_row<R: Columns + ?Sized>(r: &R) -> Result<UserRecord> {
        Self::from_row_at(r, 0)
    }

    /// Decodes the `USER_COLUMNS` that start at column `at`.
    pub(crate) fn from_row_at<R: Columns + ?Sized>(r: &R, at: usize) -> Result<UserRecord> {
        let user_type = r.text(at + 7)?;
        Ok(UserRecord {
            id: uuid_of(&r.text(at)?)?,
            tenant: uuid_of(&r.text(at + 14)?)?,
            upn: r.text(at + 1)?,
            display_name: r.text(at + 2)?,
            given_name: r.opt_text(at + 3)?,
            surname: r.opt_text(at + 4)?,
            mail: r.opt_text(at + 5)?,
            account_enabled: r.int(at + 6)? != 0,
            user_type: UserType::parse(&user_type)
                .ok_or_else(|| StoreError::Corrupt(format!("user type {user_type}")))?,
            is_external: r.int(at + 8)? != 0,
            creation_type: r.opt_text(at + 9)?,
            external_user_state: r.opt_text(at + 10)?,
            password_hash: r.opt_text(at + 11)?,
            password_set_at: r.opt_int(at + 12)?.map(from_micros).transpose()?,
            created_at: from_micros(r.int(at + 13)?)?,
            home: match (r.opt_text(at + 15)?, r.opt_text(at + 16)?) {
                (Some(tenant), Some(user)) => Some(HomeIdentity {
                    tenant: uuid_of(&tenant)?,
                    user: uuid_of(&user)?,
                }),
                _ => None,
            },
        })
    }
}

impl Store {
    /// Finds a user of `tenant` by id or (case-insensitively) by user principal name; another
    /// tenant's user is none.
    pub async fn find_user(&self, tenant: Uuid, id_or_upn: &str) -> Result<Option<UserRecord>> {
        let user = self.user_anywhere(id_or_upn).await?;
        Ok(user.filter(|u| u.tenant == tenant))
    }

    /// Finds a user in any tenant, by id or by user principal name: for what a token, a
    /// session or a sign-in names, whose tenant the user's record then tells.
    pub async fn user_anywhere(&self, id_or_upn: &str) -> Result<Option<UserRecord>> {
        static BY_ID: LazyLock<String> =
            LazyLock::new(|| format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"));
        static BY_UPN: LazyLock<String> =
            LazyLock::new(|| format!("SELECT {USER_COLUMNS} FROM users WHERE upn_lower = $1"));
        let (by_id, key) = user_key(id_or_upn);
        let sql = if by_id { &BY_ID } else { &BY_UPN };
        self.read_row(sql, &[Arg::Text(&key)], |r| UserRecord::from_row(r))
            .await
    }

    /// The guest in `tenant` whose home user is `home_user`, if it was invited.
    pub async fn guest_of(&self, tenant: Uuid, home_user: Uuid) -> Result<Option<UserRecord>> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!("SELECT {USER_COLUMNS} FROM users WHERE home_user_id = $1 AND tenant_id = $2")
        });
        let (home, tenant) = (home_user.to_string(), tenant.to_string());
        let args = [Arg::Text(&home), Arg::Text(&tenant)];
        self.read_row(&SQL, &args, |r| UserRecord::from_row(r))
            .await
    }

    /// A page of a tenant's users under Graph's query options, by UPN unless `$orderby` says
    /// otherwise.
    pub async fn list_users(&self, tenant: Uuid, q: &Query) -> Result<Page<UserRecord>> {
        self.page(&user_listing(), tenant, None, q)
            .await?
            .try_map(UserRecord::from_row)
    }

    /// Updates a user, with the change's audit record, in one transaction.
    pub async fn update_user(&self, user: &UserRecord, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query(
            "UPDATE users SET upn = $2, upn_lower = $3, display_name = $4, given_name = $5, \
             surname = $6, mail = $7, account_enabled = $8, password_hash = $9, \
             password_set_at = $10 WHERE id = $1 AND tenant_id = $11",
        )
        .bind(user.id.to_string())
        .bind(&user.upn)
        .bind(user.upn.to_lowercase())
        .bind(&user.display_name)
        .bind(user.given_name.clone())
        .bind(user.surname.clone())
        .bind(user.mail.clone())
        .bind(user.account_enabled as i64)
        .bind(user.password_hash.clone())
        .bind(user.password_set_at.map(micros))
        .bind(user.tenant.to_string())
        .execute(&mut *tx)
        .await;
        match res {
            Err(e) if is_unique_violation(&e) => Err(upn_taken(&user.upn)),
            Err(e) => Err(e.into()),
            Ok(_) => {
                insert_audit(&mut tx, AuditKind::DirectoryAudit.table(), audit).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    }

    /// Deletes a user and everything hanging off it (methods, memberships, roles, tokens).
    pub async fn delete_user(&self, id: Uuid, audit: &AuditRecord) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let id = id.to_string();
        for table in [
            "DELETE FROM refresh_tokens WHERE user_id = $1",
            "DELETE FROM web_sessions WHERE user_id = $1",
            "DELETE FROM auth_codes WHERE user_id = $1",
            "DELETE FROM taps WHERE user_id = $1",
            "DELETE FROM pass_links WHERE user_id = $1",
            "DELETE FROM user_managers WHERE user_id = $1 OR manager_id = $1",
            "DELETE FROM passkeys WHERE user_id = $1",
            "DELETE FROM webauthn_user_handles WHERE user_id = $1",
            "DELETE FROM webauthn_ceremonies WHERE user_id = $1",
            "DELETE FROM group_members WHERE user_id = $1",
            "DELETE FROM role_assignments WHERE principal_id = $1",
            "DELETE FROM failure_runs WHERE subject = 'user:' || $1",
            "DELETE FROM failure_runs WHERE subject = 'usercodes:' || $1",
            "DELETE FROM device_codes WHERE user_id = $1",
        ] {
            sqlx::query(table).bind(&id).execute(&mut *tx).await?;
        }
        let res = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }

    /// How many users the deployment holds, in all its tenants.
    pub async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }
}

pub(super) async fn insert_user(tx: &mut Tx<'_>, u: &UserRecord) -> Result<()> {
    match insert_users(tx, &[u]).await?.is_empty() {
        true => Err(upn_taken(&u.upn)),
        false => Ok(()),
    }
}

const INSERT_USER_COLUMNS: &str = "id, upn, upn_lower, display_name, given_name, surname, mail, \
     account_enabled, user_type, is_external, creation_type, external_user_state, \
     password_hash, password_set_at, created_at, tenant_id, home_tenant_id, home_user_id";

/// The values each user binds in [`insert_users`].
pub(crate) const INSERT_USER_VALUES: usize = column_count(INSERT_USER_COLUMNS);

/// Inserts users with one statement and answers the ids of those inserted: a user whose name
/// is taken, before or by an earlier user of the list, is skipped.
pub(crate) async fn insert_users(
    tx: &mut impl Writer,
    users: &[&UserRecord],
) -> Result<HashSet<String>> {
    if users.is_empty() {
        return Ok(HashSet::new());
    }
    let columns = INSERT_USER_VALUES;
    let sql = format!(
        "INSERT INTO users ({INSERT_USER_COLUMNS}) VALUES {} ON CONFLICT DO NOTHING RETURNING id",
        rows_of(tx.dialect(), users.len(), columns)
    );
    let mut args = Vec::with_capacity(users.len() * columns);
    for u in users {
        args.extend([
            u.id.to_string().into(),
            u.upn.as_str().into(),
            u.upn.to_lowercase().into(),
            u.display_name.as_str().into(),
            u.given_name.clone().into(),
            u.surname.clone().into(),
            u.mail.clone().into(),
            (u.account_enabled as i64).into(),
            u.user_type.as_str().into(),
            (u.is_external as i64).into(),
            u.creation_type.clone().into(),
            u.external_user_state.clone().into(),
            u.password_hash.clone().into(),
            u.password_set_at.map(micros).into(),
            micros(u.created_at).into(),
            u.tenant.to_string().into(),
            u.home.map(|h| h.tenant.to_string()).into(),
            u.home.map(|h| h.user.to_string()).into(),
        ]);
    }
    let ids = tx.fetch(&sql, args, |r| r.text(0)).await?;
    Ok(ids.into_iter().collect())
}

/// Graph's answer when a new or renamed user's UPN belongs to another user.
pub(crate) fn upn_taken(upn: &str) -> StoreError {
    StoreError::Conflict(format!(
        "Another object with the same value for property userPrincipalName already exists: {upn}"
    ))
}

/// Users as a listing: Graph's user properties and the columns they live in.
pub(crate) fn user_listing() -> Listing {
    Listing {
        select: USER_COLUMNS.to_string(),
        from: "users",
        columns: user_column,
        default_order: "upn_lower, id",
        tiebreak: "id",
        tenant_scope: TENANT_COLUMN,
    }
}

fn user_column(property: &str) -> Option<Column> {
    Some(match property {
        "id" => Column::Id("id"),
        "userPrincipalName" => Column::Lower("upn_lower"),
        "displayName" => Column::Text("display_name"),
        "givenName" => Column::Text("given_name"),
        "surname" => Column::Text("surname"),
        "mail" => Column::Text("mail"),
        "accountEnabled" => Column::Flag("account_enabled"),
        "userType" => Column::Text("user_type"),
        "creationType" => Column::Text("creation_type"),
        "externalUserState" => Column::Text("external_user_state"),
        "createdDateTime" => Column::Time("created_at"),
        _ => return None,
    })
}
