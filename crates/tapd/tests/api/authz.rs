//! SPEC §4: every admin route × every kind of caller, by role and by target.

use reqwest::Method;
use serde_json::{Value, json};
use tapd_client::{Client, Group};
use tapd_core::{Permission, Role};

use crate::helpers::TestApp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Who {
    Anonymous,
    BadToken,
    Global,
    PrivAuth,
    Auth,
    Policy,
    Reader,
    Plain,
    AppAll,
    AppNone,
    /// An application with one permission each, as Graph names them.
    AppUserRead,
    AppRoleRead,
    AppRoleWrite,
    AppMethodsRead,
    AppTapRead,
    AppTapWrite,
    AppCrossTenantAndDomains,
}

use Who::*;

const EVERYONE: [Who; 17] = [
    Anonymous,
    BadToken,
    Global,
    PrivAuth,
    Auth,
    Policy,
    Reader,
    Plain,
    AppAll,
    AppNone,
    AppUserRead,
    AppRoleRead,
    AppRoleWrite,
    AppMethodsRead,
    AppTapRead,
    AppTapWrite,
    AppCrossTenantAndDomains,
];

/// The permissions of an application caller; `None` for users and the unauthenticated.
fn app_permissions(who: Who) -> Option<Vec<Permission>> {
    use Permission as P;
    Some(match who {
        AppAll => P::ALL.to_vec(),
        AppNone => vec![],
        AppUserRead => vec![P::UserReadAll],
        AppRoleRead => vec![P::RoleManagementReadDirectory],
        AppRoleWrite => vec![P::RoleManagementReadWriteDirectory],
        AppMethodsRead => vec![P::UserAuthenticationMethodReadAll],
        AppTapRead => vec![P::UserAuthMethodTapReadAll],
        AppTapWrite => vec![P::UserAuthMethodTapReadWriteAll],
        AppCrossTenantAndDomains => {
            vec![P::PolicyReadWriteCrossTenantAccess, P::DomainReadWriteAll]
        }
        _ => return None,
    })
}

/// The outcome for each caller: 401 without a valid token, else `allowed` → 2xx, others → 403.
fn expected(who: Who, allowed: &[Who]) -> u16 {
    match who {
        Anonymous | BadToken => 401,
        w if allowed.contains(&w) => 200,
        _ => 403,
    }
}

async fn status(client: &Client, method: Method, path: &str, body: Option<&Value>) -> u16 {
    match client.request(method, path, body).await {
        Ok(_) => 200,
        Err(e) => e.status().expect("status").as_u16(),
    }
}

#[tokio::test]
async fn every_route_by_every_caller() {
    let app = TestApp::spawn().await;
    let mut clients = Vec::new();
    for who in EVERYONE {
        let client = match who {
            Anonymous => app.anon.clone(),
            BadToken => app
                .anon
                .clone()
                .with_token("eyJhbGciOiJFZERTQSJ9.e30.c2lnbmF0dXJl"),
            Global => {
                app.signed_in("global", &[Role::GlobalAdministrator])
                    .await
                    .1
            }
            PrivAuth => {
                app.signed_in("privauth", &[Role::PrivilegedAuthenticationAdministrator])
                    .await
                    .1
            }
            Auth => {
                app.signed_in("auth", &[Role::AuthenticationAdministrator])
                    .await
                    .1
            }
            Policy => {
                app.signed_in("policy", &[Role::AuthenticationPolicyAdministrator])
                    .await
                    .1
            }
            Reader => app.signed_in("reader", &[Role::GlobalReader]).await.1,
            Plain => app.signed_in("plain", &[]).await.1,
            apps => app.app(&app_permissions(apps).expect("an app")).await,
        };
        clients.push((who, client));
    }
    let member = app.create_user("member").await;
    let admin_target = app
        .user_with_roles("admintarget", &[Role::GlobalReader])
        .await;
    let group: Group = app
        .admin
        .post_as("/v1.0/groups", &json!({"displayName": "G"}))
        .await
        .expect("group");
    let gid = group.id;
    let policy_path = Client::POLICY_PATH;
    let taps = |u: &str| format!("/v1.0/users/{u}/authentication/temporaryAccessPassMethods");

    // Users that the DELETE route removes, one per caller that may.
    let mut doomed = std::collections::HashMap::new();
    for (who, _) in &clients {
        doomed.insert(
            *who,
            app.create_user(&format!("doomed{}", *who as u8)).await.id,
        );
    }
    let none = "00000000-0000-0000-0000-00000000dead";
    // Users that the role assignment route promotes, one per caller that may.
    let mut promoted = std::collections::HashMap::new();
    for (who, _) in &clients {
        promoted.insert(
            *who,
            app.create_user(&format!("promoted{}", *who as u8)).await.id,
        );
    }

    // (method, path for the caller, body for the caller, who may, status when allowed)
    type PerCaller = Box<dyn Fn(Who) -> Option<Value>>;
    type Route = (Method, Box<dyn Fn(Who) -> String>, PerCaller, Vec<Who>, u16);
    let fixed = |body: Option<Value>| -> PerCaller { Box::new(move |_| body.clone()) };
    let no_body = || fixed(None);
    let same = |path: String| -> Box<dyn Fn(Who) -> String> { Box::new(move |_| path.clone()) };
    let routes: Vec<Route> = vec![
        (
            Method::GET,
            same(policy_path.into()),
            no_body(),
            vec![Global, Policy, Reader, AppAll],
            200,
        ),
        (
            Method::PATCH,
            same(policy_path.into()),
            fixed(Some(json!({"defaultLength": 8}))),
            vec![Global, Policy, AppAll],
            200,
        ),
        (
            Method::DELETE,
            same(policy_path.into()),
            no_body(),
            vec![Global, Policy, AppAll],
            200,
        ),
        (
            Method::GET,
            same("/v1.0/users".into()),
            no_body(),
            vec![Global, PrivAuth, Auth, Reader, AppAll, AppUserRead],
            200,
        ),
        (
            Method::POST,
            same("/v1.0/users".into()),
            Box::new(|w| {
                Some(
                    json!({"displayName": "New", "accountEnabled": true, "userPrincipalName": format!("new{}@tapd.test", w as u8)}),
                )
            }),
            vec![Global, AppAll],
            200,
        ),
        (
            Method::GET,
            same(format!("/v1.0/users/{}", member.id)),
            no_body(),
            vec![Global, PrivAuth, Auth, Reader, AppAll, AppUserRead],
            200,
        ),
        (
            Method::PATCH,
            same(format!("/v1.0/users/{}", member.id)),
            fixed(Some(json!({"displayName": "Member"}))),
            vec![Global, AppAll],
            200,
        ),
        (
            Method::DELETE,
            Box::new(move |w| format!("/v1.0/users/{}", doomed[&w])),
            no_body(),
            vec![Global, AppAll],
            200,
        ),
        (
            Method::POST,
            same("/v1.0/invitations".into()),
            Box::new(|w| {
                Some(
                    json!({"invitedUserEmailAddress": format!("guest{}@partner.example", w as u8), "inviteRedirectUrl": "https://partner.example"}),
                )
            }),
            vec![Global, AppAll],
            200,
        ),
        (
            Method::GET,
            same("/v1.0/groups".into()),
            no_body(),
            vec![Global, Reader, AppAll, AppUserRead],
            200,
        ),
        (
            Method::POST,
            same("/v1.0/groups".into()),
            fixed(Some(json!({"displayName": "Another"}))),
            vec![Global, AppAll],
            200,
        ),
        (
            Method::DELETE,
            same(format!("/v1.0/groups/{none}")),
            no_body(),
            vec![Global, AppAll],
            404,
        ),
        (
            Method::GET,
            same(format!("/v1.0/groups/{gid}/members")),
            no_body(),
            vec![Global, Reader, AppAll, AppUserRead],
            200,
        ),
        (
            Method::POST,
            same(format!("/v1.0/groups/{gid}/members/$ref")),
            fixed(Some(
                json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{none}")}),
            )),
            vec![Global, AppAll],
            400,
        ),
        (
            Method::DELETE,
            same(format!("/v1.0/groups/{gid}/members/{}/$ref", member.id)),
            no_body(),
            vec![Global, AppAll],
            404,
        ),
        (
            Method::GET,
            same("/v1.0/roleManagement/directory/roleDefinitions".into()),
            no_body(),
            vec![Global, Reader, AppAll, AppRoleRead, AppRoleWrite],
            200,
        ),
        (
            Method::GET,
            same("/v1.0/roleManagement/directory/roleAssignments".into()),
            no_body(),
            vec![Global, Reader, AppAll, AppRoleRead, AppRoleWrite],
            200,
        ),
        (
            Method::POST,
            same("/v1.0/roleManagement/directory/roleAssignments".into()),
            Box::new(move |w| {
                Some(
                    json!({"principalId": promoted[&w], "roleDefinitionId": Role::GlobalReader.template_id(), "directoryScopeId": "/"}),
                )
            }),
            vec![Global, AppAll, AppRoleWrite],
            200,
        ),
        (
            Method::DELETE,
            same(format!(
                "/v1.0/roleManagement/directory/roleAssignments/{none}"
            )),
            no_body(),
            vec![Global, AppAll, AppRoleWrite],
            404,
        ),
        (
            Method::GET,
            same("/v1.0/auditLogs/directoryAudits".into()),
            no_body(),
            vec![Global, Reader, AppAll],
            200,
        ),
        (
            Method::GET,
            same("/v1.0/auditLogs/signIns".into()),
            no_body(),
            vec![Global, Reader, AppAll],
            200,
        ),
        (
            Method::GET,
            same(taps(&admin_target.id)),
            no_body(),
            vec![
                Global,
                PrivAuth,
                Auth,
                Reader,
                AppAll,
                AppMethodsRead,
                AppTapRead,
                AppTapWrite,
            ],
            200,
        ),
        (
            Method::GET,
            same(format!("/v1.0/users/{}/authentication/methods", member.id)),
            no_body(),
            vec![Global, PrivAuth, Auth, Reader, AppAll, AppMethodsRead],
            200,
        ),
        (
            Method::GET,
            same(format!(
                "/v1.0/users/{}/authentication/fido2Methods",
                member.id
            )),
            no_body(),
            vec![Global, PrivAuth, Auth, Reader, AppAll, AppMethodsRead],
            200,
        ),
        (
            Method::DELETE,
            same(format!(
                "/v1.0/users/{}/authentication/fido2Methods/AAAA",
                member.id
            )),
            no_body(),
            vec![Global, PrivAuth, Auth, AppAll],
            404,
        ),
        (
            Method::POST,
            same(taps(&member.id)),
            fixed(Some(json!({}))),
            vec![Global, PrivAuth, Auth, AppAll, AppTapWrite],
            200,
        ),
        (
            Method::DELETE,
            same(format!("{}/{none}", taps(&member.id))),
            no_body(),
            vec![Global, PrivAuth, Auth, AppAll, AppTapWrite],
            404,
        ),
        (
            Method::POST,
            same(taps(&admin_target.id)),
            fixed(Some(json!({}))),
            vec![Global, PrivAuth, AppAll, AppTapWrite],
            200,
        ),
        (
            Method::DELETE,
            same(format!("{}/{none}", taps(&admin_target.id))),
            no_body(),
            vec![Global, PrivAuth, AppAll, AppTapWrite],
            404,
        ),
        (
            Method::GET,
            same("/v1.0/me".into()),
            no_body(),
            vec![Global, PrivAuth, Auth, Policy, Reader, Plain],
            200,
        ),
        (
            Method::GET,
            same("/v1.0/me/authentication/temporaryAccessPassMethods".into()),
            no_body(),
            vec![Global, PrivAuth, Auth, Policy, Reader, Plain],
            200,
        ),
        (
            Method::GET,
            same("/v1.0/me/authentication/methods".into()),
            no_body(),
            vec![Global, PrivAuth, Auth, Policy, Reader, Plain],
            200,
        ),
        (
            Method::DELETE,
            same(format!(
                "/v1.0/me/authentication/temporaryAccessPassMethods/{none}"
            )),
            no_body(),
            vec![Global, PrivAuth, Auth, Policy, Reader, Plain],
            404,
        ),
    ];
    let mut failures = Vec::new();
    for (method, path, body, allowed, ok_status) in &routes {
        for (who, client) in &clients {
            let path = path(*who);
            let got = status(client, method.clone(), &path, body(*who).as_ref()).await;
            let mut want = expected(*who, allowed);
            if want == 200 {
                want = *ok_status;
            }
            // /me for an app is a 400 in Graph, not a 403.
            if path.starts_with("/v1.0/me") && app_permissions(*who).is_some() {
                want = 400;
            }
            if got != want {
                failures.push(format!(
                    "{method} {path} as {who:?}: got {got}, want {want}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn writes_that_only_a_global_administrator_may_do() {
    let app = TestApp::spawn().await;
    let (_, privauth) = app
        .signed_in("privauth", &[Role::PrivilegedAuthenticationAdministrator])
        .await;
    let (_, reader) = app.signed_in("reader", &[Role::GlobalReader]).await;
    let member = app.create_user("member").await;
    for client in [&privauth, &reader] {
        let body =
            json!({"displayName": "X", "userPrincipalName": "x@tapd.test", "accountEnabled": true});
        assert_eq!(
            status(client, Method::POST, "/v1.0/users", Some(&body)).await,
            403
        );
        let role = json!({"principalId": member.id, "roleDefinitionId": Role::GlobalAdministrator.template_id(), "directoryScopeId": "/"});
        assert_eq!(
            status(
                client,
                Method::POST,
                "/v1.0/roleManagement/directory/roleAssignments",
                Some(&role)
            )
            .await,
            403
        );
        assert_eq!(
            status(
                client,
                Method::DELETE,
                &format!("/v1.0/users/{}", member.id),
                None
            )
            .await,
            403
        );
        assert_eq!(
            status(
                client,
                Method::POST,
                "/v1.0/groups",
                Some(&json!({"displayName": "G"}))
            )
            .await,
            403
        );
    }
    assert!(
        app.admin.user(&member.id).await.is_ok(),
        "nothing was deleted"
    );
    assert!(app.admin.groups().await.expect("groups").value.is_empty());
}

#[tokio::test]
async fn nobody_may_issue_or_delete_a_pass_for_themselves() {
    let app = TestApp::spawn().await;
    for (alias, role) in [
        ("global", Role::GlobalAdministrator),
        ("privauth", Role::PrivilegedAuthenticationAdministrator),
        ("auth", Role::AuthenticationAdministrator),
    ] {
        let (user, client) = app.signed_in(alias, &[role]).await;
        let path = format!(
            "/v1.0/users/{}/authentication/temporaryAccessPassMethods",
            user.id
        );
        assert_eq!(
            status(&client, Method::POST, &path, Some(&json!({}))).await,
            403,
            "{role:?}"
        );
        let own = app.admin.list_taps(&user.upn).await.expect("list");
        let id = &own.value.first().expect("the pass they signed in with").id;
        assert_eq!(
            status(&client, Method::DELETE, &format!("{path}/{id}"), None).await,
            403,
            "{role:?}"
        );
    }
    // Nor the bootstrap admin, by UPN.
    let path = format!(
        "/v1.0/users/{}/authentication/temporaryAccessPassMethods",
        app.admin_user.upn
    );
    assert_eq!(
        status(&app.admin, Method::POST, &path, Some(&json!({}))).await,
        403
    );
}

#[tokio::test]
async fn an_unknown_user_is_404_only_to_those_who_could_see_it() {
    let app = TestApp::spawn().await;
    let (_, plain) = app.signed_in("plain", &[]).await;
    let path = "/v1.0/users/ghost@tapd.test/authentication/temporaryAccessPassMethods";
    assert_eq!(status(&app.admin, Method::GET, path, None).await, 404);
    assert_eq!(status(&plain, Method::GET, path, None).await, 403);
    assert_eq!(
        status(&plain, Method::POST, path, Some(&json!({}))).await,
        403
    );
}
