//! Passkeys (SPEC §6.3): registering one for the signed-in user, and signing in with one, with
//! or without a user name. The WebAuthn checks are webauthn_rp's. Between start and finish a
//! ceremony's state waits in the database under its challenge and is taken once, so any
//! replica can finish a ceremony another started.
//!
//! The options sent to the browser are the bare `PublicKeyCredential{Creation,Request}OptionsJSON`
//! (`PublicKeyCredential.parse…OptionsFromJSON`); the browser sends back `credential.toJSON()`.

use serde_json::Value;
use tapd_store::{Ceremony, CeremonyKind, PasskeyRecord};
use uuid::Uuid;
use webauthn_rp::bin::Decode as _;
use webauthn_rp::request::{AsciiDomain, PublicKeyCredentialDescriptor, RpId};
use webauthn_rp::response::{AuthTransports, CredentialId, SentChallenge};

use super::{Ctx, ServiceError, ServiceResult, Services};

mod register;
mod signin;

pub use register::{register_finish, register_start};
pub use signin::{sign_in_start, verify};

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
