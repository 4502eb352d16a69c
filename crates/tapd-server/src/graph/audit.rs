//! The audit logs, newest first, paged with `@odata.nextLink` (SPEC §9).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tapd_store::AuditKind;

use super::{collection, parse_top, url_with_query};
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::GraphQuery;
use crate::service::{Ctx, audit};
use crate::state::SharedState;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/auditLogs/directoryAudits", get(directory_audits))
        .route("/auditLogs/signIns", get(sign_ins))
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(rename = "$top")]
    top: Option<String>,
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
}

async fn page(
    state: &SharedState,
    ctx: &Ctx,
    kind: AuditKind,
    q: PageQuery,
) -> ApiResult<Json<Value>> {
    let top = parse_top(q.top.as_deref(), 100)?;
    let before = q
        .skiptoken
        .as_deref()
        .map(|t| {
            t.parse::<i64>()
                .map_err(|_| ApiError::bad_request("Invalid $skiptoken."))
        })
        .transpose()?;
    let page = audit::page(&state.svc, ctx, kind, before, top).await?;
    let (path, context) = match kind {
        AuditKind::DirectoryAudit => (
            "/v1.0/auditLogs/directoryAudits",
            "auditLogs/directoryAudits",
        ),
        AuditKind::SignIn => ("/v1.0/auditLogs/signIns", "auditLogs/signIns"),
    };
    let mut body = collection(state, context, page.records);
    if let Some(seq) = page.next {
        body["@odata.nextLink"] = json!(url_with_query(
            state,
            path,
            &[("$top", top.to_string()), ("$skiptoken", seq.to_string())]
        ));
    }
    Ok(Json(body))
}

async fn directory_audits(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    GraphQuery(q): GraphQuery<PageQuery>,
) -> ApiResult<Json<Value>> {
    page(&state, &ctx, AuditKind::DirectoryAudit, q).await
}

async fn sign_ins(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    GraphQuery(q): GraphQuery<PageQuery>,
) -> ApiResult<Json<Value>> {
    page(&state, &ctx, AuditKind::SignIn, q).await
}
