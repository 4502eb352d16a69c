//! The TAP method configuration of the authentication methods policy (SPEC §3): read, patch,
//! reset. A patch that breaks a rule changes nothing.

use tapd_core::{ALL_USERS, Action, PolicyPatch, PolicyTarget, TapPolicy, TargetType};

use super::audit::{self, Change};
use super::fido2::FIDO2_CONFIG_ID;
use super::{Ctx, ServiceError, ServiceResult, Services};

/// Graph's id of the TAP method configuration.
pub const TAP_CONFIG_ID: &str = "TemporaryAccessPass";

pub async fn get(svc: &Services, ctx: &Ctx) -> ServiceResult<TapPolicy> {
    ctx.authorize(Action::ReadPolicy)?;
    Ok(svc.store.policy(ctx.tenant).await?)
}

/// One method configuration by its Graph id; tapd manages the TAP one (matched
/// case-insensitively).
pub async fn get_config(svc: &Services, ctx: &Ctx, id: &str) -> ServiceResult<TapPolicy> {
    let policy = get(svc, ctx).await?;
    check_config_id(id)?;
    Ok(policy)
}

fn check_config_id(id: &str) -> ServiceResult<()> {
    if id.eq_ignore_ascii_case(TAP_CONFIG_ID) {
        Ok(())
    } else {
        Err(ServiceError::not_found(format!(
            "Authentication method configuration '{id}' does not exist; tapd manages \
             '{TAP_CONFIG_ID}' and '{FIDO2_CONFIG_ID}'."
        )))
    }
}

/// Applies `patch` to configuration `id`; answers the policy as saved.
pub async fn patch(
    svc: &Services,
    ctx: &Ctx,
    id: &str,
    patch: PolicyPatch,
) -> ServiceResult<TapPolicy> {
    ctx.authorize(Action::WritePolicy)?;
    check_config_id(id)?;
    let next = svc.store.policy(ctx.tenant).await?.apply(patch)?;
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
        .set_policy(ctx.tenant, &next, ctx.now, &record)
        .await?;
    Ok(next)
}

/// Back to the defaults (Graph's DELETE).
pub async fn reset(svc: &Services, ctx: &Ctx, id: &str) -> ServiceResult<()> {
    ctx.authorize(Action::WritePolicy)?;
    check_config_id(id)?;
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
        .set_policy(ctx.tenant, &TapPolicy::default(), ctx.now, &record)
        .await?;
    Ok(())
}

fn policy_target() -> serde_json::Value {
    audit::target("Policy", TAP_CONFIG_ID, "Temporary Access Pass")
}

/// Include and exclude targets must name users and groups that exist in the caller's tenant.
pub(super) async fn check_targets_exist(
    svc: &Services,
    ctx: &Ctx,
    include: &[PolicyTarget],
    exclude: &[PolicyTarget],
) -> ServiceResult<()> {
    for t in include.iter().chain(exclude) {
        let exists = match t.target_type {
            TargetType::Group if t.id == ALL_USERS => true,
            TargetType::Group => match uuid::Uuid::parse_str(&t.id) {
                Ok(id) => svc.store.group(ctx.tenant, id).await?.is_some(),
                Err(_) => false,
            },
            TargetType::User => {
                uuid::Uuid::parse_str(&t.id).is_ok()
                    && svc.store.find_user(ctx.tenant, &t.id).await?.is_some()
            }
        };
        if !exists {
            let kind = match t.target_type {
                TargetType::Group => "group",
                TargetType::User => "user",
            };
            return Err(ServiceError::bad_request(format!(
                "Invalid policy target: no {kind} with id '{}'.",
                t.id
            )));
        }
    }
    Ok(())
}
