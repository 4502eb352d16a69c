//! SPEC §5: issuing, reading and deleting a pass, and its usability over time.

use serde_json::{Value, json};
use tapd_client::{AuthenticationMethod, Client, NewUser, UsabilityReason};
use time::Duration;

use crate::helpers::{TestApp, code_of, error_of, t0};

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
    let code = pass
        .temporary_access_pass
        .as_deref()
        .expect("the code, once");
    assert_eq!(code.chars().count(), 8, "the policy's default length");
    assert_eq!(
        pass.odata_type,
        "#microsoft.graph.temporaryAccessPassAuthenticationMethod"
    );
    assert_eq!(pass.lifetime_in_minutes, 90);
    assert!(pass.is_usable_once);
    assert!(pass.is_usable);
    assert_eq!(
        pass.method_usability_reason,
        UsabilityReason::EnabledByPolicy
    );
    assert_eq!(pass.start_date_time, t0());
    let id = pass.id.as_str();

    let list = app.admin.list_taps(&alice.upn).await.expect("list");
    assert_eq!(list.value.len(), 1);
    assert_eq!(list.value[0].temporary_access_pass, None);
    let by_id = app.admin.list_taps(&alice.id).await.expect("list by id");
    assert_eq!(by_id.value, list.value);
    let one = app.admin.tap(&alice.id, id).await.expect("get");
    assert_eq!(one.temporary_access_pass, None);
    assert_eq!(one.id, id);
    // On the wire, a read carries the code's property as an explicit null.
    let wire = app
        .admin
        .get(&format!(
            "/v1.0/users/{}/authentication/temporaryAccessPassMethods/{id}",
            alice.id
        ))
        .await
        .expect("get");
    assert_eq!(wire.get("temporaryAccessPass"), Some(&Value::Null));
    let wire_list = app
        .admin
        .get(&format!(
            "/v1.0/users/{}/authentication/temporaryAccessPassMethods",
            alice.id
        ))
        .await
        .expect("list");
    assert_eq!(
        wire_list["value"][0].get("temporaryAccessPass"),
        Some(&Value::Null)
    );

    let methods = app.admin.methods(&alice.id).await.expect("methods");
    let types: Vec<_> = methods.value.iter().map(|m| m.odata_type()).collect();
    assert_eq!(
        types,
        [
            "#microsoft.graph.passwordAuthenticationMethod",
            "#microsoft.graph.temporaryAccessPassAuthenticationMethod"
        ]
    );
    let wire_methods = app
        .admin
        .get(&format!("/v1.0/users/{}/authentication/methods", alice.id))
        .await
        .expect("methods");
    assert!(wire_methods.to_string().find(code).is_none());

    app.admin.delete_tap(&alice.upn, id).await.expect("delete");
    let (status, code, _) = error_of(app.admin.delete_tap(&alice.upn, id).await);
    assert_eq!((status, code.as_str()), (404, "itemNotFound"));
    assert!(
        app.admin
            .list_taps(&alice.upn)
            .await
            .expect("list")
            .value
            .is_empty()
    );
}

#[tokio::test]
async fn a_new_pass_replaces_the_old_one() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let first = app.issue(&alice.upn, json!({})).await;
    let second = app.issue(&alice.upn, json!({})).await;
    assert_ne!(first.id, second.id);
    let list = app.admin.list_taps(&alice.upn).await.expect("list");
    assert_eq!(list.value.len(), 1);
    assert_eq!(list.value[0].id, second.id);
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
    assert!(forced.is_usable_once, "the policy forces one-time");
    app.admin
        .delete_tap(&alice.upn, &forced.id)
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
        .invite("bob@partner.example", "https://myapps.example")
        .await
        .expect("invite");
    let guest_id = guest.invited_user.id.as_str();
    let guest_user = app.admin.user(guest_id).await.expect("guest");
    assert_eq!(guest_user.user_type, "Guest");
    assert_eq!(guest_user.creation_type.as_deref(), Some("Invitation"));
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

    assert!(
        app.admin
            .list_taps(&alice.upn)
            .await
            .expect("list")
            .value
            .is_empty(),
        "no refusal wrote a pass"
    );
    assert!(
        app.admin
            .list_taps(guest_id)
            .await
            .expect("list")
            .value
            .is_empty()
    );
}

#[tokio::test]
async fn an_internal_guest_can_hold_a_pass() {
    let app = TestApp::spawn().await;
    let guest = app
        .admin
        .create_user(&NewUser::new("gus@tapd.test", "Gus").guest())
        .await
        .expect("internal guest");
    let pass = app.issue("gus@tapd.test", json!({})).await;
    assert!(pass.is_usable, "{guest:?}");
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
        pass.start_date_time, start,
        "any offset on input, UTC on output"
    );
    assert_eq!(pass.start_date_time.offset(), time::UtcOffset::UTC);
    assert_eq!(pass.method_usability_reason, UsabilityReason::NotYetValid);
    assert!(!pass.is_usable);
    let code = code_of(&pass).to_string();
    let (status, _, message) = error_of(app.anon.sign_in_tap(&alice.upn, &code).await);
    assert_eq!(status, 401);
    assert!(message.contains("not valid yet"), "{message}");

    app.clock.set(start);
    app.renew_admin().await;
    assert_eq!(
        app.admin.list_taps(&alice.upn).await.expect("list").value[0].method_usability_reason,
        UsabilityReason::EnabledByPolicy
    );
    app.anon
        .sign_in_tap(&alice.upn, &code)
        .await
        .expect("usable from its start");

    app.clock.set(start + Duration::minutes(60));
    app.renew_admin().await;
    assert_eq!(
        app.admin.list_taps(&alice.upn).await.expect("list").value[0].method_usability_reason,
        UsabilityReason::Expired
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
    assert_eq!(
        pass.method_usability_reason,
        UsabilityReason::DisabledByPolicy
    );
    let (status, _, message) = error_of(app.sign_in_with(&alice.upn, &pass).await);
    assert_eq!(status, 401);
    assert!(message.contains("policy"), "{message}");
}

#[tokio::test]
async fn me_lists_and_deletes_its_own_pass_but_never_issues_one() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let client: Client = app.client_for(&alice).await;
    let mine = client.my_taps().await.expect("list own");
    let own = mine.value.first().expect("own pass");
    let id = own.id.clone();
    assert_eq!(own.temporary_access_pass, None);
    let wire = client
        .get(&format!(
            "/v1.0/me/authentication/temporaryAccessPassMethods/{id}"
        ))
        .await
        .expect("get own");
    assert_eq!(wire.get("temporaryAccessPass"), Some(&Value::Null));
    let methods = client.my_methods().await.expect("own methods");
    assert_eq!(methods.value.len(), 2);
    assert!(
        methods
            .value
            .iter()
            .any(|m| matches!(m, AuthenticationMethod::TemporaryAccessPass(p) if p.id == id))
    );
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
    assert!(
        app.admin
            .list_taps(&alice.upn)
            .await
            .expect("list")
            .value
            .is_empty()
    );
}

/// Sign-ins with multi-use passes while passes are being issued, ten at once to each user:
/// every call succeeds. On SQLite a sign-in batch that only read before writing used to fail
/// with "database is locked" (500) when another write committed in between; on PostgreSQL two
/// issuances for one user used to collide on the user's unique pass (500).
#[tokio::test]
async fn multi_use_sign_ins_succeed_while_other_writes_commit() {
    let app = TestApp::spawn().await;
    let mut holders = Vec::new();
    for i in 0..12 {
        let user = app.create_user(&format!("multi{i}")).await;
        let pass = app.issue(&user.upn, json!({"isUsableOnce": false})).await;
        holders.push((user.upn, code_of(&pass).to_string()));
    }
    let mut others = Vec::new();
    for i in 0..8 {
        others.push(app.create_user(&format!("other{i}")).await.upn);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        for (upn, code) in holders.clone() {
            let anon = app.anon.clone();
            tasks.spawn(async move {
                anon.sign_in_tap(&upn, &code)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("sign-in of {upn}: {e}"))
            });
        }
        for upn in others.clone() {
            let admin = app.admin.clone();
            tasks.spawn(async move {
                admin
                    .create_tap(&upn, &json!({"isUsableOnce": true}))
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("issue to {upn}: {e}"))
            });
        }
    }
    let failures: Vec<String> = tasks
        .join_all()
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
