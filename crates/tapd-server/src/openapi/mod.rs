//! The OpenAPI 3.1 description of tapd's HTTP API, served at `/openapi.json`.
//!
//! Each JSON route is registered from its handler's `#[utoipa::path]` annotation (utoipa-axum's
//! `routes!`), so a route can't be served without being described and the description can't
//! name a route that isn't served. Request bodies are the handlers' own deserialized types;
//! answers are described in [`shapes`]. Every operation also answers the errors any request can
//! meet (401, 403, 404, 413, 415, 429, 500 …), listed once here as its `default` response: the
//! Graph envelope, or the OAuth 2.0 error on the token endpoints. The pages (`/signin`,
//! `/admin`, `/mysecurityinfo`, the authorize and logout redirects) are HTML and not described.

pub mod shapes;

use serde_json::{Value, json};
use utoipa::openapi::Components;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The security scheme the annotations name: an access token issued by tapd.
pub const BEARER: &str = "bearer";

/// Where the `default` error answer of an operation is described.
const GRAPH_ERROR: &str = "#/components/responses/GraphError";
const OAUTH_ERROR: &str = "#/components/responses/OAuthError";

/// The document's frame, before the routes add their operations.
pub fn base() -> utoipa::openapi::OpenApi {
    Frame::openapi()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tapd",
        description = "tapd's HTTP API: the Microsoft Graph v1.0-compatible admin API under \
            `/v1.0`, the JSON sign-in API under `/api`, and the OpenID Connect provider's \
            endpoints."
    ),
    components(schemas(shapes::GraphError, shapes::OAuthError)),
    modifiers(&BearerScheme)
)]
struct Frame;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some(
                "An access token from tapd: `POST /api/signin/tap` (or password, passkey) for a \
                 user, or the token endpoint's `client_credentials` grant for an app.",
            ))
            .build();
        doc.components
            .get_or_insert_with(Components::new)
            .add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}

/// Completes the document the routes built: the server's public URL, and the errors every
/// operation may answer.
pub fn finish(doc: utoipa::openapi::OpenApi, public_url: &str) -> Value {
    let mut doc = serde_json::to_value(doc).unwrap_or_else(|_| json!({}));
    doc["servers"] = json!([{ "url": public_url }]);
    // Operations that need no token say so with `security: [{}]`.
    doc["security"] = json!([{ BEARER: [] }]);
    // utoipa writes an untagged enum as `oneOf`; a PATCH body may fit both configurations'
    // patches (every property is optional), so the body is `anyOf` them.
    let patch = &mut doc["components"]["schemas"]["MethodConfigurationPatch"];
    if let Some(options) = patch.as_object_mut().and_then(|o| o.remove("oneOf")) {
        patch["anyOf"] = options;
    }
    let responses = &mut doc["components"]["responses"];
    responses["GraphError"] = error_response("GraphError", "Graph's error envelope (SPEC §7).");
    responses["OAuthError"] = error_response("OAuthError", "An OAuth 2.0 error (RFC 6749 §5.2).");
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let error = if is_oauth(path) {
                OAUTH_ERROR
            } else {
                GRAPH_ERROR
            };
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for operation in item.values_mut() {
                if let Some(responses) = operation
                    .get_mut("responses")
                    .and_then(Value::as_object_mut)
                {
                    responses
                        .entry("default")
                        .or_insert_with(|| json!({ "$ref": error }));
                }
            }
        }
    }
    doc
}

fn error_response(schema: &str, description: &str) -> Value {
    json!({
        "description": description,
        "content": {
            "application/json": {
                "schema": { "$ref": format!("#/components/schemas/{schema}") }
            }
        }
    })
}

/// The endpoints that answer OAuth 2.0 errors rather than Graph's envelope.
fn is_oauth(path: &str) -> bool {
    path.contains("/oauth2/")
        || path.starts_with("/oidc/")
        || path.contains("/discovery/")
        || path.contains("/.well-known/")
}
