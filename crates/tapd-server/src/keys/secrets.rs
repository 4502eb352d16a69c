//! Everything secret: server keys, pass codes (drawn from the OS CSPRNG, kept only as keyed
//! hashes, compared in constant time), opaque tokens and password hashes.

use std::path::{Path, PathBuf};

use argon2::{Argon2, PasswordHasher};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use tapd_core::code_from_random_bytes;
use tapd_store::StoredSecret;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// The server's key material. It lives in files outside the database, so a database dump alone
/// cannot be used to check guesses of a pass or to forge a token.
#[derive(Clone)]
pub struct Keys {
    /// HMAC key for pass hashes and refresh-token hashes.
    pub(crate) hmac: Vec<u8>,
    /// Ed25519 signing key, PKCS#8 DER.
    pub(crate) signing_pkcs8: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: not a valid key")]
    Invalid(PathBuf),
}

impl Keys {
    /// Fresh keys, for tests and first start.
    pub fn generate() -> Keys {
        use aws_lc_rs::signature::Ed25519KeyPair;
        let pkcs8 = Ed25519KeyPair::generate_pkcs8v1(&aws_lc_rs::rand::SystemRandom::new())
            .expect("Ed25519 key generation");
        Keys {
            hmac: random_bytes(32),
            signing_pkcs8: pkcs8.as_ref().to_vec(),
        }
    }

    /// Reads the two key files, creating them (mode 0600) when missing.
    pub fn load_or_create(hmac_path: &Path, signing_path: &Path) -> Result<Keys, KeyError> {
        let fresh = Keys::generate();
        let hmac = read_or_create(hmac_path, &fresh.hmac)?;
        if hmac.len() < 32 {
            return Err(KeyError::Invalid(hmac_path.into()));
        }
        let signing_pkcs8 = read_or_create(signing_path, &fresh.signing_pkcs8)?;
        if aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(&signing_pkcs8).is_err() {
            return Err(KeyError::Invalid(signing_path.into()));
        }
        Ok(Keys {
            hmac,
            signing_pkcs8,
        })
    }

    /// Hashes a pass code under a per-pass salt.
    pub fn hash_code(&self, code: &str) -> StoredSecret {
        let salt = random_bytes(16);
        let hash = self.code_mac(&salt, code).finalize().into_bytes().to_vec();
        StoredSecret { salt, hash }
    }

    /// Constant-time check of a code against its stored hash.
    pub fn verify_code(&self, stored: &StoredSecret, code: &str) -> bool {
        self.code_mac(&stored.salt, code)
            .verify_slice(&stored.hash)
            .is_ok()
    }

    fn code_mac(&self, salt: &[u8], code: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.hmac).expect("HMAC takes any key length");
        mac.update(b"tapd-pass-v1\0");
        mac.update(salt);
        mac.update(code.as_bytes());
        mac
    }

    /// A keyed hash of `data` under a purpose `label`, for values derived from the server key
    /// (CSRF tokens, the key that seals signing keys).
    pub fn mac(&self, label: &str, data: &[u8]) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(&self.hmac).expect("HMAC takes any key length");
        mac.update(label.as_bytes());
        mac.update(b"\0");
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// Seals a secret (a signing key kept in the database) with AES-256-GCM under a key derived
    /// from the server key; `context` is bound to it and must match on opening.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Vec<u8> {
        seal_under(&self.mac("tapd-seal-v1", b""), plaintext, context)
    }

    /// Opens what `seal` sealed with the same server key and context.
    pub fn open(&self, sealed: &[u8], context: &str) -> Option<Vec<u8>> {
        open_under(&self.mac("tapd-seal-v1", b""), sealed, context)
    }

    /// The lookup key of an opaque token (refresh tokens, codes, sessions): a keyed hash, hex.
    /// A token of [`new_stored_token`] keeps its time-ordered prefix in front of the hash, so
    /// that the keys of new tokens are appended to their table's index rather than written all
    /// over it.
    pub fn token_hash(&self, token: &str) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.hmac).expect("HMAC takes any key length");
        mac.update(b"tapd-token-v1\0");
        mac.update(token.as_bytes());
        let hash = hex(&mac.finalize().into_bytes());
        match stored_token_prefix(token) {
            Some(prefix) => format!("{prefix}.{hash}"),
            None => hash,
        }
    }
}

fn read_or_create(path: &Path, fresh: &[u8]) -> Result<Vec<u8>, KeyError> {
    let io = |source| KeyError::Io {
        path: path.into(),
        source,
    };
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty() && !d.exists())
            {
                std::fs::create_dir_all(dir).map_err(io)?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                        .map_err(io)?;
                }
            }
            write_private(path, fresh).map_err(io)?;
            Ok(fresh.to_vec())
        }
        Err(e) => Err(io(e)),
    }
}

/// Writes a file readable by its owner only, refusing to overwrite one that appeared meanwhile.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// AES-256-GCM under `key` with a fresh random nonce: the nonce, then the ciphertext and tag.
/// `context` is bound to it and must match on opening.
pub fn seal_under(key: &[u8; 32], plaintext: &[u8], context: &str) -> Vec<u8> {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("32-byte key"));
    let nonce: [u8; 12] = random_bytes(12).try_into().expect("12 bytes");
    let mut out = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(context.as_bytes()),
        &mut out,
    )
    .expect("AES-GCM seals");
    [nonce.as_slice(), &out].concat()
}

/// Opens what [`seal_under`] sealed with the same key and context; `None` for anything else.
pub fn open_under(key: &[u8; 32], sealed: &[u8], context: &str) -> Option<Vec<u8>> {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
    let (nonce, body) = sealed.split_at_checked(12)?;
    let mut body = body.to_vec();
    let plain = key
        .open_in_place(
            Nonce::try_assume_unique_for_key(nonce).ok()?,
            Aad::from(context.as_bytes()),
            &mut body,
        )
        .ok()?;
    Some(plain.to_vec())
}

/// A fresh 256-bit key from the OS CSPRNG.
pub fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("the OS random number generator failed");
    key
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the OS random number generator failed");
    buf
}

/// A new pass code of `length` symbols from the OS CSPRNG.
pub fn new_code(length: usize) -> String {
    loop {
        // Rejection sampling discards a few bytes; twice the length is nearly always enough.
        if let Some(code) = code_from_random_bytes(&random_bytes(length * 2 + 16), length) {
            return code;
        }
    }
}

/// A bearer secret the store keeps by its [`Keys::token_hash`] (refresh tokens, codes,
/// browser sessions): a time-ordered id (UUIDv7, 32 hex digits), a dot, and 32 random bytes,
/// base64url. The id only orders the stored keys; the secret is the random part.
pub fn new_stored_token() -> String {
    format!("{}.{}", Uuid::now_v7().simple(), new_opaque_token())
}

/// The time-ordered prefix of a token of [`new_stored_token`]'s form.
fn stored_token_prefix(token: &str) -> Option<&str> {
    let (prefix, _) = token.split_once('.')?;
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    (prefix.len() == 32 && prefix.bytes().all(hex)).then_some(prefix)
}

/// An opaque bearer secret (client secrets, state and nonces): 32 random bytes, base64url.
pub fn new_opaque_token() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(32))
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// argon2id of a password or client secret, as a PHC string. CPU-heavy: call from
/// `spawn_blocking`.
pub fn hash_password(password: &str) -> String {
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &random_bytes(16))
        .expect("argon2 with default parameters")
        .to_string()
}

/// The working memory of one argon2 computation (19 MiB with the default parameters), drawn
/// on first use. Each hashing slot owns one and reuses it from check to check, so that a flood
/// of attempts costs no allocation and no more memory than the slots.
#[derive(Default)]
pub struct HashMemory(Vec<argon2::Block>);

impl HashMemory {
    /// `count` blocks of this memory, or `None` beyond the default parameters' size (a stored
    /// hash with larger parameters gets memory of its own rather than growing every slot's).
    fn blocks(&mut self, count: usize) -> Option<&mut [argon2::Block]> {
        if count > argon2::Params::default().block_count() {
            return None;
        }
        if self.0.len() < count {
            self.0.resize(count, argon2::Block::new());
        }
        self.0.get_mut(..count)
    }
}

/// Checks a password against a PHC string, computing in `memory`; with `None` it checks against
/// a dummy hash so that an unknown user costs the same time as a known one.
pub fn verify_password(memory: &mut HashMemory, password: &str, phc: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("tapd dummy password"));
    let ok = argon2_matches(memory, password, phc.unwrap_or(dummy)).unwrap_or(false);
    ok && phc.is_some()
}

/// Recomputes a PHC string's argon2 hash of `password` in `memory` and compares in constant
/// time.
fn argon2_matches(memory: &mut HashMemory, password: &str, phc: &str) -> Option<bool> {
    use argon2::{Algorithm, Params, Version};
    let hash = argon2::PasswordHash::new(phc).ok()?;
    let (salt, expected) = (hash.salt.as_ref()?, hash.hash.as_ref()?);
    let algorithm = Algorithm::try_from(hash.algorithm.as_str()).ok()?;
    let version = hash.version.map(Version::try_from).transpose().ok()?;
    let params = Params::try_from(&hash).ok()?;
    let blocks = params.block_count();
    let argon = Argon2::new(algorithm, version.unwrap_or_default(), params);
    let mut out = vec![0u8; expected.len()];
    let computed = match memory.blocks(blocks) {
        Some(reused) => {
            argon.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, reused)
        }
        None => argon.hash_password_into(password.as_bytes(), salt, &mut out),
    };
    computed.ok()?;
    Some(subtle::ConstantTimeEq::ct_eq(&out[..], expected.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored token's key starts with its time-ordered id, so keys sort by creation; the
    /// hash still depends on the whole token and the server key, and older tokens (no id)
    /// keep the bare hash they were stored under.
    #[test]
    fn stored_tokens_are_keyed_in_creation_order() {
        let keys = Keys::generate();
        let tokens: Vec<String> = (0..50).map(|_| new_stored_token()).collect();
        let stored: Vec<String> = tokens.iter().map(|t| keys.token_hash(t)).collect();
        for (token, key) in tokens.iter().zip(&stored) {
            let (id, _) = token.split_once('.').expect("an id and a secret");
            assert_eq!(key.split_once('.').map(|(p, _)| p), Some(id));
            assert_eq!(key.len(), 32 + 1 + 64);
        }
        let mut sorted = stored.clone();
        sorted.sort();
        let ids = |v: &[String]| v.iter().map(|k| k[..12].to_string()).collect::<Vec<_>>();
        assert_eq!(
            ids(&sorted),
            ids(&stored),
            "the millisecond prefix is ordered"
        );
        let (id, secret) = tokens[0].split_once('.').expect("split");
        let forged = format!("{id}.{}", &secret[1..]);
        assert_ne!(keys.token_hash(&forged), stored[0]);
        assert_ne!(Keys::generate().token_hash(&tokens[0]), stored[0]);
        let old = new_opaque_token();
        assert_eq!(keys.token_hash(&old).len(), 64, "a token of the old form");
        assert_eq!(
            stored_token_prefix("ABCDEF0123456789abcdef0123456789.x"),
            None
        );
        assert_eq!(hex(&[0x00, 0x7f, 0xff]), "007fff");
    }

    #[test]
    fn a_code_verifies_only_against_its_own_hash() {
        let keys = Keys::generate();
        let code = new_code(12);
        let stored = keys.hash_code(&code);
        assert!(keys.verify_code(&stored, &code));
        assert!(!keys.verify_code(&stored, &new_code(12)));
        assert!(!Keys::generate().verify_code(&stored, &code), "another key");
        assert_ne!(stored.hash, keys.hash_code(&code).hash, "per-pass salt");
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_context() {
        let keys = Keys::generate();
        let sealed = keys.seal(b"private key", "kid-1");
        assert_eq!(
            keys.open(&sealed, "kid-1").as_deref(),
            Some(&b"private key"[..])
        );
        assert_eq!(keys.open(&sealed, "kid-2"), None, "another context");
        assert_eq!(Keys::generate().open(&sealed, "kid-1"), None, "another key");
        assert!(!sealed.windows(11).any(|w| w == b"private key"));
    }

    #[test]
    fn passwords_verify() {
        let memory = &mut HashMemory::default();
        let phc = hash_password("correct horse");
        assert!(verify_password(memory, "correct horse", Some(&phc)));
        assert!(!verify_password(memory, "wrong", Some(&phc)));
        assert!(!verify_password(memory, "tapd dummy password", None));
        assert!(!verify_password(
            memory,
            "correct horse",
            Some("$argon2id$garbage")
        ));
        // A hash made with other parameters checks too (with memory of its own when larger).
        for (m, t) in [(8, 1), (32 * 1024, 1)] {
            let params = argon2::Params::new(m, t, 1, None).expect("params");
            let other = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                .hash_password_with_salt(b"correct horse", &random_bytes(16))
                .expect("hash")
                .to_string();
            assert!(
                verify_password(memory, "correct horse", Some(&other)),
                "{other}"
            );
            assert!(!verify_password(memory, "wrong", Some(&other)), "{other}");
        }
    }
}
