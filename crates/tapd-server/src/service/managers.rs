//! Graph's `manager` relationship (`/users/{id}/manager`): at most one manager per user, whom
//! "email the pass to the manager" mails. Reading needs what reading users needs; setting and
//! removing, what writing users needs (Graph: `User.ReadWrite.All`).

use tapd_core::Action;
use tapd_store::UserRecord;

use super::audit::{self, Change};
use super::{Ctx, ServiceError, ServiceResult, Services, find_user};

/// The user's manager; 404 when they have none.
pub async fn get(svc: &Services, ctx: &Ctx, id_or_upn: &str) -> ServiceResult<UserRecord> {
    ctx.authorize(Action::ReadUsers)?;
    let user = find_user(svc, ctx, id_or_upn).await?;
    svc.store
        .manager_of(user.id)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("{} has no manager.", user.upn)))
}

/// Makes `manager` (an id, as in the reference's URL) the manager of `id_or_upn`.
pub async fn set(
    svc: &Services,
    ctx: &Ctx,
    id_or_upn: &str,
    manager: &str,
) -> ServiceResult<UserRecord> {
    ctx.authorize(Action::WriteUsers)?;
    let user = find_user(svc, ctx, id_or_upn).await?;
    let manager = svc
        .store
        .find_user(ctx.tenant, manager)
        .await?
        .ok_or_else(|| {
            ServiceError::bad_request(format!(
                "The manager '{manager}' in @odata.id does not exist."
            ))
        })?;
    if manager.id == user.id {
        return Err(ServiceError::bad_request(
            "A user can't be their own manager.",
        ));
    }
    let record = audit::change(
        ctx,
        Change {
            category: "UserManagement",
            activity: "Set user manager",
            operation: "Assign",
            targets: vec![audit::target_user(&user), audit::target_user(&manager)],
            details: vec![("managerId", manager.id.to_string())],
        },
    );
    svc.store.set_manager(user.id, manager.id, &record).await?;
    Ok(manager)
}

/// Removes the user's manager; 404 when they have none.
pub async fn remove(svc: &Services, ctx: &Ctx, id_or_upn: &str) -> ServiceResult<()> {
    ctx.authorize(Action::WriteUsers)?;
    let user = find_user(svc, ctx, id_or_upn).await?;
    let record = audit::change(
        ctx,
        Change {
            category: "UserManagement",
            activity: "Remove user manager",
            operation: "Unassign",
            targets: vec![audit::target_user(&user)],
            details: vec![],
        },
    );
    if !svc.store.remove_manager(user.id, &record).await? {
        return Err(ServiceError::not_found(format!(
            "{} has no manager.",
            user.upn
        )));
    }
    Ok(())
}
