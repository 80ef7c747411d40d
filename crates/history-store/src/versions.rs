//! Which event set each attribute of a job, kept in `job_attribute_versions`.
//!
//! The contract folds events in any order: an event changes an attribute only if it is newer than
//! the event that set it (occurredAt, then eventId for events of the same millisecond). Comparing
//! with the job's lastModifiedTime alone would not do: an event older than the job's latest but newer
//! than the one that set an attribute must still win that attribute, or the row would depend on the
//! order of arrival.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The event that set an attribute: its `occurredAt`, then its `eventId`, in that order of comparison.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Version(#[serde(with = "common::time::utc_millis")] pub DateTime<Utc>, pub String);

/// The attributes of one job (by their JSON names, `deleted` and `algorithms` included) and the
/// event that set each. Stored as `{"groupId": ["2019-06-13T00:24:25.342Z", "<eventId>"], ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AttributeVersions(BTreeMap<String, Version>);

impl AttributeVersions {
    pub fn from_json(value: serde_json::Value) -> Result<AttributeVersions, serde_json::Error> {
        serde_json::from_value(value)
    }

    pub fn to_json(&self) -> serde_json::Value {
        // A map of strings to pairs of strings always has a JSON form.
        serde_json::to_value(self).unwrap_or_default()
    }

    /// Records that `version` set `attribute`, if it is newer than the event that set it before;
    /// answers whether it was (and so whether the event's value is the one to keep).
    pub fn supersede(&mut self, attribute: &str, version: &Version) -> bool {
        match self.0.get(attribute) {
            Some(current) if current >= version => false,
            _ => {
                self.0.insert(attribute.to_owned(), version.clone());
                true
            }
        }
    }
}
