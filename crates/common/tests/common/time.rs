//! Instants on the wire.

use common::time::{TimeError, format_utc_millis, parse_rfc3339};

#[test]
fn offsets_are_converted_to_utc_and_served_with_milliseconds() {
    let instant = parse_rfc3339("2019-06-12T21:24:25.342-03:00").unwrap();
    assert_eq!(format_utc_millis(&instant), "2019-06-13T00:24:25.342Z");
    let whole = parse_rfc3339("2019-06-12T21:24:25Z").unwrap();
    assert_eq!(format_utc_millis(&whole), "2019-06-12T21:24:25.000Z");
}

#[test]
fn a_time_without_offset_is_refused_with_that_reason() {
    assert_eq!(
        parse_rfc3339("2019-06-12T21:24:25.342"),
        Err(TimeError::MissingOffset("2019-06-12T21:24:25.342".into()))
    );
    assert!(matches!(parse_rfc3339("2019-06-12 21:24:25Z"), Err(TimeError::NotRfc3339(_))));
    assert!(matches!(parse_rfc3339("yesterday"), Err(TimeError::NotRfc3339(_))));
}

#[test]
fn finer_than_a_millisecond_is_served_at_milliseconds() {
    let fine = parse_rfc3339("2019-06-12T21:24:25.342999Z").unwrap();
    assert_eq!(format_utc_millis(&fine), "2019-06-12T21:24:25.342Z");
}
