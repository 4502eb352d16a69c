//! Delivering a pass without showing it to the wrong person (SPEC §12): the code to the
//! issuer (the default), or a **one-time link** — the pass sealed under a fresh key that
//! exists only in the link, so the database alone can't open it — shown to the issuer or
//! mailed to the user or to their manager. The first open of the link shows the pass and
//! burns the link; a mail never carries the code.
//!
//! Mail is sent **before** the pass is stored: if the SMTP server refuses or can't be reached,
//! nothing changed (the user keeps any pass they had), and the issuer is told why. If storing
//! fails after a mail went out, that mail's link opens to "used or expired".

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tapd_store::{PassLink, UserRecord};
use time::{Duration, OffsetDateTime};

use super::audit::{self, Change};
use super::passes::{self, IssueInput, PassView, Subject};
use super::{Ctx, ServiceError, ServiceResult, Services};
use crate::keys::{open_under, random_bytes, random_key, seal_under};
use crate::mail::Mail;

/// How the pass reaches its user.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Delivery {
    /// The code, in the answer to the issuer (Graph's behaviour).
    #[default]
    Code,
    /// A one-time link, in the answer to the issuer.
    Link,
    /// A one-time link, mailed to the user (their `mail`, else their UPN).
    EmailToUser,
    /// A one-time link, mailed to the user's manager (the manager's `mail`, else UPN).
    EmailToManager,
}

impl Delivery {
    /// The names the API takes (`tapdDelivery`).
    pub const NAMES: [&'static str; 4] = ["code", "link", "emailToUser", "emailToManager"];

    pub fn parse(s: &str) -> Option<Delivery> {
        match s {
            "code" => Some(Delivery::Code),
            "link" => Some(Delivery::Link),
            "emailToUser" => Some(Delivery::EmailToUser),
            "emailToManager" => Some(Delivery::EmailToManager),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        Delivery::NAMES[self as usize]
    }
}

/// The longest a link lives: a day after the pass starts (or after issuance), or less when the
/// pass ends sooner.
pub const LINK_LIFETIME: Duration = Duration::hours(24);

/// A link made for the issuer to hand on.
pub struct OneTimeLink {
    pub url: String,
    pub expires_at: OffsetDateTime,
}

/// How an issued pass went out.
pub enum Outcome {
    Code(String),
    Link(OneTimeLink),
    /// Mailed to this address; the link ends at `expires_at`.
    Mailed {
        to: String,
        expires_at: OffsetDateTime,
    },
}

/// A pass just issued and delivered.
pub struct DeliveredPass {
    pub user: UserRecord,
    pub view: PassView,
    pub delivery: Delivery,
    pub outcome: Outcome,
}

/// Issues a pass (SPEC §5.1) and delivers it as asked. `public_url` is the base of the link.
pub async fn issue(
    svc: &Services,
    ctx: &Ctx,
    subject: Subject<'_>,
    input: IssueInput,
    delivery: Delivery,
    public_url: &str,
) -> ServiceResult<DeliveredPass> {
    if delivery == Delivery::Code {
        let issued = passes::issue(svc, ctx, subject, input).await?;
        return Ok(DeliveredPass {
            user: issued.user,
            view: issued.view,
            delivery,
            outcome: Outcome::Code(issued.code),
        });
    }
    let mut planned = passes::plan(svc, ctx, subject, input).await?;
    let recipient = recipient(svc, &planned.user, delivery).await?;
    let drawn = passes::draw(ctx, &planned.user, planned.plan);
    let (link, url) = seal_link(ctx, &planned.user, &drawn, public_url);
    planned
        .details
        .push(("tapdDelivery", delivery.as_str().into()));
    if let Some(to) = &recipient {
        planned.details.push(("tapdDeliveredTo", to.clone()));
        send_link(svc, &planned.user, to, &url, link.expires_at, delivery).await?;
    }
    passes::commit(
        svc,
        ctx,
        &planned.user,
        &drawn,
        Some(&link),
        passes::ISSUE_ACTIVITY,
        planned.details,
    )
    .await?;
    let reason =
        passes::usability(svc, &planned.policy, &planned.user, &drawn.pass, ctx.now).await?;
    let outcome = match recipient {
        Some(to) => Outcome::Mailed {
            to,
            expires_at: link.expires_at,
        },
        None => Outcome::Link(OneTimeLink {
            url,
            expires_at: link.expires_at,
        }),
    };
    Ok(DeliveredPass {
        user: planned.user,
        view: PassView {
            pass: drawn.pass,
            reason,
        },
        delivery,
        outcome,
    })
}

/// Whom the mail goes to, or `None` for a link shown to the issuer; refuses what can't be sent.
async fn recipient(
    svc: &Services,
    user: &UserRecord,
    delivery: Delivery,
) -> ServiceResult<Option<String>> {
    let whose = match delivery {
        Delivery::Code | Delivery::Link => return Ok(None),
        Delivery::EmailToUser => user.clone(),
        Delivery::EmailToManager => svc.store.manager_of(user.id).await?.ok_or_else(|| {
            ServiceError::bad_request(format!(
                "{} has no manager to mail the pass to. Set one with PUT /v1.0/users/{}/manager/$ref, or deliver the pass another way.",
                user.upn, user.id
            ))
        })?,
    };
    if svc.mailer.is_none() {
        return Err(ServiceError::bad_request(
            "Email delivery needs an SMTP server: set [smtp] in tapd's configuration, or deliver the pass as a code or a link.",
        ));
    }
    Ok(Some(address_of(&whose).to_string()))
}

/// Where a user's mail goes: their `mail` property, else their UPN.
pub fn address_of(user: &UserRecord) -> &str {
    user.mail
        .as_deref()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or(&user.upn)
}

/// What the sealed pass is bound to: its link, its pass and its user.
fn seal_context(link_id: &str, link: &PassLink) -> String {
    format!(
        "tapd-pass-link-v1:{link_id}:{}:{}",
        link.tap_id, link.user_id
    )
}

/// Seals the code under a fresh key and builds the link that carries the key.
fn seal_link(
    ctx: &Ctx,
    user: &UserRecord,
    drawn: &passes::Drawn,
    public_url: &str,
) -> (PassLink, String) {
    let id = URL_SAFE_NO_PAD.encode(random_bytes(16));
    let key = random_key();
    let pass = &drawn.pass;
    let end = pass.start + Duration::minutes(i64::from(pass.lifetime_minutes));
    let expires_at = end.min(pass.start.max(ctx.now) + LINK_LIFETIME);
    let mut link = PassLink {
        id: id.clone(),
        user_id: user.id,
        tap_id: pass.id,
        sealed: Vec::new(),
        created_at: ctx.now,
        expires_at,
    };
    link.sealed = seal_under(&key, drawn.code.as_bytes(), &seal_context(&id, &link));
    let url = format!("{public_url}/pass/{id}?k={}", URL_SAFE_NO_PAD.encode(key));
    (link, url)
}

async fn send_link(
    svc: &Services,
    user: &UserRecord,
    to: &str,
    url: &str,
    expires_at: OffsetDateTime,
    delivery: Delivery,
) -> ServiceResult<()> {
    let Some(mailer) = &svc.mailer else {
        return Err(ServiceError::internal("no mailer"));
    };
    let until = tapd_core::format_time(expires_at);
    let body = match delivery {
        Delivery::EmailToManager => format!(
            "A Temporary Access Pass was issued for {name} ({upn}).\n\n\
             Open this link to see it, once, and hand it to {name} in person or another safe way:\n\n\
             {url}\n\n\
             The link works once and ends at {until}. Do not forward this mail.\n",
            name = user.display_name,
            upn = user.upn,
        ),
        _ => format!(
            "A Temporary Access Pass was issued for you ({upn}).\n\n\
             Open this link to see it, once, then sign in with it:\n\n\
             {url}\n\n\
             The link works once and ends at {until}. Do not forward this mail.\n",
            upn = user.upn,
        ),
    };
    let mail = Mail {
        to: to.to_string(),
        subject: format!("Temporary Access Pass for {}", user.upn),
        body,
    };
    mailer.send(mail).await.map_err(|e| {
        tracing::warn!(error = %e, "a pass was not issued: its mail could not be sent");
        ServiceError::MailNotSent(format!(
            "The pass was not issued: the mail to {to} could not be sent ({e}). Nothing was changed."
        ))
    })
}

/// A pass revealed by its link, shown this once.
pub struct RevealedPass {
    pub code: String,
    pub upn: String,
    pub view: Option<PassView>,
}

/// The link opened to the end, or not at all: used, expired, replaced, deleted, or a wrong key
/// all look the same to whoever holds it.
#[derive(Debug, PartialEq, Eq)]
pub struct LinkGone;

/// Opens the link's sealed pass without burning it: whether "Show my pass" would work.
pub async fn peek(svc: &Services, ctx: &Ctx, id: &str, key: &str) -> ServiceResult<bool> {
    Ok(unseal(svc, ctx, id, key).await?.is_some())
}

async fn unseal(
    svc: &Services,
    ctx: &Ctx,
    id: &str,
    key: &str,
) -> ServiceResult<Option<(tapd_store::OpenedLink, String)>> {
    // Ids and keys are base64url of 16 and 32 bytes; anything else is no link at all.
    if id.len() > 64 || key.len() > 64 {
        return Ok(None);
    }
    let Some(key) = URL_SAFE_NO_PAD
        .decode(key)
        .ok()
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
    else {
        return Ok(None);
    };
    let Some(opened) = svc.store.pass_link(id, ctx.now).await? else {
        return Ok(None);
    };
    let context = seal_context(id, &opened.link);
    let code =
        open_under(&key, &opened.link.sealed, &context).and_then(|c| String::from_utf8(c).ok());
    Ok(code.map(|c| (opened, c)))
}

/// Opens the link: the pass, once. The link is deleted in the same step, so that of any number
/// of concurrent opens exactly one sees the pass. A wrong key deletes nothing.
pub async fn reveal(
    svc: &Services,
    ctx: &Ctx,
    id: &str,
    key: &str,
) -> ServiceResult<Result<RevealedPass, LinkGone>> {
    let Some((opened, code)) = unseal(svc, ctx, id, key).await? else {
        return Ok(Err(LinkGone));
    };
    let record = audit::change(
        ctx,
        Change {
            category: "UserManagement",
            activity: "Temporary access pass revealed by its one-time link",
            operation: "Update",
            targets: vec![audit::target_user(&opened.user)],
            details: vec![("methodId", opened.link.tap_id.to_string())],
        },
    );
    if !svc.store.burn_pass_link(id, &record).await? {
        return Ok(Err(LinkGone));
    }
    let view = passes::pass_of(svc, ctx, &opened.user)
        .await?
        .filter(|v| v.pass.id == opened.link.tap_id);
    Ok(Ok(RevealedPass {
        code,
        upn: opened.user.upn,
        view,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_names_round_trip() {
        for name in Delivery::NAMES {
            assert_eq!(Delivery::parse(name).map(Delivery::as_str), Some(name));
        }
        assert_eq!(Delivery::parse("EmailToUser"), None);
    }
}
