//! The OpenID Connect provider: discovery, keys and their rotation, app registrations, the
//! authorization-code flow through the sign-in pages (a cookie-keeping HTTP client plays the
//! browser), PKCE, refresh rotation and reuse, the TAP cap, revocation, introspection, logout.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tapd_client::TemporaryAccessPass;
use tapd_core::Role;
use time::Duration;

use crate::browser::Browser;
use crate::helpers::*;

const CALLBACK: &str = "http://localhost:8400/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// An OIDC app registered through Graph, as an admin would.
async fn register(app: &TestApp, body: Value) -> Value {
    app.admin
        .post("/v1.0/applications", &body)
        .await
        .expect("register the application")
}

fn authorize_url(client_id: &str, extra: &[(&str, &str)]) -> String {
    let challenge = challenge(VERIFIER);
    let mut params = vec![
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", CALLBACK),
        ("scope", "openid profile offline_access"),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        params.retain(|(key, _)| key != k);
        if !v.is_empty() {
            params.push((k, v));
        }
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("/oauth2/v2.0/authorize?{query}")
}

async fn token_request(app: &TestApp, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/v2.0/token", app.base))
        .form(form)
        .send()
        .await
        .expect("token request");
    let status = response.status();
    (status, response.json().await.expect("JSON"))
}

async fn redeem(app: &TestApp, client_id: &str, code: &str, verifier: &str) -> (StatusCode, Value) {
    token_request(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ],
    )
    .await
}

async fn refresh(app: &TestApp, client_id: &str, token: &str) -> (StatusCode, Value) {
    token_request(
        app,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", token),
        ],
    )
    .await
}

/// A public (SPA) app, a user with a one-time pass, and a signed-in browser holding a code.
struct Flow {
    app: TestApp,
    client_id: String,
    user: User,
    pass: TemporaryAccessPass,
    browser: Browser,
    code: String,
}

async fn flow() -> Flow {
    let app = TestApp::spawn().await;
    let registered = register(
        &app,
        json!({"displayName": "Contoso SPA", "spa": {"redirectUris": [CALLBACK]}}),
    )
    .await;
    let client_id = registered["appId"].as_str().expect("appId").to_string();
    let user = app.create_user("alice").await;
    let pass = app
        .issue(
            &user.upn,
            json!({"isUsableOnce": true, "lifetimeInMinutes": 60}),
        )
        .await;
    let mut browser = Browser::new(&app.base);
    let page = browser.get(&authorize_url(&client_id, &[])).await;
    assert!(page.body.contains("Contoso SPA"), "the page names the app");
    let back = browser
        .sign_in_with_tap(page, &user.upn, code_of(&pass))
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert!(
        back.location
            .as_deref()
            .expect("redirect")
            .starts_with(CALLBACK)
    );
    assert_eq!(back.param("state").as_deref(), Some("st-123"));
    let code = back.param("code").expect("a code");
    Flow {
        app,
        client_id,
        user,
        pass,
        browser,
        code,
    }
}

#[tokio::test]
async fn discovery_documents_and_keys_describe_the_provider() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let root: Value = http
        .get(format!("{}/.well-known/openid-configuration", app.base))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("JSON");
    let issuer = root["issuer"].as_str().expect("issuer");
    let tenant_id = issuer
        .trim_end_matches("/v2.0")
        .rsplit('/')
        .next()
        .expect("tenant");
    for tenant in [tenant_id, DOMAIN] {
        let doc: Value = http
            .get(format!(
                "{}/{tenant}/v2.0/.well-known/openid-configuration",
                app.base
            ))
            .send()
            .await
            .expect("tenant discovery")
            .json()
            .await
            .expect("JSON");
        assert_eq!(doc, root, "tenant {tenant}");
    }
    let unknown = http
        .get(format!(
            "{}/contoso.example/v2.0/.well-known/openid-configuration",
            app.base
        ))
        .send()
        .await
        .expect("unknown tenant");
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        root["id_token_signing_alg_values_supported"],
        json!(["EdDSA"])
    );
    assert_eq!(root["code_challenge_methods_supported"], json!(["S256"]));
    let jwks: Value = http
        .get(root["jwks_uri"].as_str().expect("jwks_uri"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("JSON");
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
    // The admin's token is signed by the published key.
    let header = app.admin_token_header();
    assert_eq!(header["kid"], keys[0]["kid"]);
    assert_eq!(header["alg"], "EdDSA");
}

#[tokio::test]
async fn a_rotated_key_is_published_before_it_signs_and_kept_until_its_tokens_expire() {
    let mut app = TestApp::spawn().await;
    let url = format!("{}/discovery/v2.0/keys", app.base);
    let jwks = || async {
        let v: Value = reqwest::get(&url)
            .await
            .expect("jwks")
            .json()
            .await
            .expect("JSON");
        v["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| k["kid"].as_str().expect("kid").to_string())
            .collect::<Vec<_>>()
    };
    let old = jwks().await;
    let now = app.clock_now();
    let new = tapd_server::keys::rotate(
        &app.store,
        &app.keys,
        now,
        now + Duration::hours(1),
        Duration::minutes(60),
    )
    .await
    .expect("rotate");
    app.clock.advance(Duration::seconds(61)); // past the key cache
    let both = jwks().await;
    assert_eq!(
        both,
        vec![old[0].clone(), new.clone()],
        "published before it signs"
    );
    app.renew_admin().await;
    assert_eq!(
        app.admin_token_header()["kid"],
        old[0].as_str(),
        "the old key still signs"
    );
    app.clock.advance(Duration::hours(1));
    app.renew_admin().await;
    assert_eq!(
        app.admin_token_header()["kid"],
        new.as_str(),
        "the new key signs"
    );
    app.admin
        .get("/v1.0/me")
        .await
        .expect("a token of the new key works");
    assert_eq!(
        jwks().await.len(),
        2,
        "the old key's tokens are still alive"
    );
    app.clock.advance(Duration::minutes(66));
    assert_eq!(
        jwks().await,
        vec![new],
        "retired once every token it signed has expired"
    );
}

#[tokio::test]
async fn the_code_flow_with_pkce_yields_tokens_capped_at_the_pass() {
    let f = flow().await;
    let (status, tokens) = redeem(&f.app, &f.client_id, &f.code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid profile offline_access");
    let id = claims(tokens["id_token"].as_str().expect("an ID token"));
    assert_eq!(id["aud"], f.client_id.as_str());
    assert_eq!(id["nonce"], "n-456");
    assert_eq!(id["sub"], f.user.id.as_str());
    assert_eq!(id["preferred_username"], f.user.upn.as_str());
    assert_eq!(id["amr"], json!(["tap"]));
    let pass_end = (t0() + Duration::minutes(60)).unix_timestamp();
    assert_eq!(id["exp"], pass_end, "the ID token ends with the pass");
    let access = tokens["access_token"].as_str().expect("access token");
    assert_eq!(claims(access)["exp"], pass_end);
    assert_eq!(claims(access)["azp"], f.client_id.as_str());
    // The access token works for the Graph API and for userinfo.
    let me = f.app.anon.clone().with_token(access.to_string());
    assert_eq!(me.me().await.expect("me").id, f.user.id);
    let info = me.get("/oidc/userinfo").await.expect("userinfo");
    assert_eq!(info["sub"], f.user.id.as_str());
    assert_eq!(info["preferred_username"], f.user.upn.as_str());
    // Refresh rotates; the new tokens still end with the pass.
    let first = tokens["refresh_token"].as_str().expect("refresh token");
    let (status, renewed) = refresh(&f.app, &f.client_id, first).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    assert!(
        claims(renewed["access_token"].as_str().expect("access"))["exp"].as_i64() <= Some(pass_end)
    );
    assert_eq!(
        claims(renewed["id_token"].as_str().expect("id"))["aud"],
        f.client_id.as_str()
    );
    let _ = &f.pass;
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_its_whole_family() {
    let f = flow().await;
    let (_, tokens) = redeem(&f.app, &f.client_id, &f.code, VERIFIER).await;
    let first = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let (_, second) = refresh(&f.app, &f.client_id, &first).await;
    let second = second["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_string();
    let (status, reuse) = refresh(&f.app, &f.client_id, &first).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(reuse["error"], "invalid_grant");
    assert!(
        reuse["error_description"]
            .as_str()
            .expect("why")
            .contains("already used")
    );
    let (status, after) = refresh(&f.app, &f.client_id, &second).await;
    assert_eq!(
        (status, after["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "the family is revoked"
    );
}

#[tokio::test]
async fn a_code_is_redeemed_once_within_sixty_seconds_with_its_verifier_and_redirect_uri() {
    let f = flow().await;
    let wrong = "A".repeat(43);
    let (status, body) = redeem(&f.app, &f.client_id, &f.code, &wrong).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // The failed attempt used the code up.
    let (status, body) = redeem(&f.app, &f.client_id, &f.code, VERIFIER).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // A fresh code: reuse after success revokes what the first redemption got.
    let mut browser = f.browser;
    let again = browser.get(&authorize_url(&f.client_id, &[])).await;
    assert_eq!(
        again.status,
        StatusCode::SEE_OTHER,
        "the session signs in silently"
    );
    let code = again.param("code").expect("code");
    let (status, tokens) = redeem(&f.app, &f.client_id, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = redeem(&f.app, &f.client_id, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = refresh(
        &f.app,
        &f.client_id,
        tokens["refresh_token"].as_str().expect("rt"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "tokens of a reused code are revoked"
    );

    // The wrong redirect URI, then an expired code.
    let code = browser
        .get(&authorize_url(&f.client_id, &[]))
        .await
        .param("code")
        .expect("code");
    let (status, body) = token_request(
        &f.app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &f.client_id),
            ("code", &code),
            ("redirect_uri", "http://localhost:8400/other"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let code = browser
        .get(&authorize_url(&f.client_id, &[]))
        .await
        .param("code")
        .expect("code");
    f.app.clock.advance(Duration::seconds(60));
    let (status, body) = redeem(&f.app, &f.client_id, &code, VERIFIER).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert!(
        body["error_description"]
            .as_str()
            .expect("why")
            .contains("expired")
    );
}

#[tokio::test]
async fn refresh_fails_once_the_pass_is_deleted_or_expired() {
    let f = flow().await;
    let (_, tokens) = redeem(&f.app, &f.client_id, &f.code, VERIFIER).await;
    let rt = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    // Expired: the clock at the pass's end.
    f.app.clock.advance(Duration::minutes(60));
    let (status, body) = refresh(&f.app, &f.client_id, &rt).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // Deleted: a new pass, a new sign-in, then the admin deletes the pass.
    let f = flow().await;
    let (_, tokens) = redeem(&f.app, &f.client_id, &f.code, VERIFIER).await;
    let rt = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let access = tokens["access_token"].as_str().expect("access").to_string();
    f.app
        .admin
        .delete_tap(&f.user.id, &f.pass.id)
        .await
        .expect("delete the pass");
    let (status, body) = refresh(&f.app, &f.client_id, &rt).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let me = f.app.anon.clone().with_token(access);
    assert_eq!(
        status_of(me.get("/oidc/userinfo").await),
        401,
        "the access token died with the pass"
    );
    // The browser session ended too: authorize asks to sign in again.
    let mut browser = f.browser;
    let page = browser.get(&authorize_url(&f.client_id, &[])).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("name=\"username\""));
}

#[tokio::test]
async fn authorize_refuses_unknown_clients_on_a_page_and_other_errors_at_the_redirect_uri() {
    let app = TestApp::spawn().await;
    let registered = register(
        &app,
        json!({"displayName": "SPA", "spa": {"redirectUris": [CALLBACK]}}),
    )
    .await;
    let client_id = registered["appId"].as_str().expect("appId");
    let mut browser = Browser::new(&app.base);
    let unknown = browser
        .get(&authorize_url("3f2504e0-4f89-11d3-9a0c-0305e82c3301", &[]))
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.location.is_none() && unknown.body.contains("not registered"));
    let unregistered = browser
        .get(&authorize_url(
            client_id,
            &[("redirect_uri", "http://localhost:8400/evil")],
        ))
        .await;
    assert_eq!(unregistered.status, StatusCode::BAD_REQUEST);
    assert!(unregistered.location.is_none() && unregistered.body.contains("must match exactly"));
    for (extra, error) in [
        (
            vec![("code_challenge", ""), ("code_challenge_method", "")],
            "invalid_request",
        ),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (vec![("prompt", "none")], "login_required"),
    ] {
        let page = browser.get(&authorize_url(client_id, &extra)).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{extra:?}");
        assert!(
            page.location
                .as_deref()
                .expect("redirect")
                .starts_with(CALLBACK)
        );
        assert_eq!(page.param("error").as_deref(), Some(error), "{extra:?}");
        assert_eq!(page.param("state").as_deref(), Some("st-123"));
    }
}

#[tokio::test]
async fn sessions_are_reused_until_prompt_login_or_logout() {
    let f = flow().await;
    let mut browser = f.browser;
    let silent = browser.get(&authorize_url(&f.client_id, &[])).await;
    assert_eq!(silent.status, StatusCode::SEE_OTHER);
    let forced = browser
        .get(&authorize_url(&f.client_id, &[("prompt", "login")]))
        .await;
    assert_eq!(forced.status, StatusCode::OK, "prompt=login asks again");
    assert!(
        !forced.input("authz").contains("prompt"),
        "the pages don't loop on prompt=login"
    );
    let other = browser
        .get(&authorize_url(
            &f.client_id,
            &[("login_hint", "bob@tapd.test")],
        ))
        .await;
    assert_eq!(
        other.status,
        StatusCode::OK,
        "a hint for someone else asks again"
    );
    assert!(
        other.body.contains("value=\"bob@tapd.test\""),
        "the hint is filled in"
    );

    let logout = browser
        .get(&format!(
            "/oauth2/v2.0/logout?client_id={}&post_logout_redirect_uri={}&state=bye",
            f.client_id,
            form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
        ))
        .await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER);
    assert_eq!(
        logout.location.as_deref(),
        Some(&*format!("{CALLBACK}?state=bye"))
    );
    let after = browser.get(&authorize_url(&f.client_id, &[])).await;
    assert_eq!(
        after.status,
        StatusCode::OK,
        "signed out: the sign-in page again"
    );
    let elsewhere = browser
        .get("/oauth2/v2.0/logout?post_logout_redirect_uri=https%3A%2F%2Fevil.test%2F")
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::OK,
        "an unregistered target is not followed"
    );
}

#[tokio::test]
async fn forms_without_the_csrf_token_change_nothing() {
    let app = TestApp::spawn().await;
    let user = app.create_user("alice").await;
    let pass = app.issue(&user.upn, json!({"isUsableOnce": true})).await;
    let mut browser = Browser::new(&app.base);
    let page = browser.get("/signin").await;
    let forged = browser
        .post(
            "/signin/tap",
            &[
                ("csrf", "forged"),
                ("username", &user.upn),
                ("code", code_of(&pass)),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!browser.cookies.contains_key("tapd_session"));
    // The pass was not consumed: the real form still works.
    let csrf = page.input("csrf");
    let ok = browser
        .post(
            "/signin/tap",
            &[
                ("csrf", &csrf),
                ("username", &user.upn),
                ("code", code_of(&pass)),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert!(browser.cookies.contains_key("tapd_session"));
    let used = browser
        .post(
            "/signin/tap",
            &[
                ("csrf", &csrf),
                ("username", &user.upn),
                ("code", code_of(&pass)),
            ],
        )
        .await;
    assert_eq!(used.status, StatusCode::UNAUTHORIZED);
    assert!(used.body.contains("has been used"), "{}", used.body);
}

#[tokio::test]
async fn confidential_clients_authenticate_and_may_revoke_and_introspect() {
    let app = TestApp::spawn().await;
    let registered = register(
        &app,
        json!({"displayName": "Contoso Web", "web": {"redirectUris": [CALLBACK]}}),
    )
    .await;
    let (id, client_id) = (
        registered["id"].as_str().expect("id"),
        registered["appId"].as_str().expect("appId").to_string(),
    );
    let secret = app
        .admin
        .post(
            &format!("/v1.0/applications/{id}/addPassword"),
            &json!({"passwordCredential": {"displayName": "prod"}}),
        )
        .await
        .expect("addPassword");
    let secret_text = secret["secretText"]
        .as_str()
        .expect("secretText")
        .to_string();
    assert_eq!(secret["hint"].as_str(), Some(&secret_text[..3]));
    let listed = app
        .admin
        .get(&format!("/v1.0/applications/{id}"))
        .await
        .expect("get");
    assert_eq!(
        listed["passwordCredentials"][0]["secretText"],
        Value::Null,
        "shown once only"
    );

    let user = app.create_user("alice").await;
    let pass = app.issue(&user.upn, json!({})).await;
    let mut browser = Browser::new(&app.base);
    // A web app may skip PKCE.
    let page = browser
        .get(&authorize_url(
            &client_id,
            &[("code_challenge", ""), ("code_challenge_method", "")],
        ))
        .await;
    let back = browser
        .sign_in_with_tap(page, &user.upn, code_of(&pass))
        .await;
    let code = back.param("code").expect("code");
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
    ];
    let mut without_secret = exchange.to_vec();
    without_secret.push(("client_id", &client_id));
    let (status, body) = token_request(&app, &without_secret).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );

    // The code was spent by that attempt; sign in again silently for a new one.
    let code = browser
        .get(&authorize_url(
            &client_id,
            &[("code_challenge", ""), ("code_challenge_method", "")],
        ))
        .await
        .param("code")
        .expect("code");
    let http = reqwest::Client::new();
    let token = |form: Vec<(&'static str, String)>, path: &'static str| {
        let request = http
            .post(format!("{}{path}", app.base))
            .basic_auth(&client_id, Some(&secret_text))
            .form(&form);
        async move {
            let response = request.send().await.expect("request");
            let status = response.status();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, tokens) = token(
        vec![
            ("grant_type", "authorization_code".into()),
            ("code", code),
            ("redirect_uri", CALLBACK.into()),
        ],
        "/oauth2/v2.0/token",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let rt = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let access = tokens["access_token"].as_str().expect("access").to_string();
    let (_, active) = token(vec![("token", rt.clone())], "/oauth2/v2.0/introspect").await;
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], client_id.as_str());
    let (_, active) = token(vec![("token", access.clone())], "/oauth2/v2.0/introspect").await;
    assert_eq!(
        (active["active"].clone(), active["sub"].clone()),
        (json!(true), json!(user.id))
    );
    let (status, _) = token(vec![("token", rt.clone())], "/oauth2/v2.0/revoke").await;
    assert_eq!(status, StatusCode::OK);
    let (_, inactive) = token(vec![("token", rt.clone())], "/oauth2/v2.0/introspect").await;
    assert_eq!(inactive, json!({"active": false}));
    let (status, body) = token(
        vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", rt),
        ],
        "/oauth2/v2.0/token",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // A wrong secret, and introspection without one, are refused.
    let response = http
        .post(format!("{}/oauth2/v2.0/introspect", app.base))
        .basic_auth(&client_id, Some("wrong"))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .expect("introspect");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = http
        .post(format!("{}/oauth2/v2.0/introspect", app.base))
        .form(&[
            ("client_id", client_id.as_str()),
            ("token", access.as_str()),
        ])
        .send()
        .await
        .expect("introspect");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // The secret removed: it no longer authenticates.
    app.admin
        .post(
            &format!("/v1.0/applications/{id}/removePassword"),
            &json!({"keyId": secret["keyId"]}),
        )
        .await
        .expect("removePassword");
    let (status, _) = token(
        vec![("grant_type", "client_credentials".into())],
        "/oauth2/v2.0/token",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn applications_are_managed_by_global_administrators_only() {
    let app = TestApp::spawn().await;
    let created = register(
        &app,
        json!({
            "displayName": "Contoso",
            "web": {"redirectUris": ["https://contoso.example/signin-oidc"]},
            "publicClient": {"redirectUris": ["com.contoso.app:/auth"]},
        }),
    )
    .await;
    let id = created["id"].as_str().expect("id");
    assert_eq!(created["signInAudience"], "AzureADMyOrg");
    assert_eq!(
        created["web"]["redirectUris"],
        json!(["https://contoso.example/signin-oidc"])
    );
    app.admin
        .patch(
            &format!("/v1.0/applications/{id}"),
            &json!({"displayName": "Contoso 2", "spa": {"redirectUris": [CALLBACK]}}),
        )
        .await
        .expect("patch");
    let got = app
        .admin
        .get(&format!("/v1.0/applications/{id}"))
        .await
        .expect("get");
    assert_eq!(got["displayName"], "Contoso 2");
    assert_eq!(got["spa"]["redirectUris"], json!([CALLBACK]));
    assert_eq!(
        got["web"]["redirectUris"],
        json!(["https://contoso.example/signin-oidc"])
    );

    for (body, fragment) in [
        (
            json!({"displayName": "x", "web": {"redirectUris": ["http://contoso.example/cb"]}}),
            "localhost",
        ),
        (
            json!({"displayName": "x", "spa": {"redirectUris": ["https://a.test/cb#f"]}}),
            "fragment",
        ),
        (
            json!({"displayName": "x", "signInAudience": "AzureADMultipleOrgs"}),
            "signInAudience",
        ),
        (
            json!({"displayName": "x", "identifierUris": []}),
            "identifierUris",
        ),
        (json!({"web": {"redirectUris": []}}), "displayName"),
    ] {
        let (status, _, message) = error_of(app.admin.post("/v1.0/applications", &body).await);
        assert_eq!(status, 400, "{body}");
        assert!(message.contains(fragment), "{message}");
    }
    let (status, _, _) = error_of(
        app.admin
            .patch(
                &format!("/v1.0/applications/{id}"),
                &json!({"web": {"redirectUris": ["ftp://x"]}}),
            )
            .await,
    );
    assert_eq!(status, 400);
    assert_eq!(
        app.admin
            .get(&format!("/v1.0/applications/{id}"))
            .await
            .expect("get")["web"],
        got["web"],
        "a refused change changes nothing"
    );

    let (_, reader) = app.signed_in("reader", &[Role::GlobalReader]).await;
    assert_eq!(
        reader.get("/v1.0/applications").await.expect("list")["value"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        status_of(
            reader
                .post("/v1.0/applications", &json!({"displayName": "r"}))
                .await
        ),
        403
    );
    let (_, helpdesk) = app
        .signed_in("helpdesk", &[Role::PrivilegedAuthenticationAdministrator])
        .await;
    assert_eq!(status_of(helpdesk.get("/v1.0/applications").await), 403);
    let script = app.app(&tapd_core::Permission::ALL).await;
    assert_eq!(
        status_of(
            script
                .post(&format!("/v1.0/applications/{id}/addPassword"), &json!({}))
                .await
        ),
        403
    );

    app.admin
        .delete(&format!("/v1.0/applications/{id}"))
        .await
        .expect("delete");
    assert_eq!(
        status_of(app.admin.get(&format!("/v1.0/applications/{id}")).await),
        404
    );
}
