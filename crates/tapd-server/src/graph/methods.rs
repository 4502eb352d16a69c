//! A user's authentication methods: the Temporary Access Pass (SPEC §5), passkeys (SPEC §6.3)
//! and the listing of all methods, under `/users/{id|upn}/authentication` and
//! `/me/authentication`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};
use tapd_core::{Action, IssueRequest, TapPass, plan_issue};
use tapd_store::{PasskeyRecord, UserRecord};
use uuid::Uuid;

use super::{change_record, collection, format_time, parse_time, target_user};
use crate::SharedState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::GraphJson;
use crate::secrets::new_code;

/// Graph's fixed id of the password method.
const PASSWORD_METHOD_ID: &str = "28c10230-6103-485e-b985-444c60001490";

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/users/{user}/authentication/methods", get(list_methods))
        .route(
            "/users/{user}/authentication/temporaryAccessPassMethods",
            get(list_taps).post(create_tap),
        )
        .route(
            "/users/{user}/authentication/temporaryAccessPassMethods/{id}",
            get(get_tap).delete(delete_tap),
        )
        .route(
            "/users/{user}/authentication/fido2Methods",
            get(list_passkeys),
        )
        .route(
            "/users/{user}/authentication/fido2Methods/{id}",
            get(get_passkey).delete(delete_passkey),
        )
        .route("/me/authentication/methods", get(my_methods))
        .route("/me/authentication/fido2Methods", get(my_passkeys))
        .route(
            "/me/authentication/fido2Methods/{id}",
            get(get_my_passkey).delete(delete_my_passkey),
        )
        .route(
            "/me/authentication/temporaryAccessPassMethods",
            get(my_taps).post(create_my_tap),
        )
        .route(
            "/me/authentication/temporaryAccessPassMethods/{id}",
            get(get_my_tap).delete(delete_my_tap),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateTap {
    start_date_time: Option<String>,
    lifetime_in_minutes: Option<i64>,
    is_usable_once: Option<bool>,
}

/// The pass as Graph shows it; `code` only in the response that created it.
async fn tap_json(
    state: &SharedState,
    user: &UserRecord,
    pass: &TapPass,
    code: Option<&str>,
) -> ApiResult<Value> {
    let policy = state.store.policy().await?;
    let in_scope = state.store.in_scope(&policy, user.id).await?;
    let reason = pass.usability(&policy, in_scope, state.now());
    Ok(json!({
        "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
        "id": pass.id,
        "temporaryAccessPass": code,
        "createdDateTime": format_time(pass.created_at),
        "startDateTime": format_time(pass.start),
        "lifetimeInMinutes": pass.lifetime_minutes,
        "isUsableOnce": pass.is_usable_once,
        "isUsable": reason.is_usable(),
        "methodUsabilityReason": reason,
    }))
}

/// A passkey as Graph's `fido2AuthenticationMethod`; its id is the credential id in base64url.
/// tapd keeps no authenticator metadata, so the model is unknown and nothing is attested.
pub(crate) fn fido2_json(p: &PasskeyRecord) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.fido2AuthenticationMethod",
        "id": URL_SAFE_NO_PAD.encode(&p.credential_id),
        "displayName": p.display_name,
        "createdDateTime": format_time(p.created_at),
        "aaGuid": p.aaguid,
        "model": null,
        "attestationLevel": "notAttested",
        "attestationCertificates": [],
    })
}

/// Resolves the target user and checks the caller may read its methods. An unknown user is a
/// 404 only for callers who could read some user's methods; others learn nothing (403).
async fn readable_user(state: &SharedState, caller: &Caller, id: &str) -> ApiResult<UserRecord> {
    match state.store.find_user(id).await? {
        Some(user) => {
            caller.authorize(Action::ReadMethods { target: user.id })?;
            Ok(user)
        }
        None => {
            caller.authorize(Action::ReadMethods {
                target: Uuid::nil(),
            })?;
            Err(ApiError::user_not_found(id))
        }
    }
}

/// Resolves the target user and checks the caller may issue or delete its pass.
async fn manageable_user(state: &SharedState, caller: &Caller, id: &str) -> ApiResult<UserRecord> {
    match state.store.find_user(id).await? {
        Some(user) => {
            let target_is_admin = !state.store.roles_of(user.id).await?.is_empty();
            caller.authorize(Action::ManageTap {
                target: user.id,
                target_is_admin,
            })?;
            Ok(user)
        }
        None => {
            caller.authorize(Action::ManageTap {
                target: Uuid::nil(),
                target_is_admin: false,
            })?;
            Err(ApiError::user_not_found(id))
        }
    }
}

async fn methods_json(state: &SharedState, user: &UserRecord) -> ApiResult<Value> {
    let mut value = Vec::new();
    if user.password_hash.is_some() {
        value.push(json!({
            "@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
            "id": PASSWORD_METHOD_ID,
            "password": null,
            "createdDateTime": user.password_set_at.map(format_time),
        }));
    }
    if let Some((pass, _)) = state.store.tap_of(user.id).await? {
        value.push(tap_json(state, user, &pass, None).await?);
    }
    let passkeys = state.store.passkeys_of(user.id).await?;
    value.extend(passkeys.iter().map(fido2_json));
    Ok(collection(
        state,
        &format!("users('{}')/authentication/methods", user.id),
        value,
    ))
}

async fn taps_json(state: &SharedState, user: &UserRecord) -> ApiResult<Value> {
    let mut value = Vec::new();
    if let Some((pass, _)) = state.store.tap_of(user.id).await? {
        value.push(tap_json(state, user, &pass, None).await?);
    }
    Ok(collection(
        state,
        &format!(
            "users('{}')/authentication/temporaryAccessPassMethods",
            user.id
        ),
        value,
    ))
}

async fn one_tap_json(state: &SharedState, user: &UserRecord, id: &str) -> ApiResult<Value> {
    let not_found = || {
        ApiError::not_found(format!(
            "Temporary Access Pass '{id}' does not exist for this user."
        ))
    };
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    match state.store.tap_of(user.id).await? {
        Some((pass, _)) if pass.id == id => tap_json(state, user, &pass, None).await,
        _ => Err(not_found()),
    }
}

async fn issue(
    state: &SharedState,
    caller: &Caller,
    user: &UserRecord,
    req: CreateTap,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let now = state.now();
    let start = req
        .start_date_time
        .as_deref()
        .map(|s| parse_time("startDateTime", s))
        .transpose()?;
    // Any out-of-range number gets the policy's range message, not a parser's.
    let lifetime = req
        .lifetime_in_minutes
        .map(|m| u32::try_from(m).unwrap_or(if m < 0 { 0 } else { u32::MAX }));
    let policy = state.store.policy().await?;
    let plan = plan_issue(
        &policy,
        &IssueRequest {
            start,
            lifetime_minutes: lifetime,
            is_usable_once: req.is_usable_once,
        },
        user.is_external,
        now,
    )?;
    let code = new_code(plan.length);
    let pass = TapPass {
        id: Uuid::new_v4(),
        user_id: user.id,
        created_at: now,
        start: plan.start,
        lifetime_minutes: plan.lifetime_minutes,
        is_usable_once: plan.is_usable_once,
        used_at: None,
        failed_attempts: 0,
    };
    let record = change_record(
        state,
        caller,
        "UserManagement",
        "Admin registered temporary access pass method for user",
        "Add",
        vec![target_user(user)],
        vec![
            ("startDateTime", format_time(pass.start)),
            ("lifetimeInMinutes", pass.lifetime_minutes.to_string()),
            ("isUsableOnce", pass.is_usable_once.to_string()),
        ],
    );
    state
        .store
        .replace_tap(&pass, &state.keys.hash_code(&code), &record)
        .await?;
    let mut body = tap_json(state, user, &pass, Some(&code)).await?;
    body["@odata.context"] = json!(format!(
        "{}/v1.0/$metadata#users('{}')/authentication/temporaryAccessPassMethods/$entity",
        state.public_url, user.id
    ));
    Ok((StatusCode::CREATED, Json(body)))
}

async fn remove(
    state: &SharedState,
    caller: &Caller,
    user: &UserRecord,
    id: &str,
) -> ApiResult<StatusCode> {
    let not_found = || {
        ApiError::not_found(format!(
            "Temporary Access Pass '{id}' does not exist for this user."
        ))
    };
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let record = change_record(
        state,
        caller,
        "UserManagement",
        "Admin deleted temporary access pass method for user",
        "Delete",
        vec![target_user(user)],
        vec![("methodId", id.to_string())],
    );
    if !state.store.delete_tap(user.id, id, &record).await? {
        return Err(not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn list_methods(
    State(state): State<SharedState>,
    Path(user): Path<String>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let user = readable_user(&state, &caller, &user).await?;
    Ok(Json(methods_json(&state, &user).await?))
}

async fn list_taps(
    State(state): State<SharedState>,
    Path(user): Path<String>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let user = readable_user(&state, &caller, &user).await?;
    Ok(Json(taps_json(&state, &user).await?))
}

async fn get_tap(
    State(state): State<SharedState>,
    Path((user, id)): Path<(String, String)>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let user = readable_user(&state, &caller, &user).await?;
    Ok(Json(one_tap_json(&state, &user, &id).await?))
}

async fn create_tap(
    State(state): State<SharedState>,
    Path(user): Path<String>,
    caller: Caller,
    GraphJson(req): GraphJson<CreateTap>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let user = manageable_user(&state, &caller, &user).await?;
    issue(&state, &caller, &user, req).await
}

async fn delete_tap(
    State(state): State<SharedState>,
    Path((user, id)): Path<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let user = manageable_user(&state, &caller, &user).await?;
    remove(&state, &caller, &user, &id).await
}

async fn my_methods(State(state): State<SharedState>, caller: Caller) -> ApiResult<Json<Value>> {
    Ok(Json(methods_json(&state, caller.user()?).await?))
}

async fn my_taps(State(state): State<SharedState>, caller: Caller) -> ApiResult<Json<Value>> {
    Ok(Json(taps_json(&state, caller.user()?).await?))
}

async fn get_my_tap(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    Ok(Json(one_tap_json(&state, caller.user()?, &id).await?))
}

/// Nobody issues themselves a pass: this answers 403 for every role.
async fn create_my_tap(
    State(state): State<SharedState>,
    caller: Caller,
    GraphJson(req): GraphJson<CreateTap>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let user = caller.user()?.clone();
    caller.authorize(Action::ManageTap {
        target: user.id,
        target_is_admin: false,
    })?;
    issue(&state, &caller, &user, req).await
}

async fn delete_my_tap(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let user = caller.user()?.clone();
    caller.authorize(Action::DeleteOwnMethod)?;
    remove(&state, &caller, &user, &id).await
}

// ----- passkeys -----

async fn passkeys_json(state: &SharedState, user: &UserRecord) -> ApiResult<Value> {
    let passkeys = state.store.passkeys_of(user.id).await?;
    Ok(collection(
        state,
        &format!("users('{}')/authentication/fido2Methods", user.id),
        passkeys.iter().map(fido2_json).collect(),
    ))
}

fn passkey_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "FIDO2 authentication method '{id}' does not exist for this user."
    ))
}

async fn one_passkey_json(state: &SharedState, user: &UserRecord, id: &str) -> ApiResult<Value> {
    let credential_id = URL_SAFE_NO_PAD
        .decode(id)
        .map_err(|_| passkey_not_found(id))?;
    match state.store.passkey(&credential_id).await? {
        Some(p) if p.user_id == user.id => Ok(fido2_json(&p)),
        _ => Err(passkey_not_found(id)),
    }
}

async fn remove_passkey(
    state: &SharedState,
    caller: &Caller,
    user: &UserRecord,
    id: &str,
) -> ApiResult<StatusCode> {
    let credential_id = URL_SAFE_NO_PAD
        .decode(id)
        .map_err(|_| passkey_not_found(id))?;
    let activity = if caller.user_id() == Some(user.id) {
        "User deleted security info"
    } else {
        "Admin deleted security info"
    };
    let record = change_record(
        state,
        caller,
        "UserManagement",
        activity,
        "Delete",
        vec![target_user(user)],
        vec![
            ("methodType", "Passkey".into()),
            ("methodId", id.to_string()),
        ],
    );
    if !state
        .store
        .delete_passkey(user.id, &credential_id, &record)
        .await?
    {
        return Err(passkey_not_found(id));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn list_passkeys(
    State(state): State<SharedState>,
    Path(user): Path<String>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let user = readable_user(&state, &caller, &user).await?;
    Ok(Json(passkeys_json(&state, &user).await?))
}

async fn get_passkey(
    State(state): State<SharedState>,
    Path((user, id)): Path<(String, String)>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let user = readable_user(&state, &caller, &user).await?;
    Ok(Json(one_passkey_json(&state, &user, &id).await?))
}

/// Removing another user's passkey takes the same role as managing their pass.
async fn delete_passkey(
    State(state): State<SharedState>,
    Path((user, id)): Path<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let user = manageable_user(&state, &caller, &user).await?;
    remove_passkey(&state, &caller, &user, &id).await
}

async fn my_passkeys(State(state): State<SharedState>, caller: Caller) -> ApiResult<Json<Value>> {
    Ok(Json(passkeys_json(&state, caller.user()?).await?))
}

async fn get_my_passkey(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    Ok(Json(one_passkey_json(&state, caller.user()?, &id).await?))
}

async fn delete_my_passkey(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let user = caller.user()?.clone();
    caller.authorize(Action::DeleteOwnMethod)?;
    remove_passkey(&state, &caller, &user, &id).await
}
