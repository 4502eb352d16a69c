//! Users (SPEC §2) and invitations of external guests (SPEC §8): list, read, create, change,
//! delete, invite. Names and UPNs are checked here; passwords are hashed off the async threads.

use serde::Deserialize;
use tapd_core::odata::Query;
use tapd_core::{Action, DomainError};
use tapd_store::{HomeIdentity, Page, UserRecord, UserType};

use super::audit::{self, Change};
use super::{Ctx, ServiceError, ServiceResult, Services, find_user};

pub const MAX_NAME_LEN: usize = 256;
pub const MIN_PASSWORD_LEN: usize = 8;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PasswordProfile {
    pub password: String,
    // Accepted for Graph compatibility; tapd has no forced password change.
    #[allow(dead_code)]
    pub force_change_password_next_sign_in: Option<bool>,
    #[allow(dead_code)]
    pub force_change_password_next_sign_in_with_mfa: Option<bool>,
}

impl PasswordProfile {
    pub fn new(password: String) -> PasswordProfile {
        PasswordProfile {
            password,
            force_change_password_next_sign_in: None,
            force_change_password_next_sign_in_with_mfa: None,
        }
    }
}

/// A new user, as Graph's `POST /users` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewUser {
    pub account_enabled: Option<bool>,
    pub display_name: String,
    pub user_principal_name: String,
    pub mail_nickname: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub user_type: Option<String>,
    pub password_profile: Option<PasswordProfile>,
}

/// The properties to change, as Graph's `PATCH /users/{id}` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserChanges {
    pub account_enabled: Option<bool>,
    pub display_name: Option<String>,
    pub user_principal_name: Option<String>,
    pub mail_nickname: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub password_profile: Option<PasswordProfile>,
}

/// An invitation of an external guest, as Graph's `POST /invitations` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Invitation {
    pub invited_user_email_address: String,
    pub invite_redirect_url: String,
    pub invited_user_display_name: Option<String>,
    pub send_invitation_message: Option<bool>,
    pub invited_user_type: Option<String>,
}

/// A page of users under Graph's query options.
pub async fn list(svc: &Services, ctx: &Ctx, q: &Query) -> ServiceResult<Page<UserRecord>> {
    ctx.authorize(Action::ReadUsers)?;
    Ok(svc.store.list_users(ctx.tenant, q).await?)
}

/// A user by id or UPN: anyone may read themselves, others need a reader's role.
pub async fn get(svc: &Services, ctx: &Ctx, id_or_upn: &str) -> ServiceResult<UserRecord> {
    let user = svc.store.find_user(ctx.tenant, id_or_upn).await?;
    let is_self = user.as_ref().is_some_and(|u| Some(u.id) == ctx.user_id());
    if !is_self {
        ctx.authorize(Action::ReadUsers)?;
    }
    user.ok_or_else(|| ServiceError::user_not_found(id_or_upn))
}

pub async fn create(svc: &Services, ctx: &Ctx, req: NewUser) -> ServiceResult<UserRecord> {
    ctx.authorize(Action::WriteUsers)?;
    check_text("displayName", &req.display_name)?;
    check_upn(&req.user_principal_name, &domain_names(svc, ctx).await?)?;
    for (field, value) in [
        ("givenName", &req.given_name),
        ("surname", &req.surname),
        ("mail", &req.mail),
        ("mailNickname", &req.mail_nickname),
    ] {
        if let Some(v) = value {
            check_text(field, v)?;
        }
    }
    let user_type = match req.user_type.as_deref() {
        None => UserType::Member,
        Some(t) => UserType::parse(t).ok_or_else(|| {
            ServiceError::bad_request("Invalid value for property 'userType': use Member or Guest.")
        })?,
    };
    let password_hash = match req.password_profile {
        Some(p) => Some(hash_password(svc, p.password).await?),
        None => None,
    };
    let user = UserRecord {
        id: super::new_id(ctx.now),
        tenant: ctx.tenant,
        upn: req.user_principal_name,
        display_name: req.display_name,
        given_name: req.given_name,
        surname: req.surname,
        mail: req.mail,
        account_enabled: req.account_enabled.unwrap_or(true),
        user_type,
        is_external: false,
        creation_type: None,
        external_user_state: None,
        password_set_at: password_hash.as_ref().map(|_| ctx.now),
        password_hash,
        created_at: ctx.now,
        home: None,
    };
    let record = user_change(ctx, "Add user", "Add", &user);
    svc.store.create_user(&user, &record).await?;
    Ok(user)
}

pub async fn update(
    svc: &Services,
    ctx: &Ctx,
    id_or_upn: &str,
    req: UserChanges,
) -> ServiceResult<()> {
    ctx.authorize(Action::WriteUsers)?;
    let mut user = find_user(svc, ctx, id_or_upn).await?;
    apply_changes(&mut user, &req, &domain_names(svc, ctx).await?)?;
    let new_password = req.password_profile.is_some();
    if let Some(p) = req.password_profile {
        user.password_hash = Some(hash_password(svc, p.password).await?);
        user.password_set_at = Some(ctx.now);
    }
    let record = user_change(ctx, "Update user", "Update", &user);
    svc.store.update_user(&user, &record).await?;
    if new_password {
        // An administrator's new password ends a paused password sign-in.
        let subject = tapd_store::Subject::Account(user.id);
        svc.store.clear_failures(subject).await?;
    }
    Ok(())
}

/// Checks and applies every change but the password; a new UPN must use one of `domains`.
fn apply_changes(
    user: &mut UserRecord,
    req: &UserChanges,
    domains: &[String],
) -> ServiceResult<()> {
    if let Some(name) = &req.display_name {
        check_text("displayName", name)?;
        user.display_name = name.clone();
    }
    if let Some(upn) = &req.user_principal_name {
        if user.is_external {
            return Err(ServiceError::bad_request(
                "The userPrincipalName of an external guest is set by its invitation.",
            ));
        }
        check_upn(upn, domains)?;
        user.upn = upn.clone();
    }
    if let Some(v) = &req.mail_nickname {
        check_text("mailNickname", v)?;
    }
    for (field, value, slot) in [
        ("givenName", &req.given_name, &mut user.given_name),
        ("surname", &req.surname, &mut user.surname),
        ("mail", &req.mail, &mut user.mail),
    ] {
        if let Some(v) = value {
            check_text(field, v)?;
            *slot = Some(v.clone());
        }
    }
    if let Some(enabled) = req.account_enabled {
        user.account_enabled = enabled;
    }
    if let Some(p) = &req.password_profile {
        check_password(&p.password)?;
    }
    Ok(())
}

pub async fn delete(svc: &Services, ctx: &Ctx, id_or_upn: &str) -> ServiceResult<()> {
    ctx.authorize(Action::WriteUsers)?;
    let user = find_user(svc, ctx, id_or_upn).await?;
    if ctx.user_id() == Some(user.id) {
        return Err(ServiceError::bad_request(
            "You cannot delete your own account.",
        ));
    }
    let record = user_change(ctx, "Delete user", "Delete", &user);
    svc.store.delete_user(user.id, &record).await?;
    Ok(())
}

/// The home of an invited address: when its domain is another tenant's of this deployment, the
/// user of that address there, who will sign in for the guest (a cross-tenant guest). An
/// address of the caller's own domains is no guest's, and one that names nobody in its
/// tenant is refused.
async fn home_of(
    svc: &Services,
    ctx: &Ctx,
    email: &str,
    host: &str,
) -> ServiceResult<Option<HomeIdentity>> {
    let Some(tenant) = svc.store.tenant_named(host).await? else {
        return Ok(None);
    };
    if tenant.id == ctx.tenant {
        return Err(ServiceError::bad_request(format!(
            "{email} is an address of this organization's domain {host}: create the user instead of inviting them."
        )));
    }
    let user = svc
        .store
        .find_user(tenant.id, email)
        .await?
        .ok_or_else(|| {
            ServiceError::bad_request(format!(
                "There is no user {email} in {}, the organization that holds {host}.",
                tenant.display_name
            ))
        })?;
    Ok(Some(HomeIdentity {
        tenant: tenant.id,
        user: user.id,
    }))
}

/// Invites an external guest (SPEC §8): a `Guest` user whose credentials live elsewhere — at
/// another tenant of this deployment when the address's domain is one of its.
pub async fn invite(svc: &Services, ctx: &Ctx, req: &Invitation) -> ServiceResult<UserRecord> {
    ctx.authorize(Action::WriteUsers)?;
    let email = req.invited_user_email_address.trim().to_string();
    let (alias, host) = email
        .split_once('@')
        .filter(|(a, h)| !a.is_empty() && h.contains('.') && !h.contains('@'))
        .ok_or_else(|| {
            ServiceError::bad_request("Invalid value for property 'invitedUserEmailAddress'.")
        })?;
    check_text("invitedUserEmailAddress", &email)?;
    check_text("inviteRedirectUrl", &req.invite_redirect_url)?;
    let domains = domain_names(svc, ctx).await?;
    let default_domain = domains.first().ok_or_else(|| {
        ServiceError::Internal(format!("tenant {} has no default domain", ctx.tenant))
    })?;
    let user = UserRecord {
        id: super::new_id(ctx.now),
        tenant: ctx.tenant,
        upn: format!("{alias}_{host}#EXT#@{default_domain}"),
        display_name: req
            .invited_user_display_name
            .clone()
            .unwrap_or_else(|| email.clone()),
        given_name: None,
        surname: None,
        mail: Some(email.clone()),
        account_enabled: true,
        user_type: UserType::Guest,
        is_external: true,
        creation_type: Some("Invitation".into()),
        external_user_state: Some("PendingAcceptance".into()),
        password_hash: None,
        password_set_at: None,
        created_at: ctx.now,
        home: home_of(svc, ctx, &email, host).await?,
    };
    let record = user_change(ctx, "Invite external user", "Add", &user);
    svc.store.create_user(&user, &record).await?;
    Ok(user)
}

fn user_change(
    ctx: &Ctx,
    activity: &str,
    operation: &str,
    user: &UserRecord,
) -> tapd_store::AuditRecord {
    audit::change(
        ctx,
        Change {
            category: "UserManagement",
            activity,
            operation,
            targets: vec![audit::target_user(user)],
            details: vec![],
        },
    )
}

/// A display name or similar: 1 to 256 printable characters.
pub fn check_text(field: &str, value: &str) -> Result<(), DomainError> {
    if value.trim().is_empty() || value.len() > MAX_NAME_LEN || value.chars().any(char::is_control)
    {
        return Err(DomainError::BadRequest(format!(
            "Invalid value for property '{field}': it must be 1 to {MAX_NAME_LEN} printable characters."
        )));
    }
    Ok(())
}

/// The names of the caller's tenant's domains, its default first.
pub async fn domain_names(svc: &Services, ctx: &Ctx) -> ServiceResult<Vec<String>> {
    let domains = svc.store.domains(ctx.tenant).await?;
    Ok(domains.into_iter().map(|d| d.name).collect())
}

/// A UPN is `alias@domain`, with one of the tenant's domains.
pub fn check_upn(upn: &str, domains: &[String]) -> Result<(), DomainError> {
    check_text("userPrincipalName", upn)?;
    let (alias, host) = upn.rsplit_once('@').ok_or_else(|| {
        DomainError::BadRequest(
            "Invalid value for property 'userPrincipalName': it must be alias@domain.".into(),
        )
    })?;
    let alias_ok = !alias.is_empty()
        && alias.len() <= 113
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "'.-_!#^~".contains(c))
        && !alias.starts_with('.')
        && !alias.ends_with('.');
    if !alias_ok {
        return Err(DomainError::BadRequest(
            "Invalid value for property 'userPrincipalName': the alias may hold letters, digits and ' . - _ ! # ^ ~, not starting or ending with a dot.".into(),
        ));
    }
    if !domains.iter().any(|d| host.eq_ignore_ascii_case(d)) {
        let domains = domains.join(", ");
        return Err(DomainError::BadRequest(format!(
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization: {domains}."
        )));
    }
    Ok(())
}

fn check_password(p: &str) -> Result<(), DomainError> {
    if p.chars().count() < MIN_PASSWORD_LEN || p.len() > 256 {
        return Err(DomainError::BadRequest(format!(
            "The specified password does not comply with password complexity requirements: use {MIN_PASSWORD_LEN} to 256 characters."
        )));
    }
    Ok(())
}

/// Checks and hashes a new password (argon2, off the async threads).
async fn hash_password(svc: &Services, password: String) -> ServiceResult<String> {
    check_password(&password)?;
    svc.hash(move |_| crate::keys::hash_password(&password))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upns_are_checked() {
        let domains = ["tapd.local".to_string(), "fabrikam.test".to_string()];
        assert!(check_upn("alice@tapd.local", &domains).is_ok());
        assert!(check_upn("Alice@TAPD.local", &domains).is_ok());
        assert!(check_upn("bob@Fabrikam.test", &domains).is_ok());
        assert!(check_upn("alice@other.com", &domains).is_err());
        assert!(check_upn("al ice@tapd.local", &domains).is_err());
        assert!(check_upn("@tapd.local", &domains).is_err());
        assert!(check_upn("alice", &domains).is_err());
    }
}
