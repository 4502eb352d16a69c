//! The admin center's onboarding list: users who can't sign in passwordless yet (no passkey the
//! FIDO2 configuration lets them use), read from the registration report, each with a link to
//! their page where a pass is issued.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tapd_core::RegistrationQuery;

use crate::service::reports;
use crate::state::SharedState;
use crate::web::render::{error_page, render};
use crate::web::session::Visitor;
use crate::web::view::{Nav, page_time};

pub fn routes() -> Router<SharedState> {
    Router::new().route("/admin/onboarding", get(onboarding_page))
}

/// Users listed on one page.
const PAGE: i64 = 100;

struct Row {
    id: String,
    upn: String,
    name: String,
    methods: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "admin_onboarding.html")]
struct OnboardingPage {
    nav: Nav,
    users: Vec<Row>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct Paging {
    after: Option<String>,
}

async fn onboarding_page(
    State(state): State<SharedState>,
    v: Visitor,
    Query(paging): Query<Paging>,
) -> Response {
    let query = RegistrationQuery::without_passkey();
    let after = paging.after.as_deref();
    let page = match reports::registration_details(&state.svc, &v.ctx, &query, after, PAGE).await {
        Ok(p) => p,
        Err(e) => return error_page(&state, &e),
    };
    let users = page
        .rows
        .into_iter()
        .map(|r| Row {
            id: r.user.id.to_string(),
            methods: match (r.passkeys, r.has_tap) {
                (0, false) => "none".into(),
                (0, true) => "Temporary Access Pass".into(),
                (n, tap) => format!(
                    "{n} passkey(s) the policy doesn't allow{}",
                    if tap { ", Temporary Access Pass" } else { "" }
                ),
            },
            updated: page_time(r.last_updated),
            upn: r.user.upn,
            name: r.user.display_name,
        })
        .collect();
    let page = OnboardingPage {
        nav: Nav::of(&state, &v, "onboarding"),
        users,
        next: page.next.map(|n| tapd_core::percent_encode(&n)),
    };
    v.page(render(&page))
}
