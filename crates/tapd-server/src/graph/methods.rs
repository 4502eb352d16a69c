//! A user's authentication methods as Graph shapes them: the Temporary Access Pass (SPEC §5),
//! passkeys (SPEC §6.3) and the listing of all methods, under `/users/{id|upn}/authentication`
//! and `/me/authentication`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tapd_core::odata::METHODS;
use tapd_core::{format_time, parse_time};
use tapd_store::{PasskeyRecord, UserRecord};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{OData, SmallOptions, small_collection};
use crate::http::caller::Caller;
use crate::http::error::ApiResult;
use crate::http::extract::GraphJson;
use crate::openapi::shapes;
use crate::service::delivery::{self, Delivery, Outcome};
use crate::service::methods::{self, passkey_id};
use crate::service::passes::{self, IssueInput, PassView, Subject};
use crate::state::SharedState;

/// Graph's fixed id of the password method.
const PASSWORD_METHOD_ID: &str = "28c10230-6103-485e-b985-444c60001490";

pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_methods))
        .routes(routes!(list_taps, create_tap))
        .routes(routes!(get_tap, delete_tap))
        .routes(routes!(list_passkeys))
        .routes(routes!(get_passkey, delete_passkey))
        .routes(routes!(my_methods))
        .routes(routes!(my_passkeys))
        .routes(routes!(get_my_passkey, delete_my_passkey))
        .routes(routes!(my_taps, create_my_tap))
        .routes(routes!(get_my_tap, delete_my_tap))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateTap {
    start_date_time: Option<String>,
    lifetime_in_minutes: Option<i64>,
    is_usable_once: Option<bool>,
    /// tapd's extension: how the pass reaches its user. Absent or `code`: the code in this
    /// answer. `link`: a one-time link in `tapdOneTimeLink` instead. `emailToUser` /
    /// `emailToManager`: that link mailed (needs `[smtp]`); the answer then holds neither.
    tapd_delivery: Option<TapdDelivery>,
}

/// `tapdDelivery`'s values.
#[derive(Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
enum TapdDelivery {
    Code,
    Link,
    EmailToUser,
    EmailToManager,
}

impl From<TapdDelivery> for Delivery {
    fn from(d: TapdDelivery) -> Delivery {
        match d {
            TapdDelivery::Code => Delivery::Code,
            TapdDelivery::Link => Delivery::Link,
            TapdDelivery::EmailToUser => Delivery::EmailToUser,
            TapdDelivery::EmailToManager => Delivery::EmailToManager,
        }
    }
}

impl CreateTap {
    fn into_input(self) -> ApiResult<IssueInput> {
        let start = self
            .start_date_time
            .as_deref()
            .map(|s| parse_time("startDateTime", s))
            .transpose()?;
        Ok(IssueInput {
            start,
            lifetime_minutes: self.lifetime_in_minutes,
            is_usable_once: self.is_usable_once,
        })
    }
}

/// The pass as Graph shows it; `code` only in the response that created it.
fn tap_json(view: &PassView, code: Option<&str>) -> Value {
    let pass = &view.pass;
    json!({
        "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
        "id": pass.id,
        "temporaryAccessPass": code,
        "createdDateTime": format_time(pass.created_at),
        "startDateTime": format_time(pass.start),
        "lifetimeInMinutes": pass.lifetime_minutes,
        "isUsableOnce": pass.is_usable_once,
        "isUsable": view.reason.is_usable(),
        "methodUsabilityReason": view.reason,
    })
}

/// A passkey as Graph's `fido2AuthenticationMethod`; its id is the credential id in base64url.
/// tapd keeps no authenticator metadata, so the model is unknown and nothing is attested.
pub(crate) fn fido2_json(p: &PasskeyRecord) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.fido2AuthenticationMethod",
        "id": passkey_id(p),
        "displayName": p.display_name,
        "createdDateTime": format_time(p.created_at),
        "aaGuid": p.aaguid,
        "model": null,
        "attestationLevel": "notAttested",
        "attestationCertificates": [],
    })
}

fn context(user: &UserRecord, what: &str) -> String {
    format!("users('{}')/authentication/{what}", user.id)
}

async fn methods_json(
    state: &SharedState,
    caller: &Caller,
    subject: Subject<'_>,
    odata: &OData,
) -> ApiResult<Json<Value>> {
    let m = methods::list(&state.svc, &caller.0, subject).await?;
    let mut value = Vec::new();
    if m.user.password_hash.is_some() {
        value.push(json!({
            "@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
            "id": PASSWORD_METHOD_ID,
            "password": null,
            "createdDateTime": m.user.password_set_at.map(format_time),
        }));
    }
    value.extend(m.pass.iter().map(|p| tap_json(p, None)));
    value.extend(m.passkeys.iter().map(fido2_json));
    let context = context(&m.user, "methods");
    Ok(Json(small_collection(
        state, odata, &METHODS, &context, value,
    )?))
}

async fn taps_json(
    state: &SharedState,
    caller: &Caller,
    subject: Subject<'_>,
    odata: &OData,
) -> ApiResult<Json<Value>> {
    let (user, pass) = passes::list(&state.svc, &caller.0, subject).await?;
    let value = pass.iter().map(|p| tap_json(p, None)).collect();
    let context = context(&user, "temporaryAccessPassMethods");
    Ok(Json(small_collection(
        state, odata, &METHODS, &context, value,
    )?))
}

async fn one_tap_json(
    state: &SharedState,
    caller: &Caller,
    subject: Subject<'_>,
    id: &str,
) -> ApiResult<Json<Value>> {
    let view = passes::get(&state.svc, &caller.0, subject, id).await?;
    Ok(Json(tap_json(&view, None)))
}

async fn issue(
    state: &SharedState,
    caller: &Caller,
    subject: Subject<'_>,
    req: CreateTap,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let delivery = req.tapd_delivery.map(Delivery::from);
    let input = req.into_input()?;
    let issued = delivery::issue(
        &state.svc,
        &caller.0,
        subject,
        input,
        delivery.unwrap_or_default(),
        &state.public_url,
    )
    .await?;
    let mut body = match &issued.outcome {
        Outcome::Code(code) => tap_json(&issued.view, Some(code)),
        Outcome::Link(link) => {
            let mut body = tap_json(&issued.view, None);
            body["tapdOneTimeLink"] = json!(link.url);
            body["tapdOneTimeLinkExpiresDateTime"] = json!(format_time(link.expires_at));
            body
        }
        Outcome::Mailed { to, expires_at } => {
            let mut body = tap_json(&issued.view, None);
            body["tapdDeliveredTo"] = json!(to);
            body["tapdOneTimeLinkExpiresDateTime"] = json!(format_time(*expires_at));
            body
        }
    };
    if delivery.is_some() {
        body["tapdDelivery"] = json!(issued.delivery.as_str());
    }
    body["@odata.context"] = json!(format!(
        "{}/v1.0/$metadata#users('{}')/authentication/temporaryAccessPassMethods/$entity",
        state.public_url, issued.user.id
    ));
    Ok((StatusCode::CREATED, Json(body)))
}

async fn remove(
    state: &SharedState,
    caller: &Caller,
    subject: Subject<'_>,
    id: &str,
) -> ApiResult<StatusCode> {
    passes::delete(&state.svc, &caller.0, subject, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/users/{user}/authentication/methods", tag = "methods", params(("user" = String, Path, description = "The user's id or userPrincipalName."), SmallOptions),
    responses((status = 200, description = "The user's methods.", body = shapes::MethodCollection)))]
async fn list_methods(
    State(state): State<SharedState>,
    Path(user): Path<String>,
    caller: Caller,
    odata: OData,
) -> ApiResult<Json<Value>> {
    methods_json(&state, &caller, Subject::User(&user), &odata).await
}

#[utoipa::path(get, path = "/me/authentication/methods", tag = "methods", params(SmallOptions),
    responses((status = 200, description = "Your methods.", body = shapes::MethodCollection)))]
async fn my_methods(
    State(state): State<SharedState>,
    caller: Caller,
    odata: OData,
) -> ApiResult<Json<Value>> {
    methods_json(&state, &caller, Subject::Me, &odata).await
}

#[utoipa::path(get, path = "/users/{user}/authentication/temporaryAccessPassMethods", tag = "methods", params(("user" = String, Path, description = "The user's id or userPrincipalName."), SmallOptions),
    responses((status = 200, description = "The user's pass, if any.", body = shapes::TemporaryAccessPassCollection)))]
async fn list_taps(
    State(state): State<SharedState>,
    Path(user): Path<String>,
    caller: Caller,
    odata: OData,
) -> ApiResult<Json<Value>> {
    taps_json(&state, &caller, Subject::User(&user), &odata).await
}

#[utoipa::path(get, path = "/me/authentication/temporaryAccessPassMethods", tag = "methods", params(SmallOptions),
    responses((status = 200, description = "Your pass, if any.", body = shapes::TemporaryAccessPassCollection)))]
async fn my_taps(
    State(state): State<SharedState>,
    caller: Caller,
    odata: OData,
) -> ApiResult<Json<Value>> {
    taps_json(&state, &caller, Subject::Me, &odata).await
}

#[utoipa::path(get, path = "/users/{user}/authentication/temporaryAccessPassMethods/{id}", tag = "methods", params(("user" = String, Path, description = "The user's id or userPrincipalName."), ("id" = String, Path, description = "The pass's id.")),
    responses((status = 200, description = "The pass (never its code).", body = shapes::TemporaryAccessPassMethod)))]
async fn get_tap(
    State(state): State<SharedState>,
    Path((user, id)): Path<(String, String)>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    one_tap_json(&state, &caller, Subject::User(&user), &id).await
}

#[utoipa::path(get, path = "/me/authentication/temporaryAccessPassMethods/{id}", tag = "methods", params(("id" = String, Path, description = "The pass's id.")),
    responses((status = 200, description = "Your pass (never its code).", body = shapes::TemporaryAccessPassMethod)))]
async fn get_my_tap(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    one_tap_json(&state, &caller, Subject::Me, &id).await
}

#[utoipa::path(post, path = "/users/{user}/authentication/temporaryAccessPassMethods", tag = "methods", params(("user" = String, Path, description = "The user's id or userPrincipalName.")), request_body = Option<CreateTap>,
    responses((status = 201, description = "The new pass, its code shown this once; it replaces the user's earlier pass.", body = shapes::TemporaryAccessPassMethod)))]
async fn create_tap(
    State(state): State<SharedState>,
    Path(user): Path<String>,
    caller: Caller,
    GraphJson(req): GraphJson<CreateTap>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    issue(&state, &caller, Subject::User(&user), req).await
}

#[utoipa::path(post, path = "/me/authentication/temporaryAccessPassMethods", tag = "methods", request_body = Option<CreateTap>,
    responses((status = 201, description = "Never: nobody issues themselves a pass (403).", body = shapes::TemporaryAccessPassMethod)))]
/// Nobody issues themselves a pass: this answers 403 for every role.
async fn create_my_tap(
    State(state): State<SharedState>,
    caller: Caller,
    GraphJson(req): GraphJson<CreateTap>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    issue(&state, &caller, Subject::Me, req).await
}

#[utoipa::path(delete, path = "/users/{user}/authentication/temporaryAccessPassMethods/{id}", tag = "methods", params(("user" = String, Path, description = "The user's id or userPrincipalName."), ("id" = String, Path, description = "The pass's id.")),
    responses((status = 204, description = "Deleted.")))]
async fn delete_tap(
    State(state): State<SharedState>,
    Path((user, id)): Path<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    remove(&state, &caller, Subject::User(&user), &id).await
}

#[utoipa::path(delete, path = "/me/authentication/temporaryAccessPassMethods/{id}", tag = "methods", params(("id" = String, Path, description = "The pass's id.")),
    responses((status = 204, description = "Deleted.")))]
async fn delete_my_tap(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    remove(&state, &caller, Subject::Me, &id).await
}

// ----- passkeys -----

async fn passkeys_json(
    state: &SharedState,
    caller: &Caller,
    subject: Subject<'_>,
    odata: &OData,
) -> ApiResult<Json<Value>> {
    let (user, passkeys) = methods::passkeys(&state.svc, &caller.0, subject).await?;
    let value = passkeys.iter().map(fido2_json).collect();
    let context = context(&user, "fido2Methods");
    Ok(Json(small_collection(
        state, odata, &METHODS, &context, value,
    )?))
}

async fn one_passkey_json(
    state: &SharedState,
    caller: &Caller,
    subject: Subject<'_>,
    id: &str,
) -> ApiResult<Json<Value>> {
    let p = methods::passkey(&state.svc, &caller.0, subject, id).await?;
    Ok(Json(fido2_json(&p)))
}

async fn remove_passkey(
    state: &SharedState,
    caller: &Caller,
    subject: Subject<'_>,
    id: &str,
) -> ApiResult<StatusCode> {
    methods::delete_passkey(&state.svc, &caller.0, subject, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/users/{user}/authentication/fido2Methods", tag = "methods", params(("user" = String, Path, description = "The user's id or userPrincipalName."), SmallOptions),
    responses((status = 200, description = "The user's passkeys.", body = shapes::Fido2Collection)))]
async fn list_passkeys(
    State(state): State<SharedState>,
    Path(user): Path<String>,
    caller: Caller,
    odata: OData,
) -> ApiResult<Json<Value>> {
    passkeys_json(&state, &caller, Subject::User(&user), &odata).await
}

#[utoipa::path(get, path = "/me/authentication/fido2Methods", tag = "methods", params(SmallOptions),
    responses((status = 200, description = "Your passkeys.", body = shapes::Fido2Collection)))]
async fn my_passkeys(
    State(state): State<SharedState>,
    caller: Caller,
    odata: OData,
) -> ApiResult<Json<Value>> {
    passkeys_json(&state, &caller, Subject::Me, &odata).await
}

#[utoipa::path(get, path = "/users/{user}/authentication/fido2Methods/{id}", tag = "methods", params(("user" = String, Path, description = "The user's id or userPrincipalName."), ("id" = String, Path, description = "The passkey's id (its credential id, base64url).")),
    responses((status = 200, description = "The passkey.", body = shapes::Fido2Method)))]
async fn get_passkey(
    State(state): State<SharedState>,
    Path((user, id)): Path<(String, String)>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    one_passkey_json(&state, &caller, Subject::User(&user), &id).await
}

#[utoipa::path(get, path = "/me/authentication/fido2Methods/{id}", tag = "methods", params(("id" = String, Path, description = "The passkey's id (its credential id, base64url).")),
    responses((status = 200, description = "Your passkey.", body = shapes::Fido2Method)))]
async fn get_my_passkey(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    one_passkey_json(&state, &caller, Subject::Me, &id).await
}

#[utoipa::path(delete, path = "/users/{user}/authentication/fido2Methods/{id}", tag = "methods", params(("user" = String, Path, description = "The user's id or userPrincipalName."), ("id" = String, Path, description = "The passkey's id (its credential id, base64url).")),
    responses((status = 204, description = "Deleted.")))]
async fn delete_passkey(
    State(state): State<SharedState>,
    Path((user, id)): Path<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    remove_passkey(&state, &caller, Subject::User(&user), &id).await
}

#[utoipa::path(delete, path = "/me/authentication/fido2Methods/{id}", tag = "methods", params(("id" = String, Path, description = "The passkey's id (its credential id, base64url).")),
    responses((status = 204, description = "Deleted.")))]
async fn delete_my_passkey(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    remove_passkey(&state, &caller, Subject::Me, &id).await
}
