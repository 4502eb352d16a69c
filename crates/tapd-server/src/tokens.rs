//! Access tokens: EdDSA-signed JWTs. Expiry is checked against the server's clock, not the
//! library's, so the TAP lifetime cap is testable with an injected `now`.

use std::sync::Arc;

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
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

/// Signs with a key pair parsed once (signing is on the sign-in hot path) and verifies with
/// `jsonwebtoken`, pinned to EdDSA.
#[derive(Clone)]
pub struct TokenSigner {
    pair: Arc<Ed25519KeyPair>,
    /// The base64url JOSE header, the same for every token.
    header: String,
    decoding: DecodingKey,
    issuer: String,
}

impl TokenSigner {
    pub fn new(keys: &Keys, issuer: String) -> TokenSigner {
        let pair = Ed25519KeyPair::from_pkcs8(&keys.signing_pkcs8).expect("validated at load");
        let public = pair.public_key().as_ref().to_vec();
        let kid = crate::secrets::sha256_hex(&public)[..16].to_string();
        let header = serde_json::json!({"typ": "JWT", "alg": "EdDSA", "kid": kid});
        TokenSigner {
            header: URL_SAFE_NO_PAD.encode(header.to_string()),
            decoding: DecodingKey::from_ed_der(&public),
            pair: Arc::new(pair),
            issuer,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let payload = serde_json::to_vec(claims).expect("claims serialize");
        let mut token = format!("{}.{}", self.header, URL_SAFE_NO_PAD.encode(payload));
        let signature = self.pair.sign(token.as_bytes());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature.as_ref()));
        token
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

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: "https://tapd.test/t/v2.0".into(),
            aud: GRAPH_AUDIENCE.into(),
            sub: "u".into(),
            tid: "t".into(),
            iat: 100,
            nbf: 100,
            exp,
            jti: "j".into(),
            idtyp: "user".into(),
            amr: vec!["tap".into()],
            upn: None,
            roles: vec![],
            tap: None,
        }
    }

    #[test]
    fn tokens_verify_until_they_expire_and_only_with_their_key() {
        let signer = TokenSigner::new(&Keys::generate(), "https://tapd.test/t/v2.0".into());
        let token = signer.sign(&claims(200));
        let at = |s| OffsetDateTime::from_unix_timestamp(s).expect("time");
        assert_eq!(signer.verify(&token, at(150)), Some(claims(200)));
        assert_eq!(signer.verify(&token, at(200)), None, "expired at exp");
        let other = TokenSigner::new(&Keys::generate(), "https://tapd.test/t/v2.0".into());
        assert_eq!(other.verify(&token, at(150)), None, "another key");
        let wrong_issuer = TokenSigner {
            issuer: "x".into(),
            ..signer.clone()
        };
        assert_eq!(wrong_issuer.verify(&token, at(150)), None);
        let mut tampered = token.clone();
        tampered.insert(token.find('.').expect("dot") + 2, 'A');
        assert_eq!(signer.verify(&tampered, at(150)), None);
    }
}
