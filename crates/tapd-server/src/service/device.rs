//! The device authorization grant (RFC 8628): a device (the CLI on a headless machine) asks
//! for a device code and a user code; the person signs in on `/device` in any browser, types the
//! user code, sees which client asks and approves or denies; the device polls the token
//! endpoint until then. Both codes are secrets from the OS CSPRNG, stored as keyed hashes; a
//! person's wrong user codes are counted in the database (`tapd_core::USER_CODE_THROTTLE`), and
//! the tokens are those of the person's session — capped at the pass it was opened with.

use tapd_core::{
    DEVICE_CODE_TTL, DEVICE_POLL_INTERVAL, Poll, Throttle, USER_CODE_THROTTLE, normalize_user_code,
    user_code_from_random_bytes,
};
use tapd_store::{AppRecord, DeviceApproval, DeviceCode, Subject, WebSession};
use time::Duration;

use super::oauth::{
    self, Client, Granted, Refusal, enabled_user, has_scope, invalid_grant, live_pass, refuse,
};
use super::sessions::{Issue, Sessions, new_family};
use super::{Ctx, ServiceError, ServiceResult, Services, audit};
use crate::keys::{new_stored_token, random_bytes};

/// What a device is told to show the person (RFC 8628 §3.2).
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub expires_in: Duration,
    pub interval: Duration,
}

/// The keyed hash a user code is known by (apart from tokens' hashes by its prefix).
fn user_code_hash(svc: &Services, canonical: &str) -> String {
    svc.keys.token_hash(&format!("user-code:{canonical}"))
}

fn new_user_code() -> String {
    loop {
        // Rejection sampling drops about one byte in sixteen; 32 bytes nearly always suffice.
        if let Some(code) = user_code_from_random_bytes(&random_bytes(32)) {
            return code;
        }
    }
}

/// Scopes a device may ask for: what an authorization request may, single-space separated.
fn checked_scope(scope: Option<&str>) -> ServiceResult<String> {
    let scope = scope
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            oauth::invalid_request(
                "scope is required, for example 'openid profile offline_access'.",
            )
        })?;
    if scope.len() > 1024 {
        return Err(oauth::invalid_request("scope is too long."));
    }
    Ok(scope)
}

/// Starts a device authorization for `client` (a public client, or a confidential one that
/// authenticated).
pub async fn start(
    svc: &Services,
    ctx: &Ctx,
    client: &Client,
    scope: Option<&str>,
) -> ServiceResult<DeviceAuthorization> {
    if oauth::is_confidential(&client.app) && !client.authenticated {
        return Err(refuse(
            Refusal::InvalidClient,
            "A confidential client must authenticate with its secret.",
        ));
    }
    let scope = checked_scope(scope)?;
    let device_code = new_stored_token();
    let user_code = new_user_code();
    let record = DeviceCode {
        device_code_hash: svc.keys.token_hash(&device_code),
        user_code_hash: user_code_hash(svc, &user_code),
        client_id: client.app.client_id,
        scope,
        created_at: ctx.now,
        expires_at: ctx.now + DEVICE_CODE_TTL,
        interval: DEVICE_POLL_INTERVAL,
        last_poll_at: None,
        approved_at: None,
        denied_at: None,
        redeemed_at: None,
        approval: None,
    };
    svc.store.put_device_code(&record).await?;
    Ok(DeviceAuthorization {
        device_code,
        user_code,
        expires_in: DEVICE_CODE_TTL,
        interval: DEVICE_POLL_INTERVAL,
    })
}

/// A pending request the person's user code names: who asks, and for what.
pub struct Pending {
    pub user_code: String,
    pub app: AppRecord,
    pub scope: String,
}

/// Why a typed user code leads nowhere.
#[derive(Debug, PartialEq, Eq)]
pub enum CodeRefusal {
    /// Not eight letters of the alphabet (not counted as a guess).
    Malformed,
    /// No pending request has it (or it expired, or was decided already).
    Unknown,
    /// Too many wrong codes in a row: wait this many seconds.
    Throttled(u64),
}

/// The pending request `typed` names, for the signed-in person `ctx` names. Every wrong code
/// counts against the person; past the limit, codes are not looked up until the cool-down has
/// passed.
pub async fn pending(
    svc: &Services,
    ctx: &Ctx,
    typed: &str,
) -> ServiceResult<Result<Pending, CodeRefusal>> {
    let user = ctx.user()?;
    let Some(canonical) = normalize_user_code(typed) else {
        return Ok(Err(CodeRefusal::Malformed));
    };
    let subject = Subject::UserCodes(user.id);
    let run = svc.store.failure_run(subject).await?;
    if let Some(until) = USER_CODE_THROTTLE.refused_until(run.as_ref(), ctx.now) {
        return Ok(Err(CodeRefusal::Throttled(Throttle::retry_after(
            until, ctx.now,
        ))));
    }
    let found = svc
        .store
        .device_code_by_user_code(&user_code_hash(svc, &canonical))
        .await?
        .filter(|d| {
            matches!(
                d.state().poll(ctx.now),
                Poll::Pending | Poll::SlowDown { .. }
            )
        });
    let app = match &found {
        // Another tenant's app is no business of this person's: its codes are unknown here.
        Some(d) => oauth::registered_app(svc, &d.client_id.to_string())
            .await?
            .filter(|app| oauth::serves_tenant(app, user.tenant)),
        None => None,
    };
    match (found, app) {
        (Some(d), Some(app)) => {
            if run.is_some() {
                svc.store.clear_failures(subject).await?;
            }
            Ok(Ok(Pending {
                user_code: canonical,
                app,
                scope: d.scope,
            }))
        }
        _ => {
            svc.store.record_failure(subject, ctx.now).await?;
            Ok(Err(CodeRefusal::Unknown))
        }
    }
}

/// The person's answer to a pending request: approve with their session, or deny. False when
/// the request is no longer pending (decided, expired, gone).
pub async fn decide(
    svc: &Services,
    ctx: &Ctx,
    pending: &Pending,
    session: &WebSession,
    approve: bool,
) -> ServiceResult<bool> {
    let user = ctx.user()?;
    let approval = DeviceApproval {
        user_id: user.id,
        tap_id: session.tap_id,
        amr: session.amr.clone(),
        auth_time: session.auth_time,
    };
    let hash = user_code_hash(svc, &pending.user_code);
    let app = &pending.app;
    let record = audit::change(
        ctx,
        audit::Change {
            category: "ApplicationManagement",
            activity: if approve {
                "User approved a device sign-in"
            } else {
                "User denied a device sign-in"
            },
            operation: if approve { "Add" } else { "Other" },
            targets: vec![
                audit::target_user(user),
                audit::target("Application", app.client_id, &app.display_name),
            ],
            details: vec![("scope", pending.scope.clone())],
        },
    );
    Ok(svc
        .store
        .decide_device_code(&hash, approve.then_some(&approval), ctx.now, &record)
        .await?)
}

/// The token endpoint's device-code grant: tokens once the person has approved, else RFC
/// 8628's answer (pending, slow down, denied, expired). A device code is redeemed once.
pub async fn poll(
    svc: &Services,
    sessions: &Sessions,
    ctx: &Ctx,
    client: &Client,
    device_code: Option<&str>,
) -> ServiceResult<Granted> {
    let device_code = device_code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| oauth::invalid_request("device_code is required."))?;
    let hash = svc.keys.token_hash(device_code);
    let Some(found) = svc.store.device_code(&hash).await? else {
        return Err(invalid_grant("The device code is invalid."));
    };
    if found.client_id != client.app.client_id {
        return Err(invalid_grant(
            "The device code was issued to another client.",
        ));
    }
    if oauth::is_confidential(&client.app) && !client.authenticated {
        return Err(refuse(
            Refusal::InvalidClient,
            "A confidential client must authenticate with its secret.",
        ));
    }
    let pending = "The person has not approved the request yet: keep polling at the interval.";
    match found.state().poll(ctx.now) {
        Poll::Redeemed => Err(invalid_grant(
            "The device code was already redeemed; start a new sign-in.",
        )),
        Poll::Expired => Err(refuse(
            Refusal::ExpiredToken,
            "The device code has expired (codes last 15 minutes); start a new sign-in.",
        )),
        Poll::Denied => Err(refuse(
            Refusal::AccessDenied,
            "The person denied the sign-in request.",
        )),
        Poll::Pending => {
            svc.store
                .record_device_poll(&hash, ctx.now, found.interval)
                .await?;
            Err(refuse(Refusal::AuthorizationPending, pending))
        }
        Poll::SlowDown { interval } => {
            svc.store
                .record_device_poll(&hash, ctx.now, interval)
                .await?;
            Err(refuse(
                Refusal::SlowDown,
                format!(
                    "Polling too fast: wait {} seconds between requests.",
                    interval.whole_seconds()
                ),
            ))
        }
        Poll::Approved => redeem(svc, sessions, ctx, client, &found).await,
    }
}

async fn redeem(
    svc: &Services,
    sessions: &Sessions,
    ctx: &Ctx,
    client: &Client,
    found: &DeviceCode,
) -> ServiceResult<Granted> {
    let Some(approval) = &found.approval else {
        return Err(ServiceError::internal(
            "an approved device code without its user",
        ));
    };
    if !svc
        .store
        .redeem_device_code(&found.device_code_hash, ctx.now)
        .await?
    {
        return Err(invalid_grant(
            "The device code was already redeemed; start a new sign-in.",
        ));
    }
    let user = enabled_user(svc, approval.user_id).await?;
    let pass = live_pass(svc, user.id, approval.tap_id, ctx.now).await?;
    let family = new_family(ctx.now);
    let tokens = sessions.mint(
        svc,
        ctx,
        &Issue {
            user: &user,
            amr: &approval.amr,
            tap: pass.as_ref(),
            client_id: Some(client.app.client_id),
            scope: &found.scope,
            nonce: None,
            auth_time: approval.auth_time,
            family_id: &family,
            session_end: None,
            with_refresh: has_scope(&found.scope, "offline_access"),
            with_id_token: has_scope(&found.scope, "openid"),
        },
    );
    if let Some((_, stored)) = &tokens.refresh {
        svc.store.put_refresh(stored).await?;
    }
    Ok(Granted {
        tokens,
        scope: found.scope.clone(),
    })
}
