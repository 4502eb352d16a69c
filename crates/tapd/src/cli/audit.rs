//! `tapd audit`: the newest changes, or with `--sign-ins` the newest sign-in attempts.

use tapd_client::{DirectoryAudit, SignIn};

use super::Connection;
use super::output::{print_table, time_text};

pub async fn audit(sign_ins: bool, top: u32, conn: &Connection) -> anyhow::Result<()> {
    let client = conn.client()?;
    if sign_ins {
        let page = client.sign_ins(Some(top)).await?;
        let headers = ["TIME", "USER", "METHOD", "RESULT", "FROM"];
        print_table(&page, conn.json, &headers, || {
            page.value.iter().map(sign_in_row).collect()
        })
    } else {
        let page = client.directory_audits(Some(top)).await?;
        let headers = ["TIME", "ACTIVITY", "BY", "TARGET"];
        print_table(&page, conn.json, &headers, || {
            page.value.iter().map(change_row).collect()
        })
    }
}

fn sign_in_row(s: &SignIn) -> Vec<String> {
    vec![
        time_text(s.created_date_time),
        s.user_principal_name.clone(),
        s.authentication_methods_used
            .first()
            .cloned()
            .unwrap_or_default(),
        s.status
            .failure_reason
            .as_ref()
            .map_or("success".into(), |r| format!("failure: {r}")),
        s.ip_address.clone(),
    ]
}

/// Who: the user's UPN, else the app's name; what: the first target's UPN, else its name.
fn change_row(a: &DirectoryAudit) -> Vec<String> {
    let by = a.initiated_by.user.as_ref().map(|u| &u.user_principal_name);
    let by = by.or(a.initiated_by.app.as_ref().map(|app| &app.display_name));
    let target = a.target_resources.first();
    let target = target.map(|t| t.user_principal_name.as_ref().unwrap_or(&t.display_name));
    vec![
        time_text(a.activity_date_time),
        a.activity_display_name.clone(),
        by.cloned().unwrap_or_default(),
        target.cloned().unwrap_or_default(),
    ]
}
