//! Access tokens: EdDSA-signed JWTs. Expiry is checked against the server's clock, not the
//! library's, so the TAP lifetime cap is testable with an injected `now`.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::secrets::Keys;

/// Graph's application id: tokens for the Graph-compatible API carry it as audience, as Entra's do.
pub const GRAPH_AUDIENCE: &str = "00000003-0000-0000-c000-000000000000";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub tid: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// "user" or "app", as Entra's `idtyp`.
    pub idtyp: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    /// Application permissions, for app tokens.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The pass a TAP sign-in used: the token dies with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tap: Option<Uuid>,
}

#[derive(Clone)]
pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    kid: String,
}

impl TokenSigner {
    pub fn new(keys: &Keys, issuer: String) -> TokenSigner {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
        let pair = Ed25519KeyPair::from_pkcs8(&keys.signing_pkcs8).expect("validated at load");
        let public = pair.public_key().as_ref().to_vec();
        TokenSigner {
            encoding: EncodingKey::from_ed_der(&keys.signing_pkcs8),
            decoding: DecodingKey::from_ed_der(&public),
            issuer,
            kid: crate::secrets::sha256_hex(&public)[..16].to_string(),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("signing with a valid key")
    }

    /// Checks signature, issuer, audience and the validity window at `now`.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_audience(&[GRAPH_AUDIENCE]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()?
            .claims;
        let now = now.unix_timestamp();
        (claims.nbf <= now + 60 && now < claims.exp).then_some(claims)
    }
}
