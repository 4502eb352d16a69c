//! A user's manager as Graph shapes it: `GET /users/{id}/manager` (the manager as a user),
//! `GET | PUT | DELETE /users/{id}/manager/$ref`. A missing manager is Graph's
//! `Request_ResourceNotFound`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use tapd_core::DomainError;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::users::user_json;
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::JsonBytes;
use crate::openapi::shapes;
use crate::service::{ServiceError, managers};
use crate::state::SharedState;

pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(get_manager))
        .routes(routes!(get_manager_ref, set_manager, remove_manager))
}

/// Graph answers a missing manager (or user) with its directory code.
fn graph_not_found(e: ServiceError) -> ApiError {
    match e {
        ServiceError::Domain(DomainError::NotFound(m)) => {
            ApiError::new(StatusCode::NOT_FOUND, "Request_ResourceNotFound", m)
        }
        other => other.into(),
    }
}

/// The id in `{"@odata.id": "…/users/{id}"}` or `…/directoryObjects/{id}`, whatever the base.
fn manager_reference(body: &[u8]) -> ApiResult<String> {
    const SHAPE: &str = "The request body must be {\"@odata.id\": \"https://graph.microsoft.com/v1.0/users/{id}\"} (or …/directoryObjects/{id}).";
    let (collection, id) = super::reference(body, SHAPE)?;
    let known = collection.eq_ignore_ascii_case("users")
        || collection.eq_ignore_ascii_case("directoryObjects");
    if !known || id.is_empty() {
        return Err(ApiError::bad_request(SHAPE));
    }
    Ok(id)
}

#[utoipa::path(get, path = "/users/{id}/manager", tag = "users", params(("id" = String, Path, description = "The user's id or userPrincipalName.")),
    responses((status = 200, description = "The user's manager.", body = shapes::User)))]
async fn get_manager(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    let manager = managers::get(&state.svc, &ctx, &id)
        .await
        .map_err(graph_not_found)?;
    let mut body = user_json(&manager);
    body["@odata.context"] = json!(format!(
        "{}/v1.0/$metadata#directoryObjects/$entity",
        state.public_url
    ));
    body["@odata.type"] = json!("#microsoft.graph.user");
    Ok(Json(body))
}

#[utoipa::path(get, path = "/users/{id}/manager/$ref", tag = "users", params(("id" = String, Path, description = "The user's id or userPrincipalName.")),
    responses((status = 200, description = "A reference to the user's manager.", body = shapes::ReferenceAnswer)))]
async fn get_manager_ref(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    let manager = managers::get(&state.svc, &ctx, &id)
        .await
        .map_err(graph_not_found)?;
    Ok(Json(json!({
        "@odata.context": format!("{}/v1.0/$metadata#directoryObjects/$entity", state.public_url),
        "@odata.id": format!("{}/v1.0/users/{}", state.public_url, manager.id),
    })))
}

#[utoipa::path(put, path = "/users/{id}/manager/$ref", tag = "users", params(("id" = String, Path, description = "The user's id or userPrincipalName.")),
    request_body(content = shapes::Reference, description = "The manager, as `{\"@odata.id\": \"…/users/{id}\"}` (or `…/directoryObjects/{id}`)."),
    responses((status = 204, description = "Set; it replaces an earlier manager.")))]
async fn set_manager(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
    JsonBytes(body): JsonBytes,
) -> ApiResult<StatusCode> {
    let manager = manager_reference(&body)?;
    managers::set(&state.svc, &ctx, &id, &manager)
        .await
        .map_err(graph_not_found)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/users/{id}/manager/$ref", tag = "users", params(("id" = String, Path, description = "The user's id or userPrincipalName.")),
    responses((status = 204, description = "Removed.")))]
async fn remove_manager(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<StatusCode> {
    managers::remove(&state.svc, &ctx, &id)
        .await
        .map_err(graph_not_found)?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_names_a_user_under_any_base() {
        let id = |s: &str| manager_reference(s.as_bytes()).ok();
        assert_eq!(
            id(r#"{"@odata.id":"https://graph.microsoft.com/v1.0/users/abc"}"#).as_deref(),
            Some("abc")
        );
        assert_eq!(
            id(r#"{"@odata.id":"http://localhost:8080/v1.0/directoryObjects/abc/"}"#).as_deref(),
            Some("abc")
        );
        assert_eq!(id(r#"{"@odata.id":"https://x/v1.0/groups/abc"}"#), None);
        assert_eq!(id(r#"{"@odata.id":"abc"}"#), None);
        assert_eq!(id(r#"{"id":"abc"}"#), None);
    }
}
