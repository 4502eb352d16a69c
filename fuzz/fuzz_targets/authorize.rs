//! The parameters of an authorization request: any query string either checks out — a code
//! request with a usable scope, PKCE as RFC 7636 has it (required of public clients), a prompt
//! OpenID Connect defines — or is refused with an OAuth error and a description, never a panic.
//!
//! Input: the query string, split on `&` and `=` as already decoded (percent-decoding is
//! `form_urlencoded`'s, in the server).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tapd_core::{Authorization, AuthorizeParams};

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let pairs = query
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let params = AuthorizeParams::new(pairs);
    let confidential = params.check(false);
    let public = params.check(true);
    for (checked, is_public) in [(&confidential, false), (&public, true)] {
        match checked {
            Ok(a) => accepted(&params, a, is_public),
            Err(r) => {
                assert!(
                    matches!(r.error, "invalid_request" | "unsupported_response_type"),
                    "{r:?}"
                );
                assert!(!r.description.is_empty());
            }
        }
    }
    // A public client is held to more, never to less.
    assert!(public.is_err() || confidential == public);
});

fn accepted(params: &AuthorizeParams, a: &Authorization, public: bool) {
    assert_eq!(params.get("response_type"), Some("code"));
    assert!(
        !a.scope.is_empty()
            && a.scope
                .split(' ')
                .all(|s| !s.is_empty() && !s.contains(char::is_whitespace)),
        "scope {:?}",
        a.scope
    );
    if let Some(c) = &a.code_challenge {
        assert_eq!(c.chars().count(), 43);
        assert!(
            c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        );
        assert_eq!(params.get("code_challenge_method"), Some("S256"));
    }
    assert!(!public || a.code_challenge.is_some());
    assert!(matches!(
        a.prompt.as_deref(),
        None | Some("none" | "login" | "consent" | "select_account")
    ));
    assert_eq!(a.nonce.as_deref(), params.get("nonce"));
    assert_eq!(a.login_hint.as_deref(), params.get("login_hint"));
}
