//! What a sign-in yields (SPEC §6.2), minted here and only here: access, refresh and ID tokens,
//! browser sessions, and application tokens. Anything from a pass ends no later than the pass
//! and carries `amr: ["tap"]`; nothing refreshed outlives the session it came from.

use tapd_core::{TapPass, capped_expiry};
use tapd_store::{AppRecord, Grant, RefreshToken, UserRecord, WebSession};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::ratelimit::RateLimiter;
use super::signin::Verified;
use super::{Ctx, Initiator, ServiceError, ServiceResult, Services};
use crate::keys::{Claims, GRAPH_AUDIENCE, TokenSigner, new_stored_token};

/// How long a browser session lasts (capped at the pass that opened it).
pub const WEB_SESSION_TTL: Duration = Duration::hours(8);

/// What minting needs beyond the store: the signing keys, lifetimes, the sign-in limit.
pub struct Sessions {
    pub signer: TokenSigner,
    pub limiter: RateLimiter,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
}

/// What a set of tokens is for.
pub struct Issue<'a> {
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

pub struct Tokens {
    pub access_token: String,
    pub access_expires: OffsetDateTime,
    /// The refresh token and what the store keeps of it.
    pub refresh: Option<(String, RefreshToken)>,
    pub id_token: Option<String>,
}

/// An OpenID Connect ID token's claims.
#[derive(serde::Serialize)]
struct IdClaims<'a> {
    iss: String,
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

/// A new session id (refresh-token family), time-ordered like every stored key.
pub fn new_family(now: OffsetDateTime) -> String {
    super::new_id(now).to_string()
}

impl Sessions {
    /// Signs the tokens of a user sign-in. Each ends no later than the pass it came from (if
    /// any) and the session it was refreshed from.
    pub fn mint(&self, svc: &Services, ctx: &Ctx, req: &Issue<'_>) -> Tokens {
        let cap = match (req.tap.map(TapPass::expires_at), req.session_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let now = ctx.now;
        let access_expires = capped_expiry(now, self.access_token_ttl, cap);
        let claims = self.user_claims(ctx, req, access_expires);
        let refresh = req.with_refresh.then(|| {
            let expires_at = req
                .session_end
                .unwrap_or_else(|| capped_expiry(now, self.refresh_token_ttl, cap));
            refresh_token(svc, req, now, expires_at)
        });
        let id_token = match (req.with_id_token, req.client_id) {
            (true, Some(client_id)) => Some(self.id_token(ctx, req, client_id, access_expires)),
            _ => None,
        };
        Tokens {
            access_token: self.signer.sign(&claims, now),
            access_expires,
            refresh,
            id_token,
        }
    }

    fn user_claims(&self, ctx: &Ctx, req: &Issue<'_>, expires: OffsetDateTime) -> Claims {
        Claims {
            iss: self.signer.issuer(req.user.tenant),
            aud: GRAPH_AUDIENCE.into(),
            sub: req.user.id.to_string(),
            tid: req.user.tenant.to_string(),
            iat: ctx.now.unix_timestamp(),
            nbf: ctx.now.unix_timestamp(),
            exp: expires.unix_timestamp(),
            jti: Uuid::new_v4().to_string(),
            idtyp: "user".into(),
            amr: req.amr.split_whitespace().map(str::to_string).collect(),
            upn: Some(req.user.upn.clone()),
            roles: vec![],
            tap: req.tap.map(|t| t.id),
            azp: req.client_id.map(|c| c.to_string()),
            scp: req.client_id.map(|_| req.scope.to_string()),
            sid: Some(req.family_id.to_string()),
        }
    }

    fn id_token(
        &self,
        ctx: &Ctx,
        req: &Issue<'_>,
        client_id: Uuid,
        expires: OffsetDateTime,
    ) -> String {
        let scopes: Vec<&str> = req.scope.split_whitespace().collect();
        let id = IdClaims {
            iss: self.signer.issuer(req.user.tenant),
            sub: req.user.id.to_string(),
            aud: client_id.to_string(),
            exp: expires.unix_timestamp(),
            iat: ctx.now.unix_timestamp(),
            nbf: ctx.now.unix_timestamp(),
            auth_time: req.auth_time.unix_timestamp(),
            nonce: req.nonce,
            amr: req.amr.split_whitespace().collect(),
            tid: req.user.tenant.to_string(),
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
        self.signer.sign(&id, ctx.now)
    }

    /// An application's own token (client credentials): its permissions as `roles`.
    pub fn mint_for_app(&self, ctx: &Ctx, app: &AppRecord) -> String {
        let expires = ctx.now + self.access_token_ttl;
        let claims = Claims {
            iss: self.signer.issuer(app.tenant),
            aud: GRAPH_AUDIENCE.into(),
            sub: app.id.to_string(),
            tid: app.tenant.to_string(),
            iat: ctx.now.unix_timestamp(),
            nbf: ctx.now.unix_timestamp(),
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
        self.signer.sign(&claims, ctx.now)
    }

    /// Commits a verified sign-in as tokens for tapd itself (the CLI, scripts): an access
    /// token and a refresh token.
    pub async fn open_api_session(
        &self,
        svc: &Services,
        ctx: &Ctx,
        verified: &Verified,
    ) -> ServiceResult<Tokens> {
        let family = new_family(ctx.now);
        let tokens = self.mint(
            svc,
            ctx,
            &Issue {
                user: &verified.user,
                amr: verified.amr,
                tap: verified.pass.as_ref(),
                client_id: None,
                scope: "",
                nonce: None,
                auth_time: ctx.now,
                family_id: &family,
                session_end: None,
                with_refresh: true,
                with_id_token: false,
            },
        );
        let refresh = match &tokens.refresh {
            Some((_, stored)) => stored.clone(),
            None => return Err(ServiceError::internal("no refresh token minted")),
        };
        verified.commit(svc, ctx, Grant::Refresh(refresh)).await?;
        Ok(tokens)
    }
}

fn refresh_token(
    svc: &Services,
    req: &Issue<'_>,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> (String, RefreshToken) {
    let token = new_stored_token();
    let stored = RefreshToken {
        token_hash: svc.keys.token_hash(&token),
        user_id: req.user.id,
        tap_id: req.tap.map(|t| t.id),
        amr: req.amr.to_string(),
        created_at: now,
        expires_at,
        family_id: req.family_id.to_string(),
        client_id: req.client_id,
        scope: req.scope.to_string(),
        auth_time: req.auth_time,
    };
    (token, stored)
}

/// Commits a verified sign-in as a browser session; answers it and its secret token (for the
/// cookie).
pub async fn open_web_session(
    svc: &Services,
    ctx: &Ctx,
    verified: &Verified,
) -> ServiceResult<(WebSession, String)> {
    let token = new_stored_token();
    let session = WebSession {
        token_hash: svc.keys.token_hash(&token),
        user_id: verified.user.id,
        tap_id: verified.pass.as_ref().map(|p| p.id),
        amr: verified.amr.to_string(),
        auth_time: ctx.now,
        created_at: ctx.now,
        expires_at: capped_expiry(ctx.now, WEB_SESSION_TTL, verified.cap()),
    };
    verified
        .commit(svc, ctx, Grant::Web(session.clone()))
        .await?;
    Ok((session, token))
}

/// Signs a browser out: its session (by the cookie's token) ends.
pub async fn end_web_session(svc: &Services, token: &str) -> ServiceResult<()> {
    Ok(svc
        .store
        .end_web_session(&svc.keys.token_hash(token))
        .await?)
}

/// Why a browser session is over, when it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// Expired, signed out, or its user disabled or gone.
    Ended,
    /// The pass it was opened with was deleted or has expired.
    PassGone,
}

/// The live browser session for a cookie's token: unexpired, its user enabled, its pass (if
/// any) still there and unexpired.
pub async fn web_session(
    svc: &Services,
    now: OffsetDateTime,
    token: &str,
) -> ServiceResult<Result<(WebSession, UserRecord), SessionEnd>> {
    let Some(session) = svc.store.web_session(&svc.keys.token_hash(token)).await? else {
        return Ok(Err(SessionEnd::Ended));
    };
    if now >= session.expires_at {
        return Ok(Err(SessionEnd::Ended));
    }
    if let Some(tap) = session.tap_id {
        let live = svc
            .store
            .tap_of(session.user_id)
            .await?
            .is_some_and(|(p, _)| p.id == tap && now < p.expires_at());
        if !live {
            return Ok(Err(SessionEnd::PassGone));
        }
    }
    let user = svc
        .store
        .user_anywhere(&session.user_id.to_string())
        .await?
        .filter(|u| u.account_enabled);
    Ok(user.map(|u| (session, u)).ok_or(SessionEnd::Ended))
}

/// The refusal of a token that doesn't check or whose subject is gone.
pub const INVALID_TOKEN: &str = "Access token validation failure. Invalid or expired token.";

/// The user (enabled, its pass still there if the token came from one) or the app behind a
/// verified token, with the roles or permissions it holds now.
pub async fn initiator_of(svc: &Services, claims: &Claims) -> ServiceResult<Initiator> {
    let invalid = || ServiceError::Unauthenticated(INVALID_TOKEN.into());
    let id = Uuid::parse_str(&claims.sub).map_err(|_| invalid())?;
    // The token's tenant is its subject's, or it is no good.
    let tenant = Uuid::parse_str(&claims.tid).map_err(|_| invalid())?;
    match claims.idtyp.as_str() {
        "user" => {
            let user = svc
                .store
                .user_anywhere(&id.to_string())
                .await?
                .filter(|u| u.account_enabled && u.tenant == tenant)
                .ok_or_else(invalid)?;
            if let Some(tap) = claims.tap
                && !svc.store.tap_exists(tap).await?
            {
                return Err(ServiceError::Unauthenticated(
                    "The session has ended: the Temporary Access Pass it was opened with was deleted.".into(),
                ));
            }
            user_initiator(svc, user, claims.tap).await
        }
        "app" => {
            let app = svc.store.app_anywhere(id).await?;
            let app = app.filter(|a| a.tenant == tenant).ok_or_else(invalid)?;
            Ok(Initiator::App(app))
        }
        _ => Err(invalid()),
    }
}

/// A signed-in user with the roles they hold now.
pub async fn user_initiator(
    svc: &Services,
    user: UserRecord,
    tap: Option<Uuid>,
) -> ServiceResult<Initiator> {
    let roles = svc.store.roles_of(user.id).await?;
    Ok(Initiator::User { user, roles, tap })
}
