//! The authorization endpoint (OpenID Connect authorization code flow, PKCE) and RP-initiated
//! logout. An unknown client or a redirect URI that is not registered (matched exactly) gets an
//! error page; every other error goes back to the application's redirect URI (RFC 6749
//! §4.1.2.1). Signing in uses the web sign-in pages; a live browser session is reused unless
//! `prompt=login`.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tapd_store::{AppRecord, AuthCode, WebSession};
use time::Duration;
use uuid::Uuid;

use crate::oauth::is_our_tenant;
use crate::secrets::new_opaque_token;
use crate::signin::new_family;
use crate::web::{current_session, end_session, message_page, signin_for};
use crate::{AppState, SharedState};

/// How long an authorization code may wait to be redeemed.
pub const CODE_TTL: Duration = Duration::seconds(60);

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/oauth2/v2.0/authorize", get(authorize))
        .route("/{tenant}/oauth2/v2.0/authorize", get(tenant_authorize))
        .route("/oauth2/v2.0/logout", get(logout))
        .route("/{tenant}/oauth2/v2.0/logout", get(tenant_logout))
}

/// A validated authorization request.
pub struct AuthorizeRequest {
    pub app: AppRecord,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Option<String>,
    pub login_hint: Option<String>,
}

/// Why a request can't go on.
pub enum Refusal {
    /// Shown on tapd's own page: there is no trustworthy place to send the user back to.
    Page(String),
    /// Sent back to the application's redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Parses and checks an authorization request's query string.
pub async fn parse(state: &AppState, query: &str) -> Result<AuthorizeRequest, Refusal> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let page = |m: &str| Refusal::Page(m.to_string());
    let client_id =
        param(&pairs, "client_id").ok_or_else(|| page("The request has no client_id."))?;
    let app = match Uuid::parse_str(client_id) {
        Ok(id) => state.store.app_by_client_id(id).await.map_err(|e| {
            tracing::error!(error = %e, "authorize: could not read the application");
            page("An internal error occurred. Try again in a moment.")
        })?,
        Err(_) => None,
    }
    .ok_or_else(|| {
        page(&format!(
            "Application '{client_id}' is not registered in this directory. Ask its developer to register it."
        ))
    })?;
    let redirect_uri = param(&pairs, "redirect_uri")
        .ok_or_else(|| page("The request has no redirect_uri."))?
        .to_string();
    let registered = app
        .web_redirect_uris
        .iter()
        .chain(&app.spa_redirect_uris)
        .chain(&app.public_redirect_uris)
        .any(|u| *u == redirect_uri);
    if !registered {
        return Err(page(&format!(
            "The redirect URI '{redirect_uri}' is not registered for application '{}'. Redirect URIs must match exactly.",
            app.display_name
        )));
    }
    let state_param = param(&pairs, "state").map(str::to_string);
    let refuse = |error: &'static str, description: String| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state_param.clone(),
        error,
        description,
    };
    match param(&pairs, "response_type") {
        Some("code") => {}
        Some(other) => {
            return Err(refuse(
                "unsupported_response_type",
                format!("response_type '{other}' is not supported; use 'code'."),
            ));
        }
        None => {
            return Err(refuse(
                "invalid_request",
                "response_type is required.".into(),
            ));
        }
    }
    if let Some(mode) = param(&pairs, "response_mode").filter(|m| *m != "query") {
        return Err(refuse(
            "invalid_request",
            format!("response_mode '{mode}' is not supported; use 'query'."),
        ));
    }
    let scope = param(&pairs, "scope")
        .ok_or_else(|| {
            refuse(
                "invalid_request",
                "scope is required, for example 'openid profile offline_access'.".into(),
            )
        })?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let code_challenge = param(&pairs, "code_challenge").map(str::to_string);
    match (param(&pairs, "code_challenge_method"), &code_challenge) {
        (Some("S256"), Some(_)) | (None, None) => {}
        (None, Some(_)) | (Some(_), Some(_)) => {
            return Err(refuse(
                "invalid_request",
                "code_challenge_method must be S256.".into(),
            ));
        }
        (Some(_), None) => {
            return Err(refuse(
                "invalid_request",
                "code_challenge is missing.".into(),
            ));
        }
    }
    if let Some(c) = &code_challenge
        && (c.len() != 43
            || !c
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    {
        return Err(refuse(
            "invalid_request",
            "code_challenge must be BASE64URL(SHA-256(code_verifier)), 43 characters.".into(),
        ));
    }
    let public = !app.web_redirect_uris.contains(&redirect_uri);
    if public && code_challenge.is_none() {
        return Err(refuse(
            "invalid_request",
            "This is a public client: PKCE is required (code_challenge with code_challenge_method=S256).".into(),
        ));
    }
    let prompt = param(&pairs, "prompt").map(str::to_string);
    if let Some(p) = &prompt
        && !matches!(p.as_str(), "none" | "login" | "consent" | "select_account")
    {
        return Err(refuse(
            "invalid_request",
            format!("prompt '{p}' is not supported."),
        ));
    }
    Ok(AuthorizeRequest {
        scope,
        nonce: param(&pairs, "nonce").map(str::to_string),
        login_hint: param(&pairs, "login_hint").map(str::to_string),
        state: state_param.clone(),
        code_challenge,
        prompt,
        redirect_uri,
        app,
    })
}

/// `uri` with `params` added to its query.
pub fn with_params(uri: &str, params: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{query}")
}

/// `scheme://host[:port]` of a URI, for the pages' CSP `form-action`.
pub fn origin_of(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    ok.then(|| format!("{scheme}://{host}"))
}

fn refusal_response(state: &AppState, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page(message) => message_page(
            state,
            StatusCode::BAD_REQUEST,
            "Sign-in request refused",
            &message,
            true,
            None,
            None,
        ),
        Refusal::Redirect {
            redirect_uri,
            state: app_state,
            error,
            description,
        } => {
            let mut params = vec![
                ("error", error),
                ("error_description", description.as_str()),
            ];
            if let Some(s) = &app_state {
                params.push(("state", s));
            }
            Redirect::to(&with_params(&redirect_uri, &params)).into_response()
        }
    }
}

/// Issues a code for `session` and sends the browser back to the application.
async fn issue_code(state: &AppState, req: &AuthorizeRequest, session: &WebSession) -> Response {
    let now = state.now();
    let code = new_opaque_token();
    let record = AuthCode {
        code_hash: state.keys.token_hash(&code),
        client_id: req.app.client_id,
        redirect_uri: req.redirect_uri.clone(),
        user_id: session.user_id,
        tap_id: session.tap_id,
        amr: session.amr.clone(),
        scope: req.scope.clone(),
        nonce: req.nonce.clone(),
        code_challenge: req.code_challenge.clone(),
        auth_time: session.auth_time,
        family_id: new_family(),
        created_at: now,
        expires_at: now + CODE_TTL,
    };
    if let Err(e) = state.store.put_auth_code(&record).await {
        tracing::error!(error = %e, "could not store an authorization code");
        return refusal_response(
            state,
            Refusal::Redirect {
                redirect_uri: req.redirect_uri.clone(),
                state: req.state.clone(),
                error: "server_error",
                description: "An internal error occurred.".into(),
            },
        );
    }
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &req.state {
        params.push(("state", s));
    }
    Redirect::to(&with_params(&req.redirect_uri, &params)).into_response()
}

async fn tenant_authorize(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    query: RawQuery,
) -> Response {
    if !is_our_tenant(&state, &tenant) {
        return refusal_response(
            &state,
            Refusal::Page(format!("Tenant '{tenant}' not found.")),
        );
    }
    authorize(State(state), headers, query).await
}

async fn authorize(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let req = match parse(&state, &query).await {
        Ok(r) => r,
        Err(refusal) => return refusal_response(&state, refusal),
    };
    let session = match current_session(&state, &headers).await {
        Ok(s) => s,
        Err(_) => {
            return refusal_response(
                &state,
                Refusal::Page("An internal error occurred. Try again in a moment.".into()),
            );
        }
    };
    // A session for someone else than the hinted user does not count.
    let session = session.filter(|(_, user)| {
        req.login_hint
            .as_deref()
            .is_none_or(|hint| hint.eq_ignore_ascii_case(&user.upn))
    });
    match (req.prompt.as_deref(), session) {
        (Some("login"), _) | (Some("select_account"), _) => {}
        (_, Some((session, _))) => return issue_code(&state, &req, &session).await,
        (Some("none"), None) => {
            return refusal_response(
                &state,
                Refusal::Redirect {
                    redirect_uri: req.redirect_uri,
                    state: req.state,
                    error: "login_required",
                    description: "The user is not signed in and prompt=none forbids asking.".into(),
                },
            );
        }
        _ => {}
    }
    // The sign-in pages carry the request along; `prompt=login` is satisfied by the sign-in
    // they end with, so it is removed from what they carry.
    let carried: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k != "prompt"))
        .finish();
    let hint = req.login_hint.clone().unwrap_or_default();
    signin_for(&state, &headers, &carried, &hint).await
}

/// After a sign-in on the pages: the authorization request it was for, answered.
pub async fn continue_after_sign_in(
    state: &AppState,
    authz: &str,
    session: &WebSession,
) -> Response {
    match parse(state, authz).await {
        Ok(req) => issue_code(state, &req, session).await,
        Err(refusal) => refusal_response(state, refusal),
    }
}

async fn tenant_logout(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    query: RawQuery,
) -> Response {
    if !is_our_tenant(&state, &tenant) {
        return refusal_response(
            &state,
            Refusal::Page(format!("Tenant '{tenant}' not found.")),
        );
    }
    logout(State(state), headers, query).await
}

/// RP-initiated logout: ends the browser session, then returns to `post_logout_redirect_uri`
/// if it is registered for the application (named by `client_id` or `id_token_hint`).
async fn logout(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let client = param(&pairs, "client_id")
        .map(str::to_string)
        .or_else(|| param(&pairs, "id_token_hint").and_then(|t| state.signer.id_token_audience(t)));
    let app = match client.as_deref().map(Uuid::parse_str) {
        Some(Ok(id)) => state.store.app_by_client_id(id).await.ok().flatten(),
        _ => None,
    };
    let target = param(&pairs, "post_logout_redirect_uri").filter(|uri| {
        app.as_ref().is_some_and(|a| {
            a.web_redirect_uris
                .iter()
                .chain(&a.spa_redirect_uris)
                .chain(&a.public_redirect_uris)
                .any(|u| u == uri)
        })
    });
    let next = match target {
        Some(uri) => {
            let params: Vec<(&str, &str)> = param(&pairs, "state")
                .map(|s| ("state", s))
                .into_iter()
                .collect();
            let to = if params.is_empty() {
                uri.to_string()
            } else {
                with_params(uri, &params)
            };
            Redirect::to(&to).into_response()
        }
        None => message_page(
            &state,
            StatusCode::OK,
            "Signed out",
            "You have signed out. You can close this window.",
            false,
            None,
            None,
        ),
    };
    end_session(&state, &headers, next).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_added_to_the_redirect_uri_encoded() {
        assert_eq!(
            with_params("https://app.test/cb", &[("code", "a+b"), ("state", "x y")]),
            "https://app.test/cb?code=a%2Bb&state=x+y"
        );
        assert_eq!(
            with_params("https://app.test/cb?k=v", &[("code", "c")]),
            "https://app.test/cb?k=v&code=c"
        );
    }

    #[test]
    fn origins_are_scheme_host_and_port() {
        assert_eq!(
            origin_of("http://localhost:8400/cb?x").as_deref(),
            Some("http://localhost:8400")
        );
        assert_eq!(
            origin_of("com.example.app://callback").as_deref(),
            Some("com.example.app://callback")
        );
        assert_eq!(origin_of("https://evil.test;script-src *"), None);
    }
}
