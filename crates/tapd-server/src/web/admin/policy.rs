//! The admin center's TAP policy page. A refusal names the page's own labels ("Minimum
//! lifetime must be between 10 and 43,200 minutes"); the rule itself is the domain's
//! (`TapPolicy::check`), the same one the Graph API words in Graph's terms, and the form's
//! fields become a patch in the domain (`tapd_core::PolicyForm`).

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use tapd_core::odata::{MAX_TOP, Query};
use tapd_core::{
    ALL_USERS, Action, MAX_CODE_LENGTH, MAX_LIFETIME_MINUTES, MIN_CODE_LENGTH,
    MIN_LIFETIME_MINUTES, NotANumber, PolicyField, PolicyForm, PolicyState, PolicyTarget,
    PolicyViolation, TapPolicy,
};

use crate::service::groups;
use crate::service::policy::{self, TAP_CONFIG_ID};
use crate::state::{AppState, SharedState};
use crate::web::render::{error_page, render};
use crate::web::session::Visitor;
use crate::web::view::Nav;

pub fn routes() -> Router<SharedState> {
    Router::new().route("/admin/policy", get(policy_page).post(save_policy))
}

pub struct GroupOption {
    id: String,
    name: String,
    included: bool,
    excluded: bool,
}

#[derive(Template)]
#[template(path = "admin_policy.html")]
struct PolicyPage {
    nav: Nav,
    can_edit: bool,
    enabled: bool,
    all_users: bool,
    groups: Vec<GroupOption>,
    min_lifetime: String,
    max_lifetime: String,
    default_lifetime: String,
    default_length: String,
    once: bool,
    limits_lifetime: String,
    limits_length: String,
    message: Option<String>,
    error: Option<String>,
}

/// The field's label on this page.
fn label(field: PolicyField) -> &'static str {
    match field {
        PolicyField::MinimumLifetime => "Minimum lifetime",
        PolicyField::MaximumLifetime => "Maximum lifetime",
        PolicyField::DefaultLifetime => "Default lifetime",
        PolicyField::DefaultLength => "Length",
    }
}

fn unit(field: PolicyField) -> &'static str {
    match field {
        PolicyField::DefaultLength => "characters",
        _ => "minutes",
    }
}

/// `43200` as `43,200`.
fn grouped(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A broken policy rule in the page's words.
fn page_message(v: &PolicyViolation) -> String {
    match v {
        PolicyViolation::OutOfRange {
            field, min, max, ..
        } => format!(
            "{} must be between {} and {} {}.",
            label(*field),
            grouped(*min),
            grouped(*max),
            unit(*field)
        ),
        PolicyViolation::MinAboveMax { min, max } => format!(
            "Minimum lifetime ({} minutes) must not be greater than maximum lifetime ({} minutes).",
            grouped(*min),
            grouped(*max)
        ),
        PolicyViolation::DefaultOutside { min, max, .. } => format!(
            "Default lifetime must be between the minimum ({}) and the maximum ({}) lifetime, in minutes.",
            grouped(*min),
            grouped(*max)
        ),
        PolicyViolation::Target(m) => m.clone(),
    }
}

/// What the form shows: the saved policy, or what was sent when it was refused.
fn page_of(
    state: &AppState,
    v: &Visitor,
    policy: &TapPolicy,
    groups: Vec<(String, String)>,
    sent: Option<&PolicyForm<'_>>,
) -> PolicyPage {
    let ids = |targets: &[PolicyTarget]| targets.iter().map(|t| t.id.clone()).collect::<Vec<_>>();
    let (include, exclude) = match sent {
        Some(f) => (f.fields("include"), f.fields("exclude")),
        None => (ids(&policy.include_targets), ids(&policy.exclude_targets)),
    };
    let value = |form_key: &str, saved: u32| match sent.and_then(|f| f.field(form_key)) {
        Some(s) => s.to_string(),
        None => saved.to_string(),
    };
    PolicyPage {
        nav: Nav::of(state, v, "policy"),
        can_edit: v.ctx.may(Action::WritePolicy),
        enabled: match sent {
            Some(f) => f.field("enabled").is_some(),
            None => policy.state == PolicyState::Enabled,
        },
        all_users: include.iter().any(|i| i == ALL_USERS),
        groups: groups
            .into_iter()
            .map(|(id, name)| GroupOption {
                included: include.contains(&id),
                excluded: exclude.contains(&id),
                id,
                name,
            })
            .collect(),
        min_lifetime: value("min", policy.minimum_lifetime_in_minutes),
        max_lifetime: value("max", policy.maximum_lifetime_in_minutes),
        default_lifetime: value("default", policy.default_lifetime_in_minutes),
        default_length: value("length", policy.default_length),
        once: match sent {
            Some(f) => f.field("once").is_some(),
            None => policy.is_usable_once,
        },
        limits_lifetime: format!(
            "{} to {} minutes (30 days)",
            grouped(MIN_LIFETIME_MINUTES),
            grouped(MAX_LIFETIME_MINUTES)
        ),
        limits_length: format!("{MIN_CODE_LENGTH} to {MAX_CODE_LENGTH} characters"),
        message: None,
        error: None,
    }
}

async fn render_policy(
    state: &AppState,
    v: Visitor,
    sent: Option<&PolicyForm<'_>>,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let policy = match policy::get_config(&state.svc, &v.ctx, TAP_CONFIG_ID).await {
        Ok(p) => p,
        Err(e) => return error_page(state, &e),
    };
    let groups = match v.ctx.may(Action::ReadGroups) {
        true => groups::list(&state.svc, &v.ctx, &Query::all(MAX_TOP))
            .await
            .map(|page| page.items)
            .unwrap_or_default(),
        false => vec![],
    };
    let groups = groups
        .into_iter()
        .map(|g| (g.id.to_string(), g.display_name))
        .collect();
    let mut page = page_of(state, &v, &policy, groups, sent);
    page.message = message;
    page.error = error;
    v.page(render(&page))
}

async fn policy_page(State(state): State<SharedState>, v: Visitor) -> Response {
    render_policy(&state, v, None, None, None).await
}

/// The page's message for a number field that isn't one.
fn not_a_number(NotANumber(field): NotANumber) -> String {
    format!(
        "{} must be a whole number of {}.",
        label(field),
        unit(field)
    )
}

async fn save_policy(
    State(state): State<SharedState>,
    v: Visitor,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let sent = PolicyForm(&form);
    if let Some(refused) = v.refuses(&state, sent.field("csrf").unwrap_or("")) {
        return refused;
    }
    let patch = match sent.patch() {
        Ok(p) => p,
        Err(e) => return render_policy(&state, v, Some(&sent), None, Some(not_a_number(e))).await,
    };
    // The domain's rule, worded with this page's labels; the service checks it again.
    if let Ok(current) = policy::get(&state.svc, &v.ctx).await
        && let Err(violation) = current.merged(patch.clone()).check()
    {
        let message = page_message(&violation);
        return render_policy(&state, v, Some(&sent), None, Some(message)).await;
    }
    match policy::patch(&state.svc, &v.ctx, TAP_CONFIG_ID, patch).await {
        Ok(_) => render_policy(&state, v, None, Some("The policy was saved.".into()), None).await,
        Err(e) => render_policy(&state, v, Some(&sent), None, Some(e.public_message())).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_use_the_page_labels() {
        let v = PolicyViolation::OutOfRange {
            field: PolicyField::MinimumLifetime,
            value: 5,
            min: 10,
            max: 43_200,
        };
        assert_eq!(
            page_message(&v),
            "Minimum lifetime must be between 10 and 43,200 minutes."
        );
        assert_eq!(grouped(480), "480");
        assert_eq!(grouped(1_000_000), "1,000,000");
    }
}
