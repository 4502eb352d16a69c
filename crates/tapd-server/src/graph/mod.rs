//! The Microsoft Graph v1.0-compatible admin API: JSON shapes as Graph sends them, routes as
//! Graph names them. Each handler parses the request, calls one service operation as the
//! caller, and renders the result as Graph JSON; errors are Graph's envelope.

mod applications;
mod audit;
mod batch;
mod domains;
mod groups;
mod managers;
mod methods;
mod partners;
mod policy;
mod query;
mod reports;
mod roles;
mod users;

pub(crate) use methods::fido2_json;

use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;

use crate::state::SharedState;

pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .merge(applications::routes())
        .merge(users::routes())
        .merge(managers::routes())
        .merge(groups::routes())
        .merge(domains::routes())
        .merge(partners::routes())
        .merge(roles::routes())
        .merge(policy::routes())
        .merge(methods::routes())
        .merge(audit::routes())
        .merge(batch::routes())
        .merge(reports::routes())
}

/// `{"value": [...]}` with the `@odata.context` Graph puts on collections.
/// The last two segments (`{collection}/{id}`) of the URL in a reference body,
/// `{"@odata.id": "…/directoryObjects/{id}"}`, whatever its base, as Graph takes one. A body of
/// another shape is refused with `shape`.
fn reference(body: &[u8], shape: &str) -> crate::http::error::ApiResult<(String, String)> {
    use crate::http::error::ApiError;
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}")))?;
    let reference = value
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get("@odata.id"))
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request(shape))?;
    let mut segments = reference.trim_end_matches('/').rsplit('/');
    let id = segments.next().unwrap_or("").to_string();
    let collection = segments.next().unwrap_or("").to_string();
    Ok((collection, id))
}

fn collection(state: &SharedState, context: &str, value: Vec<Value>) -> Value {
    json!({
        "@odata.context": format!("{}/v1.0/$metadata#{context}", state.public_url),
        "value": value,
    })
}

/// An absolute URL under the public URL with its query values encoded (`@odata.nextLink`).
fn url_with_query(state: &SharedState, path: &str, params: &[(&str, String)]) -> String {
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", tapd_core::percent_encode(v)))
        .collect();
    format!("{}{path}?{}", state.public_url, query.join("&"))
}
