//! The OAuth 2.0 / OpenID Connect endpoints other than the browser-facing ones: discovery and
//! keys, the token endpoint (authorization code with PKCE, refresh with rotation and reuse
//! detection, client credentials), userinfo, revocation (RFC 7009) and introspection
//! (RFC 7662). Errors are RFC 6749 §5.2 JSON.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tapd_core::TapPass;
use tapd_store::{AppRecord, Redeemed, RefreshToken, UserRecord};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::current_request_id;
use crate::signin::{Issue, Tokens, issue};
use crate::tokens::{Claims, GRAPH_AUDIENCE};
use crate::{AppState, SharedState};

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(tenant_discovery),
        )
        .route("/discovery/v2.0/keys", get(jwks))
        .route("/{tenant}/discovery/v2.0/keys", get(tenant_jwks))
        .route("/oauth2/v2.0/token", post(token))
        .route("/{tenant}/oauth2/v2.0/token", post(tenant_token))
        .route("/oauth2/v2.0/revoke", post(revoke))
        .route("/oauth2/v2.0/introspect", post(introspect))
        .route("/oidc/userinfo", get(userinfo).post(userinfo))
}

/// An OAuth 2.0 error (RFC 6749 §5.2).
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "error": error,
            "error_description": description,
            "correlation_id": current_request_id(),
        })),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"tapd\""),
        );
    }
    response
}

fn invalid_request(why: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", why)
}

fn invalid_grant(why: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why)
}

fn server_error(e: impl std::fmt::Display) -> Response {
    tracing::error!(request_id = %current_request_id(), error = %e, "token endpoint failure");
    oauth_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "An internal error occurred.",
    )
}

/// Whether `/{tenant}/…` names this directory: its id or its default domain.
pub(crate) fn is_our_tenant(state: &AppState, tenant: &str) -> bool {
    Uuid::parse_str(tenant).is_ok_and(|t| t == state.tenant.id)
        || tenant.eq_ignore_ascii_case(&state.tenant.default_domain)
}

fn unknown_tenant(tenant: &str) -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_tenant",
        &format!("Tenant '{tenant}' not found. Use the directory's id or its default domain."),
    )
}

// ----- discovery and keys -----

fn discovery_document(state: &AppState) -> Value {
    let base = &state.public_url;
    let tenant = state.tenant.id;
    json!({
        "issuer": state.signer.issuer(),
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
        "revocation_endpoint": format!("{base}/oauth2/v2.0/revoke"),
        "introspection_endpoint": format!("{base}/oauth2/v2.0/introspect"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "auth_time", "nonce", "amr",
            "tid", "oid", "sid", "preferred_username", "name", "email", "ver"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "request_uri_parameter_supported": false,
        "frontchannel_logout_supported": false,
        "tenant_region_scope": null,
    })
}

fn cacheable(body: Value) -> Response {
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(body)).into_response()
}

async fn discovery(State(state): State<SharedState>) -> Response {
    cacheable(discovery_document(&state))
}

async fn tenant_discovery(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
) -> Response {
    if !is_our_tenant(&state, &tenant) {
        return unknown_tenant(&tenant);
    }
    cacheable(discovery_document(&state))
}

async fn jwks(State(state): State<SharedState>) -> Response {
    if let Err(e) = state.refresh_keys().await {
        return server_error(e);
    }
    cacheable(state.signer.jwks(state.now()))
}

async fn tenant_jwks(State(state): State<SharedState>, Path(tenant): Path<String>) -> Response {
    if !is_our_tenant(&state, &tenant) {
        return unknown_tenant(&tenant);
    }
    jwks(State(state)).await
}

// ----- client authentication -----

#[derive(Deserialize, Default)]
pub(crate) struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
    token: Option<String>,
    #[allow(dead_code)]
    token_type_hint: Option<String>,
}

/// Who is calling the token endpoint.
struct ClientAuth {
    app: AppRecord,
    /// True when a valid secret was presented.
    authenticated: bool,
}

/// Client id and secret from HTTP Basic authentication (RFC 6749 §2.3.1) or the form.
fn presented_credentials(
    headers: &HeaderMap,
    req: &TokenRequest,
) -> (Option<String>, Option<String>) {
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
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (req.client_id.clone(), req.client_secret.clone()),
    }
}

/// Identifies the client; a presented secret must be valid. `require_secret` refuses public
/// clients (client credentials, introspection).
async fn authenticate_client(
    state: &AppState,
    headers: &HeaderMap,
    req: &TokenRequest,
    require_secret: bool,
) -> Result<ClientAuth, Response> {
    let bad_client = || {
        oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed: unknown client, or a wrong or expired secret.",
        )
    };
    let (id, secret) = presented_credentials(headers, req);
    let Some(id) = id else {
        return Err(invalid_request("client_id is required."));
    };
    let app = match Uuid::parse_str(&id) {
        Ok(id) => state
            .store
            .app_by_client_id(id)
            .await
            .map_err(server_error)?,
        Err(_) => None,
    };
    let Some(secret) = secret else {
        return match app {
            Some(app) if !require_secret => Ok(ClientAuth {
                app,
                authenticated: false,
            }),
            _ => Err(bad_client()),
        };
    };
    let now = state.now();
    let hashes: Vec<String> = app
        .iter()
        .flat_map(|a| &a.secrets)
        .filter(|s| s.start_at <= now && now < s.end_at)
        .map(|s| s.secret_hash.clone())
        .collect();
    let ok = tokio::task::spawn_blocking(move || {
        if hashes.is_empty() {
            // Spend the same time on an unknown client.
            crate::secrets::verify_password(&secret, None);
            return false;
        }
        hashes
            .iter()
            .any(|h| crate::secrets::verify_password(&secret, Some(h)))
    })
    .await
    .map_err(server_error)?;
    match app {
        Some(app) if ok => Ok(ClientAuth {
            app,
            authenticated: true,
        }),
        _ => Err(bad_client()),
    }
}

/// Public clients (SPA, mobile and desktop) may redeem without a secret; an app with only
/// `web` redirect URIs is confidential and must authenticate.
fn is_confidential(app: &AppRecord) -> bool {
    app.spa_redirect_uris.is_empty() && app.public_redirect_uris.is_empty()
}

// ----- the token endpoint -----

async fn tenant_token(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, axum::extract::rejection::FormRejection>,
) -> Response {
    if !is_our_tenant(&state, &tenant) {
        return unknown_tenant(&tenant);
    }
    token(State(state), connect, headers, form).await
}

async fn token(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, axum::extract::rejection::FormRejection>,
) -> Response {
    if !state.limiter.allow(peer.ip()) {
        return oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "slow_down",
            "Too many requests from this client.",
        );
    }
    let Ok(Form(req)) = form else {
        return invalid_request("The body must be application/x-www-form-urlencoded.");
    };
    if let Err(e) = state.refresh_keys().await {
        return server_error(e);
    }
    let result = match req.grant_type.as_deref() {
        Some("client_credentials") => client_credentials(&state, &headers, &req).await,
        Some("authorization_code") => authorization_code(&state, &headers, &req).await,
        Some("refresh_token") => refresh(&state, &headers, &req).await,
        Some(_) => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Supported grant types: authorization_code, refresh_token, client_credentials.",
        )),
        None => Err(invalid_request("grant_type is required.")),
    };
    match result {
        Ok(body) => (
            StatusCode::OK,
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            Json(body),
        )
            .into_response(),
        Err(response) => response,
    }
}

async fn client_credentials(
    state: &AppState,
    headers: &HeaderMap,
    req: &TokenRequest,
) -> Result<Value, Response> {
    let app = authenticate_client(state, headers, req, true).await?.app;
    let now = state.now();
    let expires = now + state.access_token_ttl;
    let claims = Claims {
        iss: state.signer.issuer().to_string(),
        aud: GRAPH_AUDIENCE.into(),
        sub: app.id.to_string(),
        tid: state.tenant.id.to_string(),
        iat: now.unix_timestamp(),
        nbf: now.unix_timestamp(),
        exp: expires.unix_timestamp(),
        jti: Uuid::new_v4().to_string(),
        idtyp: "app".into(),
        amr: vec![],
        upn: None,
        roles: app
            .permissions
            .iter()
            .map(|p| p.as_str().to_string())
            .collect(),
        tap: None,
        azp: Some(app.client_id.to_string()),
        scp: None,
        sid: None,
    };
    let ttl = state.access_token_ttl.whole_seconds();
    Ok(json!({
        "token_type": "Bearer",
        "expires_in": ttl,
        "ext_expires_in": ttl,
        "access_token": state.signer.sign(&claims, now),
    }))
}

/// The pass a session was opened with, if it is still there and unexpired; `Err` when the
/// session depended on a pass that is gone.
async fn live_pass(
    state: &AppState,
    user: Uuid,
    tap_id: Option<Uuid>,
    now: OffsetDateTime,
) -> Result<Option<TapPass>, Response> {
    let Some(tap_id) = tap_id else {
        return Ok(None);
    };
    let pass = state
        .store
        .tap_of(user)
        .await
        .map_err(server_error)?
        .map(|(p, _)| p)
        .filter(|p| p.id == tap_id && now < p.expires_at());
    match pass {
        Some(p) => Ok(Some(p)),
        None => Err(invalid_grant(
            "The Temporary Access Pass this session was opened with was deleted or has expired. Sign in again.",
        )),
    }
}

async fn enabled_user(state: &AppState, id: Uuid) -> Result<UserRecord, Response> {
    state
        .store
        .find_user(&id.to_string())
        .await
        .map_err(server_error)?
        .filter(|u| u.account_enabled)
        .ok_or_else(|| invalid_grant("The account is disabled or gone."))
}

/// BASE64URL(SHA-256(verifier)) compared with the stored challenge (RFC 7636 §4.6).
pub(crate) fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    let valid_verifier = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    valid_verifier
        && subtle::ConstantTimeEq::ct_eq(computed.as_bytes(), challenge.as_bytes()).into()
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

fn has_scope(scope: &str, wanted: &str) -> bool {
    scope.split_whitespace().any(|s| s == wanted)
}

async fn authorization_code(
    state: &AppState,
    headers: &HeaderMap,
    req: &TokenRequest,
) -> Result<Value, Response> {
    let client = authenticate_client(state, headers, req, false).await?;
    let code = req
        .code
        .as_deref()
        .ok_or_else(|| invalid_request("code is required."))?;
    let now = state.now();
    let code = match state
        .store
        .redeem_code(&state.keys.token_hash(code), now)
        .await
        .map_err(server_error)?
    {
        Redeemed::Fresh(code) => code,
        Redeemed::Reused => {
            return Err(invalid_grant(
                "The authorization code was already redeemed; the tokens it obtained have been revoked.",
            ));
        }
        Redeemed::Unknown => return Err(invalid_grant("The authorization code is invalid.")),
    };
    if code.client_id != client.app.client_id {
        return Err(invalid_grant(
            "The authorization code was issued to another client.",
        ));
    }
    if now >= code.expires_at {
        return Err(invalid_grant(
            "The authorization code has expired (codes last 60 seconds).",
        ));
    }
    if req.redirect_uri.as_deref() != Some(code.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "redirect_uri does not match the one the authorization request used.",
        ));
    }
    let via_web = client.app.web_redirect_uris.contains(&code.redirect_uri);
    if via_web && !client.authenticated {
        return Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "This redirect URI belongs to a confidential (web) client: authenticate with a client secret.",
        ));
    }
    if let Some(challenge) = &code.code_challenge {
        let verifier = req
            .code_verifier
            .as_deref()
            .ok_or_else(|| invalid_grant("code_verifier is required (PKCE)."))?;
        if !pkce_matches(challenge, verifier) {
            return Err(invalid_grant(
                "The code_verifier does not match the code_challenge.",
            ));
        }
    }
    let user = enabled_user(state, code.user_id).await?;
    let pass = live_pass(state, user.id, code.tap_id, now).await?;
    let tokens = issue(
        state,
        &Issue {
            user: &user,
            amr: &code.amr,
            tap: pass.as_ref(),
            client_id: Some(client.app.client_id),
            scope: &code.scope,
            nonce: code.nonce.as_deref(),
            auth_time: code.auth_time,
            family_id: &code.family_id,
            session_end: None,
            with_refresh: has_scope(&code.scope, "offline_access"),
            with_id_token: has_scope(&code.scope, "openid"),
        },
        now,
    );
    if let Some((_, stored)) = &tokens.refresh {
        state
            .store
            .put_refresh(stored)
            .await
            .map_err(server_error)?;
    }
    Ok(token_response(&tokens, &code.scope, now))
}

/// Refresh with rotation: each refresh token is used once; presenting one again revokes every
/// token of that sign-in. A session opened with a pass ends when the pass is deleted or expires.
async fn refresh(
    state: &AppState,
    headers: &HeaderMap,
    req: &TokenRequest,
) -> Result<Value, Response> {
    let token = req
        .refresh_token
        .as_deref()
        .ok_or_else(|| invalid_request("refresh_token is required."))?;
    // tapd's own sign-in API issues refresh tokens without a client.
    let client = match presented_credentials(headers, req).0 {
        Some(_) => Some(authenticate_client(state, headers, req, false).await?),
        None => None,
    };
    let now = state.now();
    let old = match state
        .store
        .redeem_refresh(&state.keys.token_hash(token), now)
        .await
        .map_err(server_error)?
    {
        Redeemed::Fresh(old) => old,
        Redeemed::Reused => {
            return Err(invalid_grant(
                "The refresh token was already used. Every token of this sign-in has been revoked; sign in again.",
            ));
        }
        Redeemed::Unknown => {
            return Err(invalid_grant(
                "The refresh token is invalid, expired or revoked.",
            ));
        }
    };
    let client_id = client.as_ref().map(|c| c.app.client_id);
    if old.client_id != client_id {
        return Err(invalid_grant(
            "The refresh token was issued to another client.",
        ));
    }
    if let Some(c) = &client
        && is_confidential(&c.app)
        && !c.authenticated
    {
        return Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "A confidential client must authenticate with its secret.",
        ));
    }
    if now >= old.expires_at {
        return Err(invalid_grant("The refresh token has expired."));
    }
    let pass = live_pass(state, old.user_id, old.tap_id, now).await?;
    let user = enabled_user(state, old.user_id).await?;
    let scope = narrowed_scope(&old, req.scope.as_deref()).map_err(|extra| {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("The scope '{extra}' was not granted to this sign-in."),
        )
    })?;
    let tokens = issue(
        state,
        &Issue {
            user: &user,
            amr: &old.amr,
            tap: pass.as_ref(),
            client_id: old.client_id,
            scope: &scope,
            nonce: None,
            auth_time: old.auth_time,
            family_id: &old.family_id,
            session_end: Some(old.expires_at),
            with_refresh: true,
            with_id_token: has_scope(&scope, "openid"),
        },
        now,
    );
    if let Some((_, stored)) = &tokens.refresh {
        state
            .store
            .put_refresh(stored)
            .await
            .map_err(server_error)?;
    }
    if old.client_id.is_none() {
        // tapd's own sign-in API: the shape the CLI reads.
        return Ok(crate::signin::session_json(&tokens, &user, &old.amr, now));
    }
    Ok(token_response(&tokens, &scope, now))
}

/// A refresh may ask for fewer scopes than were granted, never more (RFC 6749 §6); `Err` names
/// a scope that was not granted.
fn narrowed_scope(old: &RefreshToken, requested: Option<&str>) -> Result<String, String> {
    let Some(requested) = requested.filter(|s| !s.trim().is_empty()) else {
        return Ok(old.scope.clone());
    };
    match requested
        .split_whitespace()
        .find(|s| !has_scope(&old.scope, s))
    {
        Some(extra) => Err(extra.to_string()),
        None => Ok(requested.split_whitespace().collect::<Vec<_>>().join(" ")),
    }
}

// ----- revocation and introspection -----

async fn form_of(
    form: Result<Form<TokenRequest>, axum::extract::rejection::FormRejection>,
) -> Result<TokenRequest, Response> {
    form.map(|Form(f)| f)
        .map_err(|_| invalid_request("The body must be application/x-www-form-urlencoded."))
}

/// RFC 7009: revokes a refresh token (and every token of its sign-in) or, given an access
/// token, the sign-in it belongs to. Unknown tokens are answered 200 too.
async fn revoke(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, axum::extract::rejection::FormRejection>,
) -> Response {
    let result = async {
        let req = form_of(form).await?;
        let client = authenticate_client(&state, &headers, &req, false).await?;
        if is_confidential(&client.app) && !client.authenticated {
            return Err(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "A confidential client must authenticate with its secret.",
            ));
        }
        let token = req
            .token
            .as_deref()
            .ok_or_else(|| invalid_request("token is required."))?;
        let hash = state.keys.token_hash(token);
        let (owner, family) = match state
            .store
            .refresh_token(&hash)
            .await
            .map_err(server_error)?
        {
            Some(r) => (r.client_id, Some(r.family_id)),
            None => match state.signer.verify(token, state.now()) {
                Some(claims) => (
                    claims.azp.as_deref().and_then(|a| Uuid::parse_str(a).ok()),
                    claims.sid,
                ),
                None => (None, None),
            },
        };
        if let Some(family) = family {
            if owner != Some(client.app.client_id) {
                return Err(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "unauthorized_client",
                    "The token was issued to another client.",
                ));
            }
            state
                .store
                .revoke_family(&family)
                .await
                .map_err(server_error)?;
        }
        Ok(StatusCode::OK.into_response())
    }
    .await;
    result.unwrap_or_else(|r| r)
}

/// RFC 7662, for confidential clients: whether a token is active, and what it says.
async fn introspect(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, axum::extract::rejection::FormRejection>,
) -> Response {
    let result = async {
        let req = form_of(form).await?;
        authenticate_client(&state, &headers, &req, true).await?;
        let token = req
            .token
            .as_deref()
            .ok_or_else(|| invalid_request("token is required."))?;
        let now = state.now();
        let inactive = json!({"active": false});
        if let Some(r) = state
            .store
            .refresh_token(&state.keys.token_hash(token))
            .await
            .map_err(server_error)?
        {
            let live =
                now < r.expires_at && live_pass(&state, r.user_id, r.tap_id, now).await.is_ok();
            return Ok(Json(if live {
                json!({
                    "active": true,
                    "token_type": "refresh_token",
                    "scope": r.scope,
                    "client_id": r.client_id,
                    "sub": r.user_id,
                    "exp": r.expires_at.unix_timestamp(),
                    "iat": r.created_at.unix_timestamp(),
                    "iss": state.signer.issuer(),
                })
            } else {
                inactive
            }));
        }
        let Some(claims) = state.signer.verify(token, now) else {
            return Ok(Json(inactive));
        };
        let live = match claims.tap {
            Some(tap) => state.store.tap_exists(tap).await.map_err(server_error)?,
            None => true,
        };
        Ok(Json(if live {
            json!({
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
            })
        } else {
            inactive
        }))
    }
    .await;
    match result {
        Ok(body) => ([(header::CACHE_CONTROL, "no-store")], body).into_response(),
        Err(r) => r,
    }
}

/// OpenID Connect userinfo, for an access token of a signed-in user.
async fn userinfo(caller: Result<Caller, crate::error::ApiError>) -> Response {
    let user = match &caller {
        Ok(c) => c.user().ok(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(challenge, verifier));
        assert!(!pkce_matches(
            challenge,
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX"
        ));
        assert!(
            !pkce_matches(challenge, "short"),
            "verifiers have 43 to 128 characters"
        );
    }
}
