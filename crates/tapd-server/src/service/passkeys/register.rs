//! Registering a passkey for the signed-in user (SPEC §6.3), within ten minutes of a sign-in
//! with a one-time pass (SPEC §6.2), as the FIDO2 configuration allows: at the start the
//! method's state, targets and self-service rule; at the finish those again (the policy may
//! have changed meanwhile) and the key restrictions on the authenticator's AAGUID.

use serde_json::Value;
use tapd_core::{passkey_display_name, registration_allowed};
use tapd_store::{CeremonyKind, PasskeyRecord, UserRecord};
use uuid::Uuid;
use webauthn_rp::bin::{Decode as _, Encode as _};
use webauthn_rp::request::register::{
    CredProtect, Nickname, PublicKeyCredentialUserEntity, RegistrationVerificationOptions,
    UserHandle16, Username,
};
use webauthn_rp::request::{ExtensionInfo, TimedCeremony as _};
use webauthn_rp::{PublicKeyCredentialCreationOptions, Registration, RegistrationServerState};

use crate::service::audit::{self, Change};
use crate::service::fido2;
use crate::service::{Ctx, Initiator, ServiceError, ServiceResult, Services};

use super::{RelyingParty, challenge_key, credential_bytes, descriptor, internal, save_ceremony};

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
    fido2::check_self_registration(svc, user.tenant, user.id).await?;
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
    let policy = fido2::check_self_registration(svc, user.tenant, user.id).await?;
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
    fido2::check_authenticator(&policy, passkey.aaguid)?;
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
