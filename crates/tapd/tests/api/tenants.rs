//! Several tenants in one deployment (SPEC §8): each its own directory, policy, domains, audit
//! logs and OIDC issuer; an object of another tenant is a 404, never its data.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tapd_client::NewUser;
use tapd_core::Permission;
use tapd_server::service::{Services, apps, operator};
use uuid::Uuid;

use crate::helpers::*;

/// A second tenant, `fabrikam.test`, beside the test app's, with its admin signed in.
async fn second_tenant(app: &TestApp) -> OtherTenant {
    app.add_tenant("fabrikam.test", "Fabrikam").await
}

fn ids(page: &Value) -> Vec<String> {
    page["value"]
        .as_array()
        .expect("a collection")
        .iter()
        .map(|v| v["id"].as_str().expect("an id").to_string())
        .collect()
}

#[tokio::test]
async fn tenants_are_created_at_the_database_and_sign_in_as_their_own_issuer() {
    let app = TestApp::spawn().await;
    let b = second_tenant(&app).await;
    let token = b.admin.token().expect("token").to_string();
    let c = claims(&token);
    assert_eq!(c["tid"], json!(b.id.to_string()));
    assert_eq!(c["iss"], json!(format!("{}/{}/v2.0", app.base, b.id)));
    let a = claims(app.admin.token().expect("token"));
    assert_ne!(a["tid"], c["tid"]);

    // Each tenant's discovery names its own issuer, by id or by any of its domains.
    let http = reqwest::Client::new();
    for name in [
        b.id.to_string(),
        "fabrikam.test".into(),
        "FABRIKAM.test".into(),
    ] {
        let url = format!("{}/{name}/v2.0/.well-known/openid-configuration", app.base);
        let doc: Value = http
            .get(&url)
            .send()
            .await
            .expect("discovery")
            .json()
            .await
            .expect("json");
        assert_eq!(doc["issuer"], json!(format!("{}/{}/v2.0", app.base, b.id)));
        assert_eq!(
            doc["token_endpoint"],
            json!(format!("{}/{}/oauth2/v2.0/token", app.base, b.id))
        );
    }
    let unknown = http
        .get(format!(
            "{}/nowhere.test/v2.0/.well-known/openid-configuration",
            app.base
        ))
        .send()
        .await
        .expect("discovery");
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);

    // A second tenant of the same domain is refused, and nothing is written.
    let svc = Services::new(app.store.clone(), app.keys.clone());
    for taken in ["fabrikam.test", "Fabrikam.TEST", DOMAIN] {
        assert!(
            operator::create_tenant(&svc, taken, None, t0())
                .await
                .is_err()
        );
    }
    assert!(
        operator::create_tenant(&svc, "not a domain", None, t0())
            .await
            .is_err()
    );
    let tenants = operator::tenants(&svc).await.expect("tenants");
    assert_eq!(tenants.len(), 2);
    assert_eq!(
        tenants[0].default_domain, DOMAIN,
        "the default tenant comes first"
    );
    assert_eq!(tenants[1].display_name, "Fabrikam");
}

#[tokio::test]
async fn another_tenants_objects_are_not_found_and_listings_never_mix() {
    let app = TestApp::spawn().await;
    let b = second_tenant(&app).await;
    // Tenant A's objects.
    let alice = app.create_user("alice").await;
    let group = app.admin.create_group("A team").await.expect("group");
    app.admin
        .add_member(&group.id, &alice.id)
        .await
        .expect("member");
    let assignment = app
        .admin
        .assign_role(&alice.id, tapd_core::Role::GlobalReader.template_id())
        .await
        .expect("role");
    let pass = app.issue(&alice.upn, json!({})).await;
    let a_app = app
        .admin
        .post("/v1.0/applications", &json!({"displayName": "A's app"}))
        .await
        .expect("an app of A");
    let a_app_id = a_app["id"].as_str().expect("id").to_string();

    // Every route with an id of A, as B's Global Administrator: 404, and nothing changes.
    let reads = [
        format!("/v1.0/users/{}", alice.id),
        format!("/v1.0/users/{}", alice.upn),
        format!("/v1.0/users/{}/authentication/methods", alice.id),
        format!(
            "/v1.0/users/{}/authentication/temporaryAccessPassMethods",
            alice.id
        ),
        format!(
            "/v1.0/users/{}/authentication/temporaryAccessPassMethods/{}",
            alice.id, pass.id
        ),
        format!("/v1.0/users/{}/manager", alice.id),
        format!("/v1.0/groups/{}", group.id),
        format!("/v1.0/groups/{}/members", group.id),
        format!(
            "/v1.0/roleManagement/directory/roleAssignments/{}",
            assignment.id
        ),
        format!("/v1.0/applications/{a_app_id}"),
        format!("/v1.0/domains/{DOMAIN}"),
    ];
    for path in &reads {
        let (status, _, _) = error_of(b.admin.get(path).await);
        assert_eq!(status, 404, "GET {path}");
    }
    let changes = [
        (
            "PATCH",
            format!("/v1.0/users/{}", alice.id),
            json!({"displayName": "Mallory"}),
        ),
        ("DELETE", format!("/v1.0/users/{}", alice.id), Value::Null),
        (
            "POST",
            format!(
                "/v1.0/users/{}/authentication/temporaryAccessPassMethods",
                alice.id
            ),
            json!({}),
        ),
        (
            "DELETE",
            format!(
                "/v1.0/users/{}/authentication/temporaryAccessPassMethods/{}",
                alice.id, pass.id
            ),
            Value::Null,
        ),
        ("DELETE", format!("/v1.0/groups/{}", group.id), Value::Null),
        (
            "POST",
            format!("/v1.0/groups/{}/members/$ref", group.id),
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", b.admin_id)}),
        ),
        (
            "DELETE",
            format!("/v1.0/groups/{}/members/{}/$ref", group.id, alice.id),
            Value::Null,
        ),
        (
            "DELETE",
            format!(
                "/v1.0/roleManagement/directory/roleAssignments/{}",
                assignment.id
            ),
            Value::Null,
        ),
        (
            "PATCH",
            format!("/v1.0/applications/{a_app_id}"),
            json!({"displayName": "x"}),
        ),
        (
            "DELETE",
            format!("/v1.0/applications/{a_app_id}"),
            Value::Null,
        ),
        ("DELETE", format!("/v1.0/domains/{DOMAIN}"), Value::Null),
        (
            "PATCH",
            format!("/v1.0/domains/{DOMAIN}"),
            json!({"isDefault": true}),
        ),
    ];
    for (method, path, body) in &changes {
        let result = match *method {
            "PATCH" => b.admin.patch(path, body).await,
            "POST" => b.admin.post(path, body).await,
            _ => b.admin.delete(path).await,
        };
        let (status, _, _) = error_of(result);
        assert_eq!(status, 404, "{method} {path}");
    }
    // A's user as the target of B's own objects: a reference that doesn't resolve.
    let b_group = b.admin.create_group("B team").await.expect("B's group");
    let add = b.admin.add_member(&b_group.id, &alice.id).await;
    assert!(matches!(error_of(add).0, 400 | 404));
    let grant = b
        .admin
        .assign_role(&alice.id, tapd_core::Role::GlobalReader.template_id())
        .await;
    assert!(matches!(error_of(grant).0, 400 | 404));
    let target = json!({"includeTargets": [{"id": group.id, "targetType": "group"}]});
    let (status, _, _) = error_of(
        b.admin
            .patch(
                "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass",
                &target,
            )
            .await,
    );
    assert_eq!(status, 400, "a policy target must be of the tenant");

    // A is untouched.
    let still = app
        .admin
        .user(&alice.id)
        .await
        .expect("alice is still there");
    assert_eq!(still.display_name, "alice");
    assert!(
        app.sign_in_with(&alice.upn, &pass).await.is_ok(),
        "A's pass still works"
    );

    // Listings never mix.
    let b_users = ids(&b.admin.get("/v1.0/users").await.expect("B's users"));
    assert_eq!(b_users, vec![b.admin_id.clone()]);
    let a_users = ids(&app.admin.get("/v1.0/users").await.expect("A's users"));
    assert!(a_users.contains(&alice.id) && !a_users.contains(&b.admin_id));
    let b_groups = ids(&b.admin.get("/v1.0/groups").await.expect("B's groups"));
    assert_eq!(b_groups, vec![b_group.id.clone()]);
    assert!(ids(&b.admin.get("/v1.0/applications").await.expect("apps")).is_empty());
    let b_roles = b.admin.role_assignments(None).await.expect("B's roles");
    assert!(b_roles.value.iter().all(|r| r.principal_id == b.admin_id));
    for log in ["/v1.0/auditLogs/directoryAudits", "/v1.0/auditLogs/signIns"] {
        let entries = b.admin.get(log).await.expect("B's log");
        let text = entries.to_string();
        assert!(!text.contains(&alice.id), "{log} of B names A's user");
        assert!(!text.contains(&alice.upn), "{log} of B names A's user");
    }
    let a_signins = app
        .admin
        .get("/v1.0/auditLogs/signIns")
        .await
        .expect("A's log");
    assert!(!a_signins.to_string().contains("admin@fabrikam.test"));

    // Each tenant has its own policy.
    b.admin
        .patch_policy(&json!({"defaultLifetimeInMinutes": 120}))
        .await
        .expect("B changes its policy");
    assert_eq!(app.policy().await.policy.default_lifetime_in_minutes, 60);
    let b_policy = b.admin.policy().await.expect("B's policy");
    assert_eq!(b_policy.policy.default_lifetime_in_minutes, 120);
}

#[tokio::test]
async fn a_tenants_token_and_apps_act_in_that_tenant_only() {
    let app = TestApp::spawn().await;
    let b = second_tenant(&app).await;
    let alice = app.create_user("alice").await;
    let spec = apps::AppSpec {
        name: "B's provisioning".into(),
        permissions: vec![Permission::UserReadAll],
        ..Default::default()
    };
    let registered = app.create_app_in(Some("fabrikam.test"), &spec).await;
    let client_id = registered.client_id.to_string();
    let secret = registered.client_secret.expect("a secret");

    // At B's token endpoint, B's app gets a token of B.
    let http = reqwest::Client::new();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let at_b: Value = http
        .post(format!("{}/fabrikam.test/oauth2/v2.0/token", app.base))
        .form(&form)
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let token = at_b["access_token"].as_str().expect("a token");
    assert_eq!(claims(token)["tid"], json!(b.id.to_string()));
    let b_app = app.anon.clone().with_token(token);
    let users = ids(&b_app.get("/v1.0/users").await.expect("B's users"));
    assert_eq!(users, vec![b.admin_id.clone()]);
    let (status, _, _) = error_of(b_app.get(&format!("/v1.0/users/{}", alice.id)).await);
    assert_eq!(status, 404);

    // Anywhere else B's app is unknown: the default tenant's endpoint, A's by id.
    let a_id = claims(app.admin.token().expect("token"))["tid"]
        .as_str()
        .expect("tid")
        .to_string();
    for path in [
        "/oauth2/v2.0/token".to_string(),
        format!("/{a_id}/oauth2/v2.0/token"),
    ] {
        let refused = http
            .post(format!("{}{path}", app.base))
            .form(&form)
            .send()
            .await
            .expect("token");
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{path}");
        let body: Value = refused.json().await.expect("json");
        assert_eq!(body["error"], "invalid_client");
    }

    // A token whose tenant claim was changed no longer verifies.
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let mut forged = claims(token);
    forged["tid"] = json!(a_id);
    use base64::Engine;
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged.to_string());
    let forged = app.anon.clone().with_token(parts.join("."));
    assert_eq!(status_of(forged.get("/v1.0/users").await), 401);
}

#[tokio::test]
async fn domains_are_added_made_default_and_removed_per_tenant() {
    let app = TestApp::spawn().await;
    let b = second_tenant(&app).await;
    let listed = b.admin.get("/v1.0/domains").await.expect("B's domains");
    assert_eq!(ids(&listed), vec!["fabrikam.test"]);
    let first = &listed["value"][0];
    assert_eq!(first["isDefault"], json!(true));
    assert_eq!(first["isInitial"], json!(true));
    assert_eq!(first["isVerified"], json!(true));
    assert_eq!(first["authenticationType"], json!("Managed"));

    // A name is the deployment's once: A's domain, in any case, is taken.
    for taken in [DOMAIN, "TAPD.test"] {
        let (status, _, _) = error_of(b.admin.post("/v1.0/domains", &json!({"id": taken})).await);
        assert_eq!(status, 409, "{taken}");
    }
    for bad in ["", "no-dot", "a..b", "x@y.test"] {
        let (status, _, _) = error_of(b.admin.post("/v1.0/domains", &json!({"id": bad})).await);
        assert_eq!(status, 400, "{bad:?}");
    }
    let added = b
        .admin
        .post("/v1.0/domains", &json!({"id": "Contoso.test"}))
        .await
        .expect("B adds a domain");
    assert_eq!(added["id"], json!("Contoso.test"));
    assert_eq!(added["isDefault"], json!(false));
    assert_eq!(added["isVerified"], json!(true));
    let got = b
        .admin
        .get("/v1.0/domains/contoso.test")
        .await
        .expect("get");
    assert_eq!(got["id"], json!("Contoso.test"));
    let (status, _, _) = error_of(app.admin.get("/v1.0/domains/contoso.test").await);
    assert_eq!(status, 404, "A doesn't see B's domain");

    // Users' names must use one of the tenant's domains.
    let carol = NewUser::new("carol@contoso.test", "Carol");
    b.admin
        .create_user(&carol)
        .await
        .expect("a user of the new domain");
    let (status, _, message) = error_of(
        b.admin
            .create_user(&NewUser::new("dave@tapd.test", "Dave"))
            .await,
    );
    assert_eq!(status, 400);
    assert!(
        message.contains("fabrikam.test") && message.contains("Contoso.test"),
        "{message}"
    );
    let (status, _, _) = error_of(
        app.admin
            .create_user(&NewUser::new("eve@contoso.test", "Eve"))
            .await,
    );
    assert_eq!(status, 400, "A can't use B's domain");
    // The sign-in pages find the tenant from the UPN's domain.
    let svc = Services::new(app.store.clone(), app.keys.clone());
    let rec = operator::recover(&svc, t0(), "carol@contoso.test")
        .await
        .expect("a pass for carol");
    let session = app
        .anon
        .sign_in_tap("carol@contoso.test", &rec.code)
        .await
        .expect("carol signs in");
    assert_eq!(
        claims(&session.access_token)["tid"],
        json!(b.id.to_string())
    );

    // A domain in use can't go; the default can't go; a new default moves the flag.
    let (status, _, _) = error_of(b.admin.delete("/v1.0/domains/contoso.test").await);
    assert_eq!(status, 409);
    let (status, _, _) = error_of(b.admin.delete("/v1.0/domains/fabrikam.test").await);
    assert_eq!(status, 400);
    for body in [json!({"isDefault": false}), json!({})] {
        let (status, _, _) = error_of(b.admin.patch("/v1.0/domains/fabrikam.test", &body).await);
        assert_eq!(status, 400, "{body}");
    }
    let (status, _, _) = error_of(
        b.admin
            .patch(
                "/v1.0/domains/contoso.test",
                &json!({"authenticationType": "Federated"}),
            )
            .await,
    );
    assert_eq!(status, 400);
    b.admin
        .patch("/v1.0/domains/contoso.test", &json!({"isDefault": true}))
        .await
        .expect("a new default");
    let listed = b.admin.get("/v1.0/domains").await.expect("domains");
    assert_eq!(ids(&listed), vec!["Contoso.test", "fabrikam.test"]);
    assert_eq!(listed["value"][0]["isDefault"], json!(true));
    assert_eq!(listed["value"][1]["isDefault"], json!(false));
    b.admin
        .delete("/v1.0/users/carol@contoso.test")
        .await
        .expect("carol goes");
    b.admin
        .patch("/v1.0/domains/fabrikam.test", &json!({"isDefault": true}))
        .await
        .expect("back");
    b.admin
        .delete("/v1.0/domains/contoso.test")
        .await
        .expect("an unused domain goes");
    assert_eq!(
        ids(&b.admin.get("/v1.0/domains").await.expect("domains")),
        vec!["fabrikam.test"]
    );
    let audits = b
        .admin
        .get("/v1.0/auditLogs/directoryAudits")
        .await
        .expect("log");
    let text = audits.to_string();
    for activity in ["Add verified domain", "Set default domain", "Delete domain"] {
        assert!(text.contains(activity), "{activity}");
    }

    // Who may: a reader reads, only a Global Administrator changes.
    let (_, reader) = app
        .signed_in("reader", &[tapd_core::Role::GlobalReader])
        .await;
    reader
        .get("/v1.0/domains")
        .await
        .expect("a reader lists domains");
    let (status, _, _) = error_of(reader.post("/v1.0/domains", &json!({"id": "r.test"})).await);
    assert_eq!(status, 403);
    let (_, nobody) = app.signed_in("nobody", &[]).await;
    assert_eq!(status_of(nobody.get("/v1.0/domains").await), 403);
}

/// The admin CLI over HTTP, as `token`'s holder (off the runtime's thread, which serves).
async fn cli(base: &str, token: &str, args: &[&str]) -> (bool, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tapd"));
    command
        .args(args)
        .args(["--server", base, "--token", token])
        .env(
            "HOME",
            std::env::temp_dir().join(format!("tapd-cli-{}", Uuid::new_v4())),
        )
        .env_remove("TAPD_SERVER")
        .env_remove("TAPD_TOKEN");
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("run tapd");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_cli_manages_domains_federation_and_partners() {
    let app = TestApp::spawn().await;
    let b = second_tenant(&app).await;
    let token = b.admin.token().expect("token").to_string();
    let base = app.base.clone();
    let run = |args: &[&str]| {
        let (base, token) = (base.clone(), token.clone());
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            cli(&base, &token, &args).await
        }
    };
    let (ok, out, err) = run(&["domain", "add", "contoso.test"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("contoso.test"), "{out}");
    let (ok, out, _) = run(&["domain", "list"]).await;
    assert!(
        ok && out.contains("fabrikam.test") && out.contains("contoso.test"),
        "{out}"
    );
    let (ok, _, err) = run(&["domain", "add", "tapd.test"]).await;
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, out, err) = run(&[
        "domain",
        "federate",
        "contoso.test",
        "--display-name",
        "Contoso IdP",
        "--issuer",
        "https://idp.contoso.test/v2.0",
        "--client-id",
        "tapd",
        "--mfa",
        "enforce",
    ])
    .await;
    assert!(ok, "{err}");
    assert!(
        out.contains("federation/callback"),
        "the redirect URI to register: {out}"
    );
    let (ok, out, _) = run(&["domain", "federation", "contoso.test", "--json"]).await;
    let shown: Value = serde_json::from_str(&out).expect("json");
    assert!(ok);
    assert_eq!(
        shown["federatedIdpMfaBehavior"],
        json!("enforceMfaByFederatedIdp")
    );
    // Federating again changes the one federation.
    let (ok, _, err) = run(&[
        "domain",
        "federate",
        "contoso.test",
        "--display-name",
        "Contoso",
        "--issuer",
        "https://idp.contoso.test/v2.0",
        "--client-id",
        "tapd",
    ])
    .await;
    assert!(ok, "{err}");
    let (_, out, _) = run(&["domain", "list"]).await;
    assert!(out.contains("Federated"), "{out}");
    let (ok, _, err) = run(&["domain", "unfederate", "contoso.test"]).await;
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["domain", "remove", "contoso.test"]).await;
    assert!(ok, "{err}");

    let a_id = claims(app.admin.token().expect("token"))["tid"]
        .as_str()
        .expect("tid")
        .to_string();
    let (ok, _, err) = run(&["partner", "add", &a_id, "--trust-mfa"]).await;
    assert!(ok, "{err}");
    let (ok, out, _) = run(&["partner", "list"]).await;
    assert!(ok && out.contains(&a_id) && out.contains("yes"), "{out}");
    let (ok, _, err) = run(&["partner", "trust", &a_id, "--mfa", "false"]).await;
    assert!(ok, "{err}");
    let (_, out, _) = run(&["partner", "list", "--json"]).await;
    let listed: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        listed["value"][0]["inboundTrust"]["isMfaAccepted"],
        json!(false)
    );
    let (ok, _, err) = run(&["partner", "remove", &a_id]).await;
    assert!(ok, "{err}");
    let (ok, _, _) = run(&["partner", "remove", &a_id]).await;
    assert!(!ok, "already gone");
}

#[tokio::test]
async fn the_admin_center_manages_domains_federation_and_partners() {
    use crate::browser::Browser;
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app.base);
    browser
        .sign_in_with_password(&app.admin_user.upn, ADMIN_PASSWORD)
        .await;
    let page = browser.get("/admin/organization").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains(DOMAIN) && page.body.contains("(default)"),
        "{}",
        page.body
    );
    let csrf = page.input("csrf");
    let post = |fields: Vec<(&'static str, String)>| {
        let mut form = vec![("csrf", csrf.clone())];
        form.extend(fields);
        form
    };
    let added = browser
        .post_owned(
            "/admin/organization",
            &post(vec![
                ("action", "add-domain".into()),
                ("domain", "contoso.test".into()),
            ]),
        )
        .await;
    assert!(added.body.contains("Added contoso.test."), "{}", added.body);
    let bad = browser
        .post_owned(
            "/admin/organization",
            &post(vec![
                ("action", "add-domain".into()),
                ("domain", "not a domain".into()),
            ]),
        )
        .await;
    assert!(bad.body.contains("organization-error"), "{}", bad.body);
    let federated = browser
        .post_owned(
            "/admin/organization",
            &post(vec![
                ("action", "federate".into()),
                ("domain", "contoso.test".into()),
                ("display_name", "Contoso IdP".into()),
                ("issuer", "https://idp.contoso.test/v2.0".into()),
                ("client_id", "tapd".into()),
                ("mfa", "enforceMfaByFederatedIdp".into()),
            ]),
        )
        .await;
    assert!(
        federated.body.contains("at <strong>Contoso IdP</strong>")
            && federated.body.contains("enforceMfaByFederatedIdp"),
        "{}",
        federated.body
    );
    let f = app
        .admin
        .get("/v1.0/domains/contoso.test/federationConfiguration")
        .await
        .expect("federation");
    assert_eq!(
        f["value"][0]["issuerUri"],
        json!("https://idp.contoso.test/v2.0")
    );
    let partner = Uuid::new_v4().to_string();
    let with = browser
        .post_owned(
            "/admin/organization",
            &post(vec![
                ("action", "add-partner".into()),
                ("tenant", partner.clone()),
                ("trust", "on".into()),
            ]),
        )
        .await;
    assert!(
        with.body.contains(&partner) && with.body.contains(">trusted<"),
        "{}",
        with.body
    );
    let off = browser
        .post_owned(
            "/admin/organization",
            &post(vec![
                ("action", "trust-partner".into()),
                ("tenant", partner.clone()),
            ]),
        )
        .await;
    assert!(off.body.contains("not trusted"), "{}", off.body);
    for (action, field, value) in [
        ("remove-partner", "tenant", partner.clone()),
        ("unfederate", "domain", "contoso.test".to_string()),
        ("remove-domain", "domain", "contoso.test".to_string()),
    ] {
        let done = browser
            .post_owned(
                "/admin/organization",
                &post(vec![("action", action.into()), (field, value)]),
            )
            .await;
        assert!(
            done.body.contains("organization-notice"),
            "{action}: {}",
            done.body
        );
    }
    let listed = app.admin.get("/v1.0/domains").await.expect("domains");
    assert_eq!(ids(&listed), vec![DOMAIN]);
    // A form without the page's CSRF token changes nothing.
    let forged = browser
        .post(
            "/admin/organization",
            &[
                ("csrf", "x"),
                ("action", "add-domain"),
                ("domain", "evil.test"),
            ],
        )
        .await;
    assert_ne!(forged.status, StatusCode::OK);
    assert_eq!(
        ids(&app.admin.get("/v1.0/domains").await.expect("domains")),
        vec![DOMAIN]
    );
}
