//! Graph's query options at the edge: the extractor that reads them (with the
//! `ConsistencyLevel` header), and the rendering of a page — `$select`, `@odata.count`,
//! `@odata.nextLink` — and of `/$count`. Core checks the options; the store runs them.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tapd_core::odata::{Query, QueryContext, Resource, skiptoken};
use tapd_store::Page;

use super::url_with_query;
use crate::http::error::{ApiError, ApiResult};
use crate::state::SharedState;

/// Graph's query options on a collection, as the OpenAPI document describes them; [`OData`]
/// reads them. What each collection allows of `$filter` and `$orderby` is its own (core's
/// resource tables); anything else is a 400 naming the property.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListOptions {
    /// Properties to answer, comma-separated (`id` is always kept).
    #[param(rename = "$select")]
    select: Option<String>,
    /// `eq`, `ne`, `startswith`, `in`, `and`, `or`, `not`; `gt`/`ge`/`lt`/`le` on dates.
    #[param(rename = "$filter")]
    filter: Option<String>,
    /// A property, optionally followed by `asc` or `desc`.
    #[param(rename = "$orderby")]
    orderby: Option<String>,
    /// Page size.
    #[param(rename = "$top", minimum = 1, maximum = 999)]
    top: Option<i64>,
    /// The opaque token of `@odata.nextLink`.
    #[param(rename = "$skiptoken")]
    skiptoken: Option<String>,
    /// `true` adds `@odata.count` (directory objects need `ConsistencyLevel: eventual`).
    #[param(rename = "$count")]
    count: Option<bool>,
    /// `"displayName:word"`, words joined by AND or OR (needs `ConsistencyLevel: eventual`).
    #[param(rename = "$search")]
    search: Option<String>,
}

/// Graph's query options on `/$count`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct CountOptions {
    #[param(rename = "$filter")]
    filter: Option<String>,
    #[param(rename = "$search")]
    search: Option<String>,
}

/// `$select` and `$top` on a user's handful of methods.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SmallOptions {
    #[param(rename = "$select")]
    select: Option<String>,
    #[param(rename = "$top", minimum = 1, maximum = 999)]
    top: Option<i64>,
}

/// The `ConsistencyLevel` header, which `$count` and `$search` need on directory objects.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct Consistency {
    /// `eventual`.
    #[param(rename = "ConsistencyLevel")]
    consistency_level: Option<String>,
}

/// The decoded query string and whether the caller sent `ConsistencyLevel: eventual`.
pub struct OData {
    pairs: Vec<(String, String)>,
    eventual: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for OData {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let uri = format!("/?{}", parts.uri.query().unwrap_or(""));
        let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
            &uri.parse()
                .map_err(|_| ApiError::bad_request("The query string is malformed."))?,
        )
        .map_err(|e| ApiError::bad_request(format!("Invalid query string: {e}")))?
        .0;
        let eventual = parts
            .headers
            .get("consistencylevel")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"));
        Ok(OData { pairs, eventual })
    }
}

impl OData {
    /// The options checked against `resource`, with `$top` defaulting to `default_top`.
    pub fn query(&self, resource: &Resource, default_top: i64) -> ApiResult<Query> {
        let pairs = self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let cx = QueryContext {
            default_top,
            eventual: self.eventual,
        };
        Ok(Query::parse(pairs, resource, cx)?)
    }

    /// The options for `/$count`: `$filter` and `$search` apply; the count needs
    /// `ConsistencyLevel: eventual` on directory objects, as `$count=true` does.
    pub fn count_query(&self, resource: &Resource) -> ApiResult<Query> {
        if let Some((k, _)) = self.pairs.iter().find(|(k, _)| {
            let k = k.to_ascii_lowercase();
            k.starts_with('$') && k != "$filter" && k != "$search"
        }) {
            return Err(ApiError::bad_request(format!(
                "The query option '{k}' does not apply to $count."
            )));
        }
        let mut pairs: Vec<(&str, &str)> = self
            .pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        pairs.push(("$count", "true"));
        let cx = QueryContext {
            default_top: 1,
            eventual: self.eventual,
        };
        Ok(Query::parse(pairs, resource, cx)?)
    }

    /// The link to the page after one that started `q.skip` rows in: the same options, the
    /// next `$skiptoken`.
    fn next_link(&self, state: &SharedState, path: &str, q: &Query) -> String {
        let mut params: Vec<(&str, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken"))
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        params.push(("$skiptoken", skiptoken(q.skip + q.top)));
        url_with_query(state, path, &params)
    }
}

/// How one page is rendered: its `@odata.context` name, its path (for the next link), and
/// each item's Graph JSON.
pub struct Rendered<'a> {
    pub context: &'a str,
    pub path: &'a str,
}

/// `{"@odata.context", "@odata.count"?, "value", "@odata.nextLink"?}` with `$select` applied.
pub fn page_json<T>(
    state: &SharedState,
    odata: &OData,
    q: &Query,
    page: &Page<T>,
    at: Rendered<'_>,
    render: impl Fn(&T) -> Value,
) -> Value {
    let value: Vec<Value> = page
        .items
        .iter()
        .map(|item| select(render(item), q.select.as_deref()))
        .collect();
    let context = match &q.select {
        Some(fields) => format!("{}({})", at.context, fields.join(",")),
        None => at.context.to_string(),
    };
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!("{}/v1.0/$metadata#{context}", state.public_url)),
    );
    if let Some(count) = page.count {
        body.insert("@odata.count".into(), json!(count));
    }
    body.insert("value".into(), Value::Array(value));
    if page.more {
        body.insert(
            "@odata.nextLink".into(),
            json!(odata.next_link(state, at.path, q)),
        );
    }
    Value::Object(body)
}

/// Keeps `fields`, `id` and the `@odata.*` annotations of one object.
pub fn select(item: Value, fields: Option<&[&str]>) -> Value {
    let (Some(fields), Value::Object(map)) = (fields, &item) else {
        return item;
    };
    let kept = map
        .iter()
        .filter(|(k, _)| *k == "id" || k.starts_with("@odata.") || fields.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(kept)
}

/// `/…/$count`: the number as plain text, as Graph answers it.
pub fn count_text<T>(page: &Page<T>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        page.count.unwrap_or(0).to_string(),
    )
        .into_response()
}

/// A collection of a few objects (a user's methods), read whole: `$select` and `$top` apply,
/// and the options that would need a query (`$filter`, `$orderby`, `$count`) are refused.
pub fn small_collection(
    state: &SharedState,
    odata: &OData,
    resource: &Resource,
    context: &str,
    values: Vec<Value>,
) -> ApiResult<Value> {
    let q = odata.query(resource, tapd_core::odata::MAX_TOP)?;
    if q.filter.is_some() || !q.order.is_empty() || q.skip > 0 {
        return Err(ApiError::bad_request(format!(
            "This collection takes only $select and $top: a user has few {}s.",
            resource.name
        )));
    }
    let page = Page {
        more: false,
        count: None,
        items: values.into_iter().take(q.top as usize).collect(),
    };
    let at = Rendered { context, path: "" };
    Ok(page_json(state, odata, &q, &page, at, Value::clone))
}
