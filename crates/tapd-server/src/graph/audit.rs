//! The audit logs, newest first, paged with `@odata.nextLink` (SPEC §9).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tapd_core::Action;
use tapd_store::AuditKind;

use super::collection;
use super::users::{parse_top, url_with_query};
use crate::SharedState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::GraphQuery;

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
    caller: &Caller,
    kind: AuditKind,
    q: PageQuery,
) -> ApiResult<Json<Value>> {
    caller.authorize(Action::ReadAudit)?;
    let top = parse_top(q.top.as_deref(), 100)?;
    let before = q
        .skiptoken
        .as_deref()
        .map(|t| {
            t.parse::<i64>()
                .map_err(|_| ApiError::bad_request("Invalid $skiptoken."))
        })
        .transpose()?;
    let rows = state.store.audit_page(kind, before, top + 1).await?;
    let more = rows.len() as i64 > top;
    let page: Vec<_> = rows.into_iter().take(top as usize).collect();
    let (path, context) = match kind {
        AuditKind::DirectoryAudit => (
            "/v1.0/auditLogs/directoryAudits",
            "auditLogs/directoryAudits",
        ),
        AuditKind::SignIn => ("/v1.0/auditLogs/signIns", "auditLogs/signIns"),
    };
    let next = page.last().map(|(seq, _)| *seq);
    let mut body = collection(state, context, page.into_iter().map(|(_, v)| v).collect());
    if let (true, Some(seq)) = (more, next) {
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
    caller: Caller,
    GraphQuery(q): GraphQuery<PageQuery>,
) -> ApiResult<Json<Value>> {
    page(&state, &caller, AuditKind::DirectoryAudit, q).await
}

async fn sign_ins(
    State(state): State<SharedState>,
    caller: Caller,
    GraphQuery(q): GraphQuery<PageQuery>,
) -> ApiResult<Json<Value>> {
    page(&state, &caller, AuditKind::SignIn, q).await
}
