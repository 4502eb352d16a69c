//! Users, groups, role assignments, invitations and audit paging, in Graph's shapes.

use serde_json::json;
use tapd_client::{Collection, Group, User};
use tapd_core::Role;

use crate::helpers::{TestApp, error_of};

#[tokio::test]
async fn users_are_created_found_updated_and_deleted() {
    let app = TestApp::spawn().await;
    let created: User = app
        .admin
        .post_as("/v1.0/users", &json!({
            "accountEnabled": true,
            "displayName": "Adele Vance",
            "mailNickname": "AdeleV",
            "userPrincipalName": "AdeleV@tapd.test",
            "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "xWwvJ]6NMw+bWH-d"}
        }))
        .await
        .expect("create");
    assert_eq!(created.user_type, "Member");
    let id = created.id.as_str();
    assert_eq!(
        app.admin
            .user("adelev@TAPD.test")
            .await
            .expect("by upn, any case")
            .id,
        id
    );
    let filtered: Collection<User> = app
        .admin
        .get_as("/v1.0/users?$filter=userPrincipalName%20eq%20'adelev@tapd.test'")
        .await
        .expect("filter");
    assert_eq!(filtered.value.len(), 1);
    assert_eq!(filtered.value[0].id, id);
    let (status, code, _) = error_of(app.admin.post("/v1.0/users", &json!({"displayName": "Again", "userPrincipalName": "adelev@tapd.test", "accountEnabled": true})).await);
    assert_eq!((status, code.as_str()), (409, "conflict"));

    app.admin
        .update_user(
            id,
            &json!({"displayName": "Adele V.", "accountEnabled": false}),
        )
        .await
        .expect("patch");
    let updated = app.admin.user(id).await.expect("get");
    assert_eq!(updated.display_name, "Adele V.");
    assert!(!updated.account_enabled);
    let (status, _, _) = error_of(
        app.anon
            .sign_in_password("adelev@tapd.test", "xWwvJ]6NMw+bWH-d")
            .await,
    );
    assert_eq!(status, 401, "a disabled account can't sign in");

    app.admin.delete_user(id).await.expect("delete");
    assert_eq!(error_of(app.admin.user(id).await).0, 404);
}

#[tokio::test]
async fn users_are_paged_with_next_links() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        app.create_user(&format!("user{i}")).await;
    }
    let mut seen = Vec::new();
    let mut page = app.admin.users(Some(2)).await.expect("page");
    loop {
        assert!(page.value.len() <= 2, "{} on a page of 2", page.value.len());
        seen.extend(page.value.iter().map(|u| u.user_principal_name.clone()));
        let Some(next) = &page.next_link else {
            break;
        };
        assert!(next.starts_with(&app.base), "{next}");
        page = app
            .admin
            .get_as(&next[app.base.len()..])
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
    let group: Group = app.admin.post_as("/v1.0/groups", &json!({"displayName": "Helpdesk", "mailEnabled": false, "mailNickname": "helpdesk", "securityEnabled": true})).await.expect("group");
    let gid = group.id.as_str();
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
    let members = app.admin.members(gid).await.expect("members");
    assert_eq!(members.value[0].id, alice.id);
    app.admin
        .remove_member(gid, &alice.id)
        .await
        .expect("remove");
    assert!(
        app.admin
            .members(gid)
            .await
            .expect("members")
            .value
            .is_empty()
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
    assert_eq!(a.role_definition_id, "c4e39bd9-1100-46d3-8c65-fb160da0071f");
    assert_eq!(a.directory_scope_id, "/");
    let mine = app
        .admin
        .role_assignments(Some(&alice.id))
        .await
        .expect("list");
    assert_eq!(mine.value.len(), 1);
    assert_eq!(
        error_of(
            app.admin
                .assign_role(&alice.id, Role::AuthenticationAdministrator.template_id())
                .await
        )
        .0,
        409
    );
    let id = a.id.as_str();
    assert_eq!(app.admin.role_assignment(id).await.expect("get"), a);
    app.admin.remove_role_assignment(id).await.expect("remove");
    assert_eq!(error_of(app.admin.role_assignment(id).await).0, 404);
    let all = app.admin.role_assignments(None).await.expect("all");
    assert_eq!(all.value.len(), 1, "only the bootstrap admin's");
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
    let log = app.admin.directory_audits(Some(2)).await.expect("audits");
    let entries = &log.value;
    assert_eq!(
        entries[0].activity_display_name,
        "Update authentication methods policy"
    );
    assert_eq!(
        entries[1].activity_display_name,
        "Admin registered temporary access pass method for user"
    );
    assert_eq!(
        entries[1].target_resources[0]
            .user_principal_name
            .as_deref(),
        Some(alice.upn.as_str())
    );
    let initiator = entries[1].initiated_by.user.as_ref().expect("a user");
    assert_eq!(initiator.user_principal_name, app.admin_user.upn);
    assert!(log.next_link.is_some(), "more");
    let older = app
        .admin
        .next_page(&log)
        .await
        .expect("older")
        .expect("a next page");
    assert_eq!(older.value[0].activity_display_name, "Add user");
}
