//! What the deployer knows of a deployment, whichever runtime holds it: the list line and the
//! detail, the revisions, the runs, and what a caller asks of a run or of a log. Both runtimes
//! make these and the HTTP layer shows them; neither defines them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::spec::{DeploymentSpec, EnvVar, WorkloadKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum DeploymentState {
    /// A CronJob that is not suspended, or a Job that has not finished.
    Active,
    /// A suspended CronJob, or a finished Job.
    Inactive,
}

/// The original tool's container states, of the latest run:
///
/// | state | when |
/// |---|---|
/// | `Scheduled` | no run yet, or the latest run's pod is not yet placed on a node |
/// | `Initiated` | on a node: the resource is being fetched or the runner is starting |
/// | `Running`   | the runner runs |
/// | `Failed`    | the run failed, or a container cannot start (image pull error, bad configuration) |
/// | `Stopped`   | the run ended successfully |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ContainerState {
    Scheduled,
    Initiated,
    Running,
    Failed,
    Stopped,
}

/// One line of the deployment list (the original tool's "Listing jobs").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentSummary {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: WorkloadKind,
    pub deployed_at: Option<DateTime<Utc>>,
    /// Who made the latest revision.
    pub deployed_by: Option<String>,
    /// Who deployed it first.
    pub owner: Option<String>,
    pub state: DeploymentState,
    /// The state of the latest run's containers.
    pub container_state: ContainerState,
    pub image: String,
    /// `repository/group:name:version`.
    pub resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    pub last_run: Option<DateTime<Utc>>,
    /// The next time the CronJob runs, computed in its time zone; none when suspended or a Job.
    pub next_run: Option<DateTime<Utc>>,
    /// Why the latest run failed, in words; absent when it did not fail (or there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
    pub revision: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `GET /v1/deployments/{name}`: the spec and the status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentDetail {
    #[serde(flatten)]
    pub summary: DeploymentSummary,
    /// State, not part of the spec: changed by `suspend` and `resume` only, and kept across changes.
    pub suspended: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend_reason: Option<String>,
    /// The spec of the current revision; inline credentials appear as the Secret holding them.
    /// Absent only when the object was edited outside the deployer and lost its annotation.
    pub spec: Option<DeploymentSpec>,
    /// Runs now going on.
    pub active_runs: usize,
    /// What the runtime records but does not do (the local runtime ignores the image).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A deployment as read, with the version a change must name to apply over it.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    pub value: T,
    pub etag: ETag,
}

/// The version of a deployment as a client last saw it: changes with its spec (a revision), its
/// suspension and the object itself (deleted and made again), not with its runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ETag(String);

impl ETag {
    /// A version made of `parts`, which together change whenever the deployment does.
    pub fn of(parts: &[&str]) -> ETag {
        // FNV-1a: short, stable across builds and platforms (std's hasher is neither).
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for part in parts {
            for byte in part.bytes().chain(std::iter::once(0)) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        ETag(format!("{hash:016x}"))
    }

    /// As an HTTP header value: a strong entity tag, quoted.
    pub fn header(&self) -> String {
        format!("\"{}\"", self.0)
    }

    /// Whether an `If-Match` value names this version (`*` names any).
    pub fn matches(&self, if_match: &str) -> bool {
        if_match.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == self.header())
    }
}

/// A change asked only over a given version of the deployment (`If-Match`).
#[derive(Debug, Clone, Default)]
pub struct Precondition(pub Option<String>);

impl Precondition {
    /// `Err(Stale)` when the caller named a version that is not `current`.
    pub fn check(&self, name: &str, current: &ETag) -> Result<(), crate::Error> {
        match &self.0 {
            Some(wanted) if !current.matches(wanted) => Err(crate::Error::Stale { name: name.to_owned() }),
            _ => Ok(()),
        }
    }

    pub fn given(&self) -> bool {
        self.0.is_some()
    }
}

/// One revision of a deployment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    pub revision: u32,
    pub author: Option<String>,
    pub at: Option<DateTime<Utc>>,
    /// `deployed`, `changed`, or `rollback to N`.
    pub change: Option<String>,
    pub spec: Option<DeploymentSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum RunState {
    Pending,
    Running,
    Succeeded,
    Failed,
}

/// One run: a Job of the deployment (or a local run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// The run's name (what `GET .../logs?run=` takes).
    pub name: String,
    pub state: RunState,
    pub container_state: ContainerState,
    /// Started by hand (`POST .../run`) rather than by the schedule.
    pub manual: bool,
    /// Who pressed "run now", or who deployed the revision it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggered_by: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The runner's exit code, once it ended.
    pub exit_code: Option<i32>,
    /// Why the run failed, in words: out of memory (OOMKilled), image pull error, deadline
    /// exceeded, fetch failed, evicted, exited with code N, or why its pod could not be made.
    pub failure_reason: Option<String>,
    /// The pod of its latest attempt (Kubernetes only).
    pub pod: Option<String>,
}

/// One-off changes for a run started by hand.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunOverrides {
    /// Variables set (or replaced) for this run only.
    #[serde(default)]
    pub env: Vec<EnvVar>,
    /// Replace the runner's arguments for this run only.
    pub args: Option<Vec<String>>,
}

/// `POST .../suspend`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SuspendRequest {
    /// Why, shown with the deployment until it is resumed.
    #[schema(example = "month-end freeze")]
    pub reason: Option<String>,
}

/// Which container of a run a log is of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum LogContainer {
    /// The container that runs the resource.
    #[default]
    Runner,
    /// The init container that downloads and checks the resource.
    Fetch,
}

impl LogContainer {
    pub fn as_str(self) -> &'static str {
        match self {
            LogContainer::Runner => "runner",
            LogContainer::Fetch => "fetch",
        }
    }
}

/// Which log, and how much of it. Checked by the HTTP layer: the bounds are positive.
#[derive(Debug, Clone, Default)]
pub struct LogRequest {
    /// The run; the latest when absent.
    pub run: Option<String>,
    pub container: LogContainer,
    pub tail_lines: Option<i64>,
    pub since_seconds: Option<i64>,
    pub limit_bytes: Option<i64>,
    /// The attempt before the latest.
    pub previous: bool,
    /// Streams as the log grows.
    pub follow: bool,
    /// The whole log, without the default bounds.
    pub all: bool,
    /// Lines by number instead: `lines` lines from line `from` (1-based), or the last `lines`.
    pub window: Option<LogWindow>,
}

/// Lines of a log by their numbers in the whole log (a viewer loading earlier lines on scroll).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogWindow {
    /// The first line (1-based); the window ends at the log's end when absent.
    pub from: Option<usize>,
    pub lines: usize,
}

/// Lines of log answered when the caller sets no bound: a huge log is never sent whole unless
/// asked (`all=true`).
pub const DEFAULT_TAIL_LINES: i64 = 1000;
pub const DEFAULT_LIMIT_BYTES: i64 = 5 * 1024 * 1024;

impl LogRequest {
    /// The line and byte bounds to apply: the caller's, or the defaults unless `all`.
    pub fn bounds(&self) -> (Option<i64>, Option<i64>) {
        let bounded = self.tail_lines.is_some() || self.since_seconds.is_some();
        let tail = self.tail_lines.or((!self.all && !bounded).then_some(DEFAULT_TAIL_LINES));
        let limit = self.limit_bytes.or((!self.all).then_some(DEFAULT_LIMIT_BYTES));
        (tail, limit)
    }
}

/// A log answer: whole, or a stream that goes on while the run writes.
pub enum Log {
    Text(String),
    /// Lines `first..first + count` of a log of `total` lines.
    Window {
        text: String,
        first: usize,
        total: usize,
    },
    Follow(std::pin::Pin<Box<dyn futures_util::Stream<Item = std::io::Result<Vec<u8>>> + Send>>),
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Log::Text(text) => f.debug_tuple("Text").field(&text.len()).finish(),
            Log::Window { first, total, .. } => {
                f.debug_struct("Window").field("first", first).field("total", total).finish()
            }
            Log::Follow(_) => f.write_str("Follow"),
        }
    }
}

/// One line of a log that matches a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogMatch {
    /// 1-based, in the whole log of the attempt.
    pub line: usize,
    pub text: String,
}

/// `GET .../logs/search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogSearch {
    /// The run searched (the latest when none was named).
    pub run: String,
    pub container: LogContainer,
    /// Lines of the log searched.
    pub lines: usize,
    pub matches: Vec<LogMatch>,
    /// More lines matched than were answered (see `limit`).
    pub truncated: bool,
}

/// What a dry run would write: every object as Kubernetes would store it (Secrets' values
/// redacted), or, on the local runtime, the spec as it would be kept.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DryRun {
    /// The spec as it would be kept (inline credentials replaced by the Secret holding them).
    pub spec: DeploymentSpec,
    /// The Kubernetes objects, in the order they would be written, as the API server's own dry
    /// run returned them; empty on the local runtime.
    #[schema(value_type = Vec<Object>)]
    pub objects: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What a deploy, a change or a rollback did.
#[derive(Debug)]
pub enum Outcome {
    Done(Box<Versioned<DeploymentDetail>>),
    DryRun(Box<DryRun>),
}

/// A runner image a deployment may use, as the configuration offers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunnerImage {
    #[schema(example = "eclipse-temurin:21-jre")]
    pub image: String,
    #[schema(example = "Java 21: runs a jar")]
    pub description: String,
    /// The command a deployment starts from (it may use `$(JOB_RESOURCE)` and `$(JOB_RESOURCE_DIR)`).
    #[serde(default)]
    #[schema(example = json!(["java", "-jar", "$(JOB_RESOURCE)"]))]
    pub command: Vec<String>,
    #[serde(default)]
    pub args: Vec<String>,
}

/// `GET /v1/schedules/preview`: when a schedule fires next, as the deployment would.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchedulePreview {
    pub cron: String,
    /// The zone the schedule is read in (UTC when none was given).
    pub time_zone: String,
    /// The next times, in UTC.
    pub times: Vec<DateTime<Utc>>,
}
