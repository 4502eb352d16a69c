//! The admin center's organization page: the tenant's domains (add, make default, remove), a
//! domain's federation with an OpenID Connect provider, and the cross-tenant access partners.
//! One form action per change, each calling the service as the visitor.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use tapd_core::{Action, MfaBehavior};

use crate::service::ServiceResult;
use crate::service::domains::{self, DomainChanges, NewDomain};
use crate::service::federation::{self, FederationBody};
use crate::service::partners::{self, InboundTrust, PartnerBody};
use crate::state::{AppState, SharedState};
use crate::web::render::{error_page, render};
use crate::web::session::Visitor;
use crate::web::view::Nav;

pub fn routes() -> Router<SharedState> {
    Router::new().route("/admin/organization", get(organization_page).post(change))
}

struct DomainRow {
    name: String,
    authentication: &'static str,
    is_default: bool,
    /// The provider, for a federated domain: (name, issuer, MFA behavior).
    provider: Option<(String, String, &'static str)>,
}

struct PartnerRow {
    tenant: String,
    trusted: bool,
}

#[derive(Template)]
#[template(path = "admin_organization.html")]
struct OrganizationPage {
    nav: Nav,
    tenant: String,
    domains: Vec<DomainRow>,
    partners: Vec<PartnerRow>,
    behaviors: Vec<&'static str>,
    redirect_uri: String,
    can_change: bool,
    can_read_partners: bool,
    can_change_partners: bool,
    message: Option<String>,
    error: Option<String>,
}

async fn render_page(
    state: &AppState,
    v: Visitor,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let found = match domains::list(&state.svc, &v.ctx).await {
        Ok(d) => d,
        Err(e) => return error_page(state, &e),
    };
    let mut rows = Vec::new();
    for d in found {
        let provider = match federation::list(&state.svc, &v.ctx, &d.name).await {
            Ok(f) => f.first().map(|f| {
                (
                    f.display_name.clone(),
                    f.issuer_uri.clone(),
                    f.mfa_behavior.as_str(),
                )
            }),
            Err(e) => return error_page(state, &e),
        };
        rows.push(DomainRow {
            authentication: d.authentication.as_str(),
            is_default: d.is_default,
            name: d.name,
            provider,
        });
    }
    let can_read_partners = v.ctx.may(Action::ReadCrossTenantAccess);
    let partners = match can_read_partners {
        true => match partners::list(&state.svc, &v.ctx).await {
            Ok(p) => p,
            Err(e) => return error_page(state, &e),
        },
        false => Vec::new(),
    };
    let page = OrganizationPage {
        nav: Nav::of(state, &v, "organization"),
        tenant: v.ctx.tenant.to_string(),
        domains: rows,
        partners: partners
            .into_iter()
            .map(|p| PartnerRow {
                tenant: p.partner.to_string(),
                trusted: p.is_mfa_accepted,
            })
            .collect(),
        behaviors: MfaBehavior::ALL.iter().map(|b| b.as_str()).collect(),
        redirect_uri: federation::signin::redirect_uri(&state.public_url),
        can_change: v.ctx.may(Action::WriteDomains),
        can_read_partners,
        can_change_partners: v.ctx.may(Action::WriteCrossTenantAccess),
        message,
        error,
    };
    v.page(render(&page))
}

async fn organization_page(State(state): State<SharedState>, v: Visitor) -> Response {
    render_page(&state, v, None, None).await
}

#[derive(Deserialize)]
struct ChangeForm {
    csrf: String,
    action: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    mfa: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    trust: Option<String>,
}

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

async fn change(
    State(state): State<SharedState>,
    v: Visitor,
    Form(form): Form<ChangeForm>,
) -> Response {
    if let Some(refused) = v.refuses(&state, &form.csrf) {
        return refused;
    }
    match apply(&state, &v, &form).await {
        Ok(done) => render_page(&state, v, Some(done), None).await,
        Err(e) => render_page(&state, v, None, Some(e.public_message())).await,
    }
}

/// Makes the change a form asks for; answers what to tell the visitor.
async fn apply(state: &AppState, v: &Visitor, f: &ChangeForm) -> ServiceResult<String> {
    let (svc, ctx) = (&state.svc, &v.ctx);
    let domain = f.domain.trim();
    Ok(match f.action.as_str() {
        "add-domain" => {
            domains::create(
                svc,
                ctx,
                NewDomain {
                    id: domain.to_string(),
                },
            )
            .await?;
            format!("Added {domain}.")
        }
        "default-domain" => {
            let changes = DomainChanges {
                is_default: Some(true),
                authentication_type: None,
            };
            domains::update(svc, ctx, domain, changes).await?;
            format!("{domain} is the default domain now.")
        }
        "remove-domain" => {
            domains::delete(svc, ctx, domain).await?;
            format!("Removed {domain}.")
        }
        "federate" => {
            let body = FederationBody {
                display_name: some(&f.display_name),
                issuer_uri: some(&f.issuer),
                tapd_client_id: some(&f.client_id),
                tapd_client_secret: some(&f.client_secret),
                federated_idp_mfa_behavior: some(&f.mfa),
                ..FederationBody::default()
            };
            match federation::list(svc, ctx, domain).await?.first() {
                Some(existing) => {
                    let id = existing.id.to_string();
                    federation::update(svc, ctx, domain, &id, body).await?;
                }
                None => {
                    federation::create(svc, ctx, domain, body).await?;
                }
            }
            format!("{domain}'s users now sign in at {}.", f.display_name.trim())
        }
        "unfederate" => {
            if let Some(existing) = federation::list(svc, ctx, domain).await?.first() {
                federation::delete(svc, ctx, domain, &existing.id.to_string()).await?;
            }
            format!("{domain}'s users sign in with tapd again.")
        }
        "add-partner" | "trust-partner" => {
            let body = PartnerBody {
                tenant_id: some(&f.tenant),
                inbound_trust: Some(InboundTrust {
                    is_mfa_accepted: Some(f.trust.is_some()),
                    ..InboundTrust::default()
                }),
                is_service_provider: None,
            };
            let tenant = f.tenant.trim();
            if f.action == "add-partner" {
                partners::create(svc, ctx, body).await?;
            } else {
                partners::update(svc, ctx, tenant, body).await?;
            }
            match f.trust.is_some() {
                true => format!("Sign-ins of {tenant} are trusted."),
                false => format!("Sign-ins of {tenant} are not trusted."),
            }
        }
        "remove-partner" => {
            partners::delete(svc, ctx, f.tenant.trim()).await?;
            format!("Removed the partner {}.", f.tenant.trim())
        }
        _ => return Err(crate::service::ServiceError::bad_request("Unknown change.")),
    })
}
