//! `tapd-bench`: drives a `tapd serve` over HTTP and prints throughput and p50/p99 latency of
//! pass issuance and of TAP sign-in on the full path (verify, one-time consumption, audit,
//! token). It starts the server itself (the `tapd` binary beside this one) on a fresh database:
//! SQLite in a temporary data dir by default, or a new database on the PostgreSQL server that
//! `--postgres` names. Every loop is bounded in count and time and talks to 127.0.0.1 only.
//!
//!   cargo build --release && ./target/release/tapd-bench [--postgres postgres://postgres@127.0.0.1/postgres]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::json;
use tapd_client::{Client, NewUser};
use tokio::sync::Semaphore;

#[derive(Parser)]
#[command(about = "Benchmark tapd's TAP sign-in and pass issuance over HTTP")]
struct Args {
    /// A PostgreSQL server to create the benchmark database on (default: SQLite).
    #[arg(long)]
    postgres: Option<String>,
    /// Users, each issued a one-time pass that is then used once.
    #[arg(long, default_value_t = 20_000)]
    users: usize,
    /// Requests in flight in the closed-loop runs.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Offered load of the open-loop run, sign-ins per second.
    #[arg(long, default_value_t = 1_000)]
    rate: u64,
    /// Length of the open-loop run, seconds.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
}

struct Stats {
    name: String,
    latencies: Vec<Duration>,
    elapsed: Duration,
    errors: usize,
}

impl Stats {
    fn print(mut self) {
        self.latencies.sort();
        let pct = |p: f64| {
            let i = ((self.latencies.len() as f64 * p).ceil() as usize)
                .clamp(1, self.latencies.len().max(1))
                - 1;
            self.latencies
                .get(i)
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        println!(
            "{:<44} {:>7} ok {:>5} err {:>9.0}/s   p50 {:>7.2} ms   p99 {:>7.2} ms",
            self.name,
            self.latencies.len(),
            self.errors,
            self.latencies.len() as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99),
        );
    }
}

/// Runs `jobs` with at most `concurrency` in flight; times each.
async fn closed_loop<F, Fut>(name: &str, jobs: usize, concurrency: usize, job: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let job = Arc::new(job);
    let sem = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut handles = Vec::with_capacity(jobs);
    for i in 0..jobs {
        let permit = sem.clone().acquire_owned().await.expect("semaphore");
        let job = job.clone();
        handles.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = job(i).await;
            drop(permit);
            (ok, t.elapsed())
        }));
    }
    collect(name, handles, started).await
}

/// Starts job `i` at `i / rate` seconds, whatever the previous ones are doing.
async fn open_loop<F, Fut>(name: &str, jobs: usize, rate: u64, job: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let job = Arc::new(job);
    let started = Instant::now();
    let mut handles = Vec::with_capacity(jobs);
    for i in 0..jobs {
        tokio::time::sleep_until(
            (started + Duration::from_secs_f64(i as f64 / rate as f64)).into(),
        )
        .await;
        let job = job.clone();
        handles.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = job(i).await;
            (ok, t.elapsed())
        }));
    }
    collect(name, handles, started).await
}

async fn collect(
    name: &str,
    handles: Vec<tokio::task::JoinHandle<(bool, Duration)>>,
    started: Instant,
) -> Stats {
    let mut stats = Stats {
        name: name.into(),
        latencies: Vec::new(),
        elapsed: Duration::ZERO,
        errors: 0,
    };
    for h in handles {
        match h.await {
            Ok((true, d)) => stats.latencies.push(d),
            _ => stats.errors += 1,
        }
    }
    stats.elapsed = started.elapsed();
    stats
}

struct Server {
    child: Child,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tapd = tapd_binary()?;
    let dir = std::env::temp_dir().join(format!("tapd-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let database_url = match &args.postgres {
        Some(server) => {
            let name = format!("tapd_bench_{}", uuid::Uuid::new_v4().simple());
            tapd_store::Store::create_postgres_database(server, &name).await?
        }
        None => format!("sqlite://{}?mode=rwc", dir.join("tapd.db").display()),
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let env = |cmd: &mut Command| {
        cmd.env("TAPD_DATA_DIR", dir.join("data"))
            .env("TAPD_DATABASE_URL", &database_url)
            .env("TAPD_SIGNIN_RATE_PER_SEC", "1000000")
            .env("TAPD_LOG", "error");
    };
    let mut serve = Command::new(&tapd);
    serve
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null());
    env(&mut serve);
    let server = Server {
        child: serve.spawn().context("start tapd serve")?,
        dir: dir.clone(),
    };
    let anon = Client::new(&base);
    let deadline = Instant::now() + Duration::from_secs(30);
    while anon.get("/healthz").await.is_err() {
        if Instant::now() > deadline {
            bail!("tapd serve did not start");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut create = Command::new(&tapd);
    create.args([
        "app",
        "create",
        "--name",
        "bench",
        "--json",
        "--permission",
        "User.ReadWrite.All",
        "--permission",
        "UserAuthenticationMethod.ReadWrite.All",
        "--permission",
        "Policy.ReadWrite.AuthenticationMethod",
    ]);
    env(&mut create);
    let out = create.output()?;
    if !out.status.success() {
        bail!("app create: {}", String::from_utf8_lossy(&out.stderr));
    }
    let creds: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let token = anon
        .client_credentials(
            creds["client_id"].as_str().unwrap_or(""),
            creds["client_secret"].as_str().unwrap_or(""),
        )
        .await?;
    let admin = anon.clone().with_token(token.access_token);
    // Passes long enough for the whole run.
    admin
        .patch_policy(&json!({"maximumLifetimeInMinutes": 1440, "defaultLifetimeInMinutes": 1440}))
        .await?;

    println!(
        "tapd-bench: {} on {} ({} users, concurrency {})",
        base,
        if args.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite (WAL, synchronous=FULL)"
        },
        args.users,
        args.concurrency
    );
    let upn = |i: usize| format!("bench{i}@tapd.local");
    let a = admin.clone();
    closed_loop(
        "setup: create users",
        args.users,
        args.concurrency,
        move |i| {
            let a = a.clone();
            async move {
                a.create_user(&NewUser::new(&upn(i), "Bench user"))
                    .await
                    .is_ok()
            }
        },
    )
    .await
    .print();

    let codes = Arc::new(std::sync::Mutex::new(vec![String::new(); args.users]));
    let (a, c) = (admin.clone(), codes.clone());
    closed_loop(
        "pass issuance (one-time)",
        args.users,
        args.concurrency,
        move |i| {
            let (a, c) = (a.clone(), c.clone());
            async move {
                match a.create_tap(&upn(i), &json!({"isUsableOnce": true})).await {
                    Ok(p) => {
                        c.lock().expect("codes")[i] = p.temporary_access_pass.unwrap_or_default();
                        true
                    }
                    Err(_) => false,
                }
            }
        },
    )
    .await
    .print();

    let open_jobs = (args.rate * args.seconds) as usize;
    let closed_jobs = args.users.saturating_sub(open_jobs);
    let (n, c) = (anon.clone(), codes.clone());
    closed_loop(
        "TAP sign-in, one-time, closed loop",
        closed_jobs,
        args.concurrency,
        move |i| {
            let (n, code) = (n.clone(), c.lock().expect("codes")[i].clone());
            async move { n.sign_in_tap(&upn(i), &code).await.is_ok() }
        },
    )
    .await
    .print();
    let (n, c) = (anon.clone(), codes.clone());
    open_loop(
        &format!("TAP sign-in, one-time, open loop {}/s", args.rate),
        open_jobs,
        args.rate,
        move |i| {
            let i = closed_jobs + i;
            let (n, code) = (n.clone(), c.lock().expect("codes")[i].clone());
            async move { n.sign_in_tap(&upn(i), &code).await.is_ok() }
        },
    )
    .await
    .print();
    let n = anon.clone();
    closed_loop(
        "TAP sign-in, reuse of used pass (refused)",
        2_000.min(args.users),
        args.concurrency,
        move |i| {
            let (n, code) = (n.clone(), codes.lock().expect("codes")[i].clone());
            async move { n.sign_in_tap(&upn(i), &code).await.is_err() }
        },
    )
    .await
    .print();
    drop(server);
    Ok(())
}
