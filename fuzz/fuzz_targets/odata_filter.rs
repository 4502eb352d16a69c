//! The OData query options of every collection: a query string's decoded pairs in, a checked
//! `Query` or a 400 out, never a panic; and what the server does with a `Query` (the next
//! page's `$skiptoken`, the canonical `$filter` text) must hold.
//!
//! Input: the first byte picks the resource (its low four bits, modulo 7: `0` is users, `6`
//! methods) and whether `ConsistencyLevel: eventual` was sent (bit 0x40 clear: a digit sends it,
//! `@` or a letter doesn't); the rest is one `key=value` per line.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tapd_core::DomainError;
use tapd_core::odata::{
    self, MAX_TOP, Query, QueryContext, Resource, parse_filter, parse_skiptoken, skiptoken,
};

const RESOURCES: [&Resource; 7] = [
    &odata::USERS,
    &odata::GROUPS,
    &odata::APPLICATIONS,
    &odata::ROLE_ASSIGNMENTS,
    &odata::DIRECTORY_AUDITS,
    &odata::SIGN_INS,
    &odata::METHODS,
];

const DEFAULT_TOP: i64 = 100;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let resource = RESOURCES[usize::from(first & 0x0f) % RESOURCES.len()];
    let cx = QueryContext {
        default_top: DEFAULT_TOP,
        eventual: first & 0x40 == 0,
    };
    let pairs: Vec<(&str, &str)> = text
        .lines()
        .map(|line| line.split_once('=').unwrap_or((line, "")))
        .collect();
    let q = match Query::parse(pairs.iter().copied(), resource, cx) {
        Ok(q) => q,
        Err(e) => {
            assert!(matches!(e, DomainError::BadRequest(_)), "{e:?}");
            return;
        }
    };
    assert!(q.top == DEFAULT_TOP || (1..=MAX_TOP).contains(&q.top));
    assert!(q.skip >= 0);
    // The server's `@odata.nextLink` carries `$skiptoken` of skip + top (only when there are
    // rows past this page, so never near the largest skip).
    assert!(
        q.skip.checked_add(q.top).is_some(),
        "the next page's offset overflows"
    );
    assert_eq!(parse_skiptoken(&skiptoken(q.skip)), Ok(q.skip));
    assert!(!q.count || resource.count);
    assert!(q.order.len() <= 2);
    for (name, _) in &q.order {
        assert!(resource.property(name).is_some_and(|p| p.sort));
    }
    if let Some(select) = &q.select {
        for (i, name) in select.iter().enumerate() {
            assert!(resource.property(name).is_some());
            assert!(!select[..i].contains(name), "{name} selected twice");
        }
    }
    if let Some(search) = &q.search {
        assert!(!search.terms.is_empty() && search.terms.len() <= 8);
        for (name, word) in &search.terms {
            assert!(resource.property(name).is_some_and(|p| p.search));
            assert!(!word.is_empty());
        }
    }
    if let Some(filter) = &q.filter {
        // Documented: the canonical text parses back to the same filter.
        let canonical = filter.to_string();
        assert_eq!(
            parse_filter(&canonical, resource).as_ref(),
            Ok(filter),
            "canonical text {canonical:?}"
        );
    }
});
