//! The `tapd` binary end to end: `serve` on a fresh database, the first admin's printed pass,
//! the admin CLI over HTTP, `app create` and `recover` against the database, graceful stop —
//! and the server's log never holds a code.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tapd_client::TemporaryAccessPass;

use crate::helpers::{code_of, fresh_database_url};

pub(crate) struct Env {
    pub(crate) dir: PathBuf,
    pub(crate) database_url: String,
}

impl Env {
    pub(crate) fn tapd(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_tapd"))
            .args(args)
            .env("HOME", self.dir.join("home"))
            .env("XDG_CONFIG_HOME", self.dir.join("home/.config"))
            .env("TAPD_DATA_DIR", self.dir.join("data"))
            .env("TAPD_DATABASE_URL", &self.database_url)
            .env_remove("TAPD_SERVER")
            .env_remove("TAPD_TOKEN")
            .output()
            .expect("run tapd")
    }

    /// `tapd login` as the first admin with a pass.
    fn login(&self, server: &str, secret: &str) -> std::process::Output {
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

fn check_private(path: &Path) {
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
