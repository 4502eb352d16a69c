//! Signing in from the CLI: the built-in CLI client, its loopback redirect on any port
//! (RFC 8252 §7.3), the device authorization grant (RFC 8628) with its `/device` page — every
//! error of the polling device, one-time redemption, expiry on the injected clock, denial,
//! throttled user-code guessing — and that what the CLI gets works on Graph with the user's
//! roles, capped at the pass the person signed in with.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tapd_core::{CLI_CLIENT_ID, Role};
use time::Duration;

use crate::browser::{Browser, Page};
use crate::helpers::*;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn cli_id() -> String {
    CLI_CLIENT_ID.to_string()
}

async fn form_post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", app.base))
        .form(form)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.expect("JSON"))
}

async fn start(app: &TestApp, client_id: &str) -> Value {
    let (status, body) = form_post(
        app,
        "/oauth2/v2.0/devicecode",
        &[("client_id", client_id), ("scope", "openid offline_access")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn poll(app: &TestApp, client_id: &str, device_code: &str) -> (StatusCode, Value) {
    form_post(
        app,
        "/oauth2/v2.0/token",
        &[
            ("grant_type", DEVICE_GRANT),
            ("client_id", client_id),
            ("device_code", device_code),
        ],
    )
    .await
}

#[track_caller]
fn refused(answer: &(StatusCode, Value)) -> &str {
    assert_eq!(answer.0, StatusCode::BAD_REQUEST, "{}", answer.1);
    answer.1["error"].as_str().expect("an OAuth error")
}

/// A browser signed in as the bootstrap admin (with the password).
async fn admin_browser(app: &TestApp) -> Browser {
    let mut browser = Browser::new(&app.base);
    let home = browser
        .sign_in_with_password(&app.admin_user.upn, ADMIN_PASSWORD)
        .await;
    assert_eq!(home.status, StatusCode::SEE_OTHER, "{}", home.body);
    browser
}

/// Types `user_code` on `/device`: the confirmation page, or the refusal.
async fn enter(browser: &mut Browser, user_code: &str) -> Page {
    let page = browser.get("/device").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = page.input("csrf");
    browser
        .post("/device", &[("csrf", &csrf), ("user_code", user_code)])
        .await
}

/// Types `user_code`, then approves (or denies) the request it names.
async fn answer(browser: &mut Browser, user_code: &str, approve: bool) -> Page {
    let confirm = enter(browser, user_code).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(confirm.body.contains("tapd CLI"), "{}", confirm.body);
    let path = if approve {
        "/device/approve"
    } else {
        "/device/deny"
    };
    let csrf = confirm.input("csrf");
    let code = confirm.input("user_code");
    browser
        .post(path, &[("csrf", &csrf), ("user_code", &code)])
        .await
}

#[tokio::test]
async fn a_device_polls_until_the_person_approves_and_redeems_its_code_once() {
    let app = TestApp::spawn().await;
    let discovery = app
        .anon
        .get("/.well-known/openid-configuration")
        .await
        .expect("discovery");
    assert!(
        discovery["device_authorization_endpoint"]
            .as_str()
            .expect("device endpoint")
            .ends_with("/oauth2/v2.0/devicecode")
    );
    assert!(
        discovery["grant_types_supported"]
            .as_array()
            .expect("grants")
            .contains(&json!(DEVICE_GRANT))
    );

    let started = start(&app, &cli_id()).await;
    let user_code = started["user_code"]
        .as_str()
        .expect("user code")
        .to_string();
    let device_code = started["device_code"]
        .as_str()
        .expect("device code")
        .to_string();
    assert_eq!(user_code.len(), 9, "{user_code}");
    assert!(
        user_code
            .chars()
            .all(|c| c == '-' || "BCDFGHJKLMNPQRSTVWXZ".contains(c)),
        "{user_code}"
    );
    assert_eq!(
        (started["expires_in"].as_i64(), started["interval"].as_i64()),
        (Some(900), Some(5))
    );
    let uri = started["verification_uri"].as_str().expect("uri");
    assert!(uri.ends_with("/device"), "{uri}");
    assert!(
        started["verification_uri_complete"]
            .as_str()
            .expect("complete")
            .ends_with(&format!("/device?user_code={user_code}"))
    );
    assert!(
        started["message"]
            .as_str()
            .expect("message")
            .contains(&user_code)
    );

    // Pending, then too fast, then pending again after the (grown) interval.
    assert_eq!(
        refused(&poll(&app, &cli_id(), &device_code).await),
        "authorization_pending"
    );
    let fast = poll(&app, &cli_id(), &device_code).await;
    assert_eq!(refused(&fast), "slow_down");
    assert!(
        fast.1["error_description"]
            .as_str()
            .expect("why")
            .contains("10 seconds")
    );
    app.clock.advance(Duration::seconds(10));
    assert_eq!(
        refused(&poll(&app, &cli_id(), &device_code).await),
        "authorization_pending"
    );

    // The person opens the complete URI: asked to sign in first, then the code is filled in.
    let mut browser = Browser::new(&app.base);
    let link = format!("/device?user_code={user_code}");
    let to_signin = browser.get(&link).await;
    assert_eq!(to_signin.status, StatusCode::SEE_OTHER);
    let next = to_signin.location.expect("to sign in");
    assert!(next.starts_with("/signin?next="), "{next}");
    let mut browser = admin_browser(&app).await;
    let filled = browser.get(&link).await;
    assert_eq!(filled.input("user_code"), user_code);
    let done = answer(&mut browser, &user_code.to_lowercase(), true).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Device signed in"), "{}", done.body);

    let (status, tokens) = poll(&app, &cli_id(), &device_code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens["refresh_token"].is_string());
    assert!(tokens["id_token"].is_string());
    let access = tokens["access_token"].as_str().expect("access token");
    let claims = claims(access);
    assert_eq!(claims["azp"], json!(cli_id()));
    assert_eq!(claims["upn"], json!(app.admin_user.upn));
    let graph = app.anon.clone().with_token(access);
    assert!(
        graph.get("/v1.0/users").await.is_ok(),
        "the admin's roles hold"
    );

    // Redeemed once; approving again is refused.
    assert_eq!(
        refused(&poll(&app, &cli_id(), &device_code).await),
        "invalid_grant"
    );
    let audits = app
        .admin
        .get("/v1.0/auditLogs/directoryAudits")
        .await
        .expect("audit");
    assert!(
        audits
            .to_string()
            .contains("User approved a device sign-in"),
        "the approval is audited"
    );
    assert!(!audits.to_string().contains(&user_code), "never the code");
    let again = enter(&mut browser, &user_code).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);

    // The refresh token works for the CLI client.
    let (status, renewed) = form_post(
        &app,
        "/oauth2/v2.0/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &cli_id()),
            (
                "refresh_token",
                tokens["refresh_token"].as_str().expect("rt"),
            ),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
}

#[tokio::test]
async fn denied_expired_unknown_and_foreign_device_codes_are_refused() {
    let app = TestApp::spawn().await;
    let mut browser = admin_browser(&app).await;

    let denied = start(&app, &cli_id()).await;
    let page = answer(
        &mut browser,
        denied["user_code"].as_str().expect("code"),
        false,
    )
    .await;
    assert!(page.body.contains("denied"), "{}", page.body);
    let device_code = denied["device_code"].as_str().expect("code");
    assert_eq!(
        refused(&poll(&app, &cli_id(), device_code).await),
        "access_denied"
    );

    let late = start(&app, &cli_id()).await;
    app.clock.advance(Duration::minutes(15));
    let device_code = late["device_code"].as_str().expect("code");
    assert_eq!(
        refused(&poll(&app, &cli_id(), device_code).await),
        "expired_token"
    );
    let too_late = enter(&mut browser, late["user_code"].as_str().expect("code")).await;
    assert_eq!(
        too_late.status,
        StatusCode::BAD_REQUEST,
        "an expired code can't be approved"
    );

    assert_eq!(
        refused(&poll(&app, &cli_id(), "no-such-code").await),
        "invalid_grant"
    );
    let (status, body) = poll(&app, &cli_id(), "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (status, body) = poll(&app, &uuid::Uuid::new_v4().to_string(), "x").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );

    // A code issued to the CLI is no good to another client.
    let spa = app
        .admin
        .post(
            "/v1.0/applications",
            &json!({"displayName": "Other", "publicClient": {"redirectUris": ["http://127.0.0.1:8400/cb"]}}),
        )
        .await
        .expect("register");
    let other = spa["appId"].as_str().expect("appId");
    let mine = start(&app, &cli_id()).await;
    let device_code = mine["device_code"].as_str().expect("code");
    assert_eq!(
        refused(&poll(&app, other, device_code).await),
        "invalid_grant"
    );

    // No scope, no device code.
    let (status, body) =
        form_post(&app, "/oauth2/v2.0/devicecode", &[("client_id", &cli_id())]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    // A confidential client must authenticate.
    let (confidential, _) = app.register_app(&[]).await;
    let (status, body) = form_post(
        &app,
        "/oauth2/v2.0/devicecode",
        &[("client_id", &confidential), ("scope", "openid")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
}

#[tokio::test]
async fn a_device_code_of_another_tenants_app_is_unknown_to_this_tenants_people() {
    let app = TestApp::spawn().await;
    app.add_tenant("fabrikam.test", "Fabrikam").await;
    let spec = tapd_server::service::apps::AppSpec {
        name: "Fabrikam's device app".into(),
        public_redirect_uris: vec!["http://127.0.0.1:8400/cb".into()],
        ..Default::default()
    };
    let theirs = app.create_app_in(Some("fabrikam.test"), &spec).await;
    let client_id = theirs.client_id.to_string();
    let (status, started) = form_post(
        &app,
        "/fabrikam.test/oauth2/v2.0/devicecode",
        &[("client_id", &client_id), ("scope", "openid")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    // At the default tenant's endpoint the app is unknown.
    let (status, _) = form_post(
        &app,
        "/oauth2/v2.0/devicecode",
        &[("client_id", &client_id), ("scope", "openid")],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The default tenant's admin can't approve it: the code is unknown to them.
    let mut browser = admin_browser(&app).await;
    let page = enter(&mut browser, started["user_code"].as_str().expect("code")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    let device_code = started["device_code"].as_str().expect("code");
    let (status, body) = form_post(
        &app,
        "/fabrikam.test/oauth2/v2.0/token",
        &[
            ("grant_type", DEVICE_GRANT),
            ("client_id", &client_id),
            ("device_code", device_code),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("authorization_pending"))
    );
}

#[tokio::test]
async fn guessing_user_codes_is_throttled_per_person() {
    let app = TestApp::spawn().await;
    let mut browser = admin_browser(&app).await;
    let started = start(&app, &cli_id()).await;
    let user_code = started["user_code"].as_str().expect("code").to_string();
    // A malformed code is not a guess.
    let malformed = enter(&mut browser, "not a code").await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(
        malformed.body.contains("eight-letter"),
        "{}",
        malformed.body
    );
    let wrong = if user_code == "BBBB-BBBB" {
        "CCCC-CCCC"
    } else {
        "BBBB-BBBB"
    };
    for _ in 0..10 {
        let page = enter(&mut browser, wrong).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    }
    let blocked = enter(&mut browser, &user_code).await;
    assert_eq!(
        blocked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        blocked.body
    );
    assert!(
        blocked.body.contains("Too many wrong codes"),
        "{}",
        blocked.body
    );

    // Another person is not held back by the guesser.
    let other = app.create_user("bob").await;
    let mut bob = Browser::new(&app.base);
    let home = bob
        .sign_in_with_password(&other.upn, "correct horse battery")
        .await;
    assert_eq!(home.status, StatusCode::SEE_OTHER, "{}", home.body);
    assert_eq!(enter(&mut bob, &user_code).await.status, StatusCode::OK);

    // After the cool-down, the right code goes through.
    app.clock.advance(Duration::minutes(5));
    let done = answer(&mut browser, &user_code, true).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let device_code = started["device_code"].as_str().expect("code");
    assert_eq!(poll(&app, &cli_id(), device_code).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_device_signed_in_with_a_pass_ends_with_the_pass() {
    let app = TestApp::spawn().await;
    let user = app.create_user("alice").await;
    let pass = app.issue(&user.upn, json!({"lifetimeInMinutes": 60})).await;
    let mut browser = Browser::new(&app.base);
    let page = browser.get("/signin").await;
    let home = browser
        .sign_in_with_tap(page, &user.upn, code_of(&pass))
        .await;
    assert_eq!(home.status, StatusCode::SEE_OTHER, "{}", home.body);

    app.clock.advance(Duration::minutes(50));
    let started = start(&app, &cli_id()).await;
    answer(
        &mut browser,
        started["user_code"].as_str().expect("code"),
        true,
    )
    .await;
    let (status, tokens) = poll(
        &app,
        &cli_id(),
        started["device_code"].as_str().expect("code"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(
        tokens["expires_in"].as_i64().expect("expires_in") <= 600,
        "capped at the pass: {tokens}"
    );
    assert_eq!(
        claims(tokens["access_token"].as_str().expect("at"))["amr"],
        json!(["tap"])
    );
    // At the pass's end, the refresh is refused and says why.
    app.clock.advance(Duration::minutes(10));
    let (status, body) = form_post(
        &app,
        "/oauth2/v2.0/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &cli_id()),
            (
                "refresh_token",
                tokens["refresh_token"].as_str().expect("rt"),
            ),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert!(
        body["error_description"]
            .as_str()
            .expect("why")
            .contains("Temporary Access Pass"),
        "{body}"
    );
}

fn authorize(client_id: &str, redirect_uri: &str) -> String {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", client_id),
            ("response_type", "code"),
            ("redirect_uri", redirect_uri),
            ("scope", "openid profile offline_access"),
            ("state", "st"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    format!("/oauth2/v2.0/authorize?{query}")
}

#[tokio::test]
async fn the_cli_client_comes_back_to_the_loopback_on_any_port_and_only_there() {
    let app = TestApp::spawn().await;
    let user = app.create_user("reader").await;
    let pass = app.issue(&user.upn, json!({})).await;

    // Not signed in yet: the sign-in pages name the CLI, and end at the loopback redirect.
    let mut browser = Browser::new(&app.base);
    let loopback = "http://127.0.0.1:54321/";
    let page = browser.get(&authorize(&cli_id(), loopback)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("tapd CLI"), "{}", page.body);
    let back = browser
        .sign_in_with_tap(page, &user.upn, code_of(&pass))
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    let location = back.location.clone().expect("redirect");
    assert!(location.starts_with(loopback), "{location}");
    assert_eq!(back.param("state").as_deref(), Some("st"));
    let code = back.param("code").expect("code");

    // Any other port, and IPv6's loopback, while signed in: straight back.
    for uri in [
        "http://127.0.0.1:1/",
        "http://127.0.0.1:65535/",
        "http://[::1]:8400/",
    ] {
        let again = browser.get(&authorize(&cli_id(), uri)).await;
        assert_eq!(again.status, StatusCode::SEE_OTHER, "{uri}: {}", again.body);
        assert!(again.location.expect("redirect").starts_with(uri));
    }
    // Not another host, path or scheme; not a name for the loopback.
    for uri in [
        "http://localhost:54321/",
        "http://127.0.0.2:54321/",
        "http://127.0.0.1:54321/elsewhere",
        "https://127.0.0.1:54321/",
        "http://127.0.0.1:54321@evil.test/",
        "https://evil.test/",
    ] {
        let refused = browser.get(&authorize(&cli_id(), uri)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(
            refused.body.contains("is not registered"),
            "{uri}: {}",
            refused.body
        );
    }
    // Not for another client: its loopback URI matches exactly.
    let other = app
        .admin
        .post(
            "/v1.0/applications",
            &json!({"displayName": "Desktop", "publicClient": {"redirectUris": ["http://127.0.0.1:8400/"]}}),
        )
        .await
        .expect("register");
    let other_id = other["appId"].as_str().expect("appId");
    let exact = browser
        .get(&authorize(other_id, "http://127.0.0.1:8400/"))
        .await;
    assert_eq!(exact.status, StatusCode::SEE_OTHER);
    let moved = browser
        .get(&authorize(other_id, "http://127.0.0.1:8401/"))
        .await;
    assert_eq!(moved.status, StatusCode::BAD_REQUEST);

    // The code, with PKCE and the same redirect URI, is a token for Graph with the user's roles.
    let (status, tokens) = form_post(
        &app,
        "/oauth2/v2.0/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &cli_id()),
            ("code", &code),
            ("redirect_uri", loopback),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let graph = app
        .anon
        .clone()
        .with_token(tokens["access_token"].as_str().expect("at"));
    assert_eq!(graph.me().await.expect("me").user_principal_name, user.upn);
    assert_eq!(
        status_of(graph.get(tapd_client::Client::POLICY_PATH).await),
        403,
        "no role, no policy"
    );
    app.admin
        .assign_role(&user.id, Role::GlobalReader.template_id())
        .await
        .expect("assign");
    assert!(
        graph.get(tapd_client::Client::POLICY_PATH).await.is_ok(),
        "roles are read afresh"
    );

    // The built-in client is no registration: not listed, not deletable.
    let listed = app.admin.get("/v1.0/applications").await.expect("list");
    assert!(!listed.to_string().contains(&cli_id()));
    assert_eq!(
        status_of(
            app.admin
                .delete(&format!("/v1.0/applications/{}", cli_id()))
                .await
        ),
        404
    );
    assert_eq!(
        browser.get(&authorize(&cli_id(), loopback)).await.status,
        StatusCode::SEE_OTHER
    );
}
