//! Where the CLI's server and token come from: flags, environment, or the sign-in `tapd login`
//! keeps (mode 0600, in the user's config dir) — refreshed when it has expired or the server
//! refuses it, and written back; and the `login` and `logout` commands. The browser and
//! device-code sign-ins themselves are in `oauth_login`.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tapd_client::{Client, ClientError, TokenSource};
use time::OffsetDateTime;

use super::oauth_login;
use super::output::time_text;

#[derive(Args, Clone)]
pub struct Connection {
    /// Server URL [default: the one from `tapd login`, else http://127.0.0.1:8080].
    #[arg(long, env = "TAPD_SERVER", global = true)]
    pub(super) server: Option<String>,
    /// Bearer token [default: the one from `tapd login`].
    #[arg(long, env = "TAPD_TOKEN", global = true, hide_env_values = true)]
    pub(super) token: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub(super) json: bool,
}

/// What `tapd login` keeps, mode 0600, in the user's config dir.
#[derive(Serialize, Deserialize, Clone)]
pub(super) struct Login {
    pub server: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub user: String,
    pub expires_at: Option<String>,
    /// The OAuth client the tokens were issued to (the tapd CLI's, after `--browser` or
    /// `--device-code`); none for a sign-in through `/api/signin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

fn login_path() -> anyhow::Result<PathBuf> {
    let dir = dirs::config_dir().context("no config directory for this user")?;
    Ok(dir.join("tapd").join("login.json"))
}

fn read_login() -> Option<Login> {
    let bytes = std::fs::read(login_path().ok()?).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn private_file(path: &std::path::Path, truncate: bool) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

pub(super) fn write_login(login: &Login) -> anyhow::Result<PathBuf> {
    let path = login_path()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut file = private_file(&tmp, true)?;
    file.write_all(&serde_json::to_vec_pretty(login)?)?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// How to start another session, for the messages that say one has ended.
const SIGN_IN_AGAIN: &str =
    "sign in again with `tapd login --browser` or `tapd login --device-code`";

impl Connection {
    pub(super) fn server(&self) -> String {
        self.server
            .clone()
            .or_else(|| read_login().map(|l| l.server))
            .unwrap_or_else(|| DEFAULT_SERVER.into())
    }

    /// A client for the server, with the token given or the kept sign-in (renewed when it has
    /// expired or is refused). Without either, the first request says why: the server can't be
    /// reached, or nobody is signed in to it.
    pub(super) fn client(&self) -> anyhow::Result<Client> {
        let server = self.server();
        let client = Client::new(&server);
        if let Some(t) = &self.token {
            return Ok(client.with_token(t.clone()));
        }
        let source: Arc<dyn TokenSource> = match read_login() {
            Some(l) if l.server == client.base() => Arc::new(KeptLogin {
                login: Mutex::new(l),
                renewing: tokio::sync::Mutex::new(()),
            }),
            _ => Arc::new(NotSignedIn {
                server: client.base().to_string(),
            }),
        };
        Ok(client.with_token_source(source))
    }
}

/// The kept sign-in as a token source: refreshed at most once at a time, in this process and
/// (by a lock file) among CLI processes, since a refresh token works once.
struct KeptLogin {
    login: Mutex<Login>,
    renewing: tokio::sync::Mutex<()>,
}

/// True when the access token has expired (or will within half a minute).
fn expired(login: &Login, now: OffsetDateTime) -> bool {
    let expires = login.expires_at.as_deref().and_then(|t| {
        OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    });
    expires.is_some_and(|at| at <= now + time::Duration::seconds(30))
}

impl KeptLogin {
    fn snapshot(&self) -> Option<Login> {
        self.login.lock().ok().map(|l| l.clone())
    }

    async fn renewed(&self, rejected: &str, why: &str) -> tapd_client::Result<String> {
        let _one_at_a_time = self.renewing.lock().await;
        let ended = |why: String| ClientError::SessionEnded(why);
        let mine = self
            .snapshot()
            .ok_or_else(|| ended("the kept sign-in is unreadable".into()))?;
        let now = OffsetDateTime::now_utc();
        if mine.access_token != rejected && !expired(&mine, now) {
            return Ok(mine.access_token);
        }
        let _lock = lock_login_file();
        // Another `tapd` may have refreshed meanwhile: its token is the one to use.
        let current = read_login()
            .filter(|l| l.server == mine.server)
            .unwrap_or(mine);
        let fresh = if current.access_token != rejected && !expired(&current, now) {
            current
        } else {
            refreshed(&current, why).await?
        };
        if let Ok(mut kept) = self.login.lock() {
            *kept = fresh.clone();
        }
        Ok(fresh.access_token)
    }
}

impl TokenSource for KeptLogin {
    fn current(&self) -> Option<String> {
        let login = self.snapshot()?;
        (!expired(&login, OffsetDateTime::now_utc())).then_some(login.access_token)
    }

    fn renew<'a>(
        &'a self,
        rejected: &'a str,
        why: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = tapd_client::Result<String>> + Send + 'a>>
    {
        Box::pin(self.renewed(rejected, why))
    }
}

/// An exclusive lock on `login.lock` beside the kept sign-in, held while refreshing.
fn lock_login_file() -> Option<std::fs::File> {
    let path = login_path().ok()?.with_extension("lock");
    let file = private_file(&path, false).ok()?;
    file.lock().ok()?;
    Some(file)
}

/// The server's reason a session is over, from its refusal of the token (`why`), else from its
/// refusal of the refresh.
fn reason(why: &str, refused: &str) -> String {
    let why = why
        .strip_prefix("The session has ended: ")
        .unwrap_or_default();
    let text = if why.is_empty() { refused } else { why };
    let text = text.trim_end_matches('.');
    text.strip_suffix(". Sign in again")
        .unwrap_or(text)
        .to_string()
}

/// The kept sign-in, refreshed at the server and written back; or why the session is over.
async fn refreshed(login: &Login, why: &str) -> tapd_client::Result<Login> {
    let Some(refresh_token) = &login.refresh_token else {
        return Err(ClientError::SessionEnded(format!(
            "your tapd session has ended: the token expired and can't be renewed; {SIGN_IN_AGAIN}."
        )));
    };
    let client = Client::new(&login.server);
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
    ];
    if let Some(id) = &login.client_id {
        form.push(("client_id", id.as_str()));
    }
    let answer: Value = match client.token_grant_raw(&form).await {
        Ok(v) => v,
        Err(ClientError::Api { message, .. }) => {
            return Err(ClientError::SessionEnded(format!(
                "your tapd session has ended: {}; {SIGN_IN_AGAIN}.",
                reason(why, &message)
            )));
        }
        Err(e) => return Err(e),
    };
    let access_token = answer["access_token"].as_str().unwrap_or_default();
    if access_token.is_empty() {
        return Err(ClientError::SessionEnded(
            "the server's answer to a refresh held no token".into(),
        ));
    }
    let expires_at = answer["expires_at"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            let secs = answer["expires_in"].as_i64()?;
            Some(time_text(
                OffsetDateTime::now_utc() + time::Duration::seconds(secs.clamp(0, 366 * 86_400)),
            ))
        });
    let fresh = Login {
        access_token: access_token.to_string(),
        refresh_token: answer["refresh_token"]
            .as_str()
            .map(str::to_string)
            .or_else(|| login.refresh_token.clone()),
        expires_at,
        ..login.clone()
    };
    write_login(&fresh).map_err(|e| {
        ClientError::SessionEnded(format!("could not keep the renewed sign-in: {e:#}"))
    })?;
    Ok(fresh)
}

/// No sign-in kept for this server: the first request says so, or that the server is down.
struct NotSignedIn {
    server: String,
}

impl TokenSource for NotSignedIn {
    fn current(&self) -> Option<String> {
        None
    }

    fn renew<'a>(
        &'a self,
        _rejected: &'a str,
        _why: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = tapd_client::Result<String>> + Send + 'a>>
    {
        Box::pin(async move {
            Client::new(&self.server).get("/healthz").await?;
            Err(ClientError::SessionEnded(format!(
                "not signed in to {}: run `tapd login --browser`, `tapd login --device-code` or \
                 `tapd login --user <upn>`, or pass --token",
                self.server
            )))
        })
    }
}

/// An error said so that the person knows what to do: a server that doesn't answer is named,
/// with how to point the CLI at another.
pub fn explain(error: anyhow::Error, server: &str) -> anyhow::Error {
    let unreachable = error
        .chain()
        .find_map(|e| match e.downcast_ref::<ClientError>() {
            Some(ClientError::Http(http)) if http.is_connect() || http.is_timeout() => Some(http),
            _ => None,
        });
    let Some(http) = unreachable else {
        return error;
    };
    let mut cause: &dyn std::error::Error = http;
    while let Some(next) = cause.source() {
        cause = next;
    }
    anyhow::anyhow!(
        "cannot reach tapd at {} ({cause}): is `tapd serve` running there? (--server, TAPD_SERVER)",
        server.trim_end_matches('/')
    )
}

fn read_secret(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

/// How `tapd login` signs in.
pub enum How {
    /// With a pass or a password through `/api/signin`.
    Secret {
        user: String,
        password: bool,
        secret: Option<String>,
    },
    /// In a browser, back through a loopback redirect.
    Browser {
        login_hint: Option<String>,
        open: bool,
    },
    /// With a code entered at `/device` on any other device.
    DeviceCode,
}

pub async fn login(how: How, conn: &Connection) -> anyhow::Result<()> {
    let client = Client::new(conn.server());
    let login = match how {
        How::Secret {
            user,
            password,
            secret,
        } => secret_login(&client, &user, password, secret).await?,
        How::Browser { login_hint, open } => {
            oauth_login::browser(&client, login_hint.as_deref(), open).await?
        }
        How::DeviceCode => oauth_login::device_code(&client).await?,
    };
    let path = write_login(&login)?;
    if conn.json {
        println!(
            "{}",
            json!({"user": login.user, "server": login.server, "expires_at": login.expires_at})
        );
    } else {
        println!(
            "Signed in as {} until {}{}. Token kept in {}.",
            login.user,
            login.expires_at.as_deref().unwrap_or("?"),
            if login.refresh_token.is_some() {
                ", renewed as needed"
            } else {
                ""
            },
            path.display()
        );
    }
    Ok(())
}

async fn secret_login(
    client: &Client,
    user: &str,
    password: bool,
    secret: Option<String>,
) -> anyhow::Result<Login> {
    let secret = match secret {
        Some(s) => s,
        None => read_secret(if password {
            "Password"
        } else {
            "Temporary Access Pass"
        })?,
    };
    if secret.is_empty() {
        bail!("no {} given", if password { "password" } else { "pass" });
    }
    let session = if password {
        client.sign_in_password(user, &secret).await?
    } else {
        client.sign_in_tap(user, &secret).await?
    };
    Ok(Login {
        server: client.base().to_string(),
        access_token: session.access_token,
        refresh_token: Some(session.refresh_token),
        user: user.to_string(),
        expires_at: Some(time_text(session.expires_at)),
        client_id: None,
    })
}

pub fn logout() -> anyhow::Result<()> {
    let path = login_path()?;
    match std::fs::remove_file(&path) {
        Ok(()) => println!("Signed out."),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => println!("Not signed in."),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
