//! The Microsoft Graph v1.0-compatible admin API: JSON shapes as Graph sends them, routes as
//! Graph names them. Each handler parses, authorizes by role and target, calls the domain, and
//! writes one audit record per change.

mod applications;
mod audit;
mod groups;
mod methods;
mod policy;
mod roles;
mod users;

pub(crate) use methods::fido2_json;

use axum::Router;
use serde_json::{Value, json};
use tapd_store::{AuditRecord, UserRecord};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::SharedState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, current_request_id};

pub fn routes() -> Router<SharedState> {
    Router::new()
        .merge(applications::routes())
        .merge(users::routes())
        .merge(groups::routes())
        .merge(roles::routes())
        .merge(policy::routes())
        .merge(methods::routes())
        .merge(audit::routes())
}

/// RFC 3339 in UTC, as Graph writes dates.
/// Microsecond precision, which every client's date parser accepts.
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Parses an RFC 3339 date with any offset and fractions.
pub fn parse_time(field: &str, s: &str) -> ApiResult<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
        ApiError::bad_request(format!(
            "Invalid value for {field}: '{s}' is not an RFC 3339 date-time (e.g. 2026-05-23T06:00:00Z)."
        ))
    })
}

pub fn user_json(u: &UserRecord) -> Value {
    json!({
        "id": u.id,
        "userPrincipalName": u.upn,
        "displayName": u.display_name,
        "givenName": u.given_name,
        "surname": u.surname,
        "mail": u.mail,
        "accountEnabled": u.account_enabled,
        "userType": u.user_type.as_str(),
        "creationType": u.creation_type,
        "externalUserState": u.external_user_state,
        "createdDateTime": format_time(u.created_at),
    })
}

/// Resolves `{id|userPrincipalName}` or answers 404 in Graph's words.
pub async fn find_user(state: &SharedState, id_or_upn: &str) -> ApiResult<UserRecord> {
    state
        .store
        .find_user(id_or_upn)
        .await?
        .ok_or_else(|| ApiError::user_not_found(id_or_upn))
}

pub fn parse_id(what: &str, s: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| ApiError::not_found(format!("{what} '{s}' does not exist.")))
}

/// `{"value": [...]}` with the `@odata.context` Graph puts on collections.
pub fn collection(state: &SharedState, context: &str, value: Vec<Value>) -> Value {
    json!({
        "@odata.context": format!("{}/v1.0/$metadata#{context}", state.public_url),
        "value": value,
    })
}

/// One target of an audit record.
pub fn target_user(u: &UserRecord) -> Value {
    json!({"id": u.id, "displayName": u.display_name, "type": "User", "userPrincipalName": u.upn})
}

pub fn target(kind: &str, id: impl ToString, name: &str) -> Value {
    json!({"id": id.to_string(), "displayName": name, "type": kind})
}

/// A successful change as a Graph `directoryAudit` record, to be written with the change.
pub fn change_record(
    state: &SharedState,
    caller: &Caller,
    category: &str,
    activity: &str,
    operation: &str,
    targets: Vec<Value>,
    details: Vec<(&str, String)>,
) -> AuditRecord {
    let initiated_by = caller.initiated_by();
    audit_record(
        state,
        initiated_by,
        category,
        activity,
        operation,
        targets,
        details,
    )
}

/// A `directoryAudit` record of a change `initiated_by` made (see [`change_record`]).
pub fn audit_record(
    state: &SharedState,
    initiated_by: Value,
    category: &str,
    activity: &str,
    operation: &str,
    targets: Vec<Value>,
    details: Vec<(&str, String)>,
) -> AuditRecord {
    let at = state.now();
    let id = Uuid::new_v4();
    let body = json!({
        "id": id,
        "category": category,
        "correlationId": current_request_id(),
        "result": "success",
        "resultReason": "",
        "activityDisplayName": activity,
        "activityDateTime": format_time(at),
        "loggedByService": "tapd",
        "operationType": operation,
        "initiatedBy": initiated_by,
        "targetResources": targets,
        "additionalDetails": details.into_iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
    });
    AuditRecord { id, at, body }
}
