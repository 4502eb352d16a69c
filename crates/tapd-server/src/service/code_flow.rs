//! The authorization request of the OpenID Connect code flow, checked (RFC 6749 §4.1.1,
//! RFC 7636): the client must be registered and the redirect URI one of its own (matched
//! exactly) — otherwise there is nowhere safe to send the user back, and the refusal is shown
//! by tapd; every other problem goes back to the application's redirect URI (§4.1.2.1). The
//! parameters themselves are checked by the domain (`tapd_core::AuthorizeParams`).

use tapd_core::{AuthorizeParams, AuthorizeRefusal};
use tapd_store::AppRecord;

use super::oauth::{is_registered_redirect, registered_app};
use super::{ServiceResult, Services};

/// A checked authorization request.
pub struct AuthorizeRequest {
    pub app: AppRecord,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Option<String>,
    pub login_hint: Option<String>,
}

/// Why a request can't go on.
pub enum Refusal {
    /// Shown on tapd's own page: there is no trustworthy place to send the user back to.
    Page(String),
    /// Sent back to the application's redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

/// Parses and checks an authorization request's query string. `Ok(Err(..))` is a refusal;
/// `Err(..)` a failure of tapd itself.
pub async fn check(
    svc: &Services,
    query: &str,
) -> ServiceResult<Result<AuthorizeRequest, Refusal>> {
    let params = AuthorizeParams::new(
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
    );
    let (app, redirect_uri) = match client_and_redirect(svc, &params).await? {
        Ok(found) => found,
        Err(message) => return Ok(Err(Refusal::Page(message))),
    };
    let state = params.get("state").map(str::to_string);
    let public = !app.web_redirect_uris.contains(&redirect_uri);
    let checked = match params.check(public) {
        Ok(checked) => checked,
        Err(AuthorizeRefusal { error, description }) => {
            return Ok(Err(Refusal::Redirect {
                redirect_uri,
                state,
                error,
                description,
            }));
        }
    };
    Ok(Ok(AuthorizeRequest {
        app,
        redirect_uri,
        state,
        scope: checked.scope,
        nonce: checked.nonce,
        code_challenge: checked.code_challenge,
        prompt: checked.prompt,
        login_hint: checked.login_hint,
    }))
}

/// The registered client and one of its redirect URIs, or what to show instead.
async fn client_and_redirect(
    svc: &Services,
    params: &AuthorizeParams,
) -> ServiceResult<Result<(AppRecord, String), String>> {
    let Some(client_id) = params.get("client_id") else {
        return Ok(Err("The request has no client_id.".into()));
    };
    let Some(app) = registered_app(svc, client_id).await? else {
        return Ok(Err(format!(
            "Application '{client_id}' is not registered in this directory. Ask its developer to register it."
        )));
    };
    let Some(redirect_uri) = params.get("redirect_uri").map(str::to_string) else {
        return Ok(Err("The request has no redirect_uri.".into()));
    };
    if !is_registered_redirect(&app, &redirect_uri) {
        return Ok(Err(format!(
            "The redirect URI '{redirect_uri}' is not registered for application '{}'. Redirect URIs must match exactly.",
            app.display_name
        )));
    }
    Ok(Ok((app, redirect_uri)))
}

/// `uri` with `params` added to its query.
pub fn with_params(uri: &str, params: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{query}")
}

/// `scheme://host[:port]` of a URI, for the pages' CSP `form-action`.
pub fn origin_of(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    ok.then(|| format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_added_to_the_redirect_uri_encoded() {
        assert_eq!(
            with_params("https://app.test/cb", &[("code", "a+b"), ("state", "x y")]),
            "https://app.test/cb?code=a%2Bb&state=x+y"
        );
        assert_eq!(
            with_params("https://app.test/cb?k=v", &[("code", "c")]),
            "https://app.test/cb?k=v&code=c"
        );
    }

    #[test]
    fn origins_are_scheme_host_and_port() {
        assert_eq!(
            origin_of("http://localhost:8400/cb?x").as_deref(),
            Some("http://localhost:8400")
        );
        assert_eq!(
            origin_of("com.example.app://callback").as_deref(),
            Some("com.example.app://callback")
        );
        assert_eq!(origin_of("https://evil.test;script-src *"), None);
    }
}
