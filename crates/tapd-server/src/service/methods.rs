//! A user's authentication methods as a whole (password, pass, passkeys) and the passkeys
//! (SPEC §6.3): listed by whoever may read them, removed by the user or by helpdesk.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tapd_store::{PasskeyRecord, UserRecord};

use super::audit::{self, Change};
use super::passes::{self, MethodScope, PassView, Subject};
use super::{Ctx, ServiceError, ServiceResult, Services};

/// Every method of one user.
pub struct Methods {
    /// The user; `password_hash` tells whether a password is set.
    pub user: UserRecord,
    pub pass: Option<PassView>,
    pub passkeys: Vec<PasskeyRecord>,
}

pub async fn list(svc: &Services, ctx: &Ctx, subject: Subject<'_>) -> ServiceResult<Methods> {
    let user = passes::readable(svc, ctx, subject, MethodScope::Every).await?;
    let pass = passes::pass_of(svc, ctx, &user).await?;
    let passkeys = svc.store.passkeys_of(user.id).await?;
    Ok(Methods {
        user,
        pass,
        passkeys,
    })
}

/// A passkey's Graph id: its credential id in base64url.
pub fn passkey_id(p: &PasskeyRecord) -> String {
    URL_SAFE_NO_PAD.encode(&p.credential_id)
}

fn passkey_not_found(id: &str) -> ServiceError {
    ServiceError::not_found(format!(
        "FIDO2 authentication method '{id}' does not exist for this user."
    ))
}

pub async fn passkeys(
    svc: &Services,
    ctx: &Ctx,
    subject: Subject<'_>,
) -> ServiceResult<(UserRecord, Vec<PasskeyRecord>)> {
    let user = passes::readable(svc, ctx, subject, MethodScope::Every).await?;
    let passkeys = svc.store.passkeys_of(user.id).await?;
    Ok((user, passkeys))
}

pub async fn passkey(
    svc: &Services,
    ctx: &Ctx,
    subject: Subject<'_>,
    id: &str,
) -> ServiceResult<PasskeyRecord> {
    let user = passes::readable(svc, ctx, subject, MethodScope::Every).await?;
    let credential_id = URL_SAFE_NO_PAD
        .decode(id)
        .map_err(|_| passkey_not_found(id))?;
    match svc.store.passkey(&credential_id).await? {
        Some(p) if p.user_id == user.id => Ok(p),
        _ => Err(passkey_not_found(id)),
    }
}

/// Removing another user's passkey takes the same role as managing their pass.
pub async fn delete_passkey(
    svc: &Services,
    ctx: &Ctx,
    subject: Subject<'_>,
    id: &str,
) -> ServiceResult<()> {
    let user = passes::deletable(svc, ctx, subject, MethodScope::Every).await?;
    let credential_id = URL_SAFE_NO_PAD
        .decode(id)
        .map_err(|_| passkey_not_found(id))?;
    let activity = if ctx.user_id() == Some(user.id) {
        "User deleted security info"
    } else {
        "Admin deleted security info"
    };
    let record = audit::change(
        ctx,
        Change {
            category: "UserManagement",
            activity,
            operation: "Delete",
            targets: vec![audit::target_user(&user)],
            details: vec![
                ("methodType", "Passkey".into()),
                ("methodId", id.to_string()),
            ],
        },
    );
    if !svc
        .store
        .delete_passkey(user.id, &credential_id, &record)
        .await?
    {
        return Err(passkey_not_found(id));
    }
    Ok(())
}
