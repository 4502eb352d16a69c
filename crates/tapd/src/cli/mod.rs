//! The admin CLI: the counterpart of Microsoft Graph PowerShell's TAP cmdlets and friends,
//! talking to a tapd server over HTTP. Human tables by default, `--json` for scripts; errors
//! print the server's message and exit non-zero.
//!
//! This module holds the commands' definitions and sends each to the module that runs it.

mod audit;
mod bulk;
mod directory;
mod login;
mod oauth_login;
mod organization;
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
    #[command(
        after_help = "Examples:\n  tapd login --browser                               # a passkey in the browser\n  tapd login --device-code                           # on a machine without a browser\n  tapd login --user admin@tapd.local                 # asks for the pass\n  TAPD_SECRET=… tapd login --user admin@tapd.local --password --server https://id.example.org"
    )]
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
    #[command(after_help = "Example:\n  tapd logout")]
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
    /// The organization's domains, and a domain's federation with an OpenID Connect provider.
    Domain {
        #[command(subcommand)]
        command: DomainCommand,
        #[command(flatten)]
        conn: Connection,
    },
    /// The cross-tenant access partners: other organizations whose users may sign in here as
    /// guests.
    Partner {
        #[command(subcommand)]
        command: PartnerCommand,
        #[command(flatten)]
        conn: Connection,
    },
    /// The audit log (changes, or sign-ins with --sign-ins), newest first.
    #[command(after_help = "Examples:\n  tapd audit\n  tapd audit --sign-ins --top 200 --json")]
    Audit {
        /// The sign-in log instead of the directory's changes.
        #[arg(long)]
        sign_ins: bool,
        /// How many entries (at most 999).
        #[arg(long, default_value_t = 50)]
        top: u32,
        #[command(flatten)]
        conn: Connection,
    },
}

#[derive(Subcommand)]
pub enum TapCommand {
    /// Issue a pass (replaces the user's current one) and show its code, once.
    #[command(
        after_help = "Examples:\n  tapd tap new --user alice@tapd.local --once --lifetime 120\n  tapd tap new --user alice@tapd.local --start 2026-12-07T08:00:00+01:00 --json"
    )]
    New {
        /// The user, by user principal name or id.
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
    #[command(after_help = "Example:\n  tapd tap get --user alice@tapd.local")]
    Get {
        /// The user, by user principal name or id.
        #[arg(long)]
        user: String,
    },
    /// Delete a user's pass; sessions opened with it end.
    #[command(after_help = "Example:\n  tapd tap remove --user alice@tapd.local")]
    Remove {
        /// The user, by user principal name or id.
        #[arg(long)]
        user: String,
    },
    /// Issue passes to every user of a CSV file and write the passes to a results file.
    ///
    /// The first row names the columns: userPrincipalName (required), and optionally
    /// startDateTime, lifetimeInMinutes and isUsableOnce. A bad row is reported in the
    /// results and doesn't stop the others. The results file (owner-only, never overwritten)
    /// has userPrincipalName, temporaryAccessPass, startDateTime, endDateTime, status and error.
    /// Exits 1 when any row failed.
    #[command(
        after_help = "Example:\n  tapd tap bulk --csv new-hires.csv --out passes.csv\n  tapd tap bulk --csv new-hires.csv --skip-existing --out passes-2.csv   # resume\n  tapd tap bulk --csv new-hires.csv --email manager                       # mail each manager a link"
    )]
    Bulk {
        /// The CSV file of users.
        #[arg(long)]
        csv: std::path::PathBuf,
        /// The results file [default: FILE.results.csv beside the input].
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// Leave users who already hold a pass as they are (to resume an interrupted run).
        #[arg(long)]
        skip_existing: bool,
        /// Passes issued at the same time.
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=256))]
        concurrency: u16,
        /// Write a one-time link that shows the pass once to the results file, instead of the pass.
        #[arg(long, conflicts_with = "email")]
        link: bool,
        /// Mail each user, or their manager, a one-time link (needs [smtp] on the server).
        #[arg(long, value_name = "user|manager", value_parser = ["user", "manager"])]
        email: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Show the TAP policy.
    #[command(after_help = "Example:\n  tapd policy get --json")]
    Get,
    /// Change settings; the server validates them all together.
    #[command(
        after_help = "Examples:\n  tapd policy set --once true --max-lifetime 240\n  tapd policy set --state enabled --include-group all_users --exclude-user ceo@tapd.local"
    )]
    Set {
        /// Whether passes may be issued and used.
        #[arg(long, value_parser = ["enabled", "disabled"])]
        state: Option<String>,
        /// The shortest lifetime an issuer may ask for, in minutes (10 to 43200).
        #[arg(long)]
        min_lifetime: Option<u32>,
        /// The longest lifetime, in minutes (10 to 43200).
        #[arg(long)]
        max_lifetime: Option<u32>,
        /// The lifetime of a pass whose issuer asks for none, in minutes.
        #[arg(long)]
        default_lifetime: Option<u32>,
        /// true: every pass is one-time; false: the issuer chooses.
        #[arg(long)]
        once: Option<bool>,
        /// Code length in characters (8 to 48).
        #[arg(long)]
        length: Option<u32>,
        /// Replace the include targets with these groups (ids or all_users).
        #[arg(long = "include-group")]
        include_groups: Vec<String>,
        /// Replace the include targets' users with these (ids or UPNs).
        #[arg(long = "include-user")]
        include_users: Vec<String>,
        /// Replace the exclude targets' groups with these (ids).
        #[arg(long = "exclude-group")]
        exclude_groups: Vec<String>,
        /// Replace the exclude targets' users with these (ids or UPNs).
        #[arg(long = "exclude-user")]
        exclude_users: Vec<String>,
    },
    /// Back to the defaults.
    #[command(after_help = "Example:\n  tapd policy reset")]
    Reset,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user.
    #[command(
        after_help = "Example:\n  tapd user add --upn alice@tapd.local --name \"Alice Liddell\""
    )]
    Add {
        /// The user principal name, in the directory's domain.
        #[arg(long)]
        upn: String,
        /// The display name.
        #[arg(long)]
        name: String,
        /// A password (most users need none: a pass, then a passkey).
        #[arg(long, env = "TAPD_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// An internal guest.
        #[arg(long)]
        guest: bool,
    },
    /// List the users.
    #[command(after_help = "Example:\n  tapd user list --json")]
    List,
    /// Show one user.
    #[command(after_help = "Example:\n  tapd user show alice@tapd.local")]
    Show {
        /// The user, by user principal name or id.
        user: String,
    },
    /// Delete a user.
    #[command(after_help = "Example:\n  tapd user remove alice@tapd.local")]
    Remove {
        /// The user, by user principal name or id.
        user: String,
    },
}

#[derive(Subcommand)]
pub enum GroupCommand {
    /// Create a security group.
    #[command(after_help = "Example:\n  tapd group add --name Onboarding")]
    Add {
        /// The group's display name.
        #[arg(long)]
        name: String,
    },
    /// List the groups.
    #[command(after_help = "Example:\n  tapd group list")]
    List,
    /// A group's members.
    Member {
        #[command(subcommand)]
        command: MemberCommand,
    },
}

#[derive(Subcommand)]
pub enum MemberCommand {
    /// Add a user to a group.
    #[command(
        after_help = "Example:\n  tapd group member add --group 4f2a… --user alice@tapd.local"
    )]
    Add {
        /// The group's id (from `tapd group list`).
        #[arg(long)]
        group: String,
        /// The user, by user principal name or id.
        #[arg(long)]
        user: String,
    },
    /// Remove a user from a group.
    #[command(
        after_help = "Example:\n  tapd group member remove --group 4f2a… --user alice@tapd.local"
    )]
    Remove {
        /// The group's id.
        #[arg(long)]
        group: String,
        /// The user, by user principal name or id.
        #[arg(long)]
        user: String,
    },
    /// List a group's members.
    #[command(after_help = "Example:\n  tapd group member list --group 4f2a…")]
    List {
        /// The group's id.
        #[arg(long)]
        group: String,
    },
}

#[derive(Subcommand)]
pub enum RoleCommand {
    /// Give a user a built-in role (name like "Authentication Administrator", alias like auth-admin, or template id).
    #[command(
        after_help = "Example:\n  tapd role assign --user bob@tapd.local --role \"Authentication Administrator\""
    )]
    Assign {
        /// The user, by user principal name or id.
        #[arg(long)]
        user: String,
        /// The role: its name, an alias (auth-admin, helpdesk, …) or its template id.
        #[arg(long)]
        role: String,
    },
    /// List role assignments.
    #[command(after_help = "Example:\n  tapd role list --user bob@tapd.local")]
    List {
        /// Only this user's (by user principal name or id).
        #[arg(long)]
        user: Option<String>,
    },
    /// Remove a role assignment.
    #[command(after_help = "Example:\n  tapd role remove 8d1e…   # the id from `tapd role list`")]
    Remove {
        /// The assignment id.
        id: String,
    },
}

#[derive(Subcommand)]
pub enum DomainCommand {
    /// List the domains (the default first).
    #[command(after_help = "Example:\n  tapd domain list --json")]
    List,
    /// Add a domain: users may be named alias@DOMAIN (no DNS check).
    #[command(after_help = "Example:\n  tapd domain add contoso.com")]
    Add { name: String },
    /// Make a domain the default (where guests' names and the first admin's live).
    #[command(after_help = "Example:\n  tapd domain default contoso.com")]
    Default { name: String },
    /// Remove a domain no user's name uses (not the default).
    #[command(after_help = "Example:\n  tapd domain remove old.example")]
    Remove { name: String },
    /// Federate a domain with an OpenID Connect provider (or change its federation): its users
    /// then sign in there, unless they hold a usable pass.
    #[command(
        after_help = "Example:\n  TAPD_FEDERATION_SECRET=… tapd domain federate fabrikam.com --display-name \"Fabrikam IdP\" \\\n    --issuer https://idp.fabrikam.com --client-id tapd --mfa enforce"
    )]
    Federate {
        name: String,
        /// The provider's name, shown on the sign-in page.
        #[arg(long)]
        display_name: String,
        /// The provider's issuer (discovery: ISSUER/.well-known/openid-configuration).
        #[arg(long)]
        issuer: String,
        /// tapd's client id at the provider.
        #[arg(long)]
        client_id: String,
        /// tapd's client secret at the provider (none for a public client).
        #[arg(long, env = "TAPD_FEDERATION_SECRET", hide_env_values = true)]
        client_secret: Option<String>,
        /// What the provider's MFA counts for.
        #[arg(long, value_enum, default_value = "accept")]
        mfa: MfaChoice,
    },
    /// Show a domain's federation.
    #[command(after_help = "Example:\n  tapd domain federation fabrikam.com")]
    Federation { name: String },
    /// End a domain's federation: its users sign in with tapd again.
    #[command(after_help = "Example:\n  tapd domain unfederate fabrikam.com")]
    Unfederate { name: String },
}

/// `federatedIdpMfaBehavior`, by a short name.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum MfaChoice {
    /// acceptIfMfaDoneByFederatedIdp: the provider's MFA counts when it did one.
    Accept,
    /// enforceMfaByFederatedIdp: the provider must do the MFA.
    Enforce,
    /// rejectMfaByFederatedIdp: the provider's MFA never counts.
    Reject,
}

impl MfaChoice {
    fn graph_name(self) -> &'static str {
        match self {
            MfaChoice::Accept => "acceptIfMfaDoneByFederatedIdp",
            MfaChoice::Enforce => "enforceMfaByFederatedIdp",
            MfaChoice::Reject => "rejectMfaByFederatedIdp",
        }
    }
}

#[derive(Subcommand)]
pub enum PartnerCommand {
    /// List the partners and whether their sign-ins are trusted.
    #[command(after_help = "Example:\n  tapd partner list")]
    List,
    /// Add another organization (by tenant id) as a partner.
    #[command(after_help = "Example:\n  tapd partner add 3f1c… --trust-mfa")]
    Add {
        tenant: String,
        /// Trust its sign-ins (and their MFA): its users invited here sign in at home.
        #[arg(long)]
        trust_mfa: bool,
    },
    /// Trust a partner's sign-ins, or stop (--mfa false).
    #[command(after_help = "Example:\n  tapd partner trust 3f1c… --mfa false")]
    Trust {
        tenant: String,
        #[arg(long, action = clap::ArgAction::Set, default_value_t = true)]
        mfa: bool,
    },
    /// Remove a partner.
    #[command(after_help = "Example:\n  tapd partner remove 3f1c…")]
    Remove { tenant: String },
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
            | AdminCommand::Domain { conn, .. }
            | AdminCommand::Partner { conn, .. }
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
        AdminCommand::Domain { command, conn } => organization::domain(command, &conn).await?,
        AdminCommand::Partner { command, conn } => organization::partner(command, &conn).await?,
        AdminCommand::Audit {
            sign_ins,
            top,
            conn,
        } => audit::audit(sign_ins, top, &conn).await?,
    }
    Ok(ExitCode::SUCCESS)
}
