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
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Parses an RFC 3339 date with any offset and fractions; `field` names it in the refusal.
pub fn parse_time(field: &str, s: &str) -> Result<OffsetDateTime, DomainError> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
        DomainError::BadRequest(format!(
            "Invalid value for {field}: '{s}' is not an RFC 3339 date-time (e.g. 2026-05-23T06:00:00Z)."
        ))
    })
}

/// Percent-encodes `s` for a path segment or a query value: everything but RFC 3986's
/// unreserved characters and `@` (which Graph keeps readable in UPNs) becomes `%XX`.
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
    fn unreserved_characters_and_at_stay_and_the_rest_is_escaped() {
        assert_eq!(percent_encode("alice@tapd.local"), "alice@tapd.local");
        assert_eq!(
            percent_encode("bob_contoso.com#EXT#@tapd.local"),
            "bob_contoso.com%23EXT%23@tapd.local"
        );
        assert_eq!(percent_encode("a b/c?d&e=f"), "a%20b%2Fc%3Fd%26e%3Df");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }
}
