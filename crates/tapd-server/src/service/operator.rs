//! What the operator does at the database, without a signed-in caller: the first start and
//! `tapd recover`. `tapd app create` is [`super::apps::register`] with an operator context. The
//! server and the CLI share these.

use tapd_core::{TapPolicy, UsabilityReason};
use tapd_store::{Tenant, UserRecord};
use time::OffsetDateTime;
use uuid::Uuid;

use super::passes::{self, usability};
use super::{Ctx, ServiceError, ServiceResult, Services, find_user};

/// What the first start prints, once.
pub struct Bootstrapped {
    pub upn: String,
    pub code: String,
    pub expires_at: OffsetDateTime,
}

/// On an empty database: the directory, the default policy, `admin@<domain>` as Global
/// Administrator with a one-time pass. Returns `None` when the directory already exists (also
/// when another replica created it first).
pub async fn bootstrap(
    svc: &Services,
    domain: &str,
    now: OffsetDateTime,
) -> ServiceResult<Option<Bootstrapped>> {
    if svc.store.tenant().await?.is_some() {
        return Ok(None);
    }
    let tenant = Tenant {
        id: Uuid::new_v4(),
        default_domain: domain.to_string(),
        created_at: now,
    };
    let admin = first_admin(domain, now);
    if !svc
        .store
        .bootstrap(&tenant, &TapPolicy::default(), &admin)
        .await?
    {
        return Ok(None);
    }
    let ctx = Ctx::operator(tenant, now);
    let why = "First start: pass for the bootstrap administrator";
    let (code, pass) = passes::issue_by_operator(svc, &ctx, &admin, why).await?;
    Ok(Some(Bootstrapped {
        upn: admin.upn,
        code,
        expires_at: pass.expires_at(),
    }))
}

fn first_admin(domain: &str, now: OffsetDateTime) -> UserRecord {
    UserRecord::member(format!("admin@{domain}"), "Administrator".into(), now)
}

/// A fresh one-time pass for any user, for when every admin is locked out.
pub struct Recovery {
    pub code: String,
    pub pass: tapd_core::TapPass,
    /// Why the pass can't be used yet, if it can't (policy disabled, user out of scope).
    pub unusable: Option<UsabilityReason>,
}

pub async fn recover(svc: &Services, ctx: &Ctx, upn: &str) -> ServiceResult<Recovery> {
    let user = find_user(svc, upn)
        .await
        .map_err(|_| ServiceError::not_found(format!("no user {upn}")))?;
    let why = "tapd recover: recovery pass issued from the command line";
    let (code, pass) = passes::issue_by_operator(svc, ctx, &user, why).await?;
    let policy = svc.store.policy().await?;
    let reason = usability(svc, &policy, &user, &pass, ctx.now).await?;
    Ok(Recovery {
        code,
        pass,
        unusable: (!reason.is_usable() && reason != UsabilityReason::NotYetValid).then_some(reason),
    })
}

/// The operator's context for the directory as it is.
pub async fn context(svc: &Services, now: OffsetDateTime) -> ServiceResult<Ctx> {
    let tenant = svc
        .store
        .tenant()
        .await?
        .ok_or_else(|| ServiceError::internal("the directory is not initialised"))?;
    Ok(Ctx::operator(tenant, now))
}

/// `tapd keys rotate`: a new signing key, published now, signing from `activate_at`.
pub async fn rotate_signing_key(
    svc: &Services,
    now: OffsetDateTime,
    activate_at: OffsetDateTime,
    token_ttl: time::Duration,
) -> ServiceResult<String> {
    crate::keys::rotate(&svc.store, &svc.keys, now, activate_at, token_ttl)
        .await
        .map_err(ServiceError::internal)
}

/// `tapd keys list`: each signing key's id, when it signs from, and its state now.
pub async fn signing_keys(
    svc: &Services,
    now: OffsetDateTime,
    token_ttl: time::Duration,
) -> ServiceResult<Vec<(String, OffsetDateTime, &'static str)>> {
    let signer =
        crate::keys::TokenSigner::load(&svc.store, &svc.keys, String::new(), token_ttl, now)
            .await
            .map_err(ServiceError::internal)?;
    Ok(signer.describe(now))
}
