//! Federated domains (SPEC §8, Graph's `internalDomainFederation`): an administrator points one
//! of the tenant's domains at an OpenID Connect provider, and that domain's users sign in
//! there ([`signin`]) — unless they hold a usable pass, which is preferred. tapd's client id
//! and secret at the provider are the extension properties `tapdClientId` and
//! `tapdClientSecret`; the secret is sealed with the server's key and never shown again.

pub mod signin;

use serde::Deserialize;
use tapd_core::{Action, MfaBehavior, shown};
use tapd_store::FederationRecord;
use uuid::Uuid;

use super::audit::{self, Change};
use super::users::check_text;
use super::{Ctx, ServiceError, ServiceResult, Services, parse_id};

/// The label the client secret is sealed under.
const SECRET_CONTEXT: &str = "tapd-federation-secret-v1";

/// The longest URI tapd keeps.
const MAX_URI_LEN: usize = 2048;

/// `POST` and `PATCH …/federationConfiguration`: Graph's `internalDomainFederation` properties
/// that apply to OpenID Connect, and tapd's client credentials at the provider.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FederationBody {
    pub display_name: Option<String>,
    /// The provider's OpenID Connect issuer; discovery is read from
    /// `{issuerUri}/.well-known/openid-configuration`.
    pub issuer_uri: Option<String>,
    /// Where people sign in at the provider (shown; the authorization endpoint comes from
    /// discovery).
    pub passive_sign_in_uri: Option<String>,
    pub sign_out_uri: Option<String>,
    /// `acceptIfMfaDoneByFederatedIdp` (the default), `enforceMfaByFederatedIdp` or
    /// `rejectMfaByFederatedIdp`.
    pub federated_idp_mfa_behavior: Option<String>,
    /// Graph's protocol choice: tapd federates over OpenID Connect only, so only `null`.
    pub preferred_authentication_protocol: Option<String>,
    /// tapd extension: the client id tapd is registered with at the provider.
    pub tapd_client_id: Option<String>,
    /// tapd extension: the client secret of that registration (write-only; leave it out for
    /// a public client with PKCE).
    pub tapd_client_secret: Option<String>,
}

fn not_found(id: &str) -> ServiceError {
    ServiceError::not_found(format!(
        "Resource '{}' does not exist or one of its queried reference-property objects are not present.",
        shown(id)
    ))
}

/// The domain of the caller's tenant, or 404.
async fn own_domain(svc: &Services, ctx: &Ctx, domain: &str) -> ServiceResult<String> {
    let found = svc.store.domain(ctx.tenant, domain).await?;
    found.map(|d| d.name).ok_or_else(|| {
        ServiceError::not_found(format!(
            "Domain '{domain}' does not exist in this organization."
        ))
    })
}

/// The domain's federations: none or one.
pub async fn list(svc: &Services, ctx: &Ctx, domain: &str) -> ServiceResult<Vec<FederationRecord>> {
    ctx.authorize(Action::ReadDomains)?;
    let domain = own_domain(svc, ctx, domain).await?;
    Ok(svc
        .store
        .federation(ctx.tenant, &domain)
        .await?
        .into_iter()
        .collect())
}

pub async fn get(
    svc: &Services,
    ctx: &Ctx,
    domain: &str,
    id: &str,
) -> ServiceResult<FederationRecord> {
    ctx.authorize(Action::ReadDomains)?;
    find(svc, ctx, domain, id).await
}

async fn find(
    svc: &Services,
    ctx: &Ctx,
    domain: &str,
    id: &str,
) -> ServiceResult<FederationRecord> {
    let domain = own_domain(svc, ctx, domain).await?;
    let wanted = parse_id("internalDomainFederation", id)?;
    svc.store
        .federation(ctx.tenant, &domain)
        .await?
        .filter(|f| f.id == wanted)
        .ok_or_else(|| not_found(id))
}

pub async fn create(
    svc: &Services,
    ctx: &Ctx,
    domain: &str,
    body: FederationBody,
) -> ServiceResult<FederationRecord> {
    ctx.authorize(Action::WriteDomains)?;
    let domain = own_domain(svc, ctx, domain).await?;
    let id = Uuid::new_v4();
    let mut f = FederationRecord {
        id,
        domain,
        tenant_id: ctx.tenant,
        display_name: String::new(),
        issuer_uri: String::new(),
        passive_sign_in_uri: None,
        sign_out_uri: None,
        mfa_behavior: MfaBehavior::AcceptIfMfaDoneByFederatedIdp,
        client_id: String::new(),
        sealed_secret: None,
        created_at: ctx.now,
    };
    for (field, missing) in [
        ("displayName", body.display_name.is_none()),
        ("issuerUri", body.issuer_uri.is_none()),
        ("tapdClientId", body.tapd_client_id.is_none()),
    ] {
        if missing {
            return Err(ServiceError::bad_request(format!(
                "Property '{field}' is required."
            )));
        }
    }
    apply(svc, &mut f, body)?;
    let record = change(ctx, "Set domain authentication", "Add", &f);
    svc.store.create_federation(&f, &record).await?;
    Ok(f)
}

pub async fn update(
    svc: &Services,
    ctx: &Ctx,
    domain: &str,
    id: &str,
    body: FederationBody,
) -> ServiceResult<FederationRecord> {
    ctx.authorize(Action::WriteDomains)?;
    let mut f = find(svc, ctx, domain, id).await?;
    apply(svc, &mut f, body)?;
    let record = change(ctx, "Set federation settings on domain", "Update", &f);
    if !svc.store.update_federation(&f, &record).await? {
        return Err(not_found(id));
    }
    Ok(f)
}

pub async fn delete(svc: &Services, ctx: &Ctx, domain: &str, id: &str) -> ServiceResult<()> {
    ctx.authorize(Action::WriteDomains)?;
    let f = find(svc, ctx, domain, id).await?;
    let record = change(ctx, "Set domain authentication", "Delete", &f);
    if !svc.store.delete_federation(&f, &record).await? {
        return Err(not_found(id));
    }
    Ok(())
}

/// Checks and applies the properties a body sets.
fn apply(svc: &Services, f: &mut FederationRecord, body: FederationBody) -> ServiceResult<()> {
    if body.preferred_authentication_protocol.is_some() {
        return Err(ServiceError::bad_request(
            "Property 'preferredAuthenticationProtocol': tapd federates over OpenID Connect \
             only; leave it out.",
        ));
    }
    if let Some(name) = body.display_name {
        check_text("displayName", &name)?;
        f.display_name = name;
    }
    if let Some(uri) = body.issuer_uri {
        check_uri("issuerUri", &uri)?;
        f.issuer_uri = uri.trim_end_matches('/').to_string();
    }
    for (field, value, slot) in [
        (
            "passiveSignInUri",
            body.passive_sign_in_uri,
            &mut f.passive_sign_in_uri,
        ),
        ("signOutUri", body.sign_out_uri, &mut f.sign_out_uri),
    ] {
        if let Some(uri) = value {
            check_uri(field, &uri)?;
            *slot = Some(uri);
        }
    }
    if let Some(b) = body.federated_idp_mfa_behavior {
        f.mfa_behavior = MfaBehavior::parse(&b).ok_or_else(|| {
            ServiceError::bad_request(format!(
                "Invalid value for property 'federatedIdpMfaBehavior': '{}'; use \
                 acceptIfMfaDoneByFederatedIdp, enforceMfaByFederatedIdp or \
                 rejectMfaByFederatedIdp.",
                shown(&b)
            ))
        })?;
    }
    if let Some(client_id) = body.tapd_client_id {
        check_text("tapdClientId", &client_id)?;
        f.client_id = client_id;
    }
    if let Some(secret) = body.tapd_client_secret {
        if secret.is_empty() || secret.len() > 512 || secret.chars().any(char::is_control) {
            return Err(ServiceError::bad_request(
                "Invalid value for property 'tapdClientSecret': 1 to 512 printable characters.",
            ));
        }
        f.sealed_secret = Some(svc.keys.seal(secret.as_bytes(), &secret_context(f.id)));
    }
    Ok(())
}

fn secret_context(id: Uuid) -> String {
    format!("{SECRET_CONTEXT}:{id}")
}

/// The client secret tapd presents to the provider, if it has one.
pub(crate) fn client_secret(svc: &Services, f: &FederationRecord) -> ServiceResult<Option<String>> {
    let Some(sealed) = &f.sealed_secret else {
        return Ok(None);
    };
    let plain = svc
        .keys
        .open(sealed, &secret_context(f.id))
        .ok_or_else(|| {
            ServiceError::internal(
                "a federation's client secret does not open with this server's key",
            )
        })?;
    String::from_utf8(plain)
        .map(Some)
        .map_err(ServiceError::internal)
}

/// An absolute `https` URI, or `http` to this machine (a provider on the loopback).
pub fn check_uri(field: &str, uri: &str) -> Result<(), ServiceError> {
    let bad = |why: &str| {
        ServiceError::bad_request(format!("Invalid value for property '{field}': {why}."))
    };
    if uri.len() > MAX_URI_LEN || uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad(&format!(
            "an absolute URI of at most {MAX_URI_LEN} characters"
        )));
    }
    let rest = if let Some(rest) = uri.strip_prefix("https://") {
        rest
    } else if let Some(rest) = uri.strip_prefix("http://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        if !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
            return Err(bad("use https (http only to localhost)"));
        }
        rest
    } else {
        return Err(bad("an absolute https URI"));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || uri.contains('#') {
        return Err(bad("an absolute URI with a host and no fragment"));
    }
    Ok(())
}

fn change(
    ctx: &Ctx,
    activity: &str,
    operation: &str,
    f: &FederationRecord,
) -> tapd_store::AuditRecord {
    audit::change(
        ctx,
        Change {
            category: "DirectoryManagement",
            activity,
            operation,
            targets: vec![audit::target("Domain", &f.domain, &f.domain)],
            details: vec![
                ("issuerUri", f.issuer_uri.clone()),
                (
                    "federatedIdpMfaBehavior",
                    f.mfa_behavior.as_str().to_string(),
                ),
            ],
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_uris_are_https_or_the_loopback() {
        for ok in [
            "https://idp.fabrikam.test",
            "https://idp.fabrikam.test/tenant/v2.0",
            "http://127.0.0.1:8080/x/v2.0",
            "http://localhost/v2.0",
        ] {
            assert!(check_uri("issuerUri", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "idp.fabrikam.test",
            "http://idp.fabrikam.test",
            "http://127.0.0.1.evil.test/",
            "ftp://idp.test",
            "https://",
            "https://idp.test/a b",
            "https://idp.test/#frag",
        ] {
            assert!(check_uri("issuerUri", bad).is_err(), "{bad}");
        }
        assert!(check_uri("issuerUri", &format!("https://a.test/{}", "x".repeat(3000))).is_err());
    }
}
