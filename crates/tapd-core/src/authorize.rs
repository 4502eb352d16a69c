//! The parameters of an OpenID Connect authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3),
//! checked: `response_type`, `response_mode`, `scope`, PKCE and `prompt`. Pure: the query
//! string's decoded pairs in, the checked values or an OAuth error and description out. Whether
//! the client is registered and the redirect URI one of its own needs the directory, so the
//! caller checks those first (through [`AuthorizeParams::get`]) and knows where a refusal may
//! be sent.

/// The request's parameters as sent, decoded; an empty value counts as absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthorizeParams(Vec<(String, String)>);

/// What a checked request asks for, beyond its client and redirect URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    /// The scopes, single-space separated.
    pub scope: String,
    pub nonce: Option<String>,
    /// BASE64URL(SHA-256(code_verifier)), 43 characters (`S256`, the only method taken).
    pub code_challenge: Option<String>,
    /// `none`, `login`, `consent` or `select_account`.
    pub prompt: Option<String>,
    pub login_hint: Option<String>,
}

/// Why the request can't go on, as OAuth sends it back to the application (RFC 6749 §4.1.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizeRefusal {
    /// `invalid_request` or `unsupported_response_type`.
    pub error: &'static str,
    pub description: String,
}

fn invalid(description: impl Into<String>) -> AuthorizeRefusal {
    AuthorizeRefusal {
        error: "invalid_request",
        description: description.into(),
    }
}

impl AuthorizeParams {
    pub fn new(pairs: Vec<(String, String)>) -> AuthorizeParams {
        AuthorizeParams(pairs)
    }

    /// The first value sent for `name`, unless it is empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn owned(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_string)
    }

    /// Checks the request of a client whose redirect URI is known to be its own. A `public`
    /// client (no secret to authenticate it at the token endpoint) must use PKCE.
    pub fn check(&self, public: bool) -> Result<Authorization, AuthorizeRefusal> {
        self.check_response_type()?;
        Ok(Authorization {
            scope: self.scope()?,
            code_challenge: self.code_challenge(public)?,
            prompt: self.prompt()?,
            nonce: self.owned("nonce"),
            login_hint: self.owned("login_hint"),
        })
    }

    fn check_response_type(&self) -> Result<(), AuthorizeRefusal> {
        match self.get("response_type") {
            Some("code") => {}
            Some(other) => {
                return Err(AuthorizeRefusal {
                    error: "unsupported_response_type",
                    description: format!("response_type '{other}' is not supported; use 'code'."),
                });
            }
            None => return Err(invalid("response_type is required.")),
        }
        match self.get("response_mode").filter(|m| *m != "query") {
            Some(mode) => Err(invalid(format!(
                "response_mode '{mode}' is not supported; use 'query'."
            ))),
            None => Ok(()),
        }
    }

    /// Required; blanks between scopes don't count, so a scope of only blanks is missing too.
    fn scope(&self) -> Result<String, AuthorizeRefusal> {
        let scope = self
            .get("scope")
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty());
        scope.ok_or_else(|| {
            invalid("scope is required, for example 'openid profile offline_access'.")
        })
    }

    /// PKCE: S256 only, required for public clients.
    fn code_challenge(&self, public: bool) -> Result<Option<String>, AuthorizeRefusal> {
        let challenge = self.owned("code_challenge");
        match (self.get("code_challenge_method"), &challenge) {
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

    fn prompt(&self) -> Result<Option<String>, AuthorizeRefusal> {
        let prompt = self.owned("prompt");
        if let Some(p) = &prompt
            && !matches!(p.as_str(), "none" | "login" | "consent" | "select_account")
        {
            return Err(invalid(format!("prompt '{p}' is not supported.")));
        }
        Ok(prompt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn params(pairs: &[(&str, &str)]) -> AuthorizeParams {
        AuthorizeParams::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn code_request(extra: &[(&str, &str)]) -> AuthorizeParams {
        let mut pairs = vec![("response_type", "code"), ("scope", "openid profile")];
        pairs.extend_from_slice(extra);
        params(&pairs)
    }

    fn refusal(p: &AuthorizeParams, public: bool) -> AuthorizeRefusal {
        p.check(public).expect_err("refused")
    }

    #[test]
    fn a_confidential_client_needs_only_response_type_and_scope() {
        let checked = code_request(&[("nonce", "n-1"), ("login_hint", "alice@tapd.local")])
            .check(false)
            .unwrap();
        assert_eq!(
            checked,
            Authorization {
                scope: "openid profile".into(),
                nonce: Some("n-1".into()),
                code_challenge: None,
                prompt: None,
                login_hint: Some("alice@tapd.local".into()),
            }
        );
    }

    #[test]
    fn response_type_must_be_code_and_response_mode_query() {
        let r = refusal(&params(&[("scope", "openid")]), false);
        assert_eq!(
            (r.error, r.description.as_str()),
            ("invalid_request", "response_type is required.")
        );
        let r = refusal(
            &params(&[("response_type", "token"), ("scope", "openid")]),
            false,
        );
        assert_eq!(r.error, "unsupported_response_type");
        assert!(r.description.contains("'token'"), "{}", r.description);
        let r = refusal(&code_request(&[("response_mode", "fragment")]), false);
        assert_eq!(r.error, "invalid_request");
        assert!(
            code_request(&[("response_mode", "query")])
                .check(false)
                .is_ok()
        );
    }

    #[test]
    fn empty_values_count_as_absent() {
        let r = refusal(
            &params(&[("response_type", ""), ("scope", "openid")]),
            false,
        );
        assert_eq!(r.description, "response_type is required.");
        let checked = code_request(&[("prompt", ""), ("nonce", "")])
            .check(false)
            .unwrap();
        assert_eq!((checked.prompt, checked.nonce), (None, None));
    }

    #[test]
    fn scopes_are_joined_by_single_spaces() {
        let p = params(&[("response_type", "code"), ("scope", " openid\t profile\n")]);
        assert_eq!(p.check(false).unwrap().scope, "openid profile");
    }

    #[test]
    fn a_scope_of_only_blanks_is_missing() {
        // Found while fuzzing: "scope is required" but " " passed as an empty scope.
        for blank in [" ", "\t\n", "\u{3000}"] {
            let p = params(&[("response_type", "code"), ("scope", blank)]);
            assert!(
                refusal(&p, false)
                    .description
                    .starts_with("scope is required"),
                "{blank:?}"
            );
        }
    }

    #[test]
    fn pkce_is_s256_with_a_43_character_challenge_and_required_of_public_clients() {
        let with = |method: &str, challenge: &str| {
            code_request(&[
                ("code_challenge_method", method),
                ("code_challenge", challenge),
            ])
        };
        assert_eq!(
            with("S256", CHALLENGE)
                .check(true)
                .unwrap()
                .code_challenge
                .as_deref(),
            Some(CHALLENGE)
        );
        for (p, why) in [
            (with("plain", CHALLENGE), "method must be S256"),
            (
                code_request(&[("code_challenge", CHALLENGE)]),
                "method must be S256",
            ),
            (
                code_request(&[("code_challenge_method", "S256")]),
                "is missing",
            ),
            (with("S256", &CHALLENGE[1..]), "43 characters"),
            (
                with("S256", &format!("{}=", &CHALLENGE[1..])),
                "43 characters",
            ),
            (code_request(&[]), "PKCE is required"),
        ] {
            let r = refusal(&p, true);
            assert_eq!(r.error, "invalid_request");
            assert!(r.description.contains(why), "{}", r.description);
        }
        assert!(
            code_request(&[]).check(false).is_ok(),
            "a confidential client may skip PKCE"
        );
    }

    #[test]
    fn a_challenge_of_43_bytes_but_not_43_symbols_is_refused() {
        // A case the fuzz target's property raised: the length is counted in bytes, so a
        // multi-byte character must not let 43 bytes of fewer symbols through.
        let challenge = format!("{}é", &CHALLENGE[2..]);
        assert_eq!(challenge.len(), 43);
        let p = code_request(&[
            ("code_challenge_method", "S256"),
            ("code_challenge", &challenge),
        ]);
        assert!(refusal(&p, true).description.contains("43 characters"));
    }

    #[test]
    fn prompt_takes_the_four_values_oidc_defines() {
        for prompt in ["none", "login", "consent", "select_account"] {
            let checked = code_request(&[("prompt", prompt)]).check(false).unwrap();
            assert_eq!(checked.prompt.as_deref(), Some(prompt));
        }
        let r = refusal(&code_request(&[("prompt", "create")]), false);
        assert_eq!(r.description, "prompt 'create' is not supported.");
    }

    #[test]
    fn the_first_value_of_a_repeated_parameter_counts() {
        let p = params(&[("client_id", "a"), ("client_id", "b")]);
        assert_eq!(p.get("client_id"), Some("a"));
        assert_eq!(p.get("redirect_uri"), None);
    }
}
