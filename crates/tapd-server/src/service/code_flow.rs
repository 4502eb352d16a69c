//! The authorization request of the OpenID Connect code flow, checked (RFC 6749 §4.1.1,
//! RFC 7636): the client must be registered and the redirect URI one of its own (matched
//! exactly) — otherwise there is nowhere safe to send the user back, and the refusal is shown
//! by tapd; every other problem goes back to the application's redirect URI (§4.1.2.1).

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

/// The request's parameters; empty values count as absent.
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn owned(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_string)
    }
}

/// Parses and checks an authorization request's query string. `Ok(Err(..))` is a refusal;
/// `Err(..)` a failure of tapd itself.
pub async fn check(
    svc: &Services,
    query: &str,
) -> ServiceResult<Result<AuthorizeRequest, Refusal>> {
    let params = Params(
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
    );
    let (app, redirect_uri) = match client_and_redirect(svc, &params).await? {
        Ok(found) => found,
        Err(message) => return Ok(Err(Refusal::Page(message))),
    };
    let state = params.owned("state");
    let refuse = |error: &'static str, description: String| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
        description,
    };
    let public = !app.web_redirect_uris.contains(&redirect_uri);
    let checked = check_response_type(&params)
        .and_then(|()| scope_of(&params))
        .and_then(|scope| Ok((scope, code_challenge(&params, public)?, prompt(&params)?)));
    let (scope, code_challenge, prompt) = match checked {
        Ok(c) => c,
        Err((error, description)) => return Ok(Err(refuse(error, description))),
    };
    Ok(Ok(AuthorizeRequest {
        scope,
        nonce: params.owned("nonce"),
        login_hint: params.owned("login_hint"),
        state,
        code_challenge,
        prompt,
        redirect_uri,
        app,
    }))
}

/// The registered client and one of its redirect URIs, or what to show instead.
async fn client_and_redirect(
    svc: &Services,
    params: &Params,
) -> ServiceResult<Result<(AppRecord, String), String>> {
    let Some(client_id) = params.get("client_id") else {
        return Ok(Err("The request has no client_id.".into()));
    };
    let Some(app) = registered_app(svc, client_id).await? else {
        return Ok(Err(format!(
            "Application '{client_id}' is not registered in this directory. Ask its developer to register it."
        )));
    };
    let Some(redirect_uri) = params.owned("redirect_uri") else {
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

/// An OAuth error code and its description.
type Problem = (&'static str, String);

fn invalid(description: impl Into<String>) -> Problem {
    ("invalid_request", description.into())
}

fn check_response_type(params: &Params) -> Result<(), Problem> {
    match params.get("response_type") {
        Some("code") => {}
        Some(other) => {
            return Err((
                "unsupported_response_type",
                format!("response_type '{other}' is not supported; use 'code'."),
            ));
        }
        None => return Err(invalid("response_type is required.")),
    }
    match params.get("response_mode").filter(|m| *m != "query") {
        Some(mode) => Err(invalid(format!(
            "response_mode '{mode}' is not supported; use 'query'."
        ))),
        None => Ok(()),
    }
}

fn scope_of(params: &Params) -> Result<String, Problem> {
    let scope = params.get("scope").ok_or_else(|| {
        invalid("scope is required, for example 'openid profile offline_access'.")
    })?;
    Ok(scope.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// PKCE: S256 only, required for public clients.
fn code_challenge(params: &Params, public: bool) -> Result<Option<String>, Problem> {
    let challenge = params.owned("code_challenge");
    match (params.get("code_challenge_method"), &challenge) {
        (Some("S256"), Some(_)) | (None, None) => {}
        (None, Some(_)) | (Some(_), Some(_)) => {
            return Err(invalid("code_challenge_method must be S256."));
        }
        (Some(_), None) => return Err(invalid("code_challenge is missing.")),
    }
    if let Some(c) = &challenge
        && (c.len() != 43
            || !c
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    {
        return Err(invalid(
            "code_challenge must be BASE64URL(SHA-256(code_verifier)), 43 characters.",
        ));
    }
    if public && challenge.is_none() {
        return Err(invalid(
            "This is a public client: PKCE is required (code_challenge with code_challenge_method=S256).",
        ));
    }
    Ok(challenge)
}

fn prompt(params: &Params) -> Result<Option<String>, Problem> {
    let prompt = params.owned("prompt");
    if let Some(p) = &prompt
        && !matches!(p.as_str(), "none" | "login" | "consent" | "select_account")
    {
        return Err(invalid(format!("prompt '{p}' is not supported.")));
    }
    Ok(prompt)
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
