//! A run as the job history sees it ([`RunReport`]), and the `JobEvent`s that report it
//! (`contracts/job-events.md`). Both runtimes describe their runs as reports; the events are made
//! here only, so that Kubernetes runs and local runs read the same in the history.
//!
//! Every event is a pure function of the report, and every time in a report is one the runtime
//! recorded (Kubernetes' timestamps, or the local runtime's records), never the time it was
//! observed: a restart, a re-list or a second replica makes the same events with the same ids
//! (`<jobId>/<STATUS>/<epoch milliseconds>`), which the history applies once.

pub mod logs;
pub mod publisher;

use chrono::{DateTime, Utc};
use common::event::{AlgorithmReport, JobAttributes, JobEvent, ParameterReport, Patch, SchemaVersion};
use common::job::{ExitStatus, JobStatus};
use common::time::Instant;

pub use self::publisher::{EventSettings, Publisher};
use crate::spec::{WorkloadKind, names};

/// Everything known of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// The run's id in the history (see [`run_id`]).
    pub run: String,
    /// The deployment (the history's `groupId`).
    pub deployment: String,
    /// Who deployed it, or who pressed "run now".
    pub owner: Option<String>,
    pub description: Option<String>,
    pub kind: WorkloadKind,
    /// The artifact (`algorithmId` = its name) and its version.
    pub artifact: Option<(String, String)>,
    /// The runner's environment and arguments (values of Secrets never).
    pub parameters: Vec<ParameterReport>,
    /// When the run was created (SCHEDULED).
    pub scheduled_at: DateTime<Utc>,
    /// Each attempt (a pod, or a local try), oldest first.
    pub attempts: Vec<Attempt>,
    pub finished: Option<Finish>,
}

/// One attempt of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attempt {
    /// When it was created: the resource is fetched (INIT).
    pub started_at: Option<DateTime<Utc>>,
    /// When the runner started (EXECUTING).
    pub executing_at: Option<DateTime<Utc>>,
    /// The node (or host) it ran on.
    pub machine: Option<String>,
}

/// How a run ended (FINISHED).
#[derive(Debug, Clone, PartialEq)]
pub struct Finish {
    pub at: DateTime<Utc>,
    pub exit_status: ExitStatus,
    /// The runner's exit code, when it ran and ended by itself.
    pub exit_code: Option<i64>,
    /// Pods (or local tries) the run took, when known for sure.
    pub attempts: Option<i64>,
    /// Whether `at` was recorded by the runtime. A Job that Kubernetes removed at once records no
    /// deletion time: `at` is then when this deployer saw it go, which another reader would see
    /// otherwise, so the event's id carries no time (`<jobId>/FINISHED/deleted`) and every reader
    /// names the fact alike.
    pub recorded: bool,
}

/// The run's id: the Kubernetes Job's name (or the local run's). A Job deployment's Job keeps the
/// deployment's name across changes (and a deleted deployment's name can be deployed again), so
/// its id also carries the Job's creation second, in base 36: two runs never share one.
pub fn run_id(job_name: &str, kind: WorkloadKind, created: DateTime<Utc>) -> String {
    match kind {
        WorkloadKind::Job => format!("{job_name}-{}", names::base36(created.timestamp().unsigned_abs())),
        WorkloadKind::CronJob => job_name.to_owned(),
    }
}

fn event(report: &RunReport, status: JobStatus, at: DateTime<Utc>, job: JobAttributes) -> JobEvent {
    event_named(report, status, at, &at.timestamp_millis().to_string(), job)
}

fn event_named(report: &RunReport, status: JobStatus, at: DateTime<Utc>, suffix: &str, job: JobAttributes) -> JobEvent {
    let at = Instant(at);
    JobEvent {
        schema_version: SchemaVersion,
        event_id: format!("{}/{}/{suffix}", report.run, status.name()),
        job_id: report.run.clone(),
        occurred_at: at,
        status: Some(status),
        deleted: None,
        job: Some(job),
    }
}

fn value<T>(value: Option<T>) -> Patch<T> {
    value.map_or(Patch::Absent, Patch::Value)
}

/// The events that report what `report` holds, oldest first.
pub fn events(report: &RunReport) -> Vec<JobEvent> {
    let mut events = vec![event(
        report,
        JobStatus::Scheduled,
        report.scheduled_at,
        JobAttributes {
            group_id: Patch::Value(report.deployment.clone()),
            job_owner: value(report.owner.clone()),
            description: value(report.description.clone()),
            job_type: Patch::Value(report.kind.as_str().to_owned()),
            submission_time: Patch::Value(Instant(report.scheduled_at)),
            algorithms: Patch::Value(
                report
                    .artifact
                    .iter()
                    .map(|(name, version)| AlgorithmReport {
                        algorithm_id: name.clone(),
                        algorithm_version: Some(version.clone()),
                        algorithm_name: Some(name.clone()),
                        parameters: report.parameters.clone(),
                    })
                    .collect(),
            ),
            ..JobAttributes::default()
        },
    )];
    for attempt in &report.attempts {
        if let Some(at) = attempt.started_at {
            events.push(event(report, JobStatus::Init, at, JobAttributes::default()));
        }
        if let Some(at) = attempt.executing_at {
            let job = JobAttributes { execution_machine: value(attempt.machine.clone()), ..JobAttributes::default() };
            events.push(event(report, JobStatus::Executing, at, job));
        }
    }
    if let Some(finish) = &report.finished {
        // From the run's creation, which every reading of the run knows (not all know when the
        // runner started: a pod may be gone), to its end.
        let job = JobAttributes {
            end_time: Patch::Value(Instant(finish.at)),
            exit_code: value(finish.exit_code),
            exit_status: Patch::Value(finish.exit_status),
            wallclock_time: Patch::Value((finish.at - report.scheduled_at).num_seconds().max(0)),
            number_of_attempts: value(finish.attempts),
            ..JobAttributes::default()
        };
        let suffix = if finish.recorded { finish.at.timestamp_millis().to_string() } else { "deleted".to_owned() };
        events.push(event_named(report, JobStatus::Finished, finish.at, &suffix, job));
    }
    events
}

/// The runner's environment as parameters: a plain value as it is (unless the variable's name says
/// it holds a secret: then it is left out), a Secret's key by its reference only, and the
/// arguments as one parameter `args`.
pub fn parameters<'a>(env: impl IntoIterator<Item = (&'a str, EnvValue<'a>)>, args: &[String]) -> Vec<ParameterReport> {
    let mut parameters: Vec<ParameterReport> = env
        .into_iter()
        .map(|(name, value)| match value {
            EnvValue::Plain(_) if looks_secret(name) => ParameterReport {
                parameter_id: name.to_owned(),
                label: Some("hidden: its name says it holds a secret".to_owned()),
                kind: Some("env".to_owned()),
                value: Vec::new(),
            },
            EnvValue::Plain(value) => ParameterReport {
                parameter_id: name.to_owned(),
                label: None,
                kind: Some("env".to_owned()),
                value: vec![value.to_owned()],
            },
            EnvValue::Secret(secret, key) => ParameterReport {
                parameter_id: name.to_owned(),
                label: Some(format!("from the Secret {secret}, key {key}")),
                kind: Some("secret".to_owned()),
                value: Vec::new(),
            },
        })
        .collect();
    if !args.is_empty() {
        parameters.push(ParameterReport {
            parameter_id: "args".to_owned(),
            label: Some("the runner's arguments".to_owned()),
            kind: Some("args".to_owned()),
            value: args.to_vec(),
        });
    }
    parameters
}

/// Whether a variable's name says it holds a secret (`DB_PASSWORD`, `API_TOKEN`, `aws_secret_key`):
/// its value never goes into the history, whatever the runtime.
fn looks_secret(name: &str) -> bool {
    const WORDS: [&str; 7] = ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL", "API_KEY", "PRIVATE_KEY"];
    let name = name.to_ascii_uppercase();
    WORDS.iter().any(|word| name.contains(word))
}

/// A variable's value as a report shows it.
#[derive(Debug, Clone, Copy)]
pub enum EnvValue<'a> {
    Plain(&'a str),
    Secret(&'a str, &'a str),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        common::time::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn a_finished_run_gives_its_four_statuses_with_deterministic_ids() {
        let report = RunReport {
            run: "etl-29000000".to_owned(),
            deployment: "etl".to_owned(),
            owner: Some("ana".to_owned()),
            description: None,
            kind: WorkloadKind::CronJob,
            artifact: Some(("etl".to_owned(), "1.0".to_owned())),
            parameters: parameters(
                [
                    ("MODE", EnvValue::Plain("full")),
                    ("PW", EnvValue::Secret("s", "k")),
                    ("db_password", EnvValue::Plain("hunter2")),
                ],
                &[],
            ),
            scheduled_at: at("2026-01-01T00:00:00Z"),
            attempts: vec![Attempt {
                started_at: Some(at("2026-01-01T00:00:01Z")),
                executing_at: Some(at("2026-01-01T00:00:05.250Z")),
                machine: Some("node-1".to_owned()),
            }],
            finished: Some(Finish {
                at: at("2026-01-01T00:01:05.750Z"),
                exit_status: ExitStatus::ExecutionError,
                exit_code: Some(2),
                attempts: Some(1),
                recorded: true,
            }),
        };
        let events = events(&report);
        let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "etl-29000000/SCHEDULED/1767225600000",
                "etl-29000000/INIT/1767225601000",
                "etl-29000000/EXECUTING/1767225605250",
                "etl-29000000/FINISHED/1767225665750"
            ]
        );
        let finished = serde_json::to_value(&events[3]).unwrap();
        assert_eq!(finished["job"]["wallclockTime"], 65);
        assert_eq!(finished["job"]["exitStatus"], "EXECUTION_ERROR");
        let scheduled = serde_json::to_value(&events[0]).unwrap();
        let parameters = &scheduled["job"]["algorithms"][0]["parameters"];
        assert_eq!(parameters[0]["value"], serde_json::json!(["full"]));
        assert_eq!(parameters[1]["value"], serde_json::json!([]));
        assert_eq!(parameters[2]["value"], serde_json::json!([]), "a value named as a secret is left out");
        for event in &events {
            JobEvent::from_json(&event.to_json().unwrap()).unwrap();
        }
    }
}
