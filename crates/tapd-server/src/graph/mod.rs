//! The Microsoft Graph v1.0-compatible admin API: JSON shapes as Graph sends them, routes as
//! Graph names them. Each handler parses the request, calls one service operation as the
//! caller, and renders the result as Graph JSON; errors are Graph's envelope.

mod applications;
mod audit;
mod groups;
mod methods;
mod policy;
mod reports;
mod roles;
mod users;

pub(crate) use methods::fido2_json;

use axum::Router;
use serde_json::{Value, json};

use crate::http::error::{ApiError, ApiResult};
use crate::state::SharedState;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .merge(applications::routes())
        .merge(users::routes())
        .merge(groups::routes())
        .merge(roles::routes())
        .merge(policy::routes())
        .merge(methods::routes())
        .merge(audit::routes())
        .merge(reports::routes())
}

/// `{"value": [...]}` with the `@odata.context` Graph puts on collections.
fn collection(state: &SharedState, context: &str, value: Vec<Value>) -> Value {
    json!({
        "@odata.context": format!("{}/v1.0/$metadata#{context}", state.public_url),
        "value": value,
    })
}

/// `$top`: 1 to 999, `default` when absent.
fn parse_top(top: Option<&str>, default: i64) -> ApiResult<i64> {
    match top {
        None => Ok(default),
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=999).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request("Invalid value for $top: use a number from 1 to 999.")
            }),
    }
}

/// An absolute URL under the public URL with its query values encoded (`@odata.nextLink`).
fn url_with_query(state: &SharedState, path: &str, params: &[(&str, String)]) -> String {
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", tapd_core::percent_encode(v)))
        .collect();
    format!("{}{path}?{}", state.public_url, query.join("&"))
}
