//! Where the CLI's server and token come from: flags, environment, or the login `tapd login`
//! keeps; and the `login` and `logout` commands.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tapd_client::Client;

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
#[derive(Serialize, Deserialize)]
struct Login {
    server: String,
    access_token: String,
    refresh_token: Option<String>,
    user: String,
    expires_at: Option<String>,
}

fn login_path() -> anyhow::Result<PathBuf> {
    let dir = dirs::config_dir().context("no config directory for this user")?;
    Ok(dir.join("tapd").join("login.json"))
}

fn read_login() -> Option<Login> {
    let bytes = std::fs::read(login_path().ok()?).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_login(login: &Login) -> anyhow::Result<PathBuf> {
    let path = login_path()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(&serde_json::to_vec_pretty(login)?)?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

impl Connection {
    pub(super) fn server(&self) -> String {
        self.server
            .clone()
            .or_else(|| read_login().map(|l| l.server))
            .unwrap_or_else(|| DEFAULT_SERVER.into())
    }

    pub(super) fn client(&self) -> anyhow::Result<Client> {
        let client = Client::new(self.server());
        let token = match &self.token {
            Some(t) => t.clone(),
            None => match read_login() {
                Some(l)
                    if self
                        .server
                        .as_ref()
                        .is_none_or(|s| s.trim_end_matches('/') == l.server) =>
                {
                    l.access_token
                }
                _ => bail!("not signed in: run `tapd login --user <upn>` or pass --token"),
            },
        };
        Ok(client.with_token(token))
    }
}

fn read_secret(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

pub async fn login(
    user: &str,
    password: bool,
    secret: Option<String>,
    conn: &Connection,
) -> anyhow::Result<()> {
    let client = Client::new(conn.server());
    let secret = match secret {
        Some(s) => s,
        None => read_secret(if password {
            "Password"
        } else {
            "Temporary Access Pass"
        })?,
    };
    let session = if password {
        client.sign_in_password(user, &secret).await?
    } else {
        client.sign_in_tap(user, &secret).await?
    };
    let login = Login {
        server: client.base().to_string(),
        access_token: session.access_token,
        refresh_token: Some(session.refresh_token),
        user: user.to_string(),
        expires_at: Some(time_text(session.expires_at)),
    };
    let path = write_login(&login)?;
    if conn.json {
        println!(
            "{}",
            json!({"user": user, "server": login.server, "expires_at": login.expires_at})
        );
    } else {
        println!(
            "Signed in as {user} until {}. Token kept in {}.",
            login.expires_at.as_deref().unwrap_or("?"),
            path.display()
        );
    }
    Ok(())
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
