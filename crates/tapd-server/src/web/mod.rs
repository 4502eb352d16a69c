//! Everything a browser visits: the sign-in pages, OpenID Connect's authorization and logout,
//! the device sign-in page (`/device`),
//! My Security Info and the admin center, with cookie sessions, CSRF protection, rendering and
//! the static files. Every form works without JavaScript. Pages render the service's typed
//! results as the signed-in user; none of them knows a rule.

mod admin;
mod code_flow;
pub mod cookies;
mod device;
mod federation;
mod oidc;
mod pass_link;
pub mod render;
mod security_info;
pub mod session;
mod signin;
mod view;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::state::SharedState;

pub use code_flow::continue_after_sign_in;
pub use signin::local_path;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/", get(home))
        .route("/static/tapd.css", get(css))
        .route("/static/tapd.js", get(js))
        .route("/favicon.ico", get(favicon))
        .merge(signin::routes())
        .merge(federation::routes())
        .merge(oidc::routes())
        .merge(device::routes())
        .merge(security_info::routes())
        .merge(admin::routes())
        .merge(pass_link::routes())
}

async fn home(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    match session::current_session(&state, &headers).await {
        Ok(Ok(_)) => Redirect::to("/mysecurityinfo").into_response(),
        Ok(Err(_)) => Redirect::to("/signin").into_response(),
        Err(_) => render::internal_page(&state),
    }
}

async fn css() -> Response {
    static_file(
        "text/css; charset=utf-8",
        include_bytes!("../../static/tapd.css"),
    )
}

async fn js() -> Response {
    static_file(
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/tapd.js"),
    )
}

async fn favicon() -> Response {
    static_file("image/x-icon", include_bytes!("../../static/favicon.ico"))
}

fn static_file(content_type: &'static str, body: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}
