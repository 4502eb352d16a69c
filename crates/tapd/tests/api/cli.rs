//! The `tapd` binary end to end: `serve` on a fresh database, the first admin's printed pass,
//! the admin CLI over HTTP, `app create` and `recover` against the database, graceful stop —
//! and the server's log never holds a code.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tapd_client::TemporaryAccessPass;

use crate::helpers::{code_of, fresh_database_url};

pub(crate) struct Env {
    pub(crate) dir: PathBuf,
    pub(crate) database_url: String,
}

impl Env {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tapd"));
        command
            .args(args)
            .env("HOME", self.dir.join("home"))
            .env("XDG_CONFIG_HOME", self.dir.join("home/.config"))
            .env("TAPD_DATA_DIR", self.dir.join("data"))
            .env("TAPD_DATABASE_URL", &self.database_url)
            .env_remove("TAPD_SERVER")
            .env_remove("TAPD_TOKEN")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY");
        command
    }

    pub(crate) fn tapd(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run tapd")
    }

    /// `tapd login` as the first admin with a pass.
    pub(crate) fn login(&self, server: &str, secret: &str) -> std::process::Output {
        self.tapd(&[
            "login",
            "--server",
            server,
            "--user",
            "admin@tapd.local",
            "--secret",
            secret,
        ])
    }

    #[track_caller]
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.tapd(args);
        assert!(
            out.status.success(),
            "tapd {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub(crate) fn wait_healthy(env: &Env, server: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if env
            .tapd(&["healthcheck", "--server", server])
            .status
            .success()
        {
            return;
        }
        assert!(
            child.try_wait().expect("poll").is_none(),
            "tapd serve exited early"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("tapd serve did not become healthy");
}

pub(crate) fn line_after<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in {text}"))
        .trim()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_end_to_end() {
    let dir = std::env::temp_dir().join(format!("tapd-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let env = Env {
        database_url: fresh_database_url().await,
        dir: dir.clone(),
    };
    let port = free_port();
    let server = format!("http://127.0.0.1:{port}");
    let stdout = std::fs::File::create(dir.join("serve.out")).expect("file");
    let stderr = std::fs::File::create(dir.join("serve.err")).expect("file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tapd"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("TAPD_DATA_DIR", dir.join("data"))
        .env("TAPD_DATABASE_URL", &env.database_url)
        .env("TAPD_LOG", "debug")
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr))
        .spawn()
        .expect("start tapd serve");
    wait_healthy(&env, &server, &mut child);
    let printed = std::fs::read_to_string(dir.join("serve.out")).expect("stdout");
    assert_eq!(
        line_after(&printed, "First administrator:"),
        "admin@tapd.local"
    );
    let mut codes = vec![line_after(&printed, "One-time Temporary Access Pass:").to_string()];
    check_private(&dir.join("data/keys/hmac.key"));
    check_private(&dir.join("data/keys/signing.pk8"));

    let out = env.login(&server, &codes[0]);
    assert!(
        out.status.success(),
        "login: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_private(&dir.join("home/.config/tapd/login.json"));
    env.ok(&[
        "user",
        "add",
        "--upn",
        "alice@tapd.local",
        "--name",
        "Alice",
    ]);
    assert!(env.ok(&["user", "list"]).contains("alice@tapd.local"));
    let issued: TemporaryAccessPass = serde_json::from_str(&env.ok(&[
        "tap",
        "new",
        "--user",
        "alice@tapd.local",
        "--once",
        "--lifetime",
        "120",
        "--json",
    ]))
    .expect("json");
    let code = code_of(&issued).to_string();
    codes.push(code.clone());
    assert_eq!(issued.lifetime_in_minutes, 120);

    // Alice signs in as a curl user would.
    let session = tapd_client::Client::new(&server)
        .sign_in_tap("alice@tapd.local", &code)
        .await
        .expect("alice signs in");
    assert!(!session.access_token.is_empty());
    let shown = env.ok(&["tap", "get", "--user", "alice@tapd.local"]);
    assert!(shown.contains("OneTimeUsed"), "{shown}");
    assert!(!shown.contains(&code));

    // --link prints a one-time link instead of the pass; --email needs [smtp] on the server.
    let linked = env.ok(&["tap", "new", "--user", "alice@tapd.local", "--link"]);
    assert!(
        linked.contains(&format!("localhost:{port}/pass/")),
        "{linked}"
    );
    assert!(linked.contains("shows the pass once"), "{linked}");
    let mailed = env.tapd(&[
        "tap",
        "new",
        "--user",
        "alice@tapd.local",
        "--email",
        "user",
    ]);
    assert!(!mailed.status.success());
    assert!(String::from_utf8_lossy(&mailed.stderr).contains("[smtp]"));

    let refused = env.tapd(&["policy", "set", "--min-lifetime", "5"]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("minimumLifetimeInMinutes"),
        "the server's message: {message}"
    );
    assert!(env.ok(&["policy", "set", "--length", "10"]).contains("10"));

    env.ok(&[
        "role",
        "assign",
        "--user",
        "alice@tapd.local",
        "--role",
        "Global Reader",
    ]);
    assert!(
        env.ok(&["role", "list", "--user", "alice@tapd.local"])
            .contains("Global Reader")
    );
    env.ok(&["group", "add", "--name", "Onboarding"]);
    assert!(
        env.ok(&["audit"])
            .contains("Admin registered temporary access pass method for user")
    );
    assert!(
        env.ok(&["audit", "--sign-ins"])
            .contains("alice@tapd.local")
    );
    env.ok(&["tap", "remove", "--user", "alice@tapd.local"]);
    assert!(
        env.ok(&["tap", "get", "--user", "alice@tapd.local"])
            .contains("holds no Temporary Access Pass")
    );

    let app: Value = serde_json::from_str(&env.ok(&[
        "app",
        "create",
        "--name",
        "ci",
        "--permission",
        "Policy.Read.All",
        "--permission",
        "RoleManagement.Read.Directory",
        "--permission",
        "UserAuthMethod-TAP.ReadWrite.All",
        "--json",
    ]))
    .expect("json");
    let token = tapd_client::Client::new(&server)
        .client_credentials(
            app["client_id"].as_str().expect("id"),
            app["client_secret"].as_str().expect("secret"),
        )
        .await
        .expect("client credentials");
    let policy = env.ok(&["policy", "get", "--json", "--token", &token.access_token]);
    assert!(policy.contains("\"defaultLength\": 10"), "{policy}");
    let graph = tapd_client::Client::new(&server).with_token(&token.access_token);
    let roles = graph
        .get("/v1.0/roleManagement/directory/roleAssignments")
        .await;
    assert!(
        roles.is_ok(),
        "Graph's permission names are accepted: {roles:?}"
    );
    let taps = graph
        .get("/v1.0/users/alice@tapd.local/authentication/temporaryAccessPassMethods")
        .await;
    assert!(taps.is_ok(), "{taps:?}");
    assert!(
        !env.tapd(&[
            "app",
            "create",
            "--name",
            "x",
            "--permission",
            "Everything.All"
        ])
        .status
        .success()
    );

    let recovered = env.ok(&["recover", "--upn", "admin@tapd.local"]);
    let fresh = line_after(
        &recovered,
        "One-time Temporary Access Pass for admin@tapd.local:",
    )
    .to_string();
    codes.push(fresh.clone());
    let out = env.login(&server, &fresh);
    assert!(
        out.status.success(),
        "login: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = env.login(&server, &fresh);
    assert!(!again.status.success(), "a recovery pass is one-time");

    let unreachable = env.tapd(&[
        "user",
        "list",
        "--server",
        "http://127.0.0.1:1",
        "--token",
        "x",
    ]);
    assert!(!unreachable.status.success());

    // Graceful stop on SIGTERM.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "tapd did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "clean exit: {status:?}");
    let log = std::fs::read_to_string(dir.join("serve.err")).expect("log");
    assert!(log.contains("tapd listening"), "the log was captured");
    for code in &codes {
        assert!(!log.contains(code.as_str()), "a code leaked into the log");
    }
}

pub(crate) fn check_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{} is private", path.display());
    }
}

#[test]
fn database_commands_run_from_the_wrong_folder_say_where_they_looked_and_create_nothing() {
    let dir = std::env::temp_dir().join(format!("tapd-nowhere-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for args in [
        &["recover", "--upn", "admin@tapd.local"][..],
        &["keys", "list"][..],
        &["app", "create", "--name", "x"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_tapd"))
            .args(args)
            .current_dir(&dir)
            .env_remove("TAPD_DATA_DIR")
            .env_remove("TAPD_DATABASE_URL")
            .env_remove("TAPD_CONFIG")
            .output()
            .expect("run tapd");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains("no tapd database at"), "{args:?}: {err}");
        assert!(
            err.contains("--data-dir"),
            "{args:?} says what to do: {err}"
        );
        assert!(
            !dir.join("tapd-data").exists(),
            "{args:?} left a tapd-data behind"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `tapd serve` on a fresh database in `dir`: the child, its URL and the first admin's pass.
pub(crate) fn serve(env: &Env) -> (Child, String, String) {
    let port = free_port();
    let server = format!("http://127.0.0.1:{port}");
    let out = env.dir.join("serve.out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tapd"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("TAPD_DATA_DIR", env.dir.join("data"))
        .env("TAPD_DATABASE_URL", &env.database_url)
        .stdout(Stdio::from(std::fs::File::create(&out).expect("file")))
        .stderr(Stdio::null())
        .spawn()
        .expect("start tapd serve");
    wait_healthy(env, &server, &mut child);
    let printed = std::fs::read_to_string(&out).expect("stdout");
    let pass = line_after(&printed, "One-time Temporary Access Pass:").to_string();
    (child, server, pass)
}

/// Reads `child`'s standard error until a line `pick` accepts; answers what it picked.
fn read_stderr_until(
    stderr: &mut impl std::io::BufRead,
    pick: impl Fn(&str) -> Option<String>,
) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = stderr.read_line(&mut line).expect("read stderr");
        assert!(
            n > 0,
            "tapd login ended before printing what was expected: {seen}"
        );
        if let Some(found) = pick(line.trim()) {
            return found;
        }
        seen.push_str(&line);
    }
}

fn kept_login(env: &Env) -> Value {
    let text = std::fs::read_to_string(env.dir.join("home/.config/tapd/login.json")).expect("kept");
    serde_json::from_str(&text).expect("json")
}

fn edit_login(env: &Env, field: &str, value: &str) {
    let mut login = kept_login(env);
    login[field] = Value::String(value.into());
    let path = env.dir.join("home/.config/tapd/login.json");
    std::fs::write(&path, serde_json::to_vec(&login).expect("json")).expect("write");
}

fn finish(child: Child) -> Output {
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "tapd login failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn login_by_device_code_or_browser_is_kept_renewed_and_ends_with_its_pass() {
    use crate::browser::Browser;
    let dir = std::env::temp_dir().join(format!("tapd-login-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let env = Env {
        database_url: fresh_database_url().await,
        dir: dir.clone(),
    };
    let (mut server_child, server, pass) = serve(&env);

    // The admin is signed in in a browser (with the printed one-time pass).
    let mut browser = Browser::new(&server);
    let page = browser.get("/signin").await;
    let home = browser
        .sign_in_with_tap(page, "admin@tapd.local", &pass)
        .await;
    assert_eq!(home.status, reqwest::StatusCode::SEE_OTHER, "{}", home.body);

    // `tapd login --device-code` prints a code; the admin approves it on /device.
    let mut login = env
        .command(&["login", "--device-code", "--server", &server])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tapd login");
    let mut stderr = std::io::BufReader::new(login.stderr.take().expect("stderr"));
    let user_code = read_stderr_until(&mut stderr, |line| {
        let rest = line.split_once("enter the code ")?.1;
        Some(rest.split_whitespace().next()?.to_string())
    });
    let form = browser.get("/device").await;
    let csrf = form.input("csrf");
    let confirm = browser
        .post("/device", &[("csrf", &csrf), ("user_code", &user_code)])
        .await;
    assert!(confirm.body.contains("tapd CLI"), "{}", confirm.body);
    let approved = browser
        .post(
            "/device/approve",
            &[("csrf", &csrf), ("user_code", &user_code)],
        )
        .await;
    assert!(
        approved.body.contains("Device signed in"),
        "{}",
        approved.body
    );
    let out = finish(login);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Signed in as admin@tapd.local"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    check_private(&dir.join("home/.config/tapd/login.json"));
    assert!(env.ok(&["user", "list"]).contains("admin@tapd.local"));

    // A refused token is renewed (401, refresh, the request again) and written back.
    let before = kept_login(&env);
    edit_login(&env, "access_token", "not-a-token");
    assert!(env.ok(&["user", "list"]).contains("admin@tapd.local"));
    let after = kept_login(&env);
    assert_ne!(after["access_token"], json!("not-a-token"));
    assert_ne!(after["refresh_token"], before["refresh_token"], "rotated");
    check_private(&dir.join("home/.config/tapd/login.json"));
    // An expired one is renewed before it is sent.
    edit_login(&env, "expires_at", "2000-01-01T00:00:00Z");
    assert!(env.ok(&["user", "list"]).contains("admin@tapd.local"));
    let renewed = kept_login(&env);
    assert_ne!(renewed["refresh_token"], after["refresh_token"]);
    assert_ne!(renewed["expires_at"], json!("2000-01-01T00:00:00Z"));

    // The session came from the pass: deleting the pass ends it, and the CLI says so.
    let me = tapd_client::Client::new(&server)
        .with_token(renewed["access_token"].as_str().expect("token"));
    let passes = me
        .get("/v1.0/me/authentication/temporaryAccessPassMethods")
        .await
        .expect("my pass");
    let id = passes["value"][0]["id"].as_str().expect("pass id");
    me.delete(&format!(
        "/v1.0/me/authentication/temporaryAccessPassMethods/{id}"
    ))
    .await
    .expect("delete my pass");
    let ended = env.tapd(&["user", "list"]);
    assert!(!ended.status.success());
    let said = String::from_utf8_lossy(&ended.stderr);
    assert!(said.contains("session has ended"), "{said}");
    assert!(said.contains("Temporary Access Pass"), "says why: {said}");
    assert!(
        said.contains("tapd login --browser"),
        "says what to do: {said}"
    );

    // `tapd login --browser`: the printed URL, signed in on the pages, back to the listener.
    let recovered = env.ok(&["recover", "--upn", "admin@tapd.local"]);
    let fresh = line_after(
        &recovered,
        "One-time Temporary Access Pass for admin@tapd.local:",
    )
    .to_string();
    let mut login = env
        .command(&["login", "--browser", "--no-open", "--server", &server])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tapd login");
    let mut stderr = std::io::BufReader::new(login.stderr.take().expect("stderr"));
    let url = read_stderr_until(&mut stderr, |line| {
        line.starts_with("http").then(|| line.to_string())
    });
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    let page = browser.get(&url).await;
    let back = browser
        .sign_in_with_tap(page, "admin@tapd.local", &fresh)
        .await;
    let to_cli = back.location.clone().expect("a redirect to the CLI");
    assert!(to_cli.starts_with("http://127.0.0.1:"), "{to_cli}");
    let answered = reqwest::get(&to_cli)
        .await
        .expect("the CLI's listener answers");
    assert_eq!(answered.status(), reqwest::StatusCode::OK);
    finish(login);
    assert!(env.ok(&["user", "list"]).contains("admin@tapd.local"));
    assert_eq!(
        kept_login(&env)["client_id"],
        json!(tapd_core::CLI_CLIENT_ID.to_string())
    );

    // A server that is down is named, with what to do.
    let down = env.tapd(&["user", "list", "--server", "http://127.0.0.1:1"]);
    let said = String::from_utf8_lossy(&down.stderr);
    assert!(!down.status.success());
    assert!(
        said.contains("cannot reach tapd at http://127.0.0.1:1"),
        "{said}"
    );
    assert!(said.contains("TAPD_SERVER"), "{said}");
    assert!(!said.contains("not signed in"), "{said}");

    server_child.kill().expect("stop tapd serve");
    let _ = server_child.wait();
    std::fs::remove_dir_all(&dir).ok();
}
