//! The records the store reads and writes, and their decoding from rows.

use sqlx::Row;
use sqlx::any::AnyRow;
use tapd_core::{Permission, Role};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Result, StoreError, from_micros, uuid_of};

#[derive(Clone, Debug)]
pub struct Tenant {
    pub id: Uuid,
    pub default_domain: String,
    pub created_at: OffsetDateTime,
}

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
}

pub(crate) const USER_COLUMNS: &str = "id, upn, display_name, given_name, surname, mail, \
    account_enabled, user_type, is_external, creation_type, external_user_state, password_hash, \
    password_set_at, created_at";

impl UserRecord {
    pub(crate) fn from_row(r: &AnyRow) -> Result<UserRecord> {
        let user_type: String = r.try_get(7)?;
        Ok(UserRecord {
            id: uuid_of(&r.try_get::<String, _>(0)?)?,
            upn: r.try_get(1)?,
            display_name: r.try_get(2)?,
            given_name: r.try_get(3)?,
            surname: r.try_get(4)?,
            mail: r.try_get(5)?,
            account_enabled: r.try_get::<i64, _>(6)? != 0,
            user_type: UserType::parse(&user_type)
                .ok_or_else(|| StoreError::Corrupt(format!("user type {user_type}")))?,
            is_external: r.try_get::<i64, _>(8)? != 0,
            creation_type: r.try_get(9)?,
            external_user_state: r.try_get(10)?,
            password_hash: r.try_get(11)?,
            password_set_at: r
                .try_get::<Option<i64>, _>(12)?
                .map(from_micros)
                .transpose()?,
            created_at: from_micros(r.try_get(13)?)?,
        })
    }
}

#[derive(Clone, Debug)]
pub struct GroupRecord {
    pub id: Uuid,
    pub display_name: String,
    pub description: Option<String>,
    pub created_at: OffsetDateTime,
}

impl GroupRecord {
    pub(crate) fn from_row(r: &AnyRow) -> Result<GroupRecord> {
        Ok(GroupRecord {
            id: uuid_of(&r.try_get::<String, _>(0)?)?,
            display_name: r.try_get(1)?,
            description: r.try_get(2)?,
            created_at: from_micros(r.try_get(3)?)?,
        })
    }
}

#[derive(Clone, Debug)]
pub struct RoleAssignment {
    pub id: Uuid,
    pub principal_id: Uuid,
    pub role: Role,
    pub created_at: OffsetDateTime,
}

impl RoleAssignment {
    pub(crate) fn from_row(r: &AnyRow) -> Result<RoleAssignment> {
        let template: String = r.try_get(2)?;
        Ok(RoleAssignment {
            id: uuid_of(&r.try_get::<String, _>(0)?)?,
            principal_id: uuid_of(&r.try_get::<String, _>(1)?)?,
            role: Role::from_template_id(&template)
                .ok_or_else(|| StoreError::Corrupt(format!("role {template}")))?,
            created_at: from_micros(r.try_get(3)?)?,
        })
    }
}

/// A pass's keyed hash and its salt; the code itself is never stored.
#[derive(Clone, Debug)]
pub struct StoredSecret {
    pub salt: Vec<u8>,
    pub hash: Vec<u8>,
}

pub(crate) fn permissions_to_text(p: &[Permission]) -> String {
    p.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(" ")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditKind {
    DirectoryAudit,
    SignIn,
}

impl AuditKind {
    pub(crate) fn table(self) -> &'static str {
        match self {
            AuditKind::DirectoryAudit => "directory_audits",
            AuditKind::SignIn => "sign_ins",
        }
    }
}

/// One audit entry; `body` is the Graph-shaped JSON object served back as is.
#[derive(Clone, Debug)]
pub struct AuditRecord {
    pub id: Uuid,
    pub at: OffsetDateTime,
    pub body: serde_json::Value,
}
