//! The admin center's role assignments: list, assign by user name, remove.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tapd_core::{Action, DomainError, Role};

use crate::service::roles::{self, NewAssignment};
use crate::service::{ServiceError, users};
use crate::state::{AppState, SharedState};
use crate::web::render::{error_page, render};
use crate::web::session::Visitor;
use crate::web::view::Nav;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/admin/roles", get(roles_page).post(assign_role))
        .route("/admin/roles/remove", post(remove_role))
}

pub struct RoleOption {
    id: &'static str,
    name: &'static str,
}

pub struct AssignmentRow {
    id: String,
    user: String,
    role: String,
}

#[derive(Template)]
#[template(path = "admin_roles.html")]
struct RolesPage {
    nav: Nav,
    assignments: Vec<AssignmentRow>,
    roles: Vec<RoleOption>,
    can_assign: bool,
    message: Option<String>,
    error: Option<String>,
}

async fn render_roles(
    state: &AppState,
    v: Visitor,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let all = tapd_core::odata::Query::all(tapd_core::odata::MAX_TOP);
    let assignments = match roles::list(&state.svc, &v.ctx, &all).await {
        Ok(page) => page.items,
        Err(e) => return error_page(state, &e),
    };
    let mut rows = Vec::new();
    for a in assignments {
        let user = users::get(&state.svc, &v.ctx, &a.principal_id.to_string())
            .await
            .map(|u| u.upn)
            .unwrap_or_else(|_| a.principal_id.to_string());
        rows.push(AssignmentRow {
            id: a.id.to_string(),
            user,
            role: a.role.display_name().to_string(),
        });
    }
    rows.sort_by(|a, b| (&a.user, &a.role).cmp(&(&b.user, &b.role)));
    let page = RolesPage {
        nav: Nav::of(state, &v, "roles"),
        can_assign: v.ctx.may(Action::WriteRoleAssignments),
        assignments: rows,
        roles: Role::ALL
            .iter()
            .map(|r| RoleOption {
                id: r.template_id(),
                name: r.display_name(),
            })
            .collect(),
        message,
        error,
    };
    v.page(render(&page))
}

async fn roles_page(State(state): State<SharedState>, v: Visitor) -> Response {
    render_roles(&state, v, None, None).await
}

#[derive(Deserialize)]
struct AssignForm {
    csrf: String,
    upn: String,
    role: String,
}

async fn assign_role(
    State(state): State<SharedState>,
    v: Visitor,
    Form(form): Form<AssignForm>,
) -> Response {
    if let Some(refused) = v.refuses(&state, &form.csrf) {
        return refused;
    }
    let upn = form.upn.trim();
    let user = match users::get(&state.svc, &v.ctx, upn).await {
        Ok(u) => u,
        Err(ServiceError::Domain(DomainError::NotFound(_))) => {
            return render_roles(&state, v, None, Some(format!("No user '{upn}'."))).await;
        }
        Err(e) => return render_roles(&state, v, None, Some(e.public_message())).await,
    };
    let req = NewAssignment {
        principal_id: user.id.to_string(),
        role_definition_id: form.role,
        directory_scope_id: Some("/".into()),
    };
    match roles::assign(&state.svc, &v.ctx, req).await {
        Ok(_) => {
            render_roles(
                &state,
                v,
                Some(format!("Role assigned to {}.", user.upn)),
                None,
            )
            .await
        }
        Err(e) => render_roles(&state, v, None, Some(e.public_message())).await,
    }
}

#[derive(Deserialize)]
struct RemoveForm {
    csrf: String,
    id: String,
}

async fn remove_role(
    State(state): State<SharedState>,
    v: Visitor,
    Form(form): Form<RemoveForm>,
) -> Response {
    if let Some(refused) = v.refuses(&state, &form.csrf) {
        return refused;
    }
    match roles::remove(&state.svc, &v.ctx, &form.id).await {
        Ok(()) => render_roles(&state, v, Some("Role removed.".into()), None).await,
        Err(e) => render_roles(&state, v, None, Some(e.public_message())).await,
    }
}
