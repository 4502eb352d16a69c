//! A small typed client for tapd's HTTP API, used by the CLI and by the integration tests. It
//! speaks the same Graph-shaped JSON as any other client; errors carry the server's message.
//!
//! The typed methods (in `graph` and `signin`) answer the structs of [`model`]; `request` and
//! its shorthands answer raw JSON, for callers that send odd requests on purpose or check the
//! exact wire format.

mod graph;
pub mod model;
mod signin;

pub use model::*;
/// The domain types the models are made of.
pub use tapd_core::{PolicyState, PolicyTarget, TapPolicy, TargetType, UsabilityReason};

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

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
    /// A success whose body is not the object asked for.
    #[error("unexpected answer from the server: {0}")]
    Decode(#[from] serde_json::Error),
    /// The token was refused and could not be renewed: the sign-in is over (and why).
    #[error("{0}")]
    SessionEnded(String),
}

impl ClientError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            ClientError::Http(e) => e.status(),
            ClientError::Decode(_) | ClientError::SessionEnded(_) => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// Where a client's bearer token comes from when it can be renewed: the CLI's kept sign-in,
/// refreshed when the server refuses the token (401).
pub trait TokenSource: Send + Sync {
    /// The token to send now; `None` when it is known to have expired (renew first).
    fn current(&self) -> Option<String>;
    /// A new token after `rejected` was refused (`why`: the server's message, empty when the
    /// token was known to have expired); an error means the sign-in is over.
    fn renew<'a>(
        &'a self,
        rejected: &'a str,
        why: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String>> + Send + 'a>>;
}

#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
    source: Option<std::sync::Arc<dyn TokenSource>>,
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
            source: None,
        }
    }

    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.token = Some(token.into());
        self.source = None;
        self
    }

    /// A client whose token comes from `source`: a request refused with 401 is sent once more
    /// with the renewed token.
    pub fn with_token_source(mut self, source: std::sync::Arc<dyn TokenSource>) -> Client {
        self.token = None;
        self.source = Some(source);
        self
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// A request to `path` (starting with `/`), with the bearer token if there is a fixed one
    /// (a token source's is added when the request is sent).
    fn builder(&self, method: Method, path: &str) -> RequestBuilder {
        let req = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    /// Sends `req` with the token source's token; a 401 renews it and sends the request again,
    /// once.
    async fn send(&self, req: RequestBuilder) -> Result<Vec<u8>> {
        let Some(source) = &self.source else {
            return send(req).await;
        };
        let retry = req.try_clone();
        let token = match source.current() {
            Some(token) => token,
            None => source.renew("", "").await?,
        };
        match send(req.bearer_auth(&token)).await {
            Err(ClientError::Api {
                status, message, ..
            }) if status == StatusCode::UNAUTHORIZED => {
                let Some(retry) = retry else {
                    return Err(ClientError::SessionEnded(
                        "the server refused the token".into(),
                    ));
                };
                let renewed = source.renew(&token, &message).await?;
                send(retry.bearer_auth(renewed)).await
            }
            other => other,
        }
    }

    // ----- raw JSON -----

    /// Sends a request to `path` (starting with `/`); answers the JSON body, or `Null` for 204.
    pub async fn request(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        let mut req = self.builder(method, path);
        if let Some(body) = body {
            req = req.json(body);
        }
        Ok(raw_json(&self.send(req).await?))
    }

    /// Sends raw bytes as a JSON body, for tests of malformed input.
    pub async fn request_raw(&self, method: Method, path: &str, body: Vec<u8>) -> Result<Value> {
        let req = self
            .builder(method, path)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        Ok(raw_json(&self.send(req).await?))
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

    pub async fn put(&self, path: &str, body: &Value) -> Result<Value> {
        self.request(Method::PUT, path, Some(body)).await
    }

    // ----- typed -----

    /// GET `path` as a `T`: for objects at paths the typed methods don't name (a next link).
    pub async fn get_as<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        parse(&self.send(self.builder(Method::GET, path)).await?)
    }

    /// POST `body` to `path` and read the answer as a `T`.
    pub async fn post_as<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &(impl Serialize + ?Sized),
    ) -> Result<T> {
        parse(
            &self
                .send(self.builder(Method::POST, path).json(body))
                .await?,
        )
    }

    /// Sends `body` (if any) where the server answers without one (204).
    async fn send_only(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<()> {
        let mut req = self.builder(method, path);
        if let Some(body) = body {
            req = req.json(body);
        }
        self.send(req).await.map(drop)
    }

    /// DELETE `path`, which answers 204.
    async fn remove(&self, path: &str) -> Result<()> {
        self.send_only(Method::DELETE, path, None::<&Value>).await
    }

    /// The page after `page`, if its `@odata.nextLink` names one.
    pub async fn next_page<T: DeserializeOwned>(
        &self,
        page: &Collection<T>,
    ) -> Result<Option<Collection<T>>> {
        match &page.next_link {
            Some(next) => {
                let path = next.strip_prefix(self.base()).unwrap_or(next);
                self.get_as(path).await.map(Some)
            }
            None => Ok(None),
        }
    }
}

/// Sends `req` and answers the body of a success; an error status becomes [`ClientError::Api`].
async fn send(req: RequestBuilder) -> Result<Vec<u8>> {
    let resp = req.send().await?;
    let status = resp.status();
    let bytes = Vec::from(resp.bytes().await?);
    if status.is_success() {
        Ok(bytes)
    } else {
        Err(api_error(status, &raw_json(&bytes)))
    }
}

/// A body as JSON: `Null` when empty, a string when it is not JSON.
fn raw_json(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into()))
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    Ok(serde_json::from_slice(bytes)?)
}

/// Graph's error envelope, else OAuth's error/error_description.
fn api_error(status: StatusCode, body: &Value) -> ClientError {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    let (code, message) = match (&body["error"], &body["error_description"]) {
        (Value::Object(e), _) => (text(e.get("code")), text(e.get("message"))),
        (Value::String(code), desc) => (code.clone(), text(Some(desc))),
        _ => (String::new(), body.to_string()),
    };
    ClientError::Api {
        status,
        code,
        message,
    }
}
