//! Passkeys (SPEC §6.3): registering one from a signed-in session (browser or bearer token), and
//! signing in with one, with or without a user name. The WebAuthn checks are webauthn_rp's.
//! Between start and finish a ceremony's state waits in the database under its challenge and is
//! taken once, so any replica can finish a ceremony another started.
//!
//! The options sent to the browser are the bare `PublicKeyCredential{Creation,Request}OptionsJSON`
//! (`PublicKeyCredential.parse…OptionsFromJSON`); the browser sends back `credential.toJSON()`.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
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

use crate::auth::{Caller, client_ip, user_initiator};
use crate::error::{ApiError, ApiResult, current_request_id};
use crate::extract::GraphJson;
use crate::graph::{self, fido2_json};
use crate::signin::{PasskeyUse, Verified, api_session, audit_failure, check_rate, refusal};
use crate::{AppState, SharedState, authorize, web};

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/api/passkeys/register/start", post(register_start))
        .route("/api/passkeys/register/finish", post(register_finish))
        .route("/api/signin/passkey/start", post(sign_in_start))
        .route("/api/signin/passkey/finish", post(sign_in_finish))
        .route("/signin/passkey/finish", post(web_sign_in_finish))
}

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

    fn origins(&self) -> Vec<&str> {
        self.origins.iter().map(String::as_str).collect()
    }
}

/// A library failure that is ours, not the caller's: logged, answered 500.
fn internal(what: &'static str) -> impl FnOnce(&dyn std::fmt::Display) -> ApiError {
    move |e| {
        tracing::error!(request_id = %current_request_id(), error = %e, "passkeys: {what}");
        ApiError::internal()
    }
}

/// The key of the ceremony an answer is for: its challenge's 16 bytes.
fn challenge_key(challenge: Result<SentChallenge, impl std::fmt::Display>) -> ApiResult<Vec<u8>> {
    let challenge = challenge.map_err(|e| {
        ApiError::bad_request(format!("The credential's clientDataJSON is malformed: {e}"))
    })?;
    Ok(challenge.0.to_le_bytes().to_vec())
}

/// Stores a started ceremony's state for whichever replica gets the answer.
async fn save_ceremony(
    state: &AppState,
    kind: CeremonyKind,
    user_id: Option<Uuid>,
    challenge: SentChallenge,
    server_state: Vec<u8>,
) -> ApiResult<()> {
    let ceremony = Ceremony {
        challenge: challenge.0.to_le_bytes().to_vec(),
        kind,
        user_id,
        state: server_state,
        expires_at: state.now() + CEREMONY_TTL,
    };
    Ok(state.store.put_ceremony(&ceremony).await?)
}

fn descriptor(p: &PasskeyRecord) -> ApiResult<PublicKeyCredentialDescriptor<Vec<u8>>> {
    Ok(PublicKeyCredentialDescriptor {
        id: CredentialId::<Vec<u8>>::decode(p.credential_id.clone())
            .map_err(|e| internal("stored credential id")(&e))?,
        transports: AuthTransports::decode(p.transports)
            .map_err(|e| internal("stored transports")(&e))?,
    })
}

/// The credential JSON as bytes for the library's relaxed parsers.
fn credential_bytes(credential: &Value) -> ApiResult<Vec<u8>> {
    if !credential.is_object() {
        return Err(ApiError::bad_request(
            "Invalid value for credential: send the object credential.toJSON() returns.",
        ));
    }
    serde_json::to_vec(credential).map_err(|e| internal("credential")(&e))
}

/// A browser's request without its CSRF token (`X-CSRF-Token`).
fn missing_csrf() -> ApiError {
    ApiError::access_denied(
        "The X-CSRF-Token header is missing or does not match this browser. Reload the page and try again.",
    )
}

// ----- registration -----

/// Who registers a passkey: the user of a bearer token, or of the browser's session, whose
/// requests must then carry the CSRF token in `X-CSRF-Token`.
pub(crate) struct Registrant {
    pub user: UserRecord,
    /// The pass the session was opened with, if any.
    pub tap_id: Option<Uuid>,
    pub ip: Option<IpAddr>,
}

impl FromRequestParts<SharedState> for Registrant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> ApiResult<Registrant> {
        let ip = client_ip(parts);
        if parts.headers.contains_key(header::AUTHORIZATION) {
            let caller = Caller::from_request_parts(parts, state).await?;
            return Ok(Registrant {
                user: caller.user()?.clone(),
                tap_id: caller.claims.tap,
                ip,
            });
        }
        let Some((session, user)) = web::current_session(state, &parts.headers).await? else {
            return Err(ApiError::unauthenticated(
                "Sign in first: the request carries no session and no access token.",
            ));
        };
        if !web::csrf_ok(state, &parts.headers, "") {
            return Err(missing_csrf());
        }
        Ok(Registrant {
            user,
            tap_id: session.tap_id,
            ip,
        })
    }
}

/// SPEC §6.2: after a sign-in with a one-time pass, a method must be registered within ten
/// minutes of it. The sign-in is the pass's consumption (`used_at`), which a refreshed token's
/// later `iat` does not move.
async fn check_registration_window(state: &AppState, r: &Registrant) -> ApiResult<()> {
    let Some(tap) = r.tap_id else {
        return Ok(());
    };
    match state.store.tap_of(r.user.id).await? {
        Some((pass, _)) if pass.id == tap => Ok(registration_allowed(
            pass.is_usable_once,
            pass.used_at.unwrap_or(pass.start),
            state.now(),
        )?),
        _ => Err(ApiError::unauthenticated(
            "The session has ended: the Temporary Access Pass it was opened with was deleted.",
        )),
    }
}

/// Starts registering a passkey for the signed-in user; their existing passkeys are excluded.
async fn register_start(
    State(state): State<SharedState>,
    registrant: Registrant,
) -> ApiResult<Json<Value>> {
    check_registration_window(&state, &registrant).await?;
    let user = &registrant.user;
    let candidate = UserHandle16::new()
        .encode()
        .map_err(|e| internal("user handle")(&e))?;
    let handle: [u8; 16] = state
        .store
        .user_handle(user.id, &candidate)
        .await?
        .try_into()
        .map_err(|_| internal("stored user handle")(&"not 16 bytes"))?;
    let handle = UserHandle16::decode(handle).map_err(|e| internal("user handle")(&e))?;
    let entity = PublicKeyCredentialUserEntity {
        name: Username::try_from(user.upn.as_str()).map_err(|e| {
            ApiError::bad_request(format!(
                "The user name '{}' can't name a passkey: {e}",
                user.upn
            ))
        })?,
        id: &handle,
        display_name: Nickname::try_from(user.display_name.as_str()).ok(),
    };
    let exclude = state
        .store
        .passkeys_of(user.id)
        .await?
        .iter()
        .map(descriptor)
        .collect::<ApiResult<Vec<_>>>()?;
    let mut options =
        PublicKeyCredentialCreationOptions::passkey(&state.passkeys.id, entity, exclude);
    // Ask for credProtect without making the browser enforce it (Chromium then refuses
    // authenticators that can't).
    options.extensions.cred_protect =
        CredProtect::UserVerificationRequired(ExtensionInfo::AllowDontEnforceValue);
    let (server, client) = options
        .start_ceremony()
        .map_err(|e| internal("start registration")(&e))?;
    let options = serde_json::to_value(&client).map_err(|e| internal("options")(&e))?;
    let challenge = server.sent_challenge();
    let encoded = server
        .encode()
        .map_err(|e| internal("registration state")(&e))?;
    save_ceremony(
        &state,
        CeremonyKind::Registration,
        Some(user.id),
        challenge,
        encoded,
    )
    .await?;
    Ok(Json(json!({ "options": options })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RegisterFinish {
    display_name: String,
    credential: Value,
}

/// Finishes a registration the same user started: verifies the authenticator's answer and
/// stores the passkey with its audit record.
async fn register_finish(
    State(state): State<SharedState>,
    registrant: Registrant,
    GraphJson(req): GraphJson<RegisterFinish>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let display_name = passkey_display_name(&req.display_name)?;
    check_registration_window(&state, &registrant).await?;
    let user = &registrant.user;
    let registration = Registration::from_json_relaxed(&credential_bytes(&req.credential)?)
        .map_err(|e| {
            ApiError::bad_request(format!(
                "Invalid value for credential: not a WebAuthn registration response: {e}"
            ))
        })?;
    let key = challenge_key(registration.challenge_relaxed())?;
    let ceremony = state
        .store
        .take_ceremony(&key, state.now())
        .await?
        .filter(|c| c.kind == CeremonyKind::Registration && c.user_id == Some(user.id))
        .ok_or_else(|| {
            ApiError::bad_request(
                "No passkey registration of yours is waiting for this answer: it expired, was already finished, or was started by someone else. Start again.",
            )
        })?;
    let server = RegistrationServerState::<16>::decode(ceremony.state.as_slice())
        .map_err(|e| internal("registration state")(&e))?;
    let options = RegistrationVerificationOptions::<&str, &str> {
        allowed_origins: &state.passkeys.origins(),
        ..Default::default()
    };
    let credential = server
        .verify(&state.passkeys.id, &registration, &options)
        .map_err(|e| ApiError::bad_request(format!("The passkey could not be registered: {e}")))?;
    let (id, transports, user_handle, static_state, dynamic_state, metadata) =
        credential.into_parts();
    // The AAGUID from its raw bytes: webauthn_rp 0.3.0's `Metadata::into_json` mangles it.
    let aaguid = Uuid::from_slice(metadata.aaguid.data()).map_err(|e| internal("aaguid")(&e))?;
    let now = state.now();
    let passkey = PasskeyRecord {
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
        created_at: now,
        last_used_at: None,
    };
    let record = graph::audit_record(
        &state,
        user_initiator(user, registrant.ip),
        "UserManagement",
        "User registered security info",
        "Add",
        vec![graph::target_user(user)],
        vec![
            ("methodType", "Passkey".into()),
            ("displayName", passkey.display_name.clone()),
            ("aaGuid", aaguid.to_string()),
        ],
    );
    state.store.add_passkey(&passkey, &record).await?;
    Ok((StatusCode::CREATED, Json(fido2_json(&passkey))))
}

// ----- sign-in -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInStart {
    #[serde(default)]
    username: Option<String>,
}

/// Starts a passkey sign-in. With the name of a user who has passkeys: a request for those
/// (user verification required). Without a name, or for anyone else: a request any passkey of
/// this server can answer, so an unknown name gets an answer like a missing one.
async fn sign_in_start(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    GraphJson(req): GraphJson<SignInStart>,
) -> ApiResult<Json<Value>> {
    check_rate(&state, peer.ip())?;
    let username = req.username.as_deref().map(str::trim).unwrap_or("");
    let user = match username {
        "" => None,
        name => state
            .store
            .find_user(name)
            .await?
            .filter(|u| u.account_enabled && !u.is_external),
    };
    let passkeys = match &user {
        Some(u) => state.store.passkeys_of(u.id).await?,
        None => Vec::new(),
    };
    let rp = &state.passkeys.id;
    let (options, kind, user_id, challenge, encoded) =
        if let Some(u) = user.filter(|_| !passkeys.is_empty()) {
            let mut allowed = AllowedCredentials::with_capacity(passkeys.len());
            for p in &passkeys {
                allowed.push(descriptor(p)?.into());
            }
            let mut options = NonDiscoverableCredentialRequestOptions::second_factor(rp, allowed)
                .map_err(|e| internal("allow list")(&e))?;
            options.options().user_verification = UserVerificationRequirement::Required;
            let (server, client) = options
                .start_ceremony()
                .map_err(|e| internal("start sign-in")(&e))?;
            (
                serde_json::to_value(&client).map_err(|e| internal("options")(&e))?,
                CeremonyKind::UserSignIn,
                Some(u.id),
                server.sent_challenge(),
                server.encode().map_err(|e| internal("sign-in state")(&e))?,
            )
        } else {
            let (server, client) = DiscoverableCredentialRequestOptions::passkey(rp)
                .start_ceremony()
                .map_err(|e| internal("start sign-in")(&e))?;
            (
                serde_json::to_value(&client).map_err(|e| internal("options")(&e))?,
                CeremonyKind::DiscoverableSignIn,
                None,
                server.sent_challenge(),
                server.encode().map_err(|e| internal("sign-in state")(&e))?,
            )
        };
    save_ceremony(&state, kind, user_id, challenge, encoded).await?;
    Ok(Json(json!({ "options": options })))
}

/// A refused passkey sign-in: audited (naming the user when known), then answered `error`.
async fn refuse(
    state: &AppState,
    user: Option<&UserRecord>,
    ip: IpAddr,
    why: &str,
    error: ApiError,
) -> ApiError {
    let username = user.map(|u| u.upn.as_str()).unwrap_or("");
    audit_failure(state, username, user, METHOD, ip, why).await;
    error
}

/// Checks a passkey's answer (`credential.toJSON()`) against the ceremony it names. Every
/// refusal is audited; nothing is written until the caller commits the returned sign-in.
pub(crate) async fn verify(
    state: &AppState,
    credential: &Value,
    ip: IpAddr,
) -> ApiResult<Verified> {
    check_rate(state, ip)?;
    let bytes = credential_bytes(credential)?;
    // Parsed first without requiring a user handle, to find the ceremony and the passkey.
    let answer = match NonDiscoverableAuthentication16::from_json_relaxed(&bytes) {
        Ok(a) => a,
        Err(e) => {
            let message = format!(
                "Invalid value for credential: not a WebAuthn authentication response: {e}"
            );
            let why = "Malformed passkey response";
            return Err(refuse(state, None, ip, why, ApiError::bad_request(message)).await);
        }
    };
    let key = challenge_key(answer.challenge_relaxed())?;
    let credential_id = answer
        .raw_id()
        .encode()
        .map_err(|e| internal("credential id")(&e))?
        .to_vec();
    let presented_handle = answer.response().user_handle().map(|h| h.encode());
    let ceremony = state
        .store
        .take_ceremony(&key, state.now())
        .await?
        .filter(|c| c.kind != CeremonyKind::Registration);
    let Some(ceremony) = ceremony else {
        let error = ApiError::bad_request(
            "No passkey sign-in is waiting for this answer: it expired or was already finished. Start again.",
        );
        return Err(refuse(
            state,
            None,
            ip,
            "Unknown, expired or replayed passkey challenge",
            error,
        )
        .await);
    };
    let Some(passkey) = state.store.passkey(&credential_id).await? else {
        let error = refusal("This passkey is not registered. Sign in another way.");
        return Err(refuse(state, None, ip, "Unknown passkey", error).await);
    };
    let owner = state.store.find_user(&passkey.user_id.to_string()).await?;
    let user = match owner {
        Some(u) if u.account_enabled && !u.is_external => u,
        other => {
            let error = refusal("The account this passkey belongs to is disabled.");
            return Err(refuse(state, other.as_ref(), ip, "Disabled user", error).await);
        }
    };
    let handle_matches = match &presented_handle {
        Some(Ok(h)) => h.as_slice() == passkey.user_handle.as_slice(),
        Some(Err(_)) => false,
        None => true,
    };
    let owner_matches = ceremony.user_id.is_none_or(|u| u == user.id);
    if !handle_matches || !owner_matches {
        let error = refusal("This passkey does not belong to the account being signed in.");
        return Err(refuse(state, Some(&user), ip, "Passkey of another user", error).await);
    }
    let dynamic_after = match check_assertion(state, &ceremony, &bytes, &passkey) {
        Ok(d) => d,
        Err(Failure::Refused(e)) => {
            let why = format!("Passkey verification failed: {e}");
            let error = refusal(format!("The passkey could not be verified: {e}"));
            return Err(refuse(state, Some(&user), ip, &why, error).await);
        }
        Err(Failure::Internal(e)) => return Err(e),
    };
    Ok(Verified {
        username: user.upn.clone(),
        user,
        pass: None,
        passkey: Some(PasskeyUse {
            credential_id,
            dynamic_before: passkey.dynamic_state,
            dynamic_after,
        }),
        amr: "fido",
        method: METHOD,
        ip,
    })
}

enum Failure {
    /// The answer does not prove possession of the passkey (wrong origin, signature, counter…).
    Refused(String),
    Internal(ApiError),
}

/// The library's verification of an assertion; the passkey's new dynamic state on success.
fn check_assertion(
    state: &AppState,
    ceremony: &Ceremony,
    answer: &[u8],
    passkey: &PasskeyRecord,
) -> Result<Vec<u8>, Failure> {
    let broken = |what| move |e: &dyn std::fmt::Display| Failure::Internal(internal(what)(e));
    let handle: [u8; 16] = passkey
        .user_handle
        .clone()
        .try_into()
        .map_err(|_| broken("stored user handle")(&"not 16 bytes"))?;
    let handle = UserHandle16::decode(handle).map_err(|e| broken("user handle")(&e))?;
    let static_state =
        StaticState::<CompressedPubKey<[u8; 32], [u8; 32], [u8; 48], Vec<u8>>>::decode(
            passkey.static_state.as_slice(),
        )
        .map_err(|e| broken("static state")(&e))?;
    let dynamic: [u8; 7] = passkey
        .dynamic_state
        .clone()
        .try_into()
        .map_err(|_| broken("stored dynamic state")(&"not 7 bytes"))?;
    let dynamic = DynamicState::decode(dynamic).map_err(|e| broken("dynamic state")(&e))?;
    let options = AuthenticationVerificationOptions::<&str, &str> {
        allowed_origins: &state.passkeys.origins(),
        ..Default::default()
    };
    let refused = |e: &dyn std::fmt::Display| Failure::Refused(e.to_string());
    let after = if ceremony.kind == CeremonyKind::DiscoverableSignIn {
        let a = DiscoverableAuthentication16::from_json_relaxed(answer).map_err(|e| refused(&e))?;
        let mut cred = AuthenticatedCredential::new(a.raw_id(), &handle, static_state, dynamic)
            .map_err(|e| refused(&e))?;
        DiscoverableAuthenticationServerState::decode(ceremony.state.as_slice())
            .map_err(|e| broken("sign-in state")(&e))?
            .verify(&state.passkeys.id, &a, &mut cred, &options)
            .map_err(|e| refused(&e))?;
        cred.dynamic_state()
    } else {
        let a =
            NonDiscoverableAuthentication16::from_json_relaxed(answer).map_err(|e| refused(&e))?;
        let mut cred = AuthenticatedCredential::new(a.raw_id(), &handle, static_state, dynamic)
            .map_err(|e| refused(&e))?;
        NonDiscoverableAuthenticationServerState::decode(ceremony.state.as_slice())
            .map_err(|e| broken("sign-in state")(&e))?
            .verify(&state.passkeys.id, &a, &mut cred, &options)
            .map_err(|e| refused(&e))?;
        cred.dynamic_state()
    };
    Ok(after
        .encode()
        .map_err(|e| broken("dynamic state")(&e))?
        .to_vec())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInFinish {
    credential: Value,
}

/// Finishes a passkey sign-in with tokens, as `/api/signin/tap` answers.
async fn sign_in_finish(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    GraphJson(req): GraphJson<SignInFinish>,
) -> ApiResult<Json<Value>> {
    let verified = verify(&state, &req.credential, peer.ip()).await?;
    api_session(&state, &verified).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebSignInFinish {
    credential: Value,
    /// The authorization request the sign-in continues (the sign-in page's `authz`), if any.
    #[serde(default)]
    authz: String,
    /// A local page to return to (the sign-in page's `next`), if any.
    #[serde(default)]
    next: String,
}

/// Finishes a passkey sign-in on the pages: opens the browser session (cookie) and answers
/// `{"redirect": …}`: the authorization request's continuation, or `next`, or My Security Info.
async fn web_sign_in_finish(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    GraphJson(req): GraphJson<WebSignInFinish>,
) -> ApiResult<Response> {
    if !web::csrf_ok(&state, &headers, "") {
        return Err(missing_csrf());
    }
    let verified = verify(&state, &req.credential, peer.ip()).await?;
    let (session, cookie) = web::open_session(&state, &verified).await?;
    let redirect = if req.authz.is_empty() {
        Some(
            web::local_path(&req.next)
                .unwrap_or("/mysecurityinfo")
                .to_string(),
        )
    } else {
        authorize::continue_after_sign_in(&state, &req.authz, &session)
            .await
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_string)
    };
    let mut response = match redirect {
        Some(to) => Json(json!({ "redirect": to })).into_response(),
        None => ApiError::bad_request(
            "You are signed in, but the application's sign-in request is not valid.",
        )
        .into_response(),
    };
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}
