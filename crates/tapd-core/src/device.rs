//! The device authorization grant (RFC 8628) and the tapd CLI's own client: the user code a
//! person types (short, from an alphabet without look-alikes), how long a device code lives and
//! how fast it may be polled, what a poll answers, how many wrong user codes a person may enter,
//! and the loopback redirect rule of a native app (RFC 8252 §7.3). Pure: time and random bytes
//! come in as arguments.

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::Throttle;

/// The tapd CLI's client id: a first-party public client built into every tapd, not stored in
/// the database, so it works on any database and can't be deleted or changed.
pub const CLI_CLIENT_ID: Uuid = Uuid::from_u128(0x5a3e1c3b_8f0d_4c8e_9d2a_7b6f1e0c11d1);

/// The CLI's display name, shown on the pages that ask the person to approve it.
pub const CLI_CLIENT_NAME: &str = "tapd CLI";

/// The CLI's redirect URIs: the loopback addresses, any port (RFC 8252 §7.3).
pub const CLI_REDIRECT_URIS: [&str; 2] = ["http://127.0.0.1/", "http://[::1]/"];

/// How long a device code waits for the person (Entra's: 15 minutes).
pub const DEVICE_CODE_TTL: Duration = Duration::minutes(15);

/// The polling interval a device starts with.
pub const DEVICE_POLL_INTERVAL: Duration = Duration::seconds(5);

/// What a `slow_down` adds to the interval, for that poll and every later one (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: Duration = Duration::seconds(5);

/// The longest interval a device is asked to keep (it stops growing there).
pub const MAX_POLL_INTERVAL: Duration = Duration::seconds(60);

/// Wrong user codes a signed-in person may enter in a row before they must wait: ten, then five
/// minutes after each further wrong one (the guessing limit of the `/device` page).
pub const USER_CODE_THROTTLE: Throttle = Throttle {
    limit: 10,
    cool_down: Duration::minutes(5),
};

/// The user code's alphabet: consonants only, so no look-alikes (0/O, 1/I) and no words.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Letters in a user code (20^8 ≈ 2.6·10^10 codes), shown as two groups of four.
pub const USER_CODE_LENGTH: usize = 8;

/// A user code from random bytes by rejection sampling (no bias), or `None` when the bytes ran
/// out first (draw more).
pub fn user_code_from_random_bytes(bytes: &[u8]) -> Option<String> {
    // 240 = 12 · 20: bytes at or above it are discarded, so each letter is equally likely.
    let letters: Vec<u8> = bytes
        .iter()
        .filter(|b| **b < 240)
        .map(|b| USER_CODE_ALPHABET[usize::from(*b % 20)])
        .take(USER_CODE_LENGTH)
        .collect();
    (letters.len() == USER_CODE_LENGTH).then(|| format_user_code(&letters))
}

fn format_user_code(letters: &[u8]) -> String {
    let (a, b) = letters.split_at(USER_CODE_LENGTH / 2);
    format!(
        "{}-{}",
        String::from_utf8_lossy(a),
        String::from_utf8_lossy(b)
    )
}

/// A typed user code in its canonical form (`BCDF-GHJK`): case, blanks and dashes don't
/// matter; `None` unless it is eight letters of the alphabet.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    if typed.len() > 64 {
        return None;
    }
    let letters: Vec<u8> = typed
        .bytes()
        .filter(|b| !matches!(b, b'-' | b' ' | b'\t'))
        .map(|b| b.to_ascii_uppercase())
        .collect();
    let valid =
        letters.len() == USER_CODE_LENGTH && letters.iter().all(|b| USER_CODE_ALPHABET.contains(b));
    valid.then(|| format_user_code(&letters))
}

/// Where a device authorization stands, as the store keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceState {
    pub expires_at: OffsetDateTime,
    pub interval: Duration,
    pub last_poll_at: Option<OffsetDateTime>,
    pub approved: bool,
    pub denied: bool,
    pub redeemed: bool,
}

/// What one poll of the token endpoint answers (RFC 8628 §3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Poll {
    /// The person approved: redeem it (once) for tokens.
    Approved,
    /// Not decided yet: poll again after the interval.
    Pending,
    /// Polled sooner than the interval: wait, from now on, this longer interval.
    SlowDown { interval: Duration },
    /// The person said no.
    Denied,
    /// Fifteen minutes passed without a decision, or after one.
    Expired,
    /// Tokens were already issued for this device code.
    Redeemed,
}

impl DeviceState {
    /// The answer to a poll at `now`. A redeemed code stays redeemed; an expired one can't be
    /// redeemed even if approved; `slow_down` is a pending answer, so an approved or denied
    /// code is answered at once however fast the device polls.
    pub fn poll(&self, now: OffsetDateTime) -> Poll {
        if self.redeemed {
            return Poll::Redeemed;
        }
        if now >= self.expires_at {
            return Poll::Expired;
        }
        if self.denied {
            return Poll::Denied;
        }
        if self.approved {
            return Poll::Approved;
        }
        match self.last_poll_at {
            Some(last) if now < last.saturating_add(self.interval) => Poll::SlowDown {
                interval: (self.interval + SLOW_DOWN_STEP).min(MAX_POLL_INTERVAL),
            },
            _ => Poll::Pending,
        }
    }
}

/// The host part of `scheme://host[:port]/…` and the rest of the URI after the port.
fn split_http(uri: &str) -> Option<(&str, Option<&str>, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let close = v6.find(']')?;
        let host = &authority[..close + 2];
        match &authority[close + 2..] {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    Some((host, port, if path.is_empty() { "/" } else { path }))
}

/// RFC 8252 §7.3 for a native app's loopback redirect: `presented` matches `registered` when
/// both are `http` on the same loopback IP literal (`127.0.0.1` or `[::1]`, never a name such
/// as `localhost`) with the same path and query, on any port.
pub fn loopback_redirect_matches(registered: &str, presented: &str) -> bool {
    let (Some((r_host, r_port, r_path)), Some((p_host, p_port, p_path))) =
        (split_http(registered), split_http(presented))
    else {
        return false;
    };
    let port_ok = |p: Option<&str>| {
        p.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok())
    };
    matches!(r_host, "127.0.0.1" | "[::1]")
        && r_host == p_host
        && r_port.is_none()
        && port_ok(p_port)
        && r_path == p_path
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

    fn pending() -> DeviceState {
        DeviceState {
            expires_at: T + DEVICE_CODE_TTL,
            interval: DEVICE_POLL_INTERVAL,
            last_poll_at: None,
            approved: false,
            denied: false,
            redeemed: false,
        }
    }

    #[test]
    fn user_codes_are_eight_consonants_in_two_groups() {
        let code = user_code_from_random_bytes(&[0, 1, 2, 250, 3, 19, 20, 239, 100]).unwrap();
        assert_eq!(code, "BCDF-ZBZB");
        assert_eq!(user_code_from_random_bytes(&[0; 7]), None);
        assert_eq!(user_code_from_random_bytes(&[255; 64]), None);
    }

    #[test]
    fn typed_codes_are_normalized_or_refused() {
        assert_eq!(
            normalize_user_code("bcdf-ghjk").as_deref(),
            Some("BCDF-GHJK")
        );
        assert_eq!(
            normalize_user_code(" BCDF GHJK ").as_deref(),
            Some("BCDF-GHJK")
        );
        assert_eq!(
            normalize_user_code("BCDFGHJK").as_deref(),
            Some("BCDF-GHJK")
        );
        for bad in [
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "ABCD-EFGH",
            "BCDF-GHJ1",
            "",
            "ÄBCD-GHJK",
        ] {
            assert_eq!(normalize_user_code(bad), None, "{bad}");
        }
        assert_eq!(normalize_user_code(&"B".repeat(10_000)), None);
    }

    #[test]
    fn polls_follow_rfc_8628() {
        let mut s = pending();
        assert_eq!(s.poll(T), Poll::Pending);
        s.last_poll_at = Some(T);
        assert_eq!(
            s.poll(T + Duration::seconds(4)),
            Poll::SlowDown {
                interval: Duration::seconds(10)
            }
        );
        assert_eq!(s.poll(T + Duration::seconds(5)), Poll::Pending);
        s.interval = MAX_POLL_INTERVAL;
        assert_eq!(
            s.poll(T),
            Poll::SlowDown {
                interval: MAX_POLL_INTERVAL
            }
        );
        s.approved = true;
        assert_eq!(s.poll(T), Poll::Approved, "approval is answered at once");
        assert_eq!(s.poll(T + DEVICE_CODE_TTL), Poll::Expired);
        s.redeemed = true;
        assert_eq!(s.poll(T), Poll::Redeemed);
        let mut d = pending();
        d.denied = true;
        assert_eq!(d.poll(T), Poll::Denied);
        assert_eq!(d.poll(T + DEVICE_CODE_TTL), Poll::Expired);
    }

    #[test]
    fn a_poll_at_the_end_of_time_does_not_overflow() {
        let mut s = pending();
        s.expires_at = datetime!(9999-12-31 23:59:59 UTC);
        s.last_poll_at = Some(datetime!(9999-12-31 23:59:58 UTC));
        assert!(matches!(
            s.poll(datetime!(9999-12-31 23:59:58 UTC)),
            Poll::SlowDown { .. }
        ));
    }

    #[test]
    fn loopback_redirects_match_on_any_port() {
        let v4 = CLI_REDIRECT_URIS[0];
        let v6 = CLI_REDIRECT_URIS[1];
        for ok in [
            "http://127.0.0.1:50123/",
            "http://127.0.0.1/",
            "http://127.0.0.1:1",
        ] {
            assert!(loopback_redirect_matches(v4, ok), "{ok}");
        }
        assert!(loopback_redirect_matches(v6, "http://[::1]:8400/"));
        for bad in [
            "http://localhost:50123/",
            "http://127.0.0.2:50123/",
            "https://127.0.0.1:50123/",
            "http://127.0.0.1:50123/other",
            "http://127.0.0.1:99999/",
            "http://127.0.0.1:/",
            "http://127.0.0.1:80@evil.test/",
            "http://127.0.0.1.evil.test/",
            "http://[::1]:8400/",
        ] {
            assert!(!loopback_redirect_matches(v4, bad), "{bad}");
        }
        assert!(!loopback_redirect_matches(v6, "http://127.0.0.1:8400/"));
        assert!(
            !loopback_redirect_matches("http://localhost/", "http://localhost:8400/"),
            "names are not loopback literals"
        );
    }
}
