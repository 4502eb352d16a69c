//! SPEC §5.1: the code is never stored, returned or logged in clear.

use serde_json::json;

use crate::helpers::{TestApp, code_of};

#[tokio::test]
async fn codes_never_appear_in_the_database_or_any_read() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let mut codes = Vec::new();
    for body in [
        json!({}),
        json!({"isUsableOnce": true}),
        json!({"lifetimeInMinutes": 480}),
    ] {
        let pass = app.issue(&alice.upn, body).await;
        let code = code_of(&pass).to_string();
        codes.push(code);
    }
    app.anon
        .sign_in_tap(&alice.upn, codes.last().expect("code"))
        .await
        .expect("sign in");
    app.anon
        .sign_in_tap(&alice.upn, &codes[0])
        .await
        .expect_err("replaced");

    let dump = app.store.dump_text().await.expect("dump");
    let mut reads = String::new();
    for path in [
        format!(
            "/v1.0/users/{}/authentication/temporaryAccessPassMethods",
            alice.id
        ),
        format!("/v1.0/users/{}/authentication/methods", alice.id),
        "/v1.0/auditLogs/directoryAudits?$top=999".into(),
        "/v1.0/auditLogs/signIns?$top=999".into(),
        "/v1.0/users".into(),
    ] {
        reads.push_str(&app.admin.get(&path).await.expect("read").to_string());
    }
    assert!(dump.contains(&alice.upn), "the dump does hold the data");
    for code in &codes {
        assert!(!dump.contains(code.as_str()), "code {code} in the database");
        assert!(!reads.contains(code.as_str()), "code {code} in a read");
    }
}
