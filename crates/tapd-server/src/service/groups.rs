//! Groups and their members (users), which the TAP policy can include or exclude.

use serde::Deserialize;
use tapd_core::Action;
use tapd_core::odata::Query;
use tapd_store::{AuditRecord, GroupRecord, Page, UserRecord};
use uuid::Uuid;

use super::audit::{self, Change};
use super::{Ctx, ServiceError, ServiceResult, Services, find_user, parse_id};

/// A new group, as Graph's `POST /groups` body; tapd's groups are security groups.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewGroup {
    pub display_name: String,
    pub description: Option<String>,
    pub mail_enabled: Option<bool>,
    pub mail_nickname: Option<String>,
    pub security_enabled: Option<bool>,
    pub group_types: Option<Vec<String>>,
}

/// A group of the caller's tenant, or 404: another tenant's group is not found.
async fn find_group(svc: &Services, ctx: &Ctx, id: &str) -> ServiceResult<GroupRecord> {
    let id = parse_id("Group", id)?;
    svc.store
        .group(ctx.tenant, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("Group '{id}' does not exist.")))
}

pub async fn list(svc: &Services, ctx: &Ctx, q: &Query) -> ServiceResult<Page<GroupRecord>> {
    ctx.authorize(Action::ReadGroups)?;
    Ok(svc.store.list_groups(ctx.tenant, q).await?)
}

pub async fn get(svc: &Services, ctx: &Ctx, id: &str) -> ServiceResult<GroupRecord> {
    ctx.authorize(Action::ReadGroups)?;
    find_group(svc, ctx, id).await
}

pub async fn create(svc: &Services, ctx: &Ctx, req: NewGroup) -> ServiceResult<GroupRecord> {
    ctx.authorize(Action::WriteGroups)?;
    let name = req.display_name.trim();
    if name.is_empty() || name.len() > 256 || name.chars().any(char::is_control) {
        return Err(ServiceError::bad_request(
            "Invalid value for property 'displayName': it must be 1 to 256 printable characters.",
        ));
    }
    let group = GroupRecord {
        id: Uuid::new_v4(),
        tenant: ctx.tenant,
        display_name: name.to_string(),
        description: req.description,
        created_at: ctx.now,
    };
    let record = group_change(ctx, "Add group", "Add", &group, None);
    svc.store.create_group(&group, &record).await?;
    Ok(group)
}

pub async fn delete(svc: &Services, ctx: &Ctx, id: &str) -> ServiceResult<()> {
    ctx.authorize(Action::WriteGroups)?;
    let group = find_group(svc, ctx, id).await?;
    let record = group_change(ctx, "Delete group", "Delete", &group, None);
    svc.store.delete_group(group.id, &record).await?;
    Ok(())
}

pub async fn members(
    svc: &Services,
    ctx: &Ctx,
    id: &str,
    q: &Query,
) -> ServiceResult<Page<UserRecord>> {
    ctx.authorize(Action::ReadGroups)?;
    let group = find_group(svc, ctx, id).await?;
    Ok(svc.store.group_members(&group, q).await?)
}

pub async fn add_member(svc: &Services, ctx: &Ctx, id: &str, member: &str) -> ServiceResult<()> {
    ctx.authorize(Action::WriteGroups)?;
    let group = find_group(svc, ctx, id).await?;
    let user = svc
        .store
        .find_user(ctx.tenant, member)
        .await?
        .ok_or_else(|| {
            ServiceError::bad_request(format!("The referenced object '{member}' does not exist."))
        })?;
    let record = group_change(ctx, "Add member to group", "Assign", &group, Some(&user));
    svc.store.add_member(group.id, user.id, &record).await?;
    Ok(())
}

pub async fn remove_member(svc: &Services, ctx: &Ctx, id: &str, member: &str) -> ServiceResult<()> {
    ctx.authorize(Action::WriteGroups)?;
    let group = find_group(svc, ctx, id).await?;
    let user = find_user(svc, ctx, member).await?;
    let record = group_change(
        ctx,
        "Remove member from group",
        "Unassign",
        &group,
        Some(&user),
    );
    if !svc.store.remove_member(group.id, user.id, &record).await? {
        return Err(ServiceError::not_found(format!(
            "'{member}' is not a member of group '{id}'."
        )));
    }
    Ok(())
}

fn group_change(
    ctx: &Ctx,
    activity: &str,
    operation: &str,
    group: &GroupRecord,
    member: Option<&UserRecord>,
) -> AuditRecord {
    let mut targets = vec![audit::target("Group", group.id, &group.display_name)];
    targets.extend(member.map(audit::target_user));
    audit::change(
        ctx,
        Change {
            category: "GroupManagement",
            activity,
            operation,
            targets,
            details: vec![],
        },
    )
}
