//! A tenant's domains, as Graph shapes them (`/domains`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use tapd_core::odata::DOMAINS;
use tapd_store::DomainRecord;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{OData, SmallOptions, small_collection};
use crate::http::caller::Caller;
use crate::http::error::ApiResult;
use crate::http::extract::GraphJson;
use crate::openapi::shapes;
use crate::service::domains::{self, DomainChanges, NewDomain};
use crate::state::SharedState;

pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_domains, create_domain))
        .routes(routes!(get_domain, update_domain, delete_domain))
}

pub(crate) fn domain_json(d: &DomainRecord) -> Value {
    json!({
        "id": d.name,
        "authenticationType": d.authentication.as_str(),
        "isDefault": d.is_default,
        "isInitial": d.is_initial,
        "isRoot": true,
        "isVerified": true,
        "isAdminManaged": true,
        "supportedServices": ["Email", "OfficeCommunicationsOnline"],
    })
}

#[utoipa::path(get, path = "/domains", tag = "domains", params(SmallOptions),
    responses((status = 200, description = "The tenant's domains, its default first.", body = shapes::DomainCollection)))]
async fn list_domains(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Json<Value>> {
    let value = domains::list(&state.svc, &ctx).await?;
    let value = value.iter().map(domain_json).collect();
    Ok(Json(small_collection(
        &state, &odata, &DOMAINS, "domains", value,
    )?))
}

#[utoipa::path(post, path = "/domains", tag = "domains", request_body = NewDomain,
    responses((status = 201, description = "The new domain, verified.", body = shapes::Domain)))]
async fn create_domain(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    GraphJson(req): GraphJson<NewDomain>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let domain = domains::create(&state.svc, &ctx, req).await?;
    Ok((StatusCode::CREATED, Json(domain_json(&domain))))
}

#[utoipa::path(get, path = "/domains/{id}", tag = "domains", params(("id" = String, Path, description = "The domain's name.")),
    responses((status = 200, description = "The domain.", body = shapes::Domain)))]
async fn get_domain(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    Ok(Json(domain_json(
        &domains::get(&state.svc, &ctx, &id).await?,
    )))
}

#[utoipa::path(patch, path = "/domains/{id}", tag = "domains", params(("id" = String, Path, description = "The domain's name.")), request_body = DomainChanges,
    responses((status = 204, description = "Changed.")))]
async fn update_domain(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
    GraphJson(req): GraphJson<DomainChanges>,
) -> ApiResult<StatusCode> {
    domains::update(&state.svc, &ctx, &id, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/domains/{id}", tag = "domains", params(("id" = String, Path, description = "The domain's name.")),
    responses((status = 204, description = "Deleted.")))]
async fn delete_domain(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<StatusCode> {
    domains::delete(&state.svc, &ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
