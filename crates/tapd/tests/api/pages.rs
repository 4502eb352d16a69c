//! The signed-in pages over HTTP (the browser suite in tests/web drives them in Chromium too):
//! My Security Info, the admin center's pass issuance shown once, policy validation, and what
//! each role sees.

use reqwest::StatusCode;
use serde_json::json;
use tapd_core::Role;

use crate::browser::{Browser, unescape};
use crate::helpers::*;

#[tokio::test]
async fn an_admin_issues_a_pass_in_the_admin_center_and_the_user_uses_it_once() {
    let app = TestApp::spawn().await;
    let mut admin = Browser::new(&app.base);
    let landed = admin
        .sign_in_with_password(&app.admin_user.upn, ADMIN_PASSWORD)
        .await;
    assert_eq!(landed.location.as_deref(), Some("/mysecurityinfo"));
    let info = admin.get("/mysecurityinfo").await;
    assert!(
        info.body.contains("id=\"add-method-banner\""),
        "no passkey yet: the banner"
    );

    let csrf = admin.csrf().await;
    let created = admin
        .post(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("upn", "alice@tapd.test"),
                ("name", "Alice"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let user_page = created.location.expect("to the user's page");
    let issued = admin
        .post(
            &format!("{user_page}/tap"),
            &[
                ("csrf", &csrf),
                ("start", "now"),
                ("lifetime", "60"),
                ("once", "on"),
            ],
        )
        .await;
    // POST/redirect/GET: the answer to the form is a redirect to the page that shows the pass.
    assert_eq!(issued.status, StatusCode::SEE_OTHER, "{}", issued.body);
    let shown_at = issued.location.expect("to the page that shows the pass");
    assert!(shown_at.starts_with(&user_page), "{shown_at}");
    let shown_page = admin.get(&shown_at).await;
    assert_eq!(shown_page.status, StatusCode::OK);
    let marker = "id=\"issued-pass\">";
    let at = shown_page.body.find(marker).expect("the pass is shown") + marker.len();
    // The page escapes the code's symbols (`&` is one of them).
    let shown = &shown_page.body[at..at + shown_page.body[at..].find('<').expect("end")];
    let code = unescape(shown);
    assert!(
        !admin.get(&user_page).await.body.contains(shown),
        "shown only once"
    );
    // Reloading the page that showed it shows it no more, and issues nothing: the code read
    // out is still the one that works (Alice signs in with it below).
    let reloaded = admin.get(&shown_at).await;
    assert_eq!(reloaded.status, StatusCode::OK);
    assert!(!reloaded.body.contains(shown), "shown only once");
    assert!(!reloaded.body.contains("id=\"issued-pass\""));
    assert!(reloaded.body.contains("shown once"), "{}", reloaded.body);

    let mut alice = Browser::new(&app.base);
    let page = alice.get("/signin").await;
    let done = alice.sign_in_with_tap(page, "alice@tapd.test", &code).await;
    assert_eq!(done.location.as_deref(), Some("/mysecurityinfo"));
    let info = alice.get("/mysecurityinfo").await;
    assert!(info.body.contains("One-time"), "{}", info.body);
    assert!(
        info.body.contains("you have until"),
        "the 10-minute window is shown"
    );

    let mut again = Browser::new(&app.base);
    let page = again.get("/signin").await;
    let refused = again.sign_in_with_tap(page, "alice@tapd.test", &code).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.body.contains("has been used"));

    // Alice deletes her pass; the session it opened ends.
    let tap_id = info.input("id");
    let csrf = info.input("csrf");
    let deleted = alice
        .post(
            "/mysecurityinfo/delete",
            &[("csrf", &csrf), ("kind", "tap"), ("id", &tap_id)],
        )
        .await;
    assert_eq!(deleted.location.as_deref(), Some("/signin?ended=pass"));
    assert!(
        !alice.cookies.contains_key("tapd_session"),
        "the ended session's cookie is cleared"
    );
    let why = alice.get("/signin?ended=pass").await;
    assert!(
        why.body
            .contains("Your Temporary Access Pass was deleted, so you were signed out. Sign in with your passkey."),
        "{}",
        why.body
    );
    let after = alice.get("/mysecurityinfo").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "signed out");
    let to = after.location.expect("to sign in");
    assert!(to.starts_with("/signin?next="), "{to}");
}

#[tokio::test]
async fn policy_changes_are_validated_and_a_refusal_changes_nothing() {
    let app = TestApp::spawn().await;
    let before = app.policy_json().await;
    let mut admin = Browser::new(&app.base);
    admin
        .sign_in_with_password(&app.admin_user.upn, ADMIN_PASSWORD)
        .await;
    let page = admin.get("/admin/policy").await;
    assert!(
        page.body.contains("10 to 43,200 minutes"),
        "the limits are shown"
    );
    let csrf = page.input("csrf");
    let form = |min: &'static str, max: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("enabled", "on".to_string()),
            ("include", "all_users".to_string()),
            ("min", min.to_string()),
            ("max", max.to_string()),
            ("default", "60".to_string()),
            ("length", "10".to_string()),
        ]
    };
    let refused = admin.post_owned("/admin/policy", &form("120", "60")).await;
    assert!(
        refused.body.contains("id=\"policy-error\""),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("value=\"120\""),
        "what was typed is kept"
    );
    assert!(
        refused.body.contains(
            "Minimum lifetime (120 minutes) must not be greater than maximum lifetime (60 minutes)."
        ),
        "the page's own labels: {}",
        refused.body
    );
    let out_of_range = admin.post_owned("/admin/policy", &form("5", "600")).await;
    assert!(
        out_of_range
            .body
            .contains("Minimum lifetime must be between 10 and 43,200 minutes."),
        "{}",
        out_of_range.body
    );
    assert_eq!(app.policy_json().await, before, "nothing changed");
    let saved = admin.post_owned("/admin/policy", &form("30", "600")).await;
    assert!(saved.body.contains("id=\"policy-saved\""), "{}", saved.body);
    let after = app.policy().await.policy;
    assert_eq!(after.maximum_lifetime_in_minutes, 600);
    assert_eq!(after.default_length, 10);
    assert!(!after.is_usable_once);
}

#[tokio::test]
async fn each_role_sees_only_what_it_may_do() {
    let app = TestApp::spawn().await;
    let target = app.create_user("target").await;
    for (alias, role, sees_policy, edits_policy, sees_users, issues) in [
        ("reader", Role::GlobalReader, true, false, true, false),
        (
            "policyadmin",
            Role::AuthenticationPolicyAdministrator,
            true,
            true,
            false,
            false,
        ),
        (
            "helpdesk",
            Role::AuthenticationAdministrator,
            false,
            false,
            true,
            true,
        ),
    ] {
        let user = app.user_with_roles(alias, &[role]).await;
        let pass = app.issue(&user.upn, json!({})).await;
        let mut b = Browser::new(&app.base);
        let page = b.get("/signin").await;
        b.sign_in_with_tap(page, &user.upn, code_of(&pass)).await;
        let nav = b.get("/mysecurityinfo").await.body;
        assert_eq!(
            nav.contains("href=\"/admin/policy\""),
            sees_policy,
            "{alias} policy link"
        );
        assert_eq!(
            nav.contains("href=\"/admin/users\""),
            sees_users,
            "{alias} users link"
        );
        let policy = b.get("/admin/policy").await;
        assert_eq!(
            policy.status == StatusCode::OK,
            sees_policy,
            "{alias} policy page"
        );
        if sees_policy {
            assert_eq!(
                policy.body.contains(">Save</button>"),
                edits_policy,
                "{alias} save"
            );
        }
        let user_page = b.get(&format!("/admin/users/{}", target.id)).await;
        assert_eq!(
            user_page.status == StatusCode::OK,
            sees_users,
            "{alias} user page"
        );
        assert_eq!(
            user_page.body.contains("id=\"add-tap\""),
            issues,
            "{alias} add pass"
        );
        // The server refuses what the page does not offer.
        let csrf = b.csrf().await;
        let issued = b
            .post(
                &format!("/admin/users/{}/tap", target.id),
                &[("csrf", &csrf), ("start", "now")],
            )
            .await;
        let shown = match &issued.location {
            Some(to) => b.get(to).await.body,
            None => issued.body.clone(),
        };
        assert_eq!(
            shown.contains("id=\"issued-pass\""),
            issues,
            "{alias} issues"
        );
    }
    let mut anonymous = Browser::new(&app.base);
    let redirected = anonymous.get("/admin/users").await;
    assert_eq!(redirected.status, StatusCode::SEE_OTHER);
    assert_eq!(
        redirected.location.as_deref(),
        Some("/signin?next=%2Fadmin%2Fusers")
    );
}

#[tokio::test]
async fn the_sign_in_page_offers_a_pass_first_and_never_a_password_a_user_does_not_have() {
    let app = TestApp::spawn().await;
    let carol = TestApp::upn("carol");
    let new = tapd_client::NewUser::new(&carol, "Carol");
    app.admin
        .create_user(&new)
        .await
        .expect("a user without a password");
    app.issue(&carol, json!({})).await;
    let methods_for = |upn: String| {
        let base = app.base.clone();
        async move {
            let mut b = Browser::new(&base);
            let page = b.get("/signin").await;
            let csrf = page.input("csrf");
            b.post("/signin", &[("csrf", &csrf), ("username", &upn)])
                .await
                .body
        }
    };
    // No password and a usable pass: the pass, and no password field.
    let page = methods_for(carol.clone()).await;
    assert!(page.contains("id=\"tap-form\""), "{page}");
    assert!(!page.contains("id=\"password-form\""), "{page}");
    // Someone unknown looks like a password-only user (SPEC §6.1).
    let page = methods_for("nobody@tapd.test".into()).await;
    assert!(page.contains("id=\"password-form\""), "{page}");
    assert!(page.contains("Use a Temporary Access Pass"), "{page}");
    // A password and a usable pass: the pass first, the password behind a disclosure.
    let dave = app.create_user("dave").await;
    app.issue(&dave.upn, json!({})).await;
    let page = methods_for(dave.upn.clone()).await;
    let (tap, password) = (
        page.find("id=\"tap-form\""),
        page.find("id=\"password-form\""),
    );
    assert!(
        tap.is_some() && password.is_some() && tap < password,
        "{page}"
    );
    assert!(page.contains("Use your password instead"), "{page}");
}

#[tokio::test]
async fn the_favicon_is_served() {
    let app = TestApp::spawn().await;
    let response = reqwest::get(format!("{}/favicon.ico", app.base))
        .await
        .expect("favicon");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().expect("ascii"),
        "image/x-icon"
    );
    let bytes = response.bytes().await.expect("body");
    assert_eq!(&bytes[..4], &[0, 0, 1, 0], "an ICO file");
}
