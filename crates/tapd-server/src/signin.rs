//! Sign-in (SPEC §6): the JSON API that the CLI and the web pages use — name the user, then a
//! pass or a password — and the OAuth 2.0 token endpoint (client credentials for applications,
//! refresh tokens for users). Every attempt is audited; a per-client limit sits in front.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tapd_core::{TapPass, TapPolicy, UsabilityReason, capped_expiry};
use tapd_store::{AuditRecord, RefreshToken, UserRecord};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, current_request_id};
use crate::extract::GraphJson;
use crate::graph::format_time;
use crate::secrets::new_opaque_token;
use crate::tokens::{Claims, GRAPH_AUDIENCE};
use crate::{AppState, SharedState};

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/api/signin/start", post(start))
        .route("/api/signin/tap", post(tap_sign_in))
        .route("/api/signin/password", post(password_sign_in))
        .route("/oauth2/v2.0/token", post(token))
        .route("/{tenant}/oauth2/v2.0/token", post(token))
}

/// The generic refusal for an unknown user, a user without a pass, or a wrong code: it must
/// not tell these apart.
const WRONG_CODE: &str = "The user name or Temporary Access Pass is incorrect.";
const WRONG_PASSWORD: &str = "The user name or password is incorrect.";

fn refusal(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
}

/// What a user is told when their pass can't be used (SPEC §5.3).
pub fn reason_message(reason: UsabilityReason) -> &'static str {
    match reason {
        UsabilityReason::DisabledByPolicy => {
            "Your organization's policy does not allow you to sign in with a Temporary Access Pass."
        }
        UsabilityReason::OneTimeUsed => {
            "This Temporary Access Pass was for one use and has been used. Ask your administrator for a new one."
        }
        UsabilityReason::Locked => {
            "This Temporary Access Pass is locked after too many wrong attempts. Ask your administrator for a new one."
        }
        UsabilityReason::Expired => {
            "This Temporary Access Pass has expired. Ask your administrator for a new one."
        }
        UsabilityReason::NotYetValid => {
            "This Temporary Access Pass is not valid yet. Try again after its start time."
        }
        UsabilityReason::EnabledByPolicy => "The Temporary Access Pass is usable.",
    }
}

fn check_rate(state: &AppState, ip: IpAddr) -> ApiResult<()> {
    if state.limiter.allow(ip) {
        Ok(())
    } else {
        Err(ApiError::too_many_requests())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartRequest {
    username: String,
}

/// Which methods to offer. An unknown user gets the same answer as a user who has only a
/// password, so the answer does not reveal who has an account.
async fn start(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    GraphJson(req): GraphJson<StartRequest>,
) -> ApiResult<Json<Value>> {
    check_rate(&state, peer.ip())?;
    let mut methods = Vec::new();
    if let Some(view) = state.store.user_with_tap(req.username.trim()).await?
        && view.user.account_enabled
        && !view.user.is_external
        && let Some((pass, _)) = &view.tap
        && usability(&state, &view.user, pass, &view.policy)
            .await?
            .is_usable()
    {
        methods.push("temporaryAccessPass");
    }
    methods.push("password");
    Ok(Json(
        json!({"username": req.username.trim(), "methods": methods}),
    ))
}

/// SPEC §5.3 for this user's pass, now.
async fn usability(
    state: &AppState,
    user: &UserRecord,
    pass: &TapPass,
    policy: &TapPolicy,
) -> ApiResult<UsabilityReason> {
    let in_scope = state.store.in_scope(policy, user.id).await?;
    Ok(pass.usability(policy, in_scope, state.now()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TapRequest {
    username: String,
    code: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordRequest {
    username: String,
    password: String,
}

/// A sign-in's outcome as an audit `signIn` record.
fn sign_in_record(
    at: OffsetDateTime,
    username: &str,
    user: Option<&UserRecord>,
    method: &str,
    ip: IpAddr,
    failure: Option<&str>,
) -> AuditRecord {
    let id = Uuid::new_v4();
    AuditRecord {
        id,
        at,
        body: json!({
            "id": id,
            "createdDateTime": format_time(at),
            "userPrincipalName": user.map(|u| u.upn.as_str()).unwrap_or(username),
            "userId": user.map(|u| u.id),
            "userDisplayName": user.map(|u| u.display_name.as_str()),
            "appDisplayName": "tapd",
            "ipAddress": ip.to_string(),
            "clientAppUsed": "tapd sign-in",
            "correlationId": current_request_id(),
            "isInteractive": true,
            "authenticationMethodsUsed": [method],
            "status": {
                "errorCode": if failure.is_some() { 50126 } else { 0 },
                "failureReason": failure,
            },
        }),
    }
}

async fn audit_failure(
    state: &AppState,
    username: &str,
    user: Option<&UserRecord>,
    method: &str,
    ip: IpAddr,
    reason: &str,
) {
    let record = sign_in_record(state.now(), username, user, method, ip, Some(reason));
    if let Err(e) = state.store.audit_sign_in_failure(&record).await {
        tracing::error!(request_id = %current_request_id(), error = %e, "could not audit a failed sign-in");
    }
}

/// Tokens for a user: an access JWT and an opaque refresh token, both capped at `cap`.
struct Session {
    access_token: String,
    access_expires: OffsetDateTime,
    refresh: RefreshToken,
    refresh_token: String,
}

fn new_session(
    state: &AppState,
    user: &UserRecord,
    amr: &str,
    tap: Option<&TapPass>,
    now: OffsetDateTime,
    refresh_expires: Option<OffsetDateTime>,
) -> Session {
    let cap = tap.map(TapPass::expires_at);
    // An access token outlives neither the pass nor the session it was refreshed from.
    let access_cap = match (cap, refresh_expires) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let access_expires = capped_expiry(now, state.access_token_ttl, access_cap);
    let refresh_token = new_opaque_token();
    let refresh = RefreshToken {
        token_hash: state.keys.token_hash(&refresh_token),
        user_id: user.id,
        tap_id: tap.map(|t| t.id),
        amr: amr.to_string(),
        created_at: now,
        expires_at: refresh_expires
            .unwrap_or_else(|| capped_expiry(now, state.refresh_token_ttl, cap)),
    };
    let claims = Claims {
        iss: state.signer.issuer().to_string(),
        aud: GRAPH_AUDIENCE.into(),
        sub: user.id.to_string(),
        tid: state.tenant.id.to_string(),
        iat: now.unix_timestamp(),
        nbf: now.unix_timestamp(),
        exp: access_expires.unix_timestamp(),
        jti: Uuid::new_v4().to_string(),
        idtyp: "user".into(),
        amr: amr.split_whitespace().map(str::to_string).collect(),
        upn: Some(user.upn.clone()),
        roles: vec![],
        tap: tap.map(|t| t.id),
    };
    Session {
        access_token: state.signer.sign(&claims),
        access_expires,
        refresh,
        refresh_token,
    }
}

fn session_json(s: &Session, user: &UserRecord, now: OffsetDateTime) -> Value {
    json!({
        "token_type": "Bearer",
        "access_token": s.access_token,
        "expires_in": (s.access_expires - now).whole_seconds().max(0),
        "expires_at": format_time(s.access_expires),
        "refresh_token": s.refresh_token,
        "refresh_token_expires_at": format_time(s.refresh.expires_at),
        "amr": s.refresh.amr.split_whitespace().collect::<Vec<_>>(),
        "user": {"id": user.id, "userPrincipalName": user.upn, "displayName": user.display_name},
    })
}

async fn tap_sign_in(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    GraphJson(req): GraphJson<TapRequest>,
) -> ApiResult<Json<Value>> {
    let ip = peer.ip();
    check_rate(&state, ip)?;
    let username = req.username.trim();
    const METHOD: &str = "Temporary Access Pass";
    let found = state
        .store
        .user_with_tap(username)
        .await?
        .filter(|view| view.user.account_enabled && !view.user.is_external);
    let Some(tapd_store::SignInView { user, tap, policy }) = found else {
        audit_failure(
            &state,
            username,
            None,
            METHOD,
            ip,
            "Unknown or disabled user",
        )
        .await;
        return Err(refusal(WRONG_CODE));
    };
    let Some((pass, secret)) = tap else {
        audit_failure(
            &state,
            username,
            Some(&user),
            METHOD,
            ip,
            "The user holds no Temporary Access Pass",
        )
        .await;
        return Err(refusal(WRONG_CODE));
    };
    let reason = usability(&state, &user, &pass, &policy).await?;
    if !reason.is_usable() {
        audit_failure(
            &state,
            username,
            Some(&user),
            METHOD,
            ip,
            &format!("{reason:?}"),
        )
        .await;
        return Err(refusal(reason_message(reason)));
    }
    if !state.keys.verify_code(&secret, req.code.trim()) {
        let record = sign_in_record(
            state.now(),
            username,
            Some(&user),
            METHOD,
            ip,
            Some("Wrong code"),
        );
        let failures = state.store.record_tap_failure(pass.id, &record).await?;
        if failures >= tapd_core::MAX_FAILED_ATTEMPTS {
            return Err(refusal(reason_message(UsabilityReason::Locked)));
        }
        return Err(refusal(WRONG_CODE));
    }
    let now = state.now();
    let session = new_session(&state, &user, "tap", Some(&pass), now, None);
    let record = sign_in_record(now, username, Some(&user), METHOD, ip, None);
    if !state
        .store
        .complete_tap_sign_in(&pass, now, &session.refresh, &record)
        .await?
    {
        // Another sign-in consumed the one-time pass first, or it locked meanwhile.
        audit_failure(&state, username, Some(&user), METHOD, ip, "OneTimeUsed").await;
        return Err(refusal(reason_message(UsabilityReason::OneTimeUsed)));
    }
    Ok(Json(session_json(&session, &user, now)))
}

async fn password_sign_in(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    GraphJson(req): GraphJson<PasswordRequest>,
) -> ApiResult<Json<Value>> {
    let ip = peer.ip();
    check_rate(&state, ip)?;
    let username = req.username.trim().to_string();
    const METHOD: &str = "Password";
    let user = state
        .store
        .find_user(&username)
        .await?
        .filter(|u| u.account_enabled && !u.is_external);
    let phc = user.as_ref().and_then(|u| u.password_hash.clone());
    let password = req.password;
    let ok = tokio::task::spawn_blocking(move || {
        crate::secrets::verify_password(&password, phc.as_deref())
    })
    .await
    .map_err(|_| ApiError::internal())?;
    let user = match (ok, user) {
        (true, Some(user)) => user,
        (_, user) => {
            audit_failure(
                &state,
                &username,
                user.as_ref(),
                METHOD,
                ip,
                "Invalid user name or password",
            )
            .await;
            return Err(refusal(WRONG_PASSWORD));
        }
    };
    let now = state.now();
    let session = new_session(&state, &user, "pwd", None, now, None);
    let record = sign_in_record(now, &username, Some(&user), METHOD, ip, None);
    state.store.open_session(&session.refresh, &record).await?;
    Ok(Json(session_json(&session, &user, now)))
}

/// An OAuth 2.0 error (RFC 6749 §5.2), the format the token endpoint speaks.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({
            "error": error,
            "error_description": description,
            "correlation_id": current_request_id(),
        })),
    )
        .into_response()
}

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
    #[allow(dead_code)]
    scope: Option<String>,
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
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body must be application/x-www-form-urlencoded.",
        );
    };
    let result = match req.grant_type.as_deref() {
        Some("client_credentials") => client_credentials(&state, &headers, req).await,
        Some("refresh_token") => refresh(&state, req).await,
        Some(_) => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Supported grant types: client_credentials, refresh_token.",
        )),
        None => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required.",
        )),
    };
    match result {
        Ok(body) => (StatusCode::OK, [("cache-control", "no-store")], Json(body)).into_response(),
        Err(response) => response,
    }
}

/// Client id and secret from the form or from HTTP Basic authentication.
fn client_credentials_of(headers: &HeaderMap, req: &TokenRequest) -> Option<(String, String)> {
    if let (Some(id), Some(secret)) = (&req.client_id, &req.client_secret) {
        return Some((id.clone(), secret.clone()));
    }
    use base64::Engine;
    let basic = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic.trim())
        .ok()?;
    let (id, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

async fn client_credentials(
    state: &AppState,
    headers: &HeaderMap,
    req: TokenRequest,
) -> Result<Value, Response> {
    let internal = |_| {
        oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "An internal error occurred.",
        )
    };
    let bad_client = || {
        oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        )
    };
    let (client_id, secret) = client_credentials_of(headers, &req).ok_or_else(bad_client)?;
    let app = match Uuid::parse_str(&client_id) {
        Ok(id) => state
            .store
            .app_by_client_id(&id.to_string())
            .await
            .map_err(|e| internal(e.to_string()))?,
        Err(_) => None,
    };
    let phc = app.as_ref().map(|a| a.secret_hash.clone());
    let ok = tokio::task::spawn_blocking(move || {
        crate::secrets::verify_password(&secret, phc.as_deref())
    })
    .await
    .map_err(|e| internal(e.to_string()))?;
    let app = app.filter(|_| ok).ok_or_else(bad_client)?;
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
    };
    let ttl = state.access_token_ttl.whole_seconds();
    Ok(json!({
        "token_type": "Bearer",
        "expires_in": ttl,
        "ext_expires_in": ttl,
        "access_token": state.signer.sign(&claims),
    }))
}

/// Refresh-token grant with rotation. The session never outlives its pass: a refresh after the
/// pass was deleted or expired fails.
async fn refresh(state: &AppState, req: TokenRequest) -> Result<Value, Response> {
    let internal = |e: tapd_store::StoreError| {
        tracing::error!(request_id = %current_request_id(), error = %e, "refresh failed");
        oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "An internal error occurred.",
        )
    };
    let invalid = |why: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why);
    let token = req.refresh_token.ok_or_else(|| {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "refresh_token is required.",
        )
    })?;
    let old = state
        .store
        .take_refresh(&state.keys.token_hash(&token))
        .await
        .map_err(internal)?
        .ok_or_else(|| invalid("The refresh token is invalid, expired or already used."))?;
    let now = state.now();
    if now >= old.expires_at {
        return Err(invalid("The refresh token has expired."));
    }
    let pass = match old.tap_id {
        Some(tap_id) => {
            let pass = state
                .store
                .tap_of(old.user_id)
                .await
                .map_err(internal)?
                .map(|(p, _)| p)
                .filter(|p| p.id == tap_id);
            match pass {
                Some(p) if now < p.expires_at() => Some(p),
                _ => {
                    return Err(invalid(
                        "The Temporary Access Pass this session was opened with was deleted or has expired. Sign in again.",
                    ));
                }
            }
        }
        None => None,
    };
    let user = state
        .store
        .find_user(&old.user_id.to_string())
        .await
        .map_err(internal)?
        .filter(|u| u.account_enabled)
        .ok_or_else(|| invalid("The account is disabled or gone."))?;
    let session = new_session(
        state,
        &user,
        &old.amr,
        pass.as_ref(),
        now,
        Some(old.expires_at),
    );
    state
        .store
        .put_refresh(&session.refresh)
        .await
        .map_err(internal)?;
    Ok(session_json(&session, &user, now))
}
