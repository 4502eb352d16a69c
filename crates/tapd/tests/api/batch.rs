//! `POST /v1.0/$batch` (Graph's JSON batching): each request run as the caller, `dependsOn`,
//! 424 after a failed dependency, and a malformed batch refused whole.

use reqwest::Method;
use serde_json::{Value, json};
use tapd_client::Client;
use tapd_core::{Permission, Role};

use crate::helpers::{TestApp, error_of};

const BATCH: &str = "/v1.0/$batch";

fn get(id: &str, url: &str) -> Value {
    json!({"id": id, "method": "GET", "url": url})
}

fn issue(id: &str, upn: &str) -> Value {
    json!({
        "id": id,
        "method": "POST",
        "url": format!("/users/{upn}/authentication/temporaryAccessPassMethods"),
        "headers": {"Content-Type": "application/json"},
        "body": {"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod", "lifetimeInMinutes": 60},
    })
}

async fn send(client: &Client, requests: Vec<Value>) -> Vec<Value> {
    let answer = client
        .post(BATCH, &json!({ "requests": requests }))
        .await
        .expect("the batch is answered 200");
    answer["responses"].as_array().expect("responses").to_vec()
}

/// The answer to request `id`.
fn answer<'a>(responses: &'a [Value], id: &str) -> &'a Value {
    responses
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no answer for {id}: {responses:?}"))
}

fn status(responses: &[Value], id: &str) -> u64 {
    answer(responses, id)["status"].as_u64().expect("status")
}

#[tokio::test]
async fn three_pass_creations_in_one_batch() {
    let app = TestApp::spawn().await;
    let users = [
        app.create_user("b1").await,
        app.create_user("b2").await,
        app.create_user("b3").await,
    ];
    let requests = users
        .iter()
        .enumerate()
        .map(|(i, u)| issue(&(i + 1).to_string(), &u.upn))
        .collect();
    let responses = send(&app.admin, requests).await;
    let ids: Vec<&str> = responses
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1", "2", "3"], "answered in the order sent");
    for (i, user) in users.iter().enumerate() {
        let r = answer(&responses, &(i + 1).to_string());
        assert_eq!(r["status"], 201, "{r}");
        assert!(
            r["headers"]["Content-Type"]
                .as_str()
                .is_some_and(|c| c.starts_with("application/json")),
            "{r}"
        );
        let code = r["body"]["temporaryAccessPass"].as_str().expect("the code");
        assert_eq!(code.len(), 8);
        assert_eq!(r["body"]["lifetimeInMinutes"], 60);
        let held = app.admin.list_taps(&user.upn).await.expect("list");
        assert_eq!(held.value.len(), 1);
        assert_eq!(json!(held.value[0].id), r["body"]["id"]);
        let session = app.anon.sign_in_tap(&user.upn, code).await;
        assert!(session.is_ok(), "the batch's code signs in");
    }
}

#[tokio::test]
async fn relative_urls_in_every_form_and_non_json_answers() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let responses = send(
        &app.admin,
        vec![
            get("slash", "/me"),
            get("bare", "users?$top=1"),
            get(
                "filter",
                &format!("/users?$filter=userPrincipalName eq '{}'", alice.upn),
            ),
            get("unknown", "/nothing/here"),
            // Microsoft's Python SDK sends absolute URLs under the server's own base.
            get("own", &format!("{}/v1.0/me", app.base)),
            json!({"id": "method", "method": "PUT", "url": "/me"}),
            json!({"id": "empty", "method": "DELETE", "url": format!("/users/{}", alice.id)}),
        ],
    )
    .await;
    assert_eq!(
        answer(&responses, "slash")["body"]["id"],
        json!(app.admin_user.id)
    );
    assert_eq!(
        answer(&responses, "own")["body"]["id"],
        json!(app.admin_user.id)
    );
    let bare = answer(&responses, "bare");
    assert_eq!(
        bare["body"]["value"].as_array().map(Vec::len),
        Some(1),
        "{bare}"
    );
    assert!(bare["body"]["@odata.nextLink"].is_string(), "{bare}");
    let found = &answer(&responses, "filter")["body"]["value"];
    assert_eq!(found[0]["userPrincipalName"], json!(alice.upn), "{found}");
    let unknown = answer(&responses, "unknown");
    assert_eq!(unknown["status"], 404);
    assert_eq!(
        unknown["body"]["error"]["code"], "itemNotFound",
        "{unknown}"
    );
    assert!(unknown["body"]["error"]["innerError"]["request-id"].is_string());
    let method = answer(&responses, "method");
    assert_eq!(method["status"], 405);
    assert!(method["body"]["error"]["message"].is_string(), "{method}");
    let empty = answer(&responses, "empty");
    assert_eq!(empty["status"], 204);
    assert!(empty.get("body").is_none(), "no body for a 204: {empty}");
}

#[tokio::test]
async fn each_request_is_authorized_as_the_caller() {
    let app = TestApp::spawn().await;
    let member = app.create_user("member").await;
    let reader = app.app(&[Permission::UserReadAll]).await;
    let responses = send(
        &reader,
        vec![
            get("users", "/users"),
            get("roles", "/roleManagement/directory/roleAssignments"),
            issue("pass", &member.upn),
            json!({"id": "forged", "method": "GET", "url": "/roleManagement/directory/roleDefinitions",
                   "headers": {"Authorization": format!("Bearer {}", app.admin.token().unwrap())}}),
        ],
    )
    .await;
    assert_eq!(status(&responses, "users"), 200);
    for id in ["roles", "pass", "forged"] {
        let r = answer(&responses, id);
        assert_eq!(r["status"], 403, "{r}");
        assert_eq!(r["body"]["error"]["code"], "accessDenied", "{r}");
    }
    assert!(
        app.admin
            .list_taps(&member.upn)
            .await
            .unwrap()
            .value
            .is_empty()
    );
    // A signed-in helpdesk user: its role reaches members, not itself.
    let (me, helpdesk) = app
        .signed_in("helpdesk", &[Role::AuthenticationAdministrator])
        .await;
    let responses = send(
        &helpdesk,
        vec![issue("member", &member.upn), issue("self", &me.upn)],
    )
    .await;
    assert_eq!(status(&responses, "member"), 201);
    assert_eq!(status(&responses, "self"), 403);
}

#[tokio::test]
async fn depends_on_orders_requests_and_a_failed_dependency_is_424() {
    let app = TestApp::spawn().await;
    let new_user = |id: &str, alias: &str, depends: &[&str]| {
        json!({"id": id, "method": "POST", "url": "/users", "dependsOn": depends,
               "headers": {"Content-Type": "application/json"},
               "body": {"displayName": alias, "accountEnabled": true,
                        "userPrincipalName": TestApp::upn(alias)}})
    };
    let read_back = |id: &str, alias: &str, depends: &[&str]| {
        let mut r = get(id, &format!("/users/{}", TestApp::upn(alias)));
        r["dependsOn"] = json!(depends);
        r
    };
    let responses = send(
        &app.admin,
        vec![
            // Sent before what it depends on: it still runs after it.
            read_back("read", "dora", &["create"]),
            new_user("create", "dora", &[]),
            get("fails", "/users/ghost@tapd.test"),
            new_user("skipped", "never", &["fails"]),
            read_back("skipped-too", "never", &["skipped"]),
        ],
    )
    .await;
    assert_eq!(status(&responses, "create"), 201);
    assert_eq!(status(&responses, "read"), 200, "{responses:?}");
    assert_eq!(status(&responses, "fails"), 404);
    for id in ["skipped", "skipped-too"] {
        let r = answer(&responses, id);
        assert_eq!(r["status"], 424, "{r}");
        assert!(
            r["body"]["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not run"),
            "{r}"
        );
    }
    let never = app
        .admin
        .get(&format!("/v1.0/users/{}", TestApp::upn("never")))
        .await;
    assert_eq!(
        error_of(never).0,
        404,
        "a request after a failed dependency does not run"
    );
}

#[tokio::test]
async fn the_python_sdks_depends_on_and_base64_bodies_are_understood() {
    let app = TestApp::spawn().await;
    let bob = app.create_user("bob").await;
    let url = format!(
        "/users/{}/authentication/temporaryAccessPassMethods",
        bob.upn
    );
    let responses = send(
        &app.admin,
        vec![
            json!({"id": "1", "method": "POST", "url": url, "depends_on": [],
                   "headers": {"content-type": "application/json"}, "body": "e30="}),
            json!({"id": "2", "method": "GET", "url": url, "depends_on": ["1"]}),
        ],
    )
    .await;
    assert_eq!(status(&responses, "1"), 201, "{responses:?}");
    assert_eq!(
        answer(&responses, "2")["body"]["value"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn a_malformed_batch_is_refused_whole_and_nothing_runs() {
    let app = TestApp::spawn().await;
    let creates = json!({"id": "create", "method": "POST", "url": "/users",
        "body": {"displayName": "X", "accountEnabled": true, "userPrincipalName": TestApp::upn("x")}});
    let many: Vec<Value> = (0..21).map(|i| get(&i.to_string(), "/me")).collect();
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "requests": many }), "at most 20"),
        (json!({"requests": []}), "no requests"),
        (json!({}), "requests"),
        (
            json!({"requests": [creates, get("CREATE", "/me")]}),
            "more than one request",
        ),
        (
            json!({"requests": [creates, {"id": "2", "method": "GET", "url": "/me", "dependsOn": ["3"]}]}),
            "depends on '3'",
        ),
        (
            json!({"requests": [creates, get("2", "https://graph.microsoft.com/v1.0/me")]}),
            "another server",
        ),
        (
            json!({"requests": [creates, get("2", "/$batch")]}),
            "$batch",
        ),
        (
            json!({"requests": [creates, {"id": "2", "method": "TRACE", "url": "/me"}]}),
            "TRACE",
        ),
        (
            json!({"requests": [creates, {"id": "2", "method": "GET", "url": "/me", "dependsOn": ["2"]}]}),
            "cycle",
        ),
        (
            json!({"requests": [creates, {"id": "2", "method": "GET", "url": "/me", "headers": {"a b": "c"}}]}),
            "header",
        ),
        (
            json!({"requests": [creates, {"id": "2", "method": "GET", "url": "/me", "body": "@@@"}]}),
            "base64",
        ),
    ];
    for (body, says) in cases {
        let (status, code, message) = error_of(app.admin.post(BATCH, &body).await);
        assert_eq!((status, code.as_str()), (400, "badRequest"), "{body}");
        assert!(message.contains(says), "{message} should say {says}");
    }
    let created = app
        .admin
        .get(&format!("/v1.0/users/{}", TestApp::upn("x")))
        .await;
    assert_eq!(
        error_of(created).0,
        404,
        "no request of a refused batch ran"
    );
    let too_big = vec![b' '; 70 * 1024];
    let (status, code, _) = error_of(app.admin.request_raw(Method::POST, BATCH, too_big).await);
    assert_eq!((status, code.as_str()), (413, "badRequest"));
    let (status, _, _) = error_of(
        app.admin
            .request_raw(Method::POST, BATCH, b"[1".to_vec())
            .await,
    );
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_batch_route_needs_a_token_and_takes_only_post() {
    let app = TestApp::spawn().await;
    let body = json!({"requests": [get("1", "/me")]});
    let (status, code, _) = error_of(app.anon.post(BATCH, &body).await);
    assert_eq!((status, code.as_str()), (401, "unauthenticated"));
    let bad = app.anon.clone().with_token("not-a-token");
    assert_eq!(error_of(bad.post(BATCH, &body).await).0, 401);
    let (status, code, _) = error_of(app.admin.get(BATCH).await);
    assert_eq!((status, code.as_str()), (405, "badRequest"));
}
