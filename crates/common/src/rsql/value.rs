//! Values of a query converted to the types of the fields they are compared with.
//!
//! Date-times take the original history service's formats, `yyyy/MM/dd`, `yyyy/MM/dd HH:mm`, `yyyy/MM/dd HH:mm:ss` and
//! `yyyy/MM/dd HH:mm:ss.SSS`, each followed by a mandatory offset `±hh` or `±hhmm`, or RFC 3339.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use strum::IntoEnumIterator;

use super::ast::{Argument, Part, Span};
use crate::job::{ExitStatus, JobStatus};

/// The types a field of the history can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Text,
    Integer,
    Decimal,
    Boolean,
    DateTime,
    JobStatus,
    ExitStatus,
}

impl ValueType {
    /// Whether `<`, `>` and the like mean something for this type.
    pub fn is_ordered(self) -> bool {
        !matches!(self, ValueType::Boolean | ValueType::JobStatus | ValueType::ExitStatus)
    }

    /// The type's name without its article ("exit status"), where a message counts none of it.
    pub fn bare_name(self) -> &'static str {
        let name = self.name();
        name.strip_prefix("an ").or_else(|| name.strip_prefix("a ")).unwrap_or(name)
    }

    /// The type's name with its article, as messages use it ("an integer").
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Text => "text",
            ValueType::Integer => "an integer",
            ValueType::Decimal => "a decimal number",
            ValueType::Boolean => "a boolean",
            ValueType::DateTime => "a date-time",
            ValueType::JobStatus => "a job status",
            ValueType::ExitStatus => "an exit status",
        }
    }
}

/// A value of a query, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedValue {
    /// Text to match exactly.
    Text(String),
    /// Text with wildcards, as an SQL `LIKE` pattern escaped with `\` (see [`Argument::to_like_pattern`]).
    Pattern(String),
    Integer(i64),
    Decimal(f64),
    Boolean(bool),
    /// An instant, compared at millisecond precision (a date alone is its midnight, as in the original
    /// history service).
    DateTime(DateTime<Utc>),
    JobStatus(JobStatus),
    ExitStatus(ExitStatus),
    /// The names of an enumeration's values that a pattern matched (`*ERROR`): one or more.
    Names(Vec<&'static str>),
}

/// A value that does not fit its field's type, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    pub kind: ValueErrorKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueErrorKind {
    /// A `*` in a value whose type is neither text nor an enumeration.
    Wildcard { expected: ValueType },
    /// A pattern that matches none of an enumeration's values; `suggestion` when the same pattern
    /// in upper case would.
    NoMatch { pattern: String, expected: ValueType, valid: Vec<&'static str>, suggestion: Option<String> },
    /// Not a value of the type (not a number, not a boolean, not a date-time...).
    Invalid { text: String, expected: ValueType },
    /// A date-time without its offset.
    MissingOffset { text: String },
    /// A NUL character, which no field can hold.
    NulCharacter,
    /// Not one of an enumeration's values; `suggestion` when only the case is wrong.
    NotInList { text: String, expected: ValueType, valid: Vec<&'static str>, suggestion: Option<&'static str> },
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.span.position();
        match &self.kind {
            ValueErrorKind::Wildcard { expected } => {
                write!(
                    f,
                    "a `*` wildcard is only allowed in text and statuses, not in {} (character {at})",
                    expected.name()
                )
            }
            ValueErrorKind::NoMatch { pattern, expected, valid, suggestion } => {
                write!(f, "`{pattern}` at character {at} matches no {}", expected.bare_name())?;
                if let Some(suggestion) = suggestion {
                    write!(f, " (values are upper case: did you mean {suggestion}?)")?;
                }
                write!(f, "; the values are {}", valid.join(", "))
            }
            ValueErrorKind::Invalid { text, expected: ValueType::DateTime } => write!(
                f,
                "`{text}` at character {at} is not a date-time; write yyyy/MM/dd, yyyy/MM/dd HH:mm, \
                 yyyy/MM/dd HH:mm:ss or yyyy/MM/dd HH:mm:ss.SSS followed by an offset such as -03 or +0130, \
                 or RFC 3339 such as 2019-06-12T21:24:25.342Z"
            ),
            ValueErrorKind::Invalid { text, expected: ValueType::Boolean } => {
                write!(f, "`{text}` at character {at} is not a boolean; write true or false")
            }
            ValueErrorKind::Invalid { text, expected } => {
                write!(f, "`{text}` at character {at} is not {}", expected.name())
            }
            ValueErrorKind::MissingOffset { text } => write!(
                f,
                "the date-time `{text}` at character {at} has no time-zone offset; add one such as -0300 or +03"
            ),
            ValueErrorKind::NulCharacter => write!(f, "the value at character {at} holds a NUL character"),
            ValueErrorKind::NotInList { text, expected, valid, suggestion } => {
                write!(f, "`{text}` at character {at} is not {}", expected.name())?;
                if let Some(suggestion) = suggestion {
                    write!(f, " (values are upper case: did you mean {suggestion}?)")?;
                }
                write!(f, "; the values are {}", valid.join(", "))
            }
        }
    }
}

impl std::error::Error for ValueError {}

impl Argument {
    /// Converts this value to `expected`. Text takes wildcards, and so do the enumerations: a
    /// pattern stands for the values whose names it matches, and must match one.
    pub fn to_typed(&self, expected: ValueType) -> Result<TypedValue, ValueError> {
        let fail = |kind| ValueError { kind, span: self.span };
        let Some(text) = self.as_literal() else {
            if self.display_text().contains('\0') {
                return Err(fail(ValueErrorKind::NulCharacter));
            }
            return match expected {
                ValueType::Text => Ok(TypedValue::Pattern(self.to_like_pattern())),
                ValueType::JobStatus => self.names_matched::<JobStatus>(expected).map_err(fail),
                ValueType::ExitStatus => self.names_matched::<ExitStatus>(expected).map_err(fail),
                _ => Err(fail(ValueErrorKind::Wildcard { expected })),
            };
        };
        let invalid = || ValueErrorKind::Invalid { text: text.clone(), expected };
        if text.contains('\0') {
            return Err(fail(ValueErrorKind::NulCharacter));
        }
        match expected {
            ValueType::Text => Ok(TypedValue::Text(text)),
            ValueType::Integer => text.trim().parse().map(TypedValue::Integer).map_err(|_| fail(invalid())),
            ValueType::Decimal => match text.trim().parse::<f64>() {
                Ok(number) if number.is_finite() => Ok(TypedValue::Decimal(number)),
                _ => Err(fail(invalid())),
            },
            ValueType::Boolean => match text.to_ascii_lowercase().as_str() {
                "true" => Ok(TypedValue::Boolean(true)),
                "false" => Ok(TypedValue::Boolean(false)),
                _ => Err(fail(invalid())),
            },
            ValueType::DateTime => parse_date_time(&text).map(TypedValue::DateTime).map_err(fail),
            ValueType::JobStatus => one_of::<JobStatus>(&text, expected).map(TypedValue::JobStatus).map_err(fail),
            ValueType::ExitStatus => one_of::<ExitStatus>(&text, expected).map(TypedValue::ExitStatus).map_err(fail),
        }
    }
}

impl Argument {
    /// The names of `E`'s values that this pattern matches, at least one.
    fn names_matched<E>(&self, expected: ValueType) -> Result<TypedValue, ValueErrorKind>
    where
        E: IntoEnumIterator + Into<&'static str>,
    {
        let valid: Vec<&'static str> = E::iter().map(Into::into).collect();
        let matched: Vec<&'static str> = valid.iter().copied().filter(|name| self.matches(name)).collect();
        if !matched.is_empty() {
            return Ok(TypedValue::Names(matched));
        }
        let upper = Argument::new(
            self.parts.iter().map(|part| match part {
                Part::Text(text) => Part::Text(text.to_uppercase()),
                Part::Wildcard => Part::Wildcard,
            }),
            self.span,
        );
        let suggestion = valid.iter().any(|name| upper.matches(name)).then(|| upper.display_text());
        Err(ValueErrorKind::NoMatch { pattern: self.display_text(), expected, valid, suggestion })
    }
}

fn one_of<E>(text: &str, expected: ValueType) -> Result<E, ValueErrorKind>
where
    E: FromStr + IntoEnumIterator + Into<&'static str>,
{
    E::from_str(text).map_err(|_| {
        let valid: Vec<&'static str> = E::iter().map(Into::into).collect();
        let upper = text.to_uppercase();
        let suggestion = valid.iter().copied().find(|name| *name == upper);
        ValueErrorKind::NotInList { text: text.to_owned(), expected, valid, suggestion }
    })
}

/// The original history service's formats with a mandatory offset, or RFC 3339.
pub fn parse_date_time(text: &str) -> Result<DateTime<Utc>, ValueErrorKind> {
    let invalid = || ValueErrorKind::Invalid { text: text.to_owned(), expected: ValueType::DateTime };
    if text.contains(['T', 't']) {
        return match crate::time::parse_rfc3339(text) {
            Ok(instant) if (1..=9999).contains(&instant.year()) => Ok(instant),
            Ok(_) => Err(invalid()),
            Err(crate::time::TimeError::MissingOffset(_)) => {
                Err(ValueErrorKind::MissingOffset { text: text.to_owned() })
            }
            Err(_) => Err(invalid()),
        };
    }
    // The original history service's dates use `/`, so a `+` or `-` can only start the offset.
    let Some(sign_at) = text.rfind(['+', '-']) else {
        return if local_date_time(text).is_some() {
            Err(ValueErrorKind::MissingOffset { text: text.to_owned() })
        } else {
            Err(invalid())
        };
    };
    let (local, offset) = text.split_at(sign_at);
    let offset = parse_offset(offset).ok_or_else(invalid)?;
    let naive = local_date_time(local).ok_or_else(invalid)?;
    let instant = offset.from_local_datetime(&naive).single().ok_or_else(invalid)?;
    Ok(instant.with_timezone(&Utc))
}

/// The original history service's four local formats; years outside 1 to 9999 are refused (Postgres' own range is wider
/// on one side only, and no job ran then).
fn local_date_time(text: &str) -> Option<NaiveDateTime> {
    let formats = ["%Y/%m/%d %H:%M:%S%.f", "%Y/%m/%d %H:%M"];
    let naive = formats
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| NaiveDate::parse_from_str(text, "%Y/%m/%d").ok().and_then(|date| date.and_hms_opt(0, 0, 0)))?;
    (1..=9999).contains(&naive.year()).then_some(naive)
}

/// `±hh` or `±hhmm` (the original history service's forms; RFC 3339's `±hh:mm` is taken too).
fn parse_offset(text: &str) -> Option<FixedOffset> {
    let (sign, digits) = text.split_at_checked(1)?;
    // Slicing below counts bytes: anything but ASCII is not an offset anyway.
    if !digits.is_ascii() {
        return None;
    }
    let (hours, minutes) = match (digits.len(), digits.as_bytes().get(2)) {
        (2, _) => (digits, "0"),
        (4, _) => digits.split_at(2),
        (5, Some(b':')) => (&digits[..2], &digits[3..]),
        _ => return None,
    };
    if !(hours.bytes().chain(minutes.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
    if hours > 23 || minutes > 59 {
        return None;
    }
    let seconds = (hours * 60 + minutes) * 60;
    if sign == "-" { FixedOffset::west_opt(seconds) } else { FixedOffset::east_opt(seconds) }
}
