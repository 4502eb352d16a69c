//! What the signed-in pages share: the navigation bar and how dates and sign-in methods are
//! shown, from the service's typed results.

use tapd_core::{Action, UsabilityReason};
use time::OffsetDateTime;

use super::session::Visitor;
use crate::service::methods::{Methods, passkey_id};
use crate::service::passes::PassView;
use crate::state::AppState;

pub struct Nav {
    pub csrf: String,
    pub upn: String,
    pub current: &'static str,
    pub policy: bool,
    pub users: bool,
    pub roles: bool,
    pub onboarding: bool,
    pub organization: bool,
}

impl Nav {
    pub fn of(state: &AppState, v: &Visitor, current: &'static str) -> Nav {
        Nav {
            csrf: v.csrf.token(state),
            upn: v.user.upn.clone(),
            current,
            policy: v.ctx.may(Action::ReadPolicy),
            users: v.ctx.may(Action::ReadUsers),
            roles: v.ctx.may(Action::ReadRoleAssignments),
            onboarding: v.ctx.may(Action::ReadAudit),
            organization: v.ctx.may(Action::ReadDomains),
        }
    }
}

/// A date as pages show it: `2026-06-01 12:00 UTC`.
pub fn page_time(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

/// One authentication method as the pages list it.
pub struct MethodView {
    pub kind: &'static str,
    pub id: String,
    pub name: String,
    pub detail: String,
}

fn usability_text(reason: UsabilityReason) -> &'static str {
    match reason {
        UsabilityReason::EnabledByPolicy => "usable now",
        UsabilityReason::NotYetValid => "not valid yet",
        UsabilityReason::Expired => "expired",
        UsabilityReason::OneTimeUsed => "used",
        UsabilityReason::DisabledByPolicy => "blocked by policy",
        UsabilityReason::Locked => "locked after wrong attempts",
    }
}

/// "One-time, valid 2026-06-01 12:00 UTC to 2026-06-01 13:00 UTC".
pub fn validity(view: &PassView) -> String {
    let pass = &view.pass;
    format!(
        "{}valid {} to {}",
        if pass.is_usable_once {
            "One-time, "
        } else {
            ""
        },
        page_time(pass.start),
        page_time(pass.expires_at())
    )
}

pub fn method_views(m: &Methods) -> Vec<MethodView> {
    let mut views = Vec::new();
    if m.user.password_hash.is_some() {
        views.push(MethodView {
            kind: "password",
            id: String::new(),
            name: "Password".into(),
            detail: String::new(),
        });
    }
    if let Some(p) = &m.pass {
        views.push(MethodView {
            kind: "tap",
            id: p.pass.id.to_string(),
            name: "Temporary Access Pass".into(),
            detail: format!("{} · {}", validity(p), usability_text(p.reason)),
        });
    }
    views.extend(m.passkeys.iter().map(|p| MethodView {
        kind: "passkey",
        id: passkey_id(p),
        name: format!("Passkey: {}", p.display_name),
        detail: format!("Added {}", page_time(p.created_at)),
    }));
    views
}

/// `text` as a QR code in inline SVG (no script, no image URL: the page's CSP stays as it is),
/// or `None` when it is too long for one.
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .build();
    // The renderer writes a whole document; inline, only its `<svg>` element.
    let start = svg.find("<svg")?;
    Some(svg[start..].replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code of the link\" ",
        1,
    ))
}
