//! Input from the edges of the supported range and malformed requests: refused in their edge's
//! shape, nothing panics, nothing half-written; and the headers every answer carries.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn dates_beyond_the_supported_range_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let taps = format!(
        "/v1.0/users/{}/authentication/temporaryAccessPassMethods",
        alice.id
    );
    for start in [
        "9999-12-31T23:59:59-23:59",
        "9999-12-31T22:00:00Z",
        "1969-01-01T00:00:00Z",
    ] {
        let (status, code, message) = error_of(
            app.admin
                .post(&taps, &json!({"startDateTime": start}))
                .await,
        );
        assert_eq!((status, code.as_str()), (400, "badRequest"), "{start}");
        assert!(message.contains("between 1970"), "{start}: {message}");
    }
    let listed = app
        .admin
        .get(&taps)
        .await
        .expect("the user's passes read back");
    assert_eq!(listed["value"], json!([]), "nothing was stored");
    let page = app
        .admin
        .get(&format!("/v1.0/users/{}/authentication/methods", alice.id))
        .await;
    assert!(page.is_ok(), "the user's methods still read: {page:?}");

    let created = app
        .admin
        .post("/v1.0/applications", &json!({"displayName": "dated"}))
        .await
        .expect("application");
    let id = created["id"].as_str().expect("id").to_string();
    for credential in [
        json!({"endDateTime": "9999-12-31T23:59:59-23:59"}),
        json!({"startDateTime": "9999-12-31T23:59:59-23:59"}),
    ] {
        let body = json!({"passwordCredential": credential});
        let path = format!("/v1.0/applications/{id}/addPassword");
        let (status, _, message) = error_of(app.admin.post(&path, &body).await);
        assert_eq!(status, 400, "{message}");
    }
    let app_read = app
        .admin
        .get(&format!("/v1.0/applications/{id}"))
        .await
        .expect("reads");
    assert_eq!(
        app_read["passwordCredentials"],
        json!([]),
        "no secret was stored"
    );
    app.admin
        .get("/v1.0/applications")
        .await
        .expect("the list still reads");
}

async fn raw(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    accept: &str,
) -> reqwest::Response {
    reqwest::Client::new()
        .request(method, format!("{}{path}", app.base))
        .header("accept", accept)
        .send()
        .await
        .expect("request")
}

fn content_type(r: &reqwest::Response) -> String {
    r.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn malformed_requests_are_answered_in_their_edges_shape() {
    let app = TestApp::spawn().await;
    // A path id that is not UTF-8, with no token: the API's envelope.
    let r = raw(
        &app,
        reqwest::Method::GET,
        "/v1.0/users/%ff%fe/authentication/methods",
        "*/*",
    )
    .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    assert!(
        content_type(&r).starts_with("application/json"),
        "{}",
        content_type(&r)
    );
    let body: Value = r.json().await.expect("json");
    assert!(
        body["error"]["code"].is_string() && body["error"]["message"].is_string(),
        "{body}"
    );
    assert!(
        body["error"]["innerError"]["request-id"].is_string(),
        "{body}"
    );

    // A sign-in form without its fields: an HTML page, not axum's plain text.
    let r = reqwest::Client::new()
        .post(format!("{}/signin/tap", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=alice")
        .send()
        .await
        .expect("post");
    assert!(r.status().is_client_error(), "{}", r.status());
    assert!(
        content_type(&r).starts_with("text/html"),
        "{}",
        content_type(&r)
    );
    let page = r.text().await.expect("text");
    assert!(page.contains("id=\"message\""), "{page}");

    // Unknown routes: HTML for pages, JSON for the API.
    let r = raw(&app, reqwest::Method::GET, "/no-such-page", "text/html").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(
        content_type(&r).starts_with("text/html"),
        "{}",
        content_type(&r)
    );
    let r = raw(&app, reqwest::Method::GET, "/v1.0/no-such-thing", "*/*").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "itemNotFound");
    let r = raw(&app, reqwest::Method::PUT, "/v1.0/users", "*/*").await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "badRequest");
}

#[tokio::test]
async fn answers_with_secrets_are_never_cached_and_all_say_nosniff() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let pass = app.issue(&alice.upn, json!({})).await;
    let r = reqwest::Client::new()
        .post(format!("{}/api/signin/tap", app.base))
        .json(&json!({"username": alice.upn, "code": code_of(&pass)}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let r = raw(&app, reqwest::Method::GET, "/v1.0/me", "*/*").await;
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["cache-control"], "no-store");
    // Discovery stays cacheable.
    let r = raw(
        &app,
        reqwest::Method::GET,
        "/.well-known/openid-configuration",
        "*/*",
    )
    .await;
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .expect("ascii")
            .contains("max-age")
    );
}

#[tokio::test]
async fn too_many_requests_say_when_to_retry() {
    let app = TestApp::spawn_with(|c| c.signin_rate_per_sec = 1).await;
    let mut limited = None;
    for _ in 0..40 {
        let r = reqwest::Client::new()
            .post(format!("{}/api/signin/start", app.base))
            .json(&json!({"username": "nobody@tapd.test"}))
            .send()
            .await
            .expect("start");
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("the limit answers 429 within 40 attempts");
    assert_eq!(r.headers()["retry-after"], "1");
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "tooManyRequests");
}
