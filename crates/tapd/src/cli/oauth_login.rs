//! `tapd login --browser` and `tapd login --device-code`: the CLI signs in as tapd's built-in
//! public client (`tapd_core::CLI_CLIENT_ID`). The browser way is the authorization code with
//! PKCE (S256) and a loopback redirect to a one-shot listener on 127.0.0.1 (RFC 8252 §7.3, as
//! `az login` does); the device way is RFC 8628's device authorization grant, for machines
//! without a browser. Either keeps the access and refresh tokens.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tapd_client::{Client, ClientError, TokenResponse};
use tapd_core::CLI_CLIENT_ID;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::login::Login;
use super::output::time_text;

/// What the CLI asks for: an ID token (who signed in) and a refresh token.
const SCOPE: &str = "openid profile offline_access";

/// How long `--browser` waits for the redirect.
const BROWSER_WAIT: Duration = Duration::from_secs(300);

/// Largest request head the loopback listener reads.
const MAX_REQUEST: usize = 8 * 1024;

fn random_text(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow!("the OS random number generator failed: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// The kept sign-in of a token answer; the user is read from the ID token (or the access
/// token).
fn kept(client: &Client, tokens: TokenResponse) -> anyhow::Result<Login> {
    let claims = |jwt: &str| -> Option<serde_json::Value> {
        let payload = jwt.split('.').nth(1)?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    };
    let user = [
        tokens.id_token.as_deref(),
        Some(tokens.access_token.as_str()),
    ]
    .into_iter()
    .flatten()
    .filter_map(claims)
    .find_map(|c| {
        c.get("preferred_username")
            .or_else(|| c.get("upn"))
            .and_then(|u| u.as_str().map(str::to_string))
    })
    .unwrap_or_default();
    let expires = OffsetDateTime::now_utc()
        + time::Duration::seconds(tokens.expires_in.clamp(0, 366 * 86_400));
    Ok(Login {
        server: client.base().to_string(),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        user,
        expires_at: Some(time_text(expires)),
        client_id: Some(CLI_CLIENT_ID.to_string()),
    })
}

/// The authorization endpoint the server's discovery names (its public URL, which browsers
/// reach), else the one beside `--server`.
async fn authorization_endpoint(client: &Client) -> anyhow::Result<String> {
    let discovery = client.get("/.well-known/openid-configuration").await?;
    Ok(discovery["authorization_endpoint"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}/oauth2/v2.0/authorize", client.base())))
}

/// Tries to open `url` in the person's browser, quietly; when there is no display or no
/// opener, the printed URL is what they use.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        Some("open")
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    {
        Some("xdg-open")
    } else {
        None
    };
    if let Some(opener) = opener {
        let _ = std::process::Command::new(opener)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
}

/// `tapd login --browser`.
pub async fn browser(
    client: &Client,
    login_hint: Option<&str>,
    open: bool,
) -> anyhow::Result<Login> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("could not listen on 127.0.0.1 for the browser's redirect")?;
    let port = listener.local_addr()?.port();
    let redirect_uri = format!("http://127.0.0.1:{port}/");
    let verifier = random_text(32)?;
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let state = random_text(16)?;
    let client_id = CLI_CLIENT_ID.to_string();
    let mut params = vec![
        ("client_id", client_id.as_str()),
        ("response_type", "code"),
        ("redirect_uri", redirect_uri.as_str()),
        ("scope", SCOPE),
        ("state", state.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if let Some(hint) = login_hint {
        params.push(("login_hint", hint));
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let url = format!("{}?{query}", authorization_endpoint(client).await?);
    eprintln!(
        "Open this URL in a browser to sign in (waiting {} minutes):\n{url}",
        BROWSER_WAIT.as_secs() / 60
    );
    if open {
        open_browser(&url);
    }
    let code = tokio::time::timeout(BROWSER_WAIT, redirect(&listener, &state))
        .await
        .map_err(|_| {
            anyhow!(
                "no sign-in came back within {} minutes; run `tapd login --browser` again \
                 (or `tapd login --device-code` where no browser can reach this machine)",
                BROWSER_WAIT.as_secs() / 60
            )
        })??;
    let tokens = client
        .token_grant(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id.as_str()),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .await?;
    kept(client, tokens)
}

/// Waits for the browser's redirect carrying `state`: its code, or the refusal it brings.
/// Anything else reaching the port (another path, a wrong state) is answered and ignored.
async fn redirect(listener: &TcpListener, state: &str) -> anyhow::Result<String> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        let Ok(Ok(Some(target))) =
            tokio::time::timeout(Duration::from_secs(10), request_target(&mut stream)).await
        else {
            continue;
        };
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let param = |name: &str| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let state_ok = param("state").is_some_and(|s| {
            s.len() == state.len()
                && s.bytes()
                    .zip(state.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        });
        if path != "/" || !state_ok {
            answer(
                &mut stream,
                "404 Not Found",
                "Not the sign-in this terminal waits for.",
            )
            .await;
            continue;
        }
        if let Some(code) = param("code") {
            answer(
                &mut stream,
                "200 OK",
                "Signed in. You can close this window and go back to the terminal.",
            )
            .await;
            return Ok(code);
        }
        let error = param("error").unwrap_or_else(|| "no code".into());
        let description = param("error_description").unwrap_or_default();
        answer(
            &mut stream,
            "400 Bad Request",
            "The sign-in failed; the terminal says why.",
        )
        .await;
        bail!("the sign-in was refused: {error}: {description}");
    }
}

/// The request target of an HTTP/1 GET (bounded: at most [`MAX_REQUEST`] bytes are read).
async fn request_target(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() + n > MAX_REQUEST {
            return Ok(None);
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut first = text.lines().next().unwrap_or_default().split(' ');
    Ok(match (first.next(), first.next()) {
        (Some("GET"), Some(target)) => Some(target.to_string()),
        _ => None,
    })
}

async fn answer(stream: &mut TcpStream, status: &str, text: &str) {
    let body = format!(
        "<!doctype html><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>tapd</title><p>{text}</p>"
    );
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// `tapd login --device-code`.
pub async fn device_code(client: &Client) -> anyhow::Result<Login> {
    let client_id = CLI_CLIENT_ID.to_string();
    let started = client.device_authorization(&client_id, SCOPE).await?;
    eprintln!("{}", started.message);
    eprintln!("(or open {})", started.verification_uri_complete);
    let mut interval = Duration::from_secs(started.interval.clamp(1, 60) as u64);
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(started.expires_in.clamp(1, 3600) as u64);
    loop {
        tokio::time::sleep(interval).await;
        let polled = client
            .token_grant(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", client_id.as_str()),
                ("device_code", started.device_code.as_str()),
            ])
            .await;
        match polled {
            Ok(tokens) => return kept(client, tokens),
            Err(ClientError::Api { code, message, .. }) => match code.as_str() {
                "authorization_pending" => {}
                "slow_down" => interval += Duration::from_secs(5),
                "access_denied" => bail!("the sign-in was denied at {}", started.verification_uri),
                "expired_token" => bail!(
                    "the code {} expired before it was approved; run `tapd login --device-code` again",
                    started.user_code
                ),
                _ => bail!("the sign-in failed: {message} ({code})"),
            },
            Err(e) => return Err(e.into()),
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "the code {} expired before it was approved; run `tapd login --device-code` again",
                started.user_code
            );
        }
    }
}
