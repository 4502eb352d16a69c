//! The admin CLI: the counterpart of Microsoft Graph PowerShell's TAP cmdlets and friends,
//! talking to a tapd server over HTTP. Human tables by default, `--json` for scripts; errors
//! print the server's message and exit non-zero.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tapd_client::{Client, segment};
use tapd_core::Role;

#[derive(Args, Clone)]
pub struct Connection {
    /// Server URL [default: the one from `tapd login`, else http://127.0.0.1:8080].
    #[arg(long, env = "TAPD_SERVER", global = true)]
    server: Option<String>,
    /// Bearer token [default: the one from `tapd login`].
    #[arg(long, env = "TAPD_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Sign in with a Temporary Access Pass or a password and keep the token for later commands.
    Login {
        #[arg(long)]
        user: String,
        /// Sign in with a password instead of a pass.
        #[arg(long)]
        password: bool,
        /// The pass or password (read from standard input when absent).
        #[arg(long, env = "TAPD_SECRET", hide_env_values = true)]
        secret: Option<String>,
        #[command(flatten)]
        conn: Connection,
    },
    /// Forget the stored login.
    Logout,
    /// Temporary Access Passes.
    Tap {
        #[command(subcommand)]
        command: TapCommand,
        #[command(flatten)]
        conn: Connection,
    },
    /// The TAP policy.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
        #[command(flatten)]
        conn: Connection,
    },
    /// Users.
    User {
        #[command(subcommand)]
        command: UserCommand,
        #[command(flatten)]
        conn: Connection,
    },
    /// Groups and members.
    Group {
        #[command(subcommand)]
        command: GroupCommand,
        #[command(flatten)]
        conn: Connection,
    },
    /// Directory role assignments.
    Role {
        #[command(subcommand)]
        command: RoleCommand,
        #[command(flatten)]
        conn: Connection,
    },
    /// The audit log (changes, or sign-ins with --sign-ins).
    Audit {
        #[arg(long)]
        sign_ins: bool,
        #[arg(long, default_value_t = 50)]
        top: u32,
        #[command(flatten)]
        conn: Connection,
    },
}

#[derive(Subcommand)]
pub enum TapCommand {
    /// Issue a pass (replaces the user's current one).
    New {
        #[arg(long)]
        user: String,
        /// Activation time, RFC 3339 (default now).
        #[arg(long)]
        start: Option<String>,
        /// Lifetime in minutes (default: the policy's).
        #[arg(long)]
        lifetime: Option<u32>,
        /// One-time use.
        #[arg(long)]
        once: bool,
    },
    /// Show a user's pass (never the code).
    Get {
        #[arg(long)]
        user: String,
    },
    /// Delete a user's pass.
    Remove {
        #[arg(long)]
        user: String,
    },
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    Get,
    /// Change settings; the server validates them all together.
    Set {
        #[arg(long, value_parser = ["enabled", "disabled"])]
        state: Option<String>,
        #[arg(long)]
        min_lifetime: Option<u32>,
        #[arg(long)]
        max_lifetime: Option<u32>,
        #[arg(long)]
        default_lifetime: Option<u32>,
        #[arg(long)]
        once: Option<bool>,
        #[arg(long)]
        length: Option<u32>,
        /// Replace the include targets with these groups (ids or all_users).
        #[arg(long = "include-group")]
        include_groups: Vec<String>,
        /// Replace the include targets' users with these (ids or UPNs).
        #[arg(long = "include-user")]
        include_users: Vec<String>,
        #[arg(long = "exclude-group")]
        exclude_groups: Vec<String>,
        #[arg(long = "exclude-user")]
        exclude_users: Vec<String>,
    },
    /// Back to the defaults.
    Reset,
}

#[derive(Subcommand)]
pub enum UserCommand {
    Add {
        #[arg(long)]
        upn: String,
        #[arg(long)]
        name: String,
        #[arg(long, env = "TAPD_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// An internal guest.
        #[arg(long)]
        guest: bool,
    },
    List,
    Show {
        user: String,
    },
    Remove {
        user: String,
    },
}

#[derive(Subcommand)]
pub enum GroupCommand {
    Add {
        #[arg(long)]
        name: String,
    },
    List,
    Member {
        #[command(subcommand)]
        command: MemberCommand,
    },
}

#[derive(Subcommand)]
pub enum MemberCommand {
    Add {
        #[arg(long)]
        group: String,
        #[arg(long)]
        user: String,
    },
    Remove {
        #[arg(long)]
        group: String,
        #[arg(long)]
        user: String,
    },
    List {
        #[arg(long)]
        group: String,
    },
}

#[derive(Subcommand)]
pub enum RoleCommand {
    /// Give a user a built-in role (name like "Authentication Administrator", alias like auth-admin, or template id).
    Assign {
        #[arg(long)]
        user: String,
        #[arg(long)]
        role: String,
    },
    List {
        #[arg(long)]
        user: Option<String>,
    },
    Remove {
        /// The assignment id.
        id: String,
    },
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
    fn server(&self) -> String {
        self.server
            .clone()
            .or_else(|| read_login().map(|l| l.server))
            .unwrap_or_else(|| DEFAULT_SERVER.into())
    }

    fn client(&self) -> anyhow::Result<Client> {
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

pub async fn run(cmd: AdminCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AdminCommand::Login {
            user,
            password,
            secret,
            conn,
        } => {
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
                client.sign_in_password(&user, &secret).await?
            } else {
                client.sign_in_tap(&user, &secret).await?
            };
            let login = Login {
                server: client.base().to_string(),
                access_token: str_of(&session, "access_token"),
                refresh_token: session["refresh_token"].as_str().map(str::to_string),
                user: user.clone(),
                expires_at: session["expires_at"].as_str().map(str::to_string),
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
        }
        AdminCommand::Logout => {
            let path = login_path()?;
            match std::fs::remove_file(&path) {
                Ok(()) => println!("Signed out."),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => println!("Not signed in."),
                Err(e) => return Err(e.into()),
            }
        }
        AdminCommand::Tap { command, conn } => tap(command, &conn).await?,
        AdminCommand::Policy { command, conn } => policy(command, &conn).await?,
        AdminCommand::User { command, conn } => user(command, &conn).await?,
        AdminCommand::Group { command, conn } => group(command, &conn).await?,
        AdminCommand::Role { command, conn } => role(command, &conn).await?,
        AdminCommand::Audit {
            sign_ins,
            top,
            conn,
        } => {
            let client = conn.client()?;
            let path = if sign_ins {
                "signIns"
            } else {
                "directoryAudits"
            };
            let page = client
                .get(&format!("/v1.0/auditLogs/{path}?$top={top}"))
                .await?;
            if conn.json {
                println!("{}", serde_json::to_string_pretty(&page)?);
            } else if sign_ins {
                table(
                    &["TIME", "USER", "METHOD", "RESULT", "FROM"],
                    rows(&page, |e| {
                        vec![
                            str_of(e, "createdDateTime"),
                            str_of(e, "userPrincipalName"),
                            e["authenticationMethodsUsed"][0]
                                .as_str()
                                .unwrap_or("")
                                .into(),
                            e["status"]["failureReason"]
                                .as_str()
                                .map_or("success".into(), |r| format!("failure: {r}")),
                            str_of(e, "ipAddress"),
                        ]
                    }),
                );
            } else {
                table(
                    &["TIME", "ACTIVITY", "BY", "TARGET"],
                    rows(&page, |e| {
                        vec![
                            str_of(e, "activityDateTime"),
                            str_of(e, "activityDisplayName"),
                            e["initiatedBy"]["user"]["userPrincipalName"]
                                .as_str()
                                .or(e["initiatedBy"]["app"]["displayName"].as_str())
                                .unwrap_or("")
                                .into(),
                            e["targetResources"][0]["userPrincipalName"]
                                .as_str()
                                .or(e["targetResources"][0]["displayName"].as_str())
                                .unwrap_or("")
                                .into(),
                        ]
                    }),
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn str_of(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn rows(page: &Value, f: impl Fn(&Value) -> Vec<String>) -> Vec<Vec<String>> {
    page["value"]
        .as_array()
        .map(|a| a.iter().map(f).collect())
        .unwrap_or_default()
}

fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    if rows.is_empty() {
        println!("(none)");
    }
    for row in rows {
        line(row);
    }
}

fn print_object(v: &Value, json: bool, fields: &[(&str, &str)]) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(v)?);
    } else {
        let width = fields
            .iter()
            .map(|(label, _)| label.len())
            .max()
            .unwrap_or(0);
        for (label, key) in fields {
            println!("{label:<width$}  {}", str_of(v, key));
        }
    }
    Ok(())
}

const TAP_FIELDS: [(&str, &str); 8] = [
    ("Id", "id"),
    ("Pass", "temporaryAccessPass"),
    ("Created", "createdDateTime"),
    ("Start", "startDateTime"),
    ("Lifetime (min)", "lifetimeInMinutes"),
    ("One-time", "isUsableOnce"),
    ("Usable", "isUsable"),
    ("Reason", "methodUsabilityReason"),
];

async fn tap(cmd: TapCommand, conn: &Connection) -> anyhow::Result<()> {
    let client = conn.client()?;
    match cmd {
        TapCommand::New {
            user,
            start,
            lifetime,
            once,
        } => {
            let mut body = json!({});
            if let Some(s) = start {
                body["startDateTime"] = json!(s);
            }
            if let Some(l) = lifetime {
                body["lifetimeInMinutes"] = json!(l);
            }
            if once {
                body["isUsableOnce"] = json!(true);
            }
            let pass = client.create_tap(&user, &body).await?;
            print_object(&pass, conn.json, &TAP_FIELDS)?;
            if !conn.json {
                println!("\nGive the pass to {user} now: it is not shown again.");
            }
        }
        TapCommand::Get { user } => {
            let list = client.list_taps(&user).await?;
            if conn.json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                match list["value"].as_array().and_then(|a| a.first()) {
                    Some(pass) => print_object(
                        pass,
                        false,
                        &TAP_FIELDS[..1]
                            .iter()
                            .chain(&TAP_FIELDS[2..])
                            .copied()
                            .collect::<Vec<_>>(),
                    )?,
                    None => println!("{user} holds no Temporary Access Pass."),
                }
            }
        }
        TapCommand::Remove { user } => {
            let list = client.list_taps(&user).await?;
            let Some(id) = list["value"][0]["id"].as_str() else {
                bail!("{user} holds no Temporary Access Pass");
            };
            client.delete_tap(&user, id).await?;
            if conn.json {
                println!("{}", json!({"deleted": id}));
            } else {
                println!("Deleted the Temporary Access Pass of {user}.");
            }
        }
    }
    Ok(())
}

const POLICY_FIELDS: [(&str, &str); 8] = [
    ("State", "state"),
    ("Minimum lifetime (min)", "minimumLifetimeInMinutes"),
    ("Maximum lifetime (min)", "maximumLifetimeInMinutes"),
    ("Default lifetime (min)", "defaultLifetimeInMinutes"),
    ("One-time only", "isUsableOnce"),
    ("Length", "defaultLength"),
    ("Include", "includeTargets"),
    ("Exclude", "excludeTargets"),
];

async fn resolve_user_id(client: &Client, user: &str) -> anyhow::Result<String> {
    Ok(str_of(&client.user(user).await?, "id"))
}

async fn policy(cmd: PolicyCommand, conn: &Connection) -> anyhow::Result<()> {
    let client = conn.client()?;
    match cmd {
        PolicyCommand::Get => {}
        PolicyCommand::Reset => {
            client.delete(tapd_client::Client::POLICY_PATH).await?;
        }
        PolicyCommand::Set {
            state,
            min_lifetime,
            max_lifetime,
            default_lifetime,
            once,
            length,
            include_groups,
            include_users,
            exclude_groups,
            exclude_users,
        } => {
            let mut patch = json!({"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration"});
            let fields = [
                ("minimumLifetimeInMinutes", min_lifetime.map(Value::from)),
                ("maximumLifetimeInMinutes", max_lifetime.map(Value::from)),
                (
                    "defaultLifetimeInMinutes",
                    default_lifetime.map(Value::from),
                ),
                ("isUsableOnce", once.map(Value::from)),
                ("defaultLength", length.map(Value::from)),
                ("state", state.map(Value::from)),
            ];
            for (key, value) in fields {
                if let Some(v) = value {
                    patch[key] = v;
                }
            }
            for (key, groups, users) in [
                ("includeTargets", include_groups, include_users),
                ("excludeTargets", exclude_groups, exclude_users),
            ] {
                if groups.is_empty() && users.is_empty() {
                    continue;
                }
                let mut targets: Vec<Value> = groups
                    .iter()
                    .map(|g| json!({"targetType": "group", "id": g}))
                    .collect();
                for u in &users {
                    targets.push(
                        json!({"targetType": "user", "id": resolve_user_id(&client, u).await?}),
                    );
                }
                patch[key] = Value::Array(targets);
            }
            client.patch_policy(&patch).await?;
        }
    }
    let policy = client.policy().await?;
    print_object(&policy, conn.json, &POLICY_FIELDS)
}

const USER_FIELDS: [(&str, &str); 6] = [
    ("Id", "id"),
    ("User principal name", "userPrincipalName"),
    ("Display name", "displayName"),
    ("Enabled", "accountEnabled"),
    ("Type", "userType"),
    ("Created", "createdDateTime"),
];

async fn user(cmd: UserCommand, conn: &Connection) -> anyhow::Result<()> {
    let client = conn.client()?;
    match cmd {
        UserCommand::Add {
            upn,
            name,
            password,
            guest,
        } => {
            let mut body = json!({"accountEnabled": true, "displayName": name, "userPrincipalName": upn, "mailNickname": upn.split('@').next().unwrap_or(&upn)});
            if let Some(p) = password {
                body["passwordProfile"] =
                    json!({"password": p, "forceChangePasswordNextSignIn": false});
            }
            if guest {
                body["userType"] = json!("Guest");
            }
            let created = client.post("/v1.0/users", &body).await?;
            print_object(&created, conn.json, &USER_FIELDS)?;
        }
        UserCommand::List => {
            let mut page = client.get("/v1.0/users?$top=999").await?;
            let mut all = page["value"].as_array().cloned().unwrap_or_default();
            while let Some(next) = page["@odata.nextLink"].as_str() {
                let path = next.strip_prefix(client.base()).unwrap_or(next).to_string();
                page = client.get(&path).await?;
                all.extend(page["value"].as_array().cloned().unwrap_or_default());
            }
            let page = json!({"value": all});
            if conn.json {
                println!("{}", serde_json::to_string_pretty(&page)?);
            } else {
                table(
                    &[
                        "USER PRINCIPAL NAME",
                        "DISPLAY NAME",
                        "TYPE",
                        "ENABLED",
                        "ID",
                    ],
                    rows(&page, |u| {
                        vec![
                            str_of(u, "userPrincipalName"),
                            str_of(u, "displayName"),
                            str_of(u, "userType"),
                            str_of(u, "accountEnabled"),
                            str_of(u, "id"),
                        ]
                    }),
                );
            }
        }
        UserCommand::Show { user } => {
            let u = client.user(&user).await?;
            print_object(&u, conn.json, &USER_FIELDS)?;
        }
        UserCommand::Remove { user } => {
            client
                .delete(&format!("/v1.0/users/{}", segment(&user)))
                .await?;
            if !conn.json {
                println!("Deleted {user}.");
            }
        }
    }
    Ok(())
}

async fn group(cmd: GroupCommand, conn: &Connection) -> anyhow::Result<()> {
    let client = conn.client()?;
    match cmd {
        GroupCommand::Add { name } => {
            let g = client
                .post(
                    "/v1.0/groups",
                    &json!({"displayName": name, "securityEnabled": true, "mailEnabled": false}),
                )
                .await?;
            print_object(
                &g,
                conn.json,
                &[("Id", "id"), ("Display name", "displayName")],
            )?;
        }
        GroupCommand::List => {
            let page = client.get("/v1.0/groups").await?;
            if conn.json {
                println!("{}", serde_json::to_string_pretty(&page)?);
            } else {
                table(
                    &["DISPLAY NAME", "ID"],
                    rows(&page, |g| vec![str_of(g, "displayName"), str_of(g, "id")]),
                );
            }
        }
        GroupCommand::Member { command } => match command {
            MemberCommand::Add { group, user } => {
                let id = resolve_user_id(&client, &user).await?;
                client.post(&format!("/v1.0/groups/{}/members/$ref", segment(&group)), &json!({"@odata.id": format!("{}/v1.0/directoryObjects/{id}", client.base())})).await?;
                if !conn.json {
                    println!("Added {user} to the group.");
                }
            }
            MemberCommand::Remove { group, user } => {
                let id = resolve_user_id(&client, &user).await?;
                client
                    .delete(&format!(
                        "/v1.0/groups/{}/members/{id}/$ref",
                        segment(&group)
                    ))
                    .await?;
                if !conn.json {
                    println!("Removed {user} from the group.");
                }
            }
            MemberCommand::List { group } => {
                let page = client
                    .get(&format!("/v1.0/groups/{}/members", segment(&group)))
                    .await?;
                if conn.json {
                    println!("{}", serde_json::to_string_pretty(&page)?);
                } else {
                    table(
                        &["USER PRINCIPAL NAME", "DISPLAY NAME", "ID"],
                        rows(&page, |u| {
                            vec![
                                str_of(u, "userPrincipalName"),
                                str_of(u, "displayName"),
                                str_of(u, "id"),
                            ]
                        }),
                    );
                }
            }
        },
    }
    Ok(())
}

async fn role(cmd: RoleCommand, conn: &Connection) -> anyhow::Result<()> {
    let client = conn.client()?;
    match cmd {
        RoleCommand::Assign { user, role } => {
            let role = Role::from_name(&role).with_context(|| {
                format!(
                    "unknown role {role}; known: {}",
                    Role::ALL.map(|r| r.display_name()).join(", ")
                )
            })?;
            let id = resolve_user_id(&client, &user).await?;
            let a = client.assign_role(&id, role.template_id()).await?;
            if conn.json {
                println!("{}", serde_json::to_string_pretty(&a)?);
            } else {
                println!(
                    "{user} now holds {} (assignment {}).",
                    role.display_name(),
                    str_of(&a, "id")
                );
            }
        }
        RoleCommand::List { user } => {
            let path = match user {
                Some(u) => format!(
                    "/v1.0/roleManagement/directory/roleAssignments?$filter=principalId%20eq%20'{}'",
                    resolve_user_id(&client, &u).await?
                ),
                None => "/v1.0/roleManagement/directory/roleAssignments".to_string(),
            };
            let page = client.get(&path).await?;
            if conn.json {
                println!("{}", serde_json::to_string_pretty(&page)?);
            } else {
                let mut out = Vec::new();
                for a in page["value"].as_array().cloned().unwrap_or_default() {
                    let principal = str_of(&a, "principalId");
                    let upn = client
                        .user(&principal)
                        .await
                        .map(|u| str_of(&u, "userPrincipalName"))
                        .unwrap_or(principal);
                    let role = Role::from_template_id(&str_of(&a, "roleDefinitionId"))
                        .map_or("?", |r| r.display_name());
                    out.push(vec![upn, role.to_string(), str_of(&a, "id")]);
                }
                table(&["USER", "ROLE", "ASSIGNMENT ID"], out);
            }
        }
        RoleCommand::Remove { id } => {
            client
                .delete(&format!(
                    "/v1.0/roleManagement/directory/roleAssignments/{}",
                    segment(&id)
                ))
                .await?;
            if !conn.json {
                println!("Removed role assignment {id}.");
            }
        }
    }
    Ok(())
}
