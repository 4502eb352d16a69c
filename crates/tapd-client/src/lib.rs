//! A small typed client for tapd's HTTP API, used by the CLI and by the integration tests. It
//! speaks the same Graph-shaped JSON as any other client; errors carry the server's message.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error: its status, Graph (or OAuth) code and message.
    #[error("{message} ({status}, {code})")]
    Api {
        status: StatusCode,
        code: String,
        message: String,
    },
    #[error("could not reach the server: {0}")]
    Http(#[from] reqwest::Error),
}

impl ClientError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            ClientError::Http(e) => e.status(),
        }
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

/// Percent-encodes a path segment (UPNs hold `@`, guests' hold `#`).
pub fn segment(s: &str) -> String {
    tapd_core::percent_encode(s)
}

impl Client {
    pub fn new(base: impl Into<String>) -> Client {
        Client {
            base: base.into().trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            token: None,
        }
    }

    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.token = Some(token.into());
        self
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Sends a request to `path` (starting with `/`); answers the JSON body, or `Null` for 204.
    pub async fn request(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        decode(req.send().await?).await
    }

    /// Sends raw bytes as a JSON body, for tests of malformed input.
    pub async fn request_raw(&self, method: Method, path: &str, body: Vec<u8>) -> Result<Value> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        decode(req.send().await?).await
    }

    pub async fn get(&self, path: &str) -> Result<Value> {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.request(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value> {
        self.request(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value> {
        self.request(Method::DELETE, path, None).await
    }

    // ----- sign-in -----

    pub async fn sign_in_start(&self, username: &str) -> Result<Value> {
        self.post("/api/signin/start", &json!({"username": username}))
            .await
    }

    /// Signs in with a pass; the answer holds `access_token` and `refresh_token`.
    pub async fn sign_in_tap(&self, username: &str, code: &str) -> Result<Value> {
        self.post(
            "/api/signin/tap",
            &json!({"username": username, "code": code}),
        )
        .await
    }

    pub async fn sign_in_password(&self, username: &str, password: &str) -> Result<Value> {
        self.post(
            "/api/signin/password",
            &json!({"username": username, "password": password}),
        )
        .await
    }

    async fn token_endpoint(&self, form: &[(&str, &str)]) -> Result<Value> {
        let resp = self
            .http
            .post(format!("{}/oauth2/v2.0/token", self.base))
            .form(form)
            .send()
            .await?;
        decode(resp).await
    }

    pub async fn client_credentials(&self, client_id: &str, secret: &str) -> Result<Value> {
        self.token_endpoint(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<Value> {
        self.token_endpoint(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    // ----- passes -----

    fn taps_path(user: &str) -> String {
        format!(
            "/v1.0/users/{}/authentication/temporaryAccessPassMethods",
            segment(user)
        )
    }

    /// Issues a pass (all fields optional, as in Graph).
    pub async fn create_tap(&self, user: &str, body: &Value) -> Result<Value> {
        self.post(&Self::taps_path(user), body).await
    }

    pub async fn list_taps(&self, user: &str) -> Result<Value> {
        self.get(&Self::taps_path(user)).await
    }

    pub async fn delete_tap(&self, user: &str, id: &str) -> Result<Value> {
        self.delete(&format!("{}/{}", Self::taps_path(user), segment(id)))
            .await
    }

    // ----- policy -----

    pub const POLICY_PATH: &str = "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass";

    pub async fn policy(&self) -> Result<Value> {
        self.get(Self::POLICY_PATH).await
    }

    pub async fn patch_policy(&self, patch: &Value) -> Result<Value> {
        self.patch(Self::POLICY_PATH, patch).await
    }

    // ----- users -----

    pub async fn create_user(
        &self,
        upn: &str,
        display_name: &str,
        password: Option<&str>,
    ) -> Result<Value> {
        let mut body = json!({
            "accountEnabled": true,
            "displayName": display_name,
            "userPrincipalName": upn,
            "mailNickname": upn.split('@').next().unwrap_or(upn),
        });
        if let Some(p) = password {
            body["passwordProfile"] =
                json!({"password": p, "forceChangePasswordNextSignIn": false});
        }
        self.post("/v1.0/users", &body).await
    }

    pub async fn user(&self, id_or_upn: &str) -> Result<Value> {
        self.get(&format!("/v1.0/users/{}", segment(id_or_upn)))
            .await
    }

    pub async fn assign_role(&self, principal_id: &str, role_template_id: &str) -> Result<Value> {
        self.post(
            "/v1.0/roleManagement/directory/roleAssignments",
            &json!({
                "@odata.type": "#microsoft.graph.unifiedRoleAssignment",
                "principalId": principal_id,
                "roleDefinitionId": role_template_id,
                "directoryScopeId": "/",
            }),
        )
        .await
    }
}

async fn decode(resp: reqwest::Response) -> Result<Value> {
    let status = resp.status();
    let bytes = resp.bytes().await?;
    let body: Value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    if status.is_success() {
        return Ok(body);
    }
    // Graph envelope, else OAuth's error/error_description.
    let (code, message) = match (&body["error"], &body["error_description"]) {
        (Value::Object(e), _) => (
            e.get("code")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            e.get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        ),
        (Value::String(code), desc) => (code.clone(), desc.as_str().unwrap_or("").to_string()),
        _ => (String::new(), body.to_string()),
    };
    Err(ClientError::Api {
        status,
        code,
        message,
    })
}
