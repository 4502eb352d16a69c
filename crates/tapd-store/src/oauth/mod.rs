//! What the OpenID Connect provider keeps: signing keys, app registrations and their secrets,
//! authorization codes, device codes, refresh-token families and browser sessions. Every secret is stored as
//! a hash or sealed; codes and refresh tokens are consumed with one conditional UPDATE, so
//! exactly one of any number of concurrent redemptions wins, on any replica.
//!
//! `signing_keys` holds the token-signing keys, `apps` the registrations, `tokens` the codes
//! and refresh tokens, `web_sessions` the browser sessions; this module what they share.

mod apps;
mod device_codes;
mod signing_keys;
mod tokens;
mod web_sessions;

pub use apps::{AppRecord, AppSecret};
pub use device_codes::{DeviceApproval, DeviceCode};
pub use signing_keys::SigningKeyRow;
pub use tokens::{AuthCode, RefreshToken};
pub use web_sessions::WebSession;

pub(crate) use tokens::insert_refreshes;
pub(crate) use web_sessions::insert_web_sessions;

/// What a successful sign-in stores, committed with the pass's consumption.
#[derive(Clone, Debug)]
pub enum Grant {
    Refresh(RefreshToken),
    Web(WebSession),
}

/// The outcome of redeeming a one-time token (a code or a refresh token).
#[derive(Debug)]
pub enum Redeemed<T> {
    Fresh(T),
    /// It was used before: its whole family has now been revoked.
    Reused,
    Unknown,
}
