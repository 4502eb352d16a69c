//! Dates as tapd reads and writes them: `parse_time` accepts RFC 3339 with any offset within
//! tapd's range and answers UTC; `format_time` writes what `parse_time` reads back, to the
//! microsecond; `check_instant` refuses, never panics on, any representable instant.
//!
//! Input: the text itself for `parse_time`; its first 16 bytes, when there are that many, as
//! seconds, nanoseconds and an offset for `check_instant`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tapd_core::{
    DomainError, EARLIEST_INSTANT, LATEST_INSTANT, check_instant, format_time, parse_time,
    whole_microseconds,
};
use time::{Duration, OffsetDateTime, UtcOffset};

/// The longest span tapd adds to an instant from input (a secret's two years, with a leap day).
const LONGEST_SPAN: Duration = Duration::days(731);

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match parse_time("startDateTime", text) {
            Ok(t) => accepted(t),
            Err(e) => assert!(matches!(e, DomainError::BadRequest(_))),
        }
    }
    if let Some(raw) = data.first_chunk::<16>() {
        let seconds = i64::from_le_bytes(raw[..8].try_into().unwrap());
        let nanos = u32::from_le_bytes(raw[8..12].try_into().unwrap()) % 1_000_000_000;
        let offset = i32::from_le_bytes(raw[12..].try_into().unwrap()) % 86_400;
        let instant = OffsetDateTime::from_unix_timestamp(seconds)
            .ok()
            .and_then(|t| t.replace_nanosecond(nanos).ok())
            .zip(UtcOffset::from_whole_seconds(offset).ok())
            .and_then(|(t, offset)| t.checked_to_offset(offset));
        if let Some(t) = instant {
            match check_instant("startDateTime", t) {
                Ok(checked) => {
                    assert_eq!(checked, t);
                    accepted(checked);
                }
                Err(e) => {
                    assert!(matches!(e, DomainError::BadRequest(_)));
                    assert!(!(EARLIEST_INSTANT..=LATEST_INSTANT).contains(&t.unix_timestamp()));
                }
            }
        }
    }
});

/// What must hold of every instant tapd accepts.
fn accepted(t: OffsetDateTime) {
    assert_eq!(t.offset(), UtcOffset::UTC);
    assert!((EARLIEST_INSTANT..=LATEST_INSTANT).contains(&t.unix_timestamp()));
    assert!(t.checked_add(LONGEST_SPAN).is_some());
    let written = format_time(t);
    let back = parse_time("startDateTime", &written).expect("format_time's text parses");
    assert_eq!(back, whole_microseconds(t), "{written}");
    assert_eq!(format_time(back), written);
}
