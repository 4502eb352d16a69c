//! The token endpoint (authorization code with PKCE, refresh with rotation, client
//! credentials, the device code of RFC 8628) and the device authorization endpoint, revocation (RFC 7009), introspection (RFC 7662) and userinfo: the protocol's
//! forms parsed here, the grants decided by the service.

use std::net::SocketAddr;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{OAuthError, OAuthResult};
use super::path_tenant;
use crate::http::caller::Caller;
use crate::http::error::ApiError;
use crate::openapi::shapes;
use crate::service::oauth::{self, CodeGrant, Introspection, Presented};
use crate::service::sessions::Tokens;
use crate::service::signin::check_rate;
use crate::service::{Ctx, Initiator};
use crate::service::{code_flow, device};
use crate::state::{AppState, SharedState};
use uuid::Uuid;

pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(token))
        .routes(routes!(tenant_token))
        .routes(routes!(device_authorization))
        .routes(routes!(tenant_device_authorization))
        .routes(routes!(revoke))
        .routes(routes!(introspect))
        .routes(routes!(userinfo))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    /// The device code of the device authorization grant (RFC 8628 §3.4).
    device_code: Option<String>,
    scope: Option<String>,
    token: Option<String>,
    #[allow(dead_code)]
    token_type_hint: Option<String>,
}

type TokenForm = Result<Form<TokenRequest>, FormRejection>;

fn form_of(form: TokenForm) -> OAuthResult<TokenRequest> {
    form.map(|Form(f)| f).map_err(|_| {
        OAuthError::invalid_request("The body must be application/x-www-form-urlencoded.")
    })
}

/// Client id and secret from HTTP Basic authentication (RFC 6749 §2.3.1) or the form.
fn presented(headers: &HeaderMap, req: &TokenRequest) -> Presented {
    presented_as(headers, &req.client_id, &req.client_secret)
}

fn presented_as(
    headers: &HeaderMap,
    client_id: &Option<String>,
    client_secret: &Option<String>,
) -> Presented {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|d| String::from_utf8(d).ok())
        .and_then(|s| {
            let (id, secret) = s.split_once(':')?;
            let decode = |v: &str| {
                form_urlencoded::parse(format!("v={v}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            Some((decode(id)?, decode(secret)?))
        });
    match basic {
        Some((id, secret)) => Presented {
            client_id: Some(id),
            secret: Some(secret),
        },
        None => Presented {
            client_id: client_id.clone(),
            secret: client_secret.clone(),
        },
    }
}

#[utoipa::path(post, path = "/{tenant}/oauth2/v2.0/token", tag = "oidc", params(("tenant" = String, Path, description = "The tenant id, or `organizations` / `common`.")), request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"), security(()),
    responses((status = 200, description = "Tokens (authorization code with PKCE, refresh, client credentials).", body = shapes::TokenResponse)))]
async fn tenant_token(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: TokenForm,
) -> Response {
    match path_tenant(&state, &tenant).await {
        Ok(tenant) => token_in(&state, tenant, connect, &headers, form).await,
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(post, path = "/oauth2/v2.0/token", tag = "oidc", request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"), security(()),
    responses((status = 200, description = "Tokens (authorization code with PKCE, refresh, client credentials).", body = shapes::TokenResponse)))]
/// The token endpoint without a tenant in its path: the default tenant's.
async fn token(
    State(state): State<SharedState>,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: TokenForm,
) -> Response {
    token_in(&state, state.default_tenant.id, connect, &headers, form).await
}

async fn token_in(
    state: &AppState,
    tenant: Uuid,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: &HeaderMap,
    form: TokenForm,
) -> Response {
    let ctx = state.ctx_in(tenant, Initiator::Anonymous, Some(peer.ip()));
    match grant(state, &ctx, headers, form).await {
        Ok(body) => (
            StatusCode::OK,
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            Json(body),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn grant(
    state: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    form: TokenForm,
) -> OAuthResult<Value> {
    check_rate(&state.sessions.limiter, ctx.ip)?;
    let req = form_of(form)?;
    state.refresh_keys().await.map_err(OAuthError::server)?;
    match req.grant_type.as_deref() {
        Some("client_credentials") => client_credentials(state, ctx, headers, &req).await,
        Some("authorization_code") => authorization_code(state, ctx, headers, &req).await,
        Some("refresh_token") => refresh(state, ctx, headers, &req).await,
        Some(DEVICE_CODE_GRANT) => device_code(state, ctx, headers, &req).await,
        Some(_) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!(
                "Supported grant types: authorization_code, refresh_token, client_credentials, {DEVICE_CODE_GRANT}."
            ),
        )),
        None => Err(OAuthError::invalid_request("grant_type is required.")),
    }
}

async fn client_credentials(
    state: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    req: &TokenRequest,
) -> OAuthResult<Value> {
    let client =
        oauth::authenticate_client(&state.svc, ctx, &presented(headers, req), true).await?;
    let access_token = oauth::client_credentials(&state.sessions, ctx, &client).await?;
    let ttl = state.sessions.access_token_ttl.whole_seconds();
    Ok(json!({
        "token_type": "Bearer",
        "expires_in": ttl,
        "ext_expires_in": ttl,
        "access_token": access_token,
    }))
}

fn token_response(t: &Tokens, scope: &str, now: OffsetDateTime) -> Value {
    let mut body = json!({
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": (t.access_expires - now).whole_seconds().max(0),
        "ext_expires_in": (t.access_expires - now).whole_seconds().max(0),
        "access_token": t.access_token,
    });
    if let Some((token, _)) = &t.refresh {
        body["refresh_token"] = json!(token);
    }
    if let Some(id_token) = &t.id_token {
        body["id_token"] = json!(id_token);
    }
    body
}

async fn authorization_code(
    state: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    req: &TokenRequest,
) -> OAuthResult<Value> {
    let client =
        oauth::authenticate_client(&state.svc, ctx, &presented(headers, req), false).await?;
    let code = CodeGrant {
        code: req.code.as_deref(),
        redirect_uri: req.redirect_uri.as_deref(),
        code_verifier: req.code_verifier.as_deref(),
    };
    let granted = oauth::redeem_code(&state.svc, &state.sessions, ctx, &client, code).await?;
    Ok(token_response(&granted.tokens, &granted.scope, ctx.now))
}

/// RFC 8628's grant type.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn device_code(
    state: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    req: &TokenRequest,
) -> OAuthResult<Value> {
    let client =
        oauth::authenticate_client(&state.svc, ctx, &presented(headers, req), false).await?;
    let granted = device::poll(
        &state.svc,
        &state.sessions,
        ctx,
        &client,
        req.device_code.as_deref(),
    )
    .await?;
    Ok(token_response(&granted.tokens, &granted.scope, ctx.now))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct DeviceCodeRequest {
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

#[utoipa::path(post, path = "/{tenant}/oauth2/v2.0/devicecode", tag = "oidc", params(("tenant" = String, Path, description = "The tenant id, or `organizations` / `common`.")), request_body(content = DeviceCodeRequest, content_type = "application/x-www-form-urlencoded"), security(()),
    responses((status = 200, description = "A device code, and the user code for the person to enter at the verification URI (RFC 8628 §3.2).", body = shapes::DeviceAuthorization)))]
async fn tenant_device_authorization(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<DeviceCodeRequest>, FormRejection>,
) -> Response {
    match path_tenant(&state, &tenant).await {
        Ok(tenant) => device_authorization_in(&state, tenant, connect, &headers, form).await,
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(post, path = "/oauth2/v2.0/devicecode", tag = "oidc", request_body(content = DeviceCodeRequest, content_type = "application/x-www-form-urlencoded"), security(()),
    responses((status = 200, description = "A device code, and the user code for the person to enter at the verification URI (RFC 8628 §3.2).", body = shapes::DeviceAuthorization)))]
/// RFC 8628 §3.1: a device asks for a device code and a user code.
async fn device_authorization(
    State(state): State<SharedState>,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<DeviceCodeRequest>, FormRejection>,
) -> Response {
    let tenant = state.default_tenant.id;
    device_authorization_in(&state, tenant, connect, &headers, form).await
}

async fn device_authorization_in(
    state: &AppState,
    tenant: Uuid,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: &HeaderMap,
    form: Result<Form<DeviceCodeRequest>, FormRejection>,
) -> Response {
    let ctx = state.ctx_in(tenant, Initiator::Anonymous, Some(peer.ip()));
    let result = async {
        check_rate(&state.sessions.limiter, ctx.ip)?;
        let Form(req) = form.map_err(|_| {
            OAuthError::invalid_request("The body must be application/x-www-form-urlencoded.")
        })?;
        let presented = presented_as(headers, &req.client_id, &req.client_secret);
        let client = oauth::authenticate_client(&state.svc, &ctx, &presented, false).await?;
        let started = device::start(&state.svc, &ctx, &client, req.scope.as_deref()).await?;
        let uri = format!("{}/device", state.public_url);
        let complete = code_flow::with_params(&uri, &[("user_code", started.user_code.as_str())]);
        Ok::<_, OAuthError>(json!({
            "device_code": started.device_code,
            "user_code": started.user_code,
            "verification_uri": uri,
            "verification_uri_complete": complete,
            "expires_in": started.expires_in.whole_seconds(),
            "interval": started.interval.whole_seconds(),
            "message": format!(
                "To sign in, use a web browser to open the page {uri} and enter the code {} to authenticate.",
                started.user_code
            ),
        }))
    };
    match result.await {
        Ok(body) => (
            StatusCode::OK,
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            Json(body),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn refresh(
    state: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    req: &TokenRequest,
) -> OAuthResult<Value> {
    let token = req
        .refresh_token
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required."))?;
    // tapd's own sign-in API issues refresh tokens without a client.
    let presented = presented(headers, req);
    let client = match presented.client_id {
        Some(_) => Some(oauth::authenticate_client(&state.svc, ctx, &presented, false).await?),
        None => None,
    };
    let scope = req.scope.as_deref();
    let r = oauth::refresh(
        &state.svc,
        &state.sessions,
        ctx,
        client.as_ref(),
        token,
        scope,
    )
    .await?;
    match r.old.client_id {
        // tapd's own sign-in API: the shape the CLI reads.
        None => Ok(crate::api::session_json(
            &r.tokens, &r.user, &r.old.amr, ctx.now,
        )),
        Some(_) => Ok(token_response(&r.tokens, &r.scope, ctx.now)),
    }
}

#[utoipa::path(post, path = "/oauth2/v2.0/revoke", tag = "oidc", request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"), security(()),
    responses((status = 200, description = "Revoked, or unknown (RFC 7009 answers both alike).")))]
/// RFC 7009: revokes a refresh token (and every token of its sign-in) or, given an access
/// token, the sign-in it belongs to. Unknown tokens are answered 200 too.
async fn revoke(State(state): State<SharedState>, headers: HeaderMap, form: TokenForm) -> Response {
    let ctx = state.ctx(Initiator::Anonymous, None);
    let result = async {
        let req = form_of(form)?;
        let client =
            oauth::authenticate_client(&state.svc, &ctx, &presented(&headers, &req), false).await?;
        oauth::revoke(
            &state.svc,
            &state.sessions,
            &ctx,
            &client,
            req.token.as_deref(),
        )
        .await?;
        Ok::<_, OAuthError>(StatusCode::OK.into_response())
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

#[utoipa::path(post, path = "/oauth2/v2.0/introspect", tag = "oidc", request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"), security(()),
    responses((status = 200, description = "Whether the token is active, and what it says.", body = shapes::Introspection)))]
/// RFC 7662, for confidential clients: whether a token is active, and what it says.
async fn introspect(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: TokenForm,
) -> Response {
    let ctx = state.ctx(Initiator::Anonymous, None);
    let result = async {
        let req = form_of(form)?;
        let client =
            oauth::authenticate_client(&state.svc, &ctx, &presented(&headers, &req), true).await?;
        let token = req
            .token
            .as_deref()
            .ok_or_else(|| OAuthError::invalid_request("token is required."))?;
        let found = oauth::introspect(&state.svc, &state.sessions, &ctx, token).await?;
        let issuer = state.sessions.signer.issuer(client.app.tenant);
        Ok::<_, OAuthError>(Json(introspection_json(issuer, found)))
    };
    match result.await {
        Ok(body) => ([(header::CACHE_CONTROL, "no-store")], body).into_response(),
        Err(e) => e.into_response(),
    }
}

/// What introspection says of a token; `issuer` is the tenant's, for a refresh token.
fn introspection_json(issuer: String, found: Introspection) -> Value {
    match found {
        Introspection::Inactive => json!({"active": false}),
        Introspection::Refresh(r) => json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": r.scope,
            "client_id": r.client_id,
            "sub": r.user_id,
            "exp": r.expires_at.unix_timestamp(),
            "iat": r.created_at.unix_timestamp(),
            "iss": issuer,
        }),
        Introspection::Access(claims) => json!({
            "active": true,
            "token_type": "Bearer",
            "scope": claims.scp,
            "client_id": claims.azp,
            "username": claims.upn,
            "sub": claims.sub,
            "aud": claims.aud,
            "iss": claims.iss,
            "exp": claims.exp,
            "iat": claims.iat,
            "nbf": claims.nbf,
            "jti": claims.jti,
            "amr": claims.amr,
        }),
    }
}

#[utoipa::path(method(get, post), path = "/oidc/userinfo", tag = "oidc",
    responses((status = 200, description = "Claims about the signed-in user.", body = shapes::UserInfo)))]
/// OpenID Connect userinfo, for an access token of a signed-in user.
async fn userinfo(caller: Result<Caller, ApiError>) -> Response {
    let user = match &caller {
        Ok(Caller(ctx, _)) => ctx.user().ok(),
        Err(_) => None,
    };
    let Some(user) = user else {
        return (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                "Bearer error=\"invalid_token\", error_description=\"A valid access token of a signed-in user is required.\"",
            )],
            Json(json!({"error": "invalid_token"})),
        )
            .into_response();
    };
    let mut body = json!({
        "sub": user.id,
        "oid": user.id,
        "name": user.display_name,
        "preferred_username": user.upn,
    });
    if let Some(v) = &user.given_name {
        body["given_name"] = json!(v);
    }
    if let Some(v) = &user.surname {
        body["family_name"] = json!(v);
    }
    if let Some(v) = &user.mail {
        body["email"] = json!(v);
    }
    Json(body).into_response()
}
