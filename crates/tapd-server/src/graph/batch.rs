//! JSON batching, as Graph does it (`POST /v1.0/$batch`): up to 20 requests in one call, each
//! with its own `id`, `method`, relative `url`, optional `headers` and `body`, and `dependsOn`.
//! Each request is dispatched into the Graph routes as the caller (the batch's own
//! `Authorization` goes with every one), so it is authorized, validated and audited exactly like
//! a direct call, and its answer is shaped by the same layer that shapes the real routes.
//! A request runs only after those it depends on; when one of them failed (not 2xx), it is
//! answered 424 without running. URLs are relative to `/v1.0`; an absolute URL is accepted only
//! when it names this server's own Graph base (`{public URL}/v1.0/…`, which Microsoft's Graph
//! SDK for Python sends once its client has made a call), never another host. The answer lists `{"id","status","headers","body"}` per
//! request, in the order they were sent. A malformed batch is refused whole (400) before
//! anything runs.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tower::ServiceExt;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::answers;
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{JsonBytes, parse_body};
use crate::openapi::shapes;
use crate::state::SharedState;

/// Graph's limit on the requests in one batch.
pub const MAX_REQUESTS: usize = 20;
/// Largest answer of one request kept in a batch's answer; `$top=999` of users fits well.
const ANSWER_LIMIT: usize = 4 * 1024 * 1024;
/// Headers a request may not set for itself: the batch's caller, the framing, the host.
fn is_dropped(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "authorization" | "content-length" | "transfer-encoding" | "connection" | "host"
    )
}

pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(batch))
}

/// Marks a request dispatched from a batch: a batch inside a batch is refused.
#[derive(Clone, Copy)]
struct InBatch;

/// The batch body as sent.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    requests: Vec<SentRequest>,
}

/// One request as sent. `depends_on` is also read as `depends_on`, which is how Microsoft's
/// Graph SDK for Python writes it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct SentRequest {
    id: String,
    method: String,
    url: String,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default, alias = "depends_on")]
    depends_on: Option<Vec<String>>,
}

/// One request, checked and ready to dispatch.
#[derive(Debug)]
struct Step {
    id: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Vec<u8>,
    /// Indexes of the steps this one waits for.
    depends_on: Vec<usize>,
}

#[utoipa::path(post, path = "/$batch", tag = "batch", request_body = BatchBody,
    responses((status = 200, description = "Each request's answer, in the order they were sent.", body = shapes::BatchResponse)))]
async fn batch(
    State(state): State<SharedState>,
    nested: Option<Extension<InBatch>>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Caller(..): Caller,
    JsonBytes(bytes): JsonBytes,
) -> ApiResult<Json<Value>> {
    if nested.is_some() {
        return Err(nested_batch());
    }
    let BatchBody { requests } = parse_body(&bytes)?;
    let steps = plan(requests, &format!("{}/v1.0", state.public_url))?;
    let order = order(&steps)?;
    let caller = Dispatch {
        router: dispatcher(&state),
        authorization: headers.get(header::AUTHORIZATION).cloned(),
        connect: connect.map(|Extension(c)| c),
    };
    let responses = run(&caller, &steps, &order).await;
    Ok(Json(json!({ "responses": responses })))
}

fn nested_batch() -> ApiError {
    ApiError::bad_request("A batch cannot contain another $batch request.")
}

/// Checks every request of a batch and resolves its dependencies, or refuses the whole batch.
/// `own_base` is this server's Graph base as an absolute URL.
fn plan(requests: Vec<SentRequest>, own_base: &str) -> ApiResult<Vec<Step>> {
    if requests.is_empty() {
        return Err(ApiError::bad_request(
            "The batch contains no requests: send between 1 and 20.",
        ));
    }
    if requests.len() > MAX_REQUESTS {
        return Err(ApiError::bad_request(format!(
            "The batch contains {} requests; a batch may contain at most {MAX_REQUESTS}.",
            requests.len()
        )));
    }
    // Ids are not case-sensitive (Graph); each must be unique.
    let mut index = HashMap::new();
    for (i, r) in requests.iter().enumerate() {
        let id = r.id.trim();
        if id.is_empty() {
            return Err(ApiError::bad_request(format!(
                "Request number {} has no id: every request needs a unique id.",
                i + 1
            )));
        }
        if index.insert(id.to_lowercase(), i).is_some() {
            return Err(ApiError::bad_request(format!(
                "The id '{id}' is used by more than one request; ids must be unique in a batch."
            )));
        }
    }
    requests
        .into_iter()
        .map(|r| step(r, &index, own_base).map_err(ApiError::bad_request))
        .collect()
}

/// One request checked; the error says which request and what is wrong with it.
fn step(r: SentRequest, index: &HashMap<String, usize>, own_base: &str) -> Result<Step, String> {
    let id = r.id.trim().to_string();
    let method = parse_method(&r.method).map_err(|m| format!("Request '{id}': {m}"))?;
    let uri = relative_uri(&r.url, own_base).map_err(|m| format!("Request '{id}': {m}"))?;
    let mut headers =
        parse_headers(r.headers.unwrap_or_default()).map_err(|m| format!("Request '{id}': {m}"))?;
    let body = body_bytes(r.body).map_err(|m| format!("Request '{id}': {m}"))?;
    if !body.is_empty() && !headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    let mut depends_on = Vec::new();
    for d in r.depends_on.unwrap_or_default() {
        let Some(&i) = index.get(&d.trim().to_lowercase()) else {
            return Err(format!(
                "Request '{id}' depends on '{d}', which is not a request of this batch."
            ));
        };
        depends_on.push(i);
    }
    Ok(Step {
        id,
        method,
        uri,
        headers,
        body,
        depends_on,
    })
}

fn parse_method(method: &str) -> Result<Method, String> {
    match method.trim().to_ascii_uppercase().as_str() {
        "GET" => Ok(Method::GET),
        "POST" => Ok(Method::POST),
        "PATCH" => Ok(Method::PATCH),
        "PUT" => Ok(Method::PUT),
        "DELETE" => Ok(Method::DELETE),
        _ => Err(format!(
            "the method '{method}' is not supported; use GET, POST, PATCH, PUT or DELETE."
        )),
    }
}

/// The URI under `/v1.0` that a batch request's `url` names: relative (`/users/x`,
/// `users?$top=1`), or absolute under `own_base`. Characters a URL may not carry as they are
/// (spaces in a `$filter`, quotes) are percent-encoded; a fragment is dropped.
fn relative_uri(url: &str, own_base: &str) -> Result<Uri, String> {
    let url = url.trim();
    let url = match url.get(..own_base.len()) {
        Some(head) if head.eq_ignore_ascii_case(own_base) => {
            let rest = &url[own_base.len()..];
            if !(rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')) {
                return Err(format!("the url '{url}' is not under {own_base}."));
            }
            rest
        }
        _ => url,
    };
    if url.is_empty() {
        return Err("the url is empty.".into());
    }
    if url.contains("://") || url.starts_with("//") {
        return Err(format!(
            "the url '{url}' names another server; use a URL relative to /v1.0, such as /users/{{id}}."
        ));
    }
    let url = url.split('#').next().unwrap_or_default();
    let path = url.strip_prefix('/').unwrap_or(url);
    let first = path.split(['/', '?']).next().unwrap_or_default();
    if first.replace("%24", "$").eq_ignore_ascii_case("$batch") {
        return Err("a batch cannot contain another $batch request.".into());
    }
    format!("/v1.0/{}", encode_unsafe(path))
        .parse::<Uri>()
        .map_err(|_| format!("the url '{url}' is not a valid URL."))
}

/// Percent-encodes what may not stand in a URL as it is, leaving what is already encoded.
fn encode_unsafe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let safe = b.is_ascii_graphic() && !b"\"<>\\^`{|}[]".contains(&b);
        if safe {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse_headers(sent: BTreeMap<String, String>) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    for (name, value) in sent {
        let name_ok = HeaderName::from_bytes(name.trim().as_bytes());
        let value_ok = HeaderValue::from_str(value.trim());
        let (Ok(n), Ok(v)) = (name_ok, value_ok) else {
            return Err(format!("the header '{name}' is not a valid HTTP header."));
        };
        if !is_dropped(&n) {
            headers.append(n, v);
        }
    }
    Ok(headers)
}

/// A request's body: JSON as sent, or a base64 string (Graph's form for a body that is not a
/// JSON object, which Microsoft's SDKs use also for `{}`).
fn body_bytes(body: Option<Value>) -> Result<Vec<u8>, String> {
    match body {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => {
            let s = s.trim().trim_end_matches('=');
            STANDARD_NO_PAD
                .decode(s)
                .or_else(|_| URL_SAFE_NO_PAD.decode(s))
                .map_err(|_| {
                    "the body is a string that is not base64; send JSON as an object.".into()
                })
        }
        Some(v) => serde_json::to_vec(&v).map_err(|_| "the body is not valid JSON.".into()),
    }
}

/// The order to run the steps in: each after what it depends on, otherwise as sent. A cycle
/// refuses the batch.
fn order(steps: &[Step]) -> ApiResult<Vec<usize>> {
    let mut done = vec![false; steps.len()];
    let mut order = Vec::with_capacity(steps.len());
    while order.len() < steps.len() {
        let next =
            (0..steps.len()).find(|&i| !done[i] && steps[i].depends_on.iter().all(|&d| done[d]));
        let Some(i) = next else {
            let waiting: Vec<String> = (0..steps.len())
                .filter(|&i| !done[i])
                .map(|i| format!("'{}'", steps[i].id))
                .collect();
            return Err(ApiError::bad_request(format!(
                "The dependsOn of requests {} form a cycle: none of them could ever run.",
                waiting.join(", ")
            )));
        };
        done[i] = true;
        order.push(i);
    }
    Ok(order)
}

/// Where and as whom a batch's requests are sent.
struct Dispatch {
    router: Router,
    authorization: Option<HeaderValue>,
    connect: Option<ConnectInfo<SocketAddr>>,
}

/// The Graph routes under `/v1.0`, shaped and bounded as the server does it for direct calls.
fn dispatcher(state: &SharedState) -> Router {
    Router::new()
        .nest("/v1.0", Router::from(super::routes()))
        .fallback(answers::not_found)
        .method_not_allowed_fallback(answers::method_not_allowed)
        .layer(DefaultBodyLimit::max(crate::BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            answers::shape,
        ))
        .with_state(state.clone())
}

/// Runs the steps in `order` and answers them in the order they were sent.
async fn run(dispatch: &Dispatch, steps: &[Step], order: &[usize]) -> Vec<Value> {
    let mut statuses: Vec<Option<StatusCode>> = vec![None; steps.len()];
    let mut answers: Vec<Value> = vec![Value::Null; steps.len()];
    for &i in order {
        let step = &steps[i];
        let failed = step
            .depends_on
            .iter()
            .find(|&&d| !statuses[d].is_some_and(|s| s.is_success()));
        let response = match failed {
            Some(&d) => failed_dependency(step, &steps[d], statuses[d]),
            None => dispatch.send(step).await,
        };
        statuses[i] = Some(response.status());
        answers[i] = answer(&step.id, response).await;
    }
    answers
}

fn failed_dependency(step: &Step, dependency: &Step, status: Option<StatusCode>) -> Response {
    let status = status.map_or(0, |s| s.as_u16());
    ApiError::new(
        StatusCode::FAILED_DEPENDENCY,
        "badRequest",
        format!(
            "Request '{}' was not run: it depends on request '{}', which failed (status {status}).",
            step.id, dependency.id
        ),
    )
    .into_response()
}

impl Dispatch {
    async fn send(&self, step: &Step) -> Response {
        let mut req = Request::new(Body::from(step.body.clone()));
        *req.method_mut() = step.method.clone();
        *req.uri_mut() = step.uri.clone();
        *req.headers_mut() = step.headers.clone();
        if let Some(auth) = &self.authorization {
            req.headers_mut()
                .insert(header::AUTHORIZATION, auth.clone());
        }
        req.extensions_mut().insert(InBatch);
        if let Some(connect) = self.connect {
            req.extensions_mut().insert(connect);
        }
        match self.router.clone().oneshot(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// `{"id","status","headers","body"}` for one answer; the body as JSON when it is JSON, else
/// as a string, left out when empty.
async fn answer(id: &str, response: Response) -> Value {
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, ANSWER_LIMIT).await else {
        let too_large = ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "The answer to this request is too large for a batch: send it on its own.",
        );
        return Box::pin(answer(id, too_large.into_response())).await;
    };
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        if name == header::CONTENT_LENGTH {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(title_case(name.as_str()))
            .and_modify(|v| *v = json!(format!("{}, {value}", v.as_str().unwrap_or(""))))
            .or_insert(json!(value));
    }
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    let mut answer = json!({"id": id, "status": parts.status.as_u16(), "headers": headers});
    if !bytes.is_empty() {
        answer["body"] = match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) if is_json => v,
            _ => json!(String::from_utf8_lossy(&bytes)),
        };
    }
    answer
}

/// `content-type` → `Content-Type`, as Graph spells header names in a batch's answer.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(id: &str, url: &str, depends_on: &[&str]) -> SentRequest {
        SentRequest {
            id: id.into(),
            method: "GET".into(),
            url: url.into(),
            headers: None,
            body: None,
            depends_on: Some(depends_on.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn message(result: ApiResult<impl std::fmt::Debug>) -> String {
        let e = result.expect_err("refused");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        e.message
    }

    const OWN: &str = "http://localhost:8080/v1.0";

    fn plan(requests: Vec<SentRequest>) -> ApiResult<Vec<Step>> {
        super::plan(requests, OWN)
    }

    fn relative_uri(url: &str) -> Result<Uri, String> {
        super::relative_uri(url, OWN)
    }

    #[test]
    fn urls_are_relative_to_v1_with_or_without_a_leading_slash() {
        for (url, want) in [
            ("/users/x", "/v1.0/users/x"),
            ("users?$top=1", "/v1.0/users?$top=1"),
            (
                "users?$filter=userPrincipalName eq 'a@b.c'",
                "/v1.0/users?$filter=userPrincipalName%20eq%20'a@b.c'",
            ),
            (
                "/users/a%40b.c/authentication/methods",
                "/v1.0/users/a%40b.c/authentication/methods",
            ),
            ("/me#fragment", "/v1.0/me"),
            ("/users/é", "/v1.0/users/%C3%A9"),
            ("http://localhost:8080/v1.0/users/x", "/v1.0/users/x"),
            ("HTTP://LOCALHOST:8080/v1.0?$top=1", "/v1.0/?$top=1"),
        ] {
            assert_eq!(relative_uri(url).expect(url).to_string(), want, "{url}");
        }
    }

    #[test]
    fn absolute_empty_and_nested_batch_urls_are_refused() {
        for url in [
            "https://graph.microsoft.com/v1.0/users",
            "http://127.0.0.1:8080/v1.0/users",
            "http://localhost:8080/v1.0.evil/users",
            "http://localhost:8080/beta/users",
            "http://localhost:80801/v1.0/users",
            "//evil.example/users",
            "",
            "   ",
            "$batch",
            "/$BATCH",
            "/%24batch?x=1",
        ] {
            assert!(relative_uri(url).is_err(), "{url}");
        }
    }

    #[test]
    fn more_than_twenty_requests_or_none_are_refused() {
        let many = (0..21).map(|i| sent(&i.to_string(), "/me", &[])).collect();
        assert!(message(plan(many)).contains("at most 20"));
        assert!(message(plan(Vec::new())).contains("no requests"));
        let twenty = (0..20).map(|i| sent(&i.to_string(), "/me", &[])).collect();
        assert_eq!(plan(twenty).expect("twenty are fine").len(), 20);
    }

    #[test]
    fn ids_must_be_unique_ignoring_case_and_dependencies_must_exist() {
        let dup = vec![sent("a", "/me", &[]), sent("A", "/me", &[])];
        assert!(message(plan(dup)).contains("'A'"));
        let blank = vec![sent(" ", "/me", &[])];
        assert!(message(plan(blank)).contains("no id"));
        let unknown = vec![sent("1", "/me", &["2"])];
        assert!(message(plan(unknown)).contains("depends on '2'"));
        let known = plan(vec![sent("1", "/me", &[]), sent("2", "/me", &["1"])]).expect("ok");
        assert_eq!(known[1].depends_on, vec![0]);
    }

    #[test]
    fn dependencies_run_first_and_cycles_are_refused() {
        let steps = plan(vec![
            sent("3", "/me", &["2"]),
            sent("1", "/me", &[]),
            sent("2", "/me", &["1"]),
            sent("4", "/me", &[]),
        ])
        .expect("plan");
        assert_eq!(order(&steps).expect("order"), vec![1, 2, 0, 3]);
        let cycle = plan(vec![
            sent("1", "/me", &["2"]),
            sent("2", "/me", &["1"]),
            sent("3", "/me", &[]),
        ])
        .expect("plan");
        let refused = message(order(&cycle));
        assert!(
            refused.contains("'1', '2'") && !refused.contains("'3'"),
            "{refused}"
        );
        let itself = plan(vec![sent("1", "/me", &["1"])]).expect("plan");
        assert!(message(order(&itself)).contains("cycle"));
    }

    #[test]
    fn methods_headers_and_bodies_are_checked() {
        assert_eq!(parse_method("patch"), Ok(Method::PATCH));
        assert!(parse_method("TRACE").is_err());
        assert!(parse_method("").is_err());
        let headers = BTreeMap::from([
            (
                "Authorization".to_string(),
                "Bearer someone-else".to_string(),
            ),
            ("ConsistencyLevel".to_string(), "eventual".to_string()),
        ]);
        let parsed = parse_headers(headers).expect("headers");
        assert!(
            parsed.get(header::AUTHORIZATION).is_none(),
            "the caller's token is used"
        );
        assert_eq!(parsed["consistencylevel"], "eventual");
        let bad = BTreeMap::from([("Bad Name".to_string(), "x".to_string())]);
        assert!(parse_headers(bad).is_err());
        assert_eq!(
            body_bytes(Some(json!({"a": 1}))).expect("json"),
            br#"{"a":1}"#
        );
        assert_eq!(body_bytes(Some(json!("e30="))).expect("base64"), b"{}");
        assert_eq!(body_bytes(None).expect("none"), b"");
        assert!(body_bytes(Some(json!("not base64!"))).is_err());
    }

    #[test]
    fn the_python_sdks_spelling_of_depends_on_is_read() {
        let body = br#"{"requests":[{"id":"1","method":"GET","url":"/me","depends_on":[]},
            {"id":"2","method":"GET","url":"/me","depends_on":["1"],"headers":{"accept":"application/json"}}]}"#;
        let BatchBody { requests } = parse_body(body).expect("parses");
        assert_eq!(plan(requests).expect("plan")[1].depends_on, vec![0]);
    }

    #[test]
    fn header_names_are_title_cased() {
        assert_eq!(title_case("content-type"), "Content-Type");
        assert_eq!(
            title_case("x-content-type-options"),
            "X-Content-Type-Options"
        );
    }
}
