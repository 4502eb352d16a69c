//! The typed client's objects are the wire's: each answer read raw, decoded into its struct and
//! serialized back gives the same JSON — every field kept, nulls as nulls, dates as written. The
//! CLI's `--json` output and the typed checks of the other tests rest on this.

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tapd_client::{
    AuthenticationMethod, Client, Collection, DirectoryAudit, Group, Invitation,
    PolicyConfiguration, RoleAssignment, RoleDefinition, Session, SignIn, SignInStart,
    TemporaryAccessPass, TokenResponse, User,
};
use tapd_core::{Permission, Role};

use crate::helpers::{TestApp, code_of};

/// `raw` as a `T`, which must serialize back to `raw`.
#[track_caller]
fn typed<T: DeserializeOwned + Serialize>(raw: &Value) -> T {
    let value: T = serde_json::from_value(raw.clone())
        .unwrap_or_else(|e| panic!("{} from {raw}: {e}", std::any::type_name::<T>()));
    assert_eq!(
        &serde_json::to_value(&value).expect("serializes"),
        raw,
        "{} keeps the wire's JSON",
        std::any::type_name::<T>()
    );
    value
}

async fn form_post(client: &Client, form: &[(&str, &str)]) -> Value {
    reqwest::Client::new()
        .post(format!("{}/oauth2/v2.0/token", client.base()))
        .form(form)
        .send()
        .await
        .expect("token endpoint")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test]
async fn directory_objects_round_trip() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let get = |path: String| {
        let admin = app.admin.clone();
        async move { admin.get(&path).await.expect("read") }
    };
    let user: User = typed(&get(format!("/v1.0/users/{}", alice.id)).await);
    assert_eq!(user.id, alice.id);
    let me: User = typed(&get("/v1.0/me".into()).await);
    assert!(me.odata_context.is_some(), "/me names its context");
    let page: Collection<User> = typed(&get("/v1.0/users?$top=1".into()).await);
    assert!(page.next_link.is_some(), "a page of one of two users");

    let invited = app
        .admin
        .post(
            "/v1.0/invitations",
            &json!({"invitedUserEmailAddress": "bob@partner.example", "inviteRedirectUrl": "https://myapps.example"}),
        )
        .await
        .expect("invite");
    let invitation: Invitation = typed(&invited);
    let guest: User = typed(&get(format!("/v1.0/users/{}", invitation.invited_user.id)).await);
    assert_eq!(guest.creation_type.as_deref(), Some("Invitation"));

    let created = app
        .admin
        .post("/v1.0/groups", &json!({"displayName": "G"}))
        .await
        .expect("group");
    let group: Group = typed(&created);
    app.admin
        .add_member(&group.id, &alice.id)
        .await
        .expect("add member");
    let _: Collection<Group> = typed(&get("/v1.0/groups".into()).await);
    let members: Collection<User> = typed(&get(format!("/v1.0/groups/{}/members", group.id)).await);
    assert!(members.value[0].odata_type.is_some(), "members are typed");

    let assigned = app
        .admin
        .request(
            Method::POST,
            "/v1.0/roleManagement/directory/roleAssignments",
            Some(&json!({"principalId": alice.id, "roleDefinitionId": Role::GlobalReader.template_id(), "directoryScopeId": "/"})),
        )
        .await
        .expect("assign");
    let assignment: RoleAssignment = typed(&assigned);
    let path = "/v1.0/roleManagement/directory/roleAssignments";
    let _: RoleAssignment = typed(&get(format!("{path}/{}", assignment.id)).await);
    let _: Collection<RoleAssignment> = typed(&get(path.into()).await);
    let _: Collection<RoleDefinition> =
        typed(&get("/v1.0/roleManagement/directory/roleDefinitions".into()).await);
}

#[tokio::test]
async fn passes_methods_and_the_policy_round_trip() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let taps = format!(
        "/v1.0/users/{}/authentication/temporaryAccessPassMethods",
        alice.id
    );
    let issued = app
        .admin
        .post(&taps, &json!({"isUsableOnce": true}))
        .await
        .expect("issue");
    let pass: TemporaryAccessPass = typed(&issued);
    assert!(pass.temporary_access_pass.is_some() && pass.odata_context.is_some());
    let read: TemporaryAccessPass = typed(
        &app.admin
            .get(&format!("{taps}/{}", pass.id))
            .await
            .expect("get"),
    );
    assert_eq!(read.temporary_access_pass, None);
    let _: Collection<TemporaryAccessPass> = typed(&app.admin.get(&taps).await.expect("list"));
    let methods: Collection<AuthenticationMethod> = typed(
        &app.admin
            .get(&format!("/v1.0/users/{}/authentication/methods", alice.id))
            .await
            .expect("methods"),
    );
    assert!(matches!(
        methods.value.as_slice(),
        [
            AuthenticationMethod::Password(_),
            AuthenticationMethod::TemporaryAccessPass(_)
        ]
    ));

    let group = app.admin.create_group("G").await.expect("group");
    app.admin
        .patch_policy(&json!({
            "includeTargets": [{"targetType": "group", "id": group.id, "isRegistrationRequired": true}],
            "excludeTargets": [{"targetType": "user", "id": alice.id}],
        }))
        .await
        .expect("targets");
    let policy: PolicyConfiguration = typed(&app.policy_json().await);
    assert!(policy.policy.include_targets[0].is_registration_required);
}

#[tokio::test]
async fn sign_ins_tokens_and_the_audit_log_round_trip() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let pass = app.issue(&alice.upn, json!({})).await;
    let start = app
        .anon
        .post("/api/signin/start", &json!({"username": alice.upn}))
        .await
        .expect("start");
    let _: SignInStart = typed(&start);
    app.anon
        .sign_in_tap(&alice.upn, "WRONGCODE")
        .await
        .expect_err("a wrong code");
    app.anon
        .sign_in_tap("nobody@tapd.test", "WRONGCODE")
        .await
        .expect_err("no such user");
    let signed_in = app
        .anon
        .post(
            "/api/signin/tap",
            &json!({"username": alice.upn, "code": code_of(&pass)}),
        )
        .await
        .expect("sign in");
    let session: Session = typed(&signed_in);
    let refreshed = form_post(
        &app.anon,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &session.refresh_token),
        ],
    )
    .await;
    let _: Session = typed(&refreshed);

    // A change made by an app, beside those of the admin and of the command line (the app's
    // registration).
    let writer = app.app(&[Permission::UserReadWriteAll]).await;
    writer
        .delete_user(&alice.id)
        .await
        .expect("the app deletes alice");
    let audits: Collection<DirectoryAudit> = typed(
        &app.admin
            .get("/v1.0/auditLogs/directoryAudits?$top=999")
            .await
            .expect("audits"),
    );
    let by_app = |a: &&DirectoryAudit| a.initiated_by.app.is_some();
    assert!(audits.value.iter().filter(by_app).any(|a| {
        a.initiated_by
            .app
            .as_ref()
            .is_some_and(|app| app.app_id.is_some())
    }));
    assert!(audits.value.iter().filter(by_app).any(|a| {
        a.initiated_by
            .app
            .as_ref()
            .is_some_and(|app| app.app_id.is_none())
    }));
    let sign_ins: Collection<SignIn> = typed(
        &app.admin
            .get("/v1.0/auditLogs/signIns?$top=999")
            .await
            .expect("sign-ins"),
    );
    assert!(sign_ins.value.iter().any(|s| s.user_id.is_none()));
    assert!(
        sign_ins
            .value
            .iter()
            .any(|s| s.status.failure_reason.is_none())
    );

    let (client_id, secret) = app.register_app(&[Permission::PolicyReadAll]).await;
    let token = form_post(
        &app.anon,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await;
    let _: TokenResponse = typed(&token);
}
