//! A job run as the history keeps it: the original history service's "Estrutura do Job" (Soma Job
//! History), field for field.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use strum::{EnumIter, EnumString, IntoStaticStr};

/// The states a run goes through, in the order the history sorts equal timestamps by.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    EnumIter,
    EnumString,
    IntoStaticStr,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum JobStatus {
    Scheduled,
    Init,
    Uploading,
    Queued,
    Executing,
    Downloading,
    Finished,
    Unknown,
}

/// How a finished run ended: the failure reason as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, EnumIter, EnumString, IntoStaticStr)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ExitStatus {
    Unknown,
    Success,
    ExecutionError,
    JobIdentifierNotFound,
    UnexpectedMachineError,
    ProjectNotFound,
    FailedSetupExecutionEnvironment,
    NoPermission,
    NoMachineAvailable,
    Killed,
    Lost,
    Undefined,
}

macro_rules! impl_name {
    ($($ty:ty),*) => {$(
        impl $ty {
            /// The name on the wire and in queries (upper case, e.g. `FINISHED`).
            pub fn name(self) -> &'static str {
                self.into()
            }

            /// Every value's name, in the order of the declaration.
            pub fn names() -> Vec<&'static str> {
                <Self as strum::IntoEnumIterator>::iter().map(Self::name).collect()
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    )*};
}
impl_name!(JobStatus, ExitStatus);

/// One job run with everything the history knows of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    pub job_id: String,
    pub group_id: Option<String>,
    pub project_id: Option<String>,
    pub job_owner: Option<String>,
    pub automatically_machine_selection: Option<bool>,
    pub submission_machines: Option<Vec<String>>,
    pub number_of_processes: Option<i64>,
    pub number_of_processes_by_machine: Option<i64>,
    #[serde(with = "crate::time::utc_millis::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime, example = "2019-06-12T21:24:25.342Z"))]
    pub submission_time: Option<DateTime<Utc>>,
    pub description: Option<String>,
    pub priority: Option<i64>,
    pub multiple_execution: Option<bool>,
    pub job_type: Option<String>,
    pub number_of_attempts: Option<i64>,
    pub execution_machine: Option<String>,
    #[serde(with = "crate::time::utc_millis::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub end_time: Option<DateTime<Utc>>,
    pub exit_code: Option<i64>,
    pub guilty_node_id: Option<String>,
    pub exit_status: Option<ExitStatus>,
    pub cpu_time: Option<f64>,
    pub wallclock_time: Option<i64>,
    pub ram_memory: Option<f64>,
    /// Every status the run reached, ordered by time (then by the order of [`JobStatus`]).
    pub status_history: Vec<StatusChange>,
    pub algorithms: Vec<Algorithm>,
    pub flow_id: Option<String>,
    pub flow_version: Option<String>,
    pub flow_name: Option<String>,
    #[serde(with = "crate::time::utc_millis::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_modified_time: Option<DateTime<Utc>>,
    /// Soft deletion: the run stays in the history, marked.
    pub is_deleted: bool,
}

/// A status the run reached, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusChange {
    pub status: JobStatus,
    #[serde(with = "crate::time::utc_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub timestamp: DateTime<Utc>,
}

impl StatusChange {
    /// The order the history serves status changes in: by time, then by the status list's order.
    pub fn history_order(&self, other: &Self) -> std::cmp::Ordering {
        (self.timestamp, self.status).cmp(&(other.timestamp, other.status))
    }
}

/// A program the run executed (for a deployed job: the artifact and its version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Algorithm {
    pub algorithm_id: String,
    pub algorithm_version: Option<String>,
    pub algorithm_name: Option<String>,
    /// Left out of search results asked with `showParam=false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<Parameter>>,
}

/// One parameter of an algorithm, with its values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Parameter {
    /// The history's own number for this parameter row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub parameter_id: String,
    pub label: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub value: Vec<String>,
}
