//! The one-time link of a pass (SPEC §12): `GET /pass/{id}?k=…` shows a "Show my pass" button
//! and nothing else, so that a mail scanner fetching the link doesn't burn it; the button's
//! `POST /pass/{id}` opens the sealed pass, shows it once and deletes the link. A used, expired,
//! replaced or deleted link, and a wrong key, all answer the same "used or expired" page (410).
//!
//! The form carries no CSRF token: the key in it is the capability, and a forged post could
//! only show the pass to the browser that already holds the link.

use askama::Template;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use crate::service::Initiator;
use crate::service::delivery::{self, RevealedPass};
use crate::state::{AppState, SharedState};
use crate::web::render::{error_message, html, internal_page, render};
use crate::web::view::validity;

pub fn routes() -> Router<SharedState> {
    Router::new().route("/pass/{id}", get(link_page).post(reveal))
}

#[derive(Template)]
#[template(path = "pass_link.html")]
struct LinkPage<'a> {
    id: &'a str,
    key: &'a str,
    revealed: Option<Shown>,
}

struct Shown {
    upn: String,
    code: String,
    valid: String,
}

#[derive(Deserialize)]
struct Key {
    #[serde(default)]
    k: String,
}

fn gone(state: &AppState) -> Response {
    error_message(
        state,
        StatusCode::GONE,
        "This link has been used or has expired",
        "Each link shows its pass once, and ends when the pass does. Ask whoever issued your pass for a new one.",
    )
}

async fn link_page(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Query(key): Query<Key>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    let ctx = state.ctx(Initiator::Anonymous, Some(peer.ip()));
    match delivery::peek(&state.svc, &ctx, &id, &key.k).await {
        Ok(true) => {
            let page = LinkPage {
                id: &id,
                key: &key.k,
                revealed: None,
            };
            html(StatusCode::OK, render(&page), None)
        }
        Ok(false) => gone(&state),
        Err(e) => {
            tracing::error!(error = %e, "could not read a pass link");
            internal_page(&state)
        }
    }
}

async fn reveal(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(key): Form<Key>,
) -> Response {
    let ctx = state.ctx(Initiator::Anonymous, Some(peer.ip()));
    match delivery::reveal(&state.svc, &ctx, &id, &key.k).await {
        Ok(Ok(RevealedPass { code, upn, view })) => {
            let page = LinkPage {
                id: &id,
                key: "",
                revealed: Some(Shown {
                    upn,
                    code,
                    valid: view.as_ref().map(validity).unwrap_or_default(),
                }),
            };
            html(StatusCode::OK, render(&page), None)
        }
        Ok(Err(_)) => gone(&state),
        Err(e) => {
            tracing::error!(error = %e, "could not open a pass link");
            internal_page(&state)
        }
    }
}
