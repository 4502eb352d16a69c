//! Graph's query options on the collections: `$select`, `$filter`, `$orderby`, `$count` (and
//! `/$count`), `$top` with `$skiptoken` paging, `$search`; what isn't supported is a 400 that
//! says so, never ignored.

use serde_json::{Value, json};

use crate::helpers::*;

/// GET with the admin's token and optionally `ConsistencyLevel: eventual`: status and body.
async fn get(app: &TestApp, path: &str, eventual: bool) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .get(format!("{}{path}", app.base))
        .bearer_auth(app.admin.token().expect("admin token"));
    if eventual {
        req = req.header("ConsistencyLevel", "eventual");
    }
    let r = req.send().await.expect("request");
    (r.status().as_u16(), r.text().await.expect("body"))
}

async fn get_json(app: &TestApp, path: &str, eventual: bool) -> Value {
    let (status, body) = get(app, path, eventual).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

async fn refused(app: &TestApp, path: &str, eventual: bool) -> String {
    let (status, body) = get(app, path, eventual).await;
    assert_eq!(status, 400, "{path}: {body}");
    let v: Value = serde_json::from_str(&body).expect("the Graph envelope");
    v["error"]["message"]
        .as_str()
        .expect("a message")
        .to_string()
}

fn names(page: &Value, key: &str) -> Vec<String> {
    page["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|u| u[key].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Five users besides the admin, some with mail.
async fn people(app: &TestApp) {
    for (alias, name, mail) in [
        ("ann", "Ann Archer", Some("ann@example.test")),
        ("anton", "anton Zed", None),
        ("bea", "Bea O'Brien", Some("bea@example.test")),
        ("carl", "Carl Ash", None),
        ("dora", "Dora Ames", Some("dora@example.test")),
    ] {
        let mut new = json!({
            "accountEnabled": true,
            "displayName": name,
            "mailNickname": alias,
            "userPrincipalName": TestApp::upn(alias),
        });
        if let Some(mail) = mail {
            new["mail"] = json!(mail);
        }
        app.admin
            .post("/v1.0/users", &new)
            .await
            .expect("create user");
    }
}

#[tokio::test]
async fn users_filter_select_order_and_search() {
    let app = TestApp::spawn().await;
    people(&app).await;
    let page = get_json(
        &app,
        "/v1.0/users?$filter=startswith(displayName,'a')&$orderby=displayName desc&$select=displayName,mail",
        false,
    )
    .await;
    assert_eq!(
        names(&page, "displayName"),
        ["anton Zed", "Ann Archer", "Administrator"]
    );
    let first = page["value"][0].as_object().expect("an object");
    let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["displayName", "id", "mail"],
        "only what was selected, and id"
    );
    assert!(
        page["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#users(displayName,mail)")
    );

    let cases: [(&str, &[&str]); 9] = [
        ("displayName eq 'bea o''brien'", &["bea"]),
        (
            "mail eq null and not startswith(displayName,'a')",
            &["carl"],
        ),
        (
            "mail ne null and userPrincipalName ne 'ANN@tapd.test'",
            &["bea", "dora"],
        ),
        (
            "displayName in ('Carl Ash', 'Dora Ames')",
            &["carl", "dora"],
        ),
        (
            "startswith(mail,'d') or startswith(mail,'b')",
            &["bea", "dora"],
        ),
        ("accountEnabled eq true and userType eq 'Guest'", &[]),
        (
            "createdDateTime ge 2000-01-01T00:00:00Z and startswith(displayName,'c')",
            &["carl"],
        ),
        ("createdDateTime lt 2000-01-01T00:00:00Z", &[]),
        (
            "not (startswith(displayName,'a') or startswith(displayName,'b')) and mail eq null",
            &["carl"],
        ),
    ];
    for (filter, want) in cases {
        let path = format!("/v1.0/users?$filter={}", tapd_core::percent_encode(filter));
        let upns = names(&get_json(&app, &path, false).await, "userPrincipalName");
        let want: Vec<String> = want.iter().map(|a| TestApp::upn(a)).collect();
        assert_eq!(upns, want, "{filter}");
    }

    let found = get_json(
        &app,
        "/v1.0/users?$search=\"displayName:ash\" OR \"displayName:ames\"",
        true,
    )
    .await;
    assert_eq!(names(&found, "displayName"), ["Carl Ash", "Dora Ames"]);
    let message = refused(&app, "/v1.0/users?$search=\"displayName:ash\"", false).await;
    assert!(message.contains("ConsistencyLevel"), "{message}");
}

#[tokio::test]
async fn counts_need_eventual_consistency_and_answer_plain_numbers() {
    let app = TestApp::spawn().await;
    people(&app).await;
    let page = get_json(&app, "/v1.0/users?$count=true&$top=2", true).await;
    assert_eq!(page["@odata.count"], json!(6), "five people and the admin");
    assert_eq!(page["value"].as_array().unwrap().len(), 2);
    let message = refused(&app, "/v1.0/users?$count=true", false).await;
    assert!(message.contains("ConsistencyLevel: eventual"), "{message}");

    let (status, body) = get(
        &app,
        "/v1.0/users/$count?$filter=startswith(displayName,'a')",
        true,
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (200, "3"),
        "Ann, anton and the Administrator"
    );
    assert_eq!(get(&app, "/v1.0/users/$count", false).await.0, 400);
    assert!(
        refused(&app, "/v1.0/users/$count?$top=1", true)
            .await
            .contains("does not apply")
    );
}

#[tokio::test]
async fn paging_follows_next_links_through_every_user_once() {
    let app = TestApp::spawn().await;
    people(&app).await;
    let mut seen = Vec::new();
    let mut next = Some(format!(
        "{}/v1.0/users?$top=2&$orderby=displayName",
        app.base
    ));
    while let Some(link) = next {
        let path = link
            .strip_prefix(&app.base)
            .expect("the link is under the base URL");
        let page = get_json(&app, path, false).await;
        assert!(page["value"].as_array().unwrap().len() <= 2);
        seen.extend(names(&page, "displayName"));
        next = page["@odata.nextLink"].as_str().map(str::to_string);
    }
    let mut sorted = seen.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert_eq!(seen, sorted, "pages keep the order asked");
}

#[tokio::test]
async fn what_is_not_supported_is_a_400_that_says_so() {
    let app = TestApp::spawn().await;
    for (path, says) in [
        (
            "/v1.0/users?$filter=favoriteColor eq 'red'",
            "Unsupported or invalid query filter clause specified for property 'favoriteColor' of resource 'User'.",
        ),
        ("/v1.0/users?$filter=endswith(mail,'x')", "endswith"),
        (
            "/v1.0/users?$filter=displayName eq",
            "Invalid filter clause",
        ),
        (
            "/v1.0/users?$select=favoriteColor",
            "Could not find a property named 'favoriteColor' on type 'microsoft.graph.user'.",
        ),
        ("/v1.0/users?$orderby=mail", "Sorting by 'mail'"),
        ("/v1.0/users?$expand=manager", "'$expand' is not supported"),
        ("/v1.0/users?$skip=2", "'$skip' is not supported"),
        ("/v1.0/users?$top=1000", "1 to 999"),
        ("/v1.0/users?$skiptoken=nonsense", "$skiptoken"),
        ("/v1.0/users?$top=1&$top=2", "more than once"),
        ("/v1.0/auditLogs/signIns?$count=true", "not supported"),
        (
            "/v1.0/me/authentication/methods?$filter=id eq 'x'",
            "Unsupported",
        ),
    ] {
        let message = refused(&app, path, true).await;
        assert!(message.contains(says), "{path}: {message}");
    }
}

#[tokio::test]
async fn groups_members_roles_apps_and_logs_take_options() {
    let app = TestApp::spawn().await;
    people(&app).await;
    for name in ["Sales", "Support", "Finance"] {
        app.admin
            .post("/v1.0/groups", &json!({"displayName": name, "mailEnabled": false, "mailNickname": name, "securityEnabled": true}))
            .await
            .expect("create group");
    }
    let groups = get_json(
        &app,
        "/v1.0/groups?$filter=startswith(displayName,'s')&$orderby=displayName desc",
        false,
    )
    .await;
    assert_eq!(names(&groups, "displayName"), ["Support", "Sales"]);
    let sales = groups["value"][1]["id"].as_str().unwrap().to_string();
    for alias in ["ann", "carl"] {
        let user = app
            .admin
            .get(&format!("/v1.0/users/{}", TestApp::upn(alias)))
            .await
            .unwrap();
        app.admin
            .post(
                &format!("/v1.0/groups/{sales}/members/$ref"),
                &json!({"@odata.id": format!("{}/v1.0/directoryObjects/{}", app.base, user["id"].as_str().unwrap())}),
            )
            .await
            .expect("add member");
    }
    let members = get_json(
        &app,
        &format!(
            "/v1.0/groups/{sales}/members?$filter=startswith(displayName,'c')&$select=displayName"
        ),
        false,
    )
    .await;
    assert_eq!(names(&members, "displayName"), ["Carl Ash"]);
    let (status, count) = get(&app, &format!("/v1.0/groups/{sales}/members/$count"), true).await;
    assert_eq!((status, count.as_str()), (200, "2"));
    let (status, count) = get(&app, "/v1.0/groups/$count", true).await;
    assert_eq!((status, count.as_str()), (200, "3"));

    let admin_id = &app.admin_user.id;
    let roles = get_json(&app, &format!("/v1.0/roleManagement/directory/roleAssignments?$filter=principalId eq '{admin_id}'&$select=roleDefinitionId"), false).await;
    assert_eq!(roles["value"].as_array().unwrap().len(), 1);
    assert_eq!(
        roles["value"][0]["roleDefinitionId"],
        json!("62e90394-69f5-4237-9190-012177145e10")
    );
    assert!(roles["value"][0].get("principalId").is_none());

    let signins = get_json(
        &app,
        &format!(
            "/v1.0/auditLogs/signIns?$filter=userPrincipalName eq '{}'&$top=1",
            app.admin_user.upn.to_uppercase()
        ),
        false,
    )
    .await;
    assert_eq!(signins["value"].as_array().unwrap().len(), 1, "{signins}");
    let audits = get_json(&app, "/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName eq 'Add group'&$select=activityDisplayName", false).await;
    assert_eq!(names(&audits, "activityDisplayName"), ["Add group"; 3]);
    let future = get_json(
        &app,
        "/v1.0/auditLogs/directoryAudits?$filter=activityDateTime ge 8000-01-01T00:00:00Z",
        false,
    )
    .await;
    assert_eq!(future["value"], json!([]));

    let apps = get_json(
        &app,
        "/v1.0/applications?$filter=startswith(displayName,'zz')",
        false,
    )
    .await;
    assert_eq!(apps["value"], json!([]));
    let (status, count) = get(&app, "/v1.0/applications/$count", true).await;
    assert_eq!((status, count.as_str()), (200, "0"));

    let methods = get_json(
        &app,
        &format!("/v1.0/users/{admin_id}/authentication/methods?$select=createdDateTime"),
        false,
    )
    .await;
    for m in methods["value"].as_array().unwrap() {
        let mut keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["@odata.type", "createdDateTime", "id"]);
    }
}
