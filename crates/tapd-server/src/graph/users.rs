//! Users, invitations of external guests, and `/me`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tapd_core::Action;
use tapd_store::{UserRecord, UserType};
use uuid::Uuid;

use super::{change_record, collection, find_user, target_user, user_json};
use crate::SharedState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{GraphJson, GraphQuery};

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route(
            "/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/me", get(me))
        .route("/invitations", post(invite))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PasswordProfile {
    password: String,
    // Accepted for Graph compatibility; tapd has no forced password change.
    #[allow(dead_code)]
    force_change_password_next_sign_in: Option<bool>,
    #[allow(dead_code)]
    force_change_password_next_sign_in_with_mfa: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateUser {
    account_enabled: Option<bool>,
    display_name: String,
    user_principal_name: String,
    mail_nickname: Option<String>,
    given_name: Option<String>,
    surname: Option<String>,
    mail: Option<String>,
    user_type: Option<String>,
    password_profile: Option<PasswordProfile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UpdateUser {
    account_enabled: Option<bool>,
    display_name: Option<String>,
    user_principal_name: Option<String>,
    mail_nickname: Option<String>,
    given_name: Option<String>,
    surname: Option<String>,
    mail: Option<String>,
    password_profile: Option<PasswordProfile>,
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "$filter")]
    filter: Option<String>,
    #[serde(rename = "$top")]
    top: Option<String>,
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
}

pub const MAX_NAME_LEN: usize = 256;

fn check_text(field: &str, value: &str) -> ApiResult<()> {
    if value.trim().is_empty() || value.len() > MAX_NAME_LEN || value.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(format!(
            "Invalid value for property '{field}': it must be 1 to {MAX_NAME_LEN} printable characters."
        )));
    }
    Ok(())
}

/// A UPN is `alias@domain`, with the tenant's domain.
fn check_upn(upn: &str, domain: &str) -> ApiResult<()> {
    check_text("userPrincipalName", upn)?;
    let (alias, host) = upn.rsplit_once('@').ok_or_else(|| {
        ApiError::bad_request(
            "Invalid value for property 'userPrincipalName': it must be alias@domain.",
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
        return Err(ApiError::bad_request(
            "Invalid value for property 'userPrincipalName': the alias may hold letters, digits and ' . - _ ! # ^ ~, not starting or ending with a dot.",
        ));
    }
    if !host.eq_ignore_ascii_case(domain) {
        return Err(ApiError::bad_request(format!(
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization: {domain}."
        )));
    }
    Ok(())
}

pub const MIN_PASSWORD_LEN: usize = 8;

fn check_password(p: &str) -> ApiResult<()> {
    if p.chars().count() < MIN_PASSWORD_LEN || p.len() > 256 {
        return Err(ApiError::bad_request(format!(
            "The specified password does not comply with password complexity requirements: use {MIN_PASSWORD_LEN} to 256 characters."
        )));
    }
    Ok(())
}

pub async fn hash_password(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || crate::secrets::hash_password(&password))
        .await
        .map_err(|_| ApiError::internal())
}

/// Parses `userPrincipalName eq 'value'`, the filter Graph clients use to look a user up.
fn parse_upn_filter(filter: &str) -> ApiResult<String> {
    let unsupported = || {
        ApiError::bad_request(format!(
            "Unsupported $filter '{filter}': tapd supports userPrincipalName eq 'value'."
        ))
    };
    let rest = filter.trim();
    let (field, rest) = rest
        .split_once(char::is_whitespace)
        .ok_or_else(unsupported)?;
    let (op, value) = rest
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(unsupported)?;
    if !field.eq_ignore_ascii_case("userPrincipalName") || !op.eq_ignore_ascii_case("eq") {
        return Err(unsupported());
    }
    let value = value.trim();
    let inner = value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .ok_or_else(unsupported)?;
    Ok(inner.replace("''", "'"))
}

pub fn parse_top(top: Option<&str>, default: i64) -> ApiResult<i64> {
    match top {
        None => Ok(default),
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=999).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request("Invalid value for $top: use a number from 1 to 999.")
            }),
    }
}

async fn list_users(
    State(state): State<SharedState>,
    caller: Caller,
    GraphQuery(q): GraphQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    caller.authorize(Action::ReadUsers)?;
    let upn = q.filter.as_deref().map(parse_upn_filter).transpose()?;
    let top = parse_top(q.top.as_deref(), 100)?;
    let users = state
        .store
        .list_users(upn.as_deref(), q.skiptoken.as_deref(), top + 1)
        .await?;
    let more = users.len() as i64 > top;
    let page: Vec<_> = users.iter().take(top as usize).collect();
    let mut body = collection(&state, "users", page.iter().map(|u| user_json(u)).collect());
    if let (true, Some(last)) = (more, page.last()) {
        let mut next = url_with_query(&state, "/v1.0/users", &[("$top", top.to_string())]);
        next.push_str(&format!("&$skiptoken={}", encode(&last.upn.to_lowercase())));
        if let Some(f) = &q.filter {
            next.push_str(&format!("&$filter={}", encode(f)));
        }
        body["@odata.nextLink"] = json!(next);
    }
    Ok(Json(body))
}

pub fn url_with_query(state: &SharedState, path: &str, params: &[(&str, String)]) -> String {
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    format!("{}{path}?{}", state.public_url, query.join("&"))
}

pub use tapd_core::percent_encode as encode;

async fn get_user(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let user = state.store.find_user(&id).await?;
    let is_self = user.as_ref().map(|u| u.id) == caller.user_id() && user.is_some();
    if !is_self {
        caller.authorize(Action::ReadUsers)?;
    }
    let user = user.ok_or_else(|| ApiError::user_not_found(&id))?;
    Ok(Json(user_json(&user)))
}

async fn me(State(state): State<SharedState>, caller: Caller) -> ApiResult<Json<Value>> {
    let user = caller.user()?;
    let mut body = user_json(user);
    body["@odata.context"] = json!(format!("{}/v1.0/$metadata#users/$entity", state.public_url));
    Ok(Json(body))
}

async fn create_user(
    State(state): State<SharedState>,
    caller: Caller,
    GraphJson(req): GraphJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.authorize(Action::WriteUsers)?;
    check_text("displayName", &req.display_name)?;
    check_upn(&req.user_principal_name, &state.tenant.default_domain)?;
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
            ApiError::bad_request("Invalid value for property 'userType': use Member or Guest.")
        })?,
    };
    let password_hash = match req.password_profile {
        Some(p) => {
            check_password(&p.password)?;
            Some(hash_password(p.password).await?)
        }
        None => None,
    };
    let now = state.now();
    let user = UserRecord {
        id: Uuid::new_v4(),
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
        password_set_at: password_hash.as_ref().map(|_| now),
        password_hash,
        created_at: now,
    };
    let record = change_record(
        &state,
        &caller,
        "UserManagement",
        "Add user",
        "Add",
        vec![target_user(&user)],
        vec![],
    );
    state.store.create_user(&user, &record).await?;
    Ok((StatusCode::CREATED, Json(user_json(&user))))
}

async fn update_user(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
    GraphJson(req): GraphJson<UpdateUser>,
) -> ApiResult<StatusCode> {
    caller.authorize(Action::WriteUsers)?;
    let mut user = find_user(&state, &id).await?;
    if let Some(name) = req.display_name {
        check_text("displayName", &name)?;
        user.display_name = name;
    }
    if let Some(upn) = req.user_principal_name {
        if user.is_external {
            return Err(ApiError::bad_request(
                "The userPrincipalName of an external guest is set by its invitation.",
            ));
        }
        check_upn(&upn, &state.tenant.default_domain)?;
        user.upn = upn;
    }
    if let Some(v) = req.mail_nickname {
        check_text("mailNickname", &v)?;
    }
    for (field, value, slot) in [
        ("givenName", req.given_name, &mut user.given_name),
        ("surname", req.surname, &mut user.surname),
        ("mail", req.mail, &mut user.mail),
    ] {
        if let Some(v) = value {
            check_text(field, &v)?;
            *slot = Some(v);
        }
    }
    if let Some(enabled) = req.account_enabled {
        user.account_enabled = enabled;
    }
    if let Some(p) = req.password_profile {
        check_password(&p.password)?;
        user.password_hash = Some(hash_password(p.password).await?);
        user.password_set_at = Some(state.now());
    }
    let record = change_record(
        &state,
        &caller,
        "UserManagement",
        "Update user",
        "Update",
        vec![target_user(&user)],
        vec![],
    );
    state.store.update_user(&user, &record).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_user(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.authorize(Action::WriteUsers)?;
    let user = find_user(&state, &id).await?;
    if caller.user_id() == Some(user.id) {
        return Err(ApiError::bad_request("You cannot delete your own account."));
    }
    let record = change_record(
        &state,
        &caller,
        "UserManagement",
        "Delete user",
        "Delete",
        vec![target_user(&user)],
        vec![],
    );
    state.store.delete_user(user.id, &record).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Invitation {
    invited_user_email_address: String,
    invite_redirect_url: String,
    invited_user_display_name: Option<String>,
    send_invitation_message: Option<bool>,
    invited_user_type: Option<String>,
}

/// Invites an external guest (SPEC §8): a `Guest` user whose credentials live elsewhere.
async fn invite(
    State(state): State<SharedState>,
    caller: Caller,
    GraphJson(req): GraphJson<Invitation>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.authorize(Action::WriteUsers)?;
    let email = req.invited_user_email_address.trim().to_string();
    let (alias, host) = email
        .split_once('@')
        .filter(|(a, h)| !a.is_empty() && h.contains('.') && !h.contains('@'))
        .ok_or_else(|| {
            ApiError::bad_request("Invalid value for property 'invitedUserEmailAddress'.")
        })?;
    check_text("invitedUserEmailAddress", &email)?;
    check_text("inviteRedirectUrl", &req.invite_redirect_url)?;
    let _ = (req.send_invitation_message, req.invited_user_type);
    let upn = format!("{alias}_{host}#EXT#@{}", state.tenant.default_domain);
    let now = state.now();
    let user = UserRecord {
        id: Uuid::new_v4(),
        upn,
        display_name: req
            .invited_user_display_name
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
        created_at: now,
    };
    let record = change_record(
        &state,
        &caller,
        "UserManagement",
        "Invite external user",
        "Add",
        vec![target_user(&user)],
        vec![],
    );
    state.store.create_user(&user, &record).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "@odata.type": "#microsoft.graph.invitation",
            "id": Uuid::new_v4(),
            "invitedUserEmailAddress": email,
            "invitedUserDisplayName": user.display_name,
            "inviteRedirectUrl": req.invite_redirect_url,
            "inviteRedeemUrl": format!("{}/signin", state.public_url),
            "status": "PendingAcceptance",
            "invitedUser": {"id": user.id},
            "invitedUserType": "Guest",
        })),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upn_filters_parse() {
        assert_eq!(
            parse_upn_filter("userPrincipalName eq 'a@b.c'").unwrap(),
            "a@b.c"
        );
        assert_eq!(
            parse_upn_filter("userprincipalname  EQ 'o''b@b.c'").unwrap(),
            "o'b@b.c"
        );
        assert!(parse_upn_filter("displayName eq 'x'").is_err());
        assert!(parse_upn_filter("userPrincipalName eq x").is_err());
    }

    #[test]
    fn upns_are_checked() {
        assert!(check_upn("alice@tapd.local", "tapd.local").is_ok());
        assert!(check_upn("Alice@TAPD.local", "tapd.local").is_ok());
        assert!(check_upn("alice@other.com", "tapd.local").is_err());
        assert!(check_upn("al ice@tapd.local", "tapd.local").is_err());
        assert!(check_upn("@tapd.local", "tapd.local").is_err());
        assert!(check_upn("alice", "tapd.local").is_err());
    }
}
