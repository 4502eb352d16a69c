//! The Graph API, typed: users, groups, roles, passes and methods, the TAP policy, the audit log.

use reqwest::Method;
use serde::Serialize;
use serde_json::json;

use crate::model::{
    AuthenticationMethod, Collection, DirectoryAudit, Group, Invitation, NewUser,
    PolicyConfiguration, RoleAssignment, RoleDefinition, SignIn, TemporaryAccessPass, User,
};
use crate::{Client, Result, segment};

const ROLE_ASSIGNMENTS: &str = "/v1.0/roleManagement/directory/roleAssignments";

fn user_path(id_or_upn: &str) -> String {
    format!("/v1.0/users/{}", segment(id_or_upn))
}

fn taps_path(user: &str) -> String {
    format!(
        "{}/authentication/temporaryAccessPassMethods",
        user_path(user)
    )
}

fn group_path(id: &str) -> String {
    format!("/v1.0/groups/{}", segment(id))
}

/// `?$top=…` when `top` is set.
fn top_query(top: Option<u32>) -> String {
    top.map(|n| format!("?$top={n}")).unwrap_or_default()
}

impl Client {
    // ----- users -----

    pub async fn create_user(&self, user: &NewUser) -> Result<User> {
        self.post_as("/v1.0/users", user).await
    }

    pub async fn user(&self, id_or_upn: &str) -> Result<User> {
        self.get_as(&user_path(id_or_upn)).await
    }

    /// The signed-in user.
    pub async fn me(&self) -> Result<User> {
        self.get_as("/v1.0/me").await
    }

    /// The first page of users, `top` at a time (the server's default page otherwise).
    pub async fn users(&self, top: Option<u32>) -> Result<Collection<User>> {
        self.get_as(&format!("/v1.0/users{}", top_query(top))).await
    }

    /// Every user, following the next links.
    pub async fn all_users(&self) -> Result<Vec<User>> {
        let mut page = self.users(Some(999)).await?;
        let mut all = std::mem::take(&mut page.value);
        while let Some(next) = self.next_page(&page).await? {
            page = next;
            all.append(&mut page.value);
        }
        Ok(all)
    }

    /// Changes the given properties (a Graph `user` with only those set).
    pub async fn update_user(&self, id_or_upn: &str, changes: &impl Serialize) -> Result<()> {
        self.send_only(Method::PATCH, &user_path(id_or_upn), Some(changes))
            .await
    }

    pub async fn delete_user(&self, id_or_upn: &str) -> Result<()> {
        self.remove(&user_path(id_or_upn)).await
    }

    /// Invites an external guest.
    pub async fn invite(&self, email: &str, redirect_url: &str) -> Result<Invitation> {
        self.post_as(
            "/v1.0/invitations",
            &json!({"invitedUserEmailAddress": email, "inviteRedirectUrl": redirect_url}),
        )
        .await
    }

    // ----- groups -----

    /// Creates a security group.
    pub async fn create_group(&self, display_name: &str) -> Result<Group> {
        self.post_as(
            "/v1.0/groups",
            &json!({"displayName": display_name, "securityEnabled": true, "mailEnabled": false}),
        )
        .await
    }

    pub async fn groups(&self) -> Result<Collection<Group>> {
        self.get_as("/v1.0/groups").await
    }

    pub async fn group(&self, id: &str) -> Result<Group> {
        self.get_as(&group_path(id)).await
    }

    pub async fn delete_group(&self, id: &str) -> Result<()> {
        self.remove(&group_path(id)).await
    }

    pub async fn members(&self, group: &str) -> Result<Collection<User>> {
        self.get_as(&format!("{}/members", group_path(group))).await
    }

    /// Adds the user `user_id` (an id, not a UPN) to `group`.
    pub async fn add_member(&self, group: &str, user_id: &str) -> Result<()> {
        let reference =
            json!({"@odata.id": format!("{}/v1.0/directoryObjects/{user_id}", self.base())});
        self.send_only(
            Method::POST,
            &format!("{}/members/$ref", group_path(group)),
            Some(&reference),
        )
        .await
    }

    pub async fn remove_member(&self, group: &str, user_id: &str) -> Result<()> {
        self.remove(&format!("{}/members/{user_id}/$ref", group_path(group)))
            .await
    }

    // ----- roles -----

    /// Gives `principal_id` the built-in role whose template id is `role_template_id`.
    pub async fn assign_role(
        &self,
        principal_id: &str,
        role_template_id: &str,
    ) -> Result<RoleAssignment> {
        self.post_as(
            ROLE_ASSIGNMENTS,
            &json!({
                "@odata.type": "#microsoft.graph.unifiedRoleAssignment",
                "principalId": principal_id,
                "roleDefinitionId": role_template_id,
                "directoryScopeId": "/",
            }),
        )
        .await
    }

    /// All role assignments, or those of `principal_id`.
    pub async fn role_assignments(
        &self,
        principal_id: Option<&str>,
    ) -> Result<Collection<RoleAssignment>> {
        let path = match principal_id {
            Some(id) => format!("{ROLE_ASSIGNMENTS}?$filter=principalId%20eq%20'{id}'"),
            None => ROLE_ASSIGNMENTS.to_string(),
        };
        self.get_as(&path).await
    }

    pub async fn role_assignment(&self, id: &str) -> Result<RoleAssignment> {
        self.get_as(&format!("{ROLE_ASSIGNMENTS}/{}", segment(id)))
            .await
    }

    pub async fn remove_role_assignment(&self, id: &str) -> Result<()> {
        self.remove(&format!("{ROLE_ASSIGNMENTS}/{}", segment(id)))
            .await
    }

    pub async fn role_definitions(&self) -> Result<Collection<RoleDefinition>> {
        self.get_as("/v1.0/roleManagement/directory/roleDefinitions")
            .await
    }

    // ----- passes and methods -----

    /// Issues a pass; `body` is a [`crate::NewTemporaryAccessPass`] or any Graph-shaped JSON.
    pub async fn create_tap(
        &self,
        user: &str,
        body: &impl Serialize,
    ) -> Result<TemporaryAccessPass> {
        self.post_as(&taps_path(user), body).await
    }

    pub async fn list_taps(&self, user: &str) -> Result<Collection<TemporaryAccessPass>> {
        self.get_as(&taps_path(user)).await
    }

    pub async fn tap(&self, user: &str, id: &str) -> Result<TemporaryAccessPass> {
        self.get_as(&format!("{}/{}", taps_path(user), segment(id)))
            .await
    }

    pub async fn delete_tap(&self, user: &str, id: &str) -> Result<()> {
        self.remove(&format!("{}/{}", taps_path(user), segment(id)))
            .await
    }

    /// The signed-in user's own pass.
    pub async fn my_taps(&self) -> Result<Collection<TemporaryAccessPass>> {
        self.get_as("/v1.0/me/authentication/temporaryAccessPassMethods")
            .await
    }

    /// A user's methods: password, pass, passkeys.
    pub async fn methods(&self, user: &str) -> Result<Collection<AuthenticationMethod>> {
        self.get_as(&format!("{}/authentication/methods", user_path(user)))
            .await
    }

    pub async fn my_methods(&self) -> Result<Collection<AuthenticationMethod>> {
        self.get_as("/v1.0/me/authentication/methods").await
    }

    // ----- policy -----

    pub const POLICY_PATH: &str = "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass";

    pub async fn policy(&self) -> Result<PolicyConfiguration> {
        self.get_as(Self::POLICY_PATH).await
    }

    /// Changes the policy; `patch` is a [`crate::PolicyChanges`] or any Graph-shaped JSON.
    pub async fn patch_policy(&self, patch: &impl Serialize) -> Result<()> {
        self.send_only(Method::PATCH, Self::POLICY_PATH, Some(patch))
            .await
    }

    /// Back to the defaults.
    pub async fn reset_policy(&self) -> Result<()> {
        self.remove(Self::POLICY_PATH).await
    }

    // ----- audit log -----

    /// Changes, newest first.
    pub async fn directory_audits(&self, top: Option<u32>) -> Result<Collection<DirectoryAudit>> {
        self.get_as(&format!(
            "/v1.0/auditLogs/directoryAudits{}",
            top_query(top)
        ))
        .await
    }

    /// Sign-in attempts, newest first.
    pub async fn sign_ins(&self, top: Option<u32>) -> Result<Collection<SignIn>> {
        self.get_as(&format!("/v1.0/auditLogs/signIns{}", top_query(top)))
            .await
    }
}
