//! Cross-tenant guests (SPEC §8): tenant B invites a user of tenant A (same deployment); the
//! guest signs in to B's apps by signing in at A, and B accepts it only when its cross-tenant
//! access policy trusts A (`inboundTrust.isMfaAccepted`). What B issues carries B's tenant and
//! the guest's object id there, and ends no later than A's pass.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tapd_client::Client;
use tapd_core::Permission;
use tapd_server::service::apps;
use time::Duration;

use crate::browser::{Browser, Page};
use crate::helpers::*;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const APP_REDIRECT: &str = "http://127.0.0.1:8400/cb";
const PARTNERS: &str = "/v1.0/policies/crossTenantAccessPolicy/partners";

struct Two {
    app: TestApp,
    a_id: String,
    b_id: String,
    b_admin: Client,
    b_app: String,
}

async fn two_tenants() -> Two {
    let app = TestApp::spawn().await;
    let b = app.add_tenant("fabrikam.test", "Fabrikam").await;
    let spec = apps::AppSpec {
        name: "Fabrikam wiki".into(),
        public_redirect_uris: vec![APP_REDIRECT.into()],
        ..Default::default()
    };
    let b_app = app.create_app_in(Some("fabrikam.test"), &spec).await;
    let a_id = claims(app.admin.token().expect("token"))["tid"]
        .as_str()
        .expect("tid")
        .to_string();
    Two {
        a_id,
        b_id: b.id.to_string(),
        b_admin: b.admin,
        b_app: b_app.client_id.to_string(),
        app,
    }
}

fn authorize_path(t: &Two) -> String {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &t.b_app)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", APP_REDIRECT)
        .append_pair("scope", "openid offline_access")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    format!("/{}/oauth2/v2.0/authorize?{query}", t.b_id)
}

/// Signs in on the pages for B's app with a credential of the home tenant.
async fn sign_in_for_b(t: &Two, browser: &mut Browser, upn: &str, tap: Option<&str>) -> Page {
    let page = browser.get(&authorize_path(t)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let (csrf, authz) = (page.input("csrf"), page.input("authz"));
    match tap {
        Some(code) => {
            let form = [
                ("csrf", csrf.as_str()),
                ("authz", authz.as_str()),
                ("username", upn),
                ("code", code),
            ];
            browser.post("/signin/tap", &form).await
        }
        None => {
            let form = [
                ("csrf", csrf.as_str()),
                ("authz", authz.as_str()),
                ("username", upn),
                ("password", "correct horse battery"),
            ];
            browser.post("/signin/password", &form).await
        }
    }
}

/// The tokens for the code the app was sent back with.
async fn redeem(t: &Two, page: &Page) -> Value {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let location = page.location.clone().expect("to the app");
    let query = location.split_once('?').expect("query").1;
    let code = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code: {location}"));
    reqwest::Client::new()
        .post(format!("{}/{}/oauth2/v2.0/token", t.app.base, t.b_id))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", APP_REDIRECT),
            ("client_id", t.b_app.as_str()),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn a_guest_of_another_tenant_signs_in_at_home_and_is_accepted_only_when_trusted() {
    let t = two_tenants().await;
    let alice = t.app.create_user("alice").await;
    let invited = t
        .b_admin
        .invite(&alice.upn, "https://fabrikam.test/welcome")
        .await
        .expect("B invites A's Alice");
    let guest_id = invited.invited_user.id.clone();
    let guest = t.b_admin.user(&guest_id).await.expect("the guest in B");
    assert_eq!(guest.user_type, "Guest");
    assert_ne!(guest.id, alice.id, "the guest is B's own object");

    // Without trust, B refuses with a page that names both organizations.
    let pass = t
        .app
        .issue(
            &alice.upn,
            json!({"lifetimeInMinutes": 60, "isUsableOnce": false}),
        )
        .await;
    let mut browser = Browser::new(&t.app.base);
    let refused = sign_in_for_b(&t, &mut browser, &alice.upn, Some(code_of(&pass))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(
        refused.body.contains("Fabrikam") && refused.body.contains(DOMAIN),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("isMfaAccepted"), "{}", refused.body);

    // B trusts A: the same browser session is accepted, as the guest.
    t.b_admin
        .post(
            PARTNERS,
            &json!({"tenantId": t.a_id, "inboundTrust": {"isMfaAccepted": true}}),
        )
        .await
        .expect("B trusts A");
    // Fifty minutes on, A's pass has ten left: B's tokens end with it.
    t.app.clock.advance(Duration::minutes(50));
    let again = browser.get(&authorize_path(&t)).await;
    let tokens = redeem(&t, &again).await;
    let access = claims(tokens["access_token"].as_str().expect("access token"));
    assert_eq!(access["tid"], json!(t.b_id));
    assert_eq!(access["sub"], json!(guest_id));
    let id = claims(tokens["id_token"].as_str().expect("id token"));
    assert_eq!(id["tid"], json!(t.b_id));
    assert_eq!(id["oid"], json!(guest_id));
    assert_eq!(id["amr"], json!(["tap"]));
    let pass_end = (t0() + Duration::minutes(60)).unix_timestamp();
    assert_eq!(
        access["exp"].as_i64().expect("exp"),
        pass_end,
        "capped at A's pass"
    );
    // Graph with the guest's token acts in B, as the guest.
    let as_guest = t
        .app
        .anon
        .clone()
        .with_token(tokens["access_token"].as_str().expect("token"));
    let me = as_guest.me().await.expect("me");
    assert_eq!(me.id, guest_id);
    assert_eq!(me.user_type, "Guest");

    // A deletes the pass: B's refresh fails.
    t.app
        .admin
        .delete_tap(&alice.upn, &pass.id)
        .await
        .expect("A deletes the pass");
    let refresh = tokens["refresh_token"].as_str().expect("a refresh token");
    let refreshed = reqwest::Client::new()
        .post(format!("{}/{}/oauth2/v2.0/token", t.app.base, t.b_id))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", t.b_app.as_str()),
        ])
        .send()
        .await
        .expect("refresh");
    assert_eq!(refreshed.status(), StatusCode::BAD_REQUEST);
    let body: Value = refreshed.json().await.expect("json");
    assert_eq!(body["error"], json!("invalid_grant"));

    // Trust off again: refused, also after a password sign-in at home.
    t.b_admin
        .patch(
            &format!("{PARTNERS}/{}", t.a_id),
            &json!({"inboundTrust": {"isMfaAccepted": false}}),
        )
        .await
        .expect("B stops trusting A");
    let mut browser = Browser::new(&t.app.base);
    let refused = sign_in_for_b(&t, &mut browser, &alice.upn, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    // Someone of A whom B never invited is sent back to the app with access_denied.
    let bob = t.app.create_user("bob").await;
    let mut browser = Browser::new(&t.app.base);
    let back = sign_in_for_b(&t, &mut browser, &bob.upn, None).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    let location = back.location.expect("to the app");
    assert!(location.contains("error=access_denied"), "{location}");
}

#[tokio::test]
async fn invitations_find_the_home_tenant_and_external_guests_still_hold_no_pass() {
    let t = two_tenants().await;
    // An address of B's own domain is no guest; a name nobody holds at A is refused.
    let (status, _, _) = error_of(
        t.b_admin
            .invite("someone@fabrikam.test", "https://fabrikam.test")
            .await,
    );
    assert_eq!(status, 400);
    let (status, _, message) =
        error_of(t.b_admin.invite("nobody@tapd.test", "https://x.test").await);
    assert_eq!(status, 400);
    assert!(message.contains("nobody@tapd.test"), "{message}");
    // An address elsewhere is an external guest as before, and can't hold a pass.
    let outside = t
        .b_admin
        .invite("carol@elsewhere.example", "https://fabrikam.test")
        .await
        .expect("an external guest");
    let (status, _, _) = error_of(
        t.b_admin
            .create_tap(&outside.invited_user.id, &json!({}))
            .await,
    );
    assert_eq!(status, 400);
    let alice = t.app.create_user("alice").await;
    let invited = t
        .b_admin
        .invite(&alice.upn, "https://fabrikam.test")
        .await
        .expect("a cross-tenant guest");
    let (status, _, _) = error_of(
        t.b_admin
            .create_tap(&invited.invited_user.id, &json!({}))
            .await,
    );
    assert_eq!(status, 400, "a cross-tenant guest's pass is its home's");
    let (status, _, _) = error_of(t.b_admin.invite(&alice.upn, "https://fabrikam.test").await);
    assert_eq!(status, 409, "invited once");
}

#[tokio::test]
async fn partners_are_graph_shaped_and_the_tenants_own() {
    let t = two_tenants().await;
    let made = t
        .b_admin
        .post(
            PARTNERS,
            &json!({"tenantId": t.a_id, "inboundTrust": {"@odata.type": "#microsoft.graph.crossTenantAccessPolicyInboundTrust", "isMfaAccepted": true}}),
        )
        .await
        .expect("create");
    assert_eq!(made["tenantId"], json!(t.a_id));
    assert_eq!(made["inboundTrust"]["isMfaAccepted"], json!(true));
    assert_eq!(
        made["inboundTrust"]["isCompliantDeviceAccepted"],
        json!(false)
    );
    for (body, status) in [
        (json!({"tenantId": t.a_id}), 409),
        (json!({"tenantId": t.b_id}), 400),
        (json!({"tenantId": "not-a-tenant"}), 400),
        (json!({"inboundTrust": {"isMfaAccepted": true}}), 400),
        (
            json!({"tenantId": uuid::Uuid::new_v4(), "inboundTrust": {"isCompliantDeviceAccepted": true}}),
            400,
        ),
        (
            json!({"tenantId": uuid::Uuid::new_v4(), "b2bCollaborationInbound": {}}),
            400,
        ),
    ] {
        let (got, _, message) = error_of(t.b_admin.post(PARTNERS, &body).await);
        assert_eq!(got, status, "{body}: {message}");
    }
    let listed = t.b_admin.get(PARTNERS).await.expect("list");
    assert_eq!(listed["value"].as_array().expect("value").len(), 1);
    let item = format!("{PARTNERS}/{}", t.a_id);
    t.b_admin
        .patch(&item, &json!({"inboundTrust": {"isMfaAccepted": false}}))
        .await
        .expect("patch");
    let got = t.b_admin.get(&item).await.expect("get");
    assert_eq!(got["inboundTrust"]["isMfaAccepted"], json!(false));

    // A's policy is its own: it sees none of B's.
    let a_list = t.app.admin.get(PARTNERS).await.expect("A's partners");
    assert!(a_list["value"].as_array().expect("value").is_empty());
    assert_eq!(status_of(t.app.admin.get(&item).await), 404);
    assert_eq!(
        status_of(t.app.admin.get(&format!("{PARTNERS}/{}", t.b_id)).await),
        404
    );

    // Who may: readers read; an app needs Policy.ReadWrite.CrossTenantAccess to change it.
    let (_, reader) = t
        .app
        .signed_in("reader", &[tapd_core::Role::GlobalReader])
        .await;
    reader.get(PARTNERS).await.expect("a reader reads");
    let (status, _, _) = error_of(reader.post(PARTNERS, &json!({"tenantId": t.b_id})).await);
    assert_eq!(status, 403);
    let policy_app = t
        .app
        .app(&[Permission::PolicyReadWriteCrossTenantAccess])
        .await;
    policy_app
        .post(
            PARTNERS,
            &json!({"tenantId": t.b_id, "inboundTrust": {"isMfaAccepted": true}}),
        )
        .await
        .expect("an app with the permission");
    let other_app = t.app.app(&[Permission::UserReadWriteAll]).await;
    assert_eq!(status_of(other_app.get(PARTNERS).await), 403);

    t.b_admin.delete(&item).await.expect("delete");
    assert_eq!(status_of(t.b_admin.get(&item).await), 404);
    let audits = t
        .b_admin
        .get("/v1.0/auditLogs/directoryAudits")
        .await
        .expect("log");
    assert!(audits.to_string().contains("cross-tenant access setting"));
}
