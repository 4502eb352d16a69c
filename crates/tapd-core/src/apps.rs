//! Application registrations: which redirect URIs may be registered (SPEC §6.4). A redirect URI
//! is where a sign-in hands its code, so only URIs that cannot leak it are accepted.

use crate::DomainError;

/// Graph's platforms of an application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// Confidential server-side apps (`web`).
    Web,
    /// Browser apps (`spa`): public, PKCE.
    Spa,
    /// Mobile and desktop apps (`publicClient`): public, PKCE.
    PublicClient,
}

impl Platform {
    pub fn graph_name(self) -> &'static str {
        match self {
            Platform::Web => "web",
            Platform::Spa => "spa",
            Platform::PublicClient => "publicClient",
        }
    }
}

/// Most redirect URIs one platform of an app may hold.
pub const MAX_REDIRECT_URIS: usize = 256;

fn is_loopback(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    matches!(name, "localhost" | "127.0.0.1" | "[::1]")
}

/// Checks one redirect URI for `platform`: absolute, no fragment, at most 256 characters;
/// `https`, or `http` on the loopback host only; private-use schemes (`com.example.app:/cb`)
/// for mobile and desktop apps only.
pub fn validate_redirect_uri(platform: Platform, uri: &str) -> Result<(), DomainError> {
    let bad = |why: &str| {
        Err(DomainError::BadRequest(format!(
            "Invalid redirect URI '{uri}' for {}: {why}",
            platform.graph_name()
        )))
    };
    if uri.is_empty() || uri.len() > 256 {
        return bad("it must be 1 to 256 characters.");
    }
    if uri.contains('#') {
        return bad("it must not contain a fragment (#).");
    }
    if uri
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '*')
    {
        return bad("it must not contain spaces or wildcards.");
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return bad("it must be an absolute URI.");
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok {
        return bad("it must be an absolute URI.");
    }
    let host = rest
        .strip_prefix("//")
        .map(|r| r.split(['/', '?']).next().unwrap_or_default());
    match (scheme.to_ascii_lowercase().as_str(), host) {
        ("https", Some(h)) if !h.is_empty() => Ok(()),
        ("http", Some(h)) if is_loopback(h) => Ok(()),
        ("http", _) => bad("http is allowed for localhost only; use https."),
        ("https", _) => bad("it must name a host."),
        _ if platform == Platform::PublicClient => Ok(()),
        _ => bad("web and spa redirect URIs must use https (or http on localhost)."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_http_on_loopback_only() {
        for uri in [
            "https://app.contoso.com/signin-oidc",
            "https://app.contoso.com:8443/cb?tenant=1",
            "http://localhost:8400/callback",
            "http://127.0.0.1/cb",
            "http://[::1]:9000/cb",
        ] {
            assert_eq!(validate_redirect_uri(Platform::Web, uri), Ok(()), "{uri}");
            assert_eq!(validate_redirect_uri(Platform::Spa, uri), Ok(()), "{uri}");
        }
        for uri in [
            "http://app.contoso.com/cb",
            "http://localhost.evil.test/cb",
            "https://app.contoso.com/cb#frag",
            "https://*.contoso.com/cb",
            "/relative/cb",
            "https:///cb",
            "",
            "com.contoso.app:/oauth2redirect",
        ] {
            assert!(validate_redirect_uri(Platform::Web, uri).is_err(), "{uri}");
        }
    }

    #[test]
    fn private_use_schemes_are_for_mobile_and_desktop_apps() {
        let uri = "com.contoso.app:/oauth2redirect";
        assert_eq!(validate_redirect_uri(Platform::PublicClient, uri), Ok(()));
        assert!(validate_redirect_uri(Platform::Spa, uri).is_err());
        assert!(validate_redirect_uri(Platform::PublicClient, "http://evil.test/cb").is_err());
    }

    #[test]
    fn long_uris_are_refused() {
        let uri = format!("https://app.contoso.com/{}", "a".repeat(240));
        assert!(validate_redirect_uri(Platform::Web, &uri).is_err());
    }
}
