//! tapd's sign-in API and the OAuth token endpoint.

use serde_json::{Value, json};

use crate::model::{DeviceAuthorization, Session, SignInStart, TokenResponse};
use crate::{Client, Result, parse, send};

impl Client {
    /// The first step: which methods `username` may sign in with.
    pub async fn sign_in_start(&self, username: &str) -> Result<SignInStart> {
        self.post_as("/api/signin/start", &json!({"username": username}))
            .await
    }

    /// Signs in with a pass.
    pub async fn sign_in_tap(&self, username: &str, code: &str) -> Result<Session> {
        self.post_as(
            "/api/signin/tap",
            &json!({"username": username, "code": code}),
        )
        .await
    }

    pub async fn sign_in_password(&self, username: &str, password: &str) -> Result<Session> {
        self.post_as(
            "/api/signin/password",
            &json!({"username": username, "password": password}),
        )
        .await
    }

    /// Finishes a passkey sign-in with the authenticator's answer to the options of
    /// `/api/signin/passkey/start`.
    pub async fn sign_in_passkey(&self, credential: &Value) -> Result<Session> {
        self.post_as(
            "/api/signin/passkey/finish",
            &json!({"credential": credential}),
        )
        .await
    }

    /// Any grant at the token endpoint (authorization code, refresh, device code), as a form.
    pub async fn token_grant(&self, form: &[(&str, &str)]) -> Result<TokenResponse> {
        self.token_endpoint(form).await
    }

    /// A grant at the token endpoint, answered as raw JSON (a refresh of a sign-in API session
    /// answers that session's shape, an OAuth client's the token response).
    pub async fn token_grant_raw(&self, form: &[(&str, &str)]) -> Result<Value> {
        self.token_endpoint(form).await
    }

    /// RFC 8628 §3.1: a device code and a user code for `client_id`.
    pub async fn device_authorization(
        &self,
        client_id: &str,
        scope: &str,
    ) -> Result<DeviceAuthorization> {
        let req = self
            .http
            .post(format!("{}/oauth2/v2.0/devicecode", self.base))
            .form(&[("client_id", client_id), ("scope", scope)]);
        parse(&send(req).await?)
    }

    async fn token_endpoint<T: serde::de::DeserializeOwned>(
        &self,
        form: &[(&str, &str)],
    ) -> Result<T> {
        let req = self
            .http
            .post(format!("{}/oauth2/v2.0/token", self.base))
            .form(form);
        parse(&send(req).await?)
    }

    pub async fn client_credentials(&self, client_id: &str, secret: &str) -> Result<TokenResponse> {
        self.token_endpoint(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .await
    }

    /// Refreshes a session of the sign-in API; the answer is a new session.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Session> {
        self.token_endpoint(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }
}
