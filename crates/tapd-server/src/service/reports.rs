//! The authentication methods registration report (Graph's `userRegistrationDetails`): who has
//! registered what, and who is passwordless-capable under the FIDO2 configuration — the list of
//! people who still need onboarding. Read with the audit-log permission, as Graph requires.

use tapd_core::{Action, RegistrationFacts, RegistrationQuery, RegistrationStatus};
use tapd_store::{RegistrationFilter, RegistrationRow, UserRecord, UserType};
use time::OffsetDateTime;

use super::fido2::groups_for;
use super::{Ctx, ServiceResult, Services};

/// How many users one store read takes while a page is being filled.
const BATCH: i64 = 200;

/// One user's line of the report.
pub struct RegistrationDetails {
    pub user: UserRecord,
    pub is_admin: bool,
    pub has_tap: bool,
    pub passkeys: usize,
    pub status: RegistrationStatus,
    pub last_updated: OffsetDateTime,
}

pub struct RegistrationPage {
    pub rows: Vec<RegistrationDetails>,
    /// Where the next page starts (a lower-cased UPN), when there is one.
    pub next: Option<String>,
}

/// Up to `top` users ordered by UPN after `after`, as `query` narrows them. What SQL can
/// decide (user type, holding a passkey) is read there; capability under the policy is core's.
pub async fn registration_details(
    svc: &Services,
    ctx: &Ctx,
    query: &RegistrationQuery,
    after: Option<&str>,
    top: i64,
) -> ServiceResult<RegistrationPage> {
    ctx.authorize(Action::ReadAudit)?;
    let policy = svc.store.fido2_policy(ctx.tenant).await?;
    // Capable ⇒ holds a passkey; without restrictions that exclude anyone, also the converse.
    let exact = policy.covers_everyone() && !policy.key_restrictions.is_enforced;
    let filter = RegistrationFilter {
        user_type: query
            .guests
            .map(|g| if g { UserType::Guest } else { UserType::Member }),
        has_passkey: match query.passwordless_capable {
            Some(false) if !exact => None,
            other => other,
        },
    };
    let wanted = usize::try_from(top).unwrap_or(0) + 1;
    let mut rows = Vec::new();
    let mut cursor = after.unwrap_or("").to_owned();
    let size = BATCH.max(top + 1);
    while rows.len() < wanted {
        let batch = svc
            .store
            .registration_rows(ctx.tenant, &filter, &cursor, size)
            .await?;
        let Some(last) = batch.last() else { break };
        cursor = last.user.upn.to_lowercase();
        let full = i64::try_from(batch.len()).is_ok_and(|n| n >= size);
        for row in batch {
            let details = details(svc, &policy, row).await?;
            if query.admits(&details.facts()) {
                rows.push(details);
            }
        }
        if !full {
            break;
        }
    }
    let next = (rows.len() >= wanted).then(|| {
        rows.truncate(wanted - 1);
        rows.last().map(|r| r.user.upn.to_lowercase())
    });
    Ok(RegistrationPage {
        rows,
        next: next.flatten(),
    })
}

impl RegistrationDetails {
    /// The line as a `$filter` reads it.
    pub fn facts(&self) -> RegistrationFacts {
        RegistrationFacts {
            id: self.user.id,
            user_principal_name: self.user.upn.clone(),
            user_display_name: self.user.display_name.clone(),
            guest: self.user.user_type == UserType::Guest,
            is_admin: self.is_admin,
            status: self.status.clone(),
            last_updated: self.last_updated,
        }
    }
}

async fn details(
    svc: &Services,
    policy: &tapd_core::Fido2Policy,
    row: RegistrationRow,
) -> ServiceResult<RegistrationDetails> {
    let groups = groups_for(svc, policy, row.user.id).await?;
    let status =
        policy.registration_status(&row.user.id.to_string(), &groups, &row.passkey_aaguids);
    Ok(RegistrationDetails {
        is_admin: row.is_admin,
        has_tap: row.has_tap,
        passkeys: row.passkey_aaguids.len(),
        status,
        last_updated: row.last_updated,
        user: row.user,
    })
}
