//! `tapd tap` and `tapd policy`: Temporary Access Passes and the policy that shapes them.

use anyhow::bail;
use serde_json::json;
use tapd_client::{
    Client, NewTemporaryAccessPass, PolicyChanges, PolicyConfiguration, PolicyState, PolicyTarget,
    TargetType, TemporaryAccessPass,
};

use super::bulk::{BulkOptions, bulk};
use super::output::{print_fields, print_json, print_object, text, time_text};
use super::{Connection, PolicyCommand, TapCommand, directory::resolve_user_id};

pub async fn tap(cmd: TapCommand, conn: &Connection) -> anyhow::Result<()> {
    let client = conn.client()?;
    match cmd {
        TapCommand::New {
            user,
            start,
            lifetime,
            once,
            link,
            email,
        } => {
            let request = NewTemporaryAccessPass {
                start_date_time: start,
                lifetime_in_minutes: lifetime,
                is_usable_once: once.then_some(true),
            };
            let delivery = delivery(link, email.as_deref());
            let pass = client
                .create_tap(
                    &user,
                    &Delivered {
                        request,
                        tapd_delivery: delivery,
                    },
                )
                .await?;
            print_object(&pass, conn.json, || pass_fields(&pass, true))?;
            if !conn.json {
                println!("\n{}", handover(&pass, &user));
            }
        }
        TapCommand::Get { user } => {
            let list = client.list_taps(&user).await?;
            if conn.json {
                print_json(&list)?;
            } else {
                match list.value.first() {
                    Some(pass) => print_fields(&pass_fields(pass, false)),
                    None => println!("{user} holds no Temporary Access Pass."),
                }
            }
        }
        TapCommand::Remove { user } => remove_tap(&client, &user, conn.json).await?,
        TapCommand::Bulk {
            csv,
            out,
            skip_existing,
            concurrency,
            link,
            email,
        } => {
            let options = BulkOptions {
                csv,
                out,
                skip_existing,
                concurrency: concurrency.into(),
                delivery: delivery(link, email.as_deref()),
            };
            bulk(options, &client, conn.json).await?
        }
    }
    Ok(())
}

/// `tapdDelivery` as `--link` and `--email user|manager` ask for it; `None` for the code.
fn delivery(link: bool, email: Option<&str>) -> Option<&'static str> {
    match (link, email) {
        (_, Some("user")) => Some("emailToUser"),
        (_, Some(_)) => Some("emailToManager"),
        (true, None) => Some("link"),
        (false, None) => None,
    }
}

/// The issuing body with tapd's delivery extension.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Delivered<'a> {
    #[serde(flatten)]
    request: NewTemporaryAccessPass,
    #[serde(skip_serializing_if = "Option::is_none")]
    tapd_delivery: Option<&'a str>,
}

/// What the issuer does next, by how the pass went out.
fn handover(pass: &TemporaryAccessPass, user: &str) -> String {
    match (&pass.tapd_one_time_link, &pass.tapd_delivered_to) {
        (Some(_), _) => format!(
            "Give the link to {user} now: it shows the pass once, and it is not shown again."
        ),
        (None, Some(to)) => format!("A one-time link to the pass was mailed to {to}."),
        _ => format!("Give the pass to {user} now: it is not shown again."),
    }
}

/// A pass as label/value lines; the code only where the server just showed it.
fn pass_fields(pass: &TemporaryAccessPass, with_code: bool) -> Vec<(&'static str, String)> {
    let mut fields = vec![("Id", pass.id.clone())];
    if with_code {
        match (&pass.tapd_one_time_link, &pass.tapd_delivered_to) {
            (Some(link), _) => fields.push(("Link", link.clone())),
            (None, Some(to)) => fields.push(("Mailed to", to.clone())),
            _ => fields.push(("Pass", text(&pass.temporary_access_pass))),
        }
        if let Some(until) = &pass.tapd_one_time_link_expires_date_time {
            fields.push(("Link ends", until.clone()));
        }
    }
    fields.extend([
        ("Created", time_text(pass.created_date_time)),
        ("Start", time_text(pass.start_date_time)),
        ("Lifetime (min)", text(&pass.lifetime_in_minutes)),
        ("One-time", text(&pass.is_usable_once)),
        ("Usable", text(&pass.is_usable)),
        ("Reason", text(&pass.method_usability_reason)),
    ]);
    fields
}

async fn remove_tap(client: &Client, user: &str, json: bool) -> anyhow::Result<()> {
    let list = client.list_taps(user).await?;
    let Some(pass) = list.value.first() else {
        bail!("{user} holds no Temporary Access Pass");
    };
    client.delete_tap(user, &pass.id).await?;
    if json {
        println!("{}", json!({"deleted": pass.id}));
    } else {
        println!("Deleted the Temporary Access Pass of {user}.");
    }
    Ok(())
}

pub async fn policy(cmd: PolicyCommand, conn: &Connection) -> anyhow::Result<()> {
    let client = conn.client()?;
    match cmd {
        PolicyCommand::Get => {}
        PolicyCommand::Reset => client.reset_policy().await?,
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
            let changes = PolicyChanges {
                state: state.map(|s| match s.as_str() {
                    "enabled" => PolicyState::Enabled,
                    _ => PolicyState::Disabled,
                }),
                minimum_lifetime_in_minutes: min_lifetime,
                maximum_lifetime_in_minutes: max_lifetime,
                default_lifetime_in_minutes: default_lifetime,
                is_usable_once: once,
                default_length: length,
                include_targets: targets(&client, include_groups, include_users).await?,
                exclude_targets: targets(&client, exclude_groups, exclude_users).await?,
                ..PolicyChanges::default()
            };
            client.patch_policy(&changes).await?;
        }
    }
    let policy = client.policy().await?;
    print_object(&policy, conn.json, || policy_fields(&policy))
}

/// Targets that replace the current ones: groups by id (or all_users), users by id or UPN.
/// `None`, to leave them as they are, when none is given.
async fn targets(
    client: &Client,
    groups: Vec<String>,
    users: Vec<String>,
) -> anyhow::Result<Option<Vec<PolicyTarget>>> {
    if groups.is_empty() && users.is_empty() {
        return Ok(None);
    }
    let target = |target_type, id| PolicyTarget {
        target_type,
        id,
        is_registration_required: false,
    };
    let mut targets: Vec<PolicyTarget> = groups
        .into_iter()
        .map(|g| target(TargetType::Group, g))
        .collect();
    for u in &users {
        targets.push(target(TargetType::User, resolve_user_id(client, u).await?));
    }
    Ok(Some(targets))
}

fn policy_fields(config: &PolicyConfiguration) -> Vec<(&'static str, String)> {
    let p = &config.policy;
    vec![
        ("State", text(&p.state)),
        (
            "Minimum lifetime (min)",
            text(&p.minimum_lifetime_in_minutes),
        ),
        (
            "Maximum lifetime (min)",
            text(&p.maximum_lifetime_in_minutes),
        ),
        (
            "Default lifetime (min)",
            text(&p.default_lifetime_in_minutes),
        ),
        ("One-time only", text(&p.is_usable_once)),
        ("Length", text(&p.default_length)),
        ("Include", text(&p.include_targets)),
        ("Exclude", text(&p.exclude_targets)),
    ]
}
