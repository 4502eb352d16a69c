//! How values are written on the wire: dates as Graph writes them (RFC 3339 in UTC) and values
//! inside URLs (Graph paths name users by UPN — `@`, and `#` for guests — and
//! `@odata.nextLink` carries filters). The server and the client share these, so what one
//! writes the other reads back.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::DomainError;

/// RFC 3339 in UTC, as Graph writes dates, with microsecond precision (what every client's date
/// parser accepts, and what the database keeps).
pub fn format_time(t: OffsetDateTime) -> String {
    whole_microseconds(t.to_offset(time::UtcOffset::UTC))
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// The instant without its sub-microsecond part: what the database keeps and [`format_time`]
/// writes.
pub fn whole_microseconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

/// The earliest instant tapd accepts from input (seconds since the Unix epoch): 1970-01-01Z.
pub const EARLIEST_INSTANT: i64 = 0;
/// The latest instant tapd accepts from input: 8999-12-31T23:59:59Z. Far enough from the end
/// of what dates can hold (year 9999) that adding any lifetime tapd knows (a pass's 30 days, a
/// secret's two years) can't overflow.
pub const LATEST_INSTANT: i64 = 221_845_391_999;

/// Checks that an instant from input lies in the range tapd supports, and answers it in UTC.
pub fn check_instant(field: &str, t: OffsetDateTime) -> Result<OffsetDateTime, DomainError> {
    if (EARLIEST_INSTANT..=LATEST_INSTANT).contains(&t.unix_timestamp()) {
        Ok(t.to_offset(time::UtcOffset::UTC))
    } else {
        Err(DomainError::BadRequest(format!(
            "Invalid value for {field}: dates must lie between 1970-01-01T00:00:00Z and 8999-12-31T23:59:59Z."
        )))
    }
}

/// Parses an RFC 3339 date with any offset and fractions, within the supported range (see
/// [`check_instant`]); `field` names it in the refusal.
pub fn parse_time(field: &str, s: &str) -> Result<OffsetDateTime, DomainError> {
    let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
        DomainError::BadRequest(format!(
            "Invalid value for {field}: '{s}' is not an RFC 3339 date-time (e.g. 2026-05-23T06:00:00Z)."
        ))
    })?;
    check_instant(field, t)
}

/// Percent-encodes `s` for a path segment or a query value: everything but RFC 3986's
/// unreserved characters and `@` (which Graph keeps readable in UPNs) becomes `%XX`.
/// Input as an error message may echo it: at most 100 characters, control characters dropped,
/// `…` where it was cut.
pub fn shown(s: &str) -> String {
    const MAX: usize = 100;
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(MAX).collect();
    if s.chars().filter(|c| !c.is_control()).nth(MAX).is_some() {
        out.push('…');
    }
    out
}

pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_in_utc_and_read_with_any_offset() {
        let t = parse_time("startDateTime", "2026-06-01T14:30:00.1234567+02:00").unwrap();
        assert_eq!(format_time(t), "2026-06-01T12:30:00.123456Z");
        assert!(parse_time("startDateTime", "tomorrow").is_err());
    }

    #[test]
    fn instants_outside_the_supported_range_are_refused_not_panicked_on() {
        for s in [
            "9999-12-31T23:59:59-23:59",
            "9999-12-31T22:00:00Z",
            "9000-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "0000-01-01T00:00:00+23:59",
        ] {
            let refused = parse_time("startDateTime", s).unwrap_err();
            assert!(refused.message().contains("between 1970"), "{s}: {refused}");
        }
        let last = parse_time("startDateTime", "8999-12-31T23:59:59Z").unwrap();
        assert_eq!(last.unix_timestamp(), LATEST_INSTANT);
        assert_eq!(
            parse_time("startDateTime", "1970-01-01T00:00:00Z")
                .unwrap()
                .unix_timestamp(),
            EARLIEST_INSTANT
        );
        // The latest start plus the longest lifetime and a secret's two years still fits.
        assert!(last.checked_add(time::Duration::days(731)).is_some());
    }

    #[test]
    fn unreserved_characters_and_at_stay_and_the_rest_is_escaped() {
        assert_eq!(percent_encode("alice@tapd.local"), "alice@tapd.local");
        assert_eq!(
            percent_encode("bob_contoso.com#EXT#@tapd.local"),
            "bob_contoso.com%23EXT%23@tapd.local"
        );
        assert_eq!(percent_encode("a b/c?d&e=f"), "a%20b%2Fc%3Fd%26e%3Df");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }

    #[test]
    fn echoed_input_is_short_and_printable() {
        assert_eq!(shown("contoso.com"), "contoso.com");
        assert_eq!(shown("a\u{0}b\nc"), "abc");
        let long = "x".repeat(1 << 20);
        let echoed = shown(&long);
        assert_eq!(echoed.chars().count(), 101);
        assert!(echoed.ends_with('…'));
    }
}
