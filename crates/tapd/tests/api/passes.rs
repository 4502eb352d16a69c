//! SPEC §5: issuing, reading and deleting a pass, and its usability over time.

use serde_json::json;
use tapd_client::Client;
use time::Duration;

use crate::helpers::{TestApp, code_of, error_of, parse_time, t0};

#[tokio::test]
async fn issue_shows_the_code_once_then_never() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let pass = app
        .issue(
            &alice.upn,
            json!({"isUsableOnce": true, "lifetimeInMinutes": 90}),
        )
        .await;
    let code = pass["temporaryAccessPass"]
        .as_str()
        .expect("the code, once");
    assert_eq!(code.chars().count(), 8, "the policy's default length");
    assert_eq!(
        pass["@odata.type"],
        "#microsoft.graph.temporaryAccessPassAuthenticationMethod"
    );
    assert_eq!(pass["lifetimeInMinutes"], 90);
    assert_eq!(pass["isUsableOnce"], true);
    assert_eq!(pass["isUsable"], true);
    assert_eq!(pass["methodUsabilityReason"], "EnabledByPolicy");
    assert_eq!(parse_time(&pass["startDateTime"]), t0());
    let id = pass["id"].as_str().expect("id");

    let list = app.admin.list_taps(&alice.upn).await.expect("list");
    assert_eq!(list["value"].as_array().expect("array").len(), 1);
    assert!(list["value"][0]["temporaryAccessPass"].is_null());
    let by_id = app.admin.list_taps(&alice.id).await.expect("list by id");
    assert_eq!(by_id["value"], list["value"]);
    let one = app
        .admin
        .get(&format!(
            "/v1.0/users/{}/authentication/temporaryAccessPassMethods/{id}",
            alice.id
        ))
        .await
        .expect("get");
    assert!(one["temporaryAccessPass"].is_null());
    assert_eq!(one["id"], id);

    let methods = app
        .admin
        .get(&format!("/v1.0/users/{}/authentication/methods", alice.id))
        .await
        .expect("methods");
    let types: Vec<_> = methods["value"]
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m["@odata.type"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        types,
        [
            "#microsoft.graph.passwordAuthenticationMethod",
            "#microsoft.graph.temporaryAccessPassAuthenticationMethod"
        ]
    );
    assert!(methods.to_string().find(code).is_none());

    app.admin.delete_tap(&alice.upn, id).await.expect("delete");
    let (status, code, _) = error_of(app.admin.delete_tap(&alice.upn, id).await);
    assert_eq!((status, code.as_str()), (404, "itemNotFound"));
    assert_eq!(
        app.admin.list_taps(&alice.upn).await.expect("list")["value"],
        json!([])
    );
}

#[tokio::test]
async fn a_new_pass_replaces_the_old_one() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let first = app.issue(&alice.upn, json!({})).await;
    let second = app.issue(&alice.upn, json!({})).await;
    assert_ne!(first["id"], second["id"]);
    let list = app.admin.list_taps(&alice.upn).await.expect("list");
    assert_eq!(list["value"].as_array().expect("array").len(), 1);
    assert_eq!(list["value"][0]["id"], second["id"]);
    let old = app.sign_in_with(&alice.upn, &first).await;
    assert_eq!(error_of(old).0, 401, "the replaced pass no longer signs in");
}

#[tokio::test]
async fn each_refusal_has_its_status_and_message_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let (status, _, message) = error_of(
        app.admin
            .create_tap(&alice.upn, &json!({"lifetimeInMinutes": 30}))
            .await,
    );
    assert_eq!(status, 400);
    assert_eq!(
        message,
        "Invalid LifetimeInMinutes specified. The valid range between 60 and 480."
    );
    let (status, _, message) = error_of(
        app.admin
            .create_tap(&alice.upn, &json!({"lifetimeInMinutes": 481}))
            .await,
    );
    assert_eq!(
        (status, message.as_str()),
        (
            400,
            "Invalid LifetimeInMinutes specified. The valid range between 60 and 480."
        )
    );
    let (status, _, message) = error_of(
        app.admin
            .create_tap(&alice.upn, &json!({"lifetimeInMinutes": -1}))
            .await,
    );
    assert_eq!(
        (status, message.as_str()),
        (
            400,
            "Invalid LifetimeInMinutes specified. The valid range between 60 and 480."
        )
    );

    app.admin
        .patch_policy(&json!({"isUsableOnce": true}))
        .await
        .expect("force one-time");
    let (status, _, _) = error_of(
        app.admin
            .create_tap(&alice.upn, &json!({"isUsableOnce": false}))
            .await,
    );
    assert_eq!(status, 400);
    let forced = app.issue(&alice.upn, json!({})).await;
    assert_eq!(forced["isUsableOnce"], true, "the policy forces one-time");
    app.admin
        .delete_tap(&alice.upn, forced["id"].as_str().expect("id"))
        .await
        .expect("delete");

    app.admin
        .patch_policy(&json!({"state": "disabled"}))
        .await
        .expect("disable");
    let (status, code, _) = error_of(app.admin.create_tap(&alice.upn, &json!({})).await);
    assert_eq!((status, code.as_str()), (400, "badRequest"));
    app.admin
        .patch_policy(&json!({"state": "enabled"}))
        .await
        .expect("enable");

    let guest = app
        .admin
        .post("/v1.0/invitations", &json!({"invitedUserEmailAddress": "bob@partner.example", "inviteRedirectUrl": "https://myapps.example"}))
        .await
        .expect("invite");
    let guest_id = guest["invitedUser"]["id"].as_str().expect("guest id");
    let guest_user = app.admin.user(guest_id).await.expect("guest");
    assert_eq!(guest_user["userType"], "Guest");
    assert_eq!(guest_user["creationType"], "Invitation");
    let (status, _, message) = error_of(app.admin.create_tap(guest_id, &json!({})).await);
    assert_eq!(
        (status, message.as_str()),
        (
            400,
            "Temporary Access Pass cannot be added to an external guest user."
        )
    );

    let (status, code, _) = error_of(app.admin.create_tap("nobody@tapd.test", &json!({})).await);
    assert_eq!((status, code.as_str()), (404, "itemNotFound"));

    assert_eq!(
        app.admin.list_taps(&alice.upn).await.expect("list")["value"],
        json!([]),
        "no refusal wrote a pass"
    );
    assert_eq!(
        app.admin.list_taps(guest_id).await.expect("list")["value"],
        json!([])
    );
}

#[tokio::test]
async fn an_internal_guest_can_hold_a_pass() {
    let app = TestApp::spawn().await;
    let guest = app
        .admin
        .post("/v1.0/users", &json!({"displayName": "Gus", "userPrincipalName": "gus@tapd.test", "accountEnabled": true, "userType": "Guest"}))
        .await
        .expect("internal guest");
    let pass = app.issue("gus@tapd.test", json!({})).await;
    assert_eq!(pass["isUsable"], true, "{guest}");
}

#[tokio::test]
async fn usability_follows_the_clock() {
    let mut app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let start = t0() + Duration::hours(1);
    let pass = app
        .issue(
            &alice.upn,
            json!({"startDateTime": "2026-06-01T15:00:00+02:00", "lifetimeInMinutes": 60}),
        )
        .await;
    assert_eq!(
        parse_time(&pass["startDateTime"]),
        start,
        "any offset on input, UTC on output"
    );
    assert_eq!(pass["methodUsabilityReason"], "NotYetValid");
    assert_eq!(pass["isUsable"], false);
    let code = code_of(&pass).to_string();
    let (status, _, message) = error_of(app.anon.sign_in_tap(&alice.upn, &code).await);
    assert_eq!(status, 401);
    assert!(message.contains("not valid yet"), "{message}");

    app.clock.set(start);
    app.renew_admin().await;
    assert_eq!(
        app.admin.list_taps(&alice.upn).await.expect("list")["value"][0]["methodUsabilityReason"],
        "EnabledByPolicy"
    );
    app.anon
        .sign_in_tap(&alice.upn, &code)
        .await
        .expect("usable from its start");

    app.clock.set(start + Duration::minutes(60));
    app.renew_admin().await;
    assert_eq!(
        app.admin.list_taps(&alice.upn).await.expect("list")["value"][0]["methodUsabilityReason"],
        "Expired"
    );
    let (_, _, message) = error_of(app.anon.sign_in_tap(&alice.upn, &code).await);
    assert!(message.contains("expired"), "{message}");
}

#[tokio::test]
async fn a_user_out_of_scope_can_be_issued_a_pass_but_not_use_it() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    app.admin
        .patch_policy(&json!({"excludeTargets": [{"targetType": "user", "id": alice.id}]}))
        .await
        .expect("exclude");
    let pass = app.issue(&alice.upn, json!({})).await;
    assert_eq!(pass["methodUsabilityReason"], "DisabledByPolicy");
    let (status, _, message) = error_of(app.sign_in_with(&alice.upn, &pass).await);
    assert_eq!(status, 401);
    assert!(message.contains("policy"), "{message}");
}

#[tokio::test]
async fn me_lists_and_deletes_its_own_pass_but_never_issues_one() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let client: Client = app.client_for(&alice).await;
    let mine = client
        .get("/v1.0/me/authentication/temporaryAccessPassMethods")
        .await
        .expect("list own");
    let id = mine["value"][0]["id"]
        .as_str()
        .expect("own pass")
        .to_string();
    assert!(mine["value"][0]["temporaryAccessPass"].is_null());
    client
        .get(&format!(
            "/v1.0/me/authentication/temporaryAccessPassMethods/{id}"
        ))
        .await
        .expect("get own");
    let methods = client
        .get("/v1.0/me/authentication/methods")
        .await
        .expect("own methods");
    assert_eq!(methods["value"].as_array().expect("array").len(), 2);
    let (status, code, _) = error_of(
        client
            .post(
                "/v1.0/me/authentication/temporaryAccessPassMethods",
                &json!({}),
            )
            .await,
    );
    assert_eq!((status, code.as_str()), (403, "accessDenied"));
    let (status, _, _) = error_of(
        app.admin
            .post(
                "/v1.0/me/authentication/temporaryAccessPassMethods",
                &json!({}),
            )
            .await,
    );
    assert_eq!(status, 403, "not even a Global Administrator");
    client
        .delete(&format!(
            "/v1.0/me/authentication/temporaryAccessPassMethods/{id}"
        ))
        .await
        .expect("delete own");
    assert_eq!(
        app.admin.list_taps(&alice.upn).await.expect("list")["value"],
        json!([])
    );
}
