//! The `tapd` binary: `serve` runs the service; `recover` and `app create` work on the database
//! directly (safe while a server runs); the rest is the admin CLI, which talks HTTP.

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

use crate::config::{Overrides, Settings};

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
    Serve(Overrides),
    /// Exit 0 when the server answers /healthz, 1 otherwise.
    Healthcheck {
        #[arg(long, env = "TAPD_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
    },
    /// Issue a fresh one-time pass to a user, straight in the database (for when every admin is locked out).
    Recover {
        #[arg(long)]
        upn: String,
        #[command(flatten)]
        db: Overrides,
    },
    /// Applications (service principals, OpenID Connect clients).
    App {
        #[command(subcommand)]
        command: AppCommand,
    },
    /// Token-signing keys.
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
        db: Overrides,
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
        db: Overrides,
    },
    #[command(flatten)]
    Admin(cli::AdminCommand),
}

#[derive(Subcommand)]
enum AppCommand {
    /// Register an application; prints its client id (and secret, once, for a confidential app).
    Create {
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
        /// Print {"client_id": …, "client_secret": …}.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: Overrides,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new signing key: published at once, signing from --activate-in; keys whose tokens
    /// have all expired are removed.
    Rotate {
        /// When the new key starts signing, e.g. 24h, 30m, 0s (at once, after a compromise).
        #[arg(long, default_value = "24h", value_parser = parse_duration)]
        activate_in: time::Duration,
        #[command(flatten)]
        db: Overrides,
    },
    /// List the signing keys and their state.
    List {
        #[command(flatten)]
        db: Overrides,
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
    match unit {
        "s" => Ok(time::Duration::seconds(n)),
        "m" => Ok(time::Duration::minutes(n)),
        "h" => Ok(time::Duration::hours(n)),
        "d" => Ok(time::Duration::days(n)),
        _ => Err(format!("'{s}': the unit must be s, m, h or d")),
    }
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
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(flags) => serve(flags).await?,
        Command::Healthcheck { server } => return Ok(healthcheck(&server).await),
        Command::Recover { upn, db } => recover(&upn, &db).await?,
        Command::App { command } => create_app(command).await?,
        Command::Keys {
            command: KeysCommand::Rotate { activate_in, db },
        } => rotate_keys(activate_in, &db).await?,
        Command::Keys {
            command: KeysCommand::List { db },
        } => list_keys(&db).await?,
        Command::Backup { to, json, db } => {
            let svc = open_services(&db).await?;
            backup::backup(&Settings::load(&db)?, &svc.store, &to, json).await?;
            svc.store.close().await;
        }
        Command::Restore {
            from,
            force,
            json,
            db,
        } => backup::restore(&Settings::load(&db)?, &from, force, json)?,
        Command::Admin(cmd) => return cli::run(cmd).await,
    }
    Ok(ExitCode::SUCCESS)
}

/// `tapd recover`: a fresh one-time pass, written straight to the database.
async fn recover(upn: &str, db: &Overrides) -> anyhow::Result<()> {
    let svc = open_services(db).await?;
    let ctx = operator::context(&svc, OffsetDateTime::now_utc()).await?;
    let rec = operator::recover(&svc, &ctx, upn).await?;
    println!("One-time Temporary Access Pass for {upn}: {}", rec.code);
    println!("Valid until {}.", format_time(rec.pass.expires_at()));
    if let Some(reason) = rec.unusable {
        eprintln!(
            "warning: the pass can't be used yet ({reason:?}): check the TAP policy (state, include and exclude targets)."
        );
    }
    Ok(())
}

/// `tapd app create`: registers an application straight in the database.
async fn create_app(command: AppCommand) -> anyhow::Result<()> {
    let AppCommand::Create {
        name,
        permissions,
        web_redirect_uris,
        spa_redirect_uris,
        public_redirect_uris,
        json,
        db,
    } = command;
    let permissions = parse_permissions(&permissions)?;
    let svc = open_services(&db).await?;
    let spec = apps::AppSpec {
        name: name.clone(),
        permissions,
        web_redirect_uris,
        spa_redirect_uris,
        public_redirect_uris,
    };
    let ctx = operator::context(&svc, OffsetDateTime::now_utc()).await?;
    let app = apps::register(&svc, &ctx, &spec).await?;
    if json {
        println!(
            "{}",
            serde_json::json!({"id": app.id, "client_id": app.client_id, "client_secret": app.client_secret})
        );
    } else {
        println!("Application {name} registered.");
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
async fn rotate_keys(activate_in: time::Duration, db: &Overrides) -> anyhow::Result<()> {
    let svc = open_services(db).await?;
    let now = OffsetDateTime::now_utc();
    let ttl = tapd_server::DEFAULT_ACCESS_TOKEN_TTL;
    let kid = operator::rotate_signing_key(&svc, now, now + activate_in, ttl).await?;
    println!(
        "New signing key {kid}: published now, signs from {}.",
        format_time(now + activate_in)
    );
    Ok(())
}

/// `tapd keys list`: each signing key and its state.
async fn list_keys(db: &Overrides) -> anyhow::Result<()> {
    let svc = open_services(db).await?;
    let now = OffsetDateTime::now_utc();
    let ttl = tapd_server::DEFAULT_ACCESS_TOKEN_TTL;
    println!("{:<18} {:<28} STATE", "KEY ID", "SIGNS FROM");
    for (kid, from, state) in operator::signing_keys(&svc, now, ttl).await? {
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
async fn open_services(flags: &Overrides) -> anyhow::Result<Services> {
    let settings = Settings::load(flags)?;
    check_existing(&settings)?;
    let (_, store, keys) = open(flags).await?;
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
async fn first_start(svc: &Services, domain: &str) -> anyhow::Result<()> {
    if let Some(first) = operator::bootstrap(svc, domain, OffsetDateTime::now_utc()).await? {
        // Printed once, on stdout only: never logged.
        println!("tapd: created the directory {domain}.");
        println!("First administrator: {}", first.upn);
        println!("One-time Temporary Access Pass: {}", first.code);
        println!(
            "Valid until {}. Sign in with it and register a passkey.",
            format_time(first.expires_at)
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
    first_start(
        &Services::new(store.clone(), keys.clone()),
        &settings.domain,
    )
    .await?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut config = Config::new(settings.listen, keys);
    // On the loopback, browsers reach tapd as `localhost`: passkeys need a host name, not an IP.
    config.public_url = settings.public_url.clone().or_else(|| {
        settings
            .listen
            .ip()
            .is_loopback()
            .then(|| format!("{scheme}://localhost:{}", settings.listen.port()))
    });
    config.tls = tls.clone();
    config.clock = Arc::new(SystemClock);
    config.signin_rate_per_sec = settings.signin_rate_per_sec;
    config.trusted_proxies = settings.trusted_proxies();
    config.metrics_from = settings.metrics_from();
    let app = App::build(config, store.clone()).await?;
    tracing::info!(address = %app.local_addr(), database = store_kind(&store), tls = tls.is_some(), "tapd listening");
    let reloader = reload_on_sighup(tls)?;
    app.serve(shutdown_signal()).await?;
    reloader.abort();
    store.close().await;
    tracing::info!("tapd stopped");
    Ok(())
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

async fn healthcheck(server: &str) -> ExitCode {
    let url = format!("{}/healthz", server.trim_end_matches('/'));
    match tapd_client::Client::new(server).get("/healthz").await {
        Ok(_) => {
            println!("ok: {url}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("unhealthy: {url}: {e}");
            ExitCode::FAILURE
        }
    }
}
