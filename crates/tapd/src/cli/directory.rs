//! `tapd user`, `tapd group` and `tapd role`: the directory's users, groups and role assignments.

use anyhow::Context;
use tapd_client::{Client, Collection, Group, NewUser, RoleAssignment, User};
use tapd_core::Role;

use serde_json::json;

use super::output::{print_done, print_json, print_object, print_table, table, time_text};
use super::{Connection, GroupCommand, MemberCommand, RoleCommand, UserCommand};

/// The id of a user named by id or UPN.
pub async fn resolve_user_id(client: &Client, user: &str) -> anyhow::Result<String> {
    Ok(client.user(user).await?.id)
}

pub async fn user(cmd: UserCommand, conn: &Connection) -> anyhow::Result<()> {
    let client = conn.client()?;
    match cmd {
        UserCommand::Add {
            upn,
            name,
            password,
            guest,
        } => {
            let mut new = NewUser::new(&upn, &name);
            if let Some(p) = password {
                new = new.with_password(&p);
            }
            if guest {
                new = new.guest();
            }
            let created = client.create_user(&new).await?;
            print_object(&created, conn.json, || user_fields(&created))?;
        }
        UserCommand::List => {
            let page = Collection::of(client.all_users().await?);
            print_table(
                &page,
                conn.json,
                &[
                    "USER PRINCIPAL NAME",
                    "DISPLAY NAME",
                    "TYPE",
                    "ENABLED",
                    "ID",
                ],
                || {
                    let row = |u: &User| {
                        vec![
                            u.user_principal_name.clone(),
                            u.display_name.clone(),
                            u.user_type.clone(),
                            u.account_enabled.to_string(),
                            u.id.clone(),
                        ]
                    };
                    page.value.iter().map(row).collect()
                },
            )?;
        }
        UserCommand::Show { user } => {
            let u = client.user(&user).await?;
            print_object(&u, conn.json, || user_fields(&u))?;
        }
        UserCommand::Remove { user } => {
            client.delete_user(&user).await?;
            print_done(conn.json, json!({"deleted": user}), || {
                format!("Deleted {user}.")
            });
        }
    }
    Ok(())
}

fn user_fields(u: &User) -> Vec<(&'static str, String)> {
    vec![
        ("Id", u.id.clone()),
        ("User principal name", u.user_principal_name.clone()),
        ("Display name", u.display_name.clone()),
        ("Enabled", u.account_enabled.to_string()),
        ("Type", u.user_type.clone()),
        ("Created", time_text(u.created_date_time)),
    ]
}

pub async fn group(cmd: GroupCommand, conn: &Connection) -> anyhow::Result<()> {
    let client = conn.client()?;
    match cmd {
        GroupCommand::Add { name } => {
            let g = client.create_group(&name).await?;
            print_object(&g, conn.json, || {
                vec![
                    ("Id", g.id.clone()),
                    ("Display name", g.display_name.clone()),
                ]
            })?;
        }
        GroupCommand::List => {
            let page = client.groups().await?;
            print_table(&page, conn.json, &["DISPLAY NAME", "ID"], || {
                let row = |g: &Group| vec![g.display_name.clone(), g.id.clone()];
                page.value.iter().map(row).collect()
            })?;
        }
        GroupCommand::Member { command } => member(&client, command, conn.json).await?,
    }
    Ok(())
}

async fn member(client: &Client, cmd: MemberCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        MemberCommand::Add { group, user } => {
            let id = resolve_user_id(client, &user).await?;
            client.add_member(&group, &id).await?;
            print_done(json, json!({"group": group, "added": id}), || {
                format!("Added {user} to the group.")
            });
        }
        MemberCommand::Remove { group, user } => {
            let id = resolve_user_id(client, &user).await?;
            client.remove_member(&group, &id).await?;
            print_done(json, json!({"group": group, "removed": id}), || {
                format!("Removed {user} from the group.")
            });
        }
        MemberCommand::List { group } => {
            let page = client.members(&group).await?;
            let headers = ["USER PRINCIPAL NAME", "DISPLAY NAME", "ID"];
            print_table(&page, json, &headers, || {
                let row = |u: &User| {
                    vec![
                        u.user_principal_name.clone(),
                        u.display_name.clone(),
                        u.id.clone(),
                    ]
                };
                page.value.iter().map(row).collect()
            })?;
        }
    }
    Ok(())
}

pub async fn role(cmd: RoleCommand, conn: &Connection) -> anyhow::Result<()> {
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
                print_json(&a)?;
            } else {
                println!(
                    "{user} now holds {} (assignment {}).",
                    role.display_name(),
                    a.id
                );
            }
        }
        RoleCommand::List { user } => {
            let principal = match user {
                Some(u) => Some(resolve_user_id(&client, &u).await?),
                None => None,
            };
            let page = client.role_assignments(principal.as_deref()).await?;
            if conn.json {
                print_json(&page)?;
            } else {
                assignments_table(&client, &page.value).await;
            }
        }
        RoleCommand::Remove { id } => {
            client.remove_role_assignment(&id).await?;
            print_done(conn.json, json!({"deleted": id}), || {
                format!("Removed role assignment {id}.")
            });
        }
    }
    Ok(())
}

/// Assignments by user and role name; a principal that is not a readable user shows its id.
async fn assignments_table(client: &Client, assignments: &[RoleAssignment]) {
    let mut rows = Vec::new();
    for a in assignments {
        let upn = match client.user(&a.principal_id).await {
            Ok(u) => u.user_principal_name,
            Err(_) => a.principal_id.clone(),
        };
        let role = Role::from_template_id(&a.role_definition_id).map_or("?", |r| r.display_name());
        rows.push(vec![upn, role.to_string(), a.id.clone()]);
    }
    table(&["USER", "ROLE", "ASSIGNMENT ID"], rows);
}
