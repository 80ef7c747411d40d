//! `JobEvent`: one fact about one job run, as `contracts/job-event.v1.schema.json` defines it.
//!
//! [`JobEvent::from_json`] accepts exactly what the schema accepts and names the offending field
//! otherwise; a test holds the two together so that they cannot drift.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::job::{ExitStatus, JobStatus};
use crate::time::Instant;

/// The only `schemaVersion` this code reads and writes.
pub const SCHEMA_VERSION: u64 = 1;

/// The longest text the history stores in one field of an event, in bytes. Text fields are indexed
/// with the job id (`(field, job_id)`), and a b-tree index entry holds at most 2704 bytes: with a
/// job id of up to 255 characters (1020 bytes), 1500 leaves room. The consumer refuses a longer
/// value (it would make Postgres refuse the whole batch); the deployer refuses to deploy one (a
/// description, a variable's value, an argument), so that no run's events are refused.
pub const MAX_TEXT_BYTES: usize = 1500;

/// One fact about one job run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobEvent {
    pub schema_version: SchemaVersion,
    /// Unique per fact, derived deterministically by the producer (1 to 200 characters).
    pub event_id: String,
    /// The run (1 to 255 characters); also the Kafka key.
    pub job_id: String,
    pub occurred_at: Instant,
    /// The status reached at `occurredAt`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub status: Option<JobStatus>,
    /// `true` marks the run deleted, `false` restores it.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub deleted: Option<bool>,
    /// Attributes known at `occurredAt`: any subset.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub job: Option<JobAttributes>,
}

/// The schema's `const: 1`, as a type: any other version is refused while reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchemaVersion;

impl Serialize for SchemaVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(SCHEMA_VERSION)
    }
}

impl<'de> Deserialize<'de> for SchemaVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let version = serde_json::Value::deserialize(deserializer)?;
        if version.as_u64() == Some(SCHEMA_VERSION) {
            Ok(SchemaVersion)
        } else {
            Err(serde::de::Error::custom(format_args!(
                "unsupported schemaVersion {version}: this code reads version {SCHEMA_VERSION}"
            )))
        }
    }
}

/// A field of [`JobAttributes`]: absent leaves the history's value as it is, null clears it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<T> Patch<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Value(value) => value.serialize(serializer),
            Patch::Absent | Patch::Null => serializer.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(deserializer)?.map_or(Patch::Null, Patch::Value))
    }
}

/// The attributes of a run that an event may carry (every one optional and nullable).
#[serde_with::apply(Patch => #[serde(default, skip_serializing_if = "Patch::is_absent")])]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobAttributes {
    pub group_id: Patch<String>,
    pub project_id: Patch<String>,
    pub job_owner: Patch<String>,
    pub automatically_machine_selection: Patch<bool>,
    pub submission_machines: Patch<Vec<String>>,
    pub number_of_processes: Patch<i64>,
    pub number_of_processes_by_machine: Patch<i64>,
    pub submission_time: Patch<Instant>,
    pub description: Patch<String>,
    pub priority: Patch<i64>,
    pub multiple_execution: Patch<bool>,
    pub job_type: Patch<String>,
    pub number_of_attempts: Patch<i64>,
    pub execution_machine: Patch<String>,
    pub end_time: Patch<Instant>,
    pub exit_code: Patch<i64>,
    pub guilty_node_id: Patch<String>,
    pub exit_status: Patch<ExitStatus>,
    pub cpu_time: Patch<f64>,
    pub wallclock_time: Patch<i64>,
    pub ram_memory: Patch<f64>,
    pub flow_id: Patch<String>,
    pub flow_version: Patch<String>,
    pub flow_name: Patch<String>,
    /// Replaces the whole list when present.
    pub algorithms: Patch<Vec<AlgorithmReport>>,
}

/// An algorithm as an event reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlgorithmReport {
    pub algorithm_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<ParameterReport>,
}

/// A parameter as an event reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParameterReport {
    pub parameter_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub value: Vec<String>,
}

/// Why a message is not a valid `JobEvent`, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct EventError {
    /// The JSON path of the offending field (`job.algorithms[0].algorithmId`), or `.` for the whole message.
    pub field: String,
    pub message: String,
}

impl EventError {
    fn new(field: &str, message: impl Into<String>) -> Self {
        EventError { field: field.to_owned(), message: message.into() }
    }
}

impl JobEvent {
    /// Reads one event from a message value, accepting exactly what the JSON Schema accepts.
    pub fn from_json(bytes: &[u8]) -> Result<JobEvent, EventError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|error| EventError::new(".", error.to_string()))?;
        JobEvent::from_value(&value)
    }

    /// [`JobEvent::from_json`] for a message already read as JSON.
    pub fn from_value(value: &serde_json::Value) -> Result<JobEvent, EventError> {
        check_objects(value)?;
        let event: JobEvent = serde_path_to_error::deserialize(value).map_err(|error| {
            let path = error.path().to_string();
            EventError { field: path, message: error.into_inner().to_string() }
        })?;
        event.validate()?;
        Ok(event)
    }

    /// The schema's rules that the types alone do not hold: lengths, and at least one of
    /// `status`, `job`, `deleted`. Producers call it before publishing.
    pub fn validate(&self) -> Result<(), EventError> {
        check_length("eventId", &self.event_id, 200)?;
        check_length("jobId", &self.job_id, 255)?;
        if self.status.is_none() && self.job.is_none() && self.deleted.is_none() {
            return Err(EventError::new(".", "an event carries at least one of `status`, `job` or `deleted`"));
        }
        Ok(())
    }

    /// The message value: UTF-8 JSON.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

/// serde's derived structs also read a JSON array of their fields in order; the schema only takes
/// objects, so check that every place of an object holds one before reading.
fn check_objects(event: &serde_json::Value) -> Result<(), EventError> {
    let must_be_object = |value: &serde_json::Value, field: &str| match value.is_object() {
        true => Ok(()),
        false => Err(EventError::new(field, "must be a JSON object")),
    };
    must_be_object(event, ".")?;
    let Some(job) = event.get("job").filter(|job| !job.is_null()) else { return Ok(()) };
    must_be_object(job, "job")?;
    let Some(algorithms) = job.get("algorithms").and_then(|a| a.as_array()) else { return Ok(()) };
    for (a, algorithm) in algorithms.iter().enumerate() {
        must_be_object(algorithm, &format!("job.algorithms[{a}]"))?;
        let Some(parameters) = algorithm.get("parameters").and_then(|p| p.as_array()) else { continue };
        for (p, parameter) in parameters.iter().enumerate() {
            must_be_object(parameter, &format!("job.algorithms[{a}].parameters[{p}]"))?;
        }
    }
    Ok(())
}

fn check_length(field: &str, value: &str, max: usize) -> Result<(), EventError> {
    // JSON Schema counts characters (code points), not bytes.
    match value.chars().count() {
        0 => Err(EventError::new(field, "must not be empty")),
        n if n > max => Err(EventError::new(field, format!("is {n} characters long; the maximum is {max}"))),
        _ => Ok(()),
    }
}

/// For fields that may be absent but, when present, must not be null.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}
