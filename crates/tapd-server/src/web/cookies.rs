//! Cookies and CSRF protection. CSRF: a random `tapd_csrf` cookie; each form carries a keyed
//! hash of it, checked in constant time on every POST (double submit, signed). Cookies are
//! HttpOnly, SameSite=Lax, and Secure when the public URL is https.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::keys::new_opaque_token;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "tapd_session";
pub const CSRF_COOKIE: &str = "tapd_csrf";

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` for `name` on `path`; `max_age` 0 removes it.
pub fn set_cookie_at(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
) -> HeaderValue {
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("tapd_invalid=; Max-Age=0"))
}

pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    set_cookie_at(state, name, value, "/", max_age)
}

/// The browser's CSRF cookie, and the header that sets it when it had none.
pub struct Csrf {
    cookie: String,
    /// The header that sets the cookie, when the browser had none.
    pub set: Option<HeaderValue>,
}

fn csrf_token_of(state: &AppState, cookie: &str) -> String {
    URL_SAFE_NO_PAD.encode(state.svc.keys.mac("tapd-csrf-v1", cookie.as_bytes()))
}

impl Csrf {
    pub fn of(state: &AppState, headers: &HeaderMap) -> Csrf {
        match cookie(headers, CSRF_COOKIE) {
            Some(c) => Csrf {
                cookie: c.to_string(),
                set: None,
            },
            None => {
                let c = new_opaque_token();
                Csrf {
                    set: Some(set_cookie(state, CSRF_COOKIE, &c, 400 * 24 * 3600)),
                    cookie: c,
                }
            }
        }
    }

    /// The token forms carry.
    pub fn token(&self, state: &AppState) -> String {
        csrf_token_of(state, &self.cookie)
    }

    /// Whether `sent` is this browser's token, compared in constant time. The one CSRF check
    /// of every POST; a browser without the cookie never matches.
    pub fn matches(&self, state: &AppState, sent: &str) -> bool {
        self.set.is_none()
            && subtle::ConstantTimeEq::ct_eq(self.token(state).as_bytes(), sent.as_bytes()).into()
    }
}

/// Checks a form's (or a fetch's `X-CSRF-Token`) token against the browser's cookie.
pub fn csrf_ok(state: &AppState, headers: &HeaderMap, sent: &str) -> bool {
    let sent = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(sent);
    Csrf::of(state, headers).matches(state, sent)
}
