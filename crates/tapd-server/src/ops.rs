//! Operations that run straight against the database, without a signed-in caller: the first
//! start, `tapd recover` and `tapd app create`. The server and the CLI share them.

use serde_json::json;
use tapd_core::{
    IssueRequest, MAX_REDIRECT_URIS, Permission, Platform, TapPass, TapPolicy, UsabilityReason,
    plan_issue, validate_redirect_uri,
};
use tapd_store::{AppRecord, AppSecret, AuditRecord, Store, Tenant, UserRecord, UserType};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::graph::format_time;
use crate::secrets::{Keys, new_code, new_opaque_token};

/// What the first start prints, once.
pub struct Bootstrapped {
    pub upn: String,
    pub code: String,
    pub expires_at: OffsetDateTime,
}

/// On an empty database: the directory, the default policy, `admin@<domain>` as Global
/// Administrator with a one-time pass. Returns `None` when the directory already exists (also
/// when another replica created it first).
pub async fn bootstrap(
    store: &Store,
    keys: &Keys,
    domain: &str,
    now: OffsetDateTime,
) -> anyhow::Result<Option<Bootstrapped>> {
    if store.tenant().await?.is_some() {
        return Ok(None);
    }
    let tenant = Tenant {
        id: Uuid::new_v4(),
        default_domain: domain.to_string(),
        created_at: now,
    };
    let admin = UserRecord {
        id: Uuid::new_v4(),
        upn: format!("admin@{domain}"),
        display_name: "Administrator".into(),
        given_name: None,
        surname: None,
        mail: None,
        account_enabled: true,
        user_type: UserType::Member,
        is_external: false,
        creation_type: None,
        external_user_state: None,
        password_hash: None,
        password_set_at: None,
        created_at: now,
    };
    if !store
        .bootstrap(&tenant, &TapPolicy::default(), &admin)
        .await?
    {
        return Ok(None);
    }
    let (code, pass) = issue_one_time(
        store,
        keys,
        &admin,
        now,
        "First start: pass for the bootstrap administrator",
    )
    .await?;
    Ok(Some(Bootstrapped {
        upn: admin.upn,
        code,
        expires_at: pass.expires_at(),
    }))
}

/// A fresh one-time pass for any user, for when every admin is locked out.
pub struct Recovery {
    pub code: String,
    pub pass: TapPass,
    /// Why the pass can't be used yet, if it can't (policy disabled, user out of scope).
    pub unusable: Option<UsabilityReason>,
}

pub async fn recover(
    store: &Store,
    keys: &Keys,
    upn: &str,
    now: OffsetDateTime,
) -> anyhow::Result<Recovery> {
    let user = store
        .find_user(upn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user {upn}"))?;
    if user.is_external {
        anyhow::bail!("Temporary Access Pass cannot be added to an external guest user.");
    }
    let (code, pass) = issue_one_time(
        store,
        keys,
        &user,
        now,
        "tapd recover: recovery pass issued from the command line",
    )
    .await?;
    let policy = store.policy().await?;
    let reason = pass.usability(&policy, store.in_scope(&policy, user.id).await?, now);
    Ok(Recovery {
        code,
        pass,
        unusable: (!reason.is_usable() && reason != UsabilityReason::NotYetValid).then_some(reason),
    })
}

async fn issue_one_time(
    store: &Store,
    keys: &Keys,
    user: &UserRecord,
    now: OffsetDateTime,
    why: &str,
) -> anyhow::Result<(String, TapPass)> {
    let mut policy = store.policy().await?;
    // An operator's pass is issued even while the method is disabled; it is usable once the
    // policy allows it again.
    policy.state = tapd_core::PolicyState::Enabled;
    let plan = plan_issue(
        &policy,
        &IssueRequest {
            is_usable_once: Some(true),
            ..IssueRequest::default()
        },
        false,
        now,
    )?;
    let code = new_code(plan.length);
    let pass = TapPass {
        id: Uuid::new_v4(),
        user_id: user.id,
        created_at: now,
        start: plan.start,
        lifetime_minutes: plan.lifetime_minutes,
        is_usable_once: true,
        used_at: None,
        failed_attempts: 0,
    };
    let record = operator_record(
        now,
        "Operator registered temporary access pass method for user",
        "Add",
        vec![json!({
            "id": user.id, "displayName": user.display_name, "type": "User", "userPrincipalName": user.upn,
        })],
        why,
    );
    store
        .replace_tap(&pass, &keys.hash_code(&code), &record)
        .await?;
    Ok((code, pass))
}

/// What `tapd app create` registers.
#[derive(Default)]
pub struct AppSpec {
    pub name: String,
    pub permissions: Vec<Permission>,
    pub web_redirect_uris: Vec<String>,
    pub spa_redirect_uris: Vec<String>,
    pub public_redirect_uris: Vec<String>,
}

/// A new application; its secret (if it has one) is shown once and stored hashed.
pub struct NewApp {
    pub id: Uuid,
    pub client_id: Uuid,
    pub client_secret: Option<String>,
}

/// How long a client secret is valid by default: two years, as Entra's longest recommended.
pub const SECRET_LIFETIME: time::Duration = time::Duration::days(730);

/// A new client secret and what the store keeps of it.
pub async fn new_app_secret(
    display_name: Option<String>,
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> anyhow::Result<(String, AppSecret)> {
    let secret = new_opaque_token();
    let hash = {
        let secret = secret.clone();
        tokio::task::spawn_blocking(move || crate::secrets::hash_password(&secret)).await?
    };
    let stored = AppSecret {
        key_id: Uuid::new_v4(),
        display_name,
        hint: secret.chars().take(3).collect(),
        secret_hash: hash,
        start_at: start,
        end_at: end,
    };
    Ok((secret, stored))
}

/// Checks every redirect URI of a registration.
pub fn validate_redirect_uris(
    web: &[String],
    spa: &[String],
    public: &[String],
) -> Result<(), tapd_core::DomainError> {
    for (platform, uris) in [
        (Platform::Web, web),
        (Platform::Spa, spa),
        (Platform::PublicClient, public),
    ] {
        if uris.len() > MAX_REDIRECT_URIS {
            return Err(tapd_core::DomainError::BadRequest(format!(
                "At most {MAX_REDIRECT_URIS} redirect URIs per platform."
            )));
        }
        for uri in uris {
            validate_redirect_uri(platform, uri)?;
        }
    }
    Ok(())
}

/// Registers an application. It gets a secret when it is confidential: when it has
/// application permissions, `web` redirect URIs, or no redirect URI at all.
pub async fn create_app(
    store: &Store,
    spec: &AppSpec,
    now: OffsetDateTime,
) -> anyhow::Result<NewApp> {
    let name = spec.name.trim();
    if name.is_empty() || name.len() > 256 {
        anyhow::bail!("the application name must be 1 to 256 characters");
    }
    validate_redirect_uris(
        &spec.web_redirect_uris,
        &spec.spa_redirect_uris,
        &spec.public_redirect_uris,
    )?;
    let public_only = spec.permissions.is_empty()
        && spec.web_redirect_uris.is_empty()
        && !(spec.spa_redirect_uris.is_empty() && spec.public_redirect_uris.is_empty());
    let secret = if public_only {
        None
    } else {
        Some(new_app_secret(Some("tapd app create".into()), now, now + SECRET_LIFETIME).await?)
    };
    let app = AppRecord {
        id: Uuid::new_v4(),
        client_id: Uuid::new_v4(),
        display_name: name.to_string(),
        permissions: spec.permissions.clone(),
        web_redirect_uris: spec.web_redirect_uris.clone(),
        spa_redirect_uris: spec.spa_redirect_uris.clone(),
        public_redirect_uris: spec.public_redirect_uris.clone(),
        created_at: now,
        secrets: secret.iter().map(|(_, s)| s.clone()).collect(),
    };
    let record = operator_record(
        now,
        "Add application",
        "Add",
        vec![json!({"id": app.id, "displayName": app.display_name, "type": "Application"})],
        &format!(
            "permissions: {}",
            spec.permissions
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ),
    );
    store.create_app(&app, &record).await?;
    Ok(NewApp {
        id: app.id,
        client_id: app.client_id,
        client_secret: secret.map(|(s, _)| s),
    })
}

/// A change made from the command line, as a `directoryAudit` record.
fn operator_record(
    at: OffsetDateTime,
    activity: &str,
    operation: &str,
    targets: Vec<serde_json::Value>,
    detail: &str,
) -> AuditRecord {
    let id = Uuid::new_v4();
    let body = json!({
        "id": id,
        "category": if operation == "Add" && activity.contains("application") { "ApplicationManagement" } else { "UserManagement" },
        "correlationId": id,
        "result": "success",
        "resultReason": "",
        "activityDisplayName": activity,
        "activityDateTime": format_time(at),
        "loggedByService": "tapd",
        "operationType": operation,
        "initiatedBy": {"user": null, "app": {"displayName": "tapd command line", "appId": null}},
        "targetResources": targets,
        "additionalDetails": [{"key": "detail", "value": detail}],
    });
    AuditRecord { id, at, body }
}
