//! Sign-in (SPEC §6.1): which methods to offer, checking a pass or a password, and committing
//! a checked sign-in with what it yields. The same for the JSON API, the web pages, OpenID
//! Connect and passkeys. Every attempt is audited; a per-client limit sits in front.

use std::net::IpAddr;

use tapd_core::{PASSWORD_THROTTLE, TapPass, UsabilityReason};
use tapd_store::{Grant, SignInView, Subject, UserRecord};
use time::OffsetDateTime;
use uuid::Uuid;

use super::audit;
use super::passes::usability;
use super::ratelimit::RateLimiter;
use super::{Ctx, ServiceError, ServiceResult, Services};

/// The generic refusal for an unknown user, a user without a pass, or a wrong code: it must
/// not tell these apart.
pub const WRONG_CODE: &str = "The user name or Temporary Access Pass is incorrect.";
pub const WRONG_PASSWORD: &str = "The user name or password is incorrect.";

const TAP_METHOD: &str = "Temporary Access Pass";
const PASSWORD_METHOD: &str = "Password";

fn refusal(message: impl Into<String>) -> ServiceError {
    ServiceError::Unauthenticated(message.into())
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

/// The per-client limit in front of every sign-in.
pub fn check_rate(limiter: &RateLimiter, ip: Option<IpAddr>) -> ServiceResult<()> {
    match ip {
        Some(ip) if !limiter.allow(ip) => Err(ServiceError::TooManyRequests),
        _ => Ok(()),
    }
}

/// A method worth offering at sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    TemporaryAccessPass,
    Password,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::TemporaryAccessPass => "temporaryAccessPass",
            Method::Password => "password",
        }
    }
}

/// What a sign-in page may offer a user.
pub struct Offer {
    /// In order of preference: a usable pass first.
    pub methods: Vec<Method>,
    /// Whether a password is worth asking for: false only for a user known to hold a usable
    /// pass and no password (everyone else looks like a password user).
    pub password: bool,
    /// The provider of the user's federated domain, where they sign in instead — unless they
    /// hold a usable pass, which is preferred (SPEC §8): then this is `None`.
    pub federation: Option<tapd_store::FederationRecord>,
}

/// The methods worth offering `username`. An unknown user gets the same answer as a user who
/// has only a password, so the answer does not reveal who has an account.
pub async fn methods_for(svc: &Services, ctx: &Ctx, username: &str) -> ServiceResult<Offer> {
    let mut methods = Vec::new();
    let mut password = true;
    if let Some(view) = svc.store.user_with_tap(username.trim()).await?
        && view.user.account_enabled
        && !view.user.is_external
        && let Some((pass, _)) = &view.tap
        && usability(svc, &view.policy, &view.user, pass, ctx.now)
            .await?
            .is_usable()
    {
        methods.push(Method::TemporaryAccessPass);
        password = view.user.password_hash.is_some();
    }
    let federation = match methods.contains(&Method::TemporaryAccessPass) {
        true => None,
        false => super::federation::signin::federation_for(svc, username).await?,
    };
    methods.push(Method::Password);
    Ok(Offer {
        methods,
        password,
        federation,
    })
}

/// What the person presented.
pub enum Credential {
    Tap(String),
    Password(String),
}

/// A checked sign-in, not yet committed: [`Verified::commit`] consumes the pass (or records the
/// passkey's use) and stores what the sign-in yields.
pub struct Verified {
    pub user: UserRecord,
    pub pass: Option<TapPass>,
    /// The passkey signed in with, and its new dynamic state (signature counter).
    pub passkey: Option<PasskeyUse>,
    /// The `amr` value: "tap", "pwd", "fido", or "fed" (with "mfa" when the federated
    /// provider's MFA counts).
    pub amr: &'static str,
    /// The method as the audit record names it.
    pub method: &'static str,
    pub username: String,
}

/// A verified passkey assertion's effect on the stored credential.
pub struct PasskeyUse {
    pub credential_id: Vec<u8>,
    pub dynamic_before: Vec<u8>,
    pub dynamic_after: Vec<u8>,
}

/// Checks a credential for `username`. A refusal is audited and tells nothing about other
/// accounts; for a pass, it says why the pass can't be used (SPEC §5.3).
pub async fn verify(
    svc: &Services,
    limiter: &RateLimiter,
    ctx: &Ctx,
    username: &str,
    credential: Credential,
) -> ServiceResult<Verified> {
    check_rate(limiter, ctx.ip)?;
    let username = username.trim();
    match credential {
        Credential::Tap(code) => verify_tap(svc, ctx, username, code.trim()).await,
        Credential::Password(password) => {
            // A federated domain's users sign in at its provider, not with a password here.
            if let Some(f) = super::federation::signin::federation_for(svc, username).await? {
                let why = "Password sign-in refused: the domain is federated";
                audit::sign_in_refused(svc, ctx, username, None, PASSWORD_METHOD, why).await;
                return Err(refusal(format!(
                    "{} signs you in: use \"Continue to {}\" on the sign-in page.",
                    f.display_name, f.display_name
                )));
            }
            verify_password(svc, ctx, username, password).await
        }
    }
}

async fn verify_tap(
    svc: &Services,
    ctx: &Ctx,
    username: &str,
    code: &str,
) -> ServiceResult<Verified> {
    let found = svc
        .store
        .user_with_tap(username)
        .await?
        .filter(|view| view.user.account_enabled && !view.user.is_external);
    let Some(SignInView { user, tap, policy }) = found else {
        let why = "Unknown or disabled user";
        audit::sign_in_refused(svc, ctx, username, None, TAP_METHOD, why).await;
        return Err(refusal(WRONG_CODE));
    };
    let Some((pass, secret)) = tap else {
        let why = "The user holds no Temporary Access Pass";
        audit::sign_in_refused(svc, ctx, username, Some(&user), TAP_METHOD, why).await;
        return Err(refusal(WRONG_CODE));
    };
    // The code first: only someone holding it learns why the pass can't be used.
    let reason = usability(svc, &policy, &user, &pass, ctx.now).await?;
    if !svc.keys.verify_code(&secret, code) {
        return Err(wrong_code(svc, ctx, username, &user, &pass, reason).await);
    }
    if !reason.is_usable() {
        let why = format!("{reason:?}");
        audit::sign_in_refused(svc, ctx, username, Some(&user), TAP_METHOD, &why).await;
        return Err(refusal(reason_message(reason)));
    }
    Ok(Verified {
        user,
        pass: Some(pass),
        passkey: None,
        amr: "tap",
        method: TAP_METHOD,
        username: username.to_string(),
    })
}

/// A wrong code: audited, and counted against a usable pass, which locks after ten in a row.
/// The answer is the same whatever happened, also on the tenth: only someone presenting the
/// right code learns that a pass is locked (as for an expired one).
async fn wrong_code(
    svc: &Services,
    ctx: &Ctx,
    username: &str,
    user: &UserRecord,
    pass: &TapPass,
    reason: UsabilityReason,
) -> ServiceError {
    let record = audit::sign_in(ctx, username, Some(user), TAP_METHOD, Some("Wrong code"));
    let written = if reason.is_usable() {
        svc.store
            .record_tap_failure(pass.id, &record)
            .await
            .map(|failures| {
                if failures == tapd_core::MAX_FAILED_ATTEMPTS {
                    crate::telemetry::lockout("tap");
                }
            })
    } else {
        svc.store.audit_sign_in_failure(&record).await
    };
    match written {
        Ok(()) => refusal(WRONG_CODE),
        Err(e) => e.into(),
    }
}

/// A password sign-in. The account's run of wrong passwords is kept in the database
/// (`tapd_core::PASSWORD_THROTTLE`): once it reaches the limit, the password is not checked
/// until the cool-down has passed. Every refusal — unknown user, wrong password, paused
/// account — answers the same message after the same hashing work, so none tells an account
/// apart; the audit records which it was.
async fn verify_password(
    svc: &Services,
    ctx: &Ctx,
    username: &str,
    password: String,
) -> ServiceResult<Verified> {
    let user = svc
        .store
        .user_anywhere(username)
        .await?
        .filter(|u| u.account_enabled && !u.is_external);
    // The same read for an unknown user, so that timing tells nothing.
    let subject = Subject::Account(user.as_ref().map_or(Uuid::nil(), |u| u.id));
    let run = svc.store.failure_run(subject).await?;
    let paused = PASSWORD_THROTTLE
        .refused_until(run.as_ref(), ctx.now)
        .is_some();
    // Unknown users (and paused accounts) are checked against a dummy hash.
    let phc = user
        .as_ref()
        .filter(|_| !paused)
        .and_then(|u| u.password_hash.clone());
    let ok = svc
        .hash(move |memory| crate::keys::verify_password(memory, &password, phc.as_deref()))
        .await?;
    match user {
        Some(user) if ok => {
            if run.is_some() {
                svc.store.clear_failures(subject).await?;
            }
            Ok(Verified {
                user,
                pass: None,
                passkey: None,
                amr: "pwd",
                method: PASSWORD_METHOD,
                username: username.to_string(),
            })
        }
        user => Err(wrong_password(svc, ctx, username, user.as_ref(), paused).await),
    }
}

/// A refused password: audited, and counted against a known account unless its password
/// sign-in is paused (an attempt that checked nothing is no guess).
async fn wrong_password(
    svc: &Services,
    ctx: &Ctx,
    username: &str,
    user: Option<&UserRecord>,
    paused: bool,
) -> ServiceError {
    let why = match (user, paused) {
        (None, _) => "Invalid user name or password",
        (Some(_), true) => "Password sign-in paused after too many wrong passwords",
        (Some(_), false) => "Invalid password",
    };
    let record = audit::sign_in(ctx, username, user, PASSWORD_METHOD, Some(why));
    let written = match user {
        Some(user) if !paused => svc
            .store
            .record_password_failure(user.id, &record)
            .await
            .map(|run| {
                if run == PASSWORD_THROTTLE.limit {
                    crate::telemetry::lockout("password");
                }
            }),
        _ => svc.store.audit_sign_in_failure(&record).await,
    };
    match written {
        Ok(()) => refusal(WRONG_PASSWORD),
        Err(e) => e.into(),
    }
}

impl Verified {
    /// When anything this sign-in yields must end: the pass's end, if a pass was used.
    pub fn cap(&self) -> Option<OffsetDateTime> {
        self.pass.as_ref().map(TapPass::expires_at)
    }

    /// Consumes the pass (exactly one concurrent sign-in with a one-time pass wins) or records
    /// the passkey's new state, and stores `grant` and the audit record, all in one commit.
    pub async fn commit(&self, svc: &Services, ctx: &Ctx, grant: Grant) -> ServiceResult<()> {
        let record = audit::sign_in(ctx, &self.username, Some(&self.user), self.method, None);
        let (committed, why, message) = match &self.passkey {
            Some(used) => (
                svc.store
                    .passkey_sign_in_commit(
                        &used.credential_id,
                        &used.dynamic_before,
                        &used.dynamic_after,
                        grant,
                        &record,
                    )
                    .await?,
                "The passkey was removed or used by another sign-in meanwhile",
                "This passkey was removed or used by another sign-in at the same time. Try again.",
            ),
            // Another sign-in may have consumed the one-time pass first, or it locked meanwhile.
            None => (
                svc.store
                    .sign_in_commit(self.pass.clone(), grant, &record)
                    .await?,
                "OneTimeUsed",
                reason_message(UsabilityReason::OneTimeUsed),
            ),
        };
        if !committed {
            let user = Some(&self.user);
            audit::sign_in_refused(svc, ctx, &self.username, user, self.method, why).await;
            return Err(refusal(message));
        }
        Ok(())
    }
}
