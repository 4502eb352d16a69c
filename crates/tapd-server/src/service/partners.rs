//! The cross-tenant access policy's partners (SPEC §8, Graph's
//! `crossTenantAccessPolicyConfigurationPartner`): which other tenants of the deployment this
//! one trusts. With `inboundTrust.isMfaAccepted`, a partner's users invited here as guests
//! sign in to this tenant's apps by signing in at home; without it they are refused.

use serde::Deserialize;
use tapd_core::{Action, shown};
use tapd_store::PartnerRecord;
use uuid::Uuid;

use super::audit::{self, Change};
use super::{Ctx, ServiceError, ServiceResult, Services};

/// `POST` and `PATCH …/partners`: the partner's tenant id (on create) and what is trusted.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PartnerBody {
    pub tenant_id: Option<String>,
    pub inbound_trust: Option<InboundTrust>,
    /// Graph's flag for a cloud service provider's tenant: tapd keeps none, so only `null`.
    pub is_service_provider: Option<bool>,
}

/// Graph's `crossTenantAccessPolicyInboundTrust`.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InboundTrust {
    #[serde(rename = "@odata.type")]
    #[schema(rename = "@odata.type")]
    pub odata_type: Option<String>,
    /// Whether the partner's sign-ins (and their MFA) count here.
    pub is_mfa_accepted: Option<bool>,
    /// tapd has no device compliance: only `false`.
    pub is_compliant_device_accepted: Option<bool>,
    /// tapd has no device join: only `false`.
    #[serde(rename = "isHybridAzureADJoinedDeviceAccepted")]
    #[schema(rename = "isHybridAzureADJoinedDeviceAccepted")]
    pub is_hybrid_azure_ad_joined_device_accepted: Option<bool>,
}

fn not_found(id: &str) -> ServiceError {
    ServiceError::not_found(format!(
        "The partner configuration for tenant '{}' does not exist in this organization's cross-tenant access policy.",
        shown(id)
    ))
}

fn partner_id(id: &str) -> ServiceResult<Uuid> {
    Uuid::parse_str(id.trim()).map_err(|_| not_found(id))
}

pub async fn list(svc: &Services, ctx: &Ctx) -> ServiceResult<Vec<PartnerRecord>> {
    ctx.authorize(Action::ReadCrossTenantAccess)?;
    Ok(svc.store.partners(ctx.tenant).await?)
}

pub async fn get(svc: &Services, ctx: &Ctx, id: &str) -> ServiceResult<PartnerRecord> {
    ctx.authorize(Action::ReadCrossTenantAccess)?;
    find(svc, ctx, id).await
}

async fn find(svc: &Services, ctx: &Ctx, id: &str) -> ServiceResult<PartnerRecord> {
    let partner = partner_id(id)?;
    svc.store
        .partner(ctx.tenant, partner)
        .await?
        .ok_or_else(|| not_found(id))
}

pub async fn create(svc: &Services, ctx: &Ctx, body: PartnerBody) -> ServiceResult<PartnerRecord> {
    ctx.authorize(Action::WriteCrossTenantAccess)?;
    let id = body
        .tenant_id
        .as_deref()
        .ok_or_else(|| ServiceError::bad_request("Property 'tenantId' is required."))?;
    let partner = Uuid::parse_str(id.trim()).map_err(|_| {
        ServiceError::bad_request(format!(
            "Invalid value for property 'tenantId': '{id}' is not a tenant id."
        ))
    })?;
    if partner == ctx.tenant {
        return Err(ServiceError::bad_request(
            "A tenant can't be its own partner: 'tenantId' must name another organization.",
        ));
    }
    let mut p = PartnerRecord {
        tenant_id: ctx.tenant,
        partner,
        is_mfa_accepted: false,
        created_at: ctx.now,
    };
    apply(&mut p, &body)?;
    let record = change(
        ctx,
        "Add a partner to cross-tenant access setting",
        "Add",
        &p,
    );
    svc.store.create_partner(&p, &record).await?;
    Ok(p)
}

pub async fn update(svc: &Services, ctx: &Ctx, id: &str, body: PartnerBody) -> ServiceResult<()> {
    ctx.authorize(Action::WriteCrossTenantAccess)?;
    let mut p = find(svc, ctx, id).await?;
    if body
        .tenant_id
        .as_deref()
        .is_some_and(|t| t.trim() != p.partner.to_string())
    {
        return Err(ServiceError::bad_request(
            "Property 'tenantId' can't be changed.",
        ));
    }
    apply(&mut p, &body)?;
    let record = change(
        ctx,
        "Update a partner cross-tenant access setting",
        "Update",
        &p,
    );
    if !svc.store.update_partner(&p, &record).await? {
        return Err(not_found(id));
    }
    Ok(())
}

pub async fn delete(svc: &Services, ctx: &Ctx, id: &str) -> ServiceResult<()> {
    ctx.authorize(Action::WriteCrossTenantAccess)?;
    let p = find(svc, ctx, id).await?;
    let record = change(
        ctx,
        "Delete partner specific cross-tenant access setting",
        "Delete",
        &p,
    );
    if !svc
        .store
        .delete_partner(ctx.tenant, p.partner, &record)
        .await?
    {
        return Err(not_found(id));
    }
    Ok(())
}

fn apply(p: &mut PartnerRecord, body: &PartnerBody) -> ServiceResult<()> {
    if body.is_service_provider == Some(true) {
        return Err(ServiceError::bad_request(
            "Property 'isServiceProvider': tapd has no cloud service provider relationships.",
        ));
    }
    let Some(trust) = &body.inbound_trust else {
        return Ok(());
    };
    for (field, value) in [
        (
            "isCompliantDeviceAccepted",
            trust.is_compliant_device_accepted,
        ),
        (
            "isHybridAzureADJoinedDeviceAccepted",
            trust.is_hybrid_azure_ad_joined_device_accepted,
        ),
    ] {
        if value == Some(true) {
            return Err(ServiceError::bad_request(format!(
                "Property 'inboundTrust.{field}': tapd has no device compliance or join to trust; only false."
            )));
        }
    }
    if let Some(mfa) = trust.is_mfa_accepted {
        p.is_mfa_accepted = mfa;
    }
    Ok(())
}

fn change(
    ctx: &Ctx,
    activity: &str,
    operation: &str,
    p: &PartnerRecord,
) -> tapd_store::AuditRecord {
    audit::change(
        ctx,
        Change {
            category: "CrossTenantAccessSettings",
            activity,
            operation,
            targets: vec![audit::target("Tenant", p.partner, &p.partner.to_string())],
            details: vec![("inboundTrust.isMfaAccepted", p.is_mfa_accepted.to_string())],
        },
    )
}
