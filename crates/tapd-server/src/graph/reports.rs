//! The authentication methods registration report: `userRegistrationDetails`, paged by UPN with
//! `$top`/`$skiptoken`, narrowed with `$filter` over the properties Graph documents as
//! filterable (core's `USER_REGISTRATION_DETAILS`).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use tapd_core::{RegistrationQuery, format_time};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{collection, url_with_query};
use crate::http::caller::Caller;
use crate::http::error::ApiResult;
use crate::http::extract::GraphQuery;
use crate::openapi::shapes;
use crate::service::reports::{self, RegistrationDetails};
use crate::state::SharedState;

const PATH: &str = "/reports/authenticationMethods/userRegistrationDetails";

pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ReportQuery {
    /// Page size, 1 to 999.
    #[serde(rename = "$top")]
    #[param(value_type = Option<i64>, minimum = 1, maximum = 999)]
    top: Option<String>,
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
    #[serde(rename = "$filter")]
    filter: Option<String>,
}

/// Graph's names of the methods tapd reports: a passkey is a device-bound passkey, the pass
/// is `temporaryAccessPass` (a password is not listed, as in Graph).
fn details_json(d: &RegistrationDetails) -> Value {
    let mut methods = Vec::new();
    if d.passkeys > 0 {
        methods.push("passKeyDeviceBound");
    }
    if d.has_tap {
        methods.push("temporaryAccessPass");
    }
    let capable = d.status.is_passwordless_capable;
    json!({
        "id": d.user.id,
        "userPrincipalName": d.user.upn,
        "userDisplayName": d.user.display_name,
        "userType": d.user.user_type.as_str().to_ascii_lowercase(),
        "isAdmin": d.is_admin,
        "isSsprRegistered": false,
        "isSsprEnabled": false,
        "isSsprCapable": false,
        "isMfaRegistered": d.status.is_mfa_registered,
        "isMfaCapable": capable,
        "isPasswordlessCapable": capable,
        "isSystemPreferredAuthenticationMethodEnabled": false,
        "systemPreferredAuthenticationMethods": [],
        "userPreferredMethodForSecondaryAuthentication": "none",
        "methodsRegistered": methods,
        "lastUpdatedDateTime": format_time(d.last_updated),
    })
}

#[utoipa::path(get, path = "/reports/authenticationMethods/userRegistrationDetails", tag = "reports", params(ReportQuery),
    responses((status = 200, description = "A page of the registration report, by UPN.", body = shapes::UserRegistrationDetailsCollection)))]
async fn list(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    GraphQuery(q): GraphQuery<ReportQuery>,
) -> ApiResult<Json<Value>> {
    let top = q
        .top
        .as_deref()
        .map(tapd_core::odata::parse_top)
        .transpose()?
        .unwrap_or(100);
    let query = match q.filter.as_deref() {
        Some(f) => RegistrationQuery::parse_filter(f)?,
        None => RegistrationQuery::default(),
    };
    let page = reports::registration_details(&state.svc, &ctx, &query, q.skiptoken.as_deref(), top)
        .await?;
    let value = page.rows.iter().map(details_json).collect();
    let mut body = collection(
        &state,
        "reports/authenticationMethods/userRegistrationDetails",
        value,
    );
    if let Some(after) = page.next {
        let mut params = vec![("$top", top.to_string()), ("$skiptoken", after)];
        if let Some(f) = q.filter {
            params.push(("$filter", f));
        }
        body["@odata.nextLink"] = json!(url_with_query(&state, &format!("/v1.0{PATH}"), &params));
    }
    Ok(Json(body))
}
