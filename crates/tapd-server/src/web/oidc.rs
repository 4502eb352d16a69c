//! The browser-facing part of OpenID Connect: the authorization endpoint (code flow, PKCE) and
//! RP-initiated logout. The request is checked by the service; an unknown client or an
//! unregistered redirect URI gets tapd's error page, every other refusal goes back to the
//! application (RFC 6749 §4.1.2.1). Signing in uses the sign-in pages; a live browser session
//! is reused unless `prompt=login`.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::code_flow::{back_to_app, issue_code, refusal_response, refused_page};
use super::render::{Message, internal_page, message_page};
use super::session::{current_session, end_session};
use super::signin::{Step, signin_step};
use crate::service::Initiator;
use crate::service::code_flow::{self, with_params};
use crate::service::oauth;
use crate::state::{AppState, SharedState};
use uuid::Uuid;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/oauth2/v2.0/authorize", get(authorize))
        .route("/{tenant}/oauth2/v2.0/authorize", get(tenant_authorize))
        .route("/oauth2/v2.0/logout", get(logout))
        .route("/{tenant}/oauth2/v2.0/logout", get(tenant_logout))
}

/// The tenant `/{tenant}/…` names (its id or one of its domains), or the page to show.
async fn path_tenant(state: &AppState, name: &str) -> Result<Uuid, Response> {
    match crate::service::tenant_named(&state.svc, name).await {
        Ok(Some(tenant)) => Ok(tenant.id),
        Ok(None) => Err(refused_page(state, &format!("Tenant '{name}' not found."))),
        Err(_) => Err(internal_page(state)),
    }
}

async fn tenant_authorize(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match path_tenant(&state, &tenant).await {
        Ok(tenant) => authorize_in(&state, tenant, &headers, query).await,
        Err(page) => page,
    }
}

/// The authorization endpoint without a tenant in its path: the default tenant's.
async fn authorize(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    authorize_in(&state, state.default_tenant.id, &headers, query).await
}

async fn authorize_in(
    state: &AppState,
    tenant: Uuid,
    headers: &HeaderMap,
    query: Option<String>,
) -> Response {
    let query = query.unwrap_or_default();
    let req = match code_flow::check(&state.svc, &query).await {
        Ok(Ok(r)) if oauth::serves_tenant(&r.app, tenant) => r,
        Ok(Ok(r)) => {
            let message = format!(
                "Application '{}' is not registered in this organization. Use the \
                 authorization endpoint of the organization it is registered in.",
                r.app.client_id
            );
            return refused_page(state, &message);
        }
        Ok(Err(refusal)) => return refusal_response(state, refusal),
        Err(_) => return internal_page(state),
    };
    let Ok(session) = current_session(state, headers).await else {
        return internal_page(state);
    };
    // A session for someone else than the hinted user does not count.
    let session = session.ok().filter(|(_, user)| {
        req.login_hint
            .as_deref()
            .is_none_or(|hint| hint.eq_ignore_ascii_case(&user.upn))
    });
    let ctx = state.ctx_in(tenant, Initiator::Anonymous, None);
    match (req.prompt.as_deref(), session) {
        (Some("login"), _) | (Some("select_account"), _) => {}
        (_, Some((session, _))) => return issue_code(state, &ctx, &req, &session).await,
        (Some("none"), None) => {
            let description = "The user is not signed in and prompt=none forbids asking.";
            let params = [
                ("error", "login_required"),
                ("error_description", description),
            ];
            return back_to_app(&req.redirect_uri, req.state.as_deref(), &params);
        }
        _ => {}
    }
    // The sign-in pages carry the request along; `prompt=login` is satisfied by the sign-in
    // they end with, so it is removed from what they carry.
    let carried: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k != "prompt"))
        .finish();
    let hint = req.login_hint.clone().unwrap_or_default();
    let step = Step {
        authz: &carried,
        login_hint: &hint,
        ..Step::default()
    };
    signin_step(state, headers, StatusCode::OK, step).await
}

async fn tenant_logout(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    query: RawQuery,
) -> Response {
    if let Err(page) = path_tenant(&state, &tenant).await {
        return page;
    }
    logout(State(state), headers, query).await
}

/// Where RP-initiated logout may return: `post_logout_redirect_uri` when it is registered for
/// the application named by `client_id` or `id_token_hint`.
async fn logout_target(state: &AppState, pairs: &[(String, String)]) -> Option<String> {
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let client = param("client_id").map(str::to_string).or_else(|| {
        param("id_token_hint").and_then(|t| state.sessions.signer.id_token_audience(t))
    })?;
    let app = oauth::registered_app(&state.svc, &client)
        .await
        .ok()
        .flatten()?;
    let uri =
        param("post_logout_redirect_uri").filter(|uri| oauth::is_registered_redirect(&app, uri))?;
    Some(match param("state") {
        Some(s) => with_params(uri, &[("state", s)]),
        None => uri.to_string(),
    })
}

/// RP-initiated logout: ends the browser session, then returns to the application if it may.
async fn logout(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let next = match logout_target(&state, &pairs).await {
        Some(to) => Redirect::to(&to).into_response(),
        None => message_page(
            &state,
            Message {
                status: StatusCode::OK,
                title: "Signed out",
                text: "You have signed out. You can close this window.",
                is_error: false,
            },
            None,
        ),
    };
    end_session(&state, &headers, next).await
}
