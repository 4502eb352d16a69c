//! Delivering a pass (SPEC §12): the one-time link (sealed, burnt on first reveal, exactly one
//! of concurrent reveals wins, gone with its pass), mail to the user or manager through an SMTP
//! server the test runs, and Graph's `manager` relationship.

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tapd_core::{Permission, Role};
use tapd_server::mail::{Mailer, SmtpConfig, SmtpSecurity};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::browser::{Browser, unescape};
use crate::helpers::*;

fn taps(user: &str) -> String {
    format!("/v1.0/users/{user}/authentication/temporaryAccessPassMethods")
}

async fn issue_link(app: &TestApp, user: &str, extra: Value) -> Value {
    let mut body = json!({"tapdDelivery": "link"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    app.admin
        .post(&taps(user), &body)
        .await
        .expect("issue with a link")
}

fn link_of(answer: &Value) -> String {
    answer["tapdOneTimeLink"]
        .as_str()
        .expect("a one-time link")
        .to_string()
}

/// The link's id and key.
fn parts(link: &str) -> (String, String) {
    let (path, key) = link
        .split_once("/pass/")
        .expect("a pass link")
        .1
        .split_once("?k=")
        .expect("a key");
    (path.to_string(), key.to_string())
}

/// Opens the link as a browser would: the page, then its button. The pass, or the status.
async fn reveal(link: &str) -> Result<String, StatusCode> {
    let mut browser = Browser::new("");
    let page = browser.get(link).await;
    if page.status != StatusCode::OK {
        return Err(page.status);
    }
    assert!(page.body.contains("Show my pass"), "{}", page.body);
    let (id, key) = parts(link);
    let base = link.split("/pass/").next().expect("base");
    post_reveal(&format!("{base}/pass/{id}"), &key).await
}

async fn post_reveal(url: &str, key: &str) -> Result<String, StatusCode> {
    let mut browser = Browser::new("");
    let shown = browser.post(url, &[("k", key)]).await;
    if shown.status != StatusCode::OK {
        assert!(
            shown
                .body
                .contains("This link has been used or has expired"),
            "{}",
            shown.body
        );
        return Err(shown.status);
    }
    let marker = "id=\"revealed-pass\">";
    let at = shown.body.find(marker).expect("the pass") + marker.len();
    let end = shown.body[at..].find('<').expect("end") + at;
    Ok(unescape(&shown.body[at..end]))
}

#[tokio::test]
async fn a_link_shows_the_pass_once_and_the_row_holds_no_plaintext() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let answer = issue_link(&app, &alice.upn, json!({"isUsableOnce": true})).await;
    assert_eq!(
        answer["temporaryAccessPass"],
        Value::Null,
        "no code with a link"
    );
    assert_eq!(answer["tapdDelivery"], "link");
    let link = link_of(&answer);
    assert!(link.starts_with(&format!("{}/pass/", app.base)), "{link}");
    let (id, key) = parts(&link);

    // The database holds the sealed pass and the id, never the key.
    let row = app
        .store
        .pass_link_of(alice.id.parse().expect("uuid"))
        .await
        .expect("read")
        .expect("a link row");
    assert_eq!(row.id, id);
    let dump = app.store.dump_text().await.expect("dump");
    assert!(!dump.contains(&key), "the key is not stored");

    // A wrong key opens nothing and burns nothing.
    let wrong = format!("{}/pass/{id}?k={}", app.base, "A".repeat(43));
    assert_eq!(reveal(&wrong).await, Err(StatusCode::GONE));
    assert_eq!(
        post_reveal(&format!("{}/pass/{id}", app.base), "not-a-key").await,
        Err(StatusCode::GONE)
    );

    let code = reveal(&link).await.expect("the first open shows the pass");
    assert!(
        !row.sealed.windows(code.len()).any(|w| w == code.as_bytes()),
        "the row holds no plaintext"
    );
    assert!(!dump.contains(&code));
    // Burnt: the page and the button both say so.
    assert_eq!(reveal(&link).await, Err(StatusCode::GONE));
    assert_eq!(
        post_reveal(&format!("{}/pass/{id}", app.base), &key).await,
        Err(StatusCode::GONE)
    );
    // The pass it showed signs in.
    let session = app
        .anon
        .sign_in_tap(&alice.upn, &code)
        .await
        .expect("signs in");
    assert_eq!(claims(&session.access_token)["amr"], json!(["tap"]));

    let audits = app.admin.directory_audits(Some(5)).await.expect("audits");
    let revealed = audits
        .value
        .iter()
        .find(|a| a.activity_display_name == "Temporary access pass revealed by its one-time link")
        .expect("the reveal is audited");
    assert_eq!(revealed.target_resources[0].id, alice.id);
    let issued = audits
        .value
        .iter()
        .find(|a| {
            a.activity_display_name == "Admin registered temporary access pass method for user"
        })
        .expect("the issuance is audited");
    assert!(
        issued
            .additional_details
            .iter()
            .any(|d| d.key == "tapdDelivery" && d.value == "link"),
        "{:?}",
        issued.additional_details
    );
}

#[tokio::test]
async fn of_concurrent_reveals_on_two_replicas_exactly_one_sees_the_pass() {
    let app = TestApp::spawn().await;
    let replica = app.replica(|_| {}).await;
    let alice = app.create_user("alice").await;
    let link = link_of(&issue_link(&app, &alice.upn, json!({})).await);
    let (id, key) = parts(&link);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let base = if i % 2 == 0 {
            app.base.clone()
        } else {
            replica.anon.base().to_string()
        };
        let key = key.clone();
        let url = format!("{base}/pass/{id}");
        tasks.push(tokio::spawn(async move { post_reveal(&url, &key).await }));
    }
    let mut shown = Vec::new();
    for t in tasks {
        if let Ok(code) = t.await.expect("task") {
            shown.push(code);
        }
    }
    assert_eq!(shown.len(), 1, "exactly one reveal wins: {shown:?}");
}

#[tokio::test]
async fn a_link_ends_with_its_pass_or_a_day_after_it_starts() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let answer = issue_link(&app, &alice.upn, json!({"lifetimeInMinutes": 60})).await;
    assert_eq!(
        answer["tapdOneTimeLinkExpiresDateTime"],
        tapd_core::format_time(t0() + time::Duration::minutes(60))
    );
    let link = link_of(&answer);
    app.clock.advance(time::Duration::minutes(60));
    assert_eq!(
        reveal(&link).await,
        Err(StatusCode::GONE),
        "ended with the pass"
    );

    // A long pass: the link still ends a day after the pass starts.
    app.clock.set(t0());
    app.admin
        .patch(
            tapd_client::Client::POLICY_PATH,
            &json!({"maximumLifetimeInMinutes": 43200}),
        )
        .await
        .expect("longer passes");
    let bob = app.create_user("bob").await;
    let answer = issue_link(&app, &bob.upn, json!({"lifetimeInMinutes": 4320})).await;
    assert_eq!(
        answer["tapdOneTimeLinkExpiresDateTime"],
        tapd_core::format_time(t0() + time::Duration::hours(24))
    );
    let link = link_of(&answer);
    app.clock.advance(time::Duration::hours(23));
    let mut browser = Browser::new("");
    assert_eq!(
        browser.get(&link).await.status,
        StatusCode::OK,
        "still open"
    );
    app.clock.advance(time::Duration::hours(1));
    assert_eq!(reveal(&link).await, Err(StatusCode::GONE), "a day at most");
}

#[tokio::test]
async fn replacing_or_deleting_the_pass_removes_its_link() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let first = link_of(&issue_link(&app, &alice.upn, json!({})).await);
    let second = issue_link(&app, &alice.upn, json!({})).await;
    assert_eq!(reveal(&first).await, Err(StatusCode::GONE), "replaced");
    // A pass issued with its code replaces the link too.
    app.issue(&alice.upn, json!({})).await;
    assert_eq!(reveal(&link_of(&second)).await, Err(StatusCode::GONE));

    let third = issue_link(&app, &alice.upn, json!({})).await;
    let id = third["id"].as_str().expect("id");
    app.admin
        .delete_tap(&alice.upn, id)
        .await
        .expect("delete the pass");
    assert_eq!(
        reveal(&link_of(&third)).await,
        Err(StatusCode::GONE),
        "deleted"
    );
    assert!(
        app.store
            .pass_link_of(alice.id.parse().expect("uuid"))
            .await
            .expect("read")
            .is_none()
    );

    // Deleting the user takes the link with it.
    let fourth = link_of(&issue_link(&app, &alice.upn, json!({})).await);
    app.admin.delete_user(&alice.id).await.expect("delete user");
    assert_eq!(reveal(&fourth).await, Err(StatusCode::GONE));
}

#[tokio::test]
async fn a_link_is_refused_where_the_pass_is_and_a_bad_delivery_is_a_400() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let (status, code, message) = error_of(
        app.admin
            .post(&taps(&alice.upn), &json!({"tapdDelivery": "carrierPigeon"}))
            .await,
    );
    assert_eq!((status, code.as_str()), (400, "badRequest"), "{message}");
    // Nobody issues themselves a pass, with a link or not.
    let (_, me) = app
        .signed_in("helper", &[Role::PrivilegedAuthenticationAdministrator])
        .await;
    let refused = me
        .post(
            "/v1.0/me/authentication/temporaryAccessPassMethods",
            &json!({"tapdDelivery": "link"}),
        )
        .await;
    assert_eq!(status_of(refused), 403);
    // Email without an SMTP server: a clear 400, nothing issued.
    let (status, _, message) = error_of(
        app.admin
            .post(&taps(&alice.upn), &json!({"tapdDelivery": "emailToUser"}))
            .await,
    );
    assert_eq!(status, 400);
    assert!(message.contains("[smtp]"), "{message}");
    let (status, _, message) = error_of(
        app.admin
            .post(
                &taps(&alice.upn),
                &json!({"tapdDelivery": "emailToManager"}),
            )
            .await,
    );
    assert_eq!(status, 400);
    assert!(message.contains("no manager"), "{message}");
    let list = app.admin.list_taps(&alice.upn).await.expect("list");
    assert!(list.value.is_empty(), "nothing was issued");
}

// ----- mail -----

/// A minimal SMTP server on a loopback port that keeps every message it takes (or refuses
/// every recipient, to test failures).
struct Smtp {
    port: u16,
    messages: Arc<Mutex<Vec<(String, String)>>>,
}

impl Smtp {
    async fn start(refuse: bool) -> Smtp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let kept = messages.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 test ESMTP\r\n").await;
                    let (mut to, mut data, mut in_data) = (String::new(), String::new(), false);
                    while let Ok(Some(line)) = lines.next_line().await {
                        if in_data {
                            if line == "." {
                                in_data = false;
                                kept.lock().expect("lock").push((to.clone(), data.clone()));
                                let _ = write.write_all(b"250 OK\r\n").await;
                            } else {
                                data.push_str(&line);
                                data.push('\n');
                            }
                            continue;
                        }
                        let upper = line.to_ascii_uppercase();
                        let answer: &[u8] =
                            if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                                b"250 test\r\n"
                            } else if upper.starts_with("RCPT TO:") {
                                if refuse {
                                    b"550 no such mailbox\r\n"
                                } else {
                                    to = line[8..].trim().trim_matches(['<', '>']).to_string();
                                    b"250 OK\r\n"
                                }
                            } else if upper.starts_with("DATA") {
                                in_data = true;
                                b"354 go on\r\n"
                            } else if upper.starts_with("QUIT") {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                return;
                            } else {
                                b"250 OK\r\n"
                            };
                        let _ = write.write_all(answer).await;
                    }
                });
            }
        });
        Smtp { port, messages }
    }

    fn mailer(&self) -> Mailer {
        Mailer::new(&SmtpConfig {
            host: "127.0.0.1".into(),
            port: Some(self.port),
            security: SmtpSecurity::None,
            username: None,
            password: None,
            from: "tapd <tapd@tapd.test>".into(),
        })
        .expect("mailer")
    }
}

/// The link in a mail (quoted-printable may wrap it: undo soft line breaks first).
fn link_in(mail: &str) -> String {
    let body = mail.replace("=\n", "").replace("=3D", "=");
    let start = body.find("http://").expect("a link in the mail");
    body[start..]
        .split_whitespace()
        .next()
        .expect("the link")
        .to_string()
}

#[tokio::test]
async fn mail_to_the_user_or_the_manager_carries_the_link_never_the_code() {
    let smtp = Smtp::start(false).await;
    let mailer = smtp.mailer();
    let app = TestApp::spawn_with(|c| c.mailer = Some(mailer)).await;
    let alice = app.create_user("alice").await;
    let boss = app.create_user("boss").await;
    app.admin
        .update_user(&boss.id, &json!({"mail": "boss.mail@example.test"}))
        .await
        .expect("boss's mail");

    let answer = app
        .admin
        .post(&taps(&alice.upn), &json!({"tapdDelivery": "emailToUser"}))
        .await
        .expect("mailed");
    assert_eq!(answer["temporaryAccessPass"], Value::Null);
    assert_eq!(
        answer["tapdOneTimeLink"],
        Value::Null,
        "the issuer doesn't see the link"
    );
    assert_eq!(
        answer["tapdDeliveredTo"],
        alice.upn.as_str(),
        "no mail property: the UPN"
    );
    let (to, mail) = smtp
        .messages
        .lock()
        .expect("lock")
        .last()
        .cloned()
        .expect("a mail");
    assert_eq!(to, alice.upn);
    let code = reveal(&link_in(&mail))
        .await
        .expect("the mailed link reveals the pass");
    assert!(!mail.contains(&code), "the mail never carries the code");
    app.anon
        .sign_in_tap(&alice.upn, &code)
        .await
        .expect("signs in");

    app.admin
        .put(
            &format!("/v1.0/users/{}/manager/$ref", alice.id),
            &json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{}", boss.id)}),
        )
        .await
        .expect("set the manager");
    let answer = app
        .admin
        .post(
            &taps(&alice.upn),
            &json!({"tapdDelivery": "emailToManager"}),
        )
        .await
        .expect("mailed to the manager");
    assert_eq!(answer["tapdDeliveredTo"], "boss.mail@example.test");
    let (to, mail) = smtp
        .messages
        .lock()
        .expect("lock")
        .last()
        .cloned()
        .expect("a mail");
    assert_eq!(to, "boss.mail@example.test");
    assert!(
        mail.contains(&alice.upn),
        "the manager is told whose pass it is"
    );
    let code = reveal(&link_in(&mail)).await.expect("reveals");
    assert!(!mail.contains(&code));
    app.anon
        .sign_in_tap(&alice.upn, &code)
        .await
        .expect("signs in");
    assert_eq!(smtp.messages.lock().expect("lock").len(), 2);
}

#[tokio::test]
async fn when_the_mail_fails_nothing_changes() {
    let smtp = Smtp::start(true).await;
    let mailer = smtp.mailer();
    let app = TestApp::spawn_with(|c| c.mailer = Some(mailer)).await;
    let alice = app.create_user("alice").await;
    let earlier = app.issue(&alice.upn, json!({})).await;
    let (status, code, message) = error_of(
        app.admin
            .post(&taps(&alice.upn), &json!({"tapdDelivery": "emailToUser"}))
            .await,
    );
    assert_eq!((status, code.as_str()), (502, "generalException"));
    assert!(
        message.contains("not issued") && message.contains(&alice.upn),
        "{message}"
    );
    // The earlier pass is still the user's, and still signs in.
    let list = app.admin.list_taps(&alice.upn).await.expect("list");
    assert_eq!(list.value.len(), 1);
    assert_eq!(list.value[0].id, earlier.id);
    assert!(
        app.store
            .pass_link_of(alice.id.parse().expect("uuid"))
            .await
            .expect("read")
            .is_none()
    );
    app.sign_in_with(&alice.upn, &earlier)
        .await
        .expect("the earlier pass works");

    // An SMTP server that isn't there at all: the same.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let mailer = Mailer::new(&SmtpConfig {
        host: "127.0.0.1".into(),
        port: Some(port),
        security: SmtpSecurity::None,
        username: None,
        password: None,
        from: "tapd@tapd.test".into(),
    })
    .expect("mailer");
    let app = TestApp::spawn_with(|c| c.mailer = Some(mailer)).await;
    let bob = app.create_user("bob").await;
    let (status, _, _) = error_of(
        app.admin
            .post(&taps(&bob.upn), &json!({"tapdDelivery": "emailToUser"}))
            .await,
    );
    assert_eq!(status, 502);
    assert!(
        app.admin
            .list_taps(&bob.upn)
            .await
            .expect("list")
            .value
            .is_empty()
    );
}

// ----- the manager relationship -----

fn manager_ref(user: &str) -> String {
    format!("/v1.0/users/{user}/manager/$ref")
}

#[tokio::test]
async fn the_manager_reference_is_set_read_replaced_and_removed_as_in_graph() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let boss = app.create_user("boss").await;
    let other = app.create_user("other").await;

    let (status, code, _) = error_of(
        app.admin
            .get(&format!("/v1.0/users/{}/manager", alice.id))
            .await,
    );
    assert_eq!((status, code.as_str()), (404, "Request_ResourceNotFound"));

    app.admin
        .put(
            &manager_ref(&alice.upn),
            &json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", boss.id)}),
        )
        .await
        .expect("set");
    let manager = app
        .admin
        .get(&format!("/v1.0/users/{}/manager", alice.id))
        .await
        .expect("the manager");
    assert_eq!(manager["id"], boss.id.as_str());
    assert_eq!(manager["@odata.type"], "#microsoft.graph.user");
    assert_eq!(manager["userPrincipalName"], boss.upn.as_str());
    let reference = app
        .admin
        .get(&manager_ref(&alice.id))
        .await
        .expect("the reference");
    assert_eq!(
        reference["@odata.id"],
        format!("{}/v1.0/users/{}", app.base, boss.id)
    );

    // Another PUT replaces it.
    app.admin
        .put(
            &manager_ref(&alice.id),
            &json!({"@odata.id": format!("{}/v1.0/users/{}", app.base, other.id)}),
        )
        .await
        .expect("replace");
    let manager = app
        .admin
        .get(&format!("/v1.0/users/{}/manager", alice.id))
        .await
        .expect("m");
    assert_eq!(manager["id"], other.id.as_str());

    // Bad references and oneself are 400s and change nothing.
    for bad in [
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/groups/{}", boss.id)}),
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{}", alice.id)}),
        json!({"@odata.id": "https://graph.microsoft.com/v1.0/users/00000000-0000-0000-0000-000000000001"}),
        json!({"id": boss.id}),
    ] {
        let (status, _, message) = error_of(app.admin.put(&manager_ref(&alice.id), &bad).await);
        assert_eq!(status, 400, "{bad}: {message}");
    }
    let manager = app
        .admin
        .get(&format!("/v1.0/users/{}/manager", alice.id))
        .await
        .expect("m");
    assert_eq!(manager["id"], other.id.as_str(), "unchanged");

    app.admin
        .delete(&manager_ref(&alice.id))
        .await
        .expect("remove");
    let (status, code, _) = error_of(app.admin.get(&manager_ref(&alice.id)).await);
    assert_eq!((status, code.as_str()), (404, "Request_ResourceNotFound"));
    let (status, _, _) = error_of(app.admin.delete(&manager_ref(&alice.id)).await);
    assert_eq!(status, 404, "nothing to remove");

    // Deleting the manager clears the link to them.
    app.admin
        .put(
            &manager_ref(&alice.id),
            &json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{}", boss.id)}),
        )
        .await
        .expect("set");
    app.admin
        .delete_user(&boss.id)
        .await
        .expect("delete the manager");
    let (status, _, _) = error_of(app.admin.get(&manager_ref(&alice.id)).await);
    assert_eq!(status, 404);

    let audits = app.admin.directory_audits(Some(20)).await.expect("audits");
    let names: Vec<&str> = audits
        .value
        .iter()
        .map(|a| a.activity_display_name.as_str())
        .collect();
    assert!(names.contains(&"Set user manager"), "{names:?}");
    assert!(names.contains(&"Remove user manager"), "{names:?}");
}

#[tokio::test]
async fn only_user_writers_set_a_manager_and_user_readers_read_it() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let boss = app.create_user("boss").await;
    let body = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{}", boss.id)});
    let (_, helpdesk) = app
        .signed_in("helpdesk", &[Role::AuthenticationAdministrator])
        .await;
    assert_eq!(
        status_of(helpdesk.put(&manager_ref(&alice.id), &body).await),
        403
    );
    let (_, reader) = app.signed_in("reader", &[Role::GlobalReader]).await;
    assert_eq!(
        status_of(reader.put(&manager_ref(&alice.id), &body).await),
        403
    );
    let (_, nobody) = app.signed_in("nobody", &[]).await;
    assert_eq!(
        status_of(
            nobody
                .get(&format!("/v1.0/users/{}/manager", alice.id))
                .await
        ),
        403
    );
    assert_eq!(status_of(app.anon.get(&manager_ref(&alice.id)).await), 401);

    let writer = app.app(&[Permission::UserReadWriteAll]).await;
    writer
        .put(&manager_ref(&alice.id), &body)
        .await
        .expect("User.ReadWrite.All sets");
    let read_only = app.app(&[Permission::UserReadAll]).await;
    let manager = read_only
        .get(&format!("/v1.0/users/{}/manager", alice.id))
        .await
        .expect("User.Read.All reads");
    assert_eq!(manager["id"], boss.id.as_str());
    assert_eq!(
        status_of(read_only.delete(&manager_ref(&alice.id)).await),
        403
    );
    assert_eq!(
        reader
            .get(&manager_ref(&alice.id))
            .await
            .expect("Global Reader reads")["@odata.id"],
        format!("{}/v1.0/users/{}", app.base, boss.id)
    );
}

#[tokio::test]
async fn the_admin_center_shows_a_link_and_its_qr_code_once() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await;
    let mut admin = Browser::new(&app.base);
    admin
        .sign_in_with_password(&app.admin_user.upn, ADMIN_PASSWORD)
        .await;
    let csrf = admin.csrf().await;
    let form_page = admin.get(&format!("/admin/users/{}", alice.id)).await;
    assert!(
        form_page.body.contains("id=\"delivery-link\""),
        "the form offers a link"
    );
    let issued = admin
        .post(
            &format!("/admin/users/{}/tap", alice.id),
            &[
                ("csrf", &csrf),
                ("start", "now"),
                ("lifetime", "60"),
                ("delivery", "link"),
            ],
        )
        .await;
    assert_eq!(issued.status, StatusCode::SEE_OTHER, "{}", issued.body);
    let shown = admin
        .get(&issued.location.expect("to the user's page"))
        .await;
    assert!(
        !shown.body.contains("id=\"issued-pass\""),
        "no code with a link"
    );
    let marker = "id=\"issued-link\">";
    let at = shown.body.find(marker).expect("the link is shown") + marker.len();
    let link = unescape(&shown.body[at..at + shown.body[at..].find('<').expect("end")]);
    let qr = shown.body.find("id=\"issued-qr\"").expect("a QR code");
    assert!(shown.body[qr..].contains("<svg "), "inline SVG");
    assert!(!shown.body.contains("<?xml"), "only the svg element");
    let code = reveal(&link)
        .await
        .expect("the link from the page reveals the pass");
    app.anon
        .sign_in_tap(&alice.upn, &code)
        .await
        .expect("signs in");
    // Shown once: a reload shows neither link nor code.
    let again = admin
        .get(&format!("/admin/users/{}?issued=1", alice.id))
        .await;
    assert!(!again.body.contains("id=\"issued-link\""));

    // Mail without [smtp]: the page says so, nothing is issued.
    let refused = admin
        .post(
            &format!("/admin/users/{}/tap", alice.id),
            &[
                ("csrf", &csrf),
                ("start", "now"),
                ("lifetime", "60"),
                ("delivery", "emailToUser"),
            ],
        )
        .await;
    assert!(refused.body.contains("[smtp]"), "{}", refused.body);
}
