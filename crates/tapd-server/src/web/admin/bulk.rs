//! The admin center's bulk onboarding: a CSV of users in (the file `tapd tap bulk` reads), a
//! pass for each, and the results file offered once, in the answer to the upload itself — it
//! holds the passes, so it is kept nowhere, and a reload shows nothing.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tapd_core::{
    BULK_RESULTS_HEADER, BulkResult, BulkRow, BulkStatus, bulk_result_line, parse_bulk_csv,
};
use time::Duration;

use crate::service::Ctx;
use crate::service::delivery::{self, Delivery, Outcome as Delivered};
use crate::service::passes::{self, IssueInput, Subject};
use crate::state::{AppState, SharedState};
use crate::web::render::render;
use crate::web::session::Visitor;
use crate::web::view::Nav;

/// The largest upload: some 15,000 rows of a UPN and a lifetime.
const MAX_UPLOAD: usize = 1024 * 1024;
/// The most rows one upload may hold; `tapd tap bulk` takes larger files.
pub const MAX_ROWS: usize = 10_000;
/// Rows issued at the same time.
const CONCURRENCY: usize = 8;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/admin/bulk", get(bulk_page).post(upload))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD))
}

struct FailedRow {
    upn: String,
    error: String,
}

#[derive(Template)]
#[template(path = "admin_bulk.html")]
struct BulkPage {
    nav: Nav,
    max_rows: usize,
    error: Option<String>,
    outcome: Option<Outcome>,
}

struct Outcome {
    issued: usize,
    skipped: usize,
    failed: Vec<FailedRow>,
    /// The results file as a `data:` URL, for the download link.
    download: String,
}

fn page(
    state: &AppState,
    v: &Visitor,
    error: Option<String>,
    outcome: Option<Outcome>,
) -> Response {
    v.page(render(&BulkPage {
        nav: Nav::of(state, v, "onboarding"),
        max_rows: MAX_ROWS,
        error,
        outcome,
    }))
}

async fn bulk_page(State(state): State<SharedState>, v: Visitor) -> Response {
    page(&state, &v, None, None)
}

/// The form's fields: the CSRF token, the file, and whether to leave held passes alone.
#[derive(Default)]
struct Upload {
    csrf: String,
    csv: Vec<u8>,
    skip_existing: bool,
    delivery: Delivery,
}

async fn read_upload(mut form: Multipart) -> Result<Upload, String> {
    let mut upload = Upload::default();
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        format!("The upload could not be read ({e}). Files up to 1 MiB are accepted.")
    };
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        match field.name().unwrap_or_default() {
            "csrf" => upload.csrf = field.text().await.map_err(unreadable)?,
            "skip_existing" => upload.skip_existing = true,
            "delivery" => {
                let name = field.text().await.map_err(unreadable)?;
                upload.delivery =
                    Delivery::parse(&name).ok_or_else(|| format!("Unknown delivery '{name}'."))?;
            }
            "csv" => upload.csv = field.bytes().await.map_err(unreadable)?.to_vec(),
            _ => {}
        }
    }
    Ok(upload)
}

async fn upload(State(state): State<SharedState>, v: Visitor, form: Multipart) -> Response {
    let upload = match read_upload(form).await {
        Ok(u) => u,
        Err(e) => return page(&state, &v, Some(e), None),
    };
    if let Some(refused) = v.refuses(&state, &upload.csrf) {
        return refused;
    }
    let Ok(text) = String::from_utf8(upload.csv) else {
        let e = "The file is not UTF-8 text: save it as CSV UTF-8.".to_string();
        return page(&state, &v, Some(e), None);
    };
    let rows = match parse_bulk_csv(&text, MAX_ROWS) {
        Ok(rows) if rows.is_empty() => {
            let e = "The file names its columns but has no rows.".to_string();
            return page(&state, &v, Some(e), None);
        }
        Ok(rows) => rows,
        Err(e) => return page(&state, &v, Some(format!("{e} Nothing was issued.")), None),
    };
    let results = issue_all(&state, &v.ctx, rows, upload.skip_existing, upload.delivery).await;
    page(&state, &v, None, Some(outcome(&results)))
}

/// Issues every readable row, a few at a time, and answers the results in the file's order.
async fn issue_all(
    state: &SharedState,
    ctx: &Ctx,
    rows: Vec<Result<BulkRow, tapd_core::BulkRowError>>,
    skip_existing: bool,
    delivery: Delivery,
) -> Vec<BulkResult> {
    let mut results: Vec<Option<BulkResult>> = vec![None; rows.len()];
    let mut tasks = tokio::task::JoinSet::new();
    let mut rows = rows.into_iter().enumerate();
    loop {
        while tasks.len() < CONCURRENCY {
            let Some((index, row)) = rows.next() else {
                break;
            };
            let state = state.clone();
            let ctx = ctx.clone();
            tasks.spawn(async move {
                let result = match row {
                    Ok(row) => issue_row(&state, &ctx, &row, skip_existing, delivery).await,
                    Err(e) => e.into(),
                };
                (index, result)
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        if let Ok((index, result)) = joined
            && let Some(slot) = results.get_mut(index)
        {
            *slot = Some(result);
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| BulkResult::failed("", "internal error")))
        .collect()
}

async fn issue_row(
    state: &AppState,
    ctx: &Ctx,
    row: &BulkRow,
    skip_existing: bool,
    delivery: Delivery,
) -> BulkResult {
    let svc = &state.svc;
    let subject = Subject::User(&row.upn);
    if skip_existing {
        match passes::list(svc, ctx, subject).await {
            Ok((_, Some(held))) => {
                return BulkResult {
                    upn: row.upn.clone(),
                    pass: None,
                    start: Some(held.pass.start),
                    end: Some(held.pass.expires_at()),
                    status: BulkStatus::Skipped,
                    detail: format!("already holds a pass ({:?})", held.reason),
                    link: None,
                    delivered_to: None,
                };
            }
            Ok((_, None)) => {}
            Err(e) => return BulkResult::failed(&row.upn, e.public_message()),
        }
    }
    let input = IssueInput {
        start: row.start,
        lifetime_minutes: row.lifetime_minutes,
        is_usable_once: row.is_usable_once,
    };
    match delivery::issue(svc, ctx, subject, input, delivery, &state.public_url).await {
        Ok(issued) => {
            let pass = &issued.view.pass;
            let mut result = BulkResult {
                upn: row.upn.clone(),
                pass: None,
                start: Some(pass.start),
                end: pass
                    .start
                    .checked_add(Duration::minutes(pass.lifetime_minutes.into())),
                status: BulkStatus::Issued,
                detail: String::new(),
                link: None,
                delivered_to: None,
            };
            match issued.outcome {
                Delivered::Code(code) => result.pass = Some(code),
                Delivered::Link(link) => result.link = Some(link.url),
                Delivered::Mailed { to, .. } => result.delivered_to = Some(to),
            }
            result
        }
        Err(e) => BulkResult::failed(&row.upn, e.public_message()),
    }
}

fn outcome(results: &[BulkResult]) -> Outcome {
    let mut file = String::from(BULK_RESULTS_HEADER);
    for r in results {
        file.push_str(&bulk_result_line(r));
    }
    let count = |s: BulkStatus| results.iter().filter(|r| r.status == s).count();
    Outcome {
        issued: count(BulkStatus::Issued),
        skipped: count(BulkStatus::Skipped),
        failed: results
            .iter()
            .filter(|r| r.status == BulkStatus::Failed)
            .map(|r| FailedRow {
                upn: r.upn.clone(),
                error: r.detail.clone(),
            })
            .collect(),
        download: format!("data:text/csv;base64,{}", STANDARD.encode(file)),
    }
}
