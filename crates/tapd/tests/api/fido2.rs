//! The whole authentication methods policy, the FIDO2 (passkey) configuration — read, patched,
//! validated, audited, reset — enforced at passkey registration, and the registration report
//! with its admin-center page.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tapd_client::{Client, ClientError};
use tapd_core::{Permission, Role};

use crate::authenticator::{AAGUID_TEXT, Device};
use crate::browser::Browser;
use crate::helpers::*;

const ORIGIN: &str = "http://localhost:8443";
const FIDO2: &str =
    "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Fido2";
const WHOLE: &str = "/v1.0/policies/authenticationMethodsPolicy";
const REPORT: &str = "/v1.0/reports/authenticationMethods/userRegistrationDetails";
/// A second make of authenticator.
const OTHER_AAGUID: [u8; 16] = [0x11; 16];
const OTHER_AAGUID_TEXT: &str = "11111111-1111-1111-1111-111111111111";

async fn spawn() -> TestApp {
    TestApp::spawn_with(|c| c.public_url = Some(ORIGIN.into())).await
}

async fn register(client: &Client, device: &mut Device) -> Result<Value, ClientError> {
    let started = client
        .post("/api/passkeys/register/start", &json!({}))
        .await?;
    let credential = device
        .create(&started["options"], ORIGIN)
        .await
        .expect("the device creates a passkey");
    client
        .post(
            "/api/passkeys/register/finish",
            &json!({"displayName": "key", "credential": credential}),
        )
        .await
}

async fn patch(app: &TestApp, body: Value) -> Result<Value, ClientError> {
    app.admin.patch(FIDO2, &body).await
}

#[tokio::test]
async fn the_whole_policy_and_the_fido2_configuration_read_patch_audit_and_reset() {
    let app = spawn().await;
    let whole = app.admin.get(WHOLE).await.expect("whole policy");
    assert_eq!(
        whole["@odata.type"],
        "#microsoft.graph.authenticationMethodsPolicy"
    );
    assert_eq!(whole["id"], "authenticationMethodsPolicy");
    assert!(whole["description"].is_string() && whole["policyVersion"].is_string());
    let configs = whole["authenticationMethodConfigurations"]
        .as_array()
        .expect("list");
    let ids: Vec<&str> = configs.iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, ["TemporaryAccessPass", "Fido2"]);

    let fido2 = app.admin.get(FIDO2).await.expect("fido2");
    assert_eq!(
        fido2["@odata.type"],
        "#microsoft.graph.fido2AuthenticationMethodConfiguration"
    );
    assert_eq!(fido2["state"], "enabled");
    assert_eq!(fido2["isSelfServiceRegistrationAllowed"], true);
    assert_eq!(fido2["isAttestationEnforced"], false);
    assert_eq!(fido2["keyRestrictions"]["isEnforced"], false);
    assert_eq!(fido2["keyRestrictions"]["enforcementType"], "block");
    assert_eq!(fido2["includeTargets"][0]["id"], "all_users");
    assert_eq!(configs[1], fido2, "the same object in the whole policy");

    patch(
        &app,
        json!({
            "@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
            "keyRestrictions": {"isEnforced": true, "enforcementType": "allow",
                "aaGuids": [AAGUID_TEXT.to_uppercase()]}
        }),
    )
    .await
    .expect("patch");
    let fido2 = app
        .admin
        .get("/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2")
        .await
        .expect("case-insensitive id");
    assert_eq!(fido2["keyRestrictions"]["aaGuids"], json!([AAGUID_TEXT]));
    assert_eq!(fido2["keyRestrictions"]["enforcementType"], "allow");
    assert_eq!(fido2["state"], "enabled", "untouched fields stay");
    let whole = app.admin.get(WHOLE).await.expect("whole policy");
    assert!(whole["lastModifiedDateTime"].is_string(), "{whole}");

    let audits = app.admin.directory_audits(Some(5)).await.expect("audits");
    let change = &audits.value[0];
    assert_eq!(
        change.activity_display_name,
        "Update authentication methods policy"
    );
    assert_eq!(change.target_resources[0].id, "Fido2");

    app.admin.delete(FIDO2).await.expect("reset");
    let fido2 = app.admin.get(FIDO2).await.expect("fido2");
    assert_eq!(fido2["keyRestrictions"]["isEnforced"], false);
    // The TAP configuration is untouched by all of it.
    assert_eq!(app.policy_json().await["state"], "enabled");
}

#[tokio::test]
async fn bad_fido2_patches_are_refused_whole_with_clear_messages() {
    let app = spawn().await;
    let before = app.admin.get(FIDO2).await.expect("fido2");
    for (body, expected) in [
        (
            json!({"isAttestationEnforced": true, "state": "disabled"}),
            "trust anchors",
        ),
        (
            json!({"keyRestrictions": {"aaGuids": ["not-a-guid"]}}),
            "aaGuids[0]",
        ),
        (
            json!({"keyRestrictions": {"isEnforced": true, "enforcementType": "allow", "aaGuids": []}}),
            "at least one AAGUID",
        ),
        (
            json!({"keyRestrictions": {"enforcementType": "deny"}}),
            "`allow` or `block`",
        ),
        (json!({"state": "on"}), "`enabled` or `disabled`"),
        (
            json!({"includeTargets": [{"targetType": "group", "id": "00000000-0000-0000-0000-000000000001"}]}),
            "no group",
        ),
    ] {
        let (status, code, message) = error_of(patch(&app, body.clone()).await);
        assert_eq!((status, code.as_str()), (400, "badRequest"), "{body}");
        assert!(message.contains(expected), "{body}: {message}");
    }
    assert_eq!(
        app.admin.get(FIDO2).await.expect("fido2"),
        before,
        "nothing changed"
    );

    let (_, reader) = app.signed_in("reader", &[Role::GlobalReader]).await;
    assert!(reader.get(FIDO2).await.is_ok(), "a reader reads");
    assert_eq!(
        status_of(reader.patch(FIDO2, &json!({"state": "disabled"})).await),
        403
    );
}

#[tokio::test]
async fn registration_obeys_state_targets_self_service_and_key_restrictions() {
    let app = spawn().await;
    let (user, client) = app.signed_in("alice", &[]).await;
    let refused = |r: Result<Value, ClientError>, rule: &str| {
        let (status, _, message) = error_of(r);
        assert_eq!(status, 400, "{message}");
        assert!(message.contains(rule), "{rule}: {message}");
    };

    patch(&app, json!({"state": "disabled"}))
        .await
        .expect("patch");
    refused(
        register(&client, &mut Device::new()).await,
        "disabled (state)",
    );
    patch(
        &app,
        json!({"state": "enabled", "excludeTargets": [{"targetType": "user", "id": user.id}]}),
    )
    .await
    .expect("patch");
    refused(
        register(&client, &mut Device::new()).await,
        "excludeTargets",
    );
    patch(
        &app,
        json!({"excludeTargets": [], "isSelfServiceRegistrationAllowed": false}),
    )
    .await
    .expect("patch");
    refused(
        register(&client, &mut Device::new()).await,
        "isSelfServiceRegistrationAllowed",
    );
    patch(
        &app,
        json!({"isSelfServiceRegistrationAllowed": true,
            "keyRestrictions": {"isEnforced": true, "enforcementType": "block", "aaGuids": [AAGUID_TEXT]}}),
    )
    .await
    .expect("patch");
    refused(register(&client, &mut Device::new()).await, AAGUID_TEXT);
    // The block list names only that make: another registers.
    register(&client, &mut Device::with_aaguid(OTHER_AAGUID))
        .await
        .expect("another make");
    patch(
        &app,
        json!({"keyRestrictions": {"enforcementType": "allow", "aaGuids": [OTHER_AAGUID_TEXT]}}),
    )
    .await
    .expect("patch");
    refused(
        register(&client, &mut Device::new()).await,
        "enforcementType allow",
    );
    let methods = client
        .get("/v1.0/me/authentication/fido2Methods")
        .await
        .expect("methods");
    let registered = methods["value"].as_array().expect("value");
    assert_eq!(registered.len(), 1, "only the admitted make: {methods}");
    assert_eq!(registered[0]["aaGuid"], OTHER_AAGUID_TEXT);
    // A policy changed between start and finish is enforced at the finish.
    let started = client
        .post("/api/passkeys/register/start", &json!({}))
        .await
        .expect("start");
    patch(&app, json!({"state": "disabled"}))
        .await
        .expect("patch");
    let credential = Device::with_aaguid(OTHER_AAGUID)
        .create(&started["options"], ORIGIN)
        .await
        .expect("create");
    refused(
        client
            .post(
                "/api/passkeys/register/finish",
                &json!({"displayName": "late", "credential": credential}),
            )
            .await,
        "disabled (state)",
    );
}

fn row<'a>(report: &'a Value, upn: &str) -> Option<&'a Value> {
    report["value"]
        .as_array()
        .expect("value")
        .iter()
        .find(|r| r["userPrincipalName"] == upn)
}

#[tokio::test]
async fn the_registration_report_lists_who_still_needs_a_passkey() {
    let app = spawn().await;
    let (alice, client) = app.signed_in("alice", &[]).await;
    register(&client, &mut Device::new())
        .await
        .expect("alice registers");
    let bob = app.create_user("bob").await;
    app.issue(&bob.upn, json!({})).await;

    let all = app.admin.get(REPORT).await.expect("report");
    let a = row(&all, &alice.upn).expect("alice");
    assert_eq!(a["id"], alice.id.as_str());
    assert_eq!(a["isPasswordlessCapable"], true);
    assert_eq!(a["isMfaRegistered"], true);
    assert_eq!(a["userType"], "member");
    assert_eq!(a["isAdmin"], false);
    assert!(
        a["methodsRegistered"]
            .as_array()
            .expect("methods")
            .contains(&json!("passKeyDeviceBound"))
    );
    let b = row(&all, &bob.upn).expect("bob");
    assert_eq!(b["isPasswordlessCapable"], false);
    assert_eq!(b["methodsRegistered"], json!(["temporaryAccessPass"]));
    let admin = row(&all, &app.admin_user.upn).expect("admin");
    assert_eq!(admin["isAdmin"], true);

    let without = app
        .admin
        .get(&format!("{REPORT}?$filter=isPasswordlessCapable eq false"))
        .await
        .expect("filtered");
    assert!(row(&without, &alice.upn).is_none() && row(&without, &bob.upn).is_some());
    let guests = app
        .admin
        .get(&format!("{REPORT}?$filter=userType eq 'guest'"))
        .await
        .expect("guests");
    assert_eq!(guests["value"], json!([]));

    // Blocking alice's make leaves her registered but not capable.
    patch(
        &app,
        json!({"keyRestrictions": {"isEnforced": true, "aaGuids": [AAGUID_TEXT]}}),
    )
    .await
    .expect("patch");
    let without = app
        .admin
        .get(&format!("{REPORT}?$filter=isPasswordlessCapable eq false"))
        .await
        .expect("filtered");
    let a = row(&without, &alice.upn).expect("alice now needs a passkey");
    assert_eq!(
        (
            a["isMfaRegistered"].clone(),
            a["isPasswordlessCapable"].clone()
        ),
        (json!(true), json!(false))
    );

    // Paged by $top, following nextLink.
    let first = app
        .admin
        .get(&format!("{REPORT}?$top=2"))
        .await
        .expect("page 1");
    assert_eq!(first["value"].as_array().map(Vec::len), Some(2));
    let next = first["@odata.nextLink"].as_str().expect("nextLink");
    let rest = next.split("/v1.0").nth(1).expect("path");
    let second = app
        .admin
        .get(&format!("/v1.0{rest}"))
        .await
        .expect("page 2");
    assert_eq!(second["value"].as_array().map(Vec::len), Some(1));
    assert!(second.get("@odata.nextLink").is_none());

    let (status, _, message) = error_of(
        app.admin
            .get(&format!("{REPORT}?$filter=displayName eq 'x'"))
            .await,
    );
    assert_eq!(status, 400);
    assert!(message.contains("displayName"), "{message}");
    let auditor = app.app(&[Permission::AuditLogReadAll]).await;
    assert!(
        auditor.get(REPORT).await.is_ok(),
        "AuditLog.Read.All reads the report"
    );
    let reader = app.app(&[Permission::UserReadAll]).await;
    assert_eq!(status_of(reader.get(REPORT).await), 403);
    assert_eq!(
        status_of(client.get(REPORT).await),
        403,
        "a user without a role"
    );
}

#[tokio::test]
async fn the_admin_center_lists_users_without_a_passkey_with_a_way_to_issue_a_pass() {
    let app = spawn().await;
    let (alice, client) = app.signed_in("alice", &[]).await;
    register(&client, &mut Device::new())
        .await
        .expect("alice registers");
    let bob = app.create_user("bob").await;
    let mut admin = Browser::new(&app.base);
    admin
        .sign_in_with_password(&app.admin_user.upn, ADMIN_PASSWORD)
        .await;
    let page = admin.get("/admin/onboarding").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(&bob.upn), "bob needs a passkey");
    assert!(!page.body.contains(&alice.upn), "alice has one");
    assert!(
        page.body
            .contains(&format!("href=\"/admin/users/{}#add-tap\"", bob.id))
    );
    assert!(
        page.body.contains("href=\"/admin/onboarding\""),
        "in the nav"
    );
    let issue_form = admin.get(&format!("/admin/users/{}", bob.id)).await;
    assert!(issue_form.body.contains("id=\"add-tap\""));
}
