//! The admin center: users (and one user's methods and pass), who still needs a passkey, the
//! TAP policy, roles, the organization (domains, federation, partners). Each page
//! shows what the visitor's roles allow and calls the service as the visitor; the service
//! decides.

mod bulk;
mod onboarding;
mod organization;
mod policy;
mod roles;
mod user;
mod users;

use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tapd_core::Action;

use super::session::Visitor;
use crate::state::SharedState;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/admin", get(admin_home))
        .merge(policy::routes())
        .merge(onboarding::routes())
        .merge(bulk::routes())
        .merge(users::routes())
        .merge(user::routes())
        .merge(roles::routes())
        .merge(organization::routes())
}

async fn admin_home(v: Visitor) -> Response {
    let to = if v.ctx.may(Action::ReadUsers) {
        "/admin/users"
    } else if v.ctx.may(Action::ReadPolicy) {
        "/admin/policy"
    } else {
        "/mysecurityinfo"
    };
    Redirect::to(to).into_response()
}
