//! The admin center's user list, with search and the new-user form.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use tapd_core::{Action, odata};

use crate::service::users::{self, NewUser, PasswordProfile};
use crate::state::{AppState, SharedState};
use crate::web::render::{error_page, render};
use crate::web::session::Visitor;
use crate::web::view::Nav;

pub fn routes() -> Router<SharedState> {
    Router::new().route("/admin/users", get(users_page).post(create_user))
}

pub struct UserRow {
    id: String,
    upn: String,
    name: String,
    enabled: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    nav: Nav,
    q: String,
    users: Vec<UserRow>,
    can_create: bool,
    error: Option<String>,
    sent_upn: String,
    sent_name: String,
}

#[derive(Deserialize)]
struct Search {
    #[serde(default)]
    q: String,
}

async fn render_users(
    state: &AppState,
    v: Visitor,
    q: &str,
    error: Option<String>,
    sent: (&str, &str),
) -> Response {
    let needle = q.trim();
    let query = odata::Query {
        search: (!needle.is_empty()).then(|| odata::Search {
            any: true,
            terms: vec![
                ("displayName", needle.to_string()),
                ("userPrincipalName", needle.to_string()),
            ],
        }),
        ..odata::Query::all(odata::MAX_TOP)
    };
    let page = match users::list(&state.svc, &v.ctx, &query).await {
        Ok(p) => p,
        Err(e) => return error_page(state, &e),
    };
    let rows = page
        .items
        .into_iter()
        .map(|u| UserRow {
            id: u.id.to_string(),
            upn: u.upn,
            name: u.display_name,
            enabled: u.account_enabled,
        })
        .collect();
    let page = UsersPage {
        nav: Nav::of(state, &v, "users"),
        q: q.to_string(),
        users: rows,
        can_create: v.ctx.may(Action::WriteUsers),
        error,
        sent_upn: sent.0.to_string(),
        sent_name: sent.1.to_string(),
    };
    v.page(render(&page))
}

async fn users_page(
    State(state): State<SharedState>,
    v: Visitor,
    Query(search): Query<Search>,
) -> Response {
    render_users(&state, v, &search.q, None, ("", "")).await
}

#[derive(Deserialize)]
struct NewUserForm {
    csrf: String,
    upn: String,
    name: String,
    #[serde(default)]
    password: String,
}

async fn create_user(
    State(state): State<SharedState>,
    v: Visitor,
    Form(form): Form<NewUserForm>,
) -> Response {
    if let Some(refused) = v.refuses(&state, &form.csrf) {
        return refused;
    }
    let upn = form.upn.trim();
    let req = NewUser {
        account_enabled: Some(true),
        display_name: form.name.trim().to_string(),
        user_principal_name: upn.to_string(),
        mail_nickname: Some(upn.split('@').next().unwrap_or(upn).to_string()),
        given_name: None,
        surname: None,
        mail: None,
        user_type: None,
        password_profile: (!form.password.is_empty())
            .then(|| PasswordProfile::new(form.password.clone())),
    };
    match users::create(&state.svc, &v.ctx, req).await {
        Ok(user) => Redirect::to(&format!("/admin/users/{}", user.id)).into_response(),
        Err(e) => {
            let sent = (upn, form.name.trim());
            render_users(&state, v, "", Some(e.public_message()), sent).await
        }
    }
}
