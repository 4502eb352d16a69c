//! Bad input on every write route gets a Graph error with a 4xx and changes nothing.

use reqwest::Method;
use serde_json::{Value, json};
use tapd_client::{Client, ClientError, Group};

use crate::helpers::TestApp;

/// Everything a write could touch, read back through the API.
async fn snapshot(app: &TestApp, alice: &str) -> Value {
    let get = |path: String| {
        let admin = app.admin.clone();
        async move { admin.get(&path).await.expect("snapshot read") }
    };
    let mut audits = get("/v1.0/auditLogs/directoryAudits?$top=999".into()).await;
    audits.as_object_mut().map(|o| o.remove("@odata.context"));
    json!({
        "users": get("/v1.0/users?$top=999".into()).await["value"],
        "groups": get("/v1.0/groups".into()).await["value"],
        "roles": get("/v1.0/roleManagement/directory/roleAssignments".into()).await["value"],
        "policy": get(Client::POLICY_PATH.into()).await,
        "taps": get(format!("/v1.0/users/{alice}/authentication/temporaryAccessPassMethods")).await["value"],
        "audits": audits["value"].as_array().map(Vec::len),
    })
}

#[track_caller]
fn assert_graph_4xx(result: Result<Value, ClientError>, what: &str) {
    match result {
        Err(ClientError::Api {
            status,
            code,
            message,
        }) => {
            assert!(status.is_client_error(), "{what}: status {status}");
            assert!(
                !code.is_empty() && !message.is_empty(),
                "{what}: Graph envelope, got {code:?} {message:?}"
            );
        }
        other => panic!("{what}: expected a 4xx, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_bodies_on_every_write_route_change_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    app.issue(&alice.upn, json!({})).await;
    let group: Group = app
        .admin
        .post_as("/v1.0/groups", &json!({"displayName": "G"}))
        .await
        .expect("group");
    let gid = group.id;
    let before = snapshot(&app, &alice.id).await;

    let taps = format!(
        "/v1.0/users/{}/authentication/temporaryAccessPassMethods",
        alice.id
    );
    let huge = format!("{{\"displayName\": \"{}\"}}", "x".repeat(1024 * 1024)).into_bytes();
    let garbage: Vec<(&str, Vec<u8>)> = vec![
        ("malformed JSON", b"{\"displayName\": ".to_vec()),
        ("not an object", b"[1, 2, 3]".to_vec()),
        ("a string", b"\"hello\"".to_vec()),
        ("1 MiB", huge),
    ];
    let write_routes: Vec<(Method, String)> = vec![
        (Method::POST, "/v1.0/users".into()),
        (Method::PATCH, format!("/v1.0/users/{}", alice.id)),
        (Method::POST, "/v1.0/groups".into()),
        (Method::POST, format!("/v1.0/groups/{gid}/members/$ref")),
        (
            Method::POST,
            "/v1.0/roleManagement/directory/roleAssignments".into(),
        ),
        (Method::PATCH, Client::POLICY_PATH.into()),
        (Method::POST, taps.clone()),
        (Method::POST, "/v1.0/invitations".into()),
    ];
    for (method, path) in &write_routes {
        for (what, body) in &garbage {
            let result = app
                .admin
                .request_raw(method.clone(), path, body.clone())
                .await;
            assert_graph_4xx(result, &format!("{method} {path} with {what}"));
        }
    }

    // Typed mistakes: wrong types, missing and unknown fields, out-of-range numbers, unknown ids.
    let cases: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            "/v1.0/users".into(),
            json!({"displayName": "Bob"}),
        ),
        (
            Method::POST,
            "/v1.0/users".into(),
            json!({"displayName": 5, "userPrincipalName": "bob@tapd.test"}),
        ),
        (
            Method::POST,
            "/v1.0/users".into(),
            json!({"displayName": "Bob", "userPrincipalName": "bob@tapd.test", "favouriteColour": "red"}),
        ),
        (
            Method::POST,
            "/v1.0/users".into(),
            json!({"displayName": "Bob", "userPrincipalName": "bob@elsewhere.example"}),
        ),
        (
            Method::POST,
            "/v1.0/users".into(),
            json!({"displayName": "Bob", "userPrincipalName": "bob@tapd.test", "passwordProfile": {"password": "short"}}),
        ),
        (
            Method::POST,
            "/v1.0/users".into(),
            json!({"displayName": "Dup", "userPrincipalName": alice.upn.to_uppercase()}),
        ),
        (
            Method::POST,
            "/v1.0/users".into(),
            json!({"displayName": "Bob", "userPrincipalName": "bob@tapd.test", "userType": "Alien"}),
        ),
        (
            Method::PATCH,
            format!("/v1.0/users/{}", alice.id),
            json!({"accountEnabled": "no"}),
        ),
        (
            Method::PATCH,
            format!("/v1.0/users/{}", alice.id),
            json!({"displayName": ""}),
        ),
        (
            Method::PATCH,
            format!("/v1.0/users/{}", alice.id),
            json!({"shoeSize": 44}),
        ),
        (
            Method::PATCH,
            "/v1.0/users/ghost@tapd.test".into(),
            json!({"displayName": "Ghost"}),
        ),
        (
            Method::DELETE,
            "/v1.0/users/ghost@tapd.test".into(),
            Value::Null,
        ),
        (Method::POST, "/v1.0/groups".into(), json!({})),
        (
            Method::POST,
            "/v1.0/groups".into(),
            json!({"displayName": ["G"]}),
        ),
        (
            Method::POST,
            format!("/v1.0/groups/{gid}/members/$ref"),
            json!({"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/00000000-0000-0000-0000-000000000000"}),
        ),
        (
            Method::POST,
            format!("/v1.0/groups/{gid}/members/$ref"),
            json!({"id": alice.id}),
        ),
        (
            Method::POST,
            "/v1.0/groups/00000000-0000-0000-0000-000000000000/members/$ref".into(),
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", alice.id)}),
        ),
        (
            Method::DELETE,
            "/v1.0/groups/not-a-guid".into(),
            Value::Null,
        ),
        (
            Method::POST,
            "/v1.0/roleManagement/directory/roleAssignments".into(),
            json!({"principalId": alice.id, "roleDefinitionId": "00000000-0000-0000-0000-000000000000", "directoryScopeId": "/"}),
        ),
        (
            Method::POST,
            "/v1.0/roleManagement/directory/roleAssignments".into(),
            json!({"principalId": "00000000-0000-0000-0000-000000000000", "roleDefinitionId": "62e90394-69f5-4237-9190-012177145e10"}),
        ),
        (
            Method::POST,
            "/v1.0/roleManagement/directory/roleAssignments".into(),
            json!({"principalId": alice.id, "roleDefinitionId": "62e90394-69f5-4237-9190-012177145e10", "directoryScopeId": "/administrativeUnits/x"}),
        ),
        (
            Method::POST,
            "/v1.0/roleManagement/directory/roleAssignments".into(),
            json!({"roleDefinitionId": "62e90394-69f5-4237-9190-012177145e10"}),
        ),
        (
            Method::DELETE,
            "/v1.0/roleManagement/directory/roleAssignments/00000000-0000-0000-0000-000000000000"
                .into(),
            Value::Null,
        ),
        (
            Method::PATCH,
            Client::POLICY_PATH.into(),
            json!({"minimumLifetimeInMinutes": 9}),
        ),
        (
            Method::PATCH,
            Client::POLICY_PATH.into(),
            json!({"maximumLifetimeInMinutes": 4294967296u64}),
        ),
        (
            Method::PATCH,
            Client::POLICY_PATH.into(),
            json!({"defaultLength": 8.5}),
        ),
        (
            Method::PATCH,
            Client::POLICY_PATH.into(),
            json!({"includeTargets": "all_users"}),
        ),
        (
            Method::PATCH,
            Client::POLICY_PATH.into(),
            json!({"includeTargets": [{"targetType": "robot", "id": "all_users"}]}),
        ),
        (
            Method::PATCH,
            Client::POLICY_PATH.into(),
            json!({"excludeTargets": [{"targetType": "user", "id": "00000000-0000-0000-0000-000000000000"}]}),
        ),
        (
            Method::POST,
            taps.clone(),
            json!({"lifetimeInMinutes": "sixty"}),
        ),
        (
            Method::POST,
            taps.clone(),
            json!({"lifetimeInMinutes": 43201}),
        ),
        (
            Method::POST,
            taps.clone(),
            json!({"lifetimeInMinutes": 1e10}),
        ),
        (
            Method::POST,
            taps.clone(),
            json!({"startDateTime": "tomorrow"}),
        ),
        (Method::POST, taps.clone(), json!({"isUsableOnce": 1})),
        (
            Method::POST,
            taps.clone(),
            json!({"temporaryAccessPass": "MyOwnCode"}),
        ),
        (
            Method::POST,
            "/v1.0/users/ghost@tapd.test/authentication/temporaryAccessPassMethods".into(),
            json!({}),
        ),
        (
            Method::DELETE,
            format!("{taps}/00000000-0000-0000-0000-000000000000"),
            Value::Null,
        ),
        (Method::DELETE, format!("{taps}/not-a-guid"), Value::Null),
        (
            Method::POST,
            "/v1.0/invitations".into(),
            json!({"invitedUserEmailAddress": "not-an-email", "inviteRedirectUrl": "https://x.example"}),
        ),
        (
            Method::POST,
            "/v1.0/invitations".into(),
            json!({"invitedUserEmailAddress": "a@b.example"}),
        ),
    ];
    for (method, path, body) in &cases {
        let body = (!body.is_null()).then_some(body);
        let result = app.admin.request(method.clone(), path, body).await;
        assert_graph_4xx(result, &format!("{method} {path} {body:?}"));
    }
    assert_eq!(
        snapshot(&app, &alice.id).await,
        before,
        "no bad request changed anything"
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_graph_shape() {
    let app = TestApp::spawn().await;
    assert_graph_4xx(app.admin.get("/v1.0/nothingHere").await, "unknown route");
    assert_graph_4xx(
        app.admin.request(Method::PUT, "/v1.0/users", None).await,
        "wrong method",
    );
    assert_graph_4xx(app.admin.get("/v1.0/users?$top=0").await, "bad $top");
    assert_graph_4xx(
        app.admin
            .get("/v1.0/users?$filter=favoriteColor%20eq%20'x'")
            .await,
        "unsupported filter",
    );
    assert_graph_4xx(
        app.anon
            .request_raw(Method::POST, "/api/signin/tap", b"{".to_vec())
            .await,
        "sign-in garbage",
    );
}
