//! Domain names (SPEC §8): what a tenant's domain may be called. A name is a DNS name of at
//! least two labels — letters, digits and inner hyphens, up to 63 characters a label and 253
//! in all — kept as typed and compared case-insensitively. No DNS check: a domain is verified
//! by the administrator's act of adding it.

use crate::{DomainError, shown};

/// The longest domain name DNS allows.
pub const MAX_DOMAIN_LEN: usize = 253;

/// Checks a domain's name; the error says what is wrong, in Graph's words.
pub fn check_domain_name(name: &str) -> Result<(), DomainError> {
    let invalid = |why: &str| {
        DomainError::BadRequest(format!(
            "Invalid value for property 'id': '{}' {why}.",
            shown(name)
        ))
    };
    if name.is_empty() || name.len() > MAX_DOMAIN_LEN {
        return Err(invalid(&format!(
            "must be 1 to {MAX_DOMAIN_LEN} characters"
        )));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err(invalid("must have at least two labels, as contoso.com"));
    }
    for label in &labels {
        let ok = (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(invalid(
                "is not a domain name: each label is 1 to 63 letters, digits or inner hyphens",
            ));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid(
            "is not a domain name: the last label can't be all digits",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn domain_names_are_dns_names_of_two_labels_or_more() {
        for ok in [
            "contoso.com",
            "Fabrikam.Test",
            "a.b.c.d",
            "x-1.example",
            "xn--bcher-kva.de",
        ] {
            assert!(check_domain_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "localhost",
            "contoso.",
            ".contoso.com",
            "-a.com",
            "a-.com",
            "a..com",
            "con toso.com",
            "contoso.com/x",
            "a@b.com",
            "10.0.0.1",
            "ünï.com",
        ] {
            assert!(check_domain_name(bad).is_err(), "{bad}");
        }
        let long_label = format!("{}.com", "a".repeat(64));
        assert!(check_domain_name(&long_label).is_err());
        let huge = "a".repeat(1 << 20);
        let DomainError::BadRequest(message) = check_domain_name(&huge).unwrap_err() else {
            panic!("a 400");
        };
        assert!(message.len() < 300, "a 1 MB name is not echoed whole");
        let long_name = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        assert!(long_name.len() > MAX_DOMAIN_LEN);
        assert!(check_domain_name(&long_name).is_err());
    }

    proptest! {
        #[test]
        fn any_input_is_answered_without_panic(name in ".{0,300}") {
            let _ = check_domain_name(&name);
        }

        #[test]
        fn generated_dns_names_pass(labels in prop::collection::vec("[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", 1..4)) {
            let name = format!("{}.example", labels.join("."));
            prop_assert!(check_domain_name(&name).is_ok());
        }
    }
}
