//! What a user asks for: the original tool's four parts of a deployment (the resource to run, the
//! runner, the runner's configuration, and the name it is deployed under). A spec is checked
//! ([`check`]) into a [`CheckedSpec`] before anything is deployed: no runtime takes anything else.

pub mod check;
pub mod image;
pub mod names;
pub mod quantity;
pub mod schedule;

use common::checksum::Checksum;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use check::{CheckedSpec, Problem, Target};

/// A deployment as submitted (`POST /v1/deployments`, `PUT /v1/deployments/{name}`) and as kept in
/// each revision, where inline mount credentials have been replaced by the Secret holding them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentSpec {
    /// The Kubernetes name of the Job or CronJob: an RFC 1123 label, at most 52 characters with a
    /// schedule (the CronJob controller appends 11). Absent, it is made from the artifact's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "sales-etl")]
    pub name: Option<String>,
    /// For people; shown in the list and kept as an annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub resource: Resource,
    pub runner: Runner,
    /// Absent: the deployment is a Job that runs once. Present: a CronJob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// CIFS/SMB shares mounted into the runner through the SMB CSI driver.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<Mount>,
    /// Retries of a failed run before the run is failed (Kubernetes' default: 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_limit: Option<i32>,
    /// A run still going after this many seconds is stopped and failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
    /// A finished run (its Job and pods) is removed after this many seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<i32>,
}

/// The Nexus asset to run, as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resource {
    #[schema(example = "releases")]
    pub repository: String,
    #[schema(example = "com.example.etl")]
    pub group: String,
    #[schema(example = "sales-etl")]
    pub name: String,
    #[schema(example = "1.4.2")]
    pub version: String,
    /// The asset's path in the repository.
    #[schema(example = "com/example/etl/sales-etl/1.4.2/sales-etl-1.4.2.zip")]
    pub path: String,
    /// Where the init container downloads it from (http or https).
    #[schema(
        example = "https://nexus.example.com/repository/releases/com/example/etl/sales-etl/1.4.2/sales-etl-1.4.2.zip"
    )]
    pub download_url: String,
    pub checksum: Checksum,
}

/// The container that runs the resource. `command` and `args` may refer to `$(JOB_RESOURCE)` (the
/// downloaded file) and `$(JOB_RESOURCE_DIR)` (where it was unpacked); Kubernetes expands them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Runner {
    #[schema(example = "eclipse-temurin:21-jre")]
    pub image: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(example = json!(["sh", "-c"]))]
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(example = json!(["$(JOB_RESOURCE_DIR)/sales-etl/sales-etl_run.sh"]))]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// The user id the runner runs as. Pods run as a non-root user (the `restricted` Pod Security
    /// level): the deployer's default (`JOB_DEPLOYER_RUN_AS_USER`) unless the image needs its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, example = 1000)]
    pub run_as_user: Option<i64>,
}

/// An environment variable: a `value`, or a key of an existing Secret (`secret`), never both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvVar {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKey {
    pub name: String,
    pub key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<ResourceAmounts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceAmounts>,
}

/// Kubernetes quantities: `cpu` like `500m` or `2`, `memory` like `512Mi` or `2G`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceAmounts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "500m")]
    pub cpu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "512Mi")]
    pub memory: Option<String>,
}

/// When a CronJob runs, as the CronJob controller reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Schedule {
    /// Five fields (minute hour day-of-month month day-of-week) or `@hourly`, `@daily`, `@weekly`,
    /// `@monthly`, `@yearly`.
    #[schema(example = "30 2 * * 1-5")]
    pub cron: String,
    /// An IANA time zone; absent, the controller's (usually UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Europe/Paris")]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub concurrency_policy: ConcurrencyPolicy,
    /// A run that could not start within this many seconds of its time is skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_deadline_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successful_jobs_history_limit: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_jobs_history_limit: Option<i32>,
}

/// What the CronJob does when a run is due while the previous one still runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ConcurrencyPolicy {
    #[default]
    Allow,
    Forbid,
    Replace,
}

impl ConcurrencyPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ConcurrencyPolicy::Allow => "Allow",
            ConcurrencyPolicy::Forbid => "Forbid",
            ConcurrencyPolicy::Replace => "Replace",
        }
    }
}

/// A CIFS/SMB share. Credentials are given inline (`credentials`, kept in a Secret the deployment
/// owns and never returned) or as the name of an existing Secret (`secretName`) with the keys
/// `username`, `password` and optionally `domain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Mount {
    #[schema(example = "//fileserver.example.com/exports")]
    pub source: String,
    /// Absolute path in the runner container.
    #[schema(example = "/mnt/exports")]
    pub mount_path: String,
    #[serde(default)]
    pub read_only: bool,
    /// A folder of the share to mount instead of its root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<SmbCredentials>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
}

/// Accepted in a request, never written out: the password cannot be serialized at all, and the
/// whole value is replaced by a Secret's name before a spec is kept or returned.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SmbCredentials {
    pub username: String,
    #[serde(skip_serializing)]
    #[schema(write_only)]
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

impl std::fmt::Debug for SmbCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmbCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("domain", &self.domain)
            .finish()
    }
}

impl DeploymentSpec {
    pub fn kind(&self) -> WorkloadKind {
        if self.schedule.is_some() { WorkloadKind::CronJob } else { WorkloadKind::Job }
    }

    /// A spec as an earlier version of the deployer kept it (a revision, an annotation, the local
    /// runtime's folder): what it no longer keeps is dropped. `schedule.suspend` was state kept in
    /// the spec; suspension is now the deployment's state only.
    pub fn from_kept(mut value: serde_json::Value) -> Result<DeploymentSpec, serde_json::Error> {
        if let Some(schedule) = value.get_mut("schedule").and_then(serde_json::Value::as_object_mut) {
            schedule.remove("suspend");
        }
        serde_json::from_value(value)
    }
}

/// Reads a kept spec with [`DeploymentSpec::from_kept`] (for `#[serde(deserialize_with)]`).
pub fn deserialize_kept<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<DeploymentSpec, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    DeploymentSpec::from_kept(value).map_err(serde::de::Error::custom)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum WorkloadKind {
    Job,
    CronJob,
}

impl WorkloadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Job => "Job",
            WorkloadKind::CronJob => "CronJob",
        }
    }
}
