//! A tenant's domains (SPEC §8, Graph's `domain`): the names its users' UPNs may use. An
//! administrator adds one and it is verified by that act (no DNS check); exactly one is the
//! tenant's default; a domain can't be removed while it is the default or a user's name uses
//! it. A name belongs to one tenant in the whole deployment.

use serde::Deserialize;
use tapd_core::{Action, check_domain_name, shown};
use tapd_store::{DomainAuthentication, DomainRecord};

use super::audit::{self, Change};
use super::{Ctx, ServiceError, ServiceResult, Services};

/// `POST /domains`: Graph's body names the domain by its `id`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewDomain {
    pub id: String,
}

/// `PATCH /domains/{id}`: what tapd lets an administrator change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DomainChanges {
    /// `true` makes it the tenant's default domain; a default is changed by making another
    /// domain the default.
    pub is_default: Option<bool>,
    /// Set by adding or removing the domain's federation configuration, not here.
    pub authentication_type: Option<String>,
}

fn not_found(name: &str) -> ServiceError {
    ServiceError::not_found(format!(
        "Domain '{}' does not exist in this organization.",
        shown(name)
    ))
}

/// One of the caller's tenant's domains, or 404: another tenant's is not found.
async fn find(svc: &Services, ctx: &Ctx, name: &str) -> ServiceResult<DomainRecord> {
    svc.store
        .domain(ctx.tenant, name)
        .await?
        .ok_or_else(|| not_found(name))
}

pub async fn list(svc: &Services, ctx: &Ctx) -> ServiceResult<Vec<DomainRecord>> {
    ctx.authorize(Action::ReadDomains)?;
    Ok(svc.store.domains(ctx.tenant).await?)
}

pub async fn get(svc: &Services, ctx: &Ctx, name: &str) -> ServiceResult<DomainRecord> {
    ctx.authorize(Action::ReadDomains)?;
    find(svc, ctx, name).await
}

pub async fn create(svc: &Services, ctx: &Ctx, req: NewDomain) -> ServiceResult<DomainRecord> {
    ctx.authorize(Action::WriteDomains)?;
    let name = req.id.trim();
    check_domain_name(name)?;
    let domain = DomainRecord {
        name: name.to_string(),
        tenant_id: ctx.tenant,
        authentication: DomainAuthentication::Managed,
        is_default: false,
        is_initial: false,
        created_at: ctx.now,
    };
    let record = domain_change(ctx, "Add verified domain", "Add", name);
    svc.store.create_domain(&domain, &record).await?;
    Ok(domain)
}

pub async fn update(
    svc: &Services,
    ctx: &Ctx,
    name: &str,
    req: DomainChanges,
) -> ServiceResult<()> {
    ctx.authorize(Action::WriteDomains)?;
    if req.is_default.is_none() && req.authentication_type.is_none() {
        return Err(ServiceError::bad_request(
            "The request names no property to change: give isDefault.",
        ));
    }
    let domain = find(svc, ctx, name).await?;
    if let Some(kind) = &req.authentication_type
        && kind != domain.authentication.as_str()
    {
        return Err(ServiceError::bad_request(
            "Property 'authenticationType' follows the domain's federationConfiguration: add or \
             remove that to federate the domain or manage it here.",
        ));
    }
    match req.is_default {
        Some(true) if !domain.is_default => {
            let record = domain_change(ctx, "Set default domain", "Update", &domain.name);
            svc.store
                .set_default_domain(ctx.tenant, &domain.name, &record)
                .await?;
        }
        Some(false) if domain.is_default => {
            return Err(ServiceError::bad_request(
                "A tenant always has a default domain: make another domain the default instead.",
            ));
        }
        _ => {}
    }
    Ok(())
}

pub async fn delete(svc: &Services, ctx: &Ctx, name: &str) -> ServiceResult<()> {
    ctx.authorize(Action::WriteDomains)?;
    let domain = find(svc, ctx, name).await?;
    if domain.is_default {
        return Err(ServiceError::bad_request(
            "The default domain can't be deleted: make another domain the default first.",
        ));
    }
    let record = domain_change(ctx, "Delete domain", "Delete", &domain.name);
    if !svc
        .store
        .delete_domain(ctx.tenant, &domain.name, &record)
        .await?
    {
        return Err(not_found(name));
    }
    Ok(())
}

fn domain_change(
    ctx: &Ctx,
    activity: &str,
    operation: &str,
    name: &str,
) -> tapd_store::AuditRecord {
    audit::change(
        ctx,
        Change {
            category: "DirectoryManagement",
            activity,
            operation,
            targets: vec![audit::target("Domain", name, name)],
            details: vec![],
        },
    )
}
