//! One user in the admin center: details, roles, methods, removing a method, and issuing a
//! pass. Issuing answers with a redirect (POST/redirect/GET) to the user's page, which shows
//! the new pass once: the code travels in a short-lived cookie sealed under the server key and
//! bound to this browser session, cleared by the page that shows it, so a reload shows nothing
//! and never issues another pass.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use tapd_core::odata;
use time::OffsetDateTime;

use crate::service::delivery::{self, DeliveredPass, Delivery, Outcome};
use crate::service::passes::{self, IssueInput, Subject};
use crate::service::{methods, roles, users};
use crate::state::{AppState, SharedState};
use crate::web::cookies::{cookie, set_cookie_at};
use crate::web::render::{error_page, render};
use crate::web::security_info::{DeleteForm, delete_method};
use crate::web::session::Visitor;
use crate::web::view::{MethodView, Nav, method_views, page_time, validity};

/// The cookie that carries a just-issued pass to the page that shows it.
const ISSUED_COOKIE: &str = "tapd_issued";

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/admin/users/{id}", get(user_page))
        .route("/admin/users/{id}/tap", post(issue_tap))
        .route("/admin/users/{id}/methods/delete", post(delete_user_method))
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct UserPage {
    nav: Nav,
    id: String,
    upn: String,
    name: String,
    created: String,
    roles: Vec<String>,
    methods: Option<Vec<MethodView>>,
    can_manage: bool,
    /// The pass just issued, shown this once.
    issued: Option<ShownPass>,
    default_lifetime: String,
    default_once: bool,
    message: Option<String>,
    error: Option<String>,
}

/// What the issuer sees once: the code, or the one-time link (with its QR code), or where the
/// link was mailed.
pub struct ShownPass {
    code: Option<String>,
    link: Option<String>,
    /// The link as an inline SVG QR code (tapd's own markup, not escaped).
    qr: Option<String>,
    mailed_to: Option<String>,
    valid: String,
}

/// What a user page says besides the user.
#[derive(Default)]
struct Extras {
    issued: Option<ShownPass>,
    message: Option<String>,
    error: Option<String>,
}

async fn render_user(state: &AppState, v: &Visitor, id: &str, extras: Extras) -> Response {
    let user = match users::get(&state.svc, &v.ctx, id).await {
        Ok(u) => u,
        Err(e) => return error_page(state, &e),
    };
    let subject = Subject::User(id);
    let methods = methods::list(&state.svc, &v.ctx, subject).await.ok();
    let of_user = odata::Query {
        filter: Some(odata::Filter::Compare {
            property: "principalId",
            op: odata::CmpOp::Eq,
            value: odata::Literal::Guid(user.id),
        }),
        ..odata::Query::all(odata::MAX_TOP)
    };
    let roles = roles::list(&state.svc, &v.ctx, &of_user)
        .await
        .map(|page| page.items)
        .unwrap_or_default();
    let defaults = passes::issue_defaults(&state.svc, &v.ctx, subject)
        .await
        .ok();
    let page = UserPage {
        nav: Nav::of(state, v, "users"),
        can_manage: defaults.is_some(),
        id: user.id.to_string(),
        upn: user.upn,
        name: user.display_name,
        created: page_time(user.created_at),
        roles: roles
            .iter()
            .map(|a| a.role.display_name().to_string())
            .collect(),
        methods: methods.as_ref().map(method_views),
        issued: extras.issued,
        default_lifetime: defaults
            .as_ref()
            .map(|d| d.lifetime_minutes.to_string())
            .unwrap_or_default(),
        default_once: defaults.is_some_and(|d| d.is_usable_once),
        message: extras.message,
        error: extras.error,
    };
    v.page(render(&page))
}

#[derive(Deserialize)]
struct Shown {
    #[serde(default)]
    issued: Option<String>,
}

async fn user_page(
    State(state): State<SharedState>,
    v: Visitor,
    Path(id): Path<String>,
    Query(shown): Query<Shown>,
    headers: HeaderMap,
) -> Response {
    let issued = take_issued(&state, &v, &id, &headers).await;
    let message = match (&issued, shown.issued) {
        (None, Some(_)) => Some(
            "The pass was shown once, when it was issued. If it was lost, issue a new one.".into(),
        ),
        _ => None,
    };
    let had_cookie = cookie(&headers, ISSUED_COOKIE).is_some();
    let extras = Extras {
        issued,
        message,
        error: None,
    };
    let mut response = render_user(&state, &v, &id, extras).await;
    if had_cookie {
        let clear = set_cookie_at(&state, ISSUED_COOKIE, "", &user_path(&id), 0);
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

fn user_path(id: &str) -> String {
    format!("/admin/users/{}", tapd_core::percent_encode(id))
}

/// What the sealed cookie is bound to: this page and this browser session.
fn seal_context(v: &Visitor, user_path: &str) -> String {
    format!("tapd-issued-pass:{}:{user_path}", v.session.token_hash)
}

/// The pass issued just before this page, if the cookie carries one for this user's current
/// pass.
async fn take_issued(
    state: &AppState,
    v: &Visitor,
    id: &str,
    headers: &HeaderMap,
) -> Option<ShownPass> {
    let sealed = URL_SAFE_NO_PAD
        .decode(cookie(headers, ISSUED_COOKIE)?)
        .ok()?;
    let opened = state
        .svc
        .keys
        .open(&sealed, &seal_context(v, &user_path(id)))?;
    let opened = String::from_utf8(opened).ok()?;
    let mut parts = opened.splitn(3, ' ');
    let (pass_id, kind, value) = (parts.next()?, parts.next()?, parts.next()?.to_string());
    let view = passes::get(&state.svc, &v.ctx, Subject::User(id), pass_id)
        .await
        .ok()?;
    let mut shown = ShownPass {
        code: None,
        link: None,
        qr: None,
        mailed_to: None,
        valid: validity(&view),
    };
    match kind {
        "code" => shown.code = Some(value),
        "link" => {
            shown.qr = crate::web::view::qr_svg(&value);
            shown.link = Some(value);
        }
        _ => shown.mailed_to = Some(value),
    }
    Some(shown)
}

#[derive(Deserialize)]
struct TapForm {
    csrf: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    start_at: String,
    #[serde(default)]
    lifetime: String,
    #[serde(default)]
    once: Option<String>,
    /// The browser's offset from UTC in minutes (set by the page's script; UTC without it).
    #[serde(default)]
    tz_offset: String,
    /// `code` (the default), `link`, `emailToUser` or `emailToManager`.
    #[serde(default)]
    delivery: String,
}

/// `2026-06-01T14:30` as typed in the browser's time zone (`offset` minutes east of UTC).
fn local_to_utc(local: &str, offset_minutes: i64) -> Option<OffsetDateTime> {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let t = time::PrimitiveDateTime::parse(local, &f).ok()?;
    t.assume_utc()
        .checked_sub(time::Duration::minutes(offset_minutes.clamp(-1440, 1440)))
}

/// The form as the service's input, or what to tell the admin.
fn issue_input(form: &TapForm) -> Result<IssueInput, &'static str> {
    let lifetime = form.lifetime.trim();
    let lifetime_minutes = match lifetime {
        "" => None,
        l => Some(
            l.parse::<i64>()
                .map_err(|_| "Enter the duration as a whole number of minutes.")?,
        ),
    };
    let start = match form.start.as_str() {
        "at" => {
            let offset = form.tz_offset.trim().parse().unwrap_or(0);
            Some(
                local_to_utc(form.start_at.trim(), offset)
                    .ok_or("Enter the activation time as a date and time, or choose Now.")?,
            )
        }
        _ => None,
    };
    Ok(IssueInput {
        start,
        lifetime_minutes,
        is_usable_once: Some(form.once.is_some()),
    })
}

async fn issue_tap(
    State(state): State<SharedState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(form): Form<TapForm>,
) -> Response {
    if let Some(refused) = v.refuses(&state, &form.csrf) {
        return refused;
    }
    let input = match issue_input(&form) {
        Ok(i) => i,
        Err(e) => return render_user(&state, &v, &id, error(e.into())).await,
    };
    let how = match form.delivery.as_str() {
        "" => Some(Delivery::Code),
        other => Delivery::parse(other),
    };
    let Some(how) = how else {
        return render_user(
            &state,
            &v,
            &id,
            error("Choose how to deliver the pass.".into()),
        )
        .await;
    };
    let issued = delivery::issue(
        &state.svc,
        &v.ctx,
        Subject::User(&id),
        input,
        how,
        &state.public_url,
    )
    .await;
    match issued {
        Ok(issued) => show_once(&state, &v, &issued),
        Err(e) => render_user(&state, &v, &id, error(e.public_message())).await,
    }
}

/// Redirects to the user's page with the new pass sealed in a cookie for that page alone.
fn show_once(state: &AppState, v: &Visitor, issued: &DeliveredPass) -> Response {
    let path = user_path(&issued.user.id.to_string());
    let (kind, value) = match &issued.outcome {
        Outcome::Code(code) => ("code", code.as_str()),
        Outcome::Link(link) => ("link", link.url.as_str()),
        Outcome::Mailed { to, .. } => ("mailed", to.as_str()),
    };
    let plain = format!("{} {kind} {value}", issued.view.pass.id);
    let sealed = state
        .svc
        .keys
        .seal(plain.as_bytes(), &seal_context(v, &path));
    let value = URL_SAFE_NO_PAD.encode(sealed);
    let set = set_cookie_at(state, ISSUED_COOKIE, &value, &path, 120);
    let mut response = Redirect::to(&format!("{path}?issued=1#issued")).into_response();
    response.headers_mut().append(header::SET_COOKIE, set);
    response
}

fn error(message: String) -> Extras {
    Extras {
        error: Some(message),
        ..Extras::default()
    }
}

async fn delete_user_method(
    State(state): State<SharedState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Response {
    if let Some(refused) = v.refuses(&state, &form.csrf) {
        return refused;
    }
    let extras = match delete_method(&state, &v, Subject::User(&id), &form).await {
        Some(Ok(())) => Extras {
            message: Some("Removed.".into()),
            ..Extras::default()
        },
        Some(Err(e)) => error(e.public_message()),
        None => error("This method can't be removed here.".into()),
    };
    render_user(&state, &v, &id, extras).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_read_in_the_browser_time_zone() {
        let t = local_to_utc("2026-06-01T14:30", 120).expect("parses");
        assert_eq!(t, time::macros::datetime!(2026-06-01 12:30 UTC));
        assert_eq!(local_to_utc("yesterday", 0), None);
    }
}
