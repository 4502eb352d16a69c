//! What the bench reports: one table line per run, a line per memory-and-size snapshot, and
//! (with `--json`) all of it as one JSON document that `scripts/bench/plot.py` reads.

use serde::Serialize;

use crate::load::Stats;

/// The JSON document: how the bench ran, then every run, snapshot and check.
#[derive(Serialize)]
pub struct Report {
    pub database: &'static str,
    pub replicas: usize,
    /// Users seeded in bulk before the runs (`--directory`).
    pub directory_users: usize,
    /// Users created over HTTP for the sign-in runs (`--users`).
    pub users: usize,
    pub concurrency: usize,
    /// How the sweep's passes were had, when there was a sweep.
    pub sweep_passes: Option<String>,
    /// `/proc/loadavg` (1, 5, 15 minutes) before the runs: others' work on a shared machine.
    pub load_average: String,
    pub results: Vec<Record>,
    pub snapshots: Vec<Snapshot>,
    pub checks: Vec<Check>,
}

/// What kind of run a record is, for the plots: `setup` runs prepare the others.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Setup,
    Closed,
    Open,
    Sweep,
}

/// One measured run.
#[derive(Serialize)]
pub struct Record {
    pub name: String,
    pub kind: Kind,
    pub database: &'static str,
    pub replicas: usize,
    pub directory_users: usize,
    /// Requests in flight (closed loop); for an open loop, the offered rate is `offered_per_second`.
    pub concurrency: usize,
    pub offered_per_second: Option<u64>,
    pub ok: usize,
    pub errors: usize,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    /// CPU of the server processes (all replicas), per successful operation.
    pub server_cpu_us_per_op: f64,
    /// CPU of this bench process, per successful operation.
    pub bench_cpu_us_per_op: f64,
    /// Resident memory of the server processes after the run (summed over replicas).
    pub server_rss_kib: u64,
    /// The database's size after the run, per user row.
    pub db_bytes_per_user: f64,
}

impl Record {
    /// The table line: the original columns, then the percentiles and CPU added since.
    pub fn print(&self) {
        println!(
            "{:<44} {:>7} ok {:>5} err {:>9.0}/s   p50 {:>7.2} ms   p99 {:>7.2} ms   \
             p90 {:>7.2} ms   p99.9 {:>7.2} ms   cpu/op server {:>6.0} µs  bench {:>5.0} µs",
            self.name,
            self.ok,
            self.errors,
            self.per_second,
            self.p50_ms,
            self.p99_ms,
            self.p90_ms,
            self.p999_ms,
            self.server_cpu_us_per_op,
            self.bench_cpu_us_per_op,
        );
    }
}

/// The parts of a record a run's [`Stats`] gives.
pub fn latency_figures(stats: &Stats) -> [f64; 4] {
    [0.50, 0.90, 0.99, 0.999].map(|p| stats.percentile_ms(p))
}

/// Memory and size at one moment (after start, after seeding, at the end).
#[derive(Serialize)]
pub struct Snapshot {
    pub at: String,
    /// Each server's resident memory, in replica order.
    pub server_rss_kib: Vec<u64>,
    pub users: i64,
    /// As the database counts it (SQLite pages in use; `pg_database_size`).
    pub db_bytes: i64,
    pub db_bytes_per_user: f64,
    /// SQLite only: the database file and its WAL on disk.
    pub sqlite_file_bytes: Option<u64>,
}

impl Snapshot {
    pub fn print(&self) {
        let rss: Vec<String> = self
            .server_rss_kib
            .iter()
            .map(|kib| format!("{:.1} MB", *kib as f64 / 1024.0))
            .collect();
        let files = self.sqlite_file_bytes.map_or(String::new(), |b| {
            format!(
                "; files (db + wal) {:.1} MB = {:.0} B/user",
                b as f64 / 1e6,
                b as f64 / self.users.max(1) as f64
            )
        });
        println!(
            "{:<44} server RSS {}   {} users, database {:.1} MB = {:.0} B/user{files}",
            format!("memory and size {}", self.at),
            rss.join(" + "),
            self.users,
            self.db_bytes as f64 / 1e6,
            self.db_bytes_per_user,
        );
    }
}

/// A correctness check: its name, what was tried, and whether it held.
#[derive(Serialize)]
pub struct Check {
    pub name: String,
    pub tried: usize,
    pub held: usize,
    pub detail: String,
    pub passed: bool,
}

impl Report {
    pub fn write(&self, path: &std::path::Path) -> anyhow::Result<()> {
        std::fs::write(path, serde_json::to_vec_pretty(self)?)?;
        Ok(())
    }
}
