//! Which messages are refused, and how the reason reads.

use job_history_consumer::decode::{MAX_TEXT_BYTES, decode};

fn refused(payload: Option<&[u8]>) -> (&'static str, String) {
    let rejection = decode(payload).unwrap_err();
    (rejection.kind, rejection.reason)
}

const GOOD: &str =
    r#"{"schemaVersion":1,"eventId":"e","jobId":"j","occurredAt":"2026-01-01T00:00:00Z","status":"INIT"}"#;

#[test]
fn a_valid_event_is_read() {
    assert_eq!(decode(Some(GOOD.as_bytes())).unwrap().job_id, "j");
}

#[test]
fn each_kind_of_bad_message_is_named_with_its_reason() {
    assert_eq!(refused(None).0, "no-value");
    let (kind, reason) = refused(Some(b"\xff\xfe{}"));
    assert_eq!(kind, "not-utf8");
    assert!(reason.contains("UTF-8"), "{reason}");
    let (kind, reason) = refused(Some(b"{\"schemaVersion\":"));
    assert_eq!(kind, "not-json");
    assert!(reason.starts_with("not JSON: "), "{reason}");
    let (kind, reason) = refused(Some(GOOD.replace("\"schemaVersion\":1", "\"schemaVersion\":2").as_bytes()));
    assert_eq!(kind, "unsupported-schema-version");
    assert!(reason.contains("schemaVersion 2 is not supported"), "{reason}");
    let (kind, reason) = refused(Some(GOOD.replace("INIT", "RUNNING").as_bytes()));
    assert_eq!(kind, "schema");
    assert!(reason.starts_with("status: "), "{reason}");
}

#[test]
fn what_postgres_cannot_store_is_refused_with_its_field() {
    let with_nul = GOOD.replace(r#""status":"INIT""#, r#""job":{"description":"a\u0000b"}"#);
    assert_eq!(
        refused(Some(with_nul.as_bytes())),
        ("not-storable", "job.description: contains a NUL character".to_owned())
    );
    let long = "x".repeat(MAX_TEXT_BYTES + 1);
    let too_long = GOOD.replace(
        r#""status":"INIT""#,
        &format!(
            r#""job":{{"algorithms":[{{"algorithmId":"a","parameters":[{{"parameterId":"p","value":["{long}"]}}]}}]}}"#
        ),
    );
    let (kind, reason) = refused(Some(too_long.as_bytes()));
    assert_eq!(kind, "not-storable");
    assert_eq!(
        reason,
        format!(
            "job.algorithms[0].parameters[0].value[0]: is {} bytes long; the history stores at most {MAX_TEXT_BYTES}",
            MAX_TEXT_BYTES + 1
        )
    );
}
