//! The admin CLI: the counterpart of Microsoft Graph PowerShell's TAP cmdlets and friends,
//! talking to a tapd server over HTTP. Human tables by default, `--json` for scripts; errors
//! print the server's message and exit non-zero.
//!
//! This module holds the commands' definitions and sends each to the module that runs it.

mod audit;
mod directory;
mod login;
mod output;
mod passes;

use std::process::ExitCode;

use clap::Subcommand;

use login::Connection;

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
        /// Print a one-time link that shows the pass once, instead of the pass.
        #[arg(long, conflicts_with = "email")]
        link: bool,
        /// Mail a one-time link to the user or to their manager (needs [smtp] on the server).
        #[arg(long, value_name = "user|manager", value_parser = ["user", "manager"])]
        email: Option<String>,
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

pub async fn run(cmd: AdminCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AdminCommand::Login {
            user,
            password,
            secret,
            conn,
        } => login::login(&user, password, secret, &conn).await?,
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
