//! OAuth 2.0 and OpenID Connect for applications (SPEC §6.4): client authentication, the
//! authorization code (with PKCE), refresh with rotation and reuse detection, client
//! credentials, revocation and introspection. A session opened with a pass ends when the pass
//! is deleted or expires. Refusals are [`ServiceError::OAuth`] with RFC 6749's error kinds.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tapd_core::{
    CLI_CLIENT_ID, CLI_CLIENT_NAME, CLI_REDIRECT_URIS, CLIENT_THROTTLE, TapPass, Throttle,
    loopback_redirect_matches,
};
use tapd_store::{AppRecord, AuthCode, Redeemed, RefreshToken, Subject, UserRecord, WebSession};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::sessions::{Issue, Sessions, Tokens, new_family};
use super::{Ctx, ServiceError, ServiceResult, Services};
use crate::keys::{Claims, HashMemory, new_stored_token};

/// How long an authorization code may wait to be redeemed.
pub const CODE_TTL: Duration = Duration::seconds(60);

/// RFC 6749 §5.2's error kinds that tapd answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    InvalidScope,
    UnauthorizedClient,
    /// RFC 8628 §3.5: the person has not decided yet.
    AuthorizationPending,
    /// RFC 8628 §3.5: polled faster than the interval.
    SlowDown,
    /// RFC 8628 §3.5: the person said no.
    AccessDenied,
    /// RFC 8628 §3.5: the device code has expired.
    ExpiredToken,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::InvalidRequest => "invalid_request",
            Refusal::InvalidClient => "invalid_client",
            Refusal::InvalidGrant => "invalid_grant",
            Refusal::InvalidScope => "invalid_scope",
            Refusal::UnauthorizedClient => "unauthorized_client",
            Refusal::AuthorizationPending => "authorization_pending",
            Refusal::SlowDown => "slow_down",
            Refusal::AccessDenied => "access_denied",
            Refusal::ExpiredToken => "expired_token",
        }
    }
}

pub(super) fn refuse(kind: Refusal, message: impl Into<String>) -> ServiceError {
    ServiceError::OAuth(kind, message.into())
}

pub fn invalid_request(message: impl Into<String>) -> ServiceError {
    refuse(Refusal::InvalidRequest, message)
}

pub(super) fn invalid_grant(message: impl Into<String>) -> ServiceError {
    refuse(Refusal::InvalidGrant, message)
}

/// The client id and secret a request presented (HTTP Basic or the form).
#[derive(Default)]
pub struct Presented {
    pub client_id: Option<String>,
    pub secret: Option<String>,
}

/// Who is calling the token endpoint.
pub struct Client {
    pub app: AppRecord,
    /// True when a valid secret was presented.
    pub authenticated: bool,
}

/// Public clients (SPA, mobile and desktop) may redeem without a secret; an app with only
/// `web` redirect URIs is confidential and must authenticate.
pub fn is_confidential(app: &AppRecord) -> bool {
    app.spa_redirect_uris.is_empty() && app.public_redirect_uris.is_empty()
}

/// Identifies the client; a presented secret must be valid. `require_secret` refuses public
/// clients (client credentials, introspection). A known client's run of wrong secrets is kept
/// in the database (`tapd_core::CLIENT_THROTTLE`): past its limit, secrets are not checked and
/// the answer is 429 until the cool-down has passed.
pub async fn authenticate_client(
    svc: &Services,
    ctx: &Ctx,
    presented: &Presented,
    require_secret: bool,
) -> ServiceResult<Client> {
    let Some(id) = &presented.client_id else {
        return Err(invalid_request("client_id is required."));
    };
    let app = registered_app(svc, id)
        .await?
        .filter(|app| serves_tenant(app, ctx.tenant));
    let Some(secret) = presented.secret.clone() else {
        return match app {
            Some(app) if !require_secret => Ok(Client {
                app,
                authenticated: false,
            }),
            _ => Err(bad_client()),
        };
    };
    let Some(app) = app else {
        // Spend the same time on an unknown client.
        svc.hash(move |memory| secret_matches(memory, &secret, &[]))
            .await?;
        return Err(bad_client());
    };
    let subject = Subject::Client(app.client_id);
    let run = svc.store.failure_run(subject).await?;
    if let Some(until) = CLIENT_THROTTLE.refused_until(run.as_ref(), ctx.now) {
        let retry_after = Throttle::retry_after(until, ctx.now);
        return Err(ServiceError::Throttled { retry_after });
    }
    let hashes: Vec<String> = (app.secrets.iter())
        .filter(|s| s.start_at <= ctx.now && ctx.now < s.end_at)
        .map(|s| s.secret_hash.clone())
        .collect();
    let matched = svc.hash(move |memory| secret_matches(memory, &secret, &hashes));
    if !matched.await? {
        svc.store.record_failure(subject, ctx.now).await?;
        return Err(bad_client());
    }
    if run.is_some() {
        svc.store.clear_failures(subject).await?;
    }
    Ok(Client {
        app,
        authenticated: true,
    })
}

fn bad_client() -> ServiceError {
    refuse(
        Refusal::InvalidClient,
        "Client authentication failed: unknown client, or a wrong or expired secret.",
    )
}

fn secret_matches(memory: &mut HashMemory, secret: &str, hashes: &[String]) -> bool {
    if hashes.is_empty() {
        // Spend the same time on an unknown client.
        crate::keys::verify_password(memory, secret, None);
        return false;
    }
    hashes
        .iter()
        .any(|h| crate::keys::verify_password(memory, secret, Some(h)))
}

/// A confidential client must have authenticated.
fn require_authenticated(client: &Client) -> ServiceResult<()> {
    if is_confidential(&client.app) && !client.authenticated {
        return Err(refuse(
            Refusal::InvalidClient,
            "A confidential client must authenticate with its secret.",
        ));
    }
    Ok(())
}

/// Client credentials: an application's own token.
pub async fn client_credentials(
    sessions: &Sessions,
    ctx: &Ctx,
    client: &Client,
) -> ServiceResult<String> {
    Ok(sessions.mint_for_app(ctx, &client.app))
}

/// BASE64URL(SHA-256(verifier)) compared with the stored challenge (RFC 7636 §4.6).
pub fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    let valid_verifier = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    valid_verifier
        && subtle::ConstantTimeEq::ct_eq(computed.as_bytes(), challenge.as_bytes()).into()
}

pub fn has_scope(scope: &str, wanted: &str) -> bool {
    scope.split_whitespace().any(|s| s == wanted)
}

/// What an authorization code redemption presents.
pub struct CodeGrant<'a> {
    pub code: Option<&'a str>,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

/// Tokens granted, and for which scope.
pub struct Granted {
    pub tokens: Tokens,
    pub scope: String,
}

/// Redeems an authorization code (once, by the client it was issued to, with PKCE).
pub async fn redeem_code(
    svc: &Services,
    sessions: &Sessions,
    ctx: &Ctx,
    client: &Client,
    grant: CodeGrant<'_>,
) -> ServiceResult<Granted> {
    let code = grant
        .code
        .ok_or_else(|| invalid_request("code is required."))?;
    let code = match svc
        .store
        .redeem_code(&svc.keys.token_hash(code), ctx.now)
        .await?
    {
        Redeemed::Fresh(code) => code,
        Redeemed::Reused => {
            return Err(invalid_grant(
                "The authorization code was already redeemed; the tokens it obtained have been revoked.",
            ));
        }
        Redeemed::Unknown => return Err(invalid_grant("The authorization code is invalid.")),
    };
    check_code(ctx, client, &code, &grant)?;
    let user = enabled_user(svc, code.user_id).await?;
    let pass = live_pass(svc, user.id, code.tap_id, ctx.now).await?;
    let tokens = sessions.mint(
        svc,
        ctx,
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
    );
    if let Some((_, stored)) = &tokens.refresh {
        svc.store.put_refresh(stored).await?;
    }
    Ok(Granted {
        tokens,
        scope: code.scope,
    })
}

/// The code was issued to this client, for this redirect URI, is fresh, and the PKCE verifier
/// matches.
fn check_code(
    ctx: &Ctx,
    client: &Client,
    code: &AuthCode,
    grant: &CodeGrant<'_>,
) -> ServiceResult<()> {
    if code.client_id != client.app.client_id {
        return Err(invalid_grant(
            "The authorization code was issued to another client.",
        ));
    }
    if ctx.now >= code.expires_at {
        return Err(invalid_grant(
            "The authorization code has expired (codes last 60 seconds).",
        ));
    }
    if grant.redirect_uri != Some(code.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "redirect_uri does not match the one the authorization request used.",
        ));
    }
    let via_web = client.app.web_redirect_uris.contains(&code.redirect_uri);
    if via_web && !client.authenticated {
        return Err(refuse(
            Refusal::InvalidClient,
            "This redirect URI belongs to a confidential (web) client: authenticate with a client secret.",
        ));
    }
    if let Some(challenge) = &code.code_challenge {
        let verifier = grant
            .code_verifier
            .ok_or_else(|| invalid_grant("code_verifier is required (PKCE)."))?;
        if !pkce_matches(challenge, verifier) {
            return Err(invalid_grant(
                "The code_verifier does not match the code_challenge.",
            ));
        }
    }
    Ok(())
}

/// A refresh's outcome: new tokens, the token it replaced, and whose they are.
pub struct Refreshed {
    pub tokens: Tokens,
    pub scope: String,
    pub user: UserRecord,
    /// The rotated-away token (its `client_id` is `None` for tapd's own sign-in API).
    pub old: RefreshToken,
}

/// Refresh with rotation: each refresh token is used once; presenting one again revokes every
/// token of that sign-in. Nothing new outlives the old token or the pass.
pub async fn refresh(
    svc: &Services,
    sessions: &Sessions,
    ctx: &Ctx,
    client: Option<&Client>,
    token: &str,
    scope: Option<&str>,
) -> ServiceResult<Refreshed> {
    let old = redeem_refresh(svc, ctx, token).await?;
    if old.client_id != client.map(|c| c.app.client_id) {
        return Err(invalid_grant(
            "The refresh token was issued to another client.",
        ));
    }
    if let Some(c) = client {
        require_authenticated(c)?;
    }
    // The pass first: a session capped at its pass ends with it, and says so.
    let pass = live_pass(svc, old.user_id, old.tap_id, ctx.now).await?;
    if ctx.now >= old.expires_at {
        return Err(invalid_grant("The refresh token has expired."));
    }
    let user = enabled_user(svc, old.user_id).await?;
    let scope = narrowed_scope(&old, scope)?;
    let tokens = sessions.mint(
        svc,
        ctx,
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
    );
    if let Some((_, stored)) = &tokens.refresh {
        svc.store.put_refresh(stored).await?;
    }
    Ok(Refreshed {
        tokens,
        scope,
        user,
        old,
    })
}

async fn redeem_refresh(svc: &Services, ctx: &Ctx, token: &str) -> ServiceResult<RefreshToken> {
    match svc
        .store
        .redeem_refresh(&svc.keys.token_hash(token), ctx.now)
        .await?
    {
        Redeemed::Fresh(old) => Ok(old),
        Redeemed::Reused => Err(invalid_grant(
            "The refresh token was already used. Every token of this sign-in has been revoked; sign in again.",
        )),
        Redeemed::Unknown => Err(invalid_grant(
            "The refresh token is invalid, expired or revoked.",
        )),
    }
}

/// A refresh may ask for fewer scopes than were granted, never more (RFC 6749 §6).
fn narrowed_scope(old: &RefreshToken, requested: Option<&str>) -> ServiceResult<String> {
    let Some(requested) = requested.filter(|s| !s.trim().is_empty()) else {
        return Ok(old.scope.clone());
    };
    match requested
        .split_whitespace()
        .find(|s| !has_scope(&old.scope, s))
    {
        Some(extra) => Err(refuse(
            Refusal::InvalidScope,
            format!("The scope '{extra}' was not granted to this sign-in."),
        )),
        None => Ok(requested.split_whitespace().collect::<Vec<_>>().join(" ")),
    }
}

/// The pass a session was opened with (the user's, or a cross-tenant guest's home user's), if
/// it is still there and unexpired; refused when the session depended on a pass that is gone.
pub(super) async fn live_pass(
    svc: &Services,
    user: Uuid,
    tap_id: Option<Uuid>,
    now: OffsetDateTime,
) -> ServiceResult<Option<TapPass>> {
    let Some(tap_id) = tap_id else {
        return Ok(None);
    };
    let own = svc.store.tap_of(user).await?.map(|(p, _)| p);
    let pass = match own.filter(|p| p.id == tap_id) {
        Some(p) => Some(p),
        // A cross-tenant guest's session runs on its home user's pass.
        None => match svc
            .store
            .user_anywhere(&user.to_string())
            .await?
            .and_then(|u| u.home)
        {
            Some(home) => svc.store.tap_of(home.user).await?.map(|(p, _)| p),
            None => None,
        }
        .filter(|p| p.id == tap_id),
    }
    .filter(|p| now < p.expires_at());
    match pass {
        Some(p) => Ok(Some(p)),
        None => Err(invalid_grant(
            "The Temporary Access Pass this session was opened with was deleted or has expired. Sign in again.",
        )),
    }
}

pub(super) async fn enabled_user(svc: &Services, id: Uuid) -> ServiceResult<UserRecord> {
    svc.store
        .user_anywhere(&id.to_string())
        .await?
        .filter(|u| u.account_enabled)
        .ok_or_else(|| invalid_grant("The account is disabled or gone."))
}

/// RFC 7009: revokes a refresh token (and every token of its sign-in) or, given an access
/// token, the sign-in it belongs to. Unknown tokens are fine too.
pub async fn revoke(
    svc: &Services,
    sessions: &Sessions,
    ctx: &Ctx,
    client: &Client,
    token: Option<&str>,
) -> ServiceResult<()> {
    require_authenticated(client)?;
    let token = token.ok_or_else(|| invalid_request("token is required."))?;
    let (owner, family) = match svc.store.refresh_token(&svc.keys.token_hash(token)).await? {
        Some(r) => (r.client_id, Some(r.family_id)),
        None => match sessions.signer.verify(token, ctx.now) {
            Some(claims) => (
                claims.azp.as_deref().and_then(|a| Uuid::parse_str(a).ok()),
                claims.sid,
            ),
            None => (None, None),
        },
    };
    if let Some(family) = family {
        if owner != Some(client.app.client_id) {
            return Err(refuse(
                Refusal::UnauthorizedClient,
                "The token was issued to another client.",
            ));
        }
        svc.store.revoke_family(&family).await?;
    }
    Ok(())
}

/// What introspection found (RFC 7662).
pub enum Introspection {
    Inactive,
    Refresh(RefreshToken),
    Access(Box<Claims>),
}

pub async fn introspect(
    svc: &Services,
    sessions: &Sessions,
    ctx: &Ctx,
    token: &str,
) -> ServiceResult<Introspection> {
    if let Some(r) = svc.store.refresh_token(&svc.keys.token_hash(token)).await? {
        let live =
            ctx.now < r.expires_at && live_pass(svc, r.user_id, r.tap_id, ctx.now).await.is_ok();
        return Ok(if live {
            Introspection::Refresh(r)
        } else {
            Introspection::Inactive
        });
    }
    let Some(claims) = sessions.signer.verify(token, ctx.now) else {
        return Ok(Introspection::Inactive);
    };
    let live = match claims.tap {
        Some(tap) => svc.store.tap_exists(tap).await?,
        None => true,
    };
    Ok(if live {
        Introspection::Access(Box::new(claims))
    } else {
        Introspection::Inactive
    })
}

/// The application `client_id` names, if any: the built-in CLI client or a registered one.
pub async fn registered_app(svc: &Services, client_id: &str) -> ServiceResult<Option<AppRecord>> {
    match Uuid::parse_str(client_id) {
        Ok(id) if id == CLI_CLIENT_ID => Ok(Some(cli_app())),
        Ok(id) => Ok(svc.store.app_by_client_id(id).await?),
        Err(_) => Ok(None),
    }
}

/// Whether `app` works in `tenant`: an app is registered in one tenant, and only tapd's own
/// CLI is in every tenant. A request for a tenant (its URL, its user) with another tenant's
/// app is refused as if the app were unknown.
pub fn serves_tenant(app: &AppRecord, tenant: Uuid) -> bool {
    app.id == CLI_CLIENT_ID || app.tenant == tenant
}

/// The tapd CLI's first-party public client: not a row in the database, so it exists on every
/// database and in every tenant, never holds a secret and can't be deleted or changed through
/// Graph.
pub fn cli_app() -> AppRecord {
    AppRecord {
        id: CLI_CLIENT_ID,
        tenant: Uuid::nil(),
        client_id: CLI_CLIENT_ID,
        display_name: CLI_CLIENT_NAME.into(),
        permissions: vec![],
        web_redirect_uris: vec![],
        spa_redirect_uris: vec![],
        public_redirect_uris: CLI_REDIRECT_URIS.map(str::to_string).to_vec(),
        created_at: OffsetDateTime::UNIX_EPOCH,
        secrets: vec![],
    }
}

/// Whether `uri` is one of the application's redirect URIs: matched exactly, except that the
/// CLI's loopback redirect URIs match on any port (RFC 8252 §7.3, for native apps).
pub fn is_registered_redirect(app: &AppRecord, uri: &str) -> bool {
    let exact = app
        .web_redirect_uris
        .iter()
        .chain(&app.spa_redirect_uris)
        .chain(&app.public_redirect_uris)
        .any(|u| u == uri);
    exact
        || (app.client_id == CLI_CLIENT_ID
            && (app.public_redirect_uris.iter()).any(|u| loopback_redirect_matches(u, uri)))
}

/// What an authorization code is issued for.
pub struct CodeRequest<'a> {
    pub app: &'a AppRecord,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub nonce: Option<&'a str>,
    pub code_challenge: Option<&'a str>,
}

/// Issues an authorization code for a browser session; answers the code, stored hashed.
pub async fn issue_code(
    svc: &Services,
    ctx: &Ctx,
    req: &CodeRequest<'_>,
    session: &WebSession,
) -> ServiceResult<String> {
    let subject = match svc
        .store
        .user_anywhere(&session.user_id.to_string())
        .await?
    {
        Some(user) => code_subject(svc, req.app, user).await?,
        None => session.user_id,
    };
    let code = new_stored_token();
    let record = AuthCode {
        code_hash: svc.keys.token_hash(&code),
        client_id: req.app.client_id,
        redirect_uri: req.redirect_uri.to_string(),
        user_id: subject,
        tap_id: session.tap_id,
        amr: session.amr.clone(),
        scope: req.scope.to_string(),
        nonce: req.nonce.map(str::to_string),
        code_challenge: req.code_challenge.map(str::to_string),
        auth_time: session.auth_time,
        family_id: new_family(ctx.now),
        created_at: ctx.now,
        expires_at: ctx.now + CODE_TTL,
    };
    svc.store.put_auth_code(&record).await?;
    Ok(code)
}

/// Whom a code is for (SPEC §8): the signed-in user at an app of their own tenant; at an app
/// of another tenant, their guest account there — when that tenant invited them and trusts
/// their tenant's sign-ins (`inboundTrust.isMfaAccepted`). Otherwise refused: sent back to the
/// app when the tenant doesn't know them, on a page naming both organizations when it does but
/// doesn't trust their home.
async fn code_subject(svc: &Services, app: &AppRecord, user: UserRecord) -> ServiceResult<Uuid> {
    if serves_tenant(app, user.tenant) {
        return Ok(user.id);
    }
    let guest = svc.store.guest_of(app.tenant, user.id).await?;
    let Some(guest) = guest.filter(|g| g.account_enabled) else {
        return Err(refuse(
            Refusal::AccessDenied,
            format!(
                "The signed-in user '{}' is not in the organization of application '{}'. \
                 Sign in with an account of that organization.",
                user.upn, app.display_name
            ),
        ));
    };
    let partner = svc.store.partner(app.tenant, user.tenant).await?;
    if partner.is_some_and(|p| p.is_mfa_accepted) {
        return Ok(guest.id);
    }
    let name = |t: Option<tapd_store::Tenant>| t.map(|t| t.display_name).unwrap_or_default();
    let resource = name(svc.store.tenant(app.tenant).await?);
    let home = name(svc.store.tenant(user.tenant).await?);
    Err(ServiceError::Domain(tapd_core::DomainError::AccessDenied(
        format!(
            "{resource} does not trust sign-ins from {home} yet, so {} can't use {} as its guest. \
         An administrator of {resource} must add {home} (tenant {}) as a partner in its \
         cross-tenant access policy, with inboundTrust.isMfaAccepted set to true.",
            user.upn, app.display_name, user.tenant
        ),
    )))
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
