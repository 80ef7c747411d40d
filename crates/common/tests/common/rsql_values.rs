//! Values converted to the types of the history's fields.

use common::job::{ExitStatus, JobStatus};
use common::rsql::value::{TypedValue, ValueErrorKind, ValueType};
use common::rsql::{Expr, parse};
use common::time::format_utc_millis;

/// The first value of a one-comparison query, converted.
fn typed(query: &str, expected: ValueType) -> Result<TypedValue, common::rsql::value::ValueError> {
    let Expr::Comparison(comparison) = parse(query).unwrap() else { panic!("one comparison") };
    comparison.arguments[0].to_typed(expected)
}

fn instant(query: &str) -> String {
    match typed(query, ValueType::DateTime) {
        Ok(TypedValue::DateTime(instant)) => format_utc_millis(&instant),
        other => panic!("{query}: {other:?}"),
    }
}

#[test]
fn the_seeds_date_formats_convert_to_utc() {
    let cases = [
        ("t=='2019/06/12 21:24:25.342-0300'", "2019-06-13T00:24:25.342Z"),
        ("t=='2019/06/12 21:00+03'", "2019-06-12T18:00:00.000Z"),
        ("t=='2019/06/12 22:00+03'", "2019-06-12T19:00:00.000Z"),
        ("t=='2019/06/12 21:24:25-03'", "2019-06-13T00:24:25.000Z"),
        ("t=='2019/06/12+0130'", "2019-06-11T22:30:00.000Z"),
        ("t==2019/06/12-03", "2019-06-12T03:00:00.000Z"),
        ("t==2019-06-12T21:24:25.342Z", "2019-06-12T21:24:25.342Z"),
        ("t=='2019-06-12T21:24:25.342-03:00'", "2019-06-13T00:24:25.342Z"),
        ("t=='2019/06/12 21:00-03:30'", "2019-06-13T00:30:00.000Z"),
    ];
    for (query, utc) in cases {
        assert_eq!(instant(query), utc, "{query}");
    }
}

#[test]
fn a_date_without_offset_is_refused_with_that_reason() {
    for query in ["t=='2019/06/12 21:00'", "t=='2019/06/12'", "t==2019-06-12T21:24:25.342"] {
        let error = typed(query, ValueType::DateTime).unwrap_err();
        assert!(matches!(error.kind, ValueErrorKind::MissingOffset { .. }), "{query}: {error}");
        assert!(error.to_string().contains("has no time-zone offset"), "{error}");
        assert_eq!(error.span.position(), 4);
    }
    for query in [
        "t=='12/06/2019-03'",
        "t=='2019/13/12-03'",
        "t=='2019/06/12 25:00-03'",
        "t=='2019/06/12-3'",
        "t=='2019/06/12+0:300'",
        "t=='2019/06/12 21:00+24'",
        "t==yesterday",
    ] {
        let error = typed(query, ValueType::DateTime).unwrap_err();
        assert!(matches!(error.kind, ValueErrorKind::Invalid { .. }), "{query}: {error}");
        assert!(error.to_string().contains("yyyy/MM/dd HH:mm:ss.SSS"), "{error}");
    }
}

#[test]
fn a_nul_character_is_refused_in_any_value() {
    for (query, expected) in
        [("o=='a\0b'", ValueType::Text), ("o=='a\0*'", ValueType::Text), ("p=='1\0'", ValueType::Integer)]
    {
        let error = typed(query, expected).unwrap_err();
        assert_eq!(error.kind, ValueErrorKind::NulCharacter, "{query}");
    }
}

#[test]
fn numbers_and_booleans() {
    assert_eq!(typed("p==42", ValueType::Integer), Ok(TypedValue::Integer(42)));
    assert_eq!(typed("p==-7", ValueType::Integer), Ok(TypedValue::Integer(-7)));
    assert_eq!(typed("c==0.25", ValueType::Decimal), Ok(TypedValue::Decimal(0.25)));
    assert_eq!(typed("c==3", ValueType::Decimal), Ok(TypedValue::Decimal(3.0)));
    assert_eq!(typed("b==true", ValueType::Boolean), Ok(TypedValue::Boolean(true)));
    assert_eq!(typed("b==FALSE", ValueType::Boolean), Ok(TypedValue::Boolean(false)));
    for (query, expected) in [
        ("p==1.5", ValueType::Integer),
        ("p==x", ValueType::Integer),
        ("p==99999999999999999999", ValueType::Integer),
        ("c==NaN", ValueType::Decimal),
        ("c==inf", ValueType::Decimal),
        ("b==yes", ValueType::Boolean),
    ] {
        let error = typed(query, expected).unwrap_err();
        assert!(matches!(error.kind, ValueErrorKind::Invalid { .. }), "{query}: {error:?}");
        assert_eq!(error.span.position(), 4, "{query}");
    }
}

#[test]
fn wildcards_belong_to_text_and_enumerations() {
    assert_eq!(typed("o==adm*", ValueType::Text), Ok(TypedValue::Pattern("adm%".into())));
    assert_eq!(typed("o=='50%_off*'", ValueType::Text), Ok(TypedValue::Pattern(r"50\%\_off%".into())));
    assert_eq!(typed(r"o=='a\\b*'", ValueType::Text), Ok(TypedValue::Pattern(r"a\\b%".into())));
    assert_eq!(typed(r"o=='5\*'", ValueType::Text), Ok(TypedValue::Text("5*".into())));
    for expected in [ValueType::Integer, ValueType::Decimal, ValueType::Boolean, ValueType::DateTime] {
        let error = typed("x==1*", expected).unwrap_err();
        assert_eq!(error.kind, ValueErrorKind::Wildcard { expected });
    }
}

#[test]
fn a_pattern_on_an_enumeration_stands_for_the_names_it_matches() {
    let names = |query: &str, expected| match typed(query, expected) {
        Ok(TypedValue::Names(names)) => names,
        other => panic!("{query}: {other:?}"),
    };
    assert_eq!(
        names("s==*ERROR", ValueType::ExitStatus),
        ["EXECUTION_ERROR", "UNEXPECTED_MACHINE_ERROR"],
        "in the enumeration's order"
    );
    assert_eq!(names("s==*_NOT_FOUND", ValueType::ExitStatus), ["JOB_IDENTIFIER_NOT_FOUND", "PROJECT_NOT_FOUND"]);
    assert_eq!(names("s==NO_*", ValueType::ExitStatus), ["NO_PERMISSION", "NO_MACHINE_AVAILABLE"]);
    assert_eq!(names("s==*MACHINE*", ValueType::ExitStatus), ["UNEXPECTED_MACHINE_ERROR", "NO_MACHINE_AVAILABLE"]);
    assert_eq!(names("s==*", ValueType::JobStatus).len(), 8);
    assert_eq!(names("s==*ING", ValueType::JobStatus), ["UPLOADING", "EXECUTING", "DOWNLOADING"]);
    assert_eq!(names("s==U*N", ValueType::JobStatus), ["UNKNOWN"]);
    // A pattern that can match nothing is refused, as an unknown name is.
    let error = typed("s==*DONE*", ValueType::ExitStatus).unwrap_err();
    let ValueErrorKind::NoMatch { pattern, suggestion, valid, .. } = &error.kind else { panic!("{error:?}") };
    assert_eq!((pattern.as_str(), suggestion, valid.len()), ("*DONE*", &None, 12));
    assert_eq!(error.span.position(), 4);
    assert_eq!(
        error.to_string(),
        "`*DONE*` at character 4 matches no exit status; the values are UNKNOWN, SUCCESS, EXECUTION_ERROR, \
         JOB_IDENTIFIER_NOT_FOUND, UNEXPECTED_MACHINE_ERROR, PROJECT_NOT_FOUND, FAILED_SETUP_EXECUTION_ENVIRONMENT, \
         NO_PERMISSION, NO_MACHINE_AVAILABLE, KILLED, LOST, UNDEFINED"
    );
    let error = typed("s==*error", ValueType::ExitStatus).unwrap_err();
    assert!(error.to_string().contains("matches no exit status (values are upper case: did you mean *ERROR?)"));
    let error = typed(r#"s=="EXECUTION\*""#, ValueType::ExitStatus).unwrap_err();
    assert!(matches!(error.kind, ValueErrorKind::NotInList { .. }), "an escaped star is a star: {error:?}");
}

#[test]
fn patterns_match_as_wildcards_say() {
    let pattern = |text: &str| {
        let Expr::Comparison(comparison) = parse(&format!("x=={text}")).unwrap() else { panic!() };
        comparison.arguments[0].clone()
    };
    let cases = [
        ("abc", "abc", true),
        ("abc", "abcd", false),
        ("a*", "a", true),
        ("a*", "ba", false),
        ("*a", "ba", true),
        ("*a", "ab", false),
        ("*", "", true),
        ("a*b", "ab", true),
        ("a*b", "axxb", true),
        ("a*b", "axxbc", false),
        ("*a*a", "a", false),
        ("*a*a", "aa", true),
        ("*ab*b", "abb", true),
        ("a*b*c", "abc", true),
        ("a*b*c", "acb", false),
        ("''", "", true),
        ("''", "x", false),
    ];
    for (text, candidate, expected) in cases {
        assert_eq!(pattern(text).matches(candidate), expected, "{text} against {candidate:?}");
    }
}

#[test]
fn statuses_are_upper_case_and_errors_list_them() {
    assert_eq!(typed("s==KILLED", ValueType::ExitStatus), Ok(TypedValue::ExitStatus(ExitStatus::Killed)));
    assert_eq!(typed("s==FINISHED", ValueType::JobStatus), Ok(TypedValue::JobStatus(JobStatus::Finished)));
    let error = typed("s==killed", ValueType::ExitStatus).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("did you mean KILLED?"), "{message}");
    assert!(message.contains("UNKNOWN, SUCCESS, EXECUTION_ERROR"), "{message}");
    let error = typed("s==DONE", ValueType::JobStatus).unwrap_err();
    let ValueErrorKind::NotInList { valid, suggestion, .. } = &error.kind else { panic!("{error:?}") };
    assert_eq!(valid.len(), 8);
    assert_eq!(*suggestion, None);
}
