//! The test server and its users.

use std::sync::Arc;

use serde_json::{Value, json};
use tapd_client::{
    Client, ClientError, NewUser, PolicyConfiguration, Session, TemporaryAccessPass,
};
use tapd_core::{Permission, Role};
use tapd_server::service::{Services, apps, operator};
use tapd_server::{App, Config, Keys, ManualClock};
use tapd_store::Store;
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

/// The fixed instant every test server starts at.
pub fn t0() -> OffsetDateTime {
    datetime!(2026-06-01 12:00 UTC)
}

pub const DOMAIN: &str = "tapd.test";
pub const ADMIN_PASSWORD: &str = "bootstrap admin password";

/// A fresh, empty database: a SQLite file in a new temporary folder, or a new PostgreSQL
/// database on the server `TAPD_TEST_DATABASE_URL` names.
pub async fn fresh_database_url() -> String {
    match std::env::var("TAPD_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let name = format!("tapd_t_{}", Uuid::new_v4().simple());
            Store::create_postgres_database(&url, &name)
                .await
                .expect("create a test database")
        }
        _ => {
            let dir = std::env::temp_dir().join(format!("tapd-test-{}", Uuid::new_v4()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            format!("sqlite://{}?mode=rwc", dir.join("tapd.db").display())
        }
    }
}

pub struct User {
    pub id: String,
    pub upn: String,
}

/// Another tenant of the test app's deployment, made at the database as `tapd tenant create`
/// makes one, with its first administrator signed in with the printed pass.
pub struct OtherTenant {
    pub id: Uuid,
    pub admin: Client,
    pub admin_id: String,
}

pub struct TestApp {
    pub base: String,
    pub store: Store,
    pub clock: Arc<ManualClock>,
    /// The bootstrap Global Administrator, signed in.
    pub admin: Client,
    pub admin_user: User,
    /// No token.
    pub anon: Client,
    /// The server's key material (for key rotation).
    pub keys: Keys,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// A second server over a test app's database, keys and clock.
pub struct Replica {
    pub anon: Client,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// Starts `app` in the background; it stops when the returned sender is dropped.
fn serve(app: App) -> (String, tokio::sync::oneshot::Sender<()>) {
    let base = format!("http://{}", app.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.serve(async {
        let _ = rx.await;
    }));
    (base, tx)
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let store = Store::connect(&fresh_database_url().await)
            .await
            .expect("store");
        let keys = Keys::generate();
        let clock = Arc::new(ManualClock::new(t0()));
        let svc = Services::new(store.clone(), keys.clone());
        let first = operator::bootstrap(&svc, DOMAIN, t0())
            .await
            .expect("bootstrap")
            .expect("a fresh database bootstraps");
        let mut config = Config::new("127.0.0.1:0".parse().expect("addr"), keys.clone());
        config.clock = clock.clone();
        config.signin_rate_per_sec = 10_000;
        tweak(&mut config);
        let app = App::build(config, store.clone()).await.expect("build");
        let (base, tx) = serve(app);
        let anon = Client::new(&base);
        anon.sign_in_tap(&first.upn, &first.code)
            .await
            .expect("the bootstrap pass signs in");
        // Then a password, so that tests can sign the admin in again after moving the clock.
        let mut record = store
            .user_anywhere(&first.upn)
            .await
            .expect("find")
            .expect("admin");
        record.password_hash = Some(tapd_server::keys::hash_password(ADMIN_PASSWORD));
        // A whole `directoryAudit`, as the server writes them: audit reads decode every field.
        let audit_id = Uuid::new_v4();
        let audit = tapd_store::AuditRecord {
            id: audit_id,
            tenant: record.tenant,
            at: t0(),
            body: json!({
                "id": audit_id,
                "category": "UserManagement",
                "correlationId": audit_id,
                "result": "success",
                "resultReason": "",
                "activityDisplayName": "Test setup: admin password",
                "activityDateTime": "2026-06-01T12:00:00Z",
                "loggedByService": "tapd",
                "operationType": "Update",
                "initiatedBy": {"user": null, "app": {"displayName": "test setup", "appId": null}},
                "targetResources": [],
                "additionalDetails": [],
            }),
        };
        store
            .update_user(&record, &audit)
            .await
            .expect("set the admin's password");
        let session = anon
            .sign_in_password(&first.upn, ADMIN_PASSWORD)
            .await
            .expect("the admin signs in with the password");
        let admin = anon.clone().with_token(session.access_token);
        let me = admin.me().await.expect("me");
        TestApp {
            base,
            store,
            clock,
            admin,
            admin_user: User {
                id: me.id,
                upn: first.upn,
            },
            anon,
            keys,
            _shutdown: tx,
        }
    }

    /// Another server on the same database, keys and clock, as a second replica would be.
    pub async fn replica(&self, tweak: impl FnOnce(&mut Config)) -> Replica {
        let mut config = Config::new("127.0.0.1:0".parse().expect("addr"), self.keys.clone());
        config.clock = self.clock.clone();
        config.signin_rate_per_sec = 10_000;
        tweak(&mut config);
        let app = App::build(config, self.store.clone())
            .await
            .expect("build a replica");
        let (base, tx) = serve(app);
        Replica {
            anon: Client::new(&base),
            _shutdown: tx,
        }
    }

    pub fn clock_now(&self) -> OffsetDateTime {
        use tapd_server::Clock;
        self.clock.now()
    }

    /// The JOSE header of the admin's current token.
    pub fn admin_token_header(&self) -> Value {
        use base64::Engine;
        let token = self.admin.token().expect("the admin holds a token");
        let header = token.split('.').next().expect("a JWT");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .expect("base64url");
        serde_json::from_slice(&bytes).expect("JSON header")
    }

    /// Signs the bootstrap admin in again at the clock's current time.
    pub async fn renew_admin(&mut self) {
        let session = self
            .anon
            .sign_in_password(&self.admin_user.upn, ADMIN_PASSWORD)
            .await
            .expect("admin signs in");
        self.admin = self.anon.clone().with_token(session.access_token);
    }

    pub fn upn(alias: &str) -> String {
        format!("{alias}@{DOMAIN}")
    }

    pub async fn create_user(&self, alias: &str) -> User {
        let new = NewUser::new(&Self::upn(alias), alias).with_password("correct horse battery");
        let u = self.admin.create_user(&new).await.expect("create user");
        User {
            id: u.id,
            upn: u.user_principal_name,
        }
    }

    pub async fn user_with_roles(&self, alias: &str, roles: &[Role]) -> User {
        let user = self.create_user(alias).await;
        for role in roles {
            self.admin
                .assign_role(&user.id, role.template_id())
                .await
                .expect("assign role");
        }
        user
    }

    /// A pass issued by the bootstrap admin, as the issuing answer shows it (with the code).
    pub async fn issue(&self, user: &str, body: Value) -> TemporaryAccessPass {
        self.admin
            .create_tap(user, &body)
            .await
            .expect("issue a pass")
    }

    /// Signs `upn` in with the code of a pass as `issue` answered it.
    pub async fn sign_in_with(
        &self,
        upn: &str,
        pass: &TemporaryAccessPass,
    ) -> Result<Session, ClientError> {
        self.anon.sign_in_tap(upn, code_of(pass)).await
    }

    /// Signs `user` in with a fresh pass and returns a client holding the token.
    pub async fn client_for(&self, user: &User) -> Client {
        let pass = self.issue(&user.upn, json!({})).await;
        let session = self.sign_in_with(&user.upn, &pass).await.expect("sign in");
        self.anon.clone().with_token(session.access_token)
    }

    /// A signed-in user holding `roles`.
    pub async fn signed_in(&self, alias: &str, roles: &[Role]) -> (User, Client) {
        let user = self.user_with_roles(alias, roles).await;
        let client = self.client_for(&user).await;
        (user, client)
    }

    /// Registers an application at the database, as `tapd app create` does.
    pub async fn create_app(&self, spec: &apps::AppSpec) -> apps::NewApp {
        self.create_app_in(None, spec).await
    }

    /// The same in the tenant of `domain` (`tapd app create --tenant`), or the default one.
    pub async fn create_app_in(&self, domain: Option<&str>, spec: &apps::AppSpec) -> apps::NewApp {
        let svc = Services::new(self.store.clone(), self.keys.clone());
        let ctx = operator::context_in(&svc, domain, t0())
            .await
            .expect("tenant");
        apps::register(&svc, &ctx, spec).await.expect("create app")
    }

    /// A tenant with `domain` as its default domain, its admin signed in.
    pub async fn add_tenant(&self, domain: &str, name: &str) -> OtherTenant {
        let svc = Services::new(self.store.clone(), self.keys.clone());
        let made = operator::create_tenant(&svc, domain, Some(name), t0())
            .await
            .expect("a tenant");
        assert_eq!(made.admin.upn, format!("admin@{domain}"));
        let session = self
            .anon
            .sign_in_tap(&made.admin.upn, &made.admin.code)
            .await
            .expect("the new tenant's admin signs in with the printed pass");
        let admin = self.anon.clone().with_token(session.access_token);
        let admin_id = admin.me().await.expect("me").id;
        OtherTenant {
            id: made.tenant.id,
            admin,
            admin_id,
        }
    }

    /// A confidential application with `permissions`: its client id and secret.
    pub async fn register_app(&self, permissions: &[Permission]) -> (String, String) {
        let spec = apps::AppSpec {
            name: "test app".into(),
            permissions: permissions.to_vec(),
            ..Default::default()
        };
        let app = self.create_app(&spec).await;
        let secret = app.client_secret.expect("a confidential app");
        (app.client_id.to_string(), secret)
    }

    /// An application with `permissions`, signed in with client credentials.
    pub async fn app(&self, permissions: &[Permission]) -> Client {
        let (client_id, secret) = self.register_app(permissions).await;
        let token = self
            .anon
            .client_credentials(&client_id, &secret)
            .await
            .expect("client credentials");
        self.anon.clone().with_token(token.access_token)
    }

    pub async fn policy(&self) -> PolicyConfiguration {
        self.admin.policy().await.expect("policy")
    }

    /// The policy exactly as the server writes it.
    pub async fn policy_json(&self) -> Value {
        self.admin.get(Client::POLICY_PATH).await.expect("policy")
    }
}

/// The code in an issued pass (shown only in the issuing response).
pub fn code_of(pass: &TemporaryAccessPass) -> &str {
    pass.temporary_access_pass.as_deref().expect("the code")
}

/// The status of a failed call; panics on success.
#[track_caller]
pub fn status_of<T: std::fmt::Debug>(result: Result<T, ClientError>) -> u16 {
    match result {
        Err(e) => e.status().expect("an HTTP status").as_u16(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

/// The Graph error of a failed call: (status, code, message).
#[track_caller]
pub fn error_of<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (u16, String, String) {
    match result {
        Err(ClientError::Api {
            status,
            code,
            message,
        }) => (status.as_u16(), code, message),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Decodes a JWT's claims without checking it (the server checks; tests read).
pub fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}
