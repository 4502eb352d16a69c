//! The signed-in pages: My Security Info (a user's own methods) and the admin center. They are
//! thin HTML over the Graph API: every read and change goes through the same routes, rules,
//! validation and audit as an API call, as the signed-in user, with a short-lived token minted
//! for the browser session (capped like the session, so a deleted pass ends it).

use std::net::SocketAddr;

use askama::Template;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tapd_core::{
    Action, MAX_CODE_LENGTH, MAX_LIFETIME_MINUTES, MIN_CODE_LENGTH, MIN_LIFETIME_MINUTES,
    Principal, Role,
};
use tapd_store::{UserRecord, WebSession};
use time::OffsetDateTime;
use tower::ServiceExt;
use uuid::Uuid;

use crate::error::ApiError;
use crate::tokens::{Claims, GRAPH_AUDIENCE};
use crate::web::{Csrf, csrf_refused, current_session, html, render};
use crate::{AppState, SharedState};

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/mysecurityinfo", get(security_info))
        .route("/mysecurityinfo/delete", post(delete_own_method))
        .route("/admin", get(admin_home))
        .route("/admin/policy", get(policy_page).post(save_policy))
        .route("/admin/users", get(users_page).post(create_user))
        .route("/admin/users/{id}", get(user_page))
        .route("/admin/users/{id}/tap", post(issue_tap))
        .route("/admin/users/{id}/methods/delete", post(delete_method))
        .route("/admin/roles", get(roles_page).post(assign_role))
        .route("/admin/roles/remove", post(remove_role))
}

/// A signed-in browser: its session, user, roles, CSRF token and address.
pub struct Visitor {
    session: WebSession,
    pub user: UserRecord,
    principal: Principal,
    csrf: Csrf,
    peer: SocketAddr,
}

impl FromRequestParts<SharedState> for Visitor {
    type Rejection = Response;

    /// Signed in, or sent to sign in and brought back to this page.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Visitor, Response> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)), |c| c.0);
        let back = if parts.method == Method::GET {
            parts.uri.path()
        } else {
            "/mysecurityinfo"
        };
        Visitor::of(state, &parts.headers, peer, back).await
    }
}

impl Visitor {
    /// The answer to a form whose CSRF token is not this browser's, if it isn't.
    fn refuses(&self, state: &AppState, sent: &str) -> Option<Response> {
        let expected = self.csrf.token(state);
        let ok: bool = subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), sent.as_bytes()).into();
        (!ok).then(|| csrf_refused(state))
    }

    async fn of(
        state: &SharedState,
        headers: &HeaderMap,
        peer: SocketAddr,
        back: &str,
    ) -> Result<Visitor, Response> {
        let found = current_session(state, headers)
            .await
            .map_err(|_| crate::web::internal_page(state))?;
        let Some((session, user)) = found else {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("next", back)
                .finish();
            return Err(Redirect::to(&format!("/signin?{query}")).into_response());
        };
        let roles = state
            .store
            .roles_of(user.id)
            .await
            .map_err(|_| crate::web::internal_page(state))?;
        Ok(Visitor {
            principal: Principal::User { id: user.id, roles },
            csrf: Csrf::of(state, headers),
            session,
            user,
            peer,
        })
    }

    fn may(&self, action: Action) -> bool {
        tapd_core::authorize(&self.principal, &action).is_ok()
    }

    fn nav(&self, state: &AppState, current: &'static str) -> Nav {
        Nav {
            csrf: self.csrf.token(state),
            upn: self.user.upn.clone(),
            current,
            policy: self.may(Action::ReadPolicy),
            users: self.may(Action::ReadUsers),
            roles: self.may(Action::ReadRoleAssignments),
        }
    }

    /// Calls the Graph API as this user.
    async fn graph(
        &self,
        state: &SharedState,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ApiError> {
        let now = state.now();
        let session_end = self
            .session
            .expires_at
            .min(now + time::Duration::minutes(5));
        let claims = Claims {
            iss: state.signer.issuer().to_string(),
            aud: GRAPH_AUDIENCE.into(),
            sub: self.user.id.to_string(),
            tid: state.tenant.id.to_string(),
            iat: now.unix_timestamp(),
            nbf: now.unix_timestamp(),
            exp: session_end.unix_timestamp(),
            jti: Uuid::new_v4().to_string(),
            idtyp: "user".into(),
            amr: self
                .session
                .amr
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            upn: Some(self.user.upn.clone()),
            roles: vec![],
            tap: self.session.tap_id,
            azp: None,
            scp: None,
            sid: None,
        };
        let token = state.signer.sign(&claims, now);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
            .map_err(|_| ApiError::internal())?;
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let response = crate::graph::routes()
            .with_state(state.clone())
            .oneshot(request)
            .await
            .map_err(|_| ApiError::internal())?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .map_err(|_| ApiError::internal())?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        let message = value["error"]["message"]
            .as_str()
            .unwrap_or("The request failed.");
        Err(ApiError::new(status, "graphError", message))
    }

    fn page(self, body: String) -> Response {
        let mut response = html(StatusCode::OK, body, None);
        if let Some(set) = self.csrf.set {
            response.headers_mut().append(header::SET_COOKIE, set);
        }
        response
    }
}

pub struct Nav {
    csrf: String,
    upn: String,
    current: &'static str,
    policy: bool,
    users: bool,
    roles: bool,
}

fn text(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A date as pages show it: `2026-06-01 12:00 UTC`.
fn shown(v: &Value, key: &str) -> String {
    OffsetDateTime::parse(
        &text(v, key),
        &time::format_description::well_known::Rfc3339,
    )
    .map(page_time)
    .unwrap_or_default()
}

pub fn page_time(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

/// One authentication method as the pages list it.
pub struct MethodView {
    kind: &'static str,
    id: String,
    name: String,
    detail: String,
}

fn method_views(methods: &Value) -> Vec<MethodView> {
    let Some(items) = methods["value"].as_array() else {
        return vec![];
    };
    items
        .iter()
        .filter_map(|m| match m["@odata.type"].as_str()? {
            "#microsoft.graph.temporaryAccessPassAuthenticationMethod" => {
                let start = OffsetDateTime::parse(
                    &text(m, "startDateTime"),
                    &time::format_description::well_known::Rfc3339,
                )
                .ok()?;
                let end =
                    start + time::Duration::minutes(m["lifetimeInMinutes"].as_i64().unwrap_or(0));
                Some(MethodView {
                    kind: "tap",
                    id: text(m, "id"),
                    name: "Temporary Access Pass".into(),
                    detail: format!(
                        "{}valid {} to {} · {}",
                        if m["isUsableOnce"] == true {
                            "One-time, "
                        } else {
                            ""
                        },
                        page_time(start),
                        page_time(end),
                        usability_text(&text(m, "methodUsabilityReason"))
                    ),
                })
            }
            "#microsoft.graph.fido2AuthenticationMethod" => Some(MethodView {
                kind: "passkey",
                id: text(m, "id"),
                name: format!("Passkey: {}", text(m, "displayName")),
                detail: format!("Added {}", shown(m, "createdDateTime")),
            }),
            "#microsoft.graph.passwordAuthenticationMethod" => Some(MethodView {
                kind: "password",
                id: text(m, "id"),
                name: "Password".into(),
                detail: String::new(),
            }),
            _ => None,
        })
        .collect()
}

fn usability_text(reason: &str) -> &'static str {
    match reason {
        "EnabledByPolicy" => "usable now",
        "NotYetValid" => "not valid yet",
        "Expired" => "expired",
        "OneTimeUsed" => "used",
        "DisabledByPolicy" => "blocked by policy",
        "Locked" => "locked after wrong attempts",
        _ => "unknown state",
    }
}

fn graph_path(kind: &str, id: &str) -> Option<String> {
    let collection = match kind {
        "tap" => "temporaryAccessPassMethods",
        "passkey" => "fido2Methods",
        _ => return None,
    };
    let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    Some(format!("{collection}/{id}"))
}

// ----- My Security Info -----

#[derive(Template)]
#[template(path = "mysecurityinfo.html")]
struct SecurityInfoPage {
    nav: Nav,
    methods: Vec<MethodView>,
    has_passkey: bool,
    /// After a one-time pass: until when a new method may be registered.
    register_until: Option<String>,
    message: Option<String>,
    error: Option<String>,
}

async fn render_security_info(
    state: &SharedState,
    v: Visitor,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let methods = match v
        .graph(state, Method::GET, "/me/authentication/methods", None)
        .await
    {
        Ok(m) => method_views(&m),
        Err(e) => return crate::web::error_page(state, &e),
    };
    let register_until = match v.session.tap_id {
        Some(tap) => match state.store.tap_of(v.user.id).await {
            Ok(Some((p, _))) if p.id == tap && p.is_usable_once => {
                // As the registration endpoint counts it: from the pass's consumption.
                let signed_in = p.used_at.unwrap_or(v.session.auth_time);
                Some(page_time(signed_in + tapd_core::REGISTRATION_WINDOW))
            }
            _ => None,
        },
        None => None,
    };
    let page = SecurityInfoPage {
        nav: v.nav(state, "security"),
        has_passkey: methods.iter().any(|m| m.kind == "passkey"),
        methods,
        register_until,
        message,
        error,
    };
    let body = render(&page);
    v.page(body)
}

async fn security_info(State(state): State<SharedState>, v: Visitor) -> Response {
    render_security_info(&state, v, None, None).await
}

#[derive(Deserialize)]
struct DeleteForm {
    csrf: String,
    kind: String,
    id: String,
}

async fn delete_own_method(
    State(state): State<SharedState>,
    v: Visitor,
    Form(form): Form<DeleteForm>,
) -> Response {
    if let Some(refused) = v.refuses(&state, &form.csrf) {
        return refused;
    }
    let Some(path) = graph_path(&form.kind, &form.id) else {
        return render_security_info(
            &state,
            v,
            None,
            Some("This method can't be removed here.".into()),
        )
        .await;
    };
    match v
        .graph(
            &state,
            Method::DELETE,
            &format!("/me/authentication/{path}"),
            None,
        )
        .await
    {
        // Deleting the pass this session was opened with ends the session.
        Ok(_)
            if form.kind == "tap"
                && v.session.tap_id.map(|t| t.to_string()) == Some(form.id.clone()) =>
        {
            Redirect::to("/signin").into_response()
        }
        Ok(_) => render_security_info(&state, v, Some("Removed.".into()), None).await,
        Err(e) => render_security_info(&state, v, None, Some(e.message)).await,
    }
}

// ----- the admin center -----

async fn admin_home(v: Visitor) -> Response {
    let to = if v.may(Action::ReadUsers) {
        "/admin/users"
    } else if v.may(Action::ReadPolicy) {
        "/admin/policy"
    } else {
        "/mysecurityinfo"
    };
    Redirect::to(to).into_response()
}

pub struct GroupOption {
    id: String,
    name: String,
    included: bool,
    excluded: bool,
}

#[derive(Template)]
#[template(path = "admin_policy.html")]
struct PolicyPage {
    nav: Nav,
    can_edit: bool,
    enabled: bool,
    all_users: bool,
    groups: Vec<GroupOption>,
    min_lifetime: String,
    max_lifetime: String,
    default_lifetime: String,
    default_length: String,
    once: bool,
    limits_lifetime: String,
    limits_length: String,
    message: Option<String>,
    error: Option<String>,
}

/// The policy form's fields, as sent (repeated keys for the group lists).
fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn fields<'a>(form: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

async fn render_policy(
    state: &SharedState,
    v: Visitor,
    sent: Option<&[(String, String)]>,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let policy = match v.graph(state, Method::GET, "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass", None).await {
        Ok(p) => p,
        Err(e) => return crate::web::error_page(state, &e),
    };
    let groups = if v.may(Action::ReadGroups) {
        v.graph(state, Method::GET, "/groups", None)
            .await
            .unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let targets = |key: &str| -> Vec<String> {
        policy[key]
            .as_array()
            .map(|a| a.iter().map(|t| text(t, "id")).collect())
            .unwrap_or_default()
    };
    let (include, exclude) = match sent {
        Some(f) => (
            fields(f, "include")
                .into_iter()
                .map(str::to_string)
                .collect::<Vec<_>>(),
            fields(f, "exclude")
                .into_iter()
                .map(str::to_string)
                .collect::<Vec<_>>(),
        ),
        None => (targets("includeTargets"), targets("excludeTargets")),
    };
    let value = |form_key: &str, key: &str| match sent.and_then(|f| field(f, form_key)) {
        Some(s) => s.to_string(),
        None => text(&policy, key),
    };
    let page = PolicyPage {
        nav: v.nav(state, "policy"),
        can_edit: v.may(Action::WritePolicy),
        enabled: match sent {
            Some(f) => field(f, "enabled").is_some(),
            None => policy["state"] == "enabled",
        },
        all_users: include.iter().any(|i| i == tapd_core::ALL_USERS),
        groups: groups["value"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|g| GroupOption {
                        id: text(g, "id"),
                        name: text(g, "displayName"),
                        included: include.contains(&text(g, "id")),
                        excluded: exclude.contains(&text(g, "id")),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        min_lifetime: value("min", "minimumLifetimeInMinutes"),
        max_lifetime: value("max", "maximumLifetimeInMinutes"),
        default_lifetime: value("default", "defaultLifetimeInMinutes"),
        default_length: value("length", "defaultLength"),
        once: match sent {
            Some(f) => field(f, "once").is_some(),
            None => policy["isUsableOnce"] == true,
        },
        limits_lifetime: format!(
            "{MIN_LIFETIME_MINUTES} to {MAX_LIFETIME_MINUTES} minutes (30 days)"
        ),
        limits_length: format!("{MIN_CODE_LENGTH} to {MAX_CODE_LENGTH} characters"),
        message,
        error,
    };
    let body = render(&page);
    v.page(body)
}

async fn policy_page(State(state): State<SharedState>, v: Visitor) -> Response {
    render_policy(&state, v, None, None, None).await
}

/// A number field: the number, or the text as sent so the server's message names it.
fn number(form: &[(String, String)], name: &str) -> Value {
    let raw = field(form, name).unwrap_or("").trim();
    raw.parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| json!(raw))
}

async fn save_policy(
    State(state): State<SharedState>,
    v: Visitor,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(refused) = v.refuses(&state, field(&form, "csrf").unwrap_or("")) {
        return refused;
    }
    let target =
        |id: &str| json!({"targetType": "group", "id": id, "isRegistrationRequired": false});
    let patch = json!({
        "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
        "state": if field(&form, "enabled").is_some() { "enabled" } else { "disabled" },
        "includeTargets": fields(&form, "include").into_iter().map(target).collect::<Vec<_>>(),
        "excludeTargets": fields(&form, "exclude").into_iter().map(|id| json!({"targetType": "group", "id": id})).collect::<Vec<_>>(),
        "minimumLifetimeInMinutes": number(&form, "min"),
        "maximumLifetimeInMinutes": number(&form, "max"),
        "defaultLifetimeInMinutes": number(&form, "default"),
        "defaultLength": number(&form, "length"),
        "isUsableOnce": field(&form, "once").is_some(),
    });
    let path = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass";
    match v.graph(&state, Method::PATCH, path, Some(patch)).await {
        Ok(_) => render_policy(&state, v, None, Some("The policy was saved.".into()), None).await,
        Err(e) => render_policy(&state, v, Some(&form), None, Some(e.message)).await,
    }
}

pub struct UserRow {
    id: String,
    upn: String,
    name: String,
    enabled: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    nav: Nav,
    q: String,
    users: Vec<UserRow>,
    can_create: bool,
    error: Option<String>,
    sent_upn: String,
    sent_name: String,
}

#[derive(Deserialize)]
struct Search {
    #[serde(default)]
    q: String,
}

async fn render_users(
    state: &SharedState,
    v: Visitor,
    q: &str,
    error: Option<String>,
    sent: (&str, &str),
) -> Response {
    let users = match v.graph(state, Method::GET, "/users?$top=999", None).await {
        Ok(u) => u,
        Err(e) => return crate::web::error_page(state, &e),
    };
    let needle = q.trim().to_lowercase();
    let rows = users["value"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|u| UserRow {
                    id: text(u, "id"),
                    upn: text(u, "userPrincipalName"),
                    name: text(u, "displayName"),
                    enabled: u["accountEnabled"] != false,
                })
                .filter(|u| {
                    needle.is_empty()
                        || u.upn.to_lowercase().contains(&needle)
                        || u.name.to_lowercase().contains(&needle)
                })
                .collect()
        })
        .unwrap_or_default();
    let page = UsersPage {
        nav: v.nav(state, "users"),
        q: q.to_string(),
        users: rows,
        can_create: v.may(Action::WriteUsers),
        error,
        sent_upn: sent.0.to_string(),
        sent_name: sent.1.to_string(),
    };
    let body = render(&page);
    v.page(body)
}

async fn users_page(
    State(state): State<SharedState>,
    v: Visitor,
    Query(search): Query<Search>,
) -> Response {
    render_users(&state, v, &search.q, None, ("", "")).await
}

#[derive(Deserialize)]
struct NewUserForm {
    csrf: String,
    upn: String,
    name: String,
    #[serde(default)]
    password: String,
}

async fn create_user(
    State(state): State<SharedState>,
    v: Visitor,
    Form(form): Form<NewUserForm>,
) -> Response {
    if let Some(refused) = v.refuses(&state, &form.csrf) {
        return refused;
    }
    let upn = form.upn.trim();
    let mut body = json!({
        "accountEnabled": true,
        "displayName": form.name.trim(),
        "mailNickname": upn.split('@').next().unwrap_or(upn),
        "userPrincipalName": upn,
    });
    if !form.password.is_empty() {
        body["passwordProfile"] =
            json!({"password": form.password, "forceChangePasswordNextSignIn": false});
    }
    match v.graph(&state, Method::POST, "/users", Some(body)).await {
        Ok(user) => Redirect::to(&format!("/admin/users/{}", text(&user, "id"))).into_response(),
        Err(e) => render_users(&state, v, "", Some(e.message), (upn, form.name.trim())).await,
    }
}

pub struct RoleOption {
    id: &'static str,
    name: &'static str,
}

fn role_options() -> Vec<RoleOption> {
    Role::ALL
        .iter()
        .map(|r| RoleOption {
            id: r.template_id(),
            name: r.display_name(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct UserPage {
    nav: Nav,
    id: String,
    upn: String,
    name: String,
    created: String,
    roles: Vec<String>,
    methods: Option<Vec<MethodView>>,
    can_manage: bool,
    /// The pass just issued, shown this once.
    issued: Option<IssuedPass>,
    default_lifetime: String,
    default_once: bool,
    message: Option<String>,
    error: Option<String>,
}

pub struct IssuedPass {
    code: String,
    valid: String,
}

async fn render_user(
    state: &SharedState,
    v: Visitor,
    id: &str,
    issued: Option<IssuedPass>,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let seg: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    let user = match v
        .graph(state, Method::GET, &format!("/users/{seg}"), None)
        .await
    {
        Ok(u) => u,
        Err(e) => return crate::web::error_page(state, &e),
    };
    let user_id = text(&user, "id");
    let methods = v
        .graph(
            state,
            Method::GET,
            &format!("/users/{user_id}/authentication/methods"),
            None,
        )
        .await
        .ok()
        .map(|m| method_views(&m));
    let roles = v
        .graph(
            state,
            Method::GET,
            &format!(
                "/roleManagement/directory/roleAssignments?$filter=principalId eq '{user_id}'"
            ),
            None,
        )
        .await
        .ok()
        .and_then(|r| r["value"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|a| Role::from_template_id(a["roleDefinitionId"].as_str()?))
        .map(|r| r.display_name().to_string())
        .collect::<Vec<_>>();
    let target_is_admin = !roles.is_empty();
    let policy = state.store.policy().await.ok();
    let page = UserPage {
        nav: v.nav(state, "users"),
        can_manage: Uuid::parse_str(&user_id).is_ok_and(|target| {
            v.may(Action::ManageTap {
                target,
                target_is_admin,
            })
        }),
        id: user_id,
        upn: text(&user, "userPrincipalName"),
        name: text(&user, "displayName"),
        created: shown(&user, "createdDateTime"),
        roles,
        methods,
        issued,
        default_lifetime: policy
            .as_ref()
            .map(|p| p.default_lifetime_in_minutes.to_string())
            .unwrap_or_default(),
        default_once: policy.as_ref().is_some_and(|p| p.is_usable_once),
        message,
        error,
    };
    let body = render(&page);
    v.page(body)
}

async fn user_page(
    State(state): State<SharedState>,
    v: Visitor,
    Path(id): Path<String>,
) -> Response {
    render_user(&state, v, &id, None, None, None).await
}

#[derive(Deserialize)]
struct TapForm {
    csrf: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    start_at: String,
    #[serde(default)]
    lifetime: String,
    #[serde(default)]
    once: Option<String>,
    /// The browser's offset from UTC in minutes (set by the page's script; UTC without it).
    #[serde(default)]
    tz_offset: String,
}

/// `2026-06-01T14:30` as typed in the browser's time zone (`offset` minutes east of UTC).
fn local_to_utc(local: &str, offset_minutes: i64) -> Option<OffsetDateTime> {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let t = time::PrimitiveDateTime::parse(local, &f).ok()?;
    Some(t.assume_utc() - time::Duration::minutes(offset_minutes))
}

async fn issue_tap(
    State(state): State<SharedState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(form): Form<TapForm>,
) -> Response {
    if let Some(refused) = v.refuses(&state, &form.csrf) {
        return refused;
    }
    let mut body = json!({"isUsableOnce": form.once.is_some()});
    if !form.lifetime.trim().is_empty() {
        body["lifetimeInMinutes"] = form
            .lifetime
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or(json!(form.lifetime.trim()));
    }
    if form.start == "at" {
        let offset = form.tz_offset.trim().parse().unwrap_or(0);
        match local_to_utc(form.start_at.trim(), offset) {
            Some(t) => body["startDateTime"] = json!(crate::graph::format_time(t)),
            None => {
                return render_user(
                    &state,
                    v,
                    &id,
                    None,
                    None,
                    Some("Enter the activation time as a date and time, or choose Now.".into()),
                )
                .await;
            }
        }
    }
    let seg: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    match v
        .graph(
            &state,
            Method::POST,
            &format!("/users/{seg}/authentication/temporaryAccessPassMethods"),
            Some(body),
        )
        .await
    {
        Ok(pass) => {
            let start = OffsetDateTime::parse(
                &text(&pass, "startDateTime"),
                &time::format_description::well_known::Rfc3339,
            )
            .ok();
            let minutes = pass["lifetimeInMinutes"].as_i64().unwrap_or(0);
            let issued = IssuedPass {
                code: text(&pass, "temporaryAccessPass"),
                valid: start
                    .map(|s| {
                        format!(
                            "{}valid {} to {}",
                            if pass["isUsableOnce"] == true {
                                "One-time, "
                            } else {
                                ""
                            },
                            page_time(s),
                            page_time(s + time::Duration::minutes(minutes))
                        )
                    })
                    .unwrap_or_default(),
            };
            render_user(&state, v, &id, Some(issued), None, None).await
        }
        Err(e) => render_user(&state, v, &id, None, None, Some(e.message)).await,
    }
}

async fn delete_method(
    State(state): State<SharedState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Response {
    if let Some(refused) = v.refuses(&state, &form.csrf) {
        return refused;
    }
    let Some(path) = graph_path(&form.kind, &form.id) else {
        return render_user(
            &state,
            v,
            &id,
            None,
            None,
            Some("This method can't be removed here.".into()),
        )
        .await;
    };
    let seg: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    match v
        .graph(
            &state,
            Method::DELETE,
            &format!("/users/{seg}/authentication/{path}"),
            None,
        )
        .await
    {
        Ok(_) => render_user(&state, v, &id, None, Some("Removed.".into()), None).await,
        Err(e) => render_user(&state, v, &id, None, None, Some(e.message)).await,
    }
}

pub struct AssignmentRow {
    id: String,
    user: String,
    role: String,
}

#[derive(Template)]
#[template(path = "admin_roles.html")]
struct RolesPage {
    nav: Nav,
    assignments: Vec<AssignmentRow>,
    roles: Vec<RoleOption>,
    can_assign: bool,
    message: Option<String>,
    error: Option<String>,
}

async fn render_roles(
    state: &SharedState,
    v: Visitor,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let assignments = match v
        .graph(
            state,
            Method::GET,
            "/roleManagement/directory/roleAssignments",
            None,
        )
        .await
    {
        Ok(a) => a,
        Err(e) => return crate::web::error_page(state, &e),
    };
    let mut rows = Vec::new();
    for a in assignments["value"].as_array().cloned().unwrap_or_default() {
        let user = match Uuid::parse_str(&text(&a, "principalId")) {
            Ok(id) => state
                .store
                .find_user(&id.to_string())
                .await
                .ok()
                .flatten()
                .map(|u| u.upn),
            Err(_) => None,
        };
        rows.push(AssignmentRow {
            id: text(&a, "id"),
            user: user.unwrap_or_else(|| text(&a, "principalId")),
            role: Role::from_template_id(&text(&a, "roleDefinitionId"))
                .map(|r| r.display_name().to_string())
                .unwrap_or_default(),
        });
    }
    rows.sort_by(|a, b| (&a.user, &a.role).cmp(&(&b.user, &b.role)));
    let page = RolesPage {
        nav: v.nav(state, "roles"),
        can_assign: v.may(Action::WriteRoleAssignments),
        assignments: rows,
        roles: role_options(),
        message,
        error,
    };
    let body = render(&page);
    v.page(body)
}

async fn roles_page(State(state): State<SharedState>, v: Visitor) -> Response {
    render_roles(&state, v, None, None).await
}

#[derive(Deserialize)]
struct AssignForm {
    csrf: String,
    upn: String,
    role: String,
}

async fn assign_role(
    State(state): State<SharedState>,
    v: Visitor,
    Form(form): Form<AssignForm>,
) -> Response {
    if let Some(refused) = v.refuses(&state, &form.csrf) {
        return refused;
    }
    let user = match state.store.find_user(form.upn.trim()).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return render_roles(
                &state,
                v,
                None,
                Some(format!("No user '{}'.", form.upn.trim())),
            )
            .await;
        }
        Err(_) => return crate::web::internal_page(&state),
    };
    let body =
        json!({"principalId": user.id, "roleDefinitionId": form.role, "directoryScopeId": "/"});
    match v
        .graph(
            &state,
            Method::POST,
            "/roleManagement/directory/roleAssignments",
            Some(body),
        )
        .await
    {
        Ok(_) => {
            render_roles(
                &state,
                v,
                Some(format!("Role assigned to {}.", user.upn)),
                None,
            )
            .await
        }
        Err(e) => render_roles(&state, v, None, Some(e.message)).await,
    }
}

#[derive(Deserialize)]
struct RemoveForm {
    csrf: String,
    id: String,
}

async fn remove_role(
    State(state): State<SharedState>,
    v: Visitor,
    Form(form): Form<RemoveForm>,
) -> Response {
    if let Some(refused) = v.refuses(&state, &form.csrf) {
        return refused;
    }
    let id: String = form_urlencoded::byte_serialize(form.id.as_bytes()).collect();
    match v
        .graph(
            &state,
            Method::DELETE,
            &format!("/roleManagement/directory/roleAssignments/{id}"),
            None,
        )
        .await
    {
        Ok(_) => render_roles(&state, v, Some("Role removed.".into()), None).await,
        Err(e) => render_roles(&state, v, None, Some(e.message)).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_read_in_the_browser_time_zone() {
        let t = local_to_utc("2026-06-01T14:30", 120).expect("parses");
        assert_eq!(t, time::macros::datetime!(2026-06-01 12:30 UTC));
        assert_eq!(local_to_utc("yesterday", 0), None);
    }
}
