//! Passkeys (SPEC §6.3): registering one for the signed-in user, and signing in with one, with
//! or without a user name. The WebAuthn checks are webauthn_rp's. Between start and finish a
//! ceremony's state waits in the database under its challenge and is taken once, so any
//! replica can finish a ceremony another started.
//!
//! The options sent to the browser are the bare `PublicKeyCredential{Creation,Request}OptionsJSON`
//! (`PublicKeyCredential.parse…OptionsFromJSON`); the browser sends back `credential.toJSON()`.

use serde_json::Value;
use tapd_core::{passkey_display_name, registration_allowed};
use tapd_store::{Ceremony, CeremonyKind, PasskeyRecord, UserRecord};
use uuid::Uuid;
use webauthn_rp::bin::{Decode as _, Encode as _};
use webauthn_rp::request::auth::{AllowedCredentials, AuthenticationVerificationOptions};
use webauthn_rp::request::register::{
    CredProtect, Nickname, PublicKeyCredentialUserEntity, RegistrationVerificationOptions,
    UserHandle16, Username,
};
use webauthn_rp::request::{
    AsciiDomain, Credentials as _, ExtensionInfo, PublicKeyCredentialDescriptor, RpId,
    TimedCeremony as _, UserVerificationRequirement,
};
use webauthn_rp::response::register::{CompressedPubKey, DynamicState, StaticState};
use webauthn_rp::response::{AuthTransports, CredentialId, SentChallenge};
use webauthn_rp::{
    AuthenticatedCredential, DiscoverableAuthentication16, DiscoverableAuthenticationServerState,
    DiscoverableCredentialRequestOptions, NonDiscoverableAuthentication16,
    NonDiscoverableAuthenticationServerState, NonDiscoverableCredentialRequestOptions,
    PublicKeyCredentialCreationOptions, Registration, RegistrationServerState,
};

use super::audit::{self, Change};
use super::ratelimit::RateLimiter;
use super::signin::{PasskeyUse, Verified, check_rate};
use super::{Ctx, Initiator, ServiceError, ServiceResult, Services};

/// How long a started ceremony waits for its answer (webauthn_rp's own timeout, which `verify`
/// also enforces).
const CEREMONY_TTL: time::Duration = time::Duration::minutes(5);

/// The audit records' name of the method.
const METHOD: &str = "Passkey";

/// Who tapd is to passkeys: the RP ID (the public URL's host) and the origins answers may come
/// from (the public URL's origin).
pub struct RelyingParty {
    id: RpId,
    origins: Vec<String>,
}

impl RelyingParty {
    pub fn for_public_url(public_url: &str) -> anyhow::Result<RelyingParty> {
        let uri: axum::http::Uri = public_url.parse()?;
        let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
            anyhow::bail!("the public URL {public_url} has no scheme or host");
        };
        let default_port = match scheme {
            "https" => Some(443),
            "http" => Some(80),
            _ => None,
        };
        // An origin names its port only when it is not the scheme's default.
        let origin = match uri.port_u16().filter(|p| Some(*p) != default_port) {
            Some(port) => format!("{scheme}://{host}:{port}"),
            None => format!("{scheme}://{host}"),
        };
        Ok(RelyingParty {
            id: RpId::Domain(AsciiDomain::try_from(host.to_owned())?),
            origins: vec![origin.to_ascii_lowercase()],
        })
    }

    pub fn origins(&self) -> Vec<&str> {
        self.origins.iter().map(String::as_str).collect()
    }
}

/// A library failure that is ours, not the caller's: an internal error, logged at the edge.
fn internal(what: &'static str) -> impl FnOnce(&dyn std::fmt::Display) -> ServiceError {
    move |e| ServiceError::internal(format!("passkeys: {what}: {e}"))
}

fn refusal(message: impl Into<String>) -> ServiceError {
    ServiceError::Unauthenticated(message.into())
}

/// The key of the ceremony an answer is for: its challenge's 16 bytes.
fn challenge_key(
    challenge: Result<SentChallenge, impl std::fmt::Display>,
) -> ServiceResult<Vec<u8>> {
    let challenge = challenge.map_err(|e| {
        ServiceError::bad_request(format!("The credential's clientDataJSON is malformed: {e}"))
    })?;
    Ok(challenge.0.to_le_bytes().to_vec())
}

/// Stores a started ceremony's state for whichever replica gets the answer.
async fn save_ceremony(
    svc: &Services,
    ctx: &Ctx,
    kind: CeremonyKind,
    user_id: Option<Uuid>,
    challenge: SentChallenge,
    server_state: Vec<u8>,
) -> ServiceResult<()> {
    let ceremony = Ceremony {
        challenge: challenge.0.to_le_bytes().to_vec(),
        kind,
        user_id,
        state: server_state,
        expires_at: ctx.now + CEREMONY_TTL,
    };
    Ok(svc.store.put_ceremony(&ceremony).await?)
}

fn descriptor(p: &PasskeyRecord) -> ServiceResult<PublicKeyCredentialDescriptor<Vec<u8>>> {
    Ok(PublicKeyCredentialDescriptor {
        id: CredentialId::<Vec<u8>>::decode(p.credential_id.clone())
            .map_err(|e| internal("stored credential id")(&e))?,
        transports: AuthTransports::decode(p.transports)
            .map_err(|e| internal("stored transports")(&e))?,
    })
}

/// The credential JSON as bytes for the library's relaxed parsers.
fn credential_bytes(credential: &Value) -> ServiceResult<Vec<u8>> {
    if !credential.is_object() {
        return Err(ServiceError::bad_request(
            "Invalid value for credential: send the object credential.toJSON() returns.",
        ));
    }
    serde_json::to_vec(credential).map_err(|e| internal("credential")(&e))
}

// ----- registration -----

/// The signed-in user registering, and the pass their session was opened with.
fn registrant(ctx: &Ctx) -> ServiceResult<(&UserRecord, Option<Uuid>)> {
    match &ctx.initiator {
        Initiator::User { user, tap, .. } => Ok((user, *tap)),
        _ => Err(ServiceError::Unauthenticated(
            "Sign in first: the request carries no session and no access token.".into(),
        )),
    }
}

/// SPEC §6.2: after a sign-in with a one-time pass, a method must be registered within ten
/// minutes of it. The sign-in is the pass's consumption (`used_at`), which a refreshed token's
/// later `iat` does not move.
async fn check_registration_window(svc: &Services, ctx: &Ctx) -> ServiceResult<()> {
    let (user, Some(tap)) = registrant(ctx)? else {
        return Ok(());
    };
    match svc.store.tap_of(user.id).await? {
        Some((pass, _)) if pass.id == tap => Ok(registration_allowed(
            pass.is_usable_once,
            pass.used_at.unwrap_or(pass.start),
            ctx.now,
        )?),
        _ => Err(ServiceError::Unauthenticated(
            "The session has ended: the Temporary Access Pass it was opened with was deleted."
                .into(),
        )),
    }
}

/// The user's fixed WebAuthn user handle (16 random bytes, made on first use).
async fn user_handle(svc: &Services, user: &UserRecord) -> ServiceResult<UserHandle16> {
    let candidate = UserHandle16::new()
        .encode()
        .map_err(|e| internal("user handle")(&e))?;
    let handle: [u8; 16] = svc
        .store
        .user_handle(user.id, &candidate)
        .await?
        .try_into()
        .map_err(|_| internal("stored user handle")(&"not 16 bytes"))?;
    UserHandle16::decode(handle).map_err(|e| internal("user handle")(&e))
}

/// Starts registering a passkey for the signed-in user; their existing passkeys are excluded.
/// Answers the options for the browser.
pub async fn register_start(svc: &Services, rp: &RelyingParty, ctx: &Ctx) -> ServiceResult<Value> {
    check_registration_window(svc, ctx).await?;
    let (user, _) = registrant(ctx)?;
    let handle = user_handle(svc, user).await?;
    let entity = PublicKeyCredentialUserEntity {
        name: Username::try_from(user.upn.as_str()).map_err(|e| {
            ServiceError::bad_request(format!(
                "The user name '{}' can't name a passkey: {e}",
                user.upn
            ))
        })?,
        id: &handle,
        display_name: Nickname::try_from(user.display_name.as_str()).ok(),
    };
    let exclude = svc
        .store
        .passkeys_of(user.id)
        .await?
        .iter()
        .map(descriptor)
        .collect::<ServiceResult<Vec<_>>>()?;
    let mut options = PublicKeyCredentialCreationOptions::passkey(&rp.id, entity, exclude);
    // Ask for credProtect without making the browser enforce it (Chromium then refuses
    // authenticators that can't).
    options.extensions.cred_protect =
        CredProtect::UserVerificationRequired(ExtensionInfo::AllowDontEnforceValue);
    let (server, client) = options
        .start_ceremony()
        .map_err(|e| internal("start registration")(&e))?;
    let options = serde_json::to_value(&client).map_err(|e| internal("options")(&e))?;
    let encoded = server
        .encode()
        .map_err(|e| internal("registration state")(&e))?;
    let kind = CeremonyKind::Registration;
    save_ceremony(
        svc,
        ctx,
        kind,
        Some(user.id),
        server.sent_challenge(),
        encoded,
    )
    .await?;
    Ok(options)
}

/// Finishes a registration the same user started: verifies the authenticator's answer and
/// stores the passkey with its audit record.
pub async fn register_finish(
    svc: &Services,
    rp: &RelyingParty,
    ctx: &Ctx,
    display_name: &str,
    credential: &Value,
) -> ServiceResult<PasskeyRecord> {
    let display_name = passkey_display_name(display_name)?;
    check_registration_window(svc, ctx).await?;
    let (user, _) = registrant(ctx)?;
    let registration =
        Registration::from_json_relaxed(&credential_bytes(credential)?).map_err(|e| {
            ServiceError::bad_request(format!(
                "Invalid value for credential: not a WebAuthn registration response: {e}"
            ))
        })?;
    let key = challenge_key(registration.challenge_relaxed())?;
    let ceremony = svc
        .store
        .take_ceremony(&key, ctx.now)
        .await?
        .filter(|c| c.kind == CeremonyKind::Registration && c.user_id == Some(user.id))
        .ok_or_else(|| {
            ServiceError::bad_request(
                "No passkey registration of yours is waiting for this answer: it expired, was already finished, or was started by someone else. Start again.",
            )
        })?;
    let server = RegistrationServerState::<16>::decode(ceremony.state.as_slice())
        .map_err(|e| internal("registration state")(&e))?;
    let options = RegistrationVerificationOptions::<&str, &str> {
        allowed_origins: &rp.origins(),
        ..Default::default()
    };
    let credential = server
        .verify(&rp.id, &registration, &options)
        .map_err(|e| {
            ServiceError::bad_request(format!("The passkey could not be registered: {e}"))
        })?;
    let passkey = passkey_record(ctx, user, credential, display_name)?;
    let record = audit::change(
        ctx,
        Change {
            category: "UserManagement",
            activity: "User registered security info",
            operation: "Add",
            targets: vec![audit::target_user(user)],
            details: vec![
                ("methodType", "Passkey".into()),
                ("displayName", passkey.display_name.clone()),
                ("aaGuid", passkey.aaguid.to_string()),
            ],
        },
    );
    svc.store.add_passkey(&passkey, &record).await?;
    Ok(passkey)
}

/// What the store keeps of a registered credential.
fn passkey_record(
    ctx: &Ctx,
    user: &UserRecord,
    credential: webauthn_rp::RegisteredCredential<'_, 16>,
    display_name: String,
) -> ServiceResult<PasskeyRecord> {
    let (id, transports, user_handle, static_state, dynamic_state, metadata) =
        credential.into_parts();
    // The AAGUID from its raw bytes: webauthn_rp 0.3.0's `Metadata::into_json` mangles it.
    let aaguid = Uuid::from_slice(metadata.aaguid.data()).map_err(|e| internal("aaguid")(&e))?;
    Ok(PasskeyRecord {
        credential_id: id
            .encode()
            .map_err(|e| internal("credential id")(&e))?
            .to_vec(),
        user_id: user.id,
        user_handle: user_handle
            .encode()
            .map_err(|e| internal("user handle")(&e))?
            .to_vec(),
        static_state: static_state
            .encode()
            .map_err(|e| internal("static state")(&e))?,
        dynamic_state: dynamic_state
            .encode()
            .map_err(|e| internal("dynamic state")(&e))?
            .to_vec(),
        transports: transports
            .encode()
            .map_err(|e| internal("transports")(&e))?,
        aaguid,
        display_name,
        created_at: ctx.now,
        last_used_at: None,
    })
}

// ----- sign-in -----

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
            .find_user(name)
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
        .find_user(&answer.passkey.user_id.to_string())
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
