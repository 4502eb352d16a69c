//! Passkeys (SPEC §6.3): registered from a TAP session, used to sign in with and without a user
//! name, listed and removed through Graph; ceremonies shared by replicas; the ten-minute window
//! after a one-time pass (SPEC §6.2); refusals.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::{COOKIE, HeaderMap, SET_COOKIE};
use serde_json::{Value, json};
use tapd_client::{Client, ClientError, DirectoryAudit, Session, SignIn};
use tapd_core::Role;
use tapd_server::Clock as _;
use tapd_store::{AuditRecord, PasskeyRecord, StoreError};
use time::Duration;
use webauthn_rp::bin::Decode as _;
use webauthn_rp::response::register::DynamicState;

use crate::authenticator::{AAGUID_TEXT, Device};
use crate::helpers::{TestApp, User, claims, error_of, status_of, t0};

/// The public URL of the test servers: passkeys are bound to its host (the RP ID) and origin.
/// Nothing listens there; the device only puts it in what it signs.
const ORIGIN: &str = "http://localhost:8443";

async fn spawn() -> TestApp {
    TestApp::spawn_with(|c| c.public_url = Some(ORIGIN.into())).await
}

/// Registers a passkey on `device` for the holder of `client`'s session.
async fn register(client: &Client, device: &mut Device, name: &str) -> Result<Value, ClientError> {
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
            &json!({"displayName": name, "credential": credential}),
        )
        .await
}

/// Signs in with the passkey on `device`, naming `username` or no one.
async fn sign_in(
    anon: &Client,
    device: &mut Device,
    username: Option<&str>,
) -> Result<Session, ClientError> {
    let body = username.map_or(json!({}), |u| json!({"username": u}));
    let started = anon.post("/api/signin/passkey/start", &body).await?;
    let assertion = device
        .get(&started["options"], ORIGIN)
        .await
        .expect("the device answers");
    anon.sign_in_passkey(&assertion).await
}

/// A user signed in with a fresh pass (`pass` as the issue body); the client holds the token.
async fn signed_in_with(app: &TestApp, user: &User, pass: Value) -> (Client, Session) {
    let pass = app.issue(&user.upn, pass).await;
    let session = app.sign_in_with(&user.upn, &pass).await.expect("sign in");
    (app.anon.clone().with_token(&session.access_token), session)
}

async fn stored(app: &TestApp, method_id: &str) -> Option<PasskeyRecord> {
    let credential_id = URL_SAFE_NO_PAD.decode(method_id).expect("base64url id");
    app.store.passkey(&credential_id).await.expect("read")
}

fn sign_count(p: &PasskeyRecord) -> u32 {
    let bytes: [u8; 7] = p.dynamic_state.clone().try_into().expect("7 bytes");
    DynamicState::decode(bytes)
        .expect("dynamic state")
        .sign_count
}

/// A passkey session: tokens as the TAP API gives them, `amr` fido, no pass and no pass cap.
async fn assert_passkey_session(app: &TestApp, session: &Session, user: &User) {
    assert_eq!(session.amr, ["fido"]);
    assert_eq!(session.user.user_principal_name, user.upn);
    let access = claims(&session.access_token);
    assert_eq!(access["amr"], json!(["fido"]));
    assert!(access.get("tap").is_none(), "{access}");
    assert_eq!(
        session.refresh_token_expires_at,
        app.clock.now() + Duration::hours(24)
    );
    let me = app
        .anon
        .clone()
        .with_token(&session.access_token)
        .me()
        .await
        .expect("the token works");
    assert_eq!(me.id, user.id);
}

async fn sign_ins(app: &TestApp) -> Vec<SignIn> {
    app.admin.sign_ins(None).await.expect("sign-ins").value
}

async fn directory_audits(app: &TestApp) -> Vec<DirectoryAudit> {
    app.admin.directory_audits(None).await.expect("audit").value
}

#[tokio::test]
async fn a_passkey_registered_after_a_tap_sign_in_signs_in_with_and_without_a_user_name() {
    let app = spawn().await;
    let alice = app.create_user("alice").await;
    let (client, _) = signed_in_with(&app, &alice, json!({})).await;
    let mut device = Device::new();

    let method = register(&client, &mut device, "  Alice's laptop ")
        .await
        .expect("registered");
    assert_eq!(
        method,
        json!({
            "@odata.type": "#microsoft.graph.fido2AuthenticationMethod",
            "id": method["id"],
            "displayName": "Alice's laptop",
            "createdDateTime": "2026-06-01T12:00:00Z",
            "aaGuid": AAGUID_TEXT,
            "model": null,
            "attestationLevel": "notAttested",
            "attestationCertificates": [],
        })
    );
    let id = method["id"].as_str().expect("id");

    // With a user name: a request for that user's passkey, user verification required.
    let started = app
        .anon
        .post("/api/signin/passkey/start", &json!({"username": alice.upn}))
        .await
        .expect("start");
    let options = &started["options"];
    assert_eq!(options["rpId"], "localhost");
    assert_eq!(options["userVerification"], "required");
    assert_eq!(options["allowCredentials"][0]["id"], id);
    let assertion = device.get(options, ORIGIN).await.expect("assertion");
    let session = app
        .anon
        .sign_in_passkey(&assertion)
        .await
        .expect("signed in with a user name");
    assert_passkey_session(&app, &session, &alice).await;

    // Without one.
    let session = sign_in(&app.anon, &mut device, None)
        .await
        .expect("signed in without a user name");
    assert_passkey_session(&app, &session, &alice).await;

    let record = stored(&app, id).await.expect("stored");
    assert_eq!(sign_count(&record), 2, "the counter follows the device");
    assert_eq!(record.last_used_at, Some(t0()));

    // Listed with the other methods, for the user and for an admin.
    let mine = app.anon.clone().with_token(&session.access_token);
    let listed = mine
        .get("/v1.0/me/authentication/fido2Methods")
        .await
        .expect("list");
    assert_eq!(listed["value"], json!([method]));
    let by_admin = app
        .admin
        .get(&format!(
            "/v1.0/users/{}/authentication/fido2Methods",
            alice.upn
        ))
        .await
        .expect("list");
    assert_eq!(by_admin["value"], json!([method]));
    let one = app
        .admin
        .get(&format!(
            "/v1.0/users/{}/authentication/fido2Methods/{id}",
            alice.id
        ))
        .await
        .expect("get");
    assert_eq!(one, method);
    let all = mine.my_methods().await.expect("methods");
    let types: Vec<&str> = all.value.iter().map(|m| m.odata_type()).collect();
    assert!(
        types.contains(&"#microsoft.graph.fido2AuthenticationMethod"),
        "{types:?}"
    );
    assert!(types.contains(&"#microsoft.graph.temporaryAccessPassAuthenticationMethod"));

    let signins = sign_ins(&app).await;
    let passkey_successes = signins
        .iter()
        .filter(|s| {
            s.authentication_methods_used == ["Passkey"]
                && s.status.error_code == 0
                && s.user_id.as_deref() == Some(alice.id.as_str())
        })
        .count();
    assert_eq!(passkey_successes, 2);
    let audits = directory_audits(&app).await;
    assert!(audits.iter().any(|a| {
        a.activity_display_name == "User registered security info"
            && a.target_resources.first().map(|t| t.id.as_str()) == Some(alice.id.as_str())
    }));

    // The user removes it; it no longer signs in.
    let path = format!("/v1.0/me/authentication/fido2Methods/{id}");
    mine.delete(&path).await.expect("deleted");
    assert_eq!(status_of(mine.get(&path).await), 404);
    assert_eq!(status_of(mine.delete(&path).await), 404);
    let (status, code, message) = error_of(sign_in(&app.anon, &mut device, Some(&alice.upn)).await);
    assert_eq!(
        (status, code.as_str()),
        (401, "unauthenticated"),
        "{message}"
    );
    assert!(message.contains("not registered"), "{message}");
}

#[tokio::test]
async fn an_unknown_user_name_gets_the_same_request_as_no_name() {
    let app = spawn().await;
    let nameless = app
        .anon
        .post("/api/signin/passkey/start", &json!({}))
        .await
        .expect("start");
    let unknown = app
        .anon
        .post(
            "/api/signin/passkey/start",
            &json!({"username": "nobody@tapd.test"}),
        )
        .await
        .expect("start");
    let without_passkey = app
        .anon
        .post(
            "/api/signin/passkey/start",
            &json!({"username": app.admin_user.upn}),
        )
        .await
        .expect("start");
    let shape = |v: &Value| {
        let mut o = v["options"].clone();
        o["challenge"] = json!("…");
        o
    };
    assert_eq!(shape(&unknown), shape(&nameless));
    assert_eq!(shape(&without_passkey), shape(&nameless));
    assert_eq!(nameless["options"]["userVerification"], "required");
    assert_ne!(
        nameless["options"]["challenge"],
        unknown["options"]["challenge"]
    );
}

#[tokio::test]
async fn helpdesk_removes_a_users_passkey_and_readers_only_read() {
    let app = spawn().await;
    let alice = app.create_user("alice").await;
    let (client, _) = signed_in_with(&app, &alice, json!({})).await;
    let method = register(&client, &mut Device::new(), "key")
        .await
        .expect("registered");
    let path = format!(
        "/v1.0/users/{}/authentication/fido2Methods/{}",
        alice.id,
        method["id"].as_str().expect("id")
    );

    let (_, reader) = app.signed_in("reader", &[Role::GlobalReader]).await;
    assert_eq!(reader.get(&path).await.expect("read"), method);
    assert_eq!(status_of(reader.delete(&path).await), 403);
    let (_, bob) = app.signed_in("bob", &[]).await;
    assert_eq!(status_of(bob.get(&path).await), 403);
    assert_eq!(status_of(bob.delete(&path).await), 403);

    let (_, helpdesk) = app
        .signed_in("helpdesk", &[Role::AuthenticationAdministrator])
        .await;
    helpdesk.delete(&path).await.expect("deleted");
    assert_eq!(status_of(helpdesk.get(&path).await), 404);
    assert_eq!(status_of(helpdesk.delete(&path).await), 404);
    assert_eq!(status_of(helpdesk.get(&format!("{path}x!")).await), 404);
    let audits = directory_audits(&app).await;
    let deletions: Vec<&DirectoryAudit> = audits
        .iter()
        .filter(|a| a.activity_display_name == "Admin deleted security info")
        .collect();
    assert_eq!(deletions.len(), 1, "one record for the one deletion");
    assert_eq!(deletions[0].target_resources[0].id, alice.id);
}

#[tokio::test]
async fn a_ceremony_started_on_one_replica_finishes_on_another() {
    let app = spawn().await;
    let replica = app.replica(|c| c.public_url = Some(ORIGIN.into())).await;
    let alice = app.create_user("alice").await;
    let (_, session) = signed_in_with(&app, &alice, json!({})).await;
    let on_first = app.anon.clone().with_token(&session.access_token);
    let on_second = replica.anon.clone().with_token(&session.access_token);
    let mut device = Device::new();

    let started = on_first
        .post("/api/passkeys/register/start", &json!({}))
        .await
        .expect("start");
    let credential = device
        .create(&started["options"], ORIGIN)
        .await
        .expect("create");
    on_second
        .post(
            "/api/passkeys/register/finish",
            &json!({"displayName": "key", "credential": credential}),
        )
        .await
        .expect("finished on the other replica");

    let started = replica
        .anon
        .post("/api/signin/passkey/start", &json!({"username": alice.upn}))
        .await
        .expect("start");
    let assertion = device.get(&started["options"], ORIGIN).await.expect("get");
    let session = app
        .anon
        .sign_in_passkey(&assertion)
        .await
        .expect("finished on the first replica");
    assert_passkey_session(&app, &session, &alice).await;
}

#[tokio::test]
async fn after_a_one_time_pass_registration_must_finish_within_ten_minutes() {
    let app = spawn().await;
    let once = json!({"isUsableOnce": true});
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let carol = app.create_user("carol").await;
    let (alice_client, _) = signed_in_with(&app, &alice, once.clone()).await;
    let (_, bob_session) = signed_in_with(&app, &bob, once).await;
    let (carol_client, _) = signed_in_with(&app, &carol, json!({})).await;
    let (mut alice_device, mut bob_device) = (Device::new(), Device::new());

    app.clock
        .advance(Duration::minutes(9) + Duration::seconds(50));
    let alice_started = alice_client
        .post("/api/passkeys/register/start", &json!({}))
        .await
        .expect("start at 9:50");
    let bob_started = app
        .anon
        .clone()
        .with_token(&bob_session.access_token)
        .post("/api/passkeys/register/start", &json!({}))
        .await
        .expect("start at 9:50");
    // A refreshed token does not move the sign-in.
    let refreshed = app
        .anon
        .refresh(&bob_session.refresh_token)
        .await
        .expect("refresh at 9:50");
    let bob_client = app.anon.clone().with_token(refreshed.access_token);

    app.clock.advance(Duration::seconds(9));
    let credential = alice_device
        .create(&alice_started["options"], ORIGIN)
        .await
        .expect("create");
    alice_client
        .post(
            "/api/passkeys/register/finish",
            &json!({"displayName": "key", "credential": credential}),
        )
        .await
        .expect("finished at 9:59");

    app.clock.advance(Duration::seconds(62));
    let credential = bob_device
        .create(&bob_started["options"], ORIGIN)
        .await
        .expect("create");
    let late = bob_client
        .post(
            "/api/passkeys/register/finish",
            &json!({"displayName": "key", "credential": credential}),
        )
        .await;
    let (status, code, message) = error_of(late);
    assert_eq!((status, code.as_str()), (403, "accessDenied"));
    assert!(message.contains("within 10 minutes"), "{message}");
    assert!(
        message.contains("Ask your administrator for a new pass"),
        "{message}"
    );
    assert_eq!(
        status_of(
            bob_client
                .post("/api/passkeys/register/start", &json!({}))
                .await
        ),
        403
    );
    assert!(
        app.store
            .passkeys_of(bob.id.parse().expect("id"))
            .await
            .expect("read")
            .is_empty()
    );

    // A multi-use pass has no such window.
    app.clock.advance(Duration::minutes(30));
    register(&carol_client, &mut Device::new(), "key")
        .await
        .expect("a multi-use pass session registers after 40 minutes");
}

#[tokio::test]
async fn replayed_foreign_and_orphaned_answers_are_refused() {
    let app = spawn().await;
    let alice = app.create_user("alice").await;
    let (client, _) = signed_in_with(&app, &alice, json!({})).await;
    let mut device = Device::new();

    // A registration answer used twice.
    let started = client
        .post("/api/passkeys/register/start", &json!({}))
        .await
        .expect("start");
    let credential = device
        .create(&started["options"], ORIGIN)
        .await
        .expect("create");
    let body = json!({"displayName": "key", "credential": credential});
    let method = client
        .post("/api/passkeys/register/finish", &body)
        .await
        .expect("registered");
    let (status, _, message) = error_of(client.post("/api/passkeys/register/finish", &body).await);
    assert_eq!(status, 400, "{message}");
    assert!(message.contains("Start again"), "{message}");
    let id = method["id"].as_str().expect("id");

    // A sign-in answer used twice.
    let started = app
        .anon
        .post("/api/signin/passkey/start", &json!({}))
        .await
        .expect("start");
    let assertion = device.get(&started["options"], ORIGIN).await.expect("get");
    let body = json!({"credential": assertion});
    app.anon
        .post("/api/signin/passkey/finish", &body)
        .await
        .expect("signed in");
    let (status, _, message) = error_of(app.anon.post("/api/signin/passkey/finish", &body).await);
    assert_eq!(status, 400, "{message}");
    assert!(message.contains("already finished"), "{message}");

    // Answers made for another site.
    let evil = "http://localhost:9999";
    let started = app
        .anon
        .post("/api/signin/passkey/start", &json!({"username": alice.upn}))
        .await
        .expect("start");
    let assertion = device.get(&started["options"], evil).await.expect("get");
    let (status, _, message) = error_of(
        app.anon
            .post(
                "/api/signin/passkey/finish",
                &json!({"credential": assertion}),
            )
            .await,
    );
    assert_eq!(status, 401, "{message}");
    assert!(message.contains("not an allowed origin"), "{message}");
    let started = client
        .post("/api/passkeys/register/start", &json!({}))
        .await
        .expect("start");
    let credential = Device::new()
        .create(&started["options"], evil)
        .await
        .expect("create");
    let (status, _, message) = error_of(
        client
            .post(
                "/api/passkeys/register/finish",
                &json!({"displayName": "evil", "credential": credential}),
            )
            .await,
    );
    assert_eq!(status, 400, "{message}");
    assert!(message.contains("not an allowed origin"), "{message}");

    // Not JSON of a credential.
    let (status, _, _) = error_of(
        app.anon
            .post("/api/signin/passkey/finish", &json!({"credential": "x"}))
            .await,
    );
    assert_eq!(status, 400);

    // The same credential id can't be registered twice, whoever asks.
    let record = stored(&app, id).await.expect("stored");
    let audit = AuditRecord {
        id: uuid::Uuid::new_v4(),
        tenant: uuid::Uuid::nil(),
        at: t0(),
        body: json!({}),
    };
    assert!(matches!(
        app.store.add_passkey(&record, &audit).await,
        Err(StoreError::Conflict(_))
    ));

    // A disabled user's passkey does not sign in; a deleted user's is gone.
    let user_path = format!("/v1.0/users/{}", alice.id);
    app.admin
        .patch(&user_path, &json!({"accountEnabled": false}))
        .await
        .expect("disable");
    let (status, _, message) = error_of(sign_in(&app.anon, &mut device, Some(&alice.upn)).await);
    assert_eq!(status, 401);
    assert!(message.contains("disabled"), "{message}");
    app.admin.delete(&user_path).await.expect("delete the user");
    assert!(
        stored(&app, id).await.is_none(),
        "the passkey went with the user"
    );
    let (status, _, message) = error_of(sign_in(&app.anon, &mut device, None).await);
    assert_eq!(status, 401);
    assert!(message.contains("not registered"), "{message}");

    let failures: Vec<String> = sign_ins(&app)
        .await
        .into_iter()
        .filter(|s| s.authentication_methods_used == ["Passkey"])
        .filter_map(|s| s.status.failure_reason)
        .collect();
    for reason in [
        "Unknown, expired or replayed passkey challenge",
        "Disabled user",
        "Unknown passkey",
    ] {
        assert!(
            failures.iter().any(|f| f == reason),
            "{reason} in {failures:?}"
        );
    }
    assert!(
        failures.iter().any(|f| f.contains("not an allowed origin")),
        "{failures:?}"
    );
}

// ----- the browser's side -----

/// The value of the cookie `name` a response sets.
fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A browser without JavaScript's cookie jar: its CSRF cookie and the token the pages carry.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: String,
    csrf: String,
}

impl Browser {
    async fn open(app: &TestApp) -> Browser {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http");
        let base = app.anon.base().to_string();
        let page = http
            .get(format!("{base}/signin"))
            .send()
            .await
            .expect("page");
        let csrf_cookie = set_cookie(page.headers(), "tapd_csrf").expect("a CSRF cookie");
        let html = page.text().await.expect("html");
        let csrf = html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the form's CSRF token")
            .to_string();
        Browser {
            http,
            base,
            cookies: format!("tapd_csrf={csrf_cookie}"),
            csrf,
        }
    }

    async fn post_json(&self, path: &str, body: &Value, with_csrf: bool) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookies)
            .json(body);
        if with_csrf {
            req = req.header("X-CSRF-Token", &self.csrf);
        }
        req.send().await.expect("request")
    }
}

#[tokio::test]
async fn a_browser_session_registers_with_its_csrf_token_and_a_passkey_opens_one() {
    let app = spawn().await;
    let alice = app.create_user("alice").await;
    let pass = app.issue(&alice.upn, json!({})).await;
    let mut browser = Browser::open(&app).await;
    let signed_in = browser
        .http
        .post(format!("{}/signin/tap", browser.base))
        .header(COOKIE, &browser.cookies)
        .form(&[
            ("csrf", browser.csrf.as_str()),
            ("username", alice.upn.as_str()),
            ("code", crate::helpers::code_of(&pass)),
        ])
        .send()
        .await
        .expect("sign in");
    let session = set_cookie(signed_in.headers(), "tapd_session").expect("a session");
    browser.cookies = format!("{}; tapd_session={session}", browser.cookies);

    let start = "/api/passkeys/register/start";
    assert_eq!(
        browser.post_json(start, &json!({}), false).await.status(),
        403
    );
    let started: Value = browser
        .post_json(start, &json!({}), true)
        .await
        .json()
        .await
        .expect("options");
    let mut device = Device::new();
    let credential = device
        .create(&started["options"], ORIGIN)
        .await
        .expect("create");
    let finished = browser
        .post_json(
            "/api/passkeys/register/finish",
            &json!({"displayName": "browser key", "credential": credential}),
            true,
        )
        .await;
    assert_eq!(finished.status(), 201);

    // A new browser signs in with the passkey: a session cookie and where to go next.
    let fresh = Browser::open(&app).await;
    let started = app
        .anon
        .post("/api/signin/passkey/start", &json!({}))
        .await
        .expect("start");
    let assertion = device.get(&started["options"], ORIGIN).await.expect("get");
    let body = json!({"credential": assertion});
    let refused = fresh
        .post_json("/signin/passkey/finish", &body, false)
        .await;
    assert_eq!(refused.status(), 403, "no CSRF token, no sign-in");
    let answer = fresh.post_json("/signin/passkey/finish", &body, true).await;
    assert_eq!(answer.status(), 200);
    let session = set_cookie(answer.headers(), "tapd_session").expect("a session cookie");
    assert_eq!(
        answer.json::<Value>().await.expect("json"),
        json!({"redirect": "/mysecurityinfo"})
    );
    let home = fresh
        .http
        .get(format!("{}/mysecurityinfo", fresh.base))
        .header(COOKIE, format!("tapd_session={session}"))
        .send()
        .await
        .expect("home");
    assert_eq!(home.status(), 200);
    assert!(home.text().await.expect("html").contains("browser key"));

    // `next` (a local page only) is where the sign-in page asked to return.
    for (next, expected) in [
        ("/admin/users", "/admin/users"),
        ("https://evil.test/", "/mysecurityinfo"),
    ] {
        let started = app
            .anon
            .post("/api/signin/passkey/start", &json!({}))
            .await
            .expect("start");
        let assertion = device.get(&started["options"], ORIGIN).await.expect("get");
        let answer = fresh
            .post_json(
                "/signin/passkey/finish",
                &json!({"credential": assertion, "authz": "", "next": next}),
                true,
            )
            .await;
        assert_eq!(
            answer.json::<Value>().await.expect("json")["redirect"],
            expected
        );
    }
}
