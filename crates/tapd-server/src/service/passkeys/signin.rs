//! Signing in with a passkey, with or without a user name (SPEC §6.3).

use serde_json::Value;
use tapd_store::{Ceremony, CeremonyKind, PasskeyRecord, UserRecord};
use uuid::Uuid;
use webauthn_rp::bin::{Decode as _, Encode as _};
use webauthn_rp::request::auth::{AllowedCredentials, AuthenticationVerificationOptions};
use webauthn_rp::request::register::UserHandle16;
use webauthn_rp::request::{Credentials as _, TimedCeremony as _, UserVerificationRequirement};
use webauthn_rp::response::SentChallenge;
use webauthn_rp::response::register::{CompressedPubKey, DynamicState, StaticState};
use webauthn_rp::{
    AuthenticatedCredential, DiscoverableAuthentication16, DiscoverableAuthenticationServerState,
    DiscoverableCredentialRequestOptions, NonDiscoverableAuthentication16,
    NonDiscoverableAuthenticationServerState, NonDiscoverableCredentialRequestOptions,
};

use crate::service::audit::{self};
use crate::service::ratelimit::RateLimiter;
use crate::service::signin::{PasskeyUse, Verified, check_rate};
use crate::service::{Ctx, ServiceError, ServiceResult, Services};

use super::{
    METHOD, RelyingParty, challenge_key, credential_bytes, descriptor, internal, refusal,
    save_ceremony,
};

/// A started ceremony: options for the browser, and what the server keeps.
struct Started {
    options: Value,
    kind: CeremonyKind,
    user_id: Option<Uuid>,
    challenge: SentChallenge,
    state: Vec<u8>,
}

/// Starts a passkey sign-in. With the name of a user who has passkeys: a request for those
/// (user verification required). Without a name, or for anyone else: a request any passkey of
/// this server can answer, so an unknown name gets an answer like a missing one.
pub async fn sign_in_start(
    svc: &Services,
    limiter: &RateLimiter,
    rp: &RelyingParty,
    ctx: &Ctx,
    username: Option<&str>,
) -> ServiceResult<Value> {
    check_rate(limiter, ctx.ip)?;
    let user = match username.map(str::trim).unwrap_or("") {
        "" => None,
        name => svc
            .store
            .user_anywhere(name)
            .await?
            .filter(|u| u.account_enabled && !u.is_external),
    };
    let passkeys = match &user {
        Some(u) => svc.store.passkeys_of(u.id).await?,
        None => Vec::new(),
    };
    let started = match user.filter(|_| !passkeys.is_empty()) {
        Some(u) => start_for_user(rp, &u, &passkeys)?,
        None => start_discoverable(rp)?,
    };
    let Started {
        options,
        kind,
        user_id,
        challenge,
        state,
    } = started;
    save_ceremony(svc, ctx, kind, user_id, challenge, state).await?;
    Ok(options)
}

fn start_for_user(
    rp: &RelyingParty,
    user: &UserRecord,
    passkeys: &[PasskeyRecord],
) -> ServiceResult<Started> {
    let mut allowed = AllowedCredentials::with_capacity(passkeys.len());
    for p in passkeys {
        allowed.push(descriptor(p)?.into());
    }
    let mut options = NonDiscoverableCredentialRequestOptions::second_factor(&rp.id, allowed)
        .map_err(|e| internal("allow list")(&e))?;
    options.options().user_verification = UserVerificationRequirement::Required;
    let (server, client) = options
        .start_ceremony()
        .map_err(|e| internal("start sign-in")(&e))?;
    Ok(Started {
        options: serde_json::to_value(&client).map_err(|e| internal("options")(&e))?,
        kind: CeremonyKind::UserSignIn,
        user_id: Some(user.id),
        challenge: server.sent_challenge(),
        state: server.encode().map_err(|e| internal("sign-in state")(&e))?,
    })
}

fn start_discoverable(rp: &RelyingParty) -> ServiceResult<Started> {
    let (server, client) = DiscoverableCredentialRequestOptions::passkey(&rp.id)
        .start_ceremony()
        .map_err(|e| internal("start sign-in")(&e))?;
    Ok(Started {
        options: serde_json::to_value(&client).map_err(|e| internal("options")(&e))?,
        kind: CeremonyKind::DiscoverableSignIn,
        user_id: None,
        challenge: server.sent_challenge(),
        state: server.encode().map_err(|e| internal("sign-in state")(&e))?,
    })
}

/// A refused passkey sign-in: audited (naming the user when known), then answered `error`.
async fn refuse(
    svc: &Services,
    ctx: &Ctx,
    user: Option<&UserRecord>,
    why: &str,
    error: ServiceError,
) -> ServiceError {
    let username = user.map(|u| u.upn.as_str()).unwrap_or("");
    audit::sign_in_refused(svc, ctx, username, user, METHOD, why).await;
    error
}

/// A parsed answer: which ceremony it is for and which passkey answered.
struct Answer {
    bytes: Vec<u8>,
    ceremony: Ceremony,
    passkey: PasskeyRecord,
    presented_handle: Option<Result<Vec<u8>, ()>>,
}

/// Parses the answer and takes the ceremony it names (once); finds the passkey.
async fn read_answer(svc: &Services, ctx: &Ctx, credential: &Value) -> ServiceResult<Answer> {
    let bytes = credential_bytes(credential)?;
    // Parsed first without requiring a user handle, to find the ceremony and the passkey.
    let answer = match NonDiscoverableAuthentication16::from_json_relaxed(&bytes) {
        Ok(a) => a,
        Err(e) => {
            let message = format!(
                "Invalid value for credential: not a WebAuthn authentication response: {e}"
            );
            let why = "Malformed passkey response";
            return Err(refuse(svc, ctx, None, why, ServiceError::bad_request(message)).await);
        }
    };
    let key = challenge_key(answer.challenge_relaxed())?;
    let credential_id = answer
        .raw_id()
        .encode()
        .map_err(|e| internal("credential id")(&e))?
        .to_vec();
    let presented_handle = answer
        .response()
        .user_handle()
        .map(|h| h.encode().map(|h| h.to_vec()).map_err(|_| ()));
    let ceremony = svc
        .store
        .take_ceremony(&key, ctx.now)
        .await?
        .filter(|c| c.kind != CeremonyKind::Registration);
    let Some(ceremony) = ceremony else {
        let error = ServiceError::bad_request(
            "No passkey sign-in is waiting for this answer: it expired or was already finished. Start again.",
        );
        let why = "Unknown, expired or replayed passkey challenge";
        return Err(refuse(svc, ctx, None, why, error).await);
    };
    let Some(passkey) = svc.store.passkey(&credential_id).await? else {
        let error = refusal("This passkey is not registered. Sign in another way.");
        return Err(refuse(svc, ctx, None, "Unknown passkey", error).await);
    };
    Ok(Answer {
        bytes,
        ceremony,
        passkey,
        presented_handle,
    })
}

/// Checks a passkey's answer (`credential.toJSON()`) against the ceremony it names. Every
/// refusal is audited; nothing is written until the caller commits the returned sign-in.
pub async fn verify(
    svc: &Services,
    limiter: &RateLimiter,
    rp: &RelyingParty,
    ctx: &Ctx,
    credential: &Value,
) -> ServiceResult<Verified> {
    check_rate(limiter, ctx.ip)?;
    let answer = read_answer(svc, ctx, credential).await?;
    let owner = svc
        .store
        .user_anywhere(&answer.passkey.user_id.to_string())
        .await?;
    let user = match owner {
        Some(u) if u.account_enabled && !u.is_external => u,
        other => {
            let error = refusal("The account this passkey belongs to is disabled.");
            return Err(refuse(svc, ctx, other.as_ref(), "Disabled user", error).await);
        }
    };
    let handle_matches = match &answer.presented_handle {
        Some(Ok(h)) => h.as_slice() == answer.passkey.user_handle.as_slice(),
        Some(Err(())) => false,
        None => true,
    };
    let owner_matches = answer.ceremony.user_id.is_none_or(|u| u == user.id);
    if !handle_matches || !owner_matches {
        let error = refusal("This passkey does not belong to the account being signed in.");
        return Err(refuse(svc, ctx, Some(&user), "Passkey of another user", error).await);
    }
    let dynamic_after = match check_assertion(rp, &answer.ceremony, &answer.bytes, &answer.passkey)
    {
        Ok(d) => d,
        Err(Failure::Refused(e)) => {
            let why = format!("Passkey verification failed: {e}");
            let error = refusal(format!("The passkey could not be verified: {e}"));
            return Err(refuse(svc, ctx, Some(&user), &why, error).await);
        }
        Err(Failure::Internal(e)) => return Err(e),
    };
    Ok(Verified {
        username: user.upn.clone(),
        user,
        pass: None,
        passkey: Some(PasskeyUse {
            credential_id: answer.passkey.credential_id,
            dynamic_before: answer.passkey.dynamic_state,
            dynamic_after,
        }),
        amr: "fido",
        method: METHOD,
    })
}

enum Failure {
    /// The answer does not prove possession of the passkey (wrong origin, signature, counter…).
    Refused(String),
    Internal(ServiceError),
}

/// A stored passkey's public key, as the library keeps it.
type StoredKey = StaticState<CompressedPubKey<[u8; 32], [u8; 32], [u8; 48], Vec<u8>>>;

/// The stored credential, ready for the library to check an assertion against.
fn stored_credential(
    passkey: &PasskeyRecord,
) -> Result<(UserHandle16, StoredKey, DynamicState), Failure> {
    let broken = |what| move |e: &dyn std::fmt::Display| Failure::Internal(internal(what)(e));
    let handle: [u8; 16] = passkey
        .user_handle
        .clone()
        .try_into()
        .map_err(|_| broken("stored user handle")(&"not 16 bytes"))?;
    let handle = UserHandle16::decode(handle).map_err(|e| broken("user handle")(&e))?;
    let static_state = StoredKey::decode(passkey.static_state.as_slice())
        .map_err(|e| broken("static state")(&e))?;
    let dynamic: [u8; 7] = passkey
        .dynamic_state
        .clone()
        .try_into()
        .map_err(|_| broken("stored dynamic state")(&"not 7 bytes"))?;
    let dynamic = DynamicState::decode(dynamic).map_err(|e| broken("dynamic state")(&e))?;
    Ok((handle, static_state, dynamic))
}

/// The library's verification of an assertion; the passkey's new dynamic state on success.
fn check_assertion(
    rp: &RelyingParty,
    ceremony: &Ceremony,
    answer: &[u8],
    passkey: &PasskeyRecord,
) -> Result<Vec<u8>, Failure> {
    let broken = |what| move |e: &dyn std::fmt::Display| Failure::Internal(internal(what)(e));
    let (handle, static_state, dynamic) = stored_credential(passkey)?;
    let options = AuthenticationVerificationOptions::<&str, &str> {
        allowed_origins: &rp.origins(),
        ..Default::default()
    };
    let refused = |e: &dyn std::fmt::Display| Failure::Refused(e.to_string());
    let after = if ceremony.kind == CeremonyKind::DiscoverableSignIn {
        let a = DiscoverableAuthentication16::from_json_relaxed(answer).map_err(|e| refused(&e))?;
        let mut cred = AuthenticatedCredential::new(a.raw_id(), &handle, static_state, dynamic)
            .map_err(|e| refused(&e))?;
        DiscoverableAuthenticationServerState::decode(ceremony.state.as_slice())
            .map_err(|e| broken("sign-in state")(&e))?
            .verify(&rp.id, &a, &mut cred, &options)
            .map_err(|e| refused(&e))?;
        cred.dynamic_state()
    } else {
        let a =
            NonDiscoverableAuthentication16::from_json_relaxed(answer).map_err(|e| refused(&e))?;
        let mut cred = AuthenticatedCredential::new(a.raw_id(), &handle, static_state, dynamic)
            .map_err(|e| refused(&e))?;
        NonDiscoverableAuthenticationServerState::decode(ceremony.state.as_slice())
            .map_err(|e| broken("sign-in state")(&e))?
            .verify(&rp.id, &a, &mut cred, &options)
            .map_err(|e| refused(&e))?;
        cred.dynamic_state()
    };
    Ok(after
        .encode()
        .map_err(|e| broken("dynamic state")(&e))?
        .to_vec())
}
