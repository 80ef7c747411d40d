//! Which event set each attribute of a job, kept in `job_attribute_versions`.
//!
//! The contract folds events in any order: an event changes an attribute only if it is newer than
//! the event that set it (occurredAt, then eventId for events of the same millisecond). Comparing
//! with the job's lastModifiedTime alone would not do: an event older than the job's latest but newer
//! than the one that set an attribute must still win that attribute, or the row would depend on the
//! order of arrival.
//!
//! Stored compactly, since a job's attributes are set by a handful of events: each event once, with
//! the attributes it set as bits of a number, `[[occurredAt in ms, "eventId", bits], ...]`. Bit `i`
//! is [`ATTRIBUTES`]`[i]`. (Naming every attribute with its event made the record seven times the
//! size of the job's row, and the largest part of what the consumer wrote.)

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The attributes that events set, by their JSON names (`deleted` and `algorithms` included). A
/// stored record refers to them by position: append new ones, never reorder or remove.
pub const ATTRIBUTES: [&str; 26] = [
    "groupId",
    "projectId",
    "jobOwner",
    "automaticallyMachineSelection",
    "submissionMachines",
    "numberOfProcesses",
    "numberOfProcessesByMachine",
    "submissionTime",
    "description",
    "priority",
    "multipleExecution",
    "jobType",
    "numberOfAttempts",
    "executionMachine",
    "endTime",
    "exitCode",
    "guiltyNodeId",
    "exitStatus",
    "cpuTime",
    "wallclockTime",
    "ramMemory",
    "flowId",
    "flowVersion",
    "flowName",
    "deleted",
    "algorithms",
];

/// The event that set an attribute: its `occurredAt`, then its `eventId`, in that order of comparison.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Version(#[serde(with = "common::time::utc_millis")] pub DateTime<Utc>, pub String);

/// For each of [`ATTRIBUTES`], the event that set it, if one did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributeVersions([Option<Version>; ATTRIBUTES.len()]);

/// One event of the stored record and the attributes it set.
#[derive(Serialize, Deserialize)]
struct Setter(i64, String, u64);

/// The first form of the record, `{"groupId": ["2019-06-13T00:24:25.342Z", "<eventId>"], ...}`,
/// still read from jobs folded before the compact one.
#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    Compact(Vec<Setter>),
    ByAttribute(std::collections::BTreeMap<String, Version>),
}

/// A stored record that does not describe attribute versions.
#[derive(Debug, thiserror::Error)]
pub enum VersionsError {
    #[error("not an attribute versions record: {0}")]
    Json(#[from] serde_json::Error),
    #[error("occurredAt {0} ms is out of range")]
    Time(i64),
    #[error("unknown attribute `{0}`")]
    Attribute(String),
}

impl AttributeVersions {
    pub fn from_json(value: serde_json::Value) -> Result<AttributeVersions, VersionsError> {
        let mut versions = AttributeVersions::default();
        match serde_json::from_value(value)? {
            Stored::Compact(setters) => {
                for Setter(millis, event_id, bits) in setters {
                    let at = DateTime::from_timestamp_millis(millis).ok_or(VersionsError::Time(millis))?;
                    let version = Version(at, event_id);
                    for (index, slot) in versions.0.iter_mut().enumerate() {
                        // The newest setter of an attribute wins: the API's deletion appends one.
                        if bits & (1 << index) != 0 && slot.as_ref().is_none_or(|current| *current < version) {
                            *slot = Some(version.clone());
                        }
                    }
                }
            }
            Stored::ByAttribute(by_attribute) => {
                for (name, version) in by_attribute {
                    let index = position(&name).ok_or(VersionsError::Attribute(name))?;
                    versions.0[index] = Some(version);
                }
            }
        }
        Ok(versions)
    }

    /// The compact record: each event once, with the bits of the attributes it set, oldest first.
    pub fn to_json(&self) -> serde_json::Value {
        let mut setters: Vec<(&Version, u64)> = Vec::new();
        for (index, version) in self.0.iter().enumerate() {
            let Some(version) = version else { continue };
            match setters.iter_mut().find(|(known, _)| *known == version) {
                Some((_, bits)) => *bits |= 1 << index,
                None => setters.push((version, 1 << index)),
            }
        }
        setters.sort();
        let setters: Vec<Setter> = setters
            .into_iter()
            .map(|(Version(at, event_id), bits)| Setter(at.timestamp_millis(), event_id.clone(), bits))
            .collect();
        // A list of numbers and strings always has a JSON form.
        serde_json::to_value(setters).unwrap_or_default()
    }

    /// Records that `version` set `attribute` (one of [`ATTRIBUTES`]), if it is newer than the
    /// event that set it before; answers whether it was (and so whether the event's value is the
    /// one to keep).
    pub fn supersede(&mut self, attribute: &str, version: &Version) -> bool {
        let Some(index) = position(attribute) else {
            debug_assert!(false, "`{attribute}` is not one of the versioned attributes");
            return false;
        };
        match &self.0[index] {
            Some(current) if current >= version => false,
            _ => {
                self.0[index] = Some(version.clone());
                true
            }
        }
    }
}

fn position(attribute: &str) -> Option<usize> {
    ATTRIBUTES.iter().position(|name| *name == attribute)
}
