//! Signing in at a federated domain's provider over OpenID Connect: the authorization code
//! flow with PKCE, `state` and `nonce`, the ID token checked against the provider's JWKS, and
//! the person matched to the tapd user of the same UPN. What must survive the trip (state,
//! nonce, verifier, the request being continued) is a [`Pending`], which the pages keep sealed
//! in a cookie: nothing is written until the sign-in succeeds.

use std::sync::LazyLock;
use std::time::Duration as StdDuration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tapd_core::{MfaRequired, federated_amr, shown};
use tapd_store::FederationRecord;
use time::Duration;

use super::client_secret;
use crate::keys::new_opaque_token;
use crate::service::audit;
use crate::service::code_flow::with_params;
use crate::service::signin::Verified;
use crate::service::{Ctx, ServiceResult, Services};

/// How long a person may take at the provider.
pub const PENDING_TTL: Duration = Duration::minutes(10);

/// The most tapd reads of any answer of the provider.
const MAX_ANSWER: usize = 1 << 20;

/// Allowance for the provider's clock.
const LEEWAY_SECS: i64 = 120;

/// The method as the sign-in log names it.
const METHOD: &str = "Federated identity provider";

/// One HTTP client for every provider: bounded time, no redirects followed.
static HTTP: LazyLock<reqwest::Client> = LazyLock::new(|| {
    reqwest::Client::builder()
        .connect_timeout(StdDuration::from_secs(5))
        .timeout(StdDuration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
});

/// What a federated sign-in carries from its start to the provider's answer.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Pending {
    pub domain: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// The authorization request the sign-in continues, or empty.
    pub authz: String,
    /// The local page to return to, or empty.
    pub next: String,
    /// Unix seconds after which the answer is refused.
    pub expires: i64,
    /// The provider's endpoints as discovery gave them at the start (the pending sign-in is
    /// sealed, so they are as read), for the answer's redemption.
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// Why a federated sign-in can't go on, in words for the person.
#[derive(Debug)]
pub enum Failure {
    /// The provider could not be reached, or answered what tapd can't use.
    Provider(String),
    /// The answer doesn't belong to this browser's sign-in (expired, replayed, forged).
    Stale(String),
    /// The provider or tapd refused the person.
    Refused(String),
}

/// The provider's endpoints, from discovery.
struct Discovered {
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// Where tapd asks the provider to send people back.
pub fn redirect_uri(public_url: &str) -> String {
    format!("{public_url}/federation/callback")
}

/// The federation of `username`'s domain, if that domain is federated.
pub async fn federation_for(
    svc: &Services,
    username: &str,
) -> ServiceResult<Option<FederationRecord>> {
    let Some((_, domain)) = username.trim().rsplit_once('@') else {
        return Ok(None);
    };
    if domain.is_empty() {
        return Ok(None);
    }
    Ok(svc.store.federation_of_domain(domain).await?)
}

/// Starts the sign-in of `username` at their domain's provider: the URL to send the browser
/// to, and what to keep until it comes back.
pub async fn begin(
    f: &FederationRecord,
    ctx: &Ctx,
    public_url: &str,
    username: &str,
    authz: &str,
    next: &str,
) -> Result<(String, Pending), Failure> {
    let found = discover(f).await?;
    let pending = Pending {
        domain: f.domain.clone(),
        state: new_opaque_token(),
        nonce: new_opaque_token(),
        verifier: new_opaque_token(),
        authz: authz.to_string(),
        next: next.to_string(),
        expires: (ctx.now + PENDING_TTL).unix_timestamp(),
        token_endpoint: found.token_endpoint,
        jwks_uri: found.jwks_uri,
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.verifier.as_bytes()));
    let redirect = redirect_uri(public_url);
    let url = with_params(
        &found.authorization_endpoint,
        &[
            ("client_id", f.client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", redirect.as_str()),
            ("scope", "openid profile email"),
            ("state", pending.state.as_str()),
            ("nonce", pending.nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("login_hint", username.trim()),
        ],
    );
    Ok((url, pending))
}

/// The provider's answer (`code` and `state`, or its `error`) to a sign-in started with
/// `pending`: the person, verified and matched, ready to commit.
pub async fn complete(
    svc: &Services,
    ctx: &Ctx,
    public_url: &str,
    pending: &Pending,
    answer: &Answer,
) -> ServiceResult<Result<Verified, Failure>> {
    let same_state = answer.state.as_deref().is_some_and(|s| {
        subtle::ConstantTimeEq::ct_eq(s.as_bytes(), pending.state.as_bytes()).into()
    });
    if !same_state || ctx.now.unix_timestamp() > pending.expires {
        return Ok(Err(Failure::Stale(
            "This sign-in expired or was started in another browser. Start again.".into(),
        )));
    }
    let Some(f) = svc.store.federation_of_domain(&pending.domain).await? else {
        return Ok(Err(Failure::Stale(format!(
            "{} is no longer federated. Start again.",
            pending.domain
        ))));
    };
    if let Some(error) = &answer.error {
        let why = answer.error_description.as_deref().unwrap_or(error);
        return Ok(Err(Failure::Refused(format!(
            "{} refused the sign-in: {}",
            f.display_name,
            shown(why)
        ))));
    }
    let Some(code) = answer.code.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(Err(Failure::Provider(format!(
            "{} sent the browser back without a code.",
            f.display_name
        ))));
    };
    let secret = client_secret(svc, &f)?;
    let claims = match redeem(&f, public_url, pending, code, secret.as_deref(), ctx).await {
        Ok(c) => c,
        Err(failure) => return Ok(Err(failure)),
    };
    let Some(upn) = ["upn", "preferred_username", "email"]
        .iter()
        .find_map(|k| claims.get(*k).and_then(Value::as_str))
        .map(str::to_string)
    else {
        return Ok(Err(Failure::Provider(format!(
            "{}'s ID token names nobody (no upn, preferred_username or email claim).",
            f.display_name
        ))));
    };
    let in_domain = upn
        .rsplit_once('@')
        .is_some_and(|(_, d)| d.eq_ignore_ascii_case(&f.domain));
    let user = match in_domain {
        true => svc.store.user_anywhere(&upn).await?,
        false => None,
    };
    let Some(user) = user.filter(|u| u.tenant == f.tenant_id && !u.is_external) else {
        audit::sign_in_refused(
            svc,
            ctx,
            &upn,
            None,
            METHOD,
            "No such user in the federated domain",
        )
        .await;
        return Ok(Err(Failure::Refused(format!(
            "{} signed you in as {}, but this organization has no account of that name in {}.",
            f.display_name,
            shown(&upn),
            f.domain
        ))));
    };
    if !user.account_enabled {
        audit::sign_in_refused(svc, ctx, &upn, Some(&user), METHOD, "Disabled user").await;
        return Ok(Err(Failure::Refused("Your account is disabled.".into())));
    }
    let upstream_amr: Vec<String> = claims
        .get("amr")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let amr = match federated_amr(f.mfa_behavior, &upstream_amr) {
        Ok(amr) => amr,
        Err(MfaRequired) => {
            let why = "The federated provider did not do multi-factor authentication";
            audit::sign_in_refused(svc, ctx, &upn, Some(&user), METHOD, why).await;
            return Ok(Err(Failure::Refused(format!(
                "This organization requires {} to do multi-factor authentication, and it \
                 didn't. Sign in there with a second factor (a passkey, for example) and try \
                 again.",
                f.display_name
            ))));
        }
    };
    Ok(Ok(Verified {
        user,
        pass: None,
        passkey: None,
        amr,
        method: METHOD,
        username: upn,
    }))
}

/// The provider's redirect back, as its query says.
#[derive(Deserialize, Debug, Default)]
pub struct Answer {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

fn unreachable(f: &FederationRecord, what: &str) -> Failure {
    Failure::Provider(format!(
        "The identity provider of {} ({}) could not be reached or answered wrong: {what}. Try \
         again later, or tell your administrator.",
        f.domain, f.issuer_uri
    ))
}

/// A JSON object from `request`, bounded in time and size.
async fn json_of(
    f: &FederationRecord,
    what: &str,
    request: reqwest::RequestBuilder,
) -> Result<Value, Failure> {
    let mut response = request
        .send()
        .await
        .map_err(|e| unreachable(f, &format!("{what}: {}", error_chain(&e))))?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| unreachable(f, &format!("{what}: {e}")))?
    {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(unreachable(f, &format!("{what}: the answer is over 1 MiB")));
        }
        body.extend_from_slice(&chunk);
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|_| unreachable(f, &format!("{what}: HTTP {status}, not JSON")))?;
    if !status.is_success() {
        let error = value.get("error").and_then(Value::as_str).unwrap_or("");
        return Err(unreachable(
            f,
            &format!("{what}: HTTP {status} {}", shown(error)),
        ));
    }
    Ok(value)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    shown(&text)
}

async fn discover(f: &FederationRecord) -> Result<Discovered, Failure> {
    let url = format!("{}/.well-known/openid-configuration", f.issuer_uri);
    let doc = json_of(f, "discovery", HTTP.get(&url)).await?;
    let field = |name: &str| {
        doc.get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| unreachable(f, &format!("discovery has no {name}")))
    };
    let issuer = field("issuer")?;
    if issuer.trim_end_matches('/') != f.issuer_uri {
        return Err(unreachable(
            f,
            &format!("discovery names another issuer ({})", shown(&issuer)),
        ));
    }
    Ok(Discovered {
        authorization_endpoint: field("authorization_endpoint")?,
        token_endpoint: field("token_endpoint")?,
        jwks_uri: field("jwks_uri")?,
    })
}

/// Redeems the code and checks the ID token: signed by one of the provider's keys, by its
/// issuer, for tapd's client id, unexpired at `ctx.now`, with this sign-in's nonce.
async fn redeem(
    f: &FederationRecord,
    public_url: &str,
    pending: &Pending,
    code: &str,
    secret: Option<&str>,
    ctx: &Ctx,
) -> Result<serde_json::Map<String, Value>, Failure> {
    let redirect = redirect_uri(public_url);
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", pending.verifier.as_str()),
        ("client_id", f.client_id.as_str()),
    ];
    if let Some(secret) = secret {
        form.push(("client_secret", secret));
    }
    let tokens = json_of(
        f,
        "the token endpoint",
        HTTP.post(&pending.token_endpoint).form(&form),
    )
    .await?;
    let id_token = tokens
        .get("id_token")
        .and_then(Value::as_str)
        .ok_or_else(|| unreachable(f, "the token endpoint sent no id_token"))?;
    let header = jsonwebtoken::decode_header(id_token)
        .map_err(|_| unreachable(f, "the ID token is not a JWT"))?;
    let jwks: JwkSet =
        serde_json::from_value(json_of(f, "the JWKS", HTTP.get(&pending.jwks_uri)).await?)
            .map_err(|_| unreachable(f, "the JWKS is not a JWK Set"))?;
    let jwk = match &header.kid {
        Some(kid) => jwks.find(kid),
        None if jwks.keys.len() == 1 => jwks.keys.first(),
        None => None,
    }
    .ok_or_else(|| unreachable(f, "the ID token's key is not in the provider's JWKS"))?;
    let key = DecodingKey::from_jwk(jwk)
        .map_err(|_| unreachable(f, "the provider's key can't be read"))?;
    if !matches!(
        header.alg,
        Algorithm::EdDSA
            | Algorithm::RS256
            | Algorithm::PS256
            | Algorithm::ES256
            | Algorithm::ES384
    ) {
        return Err(unreachable(f, "the ID token's algorithm is not accepted"));
    }
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.set_audience(&[&f.client_id]);
    validation.set_issuer(&[&f.issuer_uri, &format!("{}/", f.issuer_uri)]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let claims =
        jsonwebtoken::decode::<serde_json::Map<String, Value>>(id_token, &key, &validation)
            .map_err(|e| unreachable(f, &format!("the ID token doesn't verify ({e})")))?
            .claims;
    let now = ctx.now.unix_timestamp();
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .unwrap_or(i64::MIN);
    if now > exp.saturating_add(LEEWAY_SECS) {
        return Err(unreachable(f, "the ID token has expired"));
    }
    let nonce_ok = claims
        .get("nonce")
        .and_then(Value::as_str)
        .is_some_and(|n| {
            subtle::ConstantTimeEq::ct_eq(n.as_bytes(), pending.nonce.as_bytes()).into()
        });
    if !nonce_ok {
        return Err(unreachable(f, "the ID token's nonce is not this sign-in's"));
    }
    Ok(claims)
}
