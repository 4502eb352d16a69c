//! tapd's sign-in API and the OAuth token endpoint.

use serde_json::{Value, json};

use crate::model::{Session, SignInStart, TokenResponse};
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
