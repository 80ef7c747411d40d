//! Instants as the platform exchanges them: RFC 3339 with an explicit offset on the way in, UTC at
//! millisecond precision on the way out (`2019-06-12T21:24:25.342Z`), as the job history serves them.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a text is not an instant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("`{0}` has no time-zone offset: add `Z` or an offset such as `-03:00`")]
    MissingOffset(String),
    #[error("`{0}` is not an RFC 3339 date-time such as `2019-06-12T21:24:25.342-03:00`")]
    NotRfc3339(String),
}

/// Parses an RFC 3339 date-time that carries its offset (`Z` or `±hh:mm`) and returns it in UTC.
pub fn parse_rfc3339(text: &str) -> Result<DateTime<Utc>, TimeError> {
    // chrono also takes a blank between date and time; RFC 3339's grammar (and JSON Schema's
    // `date-time`) only takes `T`, so check it first to accept exactly what the contract accepts.
    let has_t = matches!(text.as_bytes().get(10), Some(b'T' | b't'));
    match DateTime::parse_from_rfc3339(text) {
        Ok(instant) if has_t => Ok(instant.with_timezone(&Utc)),
        _ if has_t && NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").is_ok() => {
            Err(TimeError::MissingOffset(text.to_owned()))
        }
        _ => Err(TimeError::NotRfc3339(text.to_owned())),
    }
}

/// Formats an instant the way the history serves it: UTC, milliseconds, `Z`.
pub fn format_utc_millis(instant: &DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An instant in a message: read with [`parse_rfc3339`] (so the offset is mandatory) and cut to the
/// millisecond, the precision the history keeps (the contract allows finer on the wire; kept finer,
/// two readings of one event could compare unequal once stored); written with [`format_utc_millis`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(pub DateTime<Utc>);

impl Serialize for Instant {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        utc_millis::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        utc_millis::deserialize(deserializer).map(|instant| Instant(instant.trunc_subsecs(3)))
    }
}

/// Serde for `DateTime<Utc>` fields: read with [`parse_rfc3339`], written with [`format_utc_millis`].
pub mod utc_millis {
    use super::*;

    pub fn serialize<S: Serializer>(instant: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_utc_millis(instant))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }

    /// The same for `Option<DateTime<Utc>>`, where null is `None`.
    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(instant: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
            match instant {
                Some(instant) => super::serialize(instant, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
            Option::<String>::deserialize(deserializer)?
                .map(|text| parse_rfc3339(&text).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}
