//! The admin CLI: the counterpart of Microsoft Graph PowerShell's TAP cmdlets and friends,
//! talking to a tapd server over HTTP. Human tables by default, `--json` for scripts; errors
//! print the server's message and exit non-zero.
//!
//! This module holds the commands' definitions and sends each to the module that runs it.

mod audit;
mod directory;
mod login;
mod oauth_login;
mod output;
mod passes;

use std::process::ExitCode;

use clap::Subcommand;

use login::Connection;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Sign in and keep the token for later commands (renewed as needed): in a browser
    /// (--browser), with a code entered on another device (--device-code), or with a
    /// Temporary Access Pass or a password (--user).
    Login {
        /// The account to sign in (with a pass or password; with --browser, the one suggested).
        #[arg(long, required_unless_present_any = ["browser", "device_code"])]
        user: Option<String>,
        /// Sign in with a password instead of a pass.
        #[arg(long, conflicts_with_all = ["browser", "device_code"])]
        password: bool,
        /// Sign in in a browser (passkey, pass or password) and come back through
        /// http://127.0.0.1 on a free port.
        #[arg(long, conflicts_with = "device_code")]
        browser: bool,
        /// Sign in on another device: open the printed page there and enter the code.
        #[arg(long)]
        device_code: bool,
        /// With --browser: print the URL without trying to open a browser.
        #[arg(long, requires = "browser")]
        no_open: bool,
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

impl AdminCommand {
    fn connection(&self) -> Option<&Connection> {
        match self {
            AdminCommand::Login { conn, .. }
            | AdminCommand::Tap { conn, .. }
            | AdminCommand::Policy { conn, .. }
            | AdminCommand::User { conn, .. }
            | AdminCommand::Group { conn, .. }
            | AdminCommand::Role { conn, .. }
            | AdminCommand::Audit { conn, .. } => Some(conn),
            AdminCommand::Logout => None,
        }
    }
}

/// Runs a command; a server that can't be reached is named in the error, with what to do.
pub async fn run(cmd: AdminCommand) -> anyhow::Result<ExitCode> {
    let server = cmd.connection().map(Connection::server);
    dispatch(cmd).await.map_err(|e| match &server {
        Some(server) => login::explain(e, server),
        None => e,
    })
}

async fn dispatch(cmd: AdminCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AdminCommand::Login {
            user,
            password,
            secret,
            browser,
            device_code,
            no_open,
            conn,
        } => {
            let how = if browser {
                login::How::Browser {
                    login_hint: user,
                    open: !no_open,
                }
            } else if device_code {
                login::How::DeviceCode
            } else {
                login::How::Secret {
                    user: user.unwrap_or_default(),
                    password,
                    secret,
                }
            };
            login::login(how, &conn).await?
        }
        AdminCommand::Logout => login::logout()?,
        AdminCommand::Tap { command, conn } => passes::tap(command, &conn).await?,
        AdminCommand::Policy { command, conn } => passes::policy(command, &conn).await?,
        AdminCommand::User { command, conn } => directory::user(command, &conn).await?,
        AdminCommand::Group { command, conn } => directory::group(command, &conn).await?,
        AdminCommand::Role { command, conn } => directory::role(command, &conn).await?,
        AdminCommand::Audit {
            sign_ins,
            top,
            conn,
        } => audit::audit(sign_ins, top, &conn).await?,
    }
    Ok(ExitCode::SUCCESS)
}
