//! `tapd backup` under sign-in load and `tapd restore` into a fresh place, with the real binary:
//! every sign-in acknowledged before the backup began is in the restored audit log, the
//! restored server accepts the tokens the first one issued (same keys) and the same pass, and
//! restore refuses to overwrite without --force or under a running server. On PostgreSQL the
//! printed pg_dump and pg_restore commands are run as printed.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tapd_client::{Client, NewUser};

use crate::cli::{Env, free_port, line_after, wait_healthy};
use crate::helpers::{code_of, fresh_database_url};

fn temp_dir(prefix: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A `tapd serve` child process, stopped (SIGTERM, then SIGKILL) when dropped, so that a
/// failed assertion leaves no server behind.
pub(crate) struct Running(pub(crate) Child);

impl Running {
    pub(crate) fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Reaped already (the test stopped it): its pid may belong to another process now.
        if !matches!(self.0.try_wait(), Ok(None)) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while matches!(self.0.try_wait(), Ok(None)) {
            if Instant::now() > deadline {
                let _ = self.0.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.wait();
    }
}

/// `tapd serve` on `env`'s database, at `port`, with `public_url` as its issuer.
fn serve(env: &Env, port: u16, public_url: &str) -> Running {
    let out = std::fs::File::create(env.dir.join(format!("serve-{port}.out"))).expect("file");
    let err = std::fs::File::create(env.dir.join(format!("serve-{port}.err"))).expect("file");
    let child = Command::new(env!("CARGO_BIN_EXE_tapd"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--public-url", public_url])
        .env("TAPD_DATA_DIR", env.dir.join("data"))
        .env("TAPD_DATABASE_URL", &env.database_url)
        .env("TAPD_SIGNIN_RATE_PER_SEC", "100000")
        .env("TAPD_LOG", "warn")
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("start tapd serve");
    let mut running = Running(child);
    wait_healthy(env, &format!("http://127.0.0.1:{port}"), &mut running.0);
    running
}

#[track_caller]
fn sh(command: &str) {
    let out = Command::new("sh")
        .args(["-c", command])
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every sign-in's correlation id in the server's audit log, following `@odata.nextLink`.
async fn signed_in_request_ids(admin: &Client) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut page = admin
        .get("/v1.0/auditLogs/signIns?$top=999")
        .await
        .expect("sign-in log");
    loop {
        for entry in page["value"].as_array().expect("value") {
            if entry["status"]["errorCode"] == 0
                && let Some(id) = entry["correlationId"].as_str()
            {
                ids.insert(id.to_string());
            }
        }
        match page["@odata.nextLink"].as_str() {
            Some(next) => {
                let path = &next[next.find("/v1.0/").expect("a Graph link")..];
                page = admin.get(path).await.expect("next page");
            }
            None => return ids,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_sign_in_load_restores_every_acknowledged_sign_in() {
    let postgres = std::env::var("TAPD_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty());
    let source = Env {
        dir: temp_dir("tapd-backup-src"),
        database_url: fresh_database_url().await,
    };
    let port = free_port();
    let public_url = format!("http://localhost:{port}");
    let base = format!("http://127.0.0.1:{port}");
    let server = serve(&source, port, &public_url);
    let printed =
        std::fs::read_to_string(source.dir.join(format!("serve-{port}.out"))).expect("stdout");
    let admin_code = line_after(&printed, "One-time Temporary Access Pass:");
    let anon = Client::new(&base);
    let session = anon
        .sign_in_tap("admin@tapd.local", admin_code)
        .await
        .expect("the first admin signs in");
    let admin = anon.clone().with_token(session.access_token.clone());
    admin
        .create_user(&NewUser::new("alice@tapd.local", "Alice"))
        .await
        .expect("alice");
    let pass = admin
        .create_tap(
            "alice@tapd.local",
            &json!({"lifetimeInMinutes": 480, "isUsableOnce": false}),
        )
        .await
        .expect("a pass for alice");
    let code = code_of(&pass).to_string();

    // Sign-ins without pause from four clients; each acknowledged one is noted with its time.
    let acknowledged: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let running = Arc::new(AtomicBool::new(true));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (acknowledged, running) = (acknowledged.clone(), running.clone());
        let (url, code) = (format!("{base}/api/signin/tap"), code.clone());
        workers.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            while running.load(Ordering::Relaxed) {
                let resp = http
                    .post(&url)
                    .json(&json!({"username": "alice@tapd.local", "code": code}))
                    .send()
                    .await
                    .expect("sign-in request");
                let ok = resp.status().is_success();
                let id = resp
                    .headers()
                    .get("request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let body: Value = resp.json().await.expect("json");
                assert!(ok, "sign-in refused: {body}");
                acknowledged
                    .lock()
                    .expect("lock")
                    .push((Instant::now(), id.expect("a request id")));
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let backup_dir = source.dir.join("backup");
    let backup_began = Instant::now();
    let out = {
        let backup_dir = backup_dir.clone();
        let (dir, database_url) = (source.dir.clone(), source.database_url.clone());
        tokio::task::spawn_blocking(move || {
            Env { dir, database_url }.tapd(&[
                "backup",
                "--to",
                backup_dir.to_str().expect("utf-8"),
                "--json",
            ])
        })
        .await
        .expect("backup")
    };
    let backup_took = backup_began.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.store(false, Ordering::Relaxed);
    for w in workers {
        w.await.expect("worker");
    }
    assert!(
        out.status.success(),
        "tapd backup: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: Value = serde_json::from_slice(&out.stdout).expect("json");
    let acknowledged = acknowledged.lock().expect("lock").clone();
    let before: Vec<&String> = acknowledged
        .iter()
        .filter(|(at, _)| *at < backup_began)
        .map(|(_, id)| id)
        .collect();
    let during = acknowledged.len() - before.len();
    eprintln!(
        "backup under load: {} sign-ins acknowledged before it, {during} during and after; tapd backup took {backup_took:?}",
        before.len()
    );
    assert!(before.len() >= 20, "too little load: {}", before.len());
    assert_eq!(
        manifest["database"],
        if postgres { "postgres" } else { "sqlite" }
    );
    let files: Vec<&str> = manifest["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().expect("path"))
        .collect();
    for key in ["keys/hmac.key", "keys/signing.pk8"] {
        assert!(files.contains(&key), "{manifest}");
    }
    check_private(&backup_dir.join("keys/hmac.key"));
    check_private(&backup_dir.join("manifest.json"));
    if postgres {
        let pg_dump = manifest["pg_dump"].as_str().expect("the pg_dump command");
        sh(pg_dump);
    } else {
        assert!(files.contains(&"tapd.db"), "{manifest}");
        check_private(&backup_dir.join("tapd.db"));
        // The running server holds the database: restoring over it is refused.
        let refused = source.tapd(&[
            "restore",
            "--from",
            backup_dir.to_str().expect("utf-8"),
            "--force",
        ]);
        assert!(!refused.status.success());
        let message = String::from_utf8_lossy(&refused.stderr);
        assert!(message.contains("server is using"), "{message}");
    }
    drop(server);

    // A damaged backup is refused before anything is written.
    let damaged = source.dir.join("damaged");
    copy_dir(&backup_dir, &damaged);
    std::fs::write(damaged.join("keys/hmac.key"), b"not the key").expect("write");
    let target = Env {
        dir: temp_dir("tapd-backup-dst"),
        database_url: fresh_database_url().await,
    };
    let refused = target.tapd(&["restore", "--from", damaged.to_str().expect("utf-8")]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("does not match the manifest"), "{message}");
    assert!(!target.dir.join("data/keys/hmac.key").exists());

    let restored: Value = serde_json::from_str(&target.ok(&[
        "restore",
        "--from",
        backup_dir.to_str().expect("utf-8"),
        "--json",
    ]))
    .expect("json");
    if postgres {
        sh(restored["pg_restore"]
            .as_str()
            .expect("the pg_restore command"));
    }
    for key in ["hmac.key", "signing.pk8"] {
        assert_eq!(
            std::fs::read(target.dir.join("data/keys").join(key)).expect("restored key"),
            std::fs::read(source.dir.join("data/keys").join(key)).expect("original key"),
        );
    }
    let again = target.tapd(&["restore", "--from", backup_dir.to_str().expect("utf-8")]);
    assert!(
        !again.status.success(),
        "a second restore must need --force"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));

    // The restored server: the same directory (no new first admin), the same keys.
    let port2 = free_port();
    let restored_server = serve(&target, port2, &public_url);
    let printed =
        std::fs::read_to_string(target.dir.join(format!("serve-{port2}.out"))).expect("stdout");
    assert!(
        !printed.contains("First administrator"),
        "the restored server found an empty database: {printed}"
    );
    let base2 = format!("http://127.0.0.1:{port2}");
    let admin2 = Client::new(&base2).with_token(session.access_token.clone());
    admin2
        .get("/v1.0/me")
        .await
        .expect("a token of the first server is valid on the restored one");
    let present = signed_in_request_ids(&admin2).await;
    let missing: Vec<&&String> = before.iter().filter(|id| !present.contains(**id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} sign-ins acknowledged before the backup are missing",
        missing.len(),
        before.len()
    );
    Client::new(&base2)
        .sign_in_tap("alice@tapd.local", &code)
        .await
        .expect("alice's pass works on the restored server");
    drop(restored_server);
}

fn check_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .expect("exists")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "{} is mode {mode:o}", path.display());
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walk(from) {
        let rel = entry.strip_prefix(from).expect("inside");
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("dir");
        std::fs::copy(&entry, &dest).expect("copy");
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
