//! The requests the runs are made of — one job each, sent to the replicas round-robin — and
//! the app the bench signs in as.

use std::sync::{Arc, Mutex};

use anyhow::bail;
use serde_json::json;
use tapd_client::{Client, NewUser};

use crate::http::{Answer, Http, find};
use crate::load::closed_loop;
use crate::servers::Deployment;

/// The name of bench user `i` (the users the sign-in runs use, created over HTTP).
pub fn upn(i: usize) -> String {
    format!("bench{i}@tapd.local")
}

/// The password of the password run's users.
pub const PASSWORD: &str = "bench password, long enough";

/// The one-time pass codes issued so far, by user index.
pub type Codes = Arc<Mutex<Vec<String>>>;

/// The replicas as the runs reach them: a `tapd_client::Client` each for setup, and the lean
/// client ([`Http`]) each for what is measured. Request `i` goes to replica `i mod n`.
#[derive(Clone)]
pub struct Replicas {
    clients: Arc<Vec<Client>>,
    http: Arc<Vec<Http>>,
    token: Option<Arc<str>>,
}

impl Replicas {
    pub fn new(bases: &[String]) -> Replicas {
        Replicas {
            clients: Arc::new(bases.iter().map(Client::new).collect()),
            http: Arc::new(bases.iter().map(|b| Http::new(b)).collect()),
            token: None,
        }
    }

    /// The same replicas, signed in with `token`.
    pub fn with_token(&self, token: &str) -> Replicas {
        Replicas {
            clients: Arc::new(
                self.clients
                    .iter()
                    .map(|c| c.clone().with_token(token))
                    .collect(),
            ),
            http: Arc::new(self.http.iter().map(|h| Http::new(&h.base())).collect()),
            token: Some(token.into()),
        }
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn pick(&self, i: usize) -> &Client {
        &self.clients[i % self.clients.len()]
    }

    /// POSTs `body` to `path` on replica `i mod n` with the lean client.
    pub async fn post(&self, i: usize, path: &str, body: &[u8]) -> Option<Answer> {
        let http = &self.http[i % self.http.len()];
        http.post(path, self.token.as_deref(), body).await.ok()
    }
}

/// Creates bench user `i`; answers whether the server created it.
pub async fn create_user(admin: Replicas, i: usize) -> bool {
    let Ok(body) = serde_json::to_vec(&NewUser::new(&upn(i), "Bench user")) else {
        return false;
    };
    let answer = admin.post(i, "/v1.0/users", &body).await;
    answer.is_some_and(|a| a.is_success())
}

/// A created pass as the bench reads it: only its code.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    temporary_access_pass: Option<String>,
}

/// Issues user `i` a one-time pass and keeps its code.
pub async fn issue_pass(admin: Replicas, codes: Codes, i: usize) -> bool {
    let path = format!(
        "/v1.0/users/{}/authentication/temporaryAccessPassMethods",
        tapd_core::percent_encode(&upn(i))
    );
    let Some(answer) = admin.post(i, &path, br#"{"isUsableOnce":true}"#).await else {
        return false;
    };
    let code = match serde_json::from_slice::<Created>(&answer.body) {
        Ok(created) if answer.is_success() => created.temporary_access_pass,
        _ => None,
    };
    match code {
        Some(code) => {
            codes.lock().expect("codes")[i] = code;
            true
        }
        None => false,
    }
}

/// Presents `code` for `user` to replica `i mod n`; answers whether the server accepted it
/// (with the tokens a sign-in answers).
async fn present(anon: &Replicas, i: usize, user: &str, code: &str) -> bool {
    let body = json!({"username": user, "code": code}).to_string();
    let answer = anon.post(i, "/api/signin/tap", body.as_bytes()).await;
    answer.is_some_and(|a| a.status == 200 && find(&a.body, b"\"access_token\"").is_some())
}

/// Signs in with user `i`'s pass; answers whether the server accepted it.
pub async fn sign_in(anon: Replicas, codes: Codes, i: usize) -> bool {
    let code = codes.lock().expect("codes")[i].clone();
    present(&anon, i, &upn(i), &code).await
}

/// Presents user `i`'s pass twice at once, to replica `i` and to the next; answers how many of
/// the two sign-ins succeeded.
pub async fn present_twice(anon: Replicas, codes: Codes, i: usize) -> usize {
    let code = codes.lock().expect("codes")[i].clone();
    let user = upn(i);
    let (first, second) = tokio::join!(
        present(&anon, i, &user, &code),
        present(&anon, i + 1, &user, &code)
    );
    first as usize + second as usize
}

/// Issues fresh one-time passes to users `0..count` (replacing any earlier ones), unmeasured.
pub async fn reissue(
    admin: &Replicas,
    codes: &Codes,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<()> {
    let (a, c) = (admin.clone(), codes.clone());
    let stats = closed_loop(count, concurrency, move |i| {
        issue_pass(a.clone(), c.clone(), i)
    })
    .await;
    if stats.errors > 0 {
        bail!("{} of {count} passes could not be issued", stats.errors);
    }
    Ok(())
}

/// Registers an app with the admin permissions the bench needs; answers its access token.
pub async fn admin_client(deployment: &Deployment, anon: &Client) -> anyhow::Result<String> {
    let mut create = deployment.command(0);
    create.args([
        "app",
        "create",
        "--name",
        "bench",
        "--json",
        "--permission",
        "User.ReadWrite.All",
        "--permission",
        "UserAuthenticationMethod.ReadWrite.All",
        "--permission",
        "Policy.ReadWrite.AuthenticationMethod",
    ]);
    let out = create.output()?;
    if !out.status.success() {
        bail!("app create: {}", String::from_utf8_lossy(&out.stderr));
    }
    let creds: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let token = anon
        .client_credentials(
            creds["client_id"].as_str().unwrap_or(""),
            creds["client_secret"].as_str().unwrap_or(""),
        )
        .await?;
    Ok(token.access_token)
}
