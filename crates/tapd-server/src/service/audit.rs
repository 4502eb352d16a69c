//! Audit records (SPEC §9), built here and only here: a `directoryAudit` for every change, a
//! `signIn` for every sign-in attempt. Each is written in the same transaction as what it
//! records. Never a code or a secret.

use serde_json::{Value, json};
use tapd_core::Action;
use tapd_core::odata::Query;
use tapd_store::{AuditKind, AuditRecord, Page, UserRecord};

use super::{Ctx, Initiator, ServiceResult, Services};
use tapd_core::format_time;

/// What changed, for a `directoryAudit` record.
pub struct Change<'a> {
    pub category: &'a str,
    pub activity: &'a str,
    pub operation: &'a str,
    pub targets: Vec<Value>,
    pub details: Vec<(&'a str, String)>,
}

/// A user as a target of an audit record.
pub fn target_user(u: &UserRecord) -> Value {
    json!({"id": u.id, "displayName": u.display_name, "type": "User", "userPrincipalName": u.upn})
}

/// Any other object as a target of an audit record.
pub fn target(kind: &str, id: impl ToString, name: &str) -> Value {
    json!({"id": id.to_string(), "displayName": name, "type": kind})
}

/// The `initiatedBy` of a record: who made the change, from where.
fn initiated_by(ctx: &Ctx) -> Value {
    let ip = ctx.ip.map(|ip| ip.to_string());
    match &ctx.initiator {
        Initiator::User { user, .. } => json!({
            "user": {"id": user.id, "userPrincipalName": user.upn, "displayName": user.display_name, "ipAddress": ip},
            "app": null,
        }),
        Initiator::App(a) => json!({
            "user": null,
            "app": {"appId": a.client_id, "displayName": a.display_name, "servicePrincipalId": a.id},
        }),
        Initiator::Operator => json!({
            "user": null,
            "app": {"displayName": "tapd command line", "appId": null},
        }),
        Initiator::Anonymous => json!({"user": null, "app": null}),
    }
}

/// A successful change as a Graph `directoryAudit` record, to be written with the change.
pub fn change(ctx: &Ctx, change: Change<'_>) -> AuditRecord {
    let id = super::new_id(ctx.now);
    let body = json!({
        "id": id,
        "category": change.category,
        "correlationId": ctx.request_id,
        "result": "success",
        "resultReason": "",
        "activityDisplayName": change.activity,
        "activityDateTime": format_time(ctx.now),
        "loggedByService": "tapd",
        "operationType": change.operation,
        "initiatedBy": initiated_by(ctx),
        "targetResources": change.targets,
        "additionalDetails": change.details.into_iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
    });
    AuditRecord {
        id,
        tenant: ctx.tenant,
        at: ctx.now,
        body,
    }
}

/// A sign-in attempt as a Graph `signIn` record; `failure` says why it was refused.
pub fn sign_in(
    ctx: &Ctx,
    username: &str,
    user: Option<&UserRecord>,
    method: &str,
    failure: Option<&str>,
) -> AuditRecord {
    crate::telemetry::sign_in(method, failure.is_none());
    let id = super::new_id(ctx.now);
    AuditRecord {
        id,
        // In the log of the user's tenant; a name nobody holds, in the log of the tenant the
        // sign-in was for.
        tenant: user.map_or(ctx.tenant, |u| u.tenant),
        at: ctx.now,
        body: json!({
            "id": id,
            "createdDateTime": format_time(ctx.now),
            "userPrincipalName": user.map(|u| u.upn.as_str()).unwrap_or(username),
            "userId": user.map(|u| u.id),
            "userDisplayName": user.map(|u| u.display_name.as_str()),
            "appDisplayName": "tapd",
            "ipAddress": ctx.ip.map(|ip| ip.to_string()),
            "clientAppUsed": "tapd sign-in",
            "correlationId": ctx.request_id,
            "isInteractive": true,
            "authenticationMethodsUsed": [method],
            "status": {
                "errorCode": if failure.is_some() { 50126 } else { 0 },
                "failureReason": failure,
            },
        }),
    }
}

/// Writes the record of a refused sign-in. A failure to write it is logged, not shown: the
/// person is refused either way.
pub async fn sign_in_refused(
    svc: &Services,
    ctx: &Ctx,
    username: &str,
    user: Option<&UserRecord>,
    method: &str,
    reason: &str,
) {
    let record = sign_in(ctx, username, user, method, Some(reason));
    if let Err(e) = svc.store.audit_sign_in_failure(&record).await {
        tracing::error!(request_id = %ctx.request_id, error = %e, "could not audit a failed sign-in");
    }
}

/// A page of one audit log under Graph's query options.
pub async fn page(
    svc: &Services,
    ctx: &Ctx,
    kind: AuditKind,
    q: &Query,
) -> ServiceResult<Page<Value>> {
    ctx.authorize(Action::ReadAudit)?;
    Ok(svc.store.audit_page(ctx.tenant, kind, q).await?)
}
