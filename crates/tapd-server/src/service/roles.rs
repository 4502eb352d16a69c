//! Directory role assignments and the built-in role definitions (SPEC §4).

use serde::Deserialize;
use tapd_core::odata::Query;
use tapd_core::{Action, Role};
use tapd_store::{Page, RoleAssignment};
use uuid::Uuid;

use super::audit::{self, Change};
use super::{Ctx, ServiceError, ServiceResult, Services, parse_id};

/// A new assignment, as Graph's `POST /roleManagement/directory/roleAssignments` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewAssignment {
    pub principal_id: String,
    pub role_definition_id: String,
    pub directory_scope_id: Option<String>,
}

pub fn definitions(ctx: &Ctx) -> ServiceResult<&'static [Role]> {
    ctx.authorize(Action::ReadRoleAssignments)?;
    Ok(&Role::ALL)
}

/// A page of assignments under Graph's query options.
pub async fn list(svc: &Services, ctx: &Ctx, q: &Query) -> ServiceResult<Page<RoleAssignment>> {
    ctx.authorize(Action::ReadRoleAssignments)?;
    Ok(svc.store.role_assignments(ctx.tenant, q).await?)
}

pub async fn get(svc: &Services, ctx: &Ctx, id: &str) -> ServiceResult<RoleAssignment> {
    ctx.authorize(Action::ReadRoleAssignments)?;
    find(svc, ctx, id).await
}

async fn find(svc: &Services, ctx: &Ctx, id: &str) -> ServiceResult<RoleAssignment> {
    let id = parse_id("Role assignment", id)?;
    svc.store
        .role_assignment(ctx.tenant, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("Role assignment '{id}' does not exist.")))
}

pub async fn assign(
    svc: &Services,
    ctx: &Ctx,
    req: NewAssignment,
) -> ServiceResult<RoleAssignment> {
    ctx.authorize(Action::WriteRoleAssignments)?;
    let role = Role::from_template_id(&req.role_definition_id).ok_or_else(|| {
        ServiceError::bad_request(format!(
            "Unknown roleDefinitionId '{}': use a built-in role template id.",
            req.role_definition_id
        ))
    })?;
    if req.directory_scope_id.as_deref().is_some_and(|s| s != "/") {
        return Err(ServiceError::bad_request(
            "Only the directory scope '/' is supported.",
        ));
    }
    let user = match Uuid::parse_str(&req.principal_id) {
        Ok(id) => svc.store.find_user(ctx.tenant, &id.to_string()).await?,
        Err(_) => None,
    }
    .ok_or_else(|| {
        ServiceError::bad_request(format!(
            "The principal '{}' does not exist.",
            req.principal_id
        ))
    })?;
    let assignment = RoleAssignment {
        id: Uuid::new_v4(),
        principal_id: user.id,
        role,
        created_at: ctx.now,
    };
    let record = audit::change(
        ctx,
        Change {
            category: "RoleManagement",
            activity: "Add member to role",
            operation: "Assign",
            targets: vec![audit::target_user(&user)],
            details: vec![("role", role.display_name().into())],
        },
    );
    svc.store.assign_role(&assignment, &record).await?;
    Ok(assignment)
}

pub async fn remove(svc: &Services, ctx: &Ctx, id: &str) -> ServiceResult<()> {
    ctx.authorize(Action::WriteRoleAssignments)?;
    let a = find(svc, ctx, id).await?;
    let user = svc
        .store
        .find_user(ctx.tenant, &a.principal_id.to_string())
        .await?;
    let record = audit::change(
        ctx,
        Change {
            category: "RoleManagement",
            activity: "Remove member from role",
            operation: "Unassign",
            targets: user.iter().map(audit::target_user).collect(),
            details: vec![("role", a.role.display_name().into())],
        },
    );
    svc.store.delete_role_assignment(a.id, &record).await?;
    Ok(())
}
