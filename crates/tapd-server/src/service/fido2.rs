//! The FIDO2 (passkey) method configuration of the authentication methods policy: read, patch,
//! reset, and the whole policy with every configuration tapd manages. A patch that breaks a
//! rule changes nothing. Registration asks [`check_self_registration`] and
//! [`check_authenticator`] (the rules are core's).

use tapd_core::{Action, Fido2Patch, Fido2Policy, Fido2Refusal, TapPolicy};
use time::OffsetDateTime;
use uuid::Uuid;

use super::audit::{self, Change};
use super::policy::check_targets_exist;
use super::{Ctx, ServiceError, ServiceResult, Services};

/// Graph's id of the FIDO2 method configuration.
pub const FIDO2_CONFIG_ID: &str = "Fido2";

/// Whether a configuration id names the FIDO2 one (case-insensitively, as Graph matches).
pub fn is_fido2(id: &str) -> bool {
    id.eq_ignore_ascii_case(FIDO2_CONFIG_ID)
}

/// The whole authentication methods policy.
pub struct MethodsPolicy {
    pub tap: TapPolicy,
    pub fido2: Fido2Policy,
    /// When a configuration was last changed; `None` while all are the defaults.
    pub last_modified: Option<OffsetDateTime>,
}

pub async fn methods_policy(svc: &Services, ctx: &Ctx) -> ServiceResult<MethodsPolicy> {
    ctx.authorize(Action::ReadPolicy)?;
    Ok(MethodsPolicy {
        tap: svc.store.policy(ctx.tenant).await?,
        fido2: svc.store.fido2_policy(ctx.tenant).await?,
        last_modified: svc.store.methods_policy_modified(ctx.tenant).await?,
    })
}

pub async fn get(svc: &Services, ctx: &Ctx) -> ServiceResult<Fido2Policy> {
    ctx.authorize(Action::ReadPolicy)?;
    Ok(svc.store.fido2_policy(ctx.tenant).await?)
}

/// Applies `patch`; answers the configuration as saved.
pub async fn patch(svc: &Services, ctx: &Ctx, patch: Fido2Patch) -> ServiceResult<Fido2Policy> {
    ctx.authorize(Action::WritePolicy)?;
    let next = svc.store.fido2_policy(ctx.tenant).await?.apply(patch)?;
    check_targets_exist(svc, ctx, &next.include_targets, &next.exclude_targets).await?;
    let record = audit::change(
        ctx,
        Change {
            category: "Policy",
            activity: "Update authentication methods policy",
            operation: "Update",
            targets: vec![policy_target()],
            details: vec![("newValue", serde_json::to_string(&next).unwrap_or_default())],
        },
    );
    svc.store
        .set_fido2_policy(ctx.tenant, &next, ctx.now, &record)
        .await?;
    Ok(next)
}

/// Back to the defaults (Graph's DELETE).
pub async fn reset(svc: &Services, ctx: &Ctx) -> ServiceResult<()> {
    ctx.authorize(Action::WritePolicy)?;
    let record = audit::change(
        ctx,
        Change {
            category: "Policy",
            activity: "Reset authentication methods policy",
            operation: "Delete",
            targets: vec![policy_target()],
            details: vec![],
        },
    );
    svc.store
        .set_fido2_policy(ctx.tenant, &Fido2Policy::default(), ctx.now, &record)
        .await?;
    Ok(())
}

fn policy_target() -> serde_json::Value {
    audit::target("Policy", FIDO2_CONFIG_ID, "Passkey (FIDO2)")
}

fn refused(refusal: Fido2Refusal) -> ServiceError {
    ServiceError::bad_request(refusal.to_string())
}

/// The user's groups, read only when the configuration's targets name groups.
pub(super) async fn groups_for(
    svc: &Services,
    policy: &Fido2Policy,
    user: Uuid,
) -> ServiceResult<Vec<String>> {
    Ok(if policy.needs_groups() {
        svc.store.groups_of(user).await?
    } else {
        Vec::new()
    })
}

/// Whether `user` may register a passkey for themselves now; answers the configuration for
/// the authenticator check that follows.
pub(super) async fn check_self_registration(
    svc: &Services,
    tenant: Uuid,
    user: Uuid,
) -> ServiceResult<Fido2Policy> {
    let policy = svc.store.fido2_policy(tenant).await?;
    let groups = groups_for(svc, &policy, user).await?;
    policy
        .may_self_register(&user.to_string(), &groups)
        .map_err(refused)?;
    Ok(policy)
}

/// Whether the key restrictions admit the registering authenticator.
pub(super) fn check_authenticator(policy: &Fido2Policy, aaguid: Uuid) -> ServiceResult<()> {
    policy.admits_authenticator(aaguid).map_err(refused)
}
