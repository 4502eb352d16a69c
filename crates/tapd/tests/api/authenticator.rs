//! A passkey device for the tests: 1Password's `passkey` crates acting as browser (client) and
//! authenticator, with a credential store that can answer username-less requests and a user
//! who always verifies (like Touch ID succeeding).

use std::collections::HashMap;

use passkey_authenticator::{
    Authenticator, CredentialStore, DiscoverabilitySupport, StoreInfo, UiHint, UserCheck,
    UserValidationMethod,
};
use passkey_client::{Client, DefaultClientData};
use passkey_crypto::AvailableBackend;
use passkey_types::Passkey;
use passkey_types::ctap2::make_credential::{
    Options, PublicKeyCredentialRpEntity, PublicKeyCredentialUserEntity,
};
use passkey_types::ctap2::{Aaguid, Ctap2Error, StatusCode};
use passkey_types::webauthn::{
    CredentialCreationOptions, CredentialRequestOptions, PublicKeyCredentialDescriptor,
};
use serde_json::{Value, json};
use url::Url;

/// The test device's AAGUID; bytes ≥ 0x10 catch an AAGUID formatted wrongly.
pub const AAGUID: [u8; 16] = [
    0xea, 0x9b, 0x8d, 0x66, 0x4d, 0x01, 0x1d, 0x21, 0x3c, 0xe4, 0xb6, 0xb4, 0x8c, 0xb5, 0x75, 0xd4,
];
pub const AAGUID_TEXT: &str = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4";

/// The passkey crate's `MemoryStore` finds nothing without an allow list; this one does.
#[derive(Default)]
struct Keychain(HashMap<Vec<u8>, Passkey>);

#[async_trait::async_trait]
impl CredentialStore for Keychain {
    type PasskeyItem = Passkey;

    async fn find_credentials(
        &self,
        ids: Option<&[PublicKeyCredentialDescriptor]>,
        rp_id: &str,
        user_handle: Option<&[u8]>,
    ) -> Result<Vec<Passkey>, StatusCode> {
        let found: Vec<Passkey> = self
            .0
            .values()
            .filter(|pk| pk.rp_id == rp_id)
            .filter(|pk| match ids {
                Some(ids) if !ids.is_empty() => ids.iter().any(|d| d.id == pk.credential_id),
                _ => true,
            })
            .filter(|pk| match user_handle {
                Some(uh) => pk.user_handle.as_deref().map(|v| v.as_slice()) == Some(uh),
                None => true,
            })
            .cloned()
            .collect();
        if found.is_empty() {
            Err(Ctap2Error::NoCredentials.into())
        } else {
            Ok(found)
        }
    }

    async fn save_credential(
        &mut self,
        cred: Passkey,
        _user: PublicKeyCredentialUserEntity,
        _rp: PublicKeyCredentialRpEntity,
        _options: Options,
    ) -> Result<(), StatusCode> {
        self.0.insert(cred.credential_id.to_vec(), cred);
        Ok(())
    }

    async fn update_credential(&mut self, cred: &Passkey) -> Result<(), StatusCode> {
        self.0.insert(cred.credential_id.to_vec(), cred.clone());
        Ok(())
    }

    async fn get_info(&self) -> StoreInfo {
        StoreInfo {
            discoverability: DiscoverabilitySupport::ForcedDiscoverable,
        }
    }
}

/// Present and verified; refuses to create a credential the RP excluded, as browsers do.
struct AlwaysVerified;

#[async_trait::async_trait]
impl UserValidationMethod for AlwaysVerified {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        hint: UiHint<'a, Passkey>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        if matches!(hint, UiHint::InformExcludedCredentialFound(_)) {
            return Err(Ctap2Error::CredentialExcluded);
        }
        Ok(UserCheck {
            presence,
            verification,
        })
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }
}

/// A browser with a passkey authenticator (P-256, with a signature counter).
pub struct Device {
    client: Client<Keychain, AlwaysVerified, AvailableBackend, public_suffix::PublicSuffixList, ()>,
}

impl Device {
    pub fn new() -> Device {
        Device::with_aaguid(AAGUID)
    }

    /// A device of another make and model: it presents `aaguid`.
    pub fn with_aaguid(aaguid: [u8; 16]) -> Device {
        let mut authenticator = Authenticator::new(
            Aaguid::from(aaguid),
            Keychain::default(),
            AlwaysVerified,
            AvailableBackend,
        );
        authenticator.set_make_credentials_with_signature_counter(true);
        authenticator
            .set_algorithms(&[passkey_crypto::iana::Algorithm::ES256])
            .expect("ES256");
        Device {
            client: Client::new(authenticator).allows_insecure_localhost(true),
        }
    }

    /// `navigator.credentials.create({publicKey: options})` on a page of `origin`, answered as
    /// `credential.toJSON()`.
    pub async fn create(&mut self, options: &Value, origin: &str) -> Result<Value, String> {
        let request: CredentialCreationOptions =
            serde_json::from_value(json!({ "publicKey": options })).map_err(|e| e.to_string())?;
        let created = self
            .client
            .register(
                &Url::parse(origin).expect("origin"),
                request,
                DefaultClientData,
            )
            .await
            .map_err(|e| format!("{e:?}"))?;
        Ok(serde_json::to_value(&created).expect("credential JSON"))
    }

    /// `navigator.credentials.get({publicKey: options})` on a page of `origin`.
    pub async fn get(&mut self, options: &Value, origin: &str) -> Result<Value, String> {
        let request: CredentialRequestOptions =
            serde_json::from_value(json!({ "publicKey": options })).map_err(|e| e.to_string())?;
        let assertion = self
            .client
            .authenticate(
                &Url::parse(origin).expect("origin"),
                request,
                DefaultClientData,
            )
            .await
            .map_err(|e| format!("{e:?}"))?;
        Ok(serde_json::to_value(&assertion).expect("assertion JSON"))
    }
}
