//! `tapd-bench`: drives `tapd serve` over HTTP and prints throughput and latency percentiles of
//! user creation, pass issuance, TAP sign-in on the full path (verify, one-time consumption,
//! audit, token) and password sign-in, with the server's CPU per operation, its memory and the
//! database's size per user. It starts the server itself (the `tapd` binary beside this one) on
//! a fresh database: SQLite in a temporary folder by default, or a new database on the
//! PostgreSQL server that `--postgres` names — there also as several replicas (`--replicas`).
//! Every loop is bounded in count and time and talks to 127.0.0.1 only.
//!
//!   cargo build --release && ./target/release/tapd-bench [--postgres postgres://postgres@127.0.0.1/postgres]
//!       [--directory 1000000] [--sweep 1,4,16,64,256] [--replicas 2] [--json results.json]

mod directory;
mod http;
mod load;
mod report;
mod requests;
mod servers;

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::bail;
use clap::Parser;
use serde_json::json;
use tapd_client::NewUser;
use tapd_store::{Dialect, Store};

use load::{Stats, closed_loop, open_loop};
use report::{Check, Kind, Record, Report, Snapshot};
use requests::{
    Codes, PASSWORD, Replicas, admin_client, create_user, issue_pass, present_twice, reissue,
    sign_in,
};
use servers::{Deployment, Process, Scratch, Server};

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
    /// Users seeded in bulk into the database before the runs, so that sign-ins look users
    /// up among this many more rows.
    #[arg(long, default_value_t = 0)]
    directory: usize,
    /// Concurrencies at which to repeat the closed-loop one-time TAP sign-in, e.g. 1,4,16,64,256.
    #[arg(long, value_delimiter = ',')]
    sweep: Vec<usize>,
    /// Sign-ins at each concurrency of the sweep (at most --users).
    #[arg(long, default_value_t = 4_000)]
    sweep_signins: usize,
    /// `tapd serve` processes on the one database (PostgreSQL only); requests go round-robin.
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// Users created with a password for the password sign-in run.
    #[arg(long, default_value_t = 64)]
    password_users: usize,
    /// Password sign-ins in the password run (each an argon2 hash on the server).
    #[arg(long, default_value_t = 400)]
    password_signins: usize,
    /// One-time passes each presented twice at once (once to each of two replicas) in the
    /// correctness check: exactly one of the two must succeed.
    #[arg(long, default_value_t = 1_000)]
    check_passes: usize,
    /// Also write every result as JSON to this file (for scripts/bench/plot.py).
    #[arg(long)]
    json: Option<PathBuf>,
}

/// The servers under test, the bench's own connection to their database, and what has been
/// measured so far.
struct Bench {
    servers: Vec<Server>,
    store: Store,
    sqlite_file: Option<PathBuf>,
    report: Report,
}

impl Bench {
    fn server_cpu(&self) -> anyhow::Result<Duration> {
        self.servers
            .iter()
            .map(|s| Process::Pid(s.pid()).cpu_time())
            .sum()
    }

    fn server_rss(&self) -> anyhow::Result<Vec<u64>> {
        self.servers
            .iter()
            .map(|s| Process::Pid(s.pid()).rss_kib())
            .collect()
    }

    /// The database's bytes and user rows now.
    async fn size(&self) -> anyhow::Result<(i64, i64)> {
        Ok((
            self.store.database_bytes().await?,
            self.store.count_users().await?,
        ))
    }

    /// Runs `run`, reads the CPU both sides used meanwhile, prints the line and keeps the record.
    async fn measure(
        &mut self,
        name: &str,
        kind: Kind,
        concurrency: usize,
        run: impl Future<Output = Stats>,
    ) -> anyhow::Result<()> {
        let (server_before, bench_before) = (self.server_cpu()?, Process::Myself.cpu_time()?);
        let stats = run.await;
        let server_cpu = self.server_cpu()? - server_before;
        let bench_cpu = Process::Myself.cpu_time()? - bench_before;
        let per_op = |cpu: Duration| cpu.as_secs_f64() * 1e6 / stats.ok().max(1) as f64;
        let [p50_ms, p90_ms, p99_ms, p999_ms] = report::latency_figures(&stats);
        let (db_bytes, users) = self.size().await?;
        let record = Record {
            name: name.to_string(),
            kind,
            database: self.report.database,
            replicas: self.servers.len(),
            directory_users: self.report.directory_users,
            concurrency,
            offered_per_second: None,
            ok: stats.ok(),
            errors: stats.errors,
            per_second: stats.per_second(),
            p50_ms,
            p90_ms,
            p99_ms,
            p999_ms,
            server_cpu_us_per_op: per_op(server_cpu),
            bench_cpu_us_per_op: per_op(bench_cpu),
            server_rss_kib: self.server_rss()?.iter().sum(),
            db_bytes_per_user: db_bytes as f64 / users.max(1) as f64,
        };
        record.print();
        self.report.results.push(record);
        Ok(())
    }

    /// Prints and keeps the servers' memory and the database's size now.
    async fn snapshot(&mut self, at: &str) -> anyhow::Result<()> {
        let (db_bytes, users) = self.size().await?;
        let sqlite_file_bytes = self.sqlite_file.as_ref().map(|db| {
            let wal = db.with_file_name("tapd.db-wal");
            [db, &wal]
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum()
        });
        let snapshot = Snapshot {
            at: at.to_string(),
            server_rss_kib: self.server_rss()?,
            users,
            db_bytes,
            db_bytes_per_user: db_bytes as f64 / users.max(1) as f64,
            sqlite_file_bytes,
        };
        snapshot.print();
        self.report.snapshots.push(snapshot);
        Ok(())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.replicas == 0 || (args.replicas > 1 && args.postgres.is_none()) {
        bail!("--replicas above 1 needs --postgres: a SQLite database belongs to one server");
    }
    let scratch = Scratch::create()?;
    let (database_url, sqlite_file) = match &args.postgres {
        Some(server) => {
            let name = format!("tapd_bench_{}", uuid::Uuid::new_v4().simple());
            let url = Store::create_postgres_database(server, &name).await?;
            (url, None)
        }
        None => {
            let db = scratch.path().join("tapd.db");
            (format!("sqlite://{}?mode=rwc", db.display()), Some(db))
        }
    };
    let deployment = Deployment::new(&database_url, &scratch, args.replicas)?;
    // One after another: the first creates the directory, the keys and the signing key.
    let mut servers = Vec::new();
    for index in 0..deployment.replicas() {
        servers.push(deployment.start(index).await?);
    }
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let anon = Replicas::new(&bases);
    let token = admin_client(&deployment, anon.pick(0)).await?;
    let admin = anon.with_token(&token);
    // Passes long enough for the whole run.
    admin
        .pick(0)
        .patch_policy(&json!({"maximumLifetimeInMinutes": 1440, "defaultLifetimeInMinutes": 1440}))
        .await?;

    // The bench's own connection: the bulk seeding and the database's size.
    let store = Store::connect(&database_url).await?;
    let database = match store.dialect() {
        Dialect::Sqlite => "SQLite",
        Dialect::Postgres => "PostgreSQL",
    };
    let mut bench = Bench {
        servers,
        store,
        sqlite_file,
        report: Report {
            database,
            replicas: args.replicas,
            directory_users: args.directory,
            users: args.users,
            concurrency: args.concurrency,
            sweep_passes: None,
            load_average: String::new(),
            results: Vec::new(),
            snapshots: Vec::new(),
            checks: Vec::new(),
        },
    };
    println!(
        "tapd-bench: {} on {} ({} users, concurrency {})",
        bases.join(" + "),
        if args.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite (WAL, synchronous=FULL)"
        },
        args.users,
        args.concurrency
    );
    // The machine may be shared: what else was running is part of the figures.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!("load average before the runs: {}", load.join(" "));
    bench.report.load_average = load.join(" ");
    if args.replicas > 1 {
        println!(
            "{} replicas on one database, requests spread round-robin",
            args.replicas
        );
    }
    bench.snapshot("idle after start").await?;
    if args.directory > 0 {
        let took = directory::seed(&bench.store, args.directory).await?;
        println!(
            "{:<44} {:>7} users in {:.1} s = {:.0}/s (bulk INSERT through the store, not HTTP)",
            "setup: seed the directory",
            args.directory,
            took.as_secs_f64(),
            args.directory as f64 / took.as_secs_f64()
        );
        bench.snapshot("after seeding").await?;
    }

    let c = args.concurrency;
    let a = admin.clone();
    let create_users = closed_loop(args.users, c, move |i| create_user(a.clone(), i));
    bench
        .measure("setup: create users", Kind::Setup, c, create_users)
        .await?;

    let codes: Codes = Arc::new(Mutex::new(vec![String::new(); args.users]));
    let (a, k) = (admin.clone(), codes.clone());
    let issuance = closed_loop(args.users, c, move |i| issue_pass(a.clone(), k.clone(), i));
    bench
        .measure("pass issuance (one-time)", Kind::Closed, c, issuance)
        .await?;

    let open_jobs = (args.rate * args.seconds) as usize;
    let closed_jobs = args.users.saturating_sub(open_jobs);
    let (n, k) = (anon.clone(), codes.clone());
    let closed = closed_loop(closed_jobs, c, move |i| sign_in(n.clone(), k.clone(), i));
    bench
        .measure(
            "TAP sign-in, one-time, closed loop",
            Kind::Closed,
            c,
            closed,
        )
        .await?;
    let (n, k) = (anon.clone(), codes.clone());
    let open = open_loop(open_jobs.min(args.users), args.rate, move |i| {
        sign_in(n.clone(), k.clone(), closed_jobs + i)
    });
    let name = format!("TAP sign-in, one-time, open loop {}/s", args.rate);
    bench.measure(&name, Kind::Open, c, open).await?;
    if let Some(open_run) = bench.report.results.last_mut() {
        open_run.offered_per_second = Some(args.rate);
    }
    let (n, k) = (anon.clone(), codes.clone());
    let refused = closed_loop(2_000.min(args.users), c, move |i| {
        let (n, k) = (n.clone(), k.clone());
        async move { !sign_in(n, k, i).await }
    });
    let name = "TAP sign-in, reuse of used pass (refused)";
    bench.measure(name, Kind::Closed, c, refused).await?;

    password_runs(&mut bench, &args, &anon, &admin).await?;

    if !args.sweep.is_empty() {
        let per_level = args.sweep_signins.min(args.users);
        let how = format!(
            "fresh one-time passes for users 0..{per_level}, issued before each level (not measured)"
        );
        println!("sweep: {per_level} sign-ins per concurrency; {how}");
        bench.report.sweep_passes = Some(how);
        for &level in &args.sweep {
            reissue(&admin, &codes, per_level, c).await?;
            let (n, k) = (anon.clone(), codes.clone());
            let run = closed_loop(per_level, level, move |i| sign_in(n.clone(), k.clone(), i));
            let name = format!("sweep: TAP sign-in, one-time, {level} in flight");
            bench.measure(&name, Kind::Sweep, level, run).await?;
        }
    }

    let check = one_success_per_pass(&args, &anon, &admin, &codes).await?;
    bench.snapshot("at the end").await?;
    let failed = !check.passed;
    bench.report.checks.push(check);
    if let Some(path) = &args.json {
        bench.report.write(path)?;
        println!("results written to {}", path.display());
    }
    drop(bench);
    drop(scratch);
    if failed {
        bail!("FAILED: a one-time pass presented twice at once did not succeed exactly once");
    }
    Ok(())
}

/// Users with a password, then password sign-ins over them: an argon2 check each. Skipped
/// when either count is 0.
async fn password_runs(
    bench: &mut Bench,
    args: &Args,
    anon: &Replicas,
    admin: &Replicas,
) -> anyhow::Result<()> {
    if args.password_users == 0 || args.password_signins == 0 {
        return Ok(());
    }
    let (c, users) = (args.concurrency, args.password_users);
    let password_upn = |i: usize| format!("password{i}@tapd.local");
    let a = admin.clone();
    let create = closed_loop(users, c, move |i| {
        let a = a.clone();
        async move {
            let user = NewUser::new(&password_upn(i), "Bench user").with_password(PASSWORD);
            a.pick(i).create_user(&user).await.is_ok()
        }
    });
    let name = "setup: create users with a password";
    bench.measure(name, Kind::Setup, c, create).await?;
    let n = anon.clone();
    let sign_ins = closed_loop(args.password_signins, c, move |i| {
        let n = n.clone();
        async move {
            let user = password_upn(i % users);
            n.pick(i).sign_in_password(&user, PASSWORD).await.is_ok()
        }
    });
    let name = "password sign-in";
    bench.measure(name, Kind::Closed, c, sign_ins).await
}

/// Each of `--check-passes` fresh one-time passes presented twice at once — once to each of
/// two replicas, or twice to the one server: exactly one of the two may succeed.
async fn one_success_per_pass(
    args: &Args,
    anon: &Replicas,
    admin: &Replicas,
    codes: &Codes,
) -> anyhow::Result<Check> {
    let passes = args.check_passes.min(args.users);
    reissue(admin, codes, passes, args.concurrency).await?;
    // Passes by how many of their two presentations succeeded: none, one, both.
    let outcomes: Arc<[AtomicUsize; 3]> = Arc::new(Default::default());
    let (n, k, o) = (anon.clone(), codes.clone(), outcomes.clone());
    closed_loop(passes, args.concurrency, move |i| {
        let (n, k, o) = (n.clone(), k.clone(), o.clone());
        async move {
            let successes = present_twice(n, k, i).await;
            o[successes].fetch_add(1, Ordering::Relaxed);
            successes == 1
        }
    })
    .await;
    let [none, one, both] = [0, 1, 2].map(|s| outcomes[s].load(Ordering::Relaxed));
    let to = if anon.len() > 1 {
        "once to each of two replicas"
    } else {
        "twice to the one server"
    };
    let detail = format!("{one} exactly one success, {none} none, {both} both");
    let check = Check {
        name: format!("one-time pass presented twice at once, {to}"),
        tried: passes,
        held: one,
        passed: one == passes,
        detail,
    };
    println!(
        "check: {} one-time passes, each presented twice at once ({to}): {} -> {}",
        passes,
        check.detail,
        if check.passed { "ok" } else { "FAILED" }
    );
    Ok(check)
}
