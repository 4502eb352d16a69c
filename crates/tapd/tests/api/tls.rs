//! HTTPS: tapd serves the configured certificate; a reload (what SIGHUP calls) serves a new one
//! to new connections while open connections carry on; a bad file on reload keeps the old
//! certificate; errors name the file; graceful shutdown still ends the server. The binary's
//! own SIGHUP handler is exercised end to end on a real `tapd serve`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tapd_server::service::{Services, operator};
use tapd_server::{App, Config, Keys, TlsFiles};
use tapd_store::Store;

use crate::backup::Running;
use crate::cli::free_port;
use crate::helpers::fresh_database_url;

/// A self-signed certificate for 127.0.0.1 and localhost (the `openssl` command line), as PEM
/// files `NAME.crt` and `NAME.key` in `dir`; answers their paths and the certificate.
pub(crate) fn self_signed(dir: &Path, name: &str) -> (PathBuf, PathBuf, reqwest::Certificate) {
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", &format!("/CN={name}")])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        // A server certificate, not a CA (webpki refuses a CA as the end entity).
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("the openssl command line is needed to make test certificates");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pem = std::fs::read(&cert).expect("certificate");
    (
        cert,
        key,
        reqwest::Certificate::from_pem(&pem).expect("a PEM certificate"),
    )
}

/// A client that trusts `cert` alone and opens a new connection for every request.
fn trusting(cert: &reqwest::Certificate) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([cert.clone()])
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// A client that trusts `cert` alone and keeps its connection open between requests.
fn keeping_alive(cert: &reqwest::Certificate) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([cert.clone()])
        .pool_max_idle_per_host(1)
        .pool_idle_timeout(Duration::from_secs(300))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

async fn healthy(client: &reqwest::Client, base: &str) -> Result<u16, reqwest::Error> {
    Ok(client
        .get(format!("{base}/healthz"))
        .send()
        .await?
        .status()
        .as_u16())
}

fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn replace(from: &Path, to: &Path) {
    std::fs::copy(from, to).expect("replace the file");
}

#[tokio::test(flavor = "multi_thread")]
async fn https_reload_swaps_the_certificate_for_new_connections_only() {
    let dir = temp_dir("tapd-tls");
    let (cert_a, key_a, trust_a) = self_signed(&dir, "first");
    let (cert_b, key_b, trust_b) = self_signed(&dir, "second");
    // The files tapd is configured with; their contents change underneath it.
    let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    replace(&cert_a, &cert);
    replace(&key_a, &key);

    let store = Store::connect(&fresh_database_url().await)
        .await
        .expect("store");
    let keys = Keys::generate();
    let now = time::OffsetDateTime::now_utc();
    let first = operator::bootstrap(
        &Services::new(store.clone(), keys.clone()),
        "tapd.test",
        now,
    )
    .await
    .expect("bootstrap")
    .expect("fresh");
    let files = TlsFiles::load(&cert, &key).expect("the first pair loads");
    let mut config = Config::new("127.0.0.1:0".parse().expect("addr"), keys);
    config.tls = Some(files.clone());
    let app = App::build(config, store).await.expect("build");
    let base = format!("https://{}", app.local_addr());
    assert_eq!(
        app.state.public_url, base,
        "the public URL defaults to https when TLS is on"
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(async {
        let _ = stopped.await;
    }));

    let plain = reqwest::Client::new();
    assert!(
        plain
            .get(format!("http://{}/healthz", &base["https://".len()..]))
            .send()
            .await
            .is_err(),
        "plain HTTP is not spoken on a TLS port"
    );
    assert_eq!(
        healthy(&trusting(&trust_a), &base).await.expect("https"),
        200
    );
    // A sign-in needs the client's address (ConnectInfo) through the TLS listener too.
    let signed_in = trusting(&trust_a)
        .post(format!("{base}/api/signin/tap"))
        .json(&serde_json::json!({"username": first.upn, "code": first.code}))
        .send()
        .await
        .expect("sign in over https");
    assert_eq!(signed_in.status().as_u16(), 200);
    let open = keeping_alive(&trust_a);
    assert_eq!(
        healthy(&open, &base).await.expect("opens a connection"),
        200
    );

    replace(&cert_b, &cert);
    replace(&key_b, &key);
    files.reload().expect("the second pair loads");
    assert_eq!(
        healthy(&trusting(&trust_b), &base).await.expect("new cert"),
        200,
        "new connections get the new certificate"
    );
    assert!(
        healthy(&trusting(&trust_a), &base).await.is_err(),
        "the old certificate is no longer served"
    );
    assert_eq!(
        healthy(&open, &base).await.expect("the open connection"),
        200,
        "a connection opened before the reload carries on"
    );

    // A broken file on reload: an error naming it, and the current certificate stays.
    std::fs::write(&key, "not a key").expect("write");
    let err = files.reload().expect_err("garbage is refused").to_string();
    assert!(err.contains(&key.display().to_string()), "{err}");
    replace(&key_a, &key);
    let err = files
        .reload()
        .expect_err("a key of another certificate")
        .to_string();
    assert!(err.contains("does not match"), "{err}");
    assert_eq!(
        healthy(&trusting(&trust_b), &base)
            .await
            .expect("still served"),
        200
    );

    drop(stop);
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("graceful shutdown ends the server")
        .expect("task")
        .expect("served");
}

#[test]
fn load_errors_name_the_file() {
    let dir = temp_dir("tapd-tls-errors");
    let (cert, key, _) = self_signed(&dir, "only");
    let missing = dir.join("missing.pem");
    let err = TlsFiles::load(&missing, &key)
        .expect_err("missing")
        .to_string();
    assert!(err.contains(&missing.display().to_string()), "{err}");
    let not_pem = dir.join("empty.pem");
    std::fs::write(&not_pem, "").expect("write");
    let err = TlsFiles::load(&not_pem, &key)
        .expect_err("empty")
        .to_string();
    assert!(
        err.contains(&not_pem.display().to_string()) && err.contains("CERTIFICATE"),
        "{err}"
    );
    let err = TlsFiles::load(&cert, &not_pem)
        .expect_err("no key")
        .to_string();
    assert!(
        err.contains(&not_pem.display().to_string()) && err.contains("private key"),
        "{err}"
    );
    TlsFiles::load(&cert, &key).expect("the pair loads");
}

/// `tapd serve` with `tls_cert_file` / `tls_key_file`: serves HTTPS, reloads on SIGHUP, keeps
/// serving after a SIGHUP with a broken file, and refuses to start on a missing file.
#[tokio::test(flavor = "multi_thread")]
async fn the_binary_reloads_its_certificate_on_sighup() {
    let dir = temp_dir("tapd-tls-bin");
    let (cert_a, key_a, trust_a) = self_signed(&dir, "first");
    let (cert_b, key_b, trust_b) = self_signed(&dir, "second");
    let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    replace(&cert_a, &cert);
    replace(&key_a, &key);
    let database_url = fresh_database_url().await;
    let tapd = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tapd"));
        cmd.args(args)
            .env("TAPD_DATA_DIR", dir.join("data"))
            .env("TAPD_DATABASE_URL", &database_url)
            .env("TAPD_TLS_CERT_FILE", &cert)
            .env("TAPD_TLS_KEY_FILE", &key)
            .env("TAPD_LOG", "info");
        cmd
    };

    let missing = dir.join("missing.key");
    let out = tapd(&["serve", "--listen", "127.0.0.1:0"])
        .env("TAPD_TLS_KEY_FILE", &missing)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
    let out = tapd(&["serve", "--listen", "127.0.0.1:0"])
        .env_remove("TAPD_TLS_KEY_FILE")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tls_key_file"), "{stderr}");
    assert!(
        !dir.join("data").exists(),
        "a start refused for its TLS files creates nothing (no first admin's pass is spent)"
    );

    let port = free_port();
    let base = format!("https://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.join("serve.err")).expect("log");
    let mut child = Running(
        tapd(&["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start tapd serve"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while healthy(&trusting(&trust_a), &base).await.is_err() {
        assert!(
            child.0.try_wait().expect("poll").is_none(),
            "tapd serve exited"
        );
        assert!(
            Instant::now() < deadline,
            "tapd serve did not answer over https"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let hup = |pid: u32| {
        let status = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    };

    replace(&cert_b, &cert);
    replace(&key_b, &key);
    hup(child.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    while healthy(&trusting(&trust_b), &base).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not load the new certificate"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nnot base64!\n").expect("write");
    hup(child.id());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        child.0.try_wait().expect("poll").is_none(),
        "a bad file must not stop tapd"
    );
    assert_eq!(
        healthy(&trusting(&trust_b), &base)
            .await
            .expect("the previous certificate"),
        200
    );
    let logged = std::fs::read_to_string(dir.join("serve.err")).expect("log");
    assert!(
        logged.contains("TLS certificate reloaded") && logged.contains("not reloaded"),
        "{logged}"
    );

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("poll") {
            break status;
        }
        assert!(Instant::now() < deadline, "tapd did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "graceful stop: {status}");
}
