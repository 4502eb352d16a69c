//! A tenant's domains, as Graph shapes them (`/domains`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use tapd_core::odata::{DOMAINS, FEDERATIONS};
use tapd_store::{DomainRecord, FederationRecord};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{OData, SmallOptions, small_collection};
use crate::http::caller::Caller;
use crate::http::error::ApiResult;
use crate::http::extract::GraphJson;
use crate::openapi::shapes;
use crate::service::domains::{self, DomainChanges, NewDomain};
use crate::service::federation::{self, FederationBody};
use crate::state::SharedState;

pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_domains, create_domain))
        .routes(routes!(get_domain, update_domain, delete_domain))
        .routes(routes!(list_federations, create_federation))
        .routes(routes!(
            get_federation,
            update_federation,
            delete_federation
        ))
}

fn federation_json(f: &FederationRecord) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.internalDomainFederation",
        "id": f.id,
        "displayName": f.display_name,
        "issuerUri": f.issuer_uri,
        "passiveSignInUri": f.passive_sign_in_uri,
        "signOutUri": f.sign_out_uri,
        "federatedIdpMfaBehavior": f.mfa_behavior.as_str(),
        "preferredAuthenticationProtocol": null,
        "tapdClientId": f.client_id,
        // Write-only, as Graph's secrets are.
        "tapdClientSecret": null,
        "tapdRedirectUri": null,
    })
}

/// A federation as answered, with the redirect URI to register at the provider.
fn federation_answer(state: &SharedState, f: &FederationRecord) -> Value {
    let mut v = federation_json(f);
    v["tapdRedirectUri"] = json!(federation::signin::redirect_uri(&state.public_url));
    v
}

#[utoipa::path(get, path = "/domains/{id}/federationConfiguration", tag = "domains", params(("id" = String, Path, description = "The domain's name."), SmallOptions),
    responses((status = 200, description = "The domain's federation with an OpenID Connect provider: none or one.", body = shapes::FederationCollection)))]
async fn list_federations(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Json<Value>> {
    let found = federation::list(&state.svc, &ctx, &id).await?;
    let value = found.iter().map(|f| federation_answer(&state, f)).collect();
    let context = format!(
        "domains('{}')/federationConfiguration",
        tapd_core::percent_encode(&id)
    );
    Ok(Json(small_collection(
        &state,
        &odata,
        &FEDERATIONS,
        &context,
        value,
    )?))
}

#[utoipa::path(post, path = "/domains/{id}/federationConfiguration", tag = "domains", params(("id" = String, Path, description = "The domain's name.")), request_body = FederationBody,
    responses((status = 201, description = "The new federation: the domain is Federated now.", body = shapes::InternalDomainFederation)))]
async fn create_federation(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
    GraphJson(body): GraphJson<FederationBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let f = federation::create(&state.svc, &ctx, &id, body).await?;
    Ok((StatusCode::CREATED, Json(federation_answer(&state, &f))))
}

#[utoipa::path(get, path = "/domains/{id}/federationConfiguration/{federation}", tag = "domains", params(("id" = String, Path, description = "The domain's name."), ("federation" = String, Path, description = "The federation's id.")),
    responses((status = 200, description = "The federation.", body = shapes::InternalDomainFederation)))]
async fn get_federation(
    State(state): State<SharedState>,
    Path((id, federation_id)): Path<(String, String)>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    let f = federation::get(&state.svc, &ctx, &id, &federation_id).await?;
    Ok(Json(federation_answer(&state, &f)))
}

#[utoipa::path(patch, path = "/domains/{id}/federationConfiguration/{federation}", tag = "domains", params(("id" = String, Path, description = "The domain's name."), ("federation" = String, Path, description = "The federation's id.")), request_body = FederationBody,
    responses((status = 200, description = "The federation as changed.", body = shapes::InternalDomainFederation)))]
async fn update_federation(
    State(state): State<SharedState>,
    Path((id, federation_id)): Path<(String, String)>,
    Caller(ctx, _): Caller,
    GraphJson(body): GraphJson<FederationBody>,
) -> ApiResult<Json<Value>> {
    let f = federation::update(&state.svc, &ctx, &id, &federation_id, body).await?;
    Ok(Json(federation_answer(&state, &f)))
}

#[utoipa::path(delete, path = "/domains/{id}/federationConfiguration/{federation}", tag = "domains", params(("id" = String, Path, description = "The domain's name."), ("federation" = String, Path, description = "The federation's id.")),
    responses((status = 204, description = "Deleted: the domain is Managed again.")))]
async fn delete_federation(
    State(state): State<SharedState>,
    Path((id, federation_id)): Path<(String, String)>,
    Caller(ctx, _): Caller,
) -> ApiResult<StatusCode> {
    federation::delete(&state.svc, &ctx, &id, &federation_id).await?;
    Ok(StatusCode::NO_CONTENT)
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
