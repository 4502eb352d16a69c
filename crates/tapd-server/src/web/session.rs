//! Browser sessions: the cookie's live session, the signed-in [`Visitor`] (a service context
//! built from it, roles read afresh), opening one after a sign-in and ending one. A session
//! opened with a pass ends no later than the pass, and ends when the pass is deleted; the
//! sign-in page then says why.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use tapd_store::{UserRecord, WebSession};

use super::cookies::{Csrf, SESSION_COOKIE, cookie, set_cookie};
use super::render::{csrf_refused, html, internal_page, with_cookie};
use crate::service::sessions::{self, SessionEnd};
use crate::service::signin::Verified;
use crate::service::{Ctx, ServiceResult};
use crate::state::{AppState, SharedState};

/// `/signin?ended=pass`: the notice that a deleted pass ended the session.
pub const ENDED_BY_PASS: &str = "pass";

/// The browser's live session, or why there is none.
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> ServiceResult<Result<(WebSession, UserRecord), SessionEnd>> {
    match cookie(headers, SESSION_COOKIE) {
        Some(token) => sessions::web_session(&state.svc, state.now(), token).await,
        None => Ok(Err(SessionEnd::Ended)),
    }
}

/// Commits a verified sign-in as a browser session; returns it and its cookie.
pub async fn open_session(
    state: &AppState,
    ctx: &Ctx,
    verified: &Verified,
) -> ServiceResult<(WebSession, HeaderValue)> {
    let (session, token) = sessions::open_web_session(&state.svc, ctx, verified).await?;
    let max_age = (session.expires_at - ctx.now).whole_seconds().max(0);
    Ok((session, set_cookie(state, SESSION_COOKIE, &token, max_age)))
}

/// Ends the browser's session (row and cookie), then answers `next`.
pub async fn end_session(state: &AppState, headers: &HeaderMap, next: Response) -> Response {
    if let Some(token) = cookie(headers, SESSION_COOKIE)
        && let Err(e) = sessions::end_web_session(&state.svc, token).await
    {
        tracing::error!(error = %e, "could not end a session");
        return internal_page(state);
    }
    with_cookie(next, Some(set_cookie(state, SESSION_COOKIE, "", 0)))
}

/// The sign-in page, coming back to `back` afterwards; says why when a pass ended the session.
pub fn to_signin(back: &str, ended: Option<SessionEnd>) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("next", back);
    if ended == Some(SessionEnd::PassGone) {
        query.append_pair("ended", ENDED_BY_PASS);
    }
    Redirect::to(&format!("/signin?{}", query.finish())).into_response()
}

/// A signed-in browser: its session, the service context it acts in, and its CSRF token.
pub struct Visitor {
    pub session: WebSession,
    pub user: UserRecord,
    pub ctx: Ctx,
    pub csrf: Csrf,
}

impl FromRequestParts<SharedState> for Visitor {
    type Rejection = Response;

    /// Signed in, or sent to sign in and brought back to this page.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Visitor, Response> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let back = if parts.method == Method::GET {
            parts.uri.path()
        } else {
            "/mysecurityinfo"
        };
        let (session, user) = match current_session(state, &parts.headers).await {
            Ok(Ok(found)) => found,
            Ok(Err(ended)) => return Err(to_signin(back, Some(ended))),
            Err(_) => return Err(internal_page(state)),
        };
        let initiator = sessions::user_initiator(&state.svc, user.clone(), session.tap_id)
            .await
            .map_err(|_| internal_page(state))?;
        Ok(Visitor {
            user,
            ctx: state.ctx(initiator, peer),
            csrf: Csrf::of(state, &parts.headers),
            session,
        })
    }
}

impl Visitor {
    /// The answer to a form whose CSRF token is not this browser's, if it isn't.
    pub fn refuses(&self, state: &AppState, sent: &str) -> Option<Response> {
        (!self.csrf.matches(state, sent)).then(|| csrf_refused(state))
    }

    /// A page for this visitor, setting the CSRF cookie if the browser had none.
    pub fn page(&self, body: String) -> Response {
        let mut response = html(axum::http::StatusCode::OK, body, None);
        if let Some(set) = &self.csrf.set {
            response
                .headers_mut()
                .append(header::SET_COOKIE, set.clone());
        }
        response
    }
}
