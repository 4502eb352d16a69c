//! The requests the runs are made of — one job each, sent to the replicas round-robin — and
//! the app the bench signs in as.

use std::sync::{Arc, Mutex};

use anyhow::bail;
use serde_json::json;
use tapd_client::Client;

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

/// A client per replica; request `i` goes to replica `i mod n`.
#[derive(Clone)]
pub struct Replicas(pub Arc<Vec<Client>>);

impl Replicas {
    pub fn pick(&self, i: usize) -> &Client {
        &self.0[i % self.0.len()]
    }
}

/// Issues user `i` a one-time pass and keeps its code.
pub async fn issue_pass(admin: Replicas, codes: Codes, i: usize) -> bool {
    match admin
        .pick(i)
        .create_tap(&upn(i), &json!({"isUsableOnce": true}))
        .await
    {
        Ok(p) => {
            codes.lock().expect("codes")[i] = p.temporary_access_pass.unwrap_or_default();
            true
        }
        Err(_) => false,
    }
}

/// Signs in with user `i`'s pass; answers whether the server accepted it.
pub async fn sign_in(anon: Replicas, codes: Codes, i: usize) -> bool {
    let code = codes.lock().expect("codes")[i].clone();
    anon.pick(i).sign_in_tap(&upn(i), &code).await.is_ok()
}

/// Presents user `i`'s pass twice at once, to replica `i` and to the next; answers how many of
/// the two sign-ins succeeded.
pub async fn present_twice(anon: Replicas, codes: Codes, i: usize) -> usize {
    let code = codes.lock().expect("codes")[i].clone();
    let user = upn(i);
    let (first, second) = tokio::join!(
        anon.pick(i).sign_in_tap(&user, &code),
        anon.pick(i + 1).sign_in_tap(&user, &code)
    );
    first.is_ok() as usize + second.is_ok() as usize
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
