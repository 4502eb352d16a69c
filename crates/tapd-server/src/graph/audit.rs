//! The audit logs, newest first, paged with `@odata.nextLink` (SPEC §9), with `$filter`,
//! `$orderby`, `$select` and `$top`.

use axum::Json;
use axum::extract::State;
use serde_json::Value;
use tapd_core::odata::{DIRECTORY_AUDITS, SIGN_INS};
use tapd_store::AuditKind;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{ListOptions, OData, Rendered, page_json};
use crate::http::caller::Caller;
use crate::http::error::ApiResult;
use crate::openapi::shapes;
use crate::service::{Ctx, audit};
use crate::state::SharedState;

pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(directory_audits))
        .routes(routes!(sign_ins))
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

#[utoipa::path(get, path = "/auditLogs/directoryAudits", tag = "audit", params(ListOptions),
    responses((status = 200, description = "A page of directory audit records, newest first.", body = shapes::DirectoryAuditCollection)))]
async fn directory_audits(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Json<Value>> {
    page(&state, &ctx, AuditKind::DirectoryAudit, odata).await
}

#[utoipa::path(get, path = "/auditLogs/signIns", tag = "audit", params(ListOptions),
    responses((status = 200, description = "A page of sign-in records, newest first.", body = shapes::SignInCollection)))]
async fn sign_ins(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Json<Value>> {
    page(&state, &ctx, AuditKind::SignIn, odata).await
}
