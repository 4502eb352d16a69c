//! Users, groups, role assignments, invitations and audit paging, in Graph's shapes.

use serde_json::json;
use tapd_core::Role;

use crate::helpers::{TestApp, error_of};

#[tokio::test]
async fn users_are_created_found_updated_and_deleted() {
    let app = TestApp::spawn().await;
    let created = app
        .admin
        .post("/v1.0/users", &json!({
            "accountEnabled": true,
            "displayName": "Adele Vance",
            "mailNickname": "AdeleV",
            "userPrincipalName": "AdeleV@tapd.test",
            "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "xWwvJ]6NMw+bWH-d"}
        }))
        .await
        .expect("create");
    assert_eq!(created["userType"], "Member");
    let id = created["id"].as_str().expect("id");
    assert_eq!(
        app.admin
            .user("adelev@TAPD.test")
            .await
            .expect("by upn, any case")["id"],
        id
    );
    let filtered = app
        .admin
        .get("/v1.0/users?$filter=userPrincipalName%20eq%20'adelev@tapd.test'")
        .await
        .expect("filter");
    assert_eq!(filtered["value"].as_array().expect("array").len(), 1);
    assert_eq!(filtered["value"][0]["id"], id);
    let (status, code, _) = error_of(app.admin.post("/v1.0/users", &json!({"displayName": "Again", "userPrincipalName": "adelev@tapd.test", "accountEnabled": true})).await);
    assert_eq!((status, code.as_str()), (409, "conflict"));

    app.admin
        .patch(
            &format!("/v1.0/users/{id}"),
            &json!({"displayName": "Adele V.", "accountEnabled": false}),
        )
        .await
        .expect("patch");
    let updated = app.admin.user(id).await.expect("get");
    assert_eq!(updated["displayName"], "Adele V.");
    assert_eq!(updated["accountEnabled"], false);
    let (status, _, _) = error_of(
        app.anon
            .sign_in_password("adelev@tapd.test", "xWwvJ]6NMw+bWH-d")
            .await,
    );
    assert_eq!(status, 401, "a disabled account can't sign in");

    app.admin
        .delete(&format!("/v1.0/users/{id}"))
        .await
        .expect("delete");
    assert_eq!(error_of(app.admin.user(id).await).0, 404);
}

#[tokio::test]
async fn users_are_paged_with_next_links() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        app.create_user(&format!("user{i}")).await;
    }
    let mut seen = Vec::new();
    let mut page = app.admin.get("/v1.0/users?$top=2").await.expect("page");
    loop {
        seen.extend(
            page["value"]
                .as_array()
                .expect("array")
                .iter()
                .map(|u| u["userPrincipalName"].as_str().unwrap_or("").to_string()),
        );
        let Some(next) = page["@odata.nextLink"].as_str() else {
            break;
        };
        assert!(next.starts_with(&app.base), "{next}");
        page = app
            .admin
            .get(&next[app.base.len()..])
            .await
            .expect("next page");
    }
    assert_eq!(seen.len(), 6, "five users and the admin: {seen:?}");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 6, "no duplicates across pages");
}

#[tokio::test]
async fn groups_hold_members() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let group = app.admin.post("/v1.0/groups", &json!({"displayName": "Helpdesk", "mailEnabled": false, "mailNickname": "helpdesk", "securityEnabled": true})).await.expect("group");
    let gid = group["id"].as_str().expect("id");
    let reference = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", alice.id)});
    app.admin
        .post(&format!("/v1.0/groups/{gid}/members/$ref"), &reference)
        .await
        .expect("add");
    assert_eq!(
        error_of(
            app.admin
                .post(&format!("/v1.0/groups/{gid}/members/$ref"), &reference)
                .await
        )
        .0,
        409
    );
    let members = app
        .admin
        .get(&format!("/v1.0/groups/{gid}/members"))
        .await
        .expect("members");
    assert_eq!(members["value"][0]["id"], alice.id.as_str());
    app.admin
        .delete(&format!("/v1.0/groups/{gid}/members/{}/$ref", alice.id))
        .await
        .expect("remove");
    assert_eq!(
        app.admin
            .get(&format!("/v1.0/groups/{gid}/members"))
            .await
            .expect("members")["value"],
        json!([])
    );
}

#[tokio::test]
async fn roles_are_assigned_listed_and_removed() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let a = app
        .admin
        .assign_role(&alice.id, Role::AuthenticationAdministrator.template_id())
        .await
        .expect("assign");
    assert_eq!(
        a["roleDefinitionId"],
        "c4e39bd9-1100-46d3-8c65-fb160da0071f"
    );
    assert_eq!(a["directoryScopeId"], "/");
    let mine = app
        .admin
        .get(&format!(
            "/v1.0/roleManagement/directory/roleAssignments?$filter=principalId%20eq%20'{}'",
            alice.id
        ))
        .await
        .expect("list");
    assert_eq!(mine["value"].as_array().expect("array").len(), 1);
    assert_eq!(
        error_of(
            app.admin
                .assign_role(&alice.id, Role::AuthenticationAdministrator.template_id())
                .await
        )
        .0,
        409
    );
    let id = a["id"].as_str().expect("id");
    app.admin
        .delete(&format!(
            "/v1.0/roleManagement/directory/roleAssignments/{id}"
        ))
        .await
        .expect("remove");
    assert_eq!(
        error_of(
            app.admin
                .get(&format!(
                    "/v1.0/roleManagement/directory/roleAssignments/{id}"
                ))
                .await
        )
        .0,
        404
    );
    let all = app
        .admin
        .get("/v1.0/roleManagement/directory/roleAssignments")
        .await
        .expect("all");
    assert_eq!(
        all["value"].as_array().expect("array").len(),
        1,
        "only the bootstrap admin's"
    );
}

#[tokio::test]
async fn changes_are_audited_newest_first() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    app.issue(&alice.upn, json!({})).await;
    app.admin
        .patch_policy(&json!({"defaultLength": 10}))
        .await
        .expect("patch");
    let log = app
        .admin
        .get("/v1.0/auditLogs/directoryAudits?$top=2")
        .await
        .expect("audits");
    let entries = log["value"].as_array().expect("array");
    assert_eq!(
        entries[0]["activityDisplayName"],
        "Update authentication methods policy"
    );
    assert_eq!(
        entries[1]["activityDisplayName"],
        "Admin registered temporary access pass method for user"
    );
    assert_eq!(
        entries[1]["targetResources"][0]["userPrincipalName"],
        alice.upn
    );
    assert_eq!(
        entries[1]["initiatedBy"]["user"]["userPrincipalName"],
        app.admin_user.upn
    );
    let next = log["@odata.nextLink"].as_str().expect("more");
    let older = app.admin.get(&next[app.base.len()..]).await.expect("older");
    assert_eq!(older["value"][0]["activityDisplayName"], "Add user");
}
