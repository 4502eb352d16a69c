//! How a value is written inside a URL that tapd builds or parses: Graph paths name users by UPN
//! (`@`, and `#` for guests) and `@odata.nextLink` carries filters. The server and the client
//! share this one encoder, so an id written by one is read back by the other.

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
