//! SPEC §3: the TAP policy over HTTP.

use serde_json::json;
use tapd_client::{PolicyState, PolicyTarget, TargetType, UsabilityReason};

use crate::helpers::{TestApp, error_of};

#[tokio::test]
async fn a_fresh_install_has_the_default_policy() {
    let app = TestApp::spawn().await;
    let config = app.policy().await;
    assert_eq!(
        config.odata_type,
        "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration"
    );
    assert_eq!(config.id, "TemporaryAccessPass");
    let p = &config.policy;
    assert_eq!(p.state, PolicyState::Enabled);
    assert_eq!(p.minimum_lifetime_in_minutes, 60);
    assert_eq!(p.maximum_lifetime_in_minutes, 480);
    assert_eq!(p.default_lifetime_in_minutes, 60);
    assert!(!p.is_usable_once);
    assert_eq!(p.default_length, 8);
    assert_eq!(
        p.include_targets,
        [PolicyTarget {
            target_type: TargetType::Group,
            id: "all_users".into(),
            is_registration_required: false,
        }]
    );
    assert!(p.exclude_targets.is_empty());
    // The wire spelling of the enums and of the targets' fields.
    let wire = app.policy_json().await;
    assert_eq!(wire["state"], "enabled");
    assert_eq!(
        wire["includeTargets"],
        json!([{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}])
    );
}

#[tokio::test]
async fn patch_changes_only_the_given_fields_and_answers_204() {
    let app = TestApp::spawn().await;
    let path = "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/temporaryaccesspass";
    let answer = app
        .admin
        .patch(path, &json!({
            "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
            "defaultLifetimeInMinutes": 120,
            "maximumLifetimeInMinutes": 600,
            "defaultLength": 12,
            "somethingUnknown": true,
        }))
        .await
        .expect("patch");
    assert!(answer.is_null(), "204 has no body");
    let p = app.policy().await.policy;
    assert_eq!(p.default_lifetime_in_minutes, 120);
    assert_eq!(p.maximum_lifetime_in_minutes, 600);
    assert_eq!(p.default_length, 12);
    assert_eq!(p.minimum_lifetime_in_minutes, 60, "untouched");
    assert!(app.policy_json().await.get("somethingUnknown").is_none());
}

#[tokio::test]
async fn an_invalid_patch_is_refused_whole() {
    let app = TestApp::spawn().await;
    let before = app.policy_json().await;
    for bad in [
        json!({"defaultLength": 12, "minimumLifetimeInMinutes": 5}),
        json!({"maximumLifetimeInMinutes": 43201}),
        json!({"defaultLifetimeInMinutes": 500}),
        json!({"minimumLifetimeInMinutes": 100, "maximumLifetimeInMinutes": 90}),
        json!({"defaultLength": 7}),
        json!({"defaultLength": 49}),
        json!({"state": "maybe"}),
        json!({"isUsableOnce": "yes"}),
        json!({"defaultLength": -8}),
        json!({"includeTargets": [{"targetType": "group", "id": "00000000-0000-0000-0000-000000000001"}]}),
    ] {
        let (status, code, message) = error_of(app.admin.patch_policy(&bad).await);
        assert_eq!(
            (status, code.as_str()),
            (400, "badRequest"),
            "{bad}: {message}"
        );
        assert!(!message.is_empty());
        assert_eq!(app.policy_json().await, before, "{bad} changed nothing");
    }
}

#[tokio::test]
async fn delete_resets_to_the_defaults() {
    let app = TestApp::spawn().await;
    let defaults = app.policy_json().await;
    app.admin
        .patch_policy(&json!({"state": "disabled", "isUsableOnce": true, "defaultLength": 20}))
        .await
        .expect("patch");
    assert_ne!(app.policy_json().await, defaults);
    app.admin.reset_policy().await.expect("delete");
    assert_eq!(app.policy_json().await, defaults);
}

#[tokio::test]
async fn other_method_configurations_are_not_found() {
    let app = TestApp::spawn().await;
    let (status, code, _) = error_of(
        app.admin
            .get("/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/MicrosoftAuthenticator")
            .await,
    );
    assert_eq!((status, code.as_str()), (404, "itemNotFound"));
}

#[tokio::test]
async fn targets_include_groups_and_exclusion_wins() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let group: tapd_client::Group = app
        .admin
        .post_as("/v1.0/groups", &json!({"displayName": "Onboarding"}))
        .await
        .expect("group");
    let gid = group.id.as_str();
    app.admin
        .post(
            &format!("/v1.0/groups/{gid}/members/$ref"),
            &json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", alice.id)}),
        )
        .await
        .expect("add member");
    app.admin
        .patch_policy(&json!({"includeTargets": [{"targetType": "group", "id": gid}]}))
        .await
        .expect("include the group");
    let pass = app.issue(&alice.upn, json!({})).await;
    assert_eq!(
        pass.method_usability_reason,
        UsabilityReason::EnabledByPolicy
    );
    app.admin
        .patch_policy(&json!({"excludeTargets": [{"targetType": "user", "id": alice.id}]}))
        .await
        .expect("exclude alice");
    let list = app.admin.list_taps(&alice.upn).await.expect("list");
    assert_eq!(
        list.value[0].method_usability_reason,
        UsabilityReason::DisabledByPolicy
    );
    assert!(!list.value[0].is_usable);
}
