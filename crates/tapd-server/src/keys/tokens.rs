//! Tokens: EdDSA-signed JWTs (access and ID tokens) and the signing keys behind them. Keys live
//! in the database, sealed, so every replica signs with the same key and `tapd keys rotate`
//! reaches all of them. A new key is published before it starts signing; a retired key stays
//! published until every token it signed has expired. Expiry is checked against the server's
//! clock, not the library's, so the TAP lifetime cap is testable with an injected `now`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tapd_store::{SigningKeyRow, Store};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::secrets::Keys;

/// Graph's application id: tokens for the Graph-compatible API carry it as audience, as Entra's do.
pub const GRAPH_AUDIENCE: &str = "00000003-0000-0000-c000-000000000000";

/// How often a replica rereads the keys (a rotation made elsewhere is seen within this).
const RELOAD_EVERY: Duration = Duration::seconds(60);

/// Allowance for clocks that disagree, added to how long a retired key stays published.
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// An access token's claims.
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
    /// The application the token was issued to (Entra's `azp`), for delegated tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// Delegated scopes, space-separated (Entra's `scp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    /// The sign-in session (refresh-token family) the token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// One signing key, parsed.
struct SigningKey {
    kid: String,
    pair: Ed25519KeyPair,
    public: Vec<u8>,
    decoding: DecodingKey,
    /// The base64url JOSE header, the same for every token this key signs.
    header: String,
    activates_at: OffsetDateTime,
}

/// The keys as read at one moment, oldest first.
pub struct KeyRing {
    keys: Vec<SigningKey>,
    loaded_at: OffsetDateTime,
    /// Tokens whose signature, issuer and audience this ring has checked, so that a script's
    /// many calls with one token check its signature once. Their validity window is still
    /// checked on every use, and a reloaded ring starts empty (a removed key's tokens go with
    /// it). Bounded: emptied when full.
    verified: Mutex<HashMap<String, Claims>>,
}

/// Most tokens a key ring remembers as verified.
const MAX_VERIFIED: usize = 4096;

/// Which keys sign and which are published at `now`: the pure rule, over activation times in
/// ascending order. The signing key is the last one active; a key is published from when it is
/// added until `retention` after the next key takes over.
pub fn key_states(
    activations: &[OffsetDateTime],
    now: OffsetDateTime,
    retention: Duration,
) -> (usize, Vec<bool>) {
    let active = activations
        .iter()
        .rposition(|&a| a <= now)
        .unwrap_or_default();
    let published = (0..activations.len())
        .map(|i| match activations.get(i + 1) {
            Some(&next) => now < next + retention,
            None => true,
        })
        .collect();
    (active, published)
}

impl KeyRing {
    fn active(&self, now: OffsetDateTime) -> &SigningKey {
        let activations: Vec<_> = self.keys.iter().map(|k| k.activates_at).collect();
        &self.keys[key_states(&activations, now, Duration::ZERO).0]
    }
}

pub struct TokenSigner {
    /// The public URL every tenant's issuer starts with.
    public_url: String,
    /// How long a retired key stays published: the longest token lifetime, plus skew.
    retention: Duration,
    ring: RwLock<Arc<KeyRing>>,
}

/// The key id of an Ed25519 public key.
fn kid_of(public: &[u8]) -> String {
    super::secrets::sha256_hex(public)[..16].to_string()
}

/// A new key, sealed for the database.
pub fn new_key_row(
    keys: &Keys,
    pkcs8: &[u8],
    now: OffsetDateTime,
    activates_at: OffsetDateTime,
) -> SigningKeyRow {
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8).expect("a valid Ed25519 key");
    let public = pair.public_key().as_ref().to_vec();
    let kid = kid_of(&public);
    SigningKeyRow {
        sealed_pkcs8: keys.seal(pkcs8, &kid),
        kid,
        public_key: public,
        created_at: now,
        activates_at,
    }
}

/// Generates a key that starts signing at `activates_at`; removes keys whose tokens have all
/// expired. Returns the new key's id.
pub async fn rotate(
    store: &Store,
    keys: &Keys,
    now: OffsetDateTime,
    activates_at: OffsetDateTime,
    token_lifetime: Duration,
) -> anyhow::Result<String> {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8v1(&aws_lc_rs::rand::SystemRandom::new())
        .map_err(|_| anyhow::anyhow!("Ed25519 key generation failed"))?;
    let row = new_key_row(keys, pkcs8.as_ref(), now, activates_at);
    store
        .add_signing_key(&row, false, Some(now - token_lifetime - CLOCK_SKEW))
        .await?;
    Ok(row.kid)
}

impl TokenSigner {
    /// Reads the keys; on the first start the key file's key becomes the first signing key.
    pub async fn load(
        store: &Store,
        keys: &Keys,
        public_url: String,
        token_lifetime: Duration,
        now: OffsetDateTime,
    ) -> anyhow::Result<TokenSigner> {
        let first = new_key_row(keys, &keys.signing_pkcs8, now, now);
        store.add_signing_key(&first, true, None).await?;
        let ring = read_ring(store, keys, now).await?;
        Ok(TokenSigner {
            public_url,
            retention: token_lifetime + CLOCK_SKEW,
            ring: RwLock::new(Arc::new(ring)),
        })
    }

    /// The OIDC issuer of a tenant: each tenant is its own (SPEC §8).
    pub fn issuer(&self, tenant: Uuid) -> String {
        format!("{}/{tenant}/v2.0", self.public_url)
    }

    /// Whether `iss` is the issuer of the tenant `tid` names.
    fn issued_for(&self, iss: &str, tid: &str) -> bool {
        Uuid::parse_str(tid).is_ok_and(|t| iss == self.issuer(t))
    }

    fn ring(&self) -> Arc<KeyRing> {
        self.ring.read().expect("key ring lock").clone()
    }

    /// Rereads the keys when the copy in memory is older than a minute (by the server clock).
    pub async fn refresh(
        &self,
        store: &Store,
        keys: &Keys,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let loaded = self.ring().loaded_at;
        if now >= loaded && now - loaded < RELOAD_EVERY {
            return Ok(());
        }
        self.reload(store, keys, now).await
    }

    pub async fn reload(
        &self,
        store: &Store,
        keys: &Keys,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let ring = read_ring(store, keys, now).await?;
        *self.ring.write().expect("key ring lock") = Arc::new(ring);
        Ok(())
    }

    /// Signs any claims with the key active at `now`.
    pub fn sign<T: Serialize>(&self, claims: &T, now: OffsetDateTime) -> String {
        let ring = self.ring();
        let key = ring.active(now);
        let payload = serde_json::to_vec(claims).expect("claims serialize");
        let mut token = format!("{}.{}", key.header, URL_SAFE_NO_PAD.encode(payload));
        let signature = key.pair.sign(token.as_bytes());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature.as_ref()));
        token
    }

    /// Checks an access token: signature by one of our keys, issuer, audience and the validity
    /// window at `now`.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Option<Claims> {
        let ring = self.ring();
        let known = ring.verified.lock().ok()?.get(token).cloned();
        let claims = match known {
            Some(claims) => claims,
            None => {
                let claims = self.check_signature(&ring, token)?;
                let mut verified = ring.verified.lock().ok()?;
                if verified.len() >= MAX_VERIFIED {
                    verified.clear();
                }
                verified.insert(token.to_string(), claims.clone());
                claims
            }
        };
        let now = now.unix_timestamp();
        (claims.nbf <= now + 60 && now < claims.exp).then_some(claims)
    }

    /// A token's claims if one of `ring`'s keys signed it for Graph, by its tenant's issuer.
    fn check_signature(&self, ring: &KeyRing, token: &str) -> Option<Claims> {
        let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
        let key = ring.keys.iter().find(|k| k.kid == kid)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_audience(&[GRAPH_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation)
            .ok()
            .map(|t| t.claims)
            .filter(|c| self.issued_for(&c.iss, &c.tid))
    }

    /// The audience of an ID token we signed, expired or not (`id_token_hint` at logout).
    pub fn id_token_audience(&self, token: &str) -> Option<String> {
        let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
        let ring = self.ring();
        let key = ring.keys.iter().find(|k| k.kid == kid)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["iss", "aud"]);
        let claims = jsonwebtoken::decode::<Value>(token, &key.decoding, &validation).ok()?;
        let (iss, tid) = (
            claims.claims["iss"].as_str()?,
            claims.claims["tid"].as_str()?,
        );
        if !self.issued_for(iss, tid) {
            return None;
        }
        claims.claims["aud"].as_str().map(str::to_string)
    }

    /// The published keys as a JWK Set (RFC 7517, OKP keys of RFC 8037).
    pub fn jwks(&self, now: OffsetDateTime) -> Value {
        let ring = self.ring();
        let activations: Vec<_> = ring.keys.iter().map(|k| k.activates_at).collect();
        let (_, published) = key_states(&activations, now, self.retention);
        let keys: Vec<Value> = ring
            .keys
            .iter()
            .zip(published)
            .filter(|(_, p)| *p)
            .map(|(k, _)| {
                json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "use": "sig",
                    "alg": "EdDSA",
                    "kid": k.kid,
                    "x": URL_SAFE_NO_PAD.encode(&k.public),
                })
            })
            .collect();
        json!({ "keys": keys })
    }

    /// Each key with its state at `now`, for `tapd keys list`.
    pub fn describe(&self, now: OffsetDateTime) -> Vec<(String, OffsetDateTime, &'static str)> {
        let ring = self.ring();
        let activations: Vec<_> = ring.keys.iter().map(|k| k.activates_at).collect();
        let (active, published) = key_states(&activations, now, self.retention);
        ring.keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let state = if i == active {
                    "signing"
                } else if k.activates_at > now {
                    "published, signs from its activation"
                } else if published[i] {
                    "retired, still published"
                } else {
                    "retired"
                };
                (k.kid.clone(), k.activates_at, state)
            })
            .collect()
    }
}

async fn read_ring(store: &Store, keys: &Keys, now: OffsetDateTime) -> anyhow::Result<KeyRing> {
    let mut ring = Vec::new();
    for row in store.signing_keys().await? {
        let pkcs8 = keys.open(&row.sealed_pkcs8, &row.kid).ok_or_else(|| {
            anyhow::anyhow!(
                "signing key {} cannot be opened with this server's key file: replicas must share the same key files",
                row.kid
            )
        })?;
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8)
            .map_err(|_| anyhow::anyhow!("signing key {} is not a valid Ed25519 key", row.kid))?;
        let header = json!({"typ": "JWT", "alg": "EdDSA", "kid": row.kid});
        ring.push(SigningKey {
            header: URL_SAFE_NO_PAD.encode(header.to_string()),
            decoding: DecodingKey::from_ed_der(&row.public_key),
            public: row.public_key,
            kid: row.kid,
            pair,
            activates_at: row.activates_at,
        });
    }
    anyhow::ensure!(!ring.is_empty(), "no signing key in the database");
    Ok(KeyRing {
        keys: ring,
        loaded_at: now,
        verified: Mutex::new(HashMap::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(s).expect("time")
    }

    #[test]
    fn a_new_key_is_published_before_it_signs_and_an_old_one_until_its_tokens_expire() {
        let keys = [at(0), at(1000)];
        let retention = Duration::seconds(100);
        assert_eq!(key_states(&keys, at(500), retention), (0, vec![true, true]));
        assert_eq!(
            key_states(&keys, at(1000), retention),
            (1, vec![true, true])
        );
        assert_eq!(
            key_states(&keys, at(1099), retention),
            (1, vec![true, true])
        );
        assert_eq!(
            key_states(&keys, at(1100), retention),
            (1, vec![false, true])
        );
    }

    proptest! {
        #[test]
        fn the_signing_key_is_always_published(
            mut times in proptest::collection::vec(0i64..10_000, 1..6),
            now in 0i64..20_000,
            retention in 0i64..5_000,
        ) {
            times.sort();
            let times: Vec<_> = times.into_iter().map(at).collect();
            let (active, published) = key_states(&times, at(now), Duration::seconds(retention));
            prop_assert!(published[active]);
            // Nothing later than the signing key has activated yet (unless none had).
            for t in &times[active + 1..] {
                prop_assert!(*t > at(now) || active == 0);
            }
        }
    }
}
