//! Sign-in (SPEC §6): checking a pass or a password, the same for the JSON API (CLI, scripts)
//! and the web pages, and the tokens a sign-in yields. Every attempt is audited; a per-client
//! limit sits in front. Anything obtained with a pass ends no later than the pass.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tapd_core::{TapPass, TapPolicy, UsabilityReason, capped_expiry};
use tapd_store::{AuditRecord, Grant, RefreshToken, UserRecord};
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
}

/// The generic refusal for an unknown user, a user without a pass, or a wrong code: it must
/// not tell these apart.
const WRONG_CODE: &str = "The user name or Temporary Access Pass is incorrect.";
const WRONG_PASSWORD: &str = "The user name or password is incorrect.";

pub(crate) fn refusal(message: impl Into<String>) -> ApiError {
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

pub(crate) fn check_rate(state: &AppState, ip: IpAddr) -> ApiResult<()> {
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
    let methods = methods_for(&state, req.username.trim()).await?;
    Ok(Json(
        json!({"username": req.username.trim(), "methods": methods}),
    ))
}

/// The methods worth offering `username`, in order of preference.
pub(crate) async fn methods_for(state: &AppState, username: &str) -> ApiResult<Vec<&'static str>> {
    let mut methods = Vec::new();
    if let Some(view) = state.store.user_with_tap(username).await?
        && view.user.account_enabled
        && !view.user.is_external
        && let Some((pass, _)) = &view.tap
        && usability(state, &view.user, pass, &view.policy)
            .await?
            .is_usable()
    {
        methods.push("temporaryAccessPass");
    }
    methods.push("password");
    Ok(methods)
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
pub(crate) fn sign_in_record(
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

pub(crate) async fn audit_failure(
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

/// What the person presented.
pub(crate) enum Credential {
    Tap(String),
    Password(String),
}

/// A checked sign-in, not yet committed: `commit` consumes the pass (or records the passkey's
/// use) and stores the session.
pub(crate) struct Verified {
    pub user: UserRecord,
    pub pass: Option<TapPass>,
    /// The passkey signed in with, and its new dynamic state (signature counter).
    pub passkey: Option<PasskeyUse>,
    /// The `amr` value: "tap", "pwd" or "fido".
    pub amr: &'static str,
    /// The method as the audit record names it.
    pub method: &'static str,
    pub username: String,
    pub ip: IpAddr,
}

/// A verified passkey assertion's effect on the stored credential.
pub(crate) struct PasskeyUse {
    pub credential_id: Vec<u8>,
    pub dynamic_before: Vec<u8>,
    pub dynamic_after: Vec<u8>,
}

/// Checks a credential for `username`. A refusal is audited and tells nothing about other
/// accounts; for a pass, it says why the pass can't be used (SPEC §5.3).
pub(crate) async fn verify(
    state: &AppState,
    username: &str,
    credential: Credential,
    ip: IpAddr,
) -> ApiResult<Verified> {
    check_rate(state, ip)?;
    let username = username.trim();
    match credential {
        Credential::Tap(code) => verify_tap(state, username, code.trim(), ip).await,
        Credential::Password(password) => verify_password(state, username, password, ip).await,
    }
}

async fn verify_tap(
    state: &AppState,
    username: &str,
    code: &str,
    ip: IpAddr,
) -> ApiResult<Verified> {
    const METHOD: &str = "Temporary Access Pass";
    let found = state
        .store
        .user_with_tap(username)
        .await?
        .filter(|view| view.user.account_enabled && !view.user.is_external);
    let Some(tapd_store::SignInView { user, tap, policy }) = found else {
        audit_failure(
            state,
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
        let why = "The user holds no Temporary Access Pass";
        audit_failure(state, username, Some(&user), METHOD, ip, why).await;
        return Err(refusal(WRONG_CODE));
    };
    // The code first: only someone holding it learns why the pass can't be used.
    let reason = usability(state, &user, &pass, &policy).await?;
    if !state.keys.verify_code(&secret, code) {
        let record = sign_in_record(
            state.now(),
            username,
            Some(&user),
            METHOD,
            ip,
            Some("Wrong code"),
        );
        if !reason.is_usable() {
            state.store.audit_sign_in_failure(&record).await?;
            return Err(refusal(WRONG_CODE));
        }
        let failures = state.store.record_tap_failure(pass.id, &record).await?;
        if failures >= tapd_core::MAX_FAILED_ATTEMPTS {
            return Err(refusal(reason_message(UsabilityReason::Locked)));
        }
        return Err(refusal(WRONG_CODE));
    }
    if !reason.is_usable() {
        let why = format!("{reason:?}");
        audit_failure(state, username, Some(&user), METHOD, ip, &why).await;
        return Err(refusal(reason_message(reason)));
    }
    Ok(Verified {
        user,
        pass: Some(pass),
        passkey: None,
        amr: "tap",
        method: METHOD,
        username: username.to_string(),
        ip,
    })
}

async fn verify_password(
    state: &AppState,
    username: &str,
    password: String,
    ip: IpAddr,
) -> ApiResult<Verified> {
    const METHOD: &str = "Password";
    let user = state
        .store
        .find_user(username)
        .await?
        .filter(|u| u.account_enabled && !u.is_external);
    let phc = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || {
        crate::secrets::verify_password(&password, phc.as_deref())
    })
    .await
    .map_err(|_| ApiError::internal())?;
    match (ok, user) {
        (true, Some(user)) => Ok(Verified {
            user,
            pass: None,
            passkey: None,
            amr: "pwd",
            method: METHOD,
            username: username.to_string(),
            ip,
        }),
        (_, user) => {
            let why = "Invalid user name or password";
            audit_failure(state, username, user.as_ref(), METHOD, ip, why).await;
            Err(refusal(WRONG_PASSWORD))
        }
    }
}

impl Verified {
    /// When anything this sign-in yields must end: the pass's end, if a pass was used.
    pub fn cap(&self) -> Option<OffsetDateTime> {
        self.pass.as_ref().map(TapPass::expires_at)
    }

    /// Consumes the pass (exactly one concurrent sign-in with a one-time pass wins) or records
    /// the passkey's new state, and stores `grant` and the audit record, all in one commit.
    pub async fn commit(
        &self,
        state: &AppState,
        now: OffsetDateTime,
        grant: Grant,
    ) -> ApiResult<()> {
        let record = sign_in_record(
            now,
            &self.username,
            Some(&self.user),
            self.method,
            self.ip,
            None,
        );
        if let Some(used) = &self.passkey {
            let committed = state
                .store
                .passkey_sign_in_commit(
                    &used.credential_id,
                    &used.dynamic_before,
                    &used.dynamic_after,
                    grant,
                    &record,
                )
                .await?;
            if !committed {
                let why = "The passkey was removed or used by another sign-in meanwhile";
                audit_failure(
                    state,
                    &self.username,
                    Some(&self.user),
                    self.method,
                    self.ip,
                    why,
                )
                .await;
                return Err(refusal(
                    "This passkey was removed or used by another sign-in at the same time. Try again.",
                ));
            }
            return Ok(());
        }
        if !state
            .store
            .sign_in_commit(self.pass.clone(), grant, &record)
            .await?
        {
            // Another sign-in consumed the one-time pass first, or it locked meanwhile.
            audit_failure(
                state,
                &self.username,
                Some(&self.user),
                self.method,
                self.ip,
                "OneTimeUsed",
            )
            .await;
            return Err(refusal(reason_message(UsabilityReason::OneTimeUsed)));
        }
        Ok(())
    }
}

/// What a set of tokens is for.
pub(crate) struct Issue<'a> {
    pub user: &'a UserRecord,
    /// Space-separated `amr`.
    pub amr: &'a str,
    pub tap: Option<&'a TapPass>,
    /// The application, for the OAuth flows; `None` for tapd's own sign-in API.
    pub client_id: Option<Uuid>,
    pub scope: &'a str,
    pub nonce: Option<&'a str>,
    pub auth_time: OffsetDateTime,
    /// The sign-in session (refresh-token family).
    pub family_id: &'a str,
    /// The expiry of the refresh token being rotated: nothing new outlives it.
    pub session_end: Option<OffsetDateTime>,
    pub with_refresh: bool,
    pub with_id_token: bool,
}

pub(crate) struct Tokens {
    pub access_token: String,
    pub access_expires: OffsetDateTime,
    /// The refresh token and what the store keeps of it.
    pub refresh: Option<(String, RefreshToken)>,
    pub id_token: Option<String>,
}

/// An OpenID Connect ID token's claims.
#[derive(serde::Serialize)]
struct IdClaims<'a> {
    iss: &'a str,
    sub: String,
    aud: String,
    exp: i64,
    iat: i64,
    nbf: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    amr: Vec<&'a str>,
    tid: String,
    oid: String,
    sid: &'a str,
    preferred_username: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    ver: &'static str,
}

/// Signs the tokens of a user sign-in. Each ends no later than the pass it came from (if any)
/// and the session it was refreshed from.
pub(crate) fn issue(state: &AppState, req: &Issue<'_>, now: OffsetDateTime) -> Tokens {
    let cap = match (req.tap.map(TapPass::expires_at), req.session_end) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let access_expires = capped_expiry(now, state.access_token_ttl, cap);
    let amr: Vec<&str> = req.amr.split_whitespace().collect();
    let claims = Claims {
        iss: state.signer.issuer().to_string(),
        aud: GRAPH_AUDIENCE.into(),
        sub: req.user.id.to_string(),
        tid: state.tenant.id.to_string(),
        iat: now.unix_timestamp(),
        nbf: now.unix_timestamp(),
        exp: access_expires.unix_timestamp(),
        jti: Uuid::new_v4().to_string(),
        idtyp: "user".into(),
        amr: amr.iter().map(|s| s.to_string()).collect(),
        upn: Some(req.user.upn.clone()),
        roles: vec![],
        tap: req.tap.map(|t| t.id),
        azp: req.client_id.map(|c| c.to_string()),
        scp: req.client_id.map(|_| req.scope.to_string()),
        sid: Some(req.family_id.to_string()),
    };
    let refresh = req.with_refresh.then(|| {
        let token = new_opaque_token();
        let stored = RefreshToken {
            token_hash: state.keys.token_hash(&token),
            user_id: req.user.id,
            tap_id: req.tap.map(|t| t.id),
            amr: req.amr.to_string(),
            created_at: now,
            expires_at: req
                .session_end
                .unwrap_or_else(|| capped_expiry(now, state.refresh_token_ttl, cap)),
            family_id: req.family_id.to_string(),
            client_id: req.client_id,
            scope: req.scope.to_string(),
            auth_time: req.auth_time,
        };
        (token, stored)
    });
    let id_token = match (req.with_id_token, req.client_id) {
        (true, Some(client_id)) => {
            let scopes: Vec<&str> = req.scope.split_whitespace().collect();
            let id = IdClaims {
                iss: state.signer.issuer(),
                sub: req.user.id.to_string(),
                aud: client_id.to_string(),
                exp: access_expires.unix_timestamp(),
                iat: now.unix_timestamp(),
                nbf: now.unix_timestamp(),
                auth_time: req.auth_time.unix_timestamp(),
                nonce: req.nonce,
                amr: amr.clone(),
                tid: state.tenant.id.to_string(),
                oid: req.user.id.to_string(),
                sid: req.family_id,
                preferred_username: &req.user.upn,
                name: &req.user.display_name,
                email: req
                    .user
                    .mail
                    .as_deref()
                    .filter(|_| scopes.contains(&"email")),
                ver: "2.0",
            };
            Some(state.signer.sign(&id, now))
        }
        _ => None,
    };
    Tokens {
        access_token: state.signer.sign(&claims, now),
        access_expires,
        refresh,
        id_token,
    }
}

/// A new session id (refresh-token family).
pub(crate) fn new_family() -> String {
    Uuid::new_v4().to_string()
}

/// The JSON sign-in API's answer.
pub(crate) fn session_json(t: &Tokens, user: &UserRecord, amr: &str, now: OffsetDateTime) -> Value {
    let (refresh_token, refresh) = t
        .refresh
        .as_ref()
        .expect("the sign-in API always refreshes");
    json!({
        "token_type": "Bearer",
        "access_token": t.access_token,
        "expires_in": (t.access_expires - now).whole_seconds().max(0),
        "expires_at": format_time(t.access_expires),
        "refresh_token": refresh_token,
        "refresh_token_expires_at": format_time(refresh.expires_at),
        "amr": amr.split_whitespace().collect::<Vec<_>>(),
        "user": {"id": user.id, "userPrincipalName": user.upn, "displayName": user.display_name},
    })
}

/// The JSON API's sign-in: tokens for tapd itself (the CLI, scripts).
async fn api_sign_in(
    state: &AppState,
    username: &str,
    credential: Credential,
    ip: IpAddr,
) -> ApiResult<Json<Value>> {
    let verified = verify(state, username, credential, ip).await?;
    api_session(state, &verified).await
}

/// Commits a verified sign-in as tokens for tapd itself.
pub(crate) async fn api_session(state: &AppState, verified: &Verified) -> ApiResult<Json<Value>> {
    let now = state.now();
    let family = new_family();
    let tokens = issue(
        state,
        &Issue {
            user: &verified.user,
            amr: verified.amr,
            tap: verified.pass.as_ref(),
            client_id: None,
            scope: "",
            nonce: None,
            auth_time: now,
            family_id: &family,
            session_end: None,
            with_refresh: true,
            with_id_token: false,
        },
        now,
    );
    let (_, refresh) = tokens.refresh.clone().expect("with_refresh");
    verified.commit(state, now, Grant::Refresh(refresh)).await?;
    Ok(Json(session_json(
        &tokens,
        &verified.user,
        verified.amr,
        now,
    )))
}

async fn tap_sign_in(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    GraphJson(req): GraphJson<TapRequest>,
) -> ApiResult<Json<Value>> {
    api_sign_in(&state, &req.username, Credential::Tap(req.code), peer.ip()).await
}

async fn password_sign_in(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    GraphJson(req): GraphJson<PasswordRequest>,
) -> ApiResult<Json<Value>> {
    api_sign_in(
        &state,
        &req.username,
        Credential::Password(req.password),
        peer.ip(),
    )
    .await
}
