//! `tapd tap bulk`: passes for every user of a CSV file, issued over the API a few at a time,
//! with a results file that holds each pass (mode 0600) and says what became of every row.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value, json};
use tapd_client::{Client, ClientError};
use tapd_core::{
    BULK_RESULTS_HEADER, BulkResult, BulkRow, BulkStatus, bulk_result_line, format_time,
    parse_bulk_csv,
};
use time::Duration;

/// The most rows one file may hold.
const MAX_ROWS: usize = 1_000_000;

pub struct BulkOptions {
    pub csv: PathBuf,
    pub out: Option<PathBuf>,
    pub skip_existing: bool,
    pub concurrency: usize,
    /// `tapdDelivery` for every pass: `link`, `emailToUser`, `emailToManager`; `None` for the code.
    pub delivery: Option<&'static str>,
}

/// How many rows ended which way.
#[derive(Default)]
struct Tally {
    issued: usize,
    skipped: usize,
    failed: usize,
}

/// Runs the file; an error when the file can't be read or any row failed (after writing all).
pub async fn bulk(options: BulkOptions, client: &Client, json: bool) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&options.csv)
        .with_context(|| format!("reading {}", options.csv.display()))?;
    let rows = parse_bulk_csv(&text, MAX_ROWS)
        .map_err(|e| anyhow::anyhow!("{}: {e} Nothing was issued.", options.csv.display()))?;
    let out_path = options
        .out
        .clone()
        .unwrap_or_else(|| results_path(&options.csv));
    let mut out = create_results(&out_path)?;
    out.write_all(BULK_RESULTS_HEADER.as_bytes())?;

    let progress = progress_bar(rows.len() as u64);
    let started = Instant::now();
    let mut tally = Tally::default();
    // Results are written in the file's order as soon as every row before them is done, so an
    // interrupted run leaves a results file that `--skip-existing` can resume from.
    let mut done: BTreeMap<usize, BulkResult> = BTreeMap::new();
    let mut next_to_write = 0;
    let mut tasks = tokio::task::JoinSet::new();
    let mut rows = rows.into_iter().enumerate();
    loop {
        while tasks.len() < options.concurrency.max(1) {
            let Some((index, row)) = rows.next() else {
                break;
            };
            let client = client.clone();
            let skip = options.skip_existing;
            let delivery = options.delivery;
            tasks.spawn(async move {
                let result = match row {
                    Ok(row) => issue(&client, &row, skip, delivery).await,
                    Err(e) => e.into(),
                };
                (index, result)
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (index, result) = joined.context("a bulk task failed")?;
        match result.status {
            BulkStatus::Issued => tally.issued += 1,
            BulkStatus::Skipped => tally.skipped += 1,
            BulkStatus::Failed => tally.failed += 1,
        }
        progress.inc(1);
        done.insert(index, result);
        while let Some(result) = done.remove(&next_to_write) {
            out.write_all(bulk_result_line(&result).as_bytes())?;
            next_to_write += 1;
        }
    }
    out.sync_all()
        .with_context(|| format!("writing {}", out_path.display()))?;
    progress.finish_and_clear();
    report(&tally, started.elapsed().as_secs_f64(), &out_path, json);
    if tally.failed > 0 {
        anyhow::bail!(
            "{} of the rows failed: their errors are in {}",
            tally.failed,
            out_path.display()
        );
    }
    Ok(())
}

/// `users.csv` → `users.results.csv`, beside it.
fn results_path(csv: &Path) -> PathBuf {
    let stem = csv.file_stem().unwrap_or_default().to_string_lossy();
    csv.with_file_name(format!("{stem}.results.csv"))
}

/// A new file only its owner can read: it will hold passes. An existing one is never
/// overwritten, as it may hold the passes of an earlier run.
fn create_results(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} already exists and may hold passes of an earlier run: move it away or name another file with --out. Nothing was issued.",
                path.display()
            )
        } else {
            anyhow::anyhow!("creating {}: {e}. Nothing was issued.", path.display())
        }
    })
}

fn progress_bar(len: u64) -> ProgressBar {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:40} {pos}/{len} rows  {per_sec}  ETA {eta}  {elapsed_precise}",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Issues one row's pass, first checking for one already held when `skip_existing`.
async fn issue(
    client: &Client,
    row: &BulkRow,
    skip_existing: bool,
    delivery: Option<&str>,
) -> BulkResult {
    if skip_existing {
        match client.list_taps(&row.upn).await {
            Ok(list) => {
                if let Some(held) = list.value.first() {
                    return BulkResult {
                        upn: row.upn.clone(),
                        pass: None,
                        start: Some(held.start_date_time),
                        end: held
                            .start_date_time
                            .checked_add(Duration::minutes(held.lifetime_in_minutes.into())),
                        status: BulkStatus::Skipped,
                        link: None,
                        delivered_to: None,
                        detail: format!(
                            "already holds a pass ({})",
                            serde_json::to_value(held.method_usability_reason)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default()
                        ),
                    };
                }
            }
            Err(e) => return BulkResult::failed(&row.upn, failure(&e)),
        }
    }
    let mut body = Map::new();
    if let Some(start) = row.start {
        body.insert("startDateTime".into(), json!(format_time(start)));
    }
    if let Some(minutes) = row.lifetime_minutes {
        body.insert("lifetimeInMinutes".into(), json!(minutes));
    }
    if let Some(once) = row.is_usable_once {
        body.insert("isUsableOnce".into(), json!(once));
    }
    if let Some(delivery) = delivery {
        body.insert("tapdDelivery".into(), json!(delivery));
    }
    match client.create_tap(&row.upn, &Value::Object(body)).await {
        Ok(pass) => BulkResult {
            upn: row.upn.clone(),
            end: pass
                .start_date_time
                .checked_add(Duration::minutes(pass.lifetime_in_minutes.into())),
            start: Some(pass.start_date_time),
            pass: pass.temporary_access_pass,
            status: BulkStatus::Issued,
            detail: String::new(),
            link: pass.tapd_one_time_link,
            delivered_to: pass.tapd_delivered_to,
        },
        Err(e) => BulkResult::failed(&row.upn, failure(&e)),
    }
}

/// The server's message alone, or what kept the request from it.
fn failure(e: &ClientError) -> String {
    match e {
        ClientError::Api { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

fn report(tally: &Tally, seconds: f64, out: &Path, json: bool) {
    let rows = tally.issued + tally.skipped + tally.failed;
    let rate = if seconds > 0.0 {
        rows as f64 / seconds
    } else {
        0.0
    };
    if json {
        println!(
            "{}",
            json!({
                "issued": tally.issued,
                "skipped": tally.skipped,
                "failed": tally.failed,
                "seconds": (seconds * 100.0).round() / 100.0,
                "results": out.display().to_string(),
            })
        );
        return;
    }
    println!(
        "{rows} rows in {seconds:.1} s ({rate:.0}/s): {} issued, {} skipped, {} failed.",
        tally.issued, tally.skipped, tally.failed
    );
    println!(
        "Results in {} (owner-only): it holds the passes, so hand each to its user and delete the file.",
        out.display()
    );
    if tally.failed > 0 {
        println!(
            "Fix the failed rows and run again with --skip-existing and another --out to issue only what is missing."
        );
    }
}
