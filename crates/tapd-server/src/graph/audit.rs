//! The audit logs, newest first, paged with `@odata.nextLink` (SPEC §9), with `$filter`,
//! `$orderby`, `$select` and `$top`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use tapd_core::odata::{DIRECTORY_AUDITS, SIGN_INS};
use tapd_store::AuditKind;

use super::query::{OData, Rendered, page_json};
use crate::http::caller::Caller;
use crate::http::error::ApiResult;
use crate::service::{Ctx, audit};
use crate::state::SharedState;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/auditLogs/directoryAudits", get(directory_audits))
        .route("/auditLogs/signIns", get(sign_ins))
}

async fn page(
    state: &SharedState,
    ctx: &Ctx,
    kind: AuditKind,
    odata: OData,
) -> ApiResult<Json<Value>> {
    let (resource, at) = match kind {
        AuditKind::DirectoryAudit => (
            &DIRECTORY_AUDITS,
            Rendered {
                context: "auditLogs/directoryAudits",
                path: "/v1.0/auditLogs/directoryAudits",
            },
        ),
        AuditKind::SignIn => (
            &SIGN_INS,
            Rendered {
                context: "auditLogs/signIns",
                path: "/v1.0/auditLogs/signIns",
            },
        ),
    };
    let q = odata.query(resource, 100)?;
    let page = audit::page(&state.svc, ctx, kind, &q).await?;
    Ok(Json(page_json(state, &odata, &q, &page, at, Value::clone)))
}

async fn directory_audits(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Json<Value>> {
    page(&state, &ctx, AuditKind::DirectoryAudit, odata).await
}

async fn sign_ins(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Json<Value>> {
    page(&state, &ctx, AuditKind::SignIn, odata).await
}
