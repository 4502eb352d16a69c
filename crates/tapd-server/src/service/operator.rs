//! What the operator does at the database, without a signed-in caller: the first start,
//! `tapd tenant create` and `tapd recover`. `tapd app create` is [`super::apps::register`] with
//! an operator context. The server and the CLI share these.

use tapd_core::{TapPolicy, UsabilityReason, check_domain_name};
use tapd_store::{Tenant, UserRecord};
use time::OffsetDateTime;
use uuid::Uuid;

use super::passes::{self, usability};
use super::{Ctx, ServiceError, ServiceResult, Services};

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
    if svc.store.default_tenant().await?.is_some() {
        return Ok(None);
    }
    let tenant = new_tenant(domain, None, now)?;
    let admin = first_admin(&tenant);
    if !svc
        .store
        .bootstrap(&tenant, &TapPolicy::default(), &admin)
        .await?
    {
        return Ok(None);
    }
    first_pass(svc, &tenant, &admin, now).await.map(Some)
}

/// A tenant made by `tapd tenant create`, with its first administrator's one-time pass.
pub struct CreatedTenant {
    pub tenant: Tenant,
    pub admin: Bootstrapped,
}

/// `tapd tenant create`: one more tenant with `domain` as its default domain, the TAP policy at
/// its defaults, `admin@<domain>` as its Global Administrator and a one-time pass for them. A
/// domain already in the deployment is a conflict, and nothing is written.
pub async fn create_tenant(
    svc: &Services,
    domain: &str,
    name: Option<&str>,
    now: OffsetDateTime,
) -> ServiceResult<CreatedTenant> {
    let tenant = new_tenant(domain, name, now)?;
    let admin = first_admin(&tenant);
    svc.store
        .create_tenant(&tenant, &TapPolicy::default(), &admin)
        .await?;
    let admin = first_pass(svc, &tenant, &admin, now).await?;
    Ok(CreatedTenant { tenant, admin })
}

/// `tapd tenant list`: every tenant, oldest (the default) first.
pub async fn tenants(svc: &Services) -> ServiceResult<Vec<Tenant>> {
    Ok(svc.store.tenants().await?)
}

fn new_tenant(domain: &str, name: Option<&str>, now: OffsetDateTime) -> ServiceResult<Tenant> {
    check_domain_name(domain)?;
    let display_name = name.unwrap_or(domain).trim();
    super::users::check_text("displayName", display_name)?;
    Ok(Tenant {
        id: Uuid::new_v4(),
        display_name: display_name.to_string(),
        default_domain: domain.to_string(),
        created_at: now,
    })
}

fn first_admin(tenant: &Tenant) -> UserRecord {
    let upn = format!("admin@{}", tenant.default_domain);
    UserRecord::member(tenant.id, upn, "Administrator".into(), tenant.created_at)
}

async fn first_pass(
    svc: &Services,
    tenant: &Tenant,
    admin: &UserRecord,
    now: OffsetDateTime,
) -> ServiceResult<Bootstrapped> {
    let ctx = Ctx::operator(tenant.id, now);
    let why = "First start: pass for the bootstrap administrator";
    let (code, pass) = passes::issue_by_operator(svc, &ctx, admin, why).await?;
    Ok(Bootstrapped {
        upn: admin.upn.clone(),
        code,
        expires_at: pass.expires_at(),
    })
}

/// A fresh one-time pass for any user, for when every admin is locked out.
pub struct Recovery {
    pub code: String,
    pub pass: tapd_core::TapPass,
    /// Why the pass can't be used yet, if it can't (policy disabled, user out of scope).
    pub unusable: Option<UsabilityReason>,
}

/// `tapd recover`: in the tenant of the user's UPN.
pub async fn recover(svc: &Services, now: OffsetDateTime, upn: &str) -> ServiceResult<Recovery> {
    let user = svc
        .store
        .user_anywhere(upn)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("no user {upn}")))?;
    let ctx = &Ctx::operator(user.tenant, now);
    let why = "tapd recover: recovery pass issued from the command line";
    let (code, pass) = passes::issue_by_operator(svc, ctx, &user, why).await?;
    let policy = svc.store.policy(ctx.tenant).await?;
    let reason = usability(svc, &policy, &user, &pass, ctx.now).await?;
    Ok(Recovery {
        code,
        pass,
        unusable: (!reason.is_usable() && reason != UsabilityReason::NotYetValid).then_some(reason),
    })
}

/// The operator's context in the default tenant.
pub async fn context(svc: &Services, now: OffsetDateTime) -> ServiceResult<Ctx> {
    let tenant = svc
        .store
        .default_tenant()
        .await?
        .ok_or_else(|| ServiceError::internal("the directory is not initialised"))?;
    Ok(Ctx::operator(tenant.id, now))
}

/// The operator's context in the tenant `name` names (its id or one of its domains), or in
/// the default tenant without a name.
pub async fn context_in(
    svc: &Services,
    name: Option<&str>,
    now: OffsetDateTime,
) -> ServiceResult<Ctx> {
    let Some(name) = name else {
        return context(svc, now).await;
    };
    let tenant = svc
        .store
        .tenant_named(name)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("no tenant {name}")))?;
    Ok(Ctx::operator(tenant.id, now))
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
