//! Request extractors whose every rejection is a Graph error, never axum's plain-text one.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;

/// A JSON body as Graph clients send it: an object whose OData annotations (`@odata.type`, …)
/// are dropped before the remaining fields meet the target type's own rules (which refuse
/// unknown fields where Graph would).
pub struct GraphJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for GraphJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        parse_body(&bytes).map(GraphJson)
    }
}

/// The raw bytes of a JSON body, within the size limit, for handlers that read annotations
/// themselves (`$ref` bodies carry `@odata.id`).
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::new(
                e.status(),
                "badRequest",
                format!("The request body could not be read: {e}"),
            )
        })?;
        if !content_type.is_empty() && !content_type.starts_with("application/json") {
            return Err(ApiError::bad_request(
                "The request body must be JSON (Content-Type: application/json).",
            ));
        }
        Ok(JsonBytes(bytes))
    }
}

pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(bytes).map_err(|e| {
            ApiError::bad_request(format!("The request body is not valid JSON: {e}"))
        })?
    };
    let Value::Object(mut map) = value else {
        return Err(ApiError::bad_request(
            "The request body must be a JSON object.",
        ));
    };
    map.retain(|k, _| !k.starts_with('@'));
    serde_json::from_value(Value::Object(map))
        .map_err(|e| ApiError::bad_request(format!("Invalid request body: {e}")))
}

/// Query parameters, with a Graph error when they don't parse.
pub struct GraphQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for GraphQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded_from(query).map(GraphQuery)
    }
}

fn serde_urlencoded_from<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{query}")
            .parse()
            .map_err(|_| ApiError::bad_request("The query string is malformed."))?,
    )
    .map(|q| q.0)
    .map_err(|e| ApiError::bad_request(format!("Invalid query parameter: {e}")))
}
