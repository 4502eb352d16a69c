//! Federation over OpenID Connect with a real upstream (SPEC §8): a second tapd server, with
//! its own database, keys and port, is the identity provider of `fabrikam.test`, a domain of
//! the first server's second tenant. The browser goes there and back; `amr` follows
//! `federatedIdpMfaBehavior`; a user with a usable pass is not redirected; a provider that is
//! down gets a clear page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tapd_client::{Client, NewUser};
use tapd_server::service::apps;

use crate::browser::{Browser, Page, unescape};
use crate::helpers::*;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const APP_REDIRECT: &str = "http://127.0.0.1:8400/cb";
const UPSTREAM_PASSWORD: &str = "upstream password 1";
const ALICE: &str = "alice@fabrikam.test";

struct Federated {
    /// The server whose tenant `fabrikam.test` federates.
    down: TestApp,
    /// The identity provider.
    up: TestApp,
    tenant: String,
    b_admin: Client,
    /// An app of the federated tenant, public, for the code flow.
    app_client_id: String,
    federation_id: String,
}

async fn federated(behavior: &str) -> Federated {
    let down = TestApp::spawn().await;
    let up = TestApp::spawn().await;
    let b = down.add_tenant("fabrikam.test", "Fabrikam").await;
    let b_admin = b.admin;

    // At the provider: the domain, Alice with a password, and tapd registered as a client.
    up.admin
        .post("/v1.0/domains", &json!({"id": "fabrikam.test"}))
        .await
        .expect("the provider's domain");
    up.admin
        .create_user(&NewUser::new(ALICE, "Alice").with_password(UPSTREAM_PASSWORD))
        .await
        .expect("Alice at the provider");
    let callback = format!("{}/federation/callback", down.base);
    let registered = up
        .create_app(&apps::AppSpec {
            name: "tapd downstream".into(),
            web_redirect_uris: vec![callback.clone()],
            ..Default::default()
        })
        .await;
    let issuer = claims(up.admin.token().expect("token"))["iss"]
        .as_str()
        .expect("iss")
        .to_string();

    // At tapd: the federation, and Alice (no password) in the federated tenant.
    let created = b_admin
        .post(
            "/v1.0/domains/fabrikam.test/federationConfiguration",
            &json!({
                "@odata.type": "#microsoft.graph.internalDomainFederation",
                "displayName": "Fabrikam IdP",
                "issuerUri": issuer,
                "passiveSignInUri": format!("{}/signin", up.base),
                "federatedIdpMfaBehavior": behavior,
                "tapdClientId": registered.client_id.to_string(),
                "tapdClientSecret": registered.client_secret.expect("a secret"),
            }),
        )
        .await
        .expect("federate the domain");
    assert_eq!(
        created["tapdClientSecret"],
        Value::Null,
        "the secret is write-only"
    );
    assert_eq!(created["tapdRedirectUri"], json!(callback));
    b_admin
        .create_user(&NewUser::new(ALICE, "Alice"))
        .await
        .expect("Alice at tapd");
    let spec = apps::AppSpec {
        name: "Fabrikam wiki".into(),
        public_redirect_uris: vec![APP_REDIRECT.into()],
        ..Default::default()
    };
    let app = down.create_app_in(Some("fabrikam.test"), &spec).await;
    Federated {
        down,
        up,
        tenant: b.id.to_string(),
        b_admin,
        app_client_id: app.client_id.to_string(),
        federation_id: created["id"].as_str().expect("id").to_string(),
    }
}

fn authorize_path(f: &Federated) -> String {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &f.app_client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", APP_REDIRECT)
        .append_pair("scope", "openid")
        .append_pair("state", "app-state")
        .append_pair("nonce", "app-nonce")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    format!("/{}/oauth2/v2.0/authorize?{query}", f.tenant)
}

/// The `href` of the link with this id.
fn link(page: &Page, id: &str) -> Option<String> {
    let at = page.body.find(&format!("id=\"{id}\""))?;
    let rest = &page.body[at..];
    let start = rest.find("href=\"")? + 6;
    let end = rest[start..].find('"')? + start;
    Some(unescape(&rest[start..end]))
}

/// Names Alice on tapd's sign-in page for the app and follows the federation link: where
/// tapd sends the browser (the provider's authorization URL).
async fn to_provider(f: &Federated, browser: &mut Browser) -> String {
    let page = browser.get(&authorize_path(f)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let (csrf, authz) = (page.input("csrf"), page.input("authz"));
    let methods = browser
        .post(
            "/signin",
            &[("csrf", &csrf), ("authz", &authz), ("username", ALICE)],
        )
        .await;
    assert!(
        methods.body.contains("Fabrikam IdP") && methods.body.contains(&f.up.base),
        "the page says where Alice is sent: {}",
        methods.body
    );
    let start = link(&methods, "federation-continue").expect("the federation link");
    let sent = browser.get(&start).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let location = sent.location.expect("the provider's authorize URL");
    assert!(location.starts_with(&f.up.base), "{location}");
    location
}

/// The `state` tapd sent to the provider.
fn state_of(location: &str) -> String {
    let query = location.split_once('?').expect("a query").1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state")
}

/// How Alice proves herself at the provider.
enum AtProvider<'a> {
    Password,
    Pass(&'a str),
}

/// Names Alice on tapd's sign-in page for the app, follows the federation link to the
/// provider, signs in there, and comes back: the page the callback answered.
async fn sign_in_through_provider(
    f: &Federated,
    browser: &mut Browser,
    how: AtProvider<'_>,
) -> Page {
    let at_provider = to_provider(f, browser).await;
    let provider_page = browser.get(&at_provider).await;
    assert_eq!(
        provider_page.status,
        StatusCode::OK,
        "{}",
        provider_page.body
    );
    let (csrf, authz) = (provider_page.input("csrf"), provider_page.input("authz"));
    let back = match how {
        AtProvider::Password => {
            let form = [
                ("csrf", csrf.as_str()),
                ("authz", authz.as_str()),
                ("username", ALICE),
                ("password", UPSTREAM_PASSWORD),
            ];
            browser
                .post(&format!("{}/signin/password", f.up.base), &form)
                .await
        }
        AtProvider::Pass(code) => {
            let form = [
                ("csrf", csrf.as_str()),
                ("authz", authz.as_str()),
                ("username", ALICE),
                ("code", code),
            ];
            browser
                .post(&format!("{}/signin/tap", f.up.base), &form)
                .await
        }
    };
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    let callback = back.location.expect("back to tapd");
    assert!(
        callback.starts_with(&format!("{}/federation/callback?", f.down.base)),
        "{callback}"
    );
    browser.get(&callback).await
}

/// Redeems the code the app got: the ID token's claims.
async fn id_token_of(f: &Federated, page: &Page) -> Value {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let location = page.location.clone().expect("back to the app");
    assert!(location.starts_with(APP_REDIRECT), "{location}");
    let query = location.split_once('?').expect("a query").1;
    let code = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code: {location}"));
    let tokens: Value = reqwest::Client::new()
        .post(format!("{}/{}/oauth2/v2.0/token", f.down.base, f.tenant))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", APP_REDIRECT),
            ("client_id", f.app_client_id.as_str()),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    claims(tokens["id_token"].as_str().expect("an ID token"))
}

fn amr(claims: &Value) -> Vec<String> {
    let mut v: Vec<String> = claims["amr"]
        .as_array()
        .expect("amr")
        .iter()
        .map(|a| a.as_str().expect("text").to_string())
        .collect();
    v.sort();
    v
}

async fn set_behavior(f: &Federated, behavior: &str) {
    f.b_admin
        .patch(
            &format!(
                "/v1.0/domains/fabrikam.test/federationConfiguration/{}",
                f.federation_id
            ),
            &json!({"federatedIdpMfaBehavior": behavior}),
        )
        .await
        .expect("change the behavior");
}

#[tokio::test]
async fn a_federated_user_signs_in_at_the_provider_and_amr_follows_the_mfa_behavior() {
    let f = federated("acceptIfMfaDoneByFederatedIdp").await;

    // A password at the provider is one factor: accepted, without mfa.
    let mut browser = Browser::new(&f.down.base);
    let done = sign_in_through_provider(&f, &mut browser, AtProvider::Password).await;
    let id = id_token_of(&f, &done).await;
    assert_eq!(amr(&id), vec!["fed"]);
    assert_eq!(id["preferred_username"], json!(ALICE));
    assert_eq!(id["tid"], json!(f.tenant));
    assert!(
        !browser.cookies.contains_key("tapd_federation"),
        "the round trip is over"
    );

    // A pass at the provider counts as MFA there.
    let pass = f.up.issue(ALICE, json!({})).await;
    let mut browser = Browser::new(&f.down.base);
    let done = sign_in_through_provider(&f, &mut browser, AtProvider::Pass(code_of(&pass))).await;
    assert_eq!(amr(&id_token_of(&f, &done).await), vec!["fed", "mfa"]);

    // Rejected: the provider's MFA never counts.
    set_behavior(&f, "rejectMfaByFederatedIdp").await;
    let pass = f.up.issue(ALICE, json!({})).await;
    let mut browser = Browser::new(&f.down.base);
    let done = sign_in_through_provider(&f, &mut browser, AtProvider::Pass(code_of(&pass))).await;
    assert_eq!(amr(&id_token_of(&f, &done).await), vec!["fed"]);

    // Enforced: a password alone at the provider is refused, with a page that says why.
    set_behavior(&f, "enforceMfaByFederatedIdp").await;
    let mut browser = Browser::new(&f.down.base);
    let refused = sign_in_through_provider(&f, &mut browser, AtProvider::Password).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("multi-factor"), "{}", refused.body);
    // (The browser holds the provider's session cookie; tapd's pages don't know it.)
    let home = browser.get("/mysecurityinfo").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER, "no session at tapd");
    let pass = f.up.issue(ALICE, json!({})).await;
    let mut browser = Browser::new(&f.down.base);
    let done = sign_in_through_provider(&f, &mut browser, AtProvider::Pass(code_of(&pass))).await;
    assert_eq!(amr(&id_token_of(&f, &done).await), vec!["fed", "mfa"]);

    // The sign-in log of the federated tenant has them all.
    let log = f.b_admin.get("/v1.0/auditLogs/signIns").await.expect("log");
    let text = log.to_string();
    assert!(text.contains("Federated identity provider"), "{text}");
    assert!(
        text.contains("did not do multi-factor authentication"),
        "{text}"
    );
}

#[tokio::test]
async fn a_user_with_a_usable_pass_signs_in_here_and_passwords_are_for_the_provider() {
    let f = federated("acceptIfMfaDoneByFederatedIdp").await;
    // No password here for a federated domain's user.
    let mut browser = Browser::new(&f.down.base);
    let page = browser.get("/signin").await;
    let csrf = page.input("csrf");
    let refused = browser
        .post(
            "/signin/password",
            &[
                ("csrf", &csrf),
                ("username", ALICE),
                ("password", UPSTREAM_PASSWORD),
            ],
        )
        .await;
    assert_ne!(refused.status, StatusCode::SEE_OTHER, "{}", refused.body);
    assert!(refused.body.contains("Fabrikam IdP"), "{}", refused.body);

    // A pass issued here is preferred: offered, no redirect, the sign-in completes here.
    let pass = f
        .b_admin
        .create_tap(ALICE, &json!({}))
        .await
        .expect("a pass at tapd");
    let mut browser = Browser::new(&f.down.base);
    let page = browser.get(&authorize_path(&f)).await;
    let (csrf, authz) = (page.input("csrf"), page.input("authz"));
    let methods = browser
        .post(
            "/signin",
            &[("csrf", &csrf), ("authz", &authz), ("username", ALICE)],
        )
        .await;
    assert!(
        link(&methods, "federation-continue").is_none(),
        "no redirect offered"
    );
    assert!(
        methods.body.contains("Temporary Access Pass"),
        "{}",
        methods.body
    );
    let done = browser
        .post(
            "/signin/tap",
            &[
                ("csrf", &csrf),
                ("authz", &authz),
                ("username", ALICE),
                ("code", code_of(&pass)),
            ],
        )
        .await;
    let id = id_token_of(&f, &done).await;
    assert_eq!(amr(&id), vec!["tap"]);
}

#[tokio::test]
async fn a_provider_that_is_down_or_answers_wrong_gets_a_clear_page_and_nothing_is_written() {
    let f = federated("acceptIfMfaDoneByFederatedIdp").await;
    // A second domain federated to nothing that listens.
    f.b_admin
        .post("/v1.0/domains", &json!({"id": "contoso.test"}))
        .await
        .expect("domain");
    f.b_admin
        .post(
            "/v1.0/domains/contoso.test/federationConfiguration",
            &json!({
                "displayName": "Contoso IdP",
                "issuerUri": "http://127.0.0.1:9/contoso/v2.0",
                "tapdClientId": "tapd",
            }),
        )
        .await
        .expect("federate");
    let before = f.b_admin.get("/v1.0/auditLogs/signIns").await.expect("log");
    let mut browser = Browser::new(&f.down.base);
    let down = browser
        .get("/federation/start?username=carol%40contoso.test")
        .await;
    assert_eq!(down.status, StatusCode::BAD_GATEWAY, "{}", down.body);
    assert!(down.body.contains("could not be reached"), "{}", down.body);
    assert!(
        down.body.contains("http://127.0.0.1:9/contoso/v2.0"),
        "{}",
        down.body
    );
    assert!(!browser.cookies.contains_key("tapd_federation"));
    let after = f.b_admin.get("/v1.0/auditLogs/signIns").await.expect("log");
    assert_eq!(before["value"], after["value"], "nothing written");

    // A callback that isn't this browser's sign-in, or without one, is refused.
    let mut browser = Browser::new(&f.down.base);
    let none = browser.get("/federation/callback?code=x&state=y").await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST, "{}", none.body);
    let location = to_provider(&f, &mut browser).await;
    assert!(browser.cookies.contains_key("tapd_federation"));
    assert!(location.contains("code_challenge_method=S256") && location.contains("nonce="));
    let forged = browser
        .get("/federation/callback?code=x&state=forged")
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST, "{}", forged.body);
    // The provider's refusal is shown as its own.
    let state = state_of(&to_provider(&f, &mut browser).await);
    let refused = browser
        .get(&format!(
            "/federation/callback?error=access_denied&error_description=Not+today&state={state}"
        ))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("Not today"), "{}", refused.body);
    // A code the provider never issued: its token endpoint says no.
    let state = state_of(&to_provider(&f, &mut browser).await);
    let wrong = browser
        .get(&format!("/federation/callback?code=made-up&state={state}"))
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_GATEWAY, "{}", wrong.body);
    assert!(wrong.body.contains("token endpoint"), "{}", wrong.body);
    assert!(!browser.cookies.contains_key("tapd_session"), "no session");
}

#[tokio::test]
async fn federation_configurations_are_graph_shaped_and_the_tenants_own() {
    let f = federated("acceptIfMfaDoneByFederatedIdp").await;
    let path = "/v1.0/domains/fabrikam.test/federationConfiguration";
    let listed = f.b_admin.get(path).await.expect("list");
    assert_eq!(listed["value"].as_array().expect("value").len(), 1);
    let one = &listed["value"][0];
    assert_eq!(
        one["@odata.type"],
        json!("#microsoft.graph.internalDomainFederation")
    );
    assert_eq!(one["displayName"], json!("Fabrikam IdP"));
    assert_eq!(
        one["federatedIdpMfaBehavior"],
        json!("acceptIfMfaDoneByFederatedIdp")
    );
    let domain = f
        .b_admin
        .get("/v1.0/domains/fabrikam.test")
        .await
        .expect("domain");
    assert_eq!(domain["authenticationType"], json!("Federated"));

    // Refused bodies, and a second federation of the same domain.
    for (body, status) in [
        (json!({"displayName": "x", "tapdClientId": "c"}), 400),
        (
            json!({"displayName": "x", "issuerUri": "http://idp.test/v2.0", "tapdClientId": "c"}),
            400,
        ),
        (
            json!({"displayName": "x", "issuerUri": "https://idp.test", "tapdClientId": "c", "federatedIdpMfaBehavior": "sometimes"}),
            400,
        ),
        (
            json!({"displayName": "x", "issuerUri": "https://idp.test", "tapdClientId": "c", "preferredAuthenticationProtocol": "saml"}),
            400,
        ),
        (
            json!({"displayName": "x", "issuerUri": "https://idp.test", "tapdClientId": "c", "signingCertificate": "MII"}),
            400,
        ),
        (
            json!({"displayName": "x", "issuerUri": "https://idp.test", "tapdClientId": "c"}),
            409,
        ),
    ] {
        let (got, _, message) = error_of(f.b_admin.post(path, &body).await);
        assert_eq!(got, status, "{body}: {message}");
    }
    let item = format!("{path}/{}", f.federation_id);
    let got = f.b_admin.get(&item).await.expect("get");
    assert_eq!(got["id"], json!(f.federation_id));
    let changed = f
        .b_admin
        .patch(&item, &json!({"displayName": "Fabrikam sign-in"}))
        .await
        .expect("patch");
    assert_eq!(changed["displayName"], json!("Fabrikam sign-in"));

    // Another tenant sees none of it.
    for p in [path.to_string(), item.clone()] {
        let (status, _, _) = error_of(f.down.admin.get(&p).await);
        assert_eq!(status, 404, "{p}");
    }
    let (status, _, _) = error_of(f.down.admin.delete(&item).await);
    assert_eq!(status, 404);
    let (_, reader) = f
        .down
        .signed_in("reader", &[tapd_core::Role::GlobalReader])
        .await;
    assert_eq!(status_of(reader.get(&item).await), 404);

    // Deleting it makes the domain Managed again, and its users sign in here.
    f.b_admin.delete(&item).await.expect("delete");
    let domain = f
        .b_admin
        .get("/v1.0/domains/fabrikam.test")
        .await
        .expect("domain");
    assert_eq!(domain["authenticationType"], json!("Managed"));
    assert_eq!(status_of(f.b_admin.get(&item).await), 404);
    let mut browser = Browser::new(&f.down.base);
    let page = browser.get("/signin").await;
    let csrf = page.input("csrf");
    let methods = browser
        .post("/signin", &[("csrf", &csrf), ("username", ALICE)])
        .await;
    assert!(link(&methods, "federation-continue").is_none());
    let audits = f
        .b_admin
        .get("/v1.0/auditLogs/directoryAudits")
        .await
        .expect("log");
    assert!(audits.to_string().contains("Set domain authentication"));
}
