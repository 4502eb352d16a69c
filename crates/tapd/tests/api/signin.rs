//! SPEC §6: sign-in, one-time consumption, brute force, tokens capped at the pass.

use serde_json::json;
use tapd_client::UsabilityReason;
use tapd_core::Permission;
use time::Duration;

use crate::helpers::{TestApp, claims, code_of, error_of, status_of, t0};

#[tokio::test]
async fn the_first_step_does_not_reveal_accounts() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let unknown = app
        .anon
        .sign_in_start("nobody@tapd.test")
        .await
        .expect("start");
    let password_only = app.anon.sign_in_start(&alice.upn).await.expect("start");
    assert_eq!(unknown.methods, ["password"]);
    assert_eq!(unknown.methods, password_only.methods);
    app.issue(&alice.upn, json!({})).await;
    let with_pass = app.anon.sign_in_start(&alice.upn).await.expect("start");
    assert_eq!(with_pass.methods, ["temporaryAccessPass", "password"]);
    // The same generic refusal for an unknown user and a wrong code.
    let (_, _, unknown_msg) = error_of(app.anon.sign_in_tap("nobody@tapd.test", "ABCDEFGH").await);
    let (_, _, wrong_msg) = error_of(app.anon.sign_in_tap(&alice.upn, "ABCDEFGH").await);
    assert_eq!(unknown_msg, wrong_msg);
}

#[tokio::test]
async fn tap_tokens_carry_amr_and_expire_with_the_pass() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    // 60-minute pass starting now: the access token (60 min by default) and the refresh token
    // (24 h by default) both stop at the pass's end.
    let pass = app
        .issue(&alice.upn, json!({"lifetimeInMinutes": 60}))
        .await;
    app.clock.advance(Duration::minutes(30));
    let session = app.sign_in_with(&alice.upn, &pass).await.expect("sign in");
    let pass_end = t0() + Duration::minutes(60);
    let jwt = claims(&session.access_token);
    assert_eq!(jwt["amr"], json!(["tap"]));
    assert_eq!(jwt["exp"], pass_end.unix_timestamp());
    assert_eq!(session.expires_in, 30 * 60);
    assert_eq!(session.refresh_token_expires_at, pass_end);
    assert_eq!(session.amr, ["tap"]);

    let client = app.anon.clone().with_token(session.access_token.clone());
    client.get("/v1.0/me").await.expect("token works");
    app.clock.set(pass_end);
    assert_eq!(
        status_of(client.get("/v1.0/me").await),
        401,
        "dead with the pass"
    );
    let refresh = &session.refresh_token;
    assert_eq!(error_of(app.anon.refresh(refresh).await).1, "invalid_grant");
}

#[tokio::test]
async fn refresh_rotates_and_fails_once_the_pass_is_deleted() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let pass = app
        .issue(&alice.upn, json!({"lifetimeInMinutes": 480}))
        .await;
    let session = app.sign_in_with(&alice.upn, &pass).await.expect("sign in");
    let first_refresh = session.refresh_token;
    let renewed = app.anon.refresh(&first_refresh).await.expect("refresh");
    assert_eq!(claims(&renewed.access_token)["amr"], json!(["tap"]));
    assert_eq!(
        error_of(app.anon.refresh(&first_refresh).await).1,
        "invalid_grant",
        "each refresh token works once"
    );

    let client = app.anon.clone().with_token(renewed.access_token.clone());
    client.get("/v1.0/me").await.expect("renewed token works");
    app.admin
        .delete_tap(&alice.upn, &pass.id)
        .await
        .expect("delete the pass");
    assert_eq!(
        status_of(client.get("/v1.0/me").await),
        401,
        "deleting the pass ends its sessions"
    );
    let (status, code, _) = error_of(app.anon.refresh(&renewed.refresh_token).await);
    assert_eq!((status, code.as_str()), (400, "invalid_grant"));
}

#[tokio::test]
async fn a_one_time_pass_works_once() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let pass = app.issue(&alice.upn, json!({"isUsableOnce": true})).await;
    let code = code_of(&pass);
    app.anon
        .sign_in_tap(&alice.upn, code)
        .await
        .expect("first use");
    let (status, _, message) = error_of(app.anon.sign_in_tap(&alice.upn, code).await);
    assert_eq!(status, 401);
    assert!(message.contains("has been used"), "{message}");
    let listed = app.admin.list_taps(&alice.upn).await.expect("list");
    assert_eq!(
        listed.value[0].method_usability_reason,
        UsabilityReason::OneTimeUsed
    );
}

#[tokio::test]
async fn fifty_concurrent_sign_ins_with_a_one_time_pass_give_exactly_one_session() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let pass = app.issue(&alice.upn, json!({"isUsableOnce": true})).await;
    let code = code_of(&pass).to_string();
    let attempts: Vec<_> = (0..50)
        .map(|_| {
            let (client, upn, code) = (app.anon.clone(), alice.upn.clone(), code.clone());
            tokio::spawn(async move { client.sign_in_tap(&upn, &code).await })
        })
        .collect();
    let mut successes = 0;
    for attempt in attempts {
        match attempt.await.expect("task") {
            Ok(_) => successes += 1,
            Err(e) => assert_eq!(e.status().map(|s| s.as_u16()), Some(401), "{e}"),
        }
    }
    assert_eq!(successes, 1);
}

#[tokio::test]
async fn ten_wrong_codes_lock_the_pass() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let pass = app.issue(&alice.upn, json!({})).await;
    let code = code_of(&pass);
    for _ in 0..9 {
        app.anon
            .sign_in_tap(&alice.upn, "WRONGCODE")
            .await
            .expect_err("wrong");
    }
    app.anon
        .sign_in_tap(&alice.upn, code)
        .await
        .expect("nine failures don't lock, and success resets the count");
    let (_, _, unknown) = error_of(app.anon.sign_in_tap("nobody@tapd.test", "WRONGCODE").await);
    for attempt in 1..=10 {
        let (status, _, message) = error_of(app.anon.sign_in_tap(&alice.upn, "WRONGCODE").await);
        // Also the tenth: a wrong code tells nothing a wrong code for nobody wouldn't.
        assert_eq!((status, &message), (401, &unknown), "attempt {attempt}");
    }
    let (_, _, message) = error_of(app.anon.sign_in_tap(&alice.upn, code).await);
    assert!(message.contains("locked"), "{message}");
    assert_eq!(
        app.admin.list_taps(&alice.upn).await.expect("list").value[0].method_usability_reason,
        UsabilityReason::Locked
    );
    let fresh = app.issue(&alice.upn, json!({})).await;
    app.sign_in_with(&alice.upn, &fresh)
        .await
        .expect("a new pass works");
}

#[tokio::test]
async fn every_attempt_is_audited_without_the_code() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let pass = app.issue(&alice.upn, json!({})).await;
    let code = code_of(&pass);
    app.anon
        .sign_in_tap(&alice.upn, "WRONGCODE")
        .await
        .expect_err("wrong");
    app.anon.sign_in_tap(&alice.upn, code).await.expect("right");
    let log = app.admin.sign_ins(Some(2)).await.expect("sign-ins");
    let entries = &log.value;
    assert_eq!(entries[0].status.error_code, 0, "newest first: the success");
    assert_eq!(
        entries[1].status.failure_reason.as_deref(),
        Some("Wrong code")
    );
    assert_eq!(entries[1].user_principal_name, alice.upn);
    assert!(log.next_link.is_some(), "there are older entries");
    let wire = app
        .admin
        .get("/v1.0/auditLogs/signIns?$top=2")
        .await
        .expect("sign-ins");
    assert!(!wire.to_string().contains(code));
}

#[tokio::test]
async fn password_sign_in_keeps_working_beside_a_pass() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    app.issue(&alice.upn, json!({})).await;
    let session = app
        .anon
        .sign_in_password(&alice.upn, "correct horse battery")
        .await
        .expect("password");
    let jwt = claims(&session.access_token);
    assert_eq!(jwt["amr"], json!(["pwd"]));
    assert_eq!(jwt["exp"], (t0() + Duration::minutes(60)).unix_timestamp());
    assert_eq!(
        status_of(app.anon.sign_in_password(&alice.upn, "wrong horse").await),
        401
    );
    assert_eq!(
        status_of(
            app.anon
                .sign_in_password("nobody@tapd.test", "wrong horse")
                .await
        ),
        401
    );
}

#[tokio::test]
async fn client_credentials_give_an_app_token() {
    let app = TestApp::spawn().await;
    let spec = tapd_server::service::apps::AppSpec {
        name: "script".into(),
        permissions: vec![Permission::PolicyReadAll],
        ..Default::default()
    };
    let created = app.create_app(&spec).await;
    let secret = created.client_secret.expect("a confidential app");
    let token = app
        .anon
        .client_credentials(&created.client_id.to_string(), &secret)
        .await
        .expect("token");
    assert_eq!(token.token_type, "Bearer");
    assert_eq!(token.expires_in, 3600);
    assert_eq!(
        claims(&token.access_token)["roles"],
        json!(["Policy.Read.All"])
    );
    let client = app.anon.clone().with_token(token.access_token);
    client.policy().await.expect("the app reads the policy");
    let (status, code, _) = error_of(
        app.anon
            .client_credentials(&created.client_id.to_string(), "not the secret")
            .await,
    );
    assert_eq!((status, code.as_str()), (401, "invalid_client"));
}

#[tokio::test]
async fn a_client_that_hammers_sign_in_is_slowed_down() {
    let app = TestApp::spawn_with(|c| c.signin_rate_per_sec = 1).await;
    let mut statuses = Vec::new();
    for _ in 0..15 {
        statuses.push(status_of(
            app.anon.sign_in_tap("nobody@tapd.test", "ABCDEFGH").await,
        ));
    }
    assert!(statuses.contains(&429), "{statuses:?}");
}
