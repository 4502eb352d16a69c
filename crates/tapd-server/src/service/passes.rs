//! The Temporary Access Pass (SPEC §5): issue, read, delete, for another user (by role and
//! target) or oneself. The code is drawn here, returned once, and stored only as a keyed hash.

use tapd_core::{
    Action, IssueRequest, PolicyState, TapPass, TapPolicy, UsabilityReason, plan_issue,
};
use tapd_store::{ManagedUser, UserRecord};
use time::OffsetDateTime;
use uuid::Uuid;

use super::audit::{self, Change};
use super::{Ctx, ServiceError, ServiceResult, Services};
use crate::keys::new_code;

/// Whose methods an operation is about.
#[derive(Clone, Copy)]
pub enum Subject<'a> {
    /// The signed-in user (`/me`).
    Me,
    /// A user by id or UPN (`/users/{id}`).
    User(&'a str),
}

/// Which of the subject's methods an operation reads or changes. Graph lets an application hold
/// permissions over the pass alone (`UserAuthMethod-TAP.*`) or over every method; users' roles
/// reach both alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodScope {
    /// The Temporary Access Pass.
    Pass,
    /// Every method (the list of all, passkeys).
    Every,
}

impl MethodScope {
    fn read(self, target: Uuid) -> Action {
        match self {
            MethodScope::Pass => Action::ReadTap { target },
            MethodScope::Every => Action::ReadMethods { target },
        }
    }

    fn manage(self, target: Uuid, target_is_admin: bool) -> Action {
        match self {
            MethodScope::Pass => Action::ManageTap {
                target,
                target_is_admin,
            },
            MethodScope::Every => Action::ManageMethods {
                target,
                target_is_admin,
            },
        }
    }
}

/// A pass with its usability now (SPEC §5.3).
pub struct PassView {
    pub pass: TapPass,
    pub reason: UsabilityReason,
}

/// A pass just issued: its code exists only here.
pub struct IssuedPass {
    pub user: UserRecord,
    pub view: PassView,
    pub code: String,
}

/// What an issuer asks for; everything optional (SPEC §5.1).
#[derive(Default)]
pub struct IssueInput {
    pub start: Option<OffsetDateTime>,
    /// As sent; any out-of-range number gets the policy's range message.
    pub lifetime_minutes: Option<i64>,
    pub is_usable_once: Option<bool>,
}

/// Resolves the subject and checks the caller may read those of its methods. An unknown user
/// is a 404 only for callers who could read some user's methods; others learn nothing (403).
pub async fn readable(
    svc: &Services,
    ctx: &Ctx,
    subject: Subject<'_>,
    scope: MethodScope,
) -> ServiceResult<UserRecord> {
    let id = match subject {
        Subject::Me => return ctx.user().cloned(),
        Subject::User(id) => id,
    };
    match svc.store.find_user(ctx.tenant, id).await? {
        Some(user) => {
            ctx.authorize(scope.read(user.id))?;
            Ok(user)
        }
        None => {
            ctx.authorize(scope.read(Uuid::nil()))?;
            Err(ServiceError::user_not_found(id))
        }
    }
}

/// Resolves the subject and checks the caller may delete those of its methods: helpdesk by
/// role and target, oneself one's own.
pub async fn deletable(
    svc: &Services,
    ctx: &Ctx,
    subject: Subject<'_>,
    scope: MethodScope,
) -> ServiceResult<UserRecord> {
    match subject {
        Subject::Me => {
            let user = ctx.user()?.clone();
            ctx.authorize(Action::DeleteOwnMethod)?;
            Ok(user)
        }
        Subject::User(id) => {
            let managed = manageable(svc, ctx, Subject::User(id), scope).await?;
            Ok(managed.user)
        }
    }
}

/// Resolves the subject and checks the caller may issue or delete its pass (or other methods);
/// answers the user with their tenant's policy.
async fn manageable(
    svc: &Services,
    ctx: &Ctx,
    subject: Subject<'_>,
    scope: MethodScope,
) -> ServiceResult<ManagedUser> {
    let id = match subject {
        // Nobody issues themselves a pass: this refuses every role.
        Subject::Me => {
            let user = ctx.user()?.clone();
            ctx.authorize(scope.manage(user.id, false))?;
            let policy = svc.store.policy(ctx.tenant).await?;
            return Ok(ManagedUser {
                user,
                holds_role: false,
                policy,
            });
        }
        Subject::User(id) => id,
    };
    match svc.store.managed_user(ctx.tenant, id).await? {
        Some(managed) => {
            ctx.authorize(scope.manage(managed.user.id, managed.holds_role))?;
            Ok(managed)
        }
        None => {
            ctx.authorize(scope.manage(Uuid::nil(), false))?;
            Err(ServiceError::user_not_found(id))
        }
    }
}

/// SPEC §5.3 for `user`'s pass, now.
pub async fn usability(
    svc: &Services,
    policy: &TapPolicy,
    user: &UserRecord,
    pass: &TapPass,
    now: OffsetDateTime,
) -> ServiceResult<UsabilityReason> {
    let in_scope = svc.store.in_scope(policy, user.id).await?;
    Ok(pass.usability(policy, in_scope, now))
}

/// The user's pass, if any, with its usability now.
pub async fn pass_of(
    svc: &Services,
    ctx: &Ctx,
    user: &UserRecord,
) -> ServiceResult<Option<PassView>> {
    let Some((pass, _)) = svc.store.tap_of(user.id).await? else {
        return Ok(None);
    };
    let policy = svc.store.policy(ctx.tenant).await?;
    let reason = usability(svc, &policy, user, &pass, ctx.now).await?;
    Ok(Some(PassView { pass, reason }))
}

/// `GET …/temporaryAccessPassMethods`: zero or one pass.
pub async fn list(
    svc: &Services,
    ctx: &Ctx,
    subject: Subject<'_>,
) -> ServiceResult<(UserRecord, Option<PassView>)> {
    let user = readable(svc, ctx, subject, MethodScope::Pass).await?;
    let pass = pass_of(svc, ctx, &user).await?;
    Ok((user, pass))
}

fn pass_not_found(id: &str) -> ServiceError {
    ServiceError::not_found(format!(
        "Temporary Access Pass '{id}' does not exist for this user."
    ))
}

pub async fn get(
    svc: &Services,
    ctx: &Ctx,
    subject: Subject<'_>,
    id: &str,
) -> ServiceResult<PassView> {
    let (_, pass) = list(svc, ctx, subject).await?;
    let wanted = Uuid::parse_str(id).map_err(|_| pass_not_found(id))?;
    pass.filter(|v| v.pass.id == wanted)
        .ok_or_else(|| pass_not_found(id))
}

/// What an issuing form starts from: the policy's defaults.
pub struct IssueDefaults {
    pub lifetime_minutes: u32,
    pub is_usable_once: bool,
}

/// The defaults for a caller who may issue `subject` a pass (refused otherwise).
pub async fn issue_defaults(
    svc: &Services,
    ctx: &Ctx,
    subject: Subject<'_>,
) -> ServiceResult<IssueDefaults> {
    let ManagedUser { policy, .. } = manageable(svc, ctx, subject, MethodScope::Pass).await?;
    Ok(IssueDefaults {
        lifetime_minutes: policy.default_lifetime_in_minutes,
        is_usable_once: policy.is_usable_once,
    })
}

/// Issues a pass, replacing the user's old one (SPEC §5.1).
pub async fn issue(
    svc: &Services,
    ctx: &Ctx,
    subject: Subject<'_>,
    input: IssueInput,
) -> ServiceResult<IssuedPass> {
    let planned = plan(svc, ctx, subject, input).await?;
    let drawn = draw(ctx, &planned.user, planned.plan);
    commit(
        svc,
        ctx,
        &planned.user,
        &drawn,
        None,
        ISSUE_ACTIVITY,
        planned.details,
    )
    .await?;
    let reason = usability(svc, &planned.policy, &planned.user, &drawn.pass, ctx.now).await?;
    Ok(IssuedPass {
        user: planned.user,
        view: PassView {
            pass: drawn.pass,
            reason,
        },
        code: drawn.code,
    })
}

pub(super) const ISSUE_ACTIVITY: &str = "Admin registered temporary access pass method for user";

/// A pass an issuer may issue, checked and planned but not drawn yet.
pub(super) struct Planned {
    pub user: UserRecord,
    pub policy: TapPolicy,
    pub plan: tapd_core::IssuePlan,
    /// What the audit record says about it.
    pub details: Vec<(&'static str, String)>,
}

/// Authorizes the caller for `subject` and plans the pass under the policy (SPEC §5.1).
pub(super) async fn plan(
    svc: &Services,
    ctx: &Ctx,
    subject: Subject<'_>,
    input: IssueInput,
) -> ServiceResult<Planned> {
    let ManagedUser { user, policy, .. } = manageable(svc, ctx, subject, MethodScope::Pass).await?;
    let lifetime = input
        .lifetime_minutes
        .map(|m| u32::try_from(m).unwrap_or(if m < 0 { 0 } else { u32::MAX }));
    let request = IssueRequest {
        start: input.start,
        lifetime_minutes: lifetime,
        is_usable_once: input.is_usable_once,
    };
    let plan = plan_issue(&policy, &request, user.is_external, ctx.now)?;
    let details = vec![
        ("startDateTime", tapd_core::format_time(plan.start)),
        ("lifetimeInMinutes", plan.lifetime_minutes.to_string()),
        ("isUsableOnce", plan.is_usable_once.to_string()),
    ];
    Ok(Planned {
        user,
        policy,
        plan,
        details,
    })
}

/// A one-time pass the operator issues at the database (first start, `tapd recover`): issued
/// even while the method is disabled, usable once the policy allows it again.
pub async fn issue_by_operator(
    svc: &Services,
    ctx: &Ctx,
    user: &UserRecord,
    why: &str,
) -> ServiceResult<(String, TapPass)> {
    if user.is_external {
        return Err(ServiceError::bad_request(
            tapd_core::ISSUE_EXTERNAL_GUEST_MESSAGE,
        ));
    }
    let mut policy = svc.store.policy(ctx.tenant).await?;
    policy.state = PolicyState::Enabled;
    let request = IssueRequest {
        is_usable_once: Some(true),
        ..IssueRequest::default()
    };
    let plan = plan_issue(&policy, &request, false, ctx.now)?;
    let activity = "Operator registered temporary access pass method for user";
    write_pass(
        svc,
        ctx,
        user,
        plan,
        activity,
        vec![("detail", why.to_string())],
    )
    .await
}

/// Draws the code and stores the pass (hashed code) with its audit record, in one commit.
async fn write_pass(
    svc: &Services,
    ctx: &Ctx,
    user: &UserRecord,
    plan: tapd_core::IssuePlan,
    activity: &str,
    details: Vec<(&str, String)>,
) -> ServiceResult<(String, TapPass)> {
    let drawn = draw(ctx, user, plan);
    commit(svc, ctx, user, &drawn, None, activity, details).await?;
    Ok((drawn.code, drawn.pass))
}

/// A pass with its code, drawn but not stored yet.
pub(super) struct Drawn {
    pub code: String,
    pub pass: TapPass,
}

/// Draws the code of a planned pass from the OS CSPRNG.
pub(super) fn draw(ctx: &Ctx, user: &UserRecord, plan: tapd_core::IssuePlan) -> Drawn {
    let code = new_code(plan.length);
    let pass = plan.into_pass(super::new_id(ctx.now), user.id, ctx.now);
    Drawn { code, pass }
}

/// Stores a drawn pass (hashed code), replacing the user's pass and its link, with its own
/// one-time link if it has one and its audit record, in one commit.
pub(super) async fn commit(
    svc: &Services,
    ctx: &Ctx,
    user: &UserRecord,
    drawn: &Drawn,
    link: Option<&tapd_store::PassLink>,
    activity: &str,
    details: Vec<(&str, String)>,
) -> ServiceResult<()> {
    let record = audit::change(
        ctx,
        Change {
            category: "UserManagement",
            activity,
            operation: "Add",
            targets: vec![audit::target_user(user)],
            details,
        },
    );
    svc.store
        .replace_tap_with_link(&drawn.pass, &svc.keys.hash_code(&drawn.code), link, &record)
        .await?;
    crate::telemetry::pass_issued();
    Ok(())
}

/// Deletes the subject's pass `id`; sessions it opened end with it.
pub async fn delete(
    svc: &Services,
    ctx: &Ctx,
    subject: Subject<'_>,
    id: &str,
) -> ServiceResult<()> {
    let user = deletable(svc, ctx, subject, MethodScope::Pass).await?;
    let pass_id = Uuid::parse_str(id).map_err(|_| pass_not_found(id))?;
    let record = audit::change(
        ctx,
        Change {
            category: "UserManagement",
            activity: "Admin deleted temporary access pass method for user",
            operation: "Delete",
            targets: vec![audit::target_user(&user)],
            details: vec![("methodId", pass_id.to_string())],
        },
    );
    if !svc.store.delete_tap(user.id, pass_id, &record).await? {
        return Err(pass_not_found(id));
    }
    Ok(())
}
