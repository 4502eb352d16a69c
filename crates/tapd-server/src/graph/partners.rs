//! The cross-tenant access policy's partners, as Graph shapes them
//! (`/policies/crossTenantAccessPolicy/partners`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use tapd_core::odata::PARTNERS;
use tapd_store::PartnerRecord;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{OData, SmallOptions, small_collection};
use crate::http::caller::Caller;
use crate::http::error::ApiResult;
use crate::http::extract::GraphJson;
use crate::openapi::shapes;
use crate::service::partners::{self, PartnerBody};
use crate::state::SharedState;

pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_partners, create_partner))
        .routes(routes!(get_partner, update_partner, delete_partner))
}

fn partner_json(p: &PartnerRecord) -> Value {
    json!({
        "tenantId": p.partner,
        "isServiceProvider": null,
        "isInMultiTenantOrganization": false,
        "inboundTrust": {
            "isMfaAccepted": p.is_mfa_accepted,
            "isCompliantDeviceAccepted": false,
            "isHybridAzureADJoinedDeviceAccepted": false,
        },
    })
}

#[utoipa::path(get, path = "/policies/crossTenantAccessPolicy/partners", tag = "policies", params(SmallOptions),
    responses((status = 200, description = "The tenants this one names, and what it trusts of them.", body = shapes::PartnerCollection)))]
async fn list_partners(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Json<Value>> {
    let value = partners::list(&state.svc, &ctx).await?;
    let value = value.iter().map(partner_json).collect();
    let context = "policies/crossTenantAccessPolicy/partners";
    Ok(Json(small_collection(
        &state, &odata, &PARTNERS, context, value,
    )?))
}

#[utoipa::path(post, path = "/policies/crossTenantAccessPolicy/partners", tag = "policies", request_body = PartnerBody,
    responses((status = 201, description = "The new partner configuration.", body = shapes::CrossTenantPartner)))]
async fn create_partner(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    GraphJson(body): GraphJson<PartnerBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let p = partners::create(&state.svc, &ctx, body).await?;
    Ok((StatusCode::CREATED, Json(partner_json(&p))))
}

#[utoipa::path(get, path = "/policies/crossTenantAccessPolicy/partners/{id}", tag = "policies", params(("id" = String, Path, description = "The partner's tenant id.")),
    responses((status = 200, description = "The partner configuration.", body = shapes::CrossTenantPartner)))]
async fn get_partner(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    Ok(Json(partner_json(
        &partners::get(&state.svc, &ctx, &id).await?,
    )))
}

#[utoipa::path(patch, path = "/policies/crossTenantAccessPolicy/partners/{id}", tag = "policies", params(("id" = String, Path, description = "The partner's tenant id.")), request_body = PartnerBody,
    responses((status = 204, description = "Changed.")))]
async fn update_partner(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
    GraphJson(body): GraphJson<PartnerBody>,
) -> ApiResult<StatusCode> {
    partners::update(&state.svc, &ctx, &id, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/policies/crossTenantAccessPolicy/partners/{id}", tag = "policies", params(("id" = String, Path, description = "The partner's tenant id.")),
    responses((status = 204, description = "Deleted.")))]
async fn delete_partner(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<StatusCode> {
    partners::delete(&state.svc, &ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
