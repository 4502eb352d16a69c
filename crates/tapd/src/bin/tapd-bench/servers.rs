//! The `tapd serve` processes under test — each on its own port and data dir, all on one
//! database and one pair of key files, as replicas run — and what `/proc` says of a process:
//! resident memory and CPU time.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tapd_client::Client;

/// The bench's scratch folder (SQLite file, data dirs, keys), removed at the end.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn create() -> anyhow::Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("tapd-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What every `tapd` process of one bench shares: the binary, the database, the keys. Replicas
/// must hash pass codes and seal signing keys with the same keys, so the key files are named
/// explicitly rather than left to each data dir.
/// Replicas also share one public URL (the token issuer), as they would behind a balancer:
/// the first replica's address.
pub struct Deployment {
    tapd: PathBuf,
    database_url: String,
    dir: PathBuf,
    /// Each replica's port, chosen up front so that the public URL is known before any starts.
    ports: Vec<u16>,
}

impl Deployment {
    pub fn new(database_url: &str, scratch: &Scratch, replicas: usize) -> anyhow::Result<Self> {
        // Held together while choosing, so that no two replicas are given the same port.
        let listeners = (0..replicas.max(1))
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
            .collect::<std::io::Result<Vec<_>>>()?;
        let ports = listeners
            .iter()
            .map(|l| l.local_addr().map(|a| a.port()))
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Deployment {
            tapd: tapd_binary()?,
            database_url: database_url.to_string(),
            dir: scratch.path().to_path_buf(),
            ports,
        })
    }

    pub fn replicas(&self) -> usize {
        self.ports.len()
    }

    /// A `tapd` command with this deployment's settings and replica `index`'s data dir.
    pub fn command(&self, index: usize) -> Command {
        let keys = self.dir.join("keys");
        let mut cmd = Command::new(&self.tapd);
        cmd.env("TAPD_DATA_DIR", self.dir.join(format!("replica{index}")))
            .env("TAPD_DATABASE_URL", &self.database_url)
            .env(
                "TAPD_PUBLIC_URL",
                format!("http://127.0.0.1:{}", self.ports[0]),
            )
            .env("TAPD_HMAC_KEY_FILE", keys.join("hmac.key"))
            .env("TAPD_SIGNING_KEY_FILE", keys.join("signing.pk8"))
            .env("TAPD_SIGNIN_RATE_PER_SEC", "1000000")
            .env("TAPD_LOG", "error");
        cmd
    }

    /// Starts replica `index` and waits (at most 30 s) until it answers.
    pub async fn start(&self, index: usize) -> anyhow::Result<Server> {
        let port = self.ports[index];
        let mut serve = self.command(index);
        serve
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null());
        let server = Server {
            child: serve.spawn().context("start tapd serve")?,
            base: format!("http://127.0.0.1:{port}"),
        };
        let anon = Client::new(&server.base);
        let deadline = Instant::now() + Duration::from_secs(30);
        while anon.get("/healthz").await.is_err() {
            if Instant::now() > deadline {
                bail!("tapd serve (replica {index}) did not start within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(server)
    }
}

fn tapd_binary() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let tapd = me.with_file_name("tapd");
    if !tapd.exists() {
        bail!(
            "{} not found: build it (cargo build --release)",
            tapd.display()
        );
    }
    Ok(tapd)
}

/// A running `tapd serve`, stopped (SIGTERM, then waited for) when dropped.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Which process `/proc` is asked about.
#[derive(Clone, Copy)]
pub enum Process {
    Pid(u32),
    Myself,
}

impl Process {
    fn proc_dir(self) -> PathBuf {
        match self {
            Process::Pid(pid) => PathBuf::from(format!("/proc/{pid}")),
            Process::Myself => PathBuf::from("/proc/self"),
        }
    }

    /// Resident memory (`VmRSS`), in KiB.
    pub fn rss_kib(self) -> anyhow::Result<u64> {
        let path = self.proc_dir().join("status");
        let status = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no VmRSS in {}", path.display()))
    }

    /// CPU time used so far, user and system (`utime` + `stime`).
    pub fn cpu_time(self) -> anyhow::Result<Duration> {
        let path = self.proc_dir().join("stat");
        let stat = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
        // The command name may hold spaces and parentheses: the fields start after the last ')'.
        // After it come state (field 3) … utime (14) and stime (15).
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |i: usize| -> anyhow::Result<u64> {
            fields
                .get(i)
                .and_then(|f| f.parse().ok())
                .with_context(|| format!("field {} of {}", i + 3, path.display()))
        };
        let total = ticks(11)? + ticks(12)?;
        Ok(Duration::from_secs_f64(
            total as f64 / clock_ticks_per_second(),
        ))
    }
}

/// `CLK_TCK`, the unit of `/proc/*/stat` times: asked of `getconf` once, else Linux's 100.
fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t: &f64| *t > 0.0)
            .unwrap_or(100.0)
    })
}
