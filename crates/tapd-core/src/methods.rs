//! Registering a new sign-in method (a passkey): when a session may still do it (SPEC §6.2) and
//! what its name may be (SPEC §6.3).

use time::{Duration, OffsetDateTime};

use crate::DomainError;

/// How long after a sign-in with a one-time pass a new method may still be registered.
pub const REGISTRATION_WINDOW: Duration = Duration::minutes(10);

/// Whether a session may register a new method at `now`. A session opened with a one-time pass
/// may do so only until [`REGISTRATION_WINDOW`] after that sign-in (`signed_in_at`); any other
/// session (multi-use pass, passkey, password) has no such window.
pub fn registration_allowed(
    session_from_one_time_pass: bool,
    signed_in_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), DomainError> {
    if session_from_one_time_pass && now >= signed_in_at.saturating_add(REGISTRATION_WINDOW) {
        return Err(DomainError::AccessDenied(
            "A new sign-in method must be registered within 10 minutes of signing in with a \
             one-time Temporary Access Pass, and that time has passed. Ask your administrator \
             for a new pass and sign in again."
                .into(),
        ));
    }
    Ok(())
}

/// Longest passkey name accepted (Entra's limit for a security key's name is 30; tapd allows
/// a little more room for a device and its owner).
pub const MAX_PASSKEY_NAME: usize = 64;

/// The name a user gives a passkey: trimmed, not empty, at most [`MAX_PASSKEY_NAME`] characters,
/// without control characters.
pub fn passkey_display_name(name: &str) -> Result<String, DomainError> {
    let name = name.trim();
    let len = name.chars().count();
    if len == 0 || len > MAX_PASSKEY_NAME || name.chars().any(char::is_control) {
        return Err(DomainError::BadRequest(format!(
            "Invalid value for displayName: give the passkey a name of 1 to {MAX_PASSKEY_NAME} \
             characters without control characters."
        )));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

    #[test]
    fn one_time_pass_sessions_register_within_ten_minutes_only() {
        let at = |m: i64, s: i64| T + Duration::minutes(m) + Duration::seconds(s);
        assert!(registration_allowed(true, T, T).is_ok());
        assert!(registration_allowed(true, T, at(9, 59)).is_ok());
        let refused = registration_allowed(true, T, at(10, 0)).unwrap_err();
        assert!(
            matches!(refused, DomainError::AccessDenied(_)),
            "{refused:?}"
        );
        assert!(
            refused
                .message()
                .contains("Ask your administrator for a new pass")
        );
        assert!(registration_allowed(true, T, at(10, 1)).is_err());
    }

    #[test]
    fn other_sessions_have_no_window() {
        assert!(registration_allowed(false, T, T + Duration::days(3)).is_ok());
    }

    #[test]
    fn passkey_names() {
        assert_eq!(passkey_display_name("  My laptop ").unwrap(), "My laptop");
        assert_eq!(
            passkey_display_name(&"é".repeat(64))
                .unwrap()
                .chars()
                .count(),
            64
        );
        for bad in ["", "   ", "a\nb", &"x".repeat(65)] {
            assert!(matches!(
                passkey_display_name(bad),
                Err(DomainError::BadRequest(_))
            ));
        }
    }

    proptest! {
        #[test]
        fn allowed_exactly_before_the_window_ends(
            one_time in any::<bool>(),
            offset_secs in -86_400i64..86_400,
        ) {
            let now = T + Duration::seconds(offset_secs);
            let allowed = registration_allowed(one_time, T, now).is_ok();
            prop_assert_eq!(allowed, !one_time || offset_secs < 600);
        }
    }
}
