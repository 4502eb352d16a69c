//! Limits on guessing: a run of wrong passwords pauses an account's password sign-in, a run of
//! wrong secrets pauses a client at the token endpoint (both counted in the database, with the
//! clock moved instead of waiting); and the client address behind a trusted reverse proxy.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tapd_core::{CLIENT_THROTTLE, PASSWORD_THROTTLE, Permission};
use tapd_server::http::client_addr::TrustedProxies;
use tapd_store::Subject;
use time::Duration;
use uuid::Uuid;

use crate::helpers::*;

const PASSWORD: &str = "correct horse battery";

/// Counts `n` earlier failures of `subject` at the database, as other replicas would have.
async fn earlier_failures(app: &TestApp, subject: Subject, n: u32) {
    for _ in 0..n {
        app.store
            .record_failure(subject, app.clock_now())
            .await
            .expect("count a failure");
    }
}

#[tokio::test]
async fn a_hundred_wrong_passwords_pause_password_sign_in_until_the_cool_down_and_say_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let subject = Subject::Account(alice.id.parse::<Uuid>().expect("id"));
    earlier_failures(&app, subject, PASSWORD_THROTTLE.limit - 1).await;
    let wrong = app.anon.sign_in_password(&alice.upn, "wrong").await;
    let (status, code, message) = error_of(wrong);
    assert_eq!((status, code.as_str()), (401, "unauthenticated"));
    let run = app.store.failure_run(subject).await.expect("read");
    assert_eq!(run.map(|r| r.failures), Some(PASSWORD_THROTTLE.limit));

    // Paused: even the right password is refused, in the words of an unknown user.
    let paused = error_of(app.anon.sign_in_password(&alice.upn, PASSWORD).await);
    let unknown = error_of(
        app.anon
            .sign_in_password("nobody@tapd.test", PASSWORD)
            .await,
    );
    assert_eq!(paused, (status, code.clone(), message.clone()));
    assert_eq!(unknown, (status, code, message));
    let run = app.store.failure_run(subject).await.expect("read");
    assert_eq!(
        run.map(|r| r.failures),
        Some(PASSWORD_THROTTLE.limit),
        "a paused attempt checked nothing and is no guess"
    );

    app.clock.advance(PASSWORD_THROTTLE.cool_down);
    app.anon
        .sign_in_password(&alice.upn, PASSWORD)
        .await
        .expect("after the cool-down the right password signs in");
    let run = app.store.failure_run(subject).await.expect("read");
    assert_eq!(run, None, "a success ends the run");
}

#[tokio::test]
async fn beyond_the_limit_each_wrong_password_starts_another_cool_down_and_an_admin_ends_it() {
    let mut app = TestApp::spawn().await;
    let bob = app.create_user("bob").await;
    let subject = Subject::Account(bob.id.parse::<Uuid>().expect("id"));
    earlier_failures(&app, subject, PASSWORD_THROTTLE.limit).await;
    app.clock.advance(PASSWORD_THROTTLE.cool_down);
    let wrong = app.anon.sign_in_password(&bob.upn, "still wrong").await;
    assert_eq!(status_of(wrong), 401);
    app.clock.advance(Duration::minutes(30));
    let refused = app.anon.sign_in_password(&bob.upn, PASSWORD).await;
    assert_eq!(status_of(refused), 401, "paused again by the last failure");

    app.renew_admin().await;
    let path = format!("/v1.0/users/{}", bob.id);
    let body = json!({"passwordProfile": {"password": "a brand new password"}});
    app.admin
        .patch(&path, &body)
        .await
        .expect("admin sets a password");
    assert_eq!(app.store.failure_run(subject).await.expect("read"), None);
    app.anon
        .sign_in_password(&bob.upn, "a brand new password")
        .await
        .expect("the new password signs in at once");
}

/// A client-credentials request with `secret`: its status, `Retry-After` and body.
async fn client_credentials(
    app: &TestApp,
    client_id: &str,
    secret: &str,
) -> (StatusCode, Option<String>, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/v2.0/token", app.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("token endpoint");
    let status = response.status();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().expect("ascii").to_string());
    (status, retry, response.json().await.expect("JSON"))
}

#[tokio::test]
async fn a_run_of_wrong_client_secrets_is_answered_429_with_retry_after_until_it_cools_down() {
    let app = TestApp::spawn().await;
    let (client_id, secret) = app.register_app(&[Permission::PolicyReadAll]).await;
    let subject = Subject::Client(client_id.parse::<Uuid>().expect("client id"));
    earlier_failures(&app, subject, CLIENT_THROTTLE.limit - 1).await;
    let (status, _, body) = client_credentials(&app, &client_id, "wrong").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );

    let (status, retry, body) = client_credentials(&app, &client_id, &secret).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"], "slow_down");
    assert_eq!(retry.as_deref(), Some("60"), "the whole cool-down is left");
    app.clock.advance(Duration::seconds(45));
    let (status, retry, _) = client_credentials(&app, &client_id, &secret).await;
    assert_eq!(
        (status, retry.as_deref()),
        (StatusCode::TOO_MANY_REQUESTS, Some("15"))
    );

    app.clock.advance(Duration::seconds(15));
    let (status, _, body) = client_credentials(&app, &client_id, &secret).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.store.failure_run(subject).await.expect("read"), None);
    // An unknown client is refused as before, never throttled in another's name.
    let unknown = Uuid::new_v4().to_string();
    let (status, _, _) = client_credentials(&app, &unknown, "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Asks `/api/signin/start` from behind a proxy that says it forwards for `client`.
async fn start_for(base: &str, client: &str) -> StatusCode {
    reqwest::Client::new()
        .post(format!("{base}/api/signin/start"))
        .header("X-Forwarded-For", format!("{client}, 10.9.8.7"))
        .json(&json!({"username": "nobody@tapd.test"}))
        .send()
        .await
        .expect("start")
        .status()
}

#[tokio::test]
async fn forwarding_headers_are_believed_only_from_trusted_proxies_for_limits_and_audit() {
    let trusted = TestApp::spawn_with(|c| {
        c.trusted_proxies = TrustedProxies::parse(&["127.0.0.0/8", "10.0.0.0/8"]).expect("cidr");
        c.signin_rate_per_sec = 1;
    })
    .await;
    let plain = TestApp::spawn_with(|c| c.signin_rate_per_sec = 1).await;
    for (app, expected) in [(&trusted, "198.51.100.4"), (&plain, "127.0.0.1")] {
        let response = reqwest::Client::new()
            .post(format!("{}/api/signin/password", app.base))
            .header("Forwarded", "for=192.0.2.1, for=198.51.100.4;proto=https")
            .json(&json!({"username": "nobody@tapd.test", "password": "x"}))
            .send()
            .await
            .expect("sign-in");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let sign_ins = app
            .admin
            .get("/v1.0/auditLogs/signIns?$top=999")
            .await
            .expect("sign-ins");
        let entry = (sign_ins["value"].as_array().expect("list").iter())
            .find(|s| s["userPrincipalName"] == "nobody@tapd.test")
            .cloned()
            .expect("the attempt is audited");
        assert_eq!(entry["ipAddress"], expected, "{entry}");
    }
    for (app, other_client) in [
        (&trusted, StatusCode::OK),
        (&plain, StatusCode::TOO_MANY_REQUESTS),
    ] {
        while start_for(&app.base, "203.0.113.1").await == StatusCode::OK {}
        // Behind a trusted proxy each client has its own bucket; an untrusted peer can't
        // pick one by naming another client.
        assert_eq!(start_for(&app.base, "203.0.113.2").await, other_client);
    }
}

#[tokio::test]
async fn a_long_uri_is_refused_in_its_edges_shape() {
    let app = TestApp::spawn().await;
    let long = "a".repeat(20 * 1024);
    let http = reqwest::Client::new();
    let api = http
        .get(format!("{}/v1.0/users?x={long}", app.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(api.status(), StatusCode::URI_TOO_LONG);
    let body: Value = api.json().await.expect("the Graph envelope");
    assert_eq!(body["error"]["code"], "badRequest", "{body}");
    assert!(
        body["error"]["innerError"]["request-id"].is_string(),
        "{body}"
    );
    let page = http
        .get(format!("{}/signin?x={long}", app.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(page.status(), StatusCode::URI_TOO_LONG);
    let content_type = page.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(content_type.starts_with("text/html"), "{content_type}");
}
