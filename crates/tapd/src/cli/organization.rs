//! `tapd domain` and `tapd partner`: the signed-in administrator's organization — its domains,
//! a domain's federation with an OpenID Connect provider, and the cross-tenant access partners.

use serde_json::{Value, json};
use tapd_client::{Client, segment};

use super::output::{print_done, print_fields, print_json, table, text};
use super::{Connection, DomainCommand, PartnerCommand};

const PARTNERS: &str = "/v1.0/policies/crossTenantAccessPolicy/partners";

fn domain_path(name: &str) -> String {
    format!("/v1.0/domains/{}", segment(name))
}

/// The domain's federation, if it has one.
async fn federation_of(client: &Client, domain: &str) -> anyhow::Result<Option<Value>> {
    let list = client
        .get(&format!("{}/federationConfiguration", domain_path(domain)))
        .await?;
    Ok(list["value"].as_array().and_then(|v| v.first()).cloned())
}

fn federation_fields(domain: &str, f: &Value) -> Vec<(&'static str, String)> {
    vec![
        ("domain", domain.to_string()),
        ("id", text(&f["id"])),
        ("provider", text(&f["displayName"])),
        ("issuer", text(&f["issuerUri"])),
        ("MFA", text(&f["federatedIdpMfaBehavior"])),
        ("client id", text(&f["tapdClientId"])),
        ("redirect URI", text(&f["tapdRedirectUri"])),
    ]
}

pub async fn domain(cmd: DomainCommand, conn: &Connection) -> anyhow::Result<()> {
    let client = conn.client()?;
    match cmd {
        DomainCommand::List => {
            let list = client.get("/v1.0/domains").await?;
            if conn.json {
                return print_json(&list);
            }
            let rows = list["value"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .map(|d| {
                            let default = if d["isDefault"] == json!(true) {
                                "yes"
                            } else {
                                ""
                            };
                            vec![
                                text(&d["id"]),
                                text(&d["authenticationType"]),
                                default.into(),
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default();
            table(&["DOMAIN", "AUTHENTICATION", "DEFAULT"], rows);
        }
        DomainCommand::Add { name } => {
            let added = client.post("/v1.0/domains", &json!({"id": name})).await?;
            print_done(conn.json, added, || {
                format!("Added {name}: users may now be named alias@{name}.")
            });
        }
        DomainCommand::Default { name } => {
            client
                .patch(&domain_path(&name), &json!({"isDefault": true}))
                .await?;
            print_done(conn.json, json!({"default": name}), || {
                format!("{name} is the default domain now.")
            });
        }
        DomainCommand::Remove { name } => {
            client.delete(&domain_path(&name)).await?;
            print_done(conn.json, json!({"deleted": name}), || {
                format!("Removed {name}.")
            });
        }
        DomainCommand::Federate {
            name,
            display_name,
            issuer,
            client_id,
            client_secret,
            mfa,
        } => {
            let mut body = json!({
                "displayName": display_name,
                "issuerUri": issuer,
                "tapdClientId": client_id,
                "federatedIdpMfaBehavior": mfa.graph_name(),
            });
            if let Some(secret) = client_secret {
                body["tapdClientSecret"] = json!(secret);
            }
            let path = format!("{}/federationConfiguration", domain_path(&name));
            let made = match federation_of(&client, &name).await? {
                Some(existing) => {
                    let id = text(&existing["id"]);
                    client
                        .patch(&format!("{path}/{}", segment(&id)), &body)
                        .await?
                }
                None => client.post(&path, &body).await?,
            };
            if conn.json {
                return print_json(&made);
            }
            print_fields(&federation_fields(&name, &made));
            println!(
                "Register the redirect URI above with the provider; {name}'s users now sign in there."
            );
        }
        DomainCommand::Federation { name } => match federation_of(&client, &name).await? {
            Some(f) if conn.json => print_json(&f)?,
            Some(f) => print_fields(&federation_fields(&name, &f)),
            None if conn.json => println!("null"),
            None => println!("{name} is managed here: not federated."),
        },
        DomainCommand::Unfederate { name } => {
            let Some(f) = federation_of(&client, &name).await? else {
                anyhow::bail!("{name} is not federated");
            };
            let id = text(&f["id"]);
            client
                .delete(&format!(
                    "{}/federationConfiguration/{}",
                    domain_path(&name),
                    segment(&id)
                ))
                .await?;
            print_done(conn.json, json!({"unfederated": name}), || {
                format!("{name} is managed here again: its users sign in with tapd.")
            });
        }
    }
    Ok(())
}

pub async fn partner(cmd: PartnerCommand, conn: &Connection) -> anyhow::Result<()> {
    let client = conn.client()?;
    match cmd {
        PartnerCommand::List => {
            let list = client.get(PARTNERS).await?;
            if conn.json {
                return print_json(&list);
            }
            let rows = list["value"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .map(|p| {
                            let mfa = p["inboundTrust"]["isMfaAccepted"] == json!(true);
                            vec![text(&p["tenantId"]), if mfa { "yes" } else { "no" }.into()]
                        })
                        .collect()
                })
                .unwrap_or_default();
            table(&["TENANT ID", "TRUSTS ITS MFA"], rows);
        }
        PartnerCommand::Add { tenant, trust_mfa } => {
            let body = json!({"tenantId": tenant, "inboundTrust": {"isMfaAccepted": trust_mfa}});
            let made = client.post(PARTNERS, &body).await?;
            print_done(conn.json, made, || match trust_mfa {
                true => format!("Added {tenant}: its users invited here sign in at home."),
                false => format!("Added {tenant}, not trusted yet (--trust-mfa trusts it)."),
            });
        }
        PartnerCommand::Trust { tenant, mfa } => {
            let body = json!({"inboundTrust": {"isMfaAccepted": mfa}});
            client
                .patch(&format!("{PARTNERS}/{}", segment(&tenant)), &body)
                .await?;
            print_done(
                conn.json,
                json!({"tenantId": tenant, "isMfaAccepted": mfa}),
                || match mfa {
                    true => format!("{tenant}'s sign-ins are trusted now."),
                    false => format!("{tenant}'s sign-ins are no longer trusted."),
                },
            );
        }
        PartnerCommand::Remove { tenant } => {
            client
                .delete(&format!("{PARTNERS}/{}", segment(&tenant)))
                .await?;
            print_done(conn.json, json!({"deleted": tenant}), || {
                format!("Removed the partner {tenant}.")
            });
        }
    }
    Ok(())
}
