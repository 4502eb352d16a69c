//! The `tapd` binary: `serve` runs the service; `recover`, `tenant` and `app` work on the
//! database directly (safe while a server runs); the rest is the admin CLI, which talks HTTP.

mod backup;
mod cli;
mod config;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tapd_core::Permission;
use tapd_core::format_time;
use tapd_server::service::{Services, apps, operator};
use tapd_server::{App, Config, Keys, SystemClock, TlsFiles};
use tapd_store::Store;
use time::OffsetDateTime;

use crate::config::{DbFlags, Overrides, Settings};

#[derive(Parser)]
#[command(
    name = "tapd",
    version,
    about = "Temporary Access Pass identity service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (creates the directory and prints the first admin's pass on first start).
    #[command(
        after_help = "Examples:\n  tapd serve\n  tapd serve --listen 0.0.0.0:8443 --public-url https://id.example.org --config /etc/tapd/tapd.toml\n  TAPD_DATABASE_URL=postgres://tapd@db/tapd tapd serve"
    )]
    Serve(Overrides),
    /// Exit 0 when the server answers /healthz, 1 otherwise.
    #[command(after_help = "Example:\n  tapd healthcheck --server http://127.0.0.1:8080")]
    Healthcheck {
        /// The server to ask.
        #[arg(long, env = "TAPD_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
        /// Print {"status": …, "url": …}.
        #[arg(long)]
        json: bool,
    },
    /// Issue a fresh one-time pass to a user, straight in the database (for when every admin is
    /// locked out). Safe while the server runs; ends the user's sessions opened with a pass.
    #[command(
        after_help = "Example:\n  tapd recover --upn admin@tapd.local --data-dir /var/lib/tapd"
    )]
    Recover {
        /// The user's principal name, e.g. admin@tapd.local.
        #[arg(long)]
        upn: String,
        /// Print {"userPrincipalName": …, "temporaryAccessPass": …, "endDateTime": …}.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbFlags,
    },
    /// Tenants (organizations) of this deployment, straight in the database.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Applications (service principals, OpenID Connect clients), straight in the database.
    App {
        #[command(subcommand)]
        command: AppCommand,
    },
    /// Token-signing keys, straight in the database.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Copy the database and key files into a new folder, with a manifest (SQLite: online,
    /// while the server runs; PostgreSQL: the key files and the pg_dump command to run).
    ///
    /// Example: tapd backup --to /var/backups/tapd/$(date +%F)
    Backup {
        /// The folder to write (new or empty; created owner-only).
        #[arg(long)]
        to: std::path::PathBuf,
        /// Print the manifest as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbFlags,
    },
    /// Put a backup made by `tapd backup` back into the configured data dir, after checking
    /// its manifest and hashes (stop the server first).
    ///
    /// Example: tapd restore --from /var/backups/tapd/2026-12-01 --force
    Restore {
        /// The backup folder (holds manifest.json).
        #[arg(long)]
        from: std::path::PathBuf,
        /// Replace an existing database and key files.
        #[arg(long)]
        force: bool,
        /// Print what was restored as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbFlags,
    },
    #[command(flatten)]
    Admin(cli::AdminCommand),
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant with its default domain, the TAP policy at its defaults, and a first
    /// Global Administrator (admin@DOMAIN) whose one-time pass is printed once.
    #[command(
        after_help = "Examples:\n  tapd tenant create --domain fabrikam.test\n  tapd tenant create --domain fabrikam.test --name Fabrikam --json"
    )]
    Create {
        /// The tenant's default domain: unique in the deployment, e.g. fabrikam.test.
        #[arg(long)]
        domain: String,
        /// The tenant's display name (the domain when left out).
        #[arg(long)]
        name: Option<String>,
        /// Print {"id": …, "displayName": …, "defaultDomain": …, "issuer": …, "admin": {…}}.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbFlags,
    },
    /// List the tenants, the default (made on first start) first.
    #[command(after_help = "Example:\n  tapd tenant list --json")]
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbFlags,
    },
}

/// `--tenant`: which tenant a command acts in.
#[derive(clap::Args, Clone, Debug, Default)]
struct TenantFlag {
    /// The tenant, by its id or one of its domains (the default tenant when left out).
    #[arg(long)]
    tenant: Option<String>,
}

#[derive(Subcommand)]
enum AppCommand {
    /// Register an application; prints its client id (and secret, once, for a confidential app).
    #[command(
        after_help = "Examples:\n  tapd app create --name provisioning --permission UserAuthenticationMethod.ReadWrite.All\n  tapd app create --name wiki --redirect-uri https://wiki.example.org/oidc/callback\n  tapd app create --name spa --spa-redirect-uri http://localhost:5173/ --json"
    )]
    Create {
        /// The application's display name.
        #[arg(long)]
        name: String,
        /// An application permission, e.g. UserAuthenticationMethod.ReadWrite.All (repeatable).
        #[arg(long = "permission")]
        permissions: Vec<String>,
        /// A redirect URI of a server-side (confidential) app, matched exactly (repeatable).
        #[arg(long = "redirect-uri")]
        web_redirect_uris: Vec<String>,
        /// A redirect URI of a browser app (public client, PKCE) (repeatable).
        #[arg(long = "spa-redirect-uri")]
        spa_redirect_uris: Vec<String>,
        /// A redirect URI of a mobile or desktop app (public client, PKCE) (repeatable).
        #[arg(long = "public-redirect-uri")]
        public_redirect_uris: Vec<String>,
        /// Print {"id": …, "client_id": …, "client_secret": …}.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        tenant: TenantFlag,
        #[command(flatten)]
        db: DbFlags,
    },
    /// List the registered applications.
    #[command(after_help = "Example:\n  tapd app list --json")]
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        tenant: TenantFlag,
        #[command(flatten)]
        db: DbFlags,
    },
    /// Delete an application: its secrets and refresh tokens stop working at once.
    #[command(
        after_help = "Example:\n  tapd app remove 3f1c…   # the id or the client id, from `tapd app list`"
    )]
    Remove {
        /// The application's id or client id.
        app: String,
        /// Print {"deleted": id}.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        tenant: TenantFlag,
        #[command(flatten)]
        db: DbFlags,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new signing key: published at once, signing from --activate-in; keys whose tokens
    /// have all expired are removed.
    #[command(
        after_help = "Examples:\n  tapd keys rotate                  # signs in 24 h, once clients have fetched it\n  tapd keys rotate --activate-in 0s # at once, after a compromise"
    )]
    Rotate {
        /// When the new key starts signing, e.g. 24h, 30m, 0s (at once, after a compromise).
        #[arg(long, default_value = "24h", value_parser = parse_duration)]
        activate_in: time::Duration,
        /// Print {"kid": …, "signsFrom": …}.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbFlags,
    },
    /// List the signing keys and their state.
    #[command(after_help = "Example:\n  tapd keys list --data-dir /var/lib/tapd")]
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbFlags,
    },
}

/// `90s`, `30m`, `24h`, `7d`.
fn parse_duration(s: &str) -> Result<time::Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: i64 = n
        .parse()
        .map_err(|_| format!("'{s}': expected a number and a unit, e.g. 24h"))?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("'{s}': the unit must be s, m, h or d")),
    };
    // At most ten years: beyond that a key would never sign.
    n.checked_mul(seconds_per_unit)
        .filter(|secs| *secs <= 10 * 366 * 86_400)
        .map(time::Duration::seconds)
        .ok_or_else(|| format!("'{s}': at most ten years"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line, each said once: many errors already repeat their
/// cause's text in their own, and the whole chain would say it two or three times.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if part.is_empty() || text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(flags) => serve(flags).await?,
        Command::Healthcheck { server, json } => return Ok(healthcheck(&server, json).await),
        Command::Recover { upn, json, db } => recover(&upn, json, &db).await?,
        Command::Tenant { command } => tenant(command).await?,
        Command::App { command } => app(command).await?,
        Command::Keys {
            command:
                KeysCommand::Rotate {
                    activate_in,
                    json,
                    db,
                },
        } => rotate_keys(activate_in, json, &db).await?,
        Command::Keys {
            command: KeysCommand::List { json, db },
        } => list_keys(json, &db).await?,
        Command::Backup { to, json, db } => {
            let svc = open_services(&db).await?;
            let settings = Settings::load(&Overrides::from(&db))?;
            backup::backup(&settings, &svc.store, &to, json).await?;
            svc.store.close().await;
        }
        Command::Restore {
            from,
            force,
            json,
            db,
        } => backup::restore(&Settings::load(&Overrides::from(&db))?, &from, force, json)?,
        Command::Admin(cmd) => return cli::run(cmd).await,
    }
    Ok(ExitCode::SUCCESS)
}

/// `tapd recover`: a fresh one-time pass, written straight to the database.
async fn recover(upn: &str, json: bool, db: &DbFlags) -> anyhow::Result<()> {
    let svc = open_services(db).await?;
    let rec = operator::recover(&svc, OffsetDateTime::now_utc(), upn).await?;
    let warning = rec.unusable.map(|reason| {
        format!(
            "the pass can't be used yet ({reason:?}): check the TAP policy (state, include and exclude targets)"
        )
    });
    if json {
        println!(
            "{}",
            serde_json::json!({
                "userPrincipalName": upn,
                "temporaryAccessPass": rec.code,
                "endDateTime": format_time(rec.pass.expires_at()),
                "warning": warning,
            })
        );
    } else {
        println!("One-time Temporary Access Pass for {upn}: {}", rec.code);
        println!("Valid until {}.", format_time(rec.pass.expires_at()));
        println!(
            "It replaces {upn}'s previous pass: sessions opened with that one have ended (a CLI signed in with it needs `tapd login` again)."
        );
    }
    if let Some(w) = warning {
        eprintln!("warning: {w}.");
    }
    Ok(())
}

/// `tapd tenant …`: tenants, straight in the database.
async fn tenant(command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::Create {
            domain,
            name,
            json,
            db,
        } => {
            let settings = Settings::load(&Overrides::from(&db))?;
            let svc = open_services(&db).await?;
            let now = OffsetDateTime::now_utc();
            let made = operator::create_tenant(&svc, domain.trim(), name.as_deref(), now).await?;
            let public = settings.shown_url();
            let issuer = format!("{public}/{}/v2.0", made.tenant.id);
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "id": made.tenant.id,
                        "displayName": made.tenant.display_name,
                        "defaultDomain": made.tenant.default_domain,
                        "issuer": issuer,
                        "admin": {
                            "userPrincipalName": made.admin.upn,
                            "temporaryAccessPass": made.admin.code,
                            "endDateTime": format_time(made.admin.expires_at),
                        },
                    })
                );
            } else {
                // Printed once, on stdout only: never logged.
                println!(
                    "Created the tenant {} (tenant id {}).",
                    made.tenant.display_name, made.tenant.id
                );
                println!("Its OpenID Connect issuer: {issuer}");
                println!("First administrator: {}", made.admin.upn);
                println!("One-time Temporary Access Pass: {}", made.admin.code);
                println!(
                    "Valid until {}. Sign in at {public}/ with it and register a passkey.",
                    format_time(made.admin.expires_at)
                );
                println!(
                    "This pass is printed only now. If it is lost: tapd recover --upn {}",
                    made.admin.upn
                );
            }
            svc.store.close().await;
        }
        TenantCommand::List { json, db } => {
            let svc = open_services(&db).await?;
            let tenants = operator::tenants(&svc).await?;
            if json {
                let list: Vec<_> = tenants
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        serde_json::json!({
                            "id": t.id,
                            "displayName": t.display_name,
                            "defaultDomain": t.default_domain,
                            "isDefault": i == 0,
                            "createdDateTime": format_time(t.created_at),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!("{:<36}  {:<32}  NAME", "TENANT ID", "DEFAULT DOMAIN");
                for t in &tenants {
                    println!("{:<36}  {:<32}  {}", t.id, t.default_domain, t.display_name);
                }
            }
            svc.store.close().await;
        }
    }
    Ok(())
}

/// `tapd app …`: applications, straight in the database.
async fn app(command: AppCommand) -> anyhow::Result<()> {
    match command {
        AppCommand::Create {
            name,
            permissions,
            web_redirect_uris,
            spa_redirect_uris,
            public_redirect_uris,
            json,
            tenant,
            db,
        } => {
            let spec = apps::AppSpec {
                name,
                permissions: parse_permissions(&permissions)?,
                web_redirect_uris,
                spa_redirect_uris,
                public_redirect_uris,
            };
            create_app(&spec, json, &tenant, &db).await
        }
        AppCommand::List { json, tenant, db } => list_apps(json, &tenant, &db).await,
        AppCommand::Remove {
            app,
            json,
            tenant,
            db,
        } => remove_app(&app, json, &tenant, &db).await,
    }
}

/// `tapd app create`: registers an application straight in the database.
async fn create_app(
    spec: &apps::AppSpec,
    json: bool,
    tenant: &TenantFlag,
    db: &DbFlags,
) -> anyhow::Result<()> {
    let svc = open_services(db).await?;
    let now = OffsetDateTime::now_utc();
    let ctx = operator::context_in(&svc, tenant.tenant.as_deref(), now).await?;
    let app = apps::register(&svc, &ctx, spec).await?;
    if json {
        println!(
            "{}",
            serde_json::json!({"id": app.id, "client_id": app.client_id, "client_secret": app.client_secret})
        );
    } else {
        println!("Application {} registered.", spec.name);
        println!("client id:     {}", app.client_id);
        match &app.client_secret {
            Some(secret) => {
                println!("client secret: {secret}");
                println!("The secret is shown only now; store it safely.");
            }
            None => println!("A public client: no secret; it uses PKCE."),
        }
    }
    Ok(())
}

/// Every application of the tenant, as `tapd app list` shows them.
async fn all_apps(
    svc: &Services,
    tenant: &TenantFlag,
) -> anyhow::Result<Vec<tapd_store::AppRecord>> {
    let now = OffsetDateTime::now_utc();
    let ctx = operator::context_in(svc, tenant.tenant.as_deref(), now).await?;
    let query = tapd_core::odata::Query::all(tapd_core::odata::MAX_TOP);
    Ok(apps::list(svc, &ctx, &query).await?.items)
}

async fn list_apps(json: bool, tenant: &TenantFlag, db: &DbFlags) -> anyhow::Result<()> {
    let svc = open_services(db).await?;
    let apps = all_apps(&svc, tenant).await?;
    if json {
        let list: Vec<_> = apps
            .iter()
            .map(|a| {
                serde_json::json!({
                    "id": a.id,
                    "client_id": a.client_id,
                    "name": a.display_name,
                    "permissions": a.permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                    "redirect_uris": a.web_redirect_uris.iter().chain(&a.spa_redirect_uris).chain(&a.public_redirect_uris).collect::<Vec<_>>(),
                    "secrets": a.secrets.len(),
                    "created": format_time(a.created_at),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if apps.is_empty() {
        println!("No applications: `tapd app create --name NAME` registers one.");
        return Ok(());
    }
    println!(
        "{:<24} {:<36} {:<36} {:>7}  PERMISSIONS",
        "NAME", "CLIENT ID", "ID", "SECRETS"
    );
    for a in &apps {
        let permissions: Vec<&str> = a.permissions.iter().map(|p| p.as_str()).collect();
        println!(
            "{:<24} {:<36} {:<36} {:>7}  {}",
            a.display_name,
            a.client_id,
            a.id,
            a.secrets.len(),
            permissions.join(", ")
        );
    }
    Ok(())
}

async fn remove_app(
    which: &str,
    json: bool,
    tenant: &TenantFlag,
    db: &DbFlags,
) -> anyhow::Result<()> {
    let svc = open_services(db).await?;
    let found = all_apps(&svc, tenant).await?.into_iter().find(|a| {
        a.id.to_string().eq_ignore_ascii_case(which)
            || a.client_id.to_string().eq_ignore_ascii_case(which)
    });
    let Some(app) = found else {
        anyhow::bail!(
            "no application with the id or client id {which}: `tapd app list` shows them"
        );
    };
    let now = OffsetDateTime::now_utc();
    let ctx = operator::context_in(&svc, tenant.tenant.as_deref(), now).await?;
    apps::delete(&svc, &ctx, &app.id.to_string()).await?;
    if json {
        println!("{}", serde_json::json!({"deleted": app.id}));
    } else {
        println!(
            "Deleted the application {} (client id {}).",
            app.display_name, app.client_id
        );
    }
    Ok(())
}

fn parse_permissions(names: &[String]) -> anyhow::Result<Vec<Permission>> {
    names
        .iter()
        .map(|p| {
            Permission::parse(p).with_context(|| {
                format!(
                    "unknown permission {p}; known: {}",
                    Permission::ALL.map(|p| p.as_str()).join(", ")
                )
            })
        })
        .collect()
}

/// `tapd keys rotate`: a new signing key, published now, signing from `activate_in`.
async fn rotate_keys(activate_in: time::Duration, json: bool, db: &DbFlags) -> anyhow::Result<()> {
    let svc = open_services(db).await?;
    let now = OffsetDateTime::now_utc();
    let from = now
        .checked_add(activate_in)
        .context("--activate-in is too far in the future")?;
    let ttl = tapd_server::DEFAULT_ACCESS_TOKEN_TTL;
    let kid = operator::rotate_signing_key(&svc, now, from, ttl).await?;
    if json {
        println!(
            "{}",
            serde_json::json!({"kid": kid, "signsFrom": format_time(from)})
        );
    } else {
        println!(
            "New signing key {kid}: published now, signs from {}.",
            format_time(from)
        );
    }
    Ok(())
}

/// `tapd keys list`: each signing key and its state.
async fn list_keys(json: bool, db: &DbFlags) -> anyhow::Result<()> {
    let svc = open_services(db).await?;
    let now = OffsetDateTime::now_utc();
    let ttl = tapd_server::DEFAULT_ACCESS_TOKEN_TTL;
    let keys = operator::signing_keys(&svc, now, ttl).await?;
    if json {
        let list: Vec<_> = keys
            .iter()
            .map(|(kid, from, state)| {
                serde_json::json!({"kid": kid, "signsFrom": format_time(*from), "state": state})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    println!("{:<18} {:<28} STATE", "KEY ID", "SIGNS FROM");
    for (kid, from, state) in keys {
        println!("{kid:<18} {:<28} {state}", format_time(from));
    }
    Ok(())
}

/// Settings, store (migrated) and keys, as `serve` has them.
async fn open(flags: &Overrides) -> anyhow::Result<(Settings, Store, Keys)> {
    let settings = Settings::load(flags)?;
    settings
        .prepare_data_dir()
        .with_context(|| format!("data dir {}", settings.data_dir.display()))?;
    let (hmac, signing) = settings.key_paths();
    let keys = Keys::load_or_create(&hmac, &signing)?;
    let store = Store::connect(&settings.database_url())
        .await
        .context("opening the database")?;
    Ok((settings, store, keys))
}

/// The store and keys, for the commands that work on the database directly. They never create
/// a database or keys: run from the wrong folder, they say where they looked instead of
/// starting an empty directory beside the real one.
async fn open_services(db: &DbFlags) -> anyhow::Result<Services> {
    let flags = Overrides::from(db);
    let settings = Settings::load(&flags)?;
    check_existing(&settings)?;
    let (_, store, keys) = open(&flags).await?;
    Ok(Services::new(store, keys))
}

/// The SQLite file a database URL names, if it names one.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| path.into())
}

fn check_existing(settings: &Settings) -> anyhow::Result<()> {
    let hint = "run this where `tapd serve` runs, or give its --data-dir or --database-url \
                (TAPD_DATA_DIR, TAPD_DATABASE_URL)";
    tapd_store::Dialect::of_supported_url(&settings.database_url())?;
    if let Some(db) = sqlite_file(&settings.database_url())
        && !db.exists()
    {
        anyhow::bail!("no tapd database at {}: {hint}", db.display());
    }
    let (hmac, signing) = settings.key_paths();
    for key in [hmac, signing] {
        if !key.exists() {
            anyhow::bail!("no server key at {}: {hint}", key.display());
        }
    }
    Ok(())
}

fn init_logging(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("TAPD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a person at a terminal, never into a log file.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// On an empty database, the directory and its first administrator, whose pass is printed once.
async fn first_start(svc: &Services, domain: &str, url: &str) -> anyhow::Result<()> {
    if let Some(first) = operator::bootstrap(svc, domain, OffsetDateTime::now_utc()).await? {
        let tenant = operator::context(svc, OffsetDateTime::now_utc())
            .await?
            .tenant;
        // Printed once, on stdout only: never logged.
        println!("tapd: created the directory {domain} (tenant id {tenant}).");
        println!("First administrator: {}", first.upn);
        println!("One-time Temporary Access Pass: {}", first.code);
        println!(
            "Valid until {}. Open {url}/ , sign in with it and register a passkey.",
            format_time(first.expires_at)
        );
        println!(
            "This pass is printed only now, on the first start. If it is lost: tapd recover --upn {}",
            first.upn
        );
    }
    Ok(())
}

async fn serve(flags: Overrides) -> anyhow::Result<()> {
    tapd_server::memory::give_large_allocations_back();
    let settings = Settings::load(&flags)?;
    // Before anything is created: a first start that fails on a TLS file would have printed
    // the first admin's pass for nothing.
    let tls = match settings.tls().map_err(anyhow::Error::msg)? {
        Some((cert, key)) => Some(TlsFiles::load(cert, key)?),
        None => None,
    };
    // Held while serving: `tapd restore` then refuses to replace the file under this server.
    let _db_lock = sqlite_file(&settings.database_url())
        .map(|db| backup::lock_shared(&db))
        .transpose()?;
    let (settings, store, keys) = open(&flags).await?;
    init_logging(&settings.log_format);
    let public_url = settings.public_url();
    let shown_url = settings.shown_url();
    let services = Services::new(store.clone(), keys.clone());
    first_start(&services, &settings.domain, &shown_url).await?;
    let tenant = operator::context(&services, OffsetDateTime::now_utc())
        .await?
        .tenant;
    let mut config = Config::new(settings.listen, keys);
    config.public_url = public_url;
    config.tls = tls.clone();
    config.clock = Arc::new(SystemClock);
    config.signin_rate_per_sec = settings.signin_rate_per_sec;
    config.trusted_proxies = settings.trusted_proxies();
    config.metrics_from = settings.metrics_from();
    config.mailer = settings.mailer();
    let app = App::build(config, store.clone())
        .await
        .map_err(|e| listen_error(e, settings.listen))?;
    tracing::info!(
        address = %app.local_addr(),
        url = %shown_url,
        tenant = %tenant,
        database = store_kind(&store),
        tls = tls.is_some(),
        "tapd listening"
    );
    let reloader = reload_on_sighup(tls)?;
    app.serve(shutdown_signal()).await?;
    reloader.abort();
    store.close().await;
    tracing::info!("tapd stopped");
    Ok(())
}

/// A bind failure says which address and how to choose another.
fn listen_error(e: anyhow::Error, listen: std::net::SocketAddr) -> anyhow::Error {
    let in_use = e
        .chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::AddrInUse);
    if in_use {
        anyhow::anyhow!(
            "{listen} is already in use (another tapd?): stop it, or choose another address with --listen or `listen` in the configuration (TAPD_LISTEN)"
        )
    } else {
        e
    }
}

fn store_kind(store: &Store) -> &'static str {
    match store.dialect() {
        tapd_store::Dialect::Sqlite => "sqlite",
        tapd_store::Dialect::Postgres => "postgres",
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

/// SIGHUP: read the TLS certificate and key again (after a renewal). Open connections keep
/// theirs; a file that doesn't load leaves the current certificate in place. Without TLS there
/// is nothing to reload, and SIGHUP (`systemctl reload`) must still not stop the server. The
/// handler is installed before this returns.
fn reload_on_sighup(tls: Option<TlsFiles>) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = signal(SignalKind::hangup()).context("catching SIGHUP")?;
        Ok(tokio::spawn(async move {
            while hup.recv().await.is_some() {
                let Some(files) = &tls else {
                    tracing::info!("SIGHUP: nothing to reload (TLS is off)");
                    continue;
                };
                match files.reload() {
                    Ok(()) => tracing::info!(
                        file = %files.cert_file().display(),
                        "TLS certificate reloaded"
                    ),
                    Err(e) => tracing::error!(
                        error = %e,
                        "TLS certificate not reloaded; serving the previous one"
                    ),
                }
            }
        }))
    }
    #[cfg(not(unix))]
    {
        let _ = tls;
        Ok(tokio::spawn(async {}))
    }
}

async fn healthcheck(server: &str, json: bool) -> ExitCode {
    let url = format!("{}/healthz", server.trim_end_matches('/'));
    let answer = tapd_client::Client::new(server).get("/healthz").await;
    if json {
        let status = if answer.is_ok() { "ok" } else { "unhealthy" };
        let error = answer.as_ref().err().map(|e| e.to_string());
        println!(
            "{}",
            serde_json::json!({"status": status, "url": url, "error": error})
        );
    }
    match answer {
        Ok(_) => {
            if !json {
                println!("ok: {url}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            if !json {
                eprintln!("unhealthy: {url}: {e}");
            }
            ExitCode::FAILURE
        }
    }
}
