//! Bulk onboarding: `tapd tap bulk --csv` against a real `tapd serve`, and the admin center's
//! upload of the same file — a pass per row, bad rows reported alone, `--skip-existing` to
//! resume, the results file owner-only and never overwritten.

use std::process::Command;

use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;

use crate::browser::{Browser, unescape};
use crate::cli::{Env, check_private, serve};
use crate::helpers::*;

/// The results file as rows of fields (the writer quotes only what needs it; passes hold no
/// comma or quote).
fn results(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn tap_bulk_issues_a_pass_per_row_and_resumes_with_skip_existing() {
    let dir = std::env::temp_dir().join(format!("tapd-bulk-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let env = Env {
        database_url: fresh_database_url().await,
        dir: dir.clone(),
    };
    let (mut child, server, code) = serve(&env);
    let port = server.rsplit(':').next().expect("port").to_string();
    let printed = std::fs::read_to_string(dir.join("serve.out")).expect("stdout");
    assert!(
        printed.contains("(tenant id ")
            && printed.contains(&format!("Open http://localhost:{port}/")),
        "the first start says which URL to open and the tenant id: {printed}"
    );
    assert!(printed.contains("printed only now"), "{printed}");
    assert!(env.login(&server, &code).status.success());
    let login: Value = serde_json::from_slice(
        &std::fs::read(dir.join("home/.config/tapd/login.json")).expect("login"),
    )
    .expect("json");
    let admin = tapd_client::Client::new(&server)
        .with_token(login["access_token"].as_str().expect("token"));
    for i in 0..20 {
        admin
            .create_user(&tapd_client::NewUser::new(
                &format!("user{i}@tapd.local"),
                &format!("User {i}"),
            ))
            .await
            .expect("create user");
    }

    let mut csv = String::from("userPrincipalName,lifetimeInMinutes,isUsableOnce\n");
    for i in 0..18 {
        csv.push_str(&format!("user{i}@tapd.local,90,true\n"));
    }
    csv.push_str("user18@tapd.local,ninety,\n");
    csv.push_str("nobody@tapd.local,,\n");
    csv.push_str("user19@tapd.local,5,\n");
    csv.push_str("USER0@tapd.local,,\n");
    let input = dir.join("people.csv");
    std::fs::write(&input, &csv).expect("csv");
    let run = env.tapd(&["tap", "bulk", "--csv", input.to_str().expect("path")]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "a failed row makes the run fail");
    assert!(stderr.contains("4 of the rows failed"), "{stderr}");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("18 issued, 0 skipped, 4 failed"),
        "{stdout}"
    );
    let out = dir.join("people.results.csv");
    check_private(&out);
    let text = std::fs::read_to_string(&out).expect("results");
    assert!(text.starts_with(
        "userPrincipalName,temporaryAccessPass,startDateTime,endDateTime,status,error,oneTimeLink,deliveredTo\r\n"
    ));
    let rows = results(&text);
    assert_eq!(rows.len(), 22, "a line per row, in the file's order");
    for (i, row) in rows.iter().take(18).enumerate() {
        assert_eq!(row[0], format!("user{i}@tapd.local"));
        assert_eq!(row[4], "issued", "{row:?}");
        assert!(!row[1].is_empty() && !row[2].is_empty() && !row[3].is_empty());
    }
    // An error may hold commas (it is quoted then): look at the whole line.
    let detail = |row: &Vec<String>| row[4..].join(",");
    assert!(
        detail(&rows[18]).contains("'ninety' is not a whole number"),
        "{:?}",
        rows[18]
    );
    assert!(detail(&rows[19]).starts_with("failed"), "{:?}", rows[19]);
    assert!(
        detail(&rows[20]).contains("LifetimeInMinutes"),
        "the policy's range: {:?}",
        rows[20]
    );
    assert!(
        detail(&rows[21]).contains("line 2"),
        "a duplicate: {:?}",
        rows[21]
    );
    // A pass from the file signs in, once.
    let anon = tapd_client::Client::new(&server);
    anon.sign_in_tap("user3@tapd.local", &rows[3][1])
        .await
        .expect("the bulk pass signs in");
    assert!(
        anon.sign_in_tap("user3@tapd.local", &rows[3][1])
            .await
            .is_err()
    );

    // The results file is never overwritten: it may hold the passes of the run before.
    let again = env.tapd(&["tap", "bulk", "--csv", input.to_str().expect("path")]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(std::fs::read_to_string(&out).expect("kept"), text);

    // Resume: the fixed file, --skip-existing, another results file.
    let fixed = csv
        .replace("ninety", "90")
        .replace("user19@tapd.local,5,", "user19@tapd.local,60,")
        .replace("nobody@tapd.local,,\n", "")
        .replace("USER0@tapd.local,,\n", "");
    std::fs::write(&input, fixed).expect("csv");
    let out2 = dir.join("second.csv");
    let resumed = env.ok(&[
        "tap",
        "bulk",
        "--csv",
        input.to_str().expect("path"),
        "--skip-existing",
        "--out",
        out2.to_str().expect("path"),
        "--json",
    ]);
    let summary: Value = serde_json::from_str(&resumed).expect("json");
    assert_eq!(
        (
            summary["issued"].as_u64(),
            summary["skipped"].as_u64(),
            summary["failed"].as_u64()
        ),
        (Some(2), Some(18), Some(0)),
        "{resumed}"
    );
    let rows2 = results(&std::fs::read_to_string(&out2).expect("results"));
    assert_eq!(rows2[0][4], "skipped");
    assert!(rows2[0][1].is_empty(), "a skipped row shows no pass");
    assert!(rows2[3][5].contains("OneTimeUsed"), "{:?}", rows2[3]);
    assert_eq!(rows2[18][4], "issued");

    // A file that can't be read issues nothing and writes nothing.
    std::fs::write(&input, "userPrincipalName,lifetime\nuser0@tapd.local,60\n").expect("csv");
    let out3 = dir.join("third.csv");
    let refused = env.tapd(&[
        "tap",
        "bulk",
        "--csv",
        input.to_str().expect("path"),
        "--out",
        out3.to_str().expect("path"),
    ]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("Unknown column 'lifetime'") && err.contains("Nothing was issued"),
        "{err}"
    );
    assert!(!out3.exists());

    // Delivered by one-time link: the results file holds the link, not the pass.
    std::fs::write(&input, "userPrincipalName\nuser1@tapd.local\n").expect("csv");
    let out4 = dir.join("links.csv");
    env.ok(&[
        "tap",
        "bulk",
        "--csv",
        input.to_str().expect("path"),
        "--out",
        out4.to_str().expect("path"),
        "--link",
    ]);
    let rows4 = results(&std::fs::read_to_string(&out4).expect("results"));
    assert_eq!(rows4[0][4], "issued", "{rows4:?}");
    assert!(rows4[0][1].is_empty(), "no pass in the file: {rows4:?}");
    assert!(
        rows4[0][6].contains("/pass/") && rows4[0][6].contains("k="),
        "{rows4:?}"
    );

    operator_commands(&env, &server).await;

    child.kill().ok();
    child.wait().ok();
    std::fs::remove_dir_all(&dir).ok();
}

/// The direct-to-database commands on the same data: `--json`, `app list` and `app remove`,
/// errors said once with what to do.
async fn operator_commands(env: &Env, server: &str) {
    let created: Value =
        serde_json::from_str(&env.ok(&["app", "create", "--name", "reports", "--json"]))
            .expect("json");
    let client_id = created["client_id"]
        .as_str()
        .expect("client id")
        .to_string();
    let listed: Value = serde_json::from_str(&env.ok(&["app", "list", "--json"])).expect("json");
    let names: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert!(names.contains(&"reports"), "{listed}");
    assert!(env.ok(&["app", "list"]).contains(&client_id));
    let removed: Value =
        serde_json::from_str(&env.ok(&["app", "remove", &client_id, "--json"])).expect("json");
    assert_eq!(removed["deleted"], created["id"]);
    let gone = env.tapd(&["app", "remove", &client_id]);
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("tapd app list"));

    let keys: Value = serde_json::from_str(&env.ok(&["keys", "list", "--json"])).expect("json");
    assert_eq!(keys[0]["state"], "signing", "{keys}");
    let recovered: Value =
        serde_json::from_str(&env.ok(&["recover", "--upn", "user19@tapd.local", "--json"]))
            .expect("json");
    let code = recovered["temporaryAccessPass"].as_str().expect("code");
    tapd_client::Client::new(server)
        .sign_in_tap("user19@tapd.local", code)
        .await
        .expect("the recovery pass signs in");

    // Errors are said once, with what to do.
    let mut bad = Command::new(env!("CARGO_BIN_EXE_tapd"));
    bad.args(["keys", "list", "--database-url", "mysql://db/tapd"])
        .env_remove("TAPD_DATABASE_URL");
    let out = bad.output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("unsupported database URL").count(), 1, "{err}");
    assert!(err.contains("--database-url"), "{err}");

    let port = server.rsplit(':').next().expect("port");
    let busy = Command::new(env!("CARGO_BIN_EXE_tapd"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("TAPD_DATA_DIR", env.dir.join("data"))
        .env("TAPD_DATABASE_URL", &env.database_url)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&busy.stderr);
    assert!(!busy.status.success());
    assert!(
        err.contains(&format!("127.0.0.1:{port} is already in use")) && err.contains("--listen"),
        "{err}"
    );
}

#[tokio::test]
async fn the_admin_center_takes_the_same_file_and_offers_the_results_once() {
    let app = TestApp::spawn().await;
    for alias in ["ann", "ben", "cat"] {
        app.create_user(alias).await;
    }
    let mut admin = Browser::new(&app.base);
    admin
        .sign_in_with_password(&app.admin_user.upn, ADMIN_PASSWORD)
        .await;
    let form = admin.get("/admin/bulk").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("id=\"bulk-form\""));
    let csrf = admin.csrf().await;
    let csv = format!(
        "userPrincipalName,lifetimeInMinutes\n{},120\n{},\n{},-1\nnobody@tapd.test,\n",
        TestApp::upn("ann"),
        TestApp::upn("ben"),
        TestApp::upn("cat")
    );
    let done = admin
        .post_multipart(
            "/admin/bulk",
            &[("csrf", &csrf)],
            ("csv", "people.csv", csv.as_bytes()),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("id=\"bulk-issued\">2<"), "{}", done.body);
    assert!(done.body.contains("id=\"bulk-failed\">2<"));
    let marker = "href=\"data:text/csv;base64,";
    let at = done.body.find(marker).expect("the download link") + marker.len();
    let encoded = &done.body[at..at + done.body[at..].find('"').expect("end")];
    let file = base64::engine::general_purpose::STANDARD
        .decode(unescape(encoded))
        .expect("base64");
    let rows = results(&String::from_utf8(file).expect("utf-8"));
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0][4], "issued");
    let session = app
        .anon
        .sign_in_tap(&TestApp::upn("ann"), &rows[0][1])
        .await
        .expect("the uploaded row's pass signs in");
    assert!(!session.access_token.is_empty());
    assert_eq!(rows[2][4], "failed");

    // The file lives only in that answer: the page again offers nothing.
    let later = admin.get("/admin/bulk").await;
    assert!(!later.body.contains("data:text/csv"));

    // By one-time link: the file holds links, not passes.
    let linked = admin
        .post_multipart(
            "/admin/bulk",
            &[("csrf", &csrf), ("delivery", "link")],
            (
                "csv",
                "people.csv",
                format!("userPrincipalName\n{}\n", TestApp::upn("ben")).as_bytes(),
            ),
        )
        .await;
    let at = linked.body.find(marker).expect("the download link") + marker.len();
    let encoded = &linked.body[at..at + linked.body[at..].find('"').expect("end")];
    let file = base64::engine::general_purpose::STANDARD
        .decode(unescape(encoded))
        .expect("base64");
    let rows = results(&String::from_utf8(file).expect("utf-8"));
    assert!(
        rows[0][1].is_empty() && rows[0][6].contains("/pass/"),
        "{rows:?}"
    );

    // Skipping users who hold a pass; a bad file issues nothing; no CSRF token, no upload.
    let skipped = admin
        .post_multipart(
            "/admin/bulk",
            &[("csrf", &csrf), ("skip_existing", "on")],
            ("csv", "people.csv", csv.as_bytes()),
        )
        .await;
    assert!(
        skipped.body.contains("id=\"bulk-skipped\">2<"),
        "{}",
        skipped.body
    );
    let bad = admin
        .post_multipart(
            "/admin/bulk",
            &[("csrf", &csrf)],
            ("csv", "x.csv", b"mail\nann@tapd.test\n"),
        )
        .await;
    assert!(bad.body.contains("id=\"bulk-error\""), "{}", bad.body);
    assert!(bad.body.contains("Nothing was issued"));
    let forged = admin
        .post_multipart(
            "/admin/bulk",
            &[("csrf", "forged")],
            ("csv", "people.csv", csv.as_bytes()),
        )
        .await;
    assert_ne!(forged.status, StatusCode::OK);
    let passes = app
        .admin
        .list_taps(&TestApp::upn("cat"))
        .await
        .expect("list");
    assert!(passes.value.is_empty(), "cat's rows all failed: no pass");
}
