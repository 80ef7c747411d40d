//! Folding the events of one job into its row, whatever their order (the contract's rules 1 to 6).
//!
//! Each attribute keeps the value of the newest event that carried it: newest by `occurredAt`, then
//! by `eventId` for events of the same millisecond. That is what applying the events in time order
//! gives, and it does not depend on the order of arrival:
//! - an event newer than the one that set an attribute overwrites it, a carried null clearing it;
//! - an older one only fills what no newer event has set. The contract says "attributes that are
//!   still null"; an attribute that a newer event cleared with a null stays cleared, or the result
//!   would depend on the order (rule 6 wins over the letter of rule 3);
//! - `deleted` and `algorithms` (one attribute, the whole list) follow the same rule;
//! - lastModifiedTime is the latest `occurredAt` seen, statuses are a set of (status, occurredAt).
//!
//! Applying an event twice changes nothing: it is not newer than itself.

use chrono::{DateTime, Utc};
use common::event::{AlgorithmReport, JobAttributes, JobEvent, Patch};
use common::job::{Job, JobStatus};
use history_store::rows::JobRow;
use history_store::versions::{AttributeVersions, Version};

/// A job as the history holds it, with the events that set its attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct JobState {
    pub row: JobRow,
    pub versions: AttributeVersions,
}

impl JobState {
    /// A job no event has touched yet: only its id.
    pub fn new(job_id: &str) -> JobState {
        let job = Job { job_id: job_id.to_owned(), ..Job::default() };
        JobState { row: JobRow::from_job(&job), versions: AttributeVersions::default() }
    }
}

/// What the events of one job change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub state: JobState,
    /// The list that replaces the job's algorithms, when an event newer than the one that set them
    /// carried algorithms (a carried null gives an empty list).
    pub algorithms: Option<Vec<AlgorithmReport>>,
    /// Every (status, occurredAt) the events carry; the history keeps each pair once.
    pub statuses: Vec<(JobStatus, DateTime<Utc>)>,
}

/// Folds `events` (all of one job, in any order, duplicates allowed) into `state`.
pub fn fold<'a>(mut state: JobState, events: impl IntoIterator<Item = &'a JobEvent>) -> Change {
    let mut algorithms = None;
    let mut statuses = Vec::new();
    for event in events {
        let version = Version(event.occurred_at.0, event.event_id.clone());
        let row = &mut state.row;
        row.last_modified_time = row.last_modified_time.max(Some(version.0));
        if let Some(status) = event.status {
            statuses.push((status, version.0));
        }
        if let Some(deleted) = event.deleted
            && state.versions.supersede("deleted", &version)
        {
            row.is_deleted = deleted;
        }
        if let Some(job) = &event.job {
            let mut attributes = Attributes { versions: &mut state.versions, version: &version };
            attributes.apply(row, job);
            if !job.algorithms.is_absent() && state.versions.supersede("algorithms", &version) {
                algorithms = Some(match &job.algorithms {
                    Patch::Value(list) => list.clone(),
                    Patch::Absent | Patch::Null => Vec::new(),
                });
            }
        }
    }
    statuses.sort_unstable();
    statuses.dedup();
    Change { state, algorithms, statuses }
}

/// One event's attributes, applied where the event is the newest to carry them.
struct Attributes<'a> {
    versions: &'a mut AttributeVersions,
    version: &'a Version,
}

impl Attributes<'_> {
    fn apply(&mut self, row: &mut JobRow, job: &JobAttributes) {
        let text = String::clone;
        self.set("groupId", &job.group_id, &mut row.group_id, text);
        self.set("projectId", &job.project_id, &mut row.project_id, text);
        self.set("jobOwner", &job.job_owner, &mut row.job_owner, text);
        self.set(
            "automaticallyMachineSelection",
            &job.automatically_machine_selection,
            &mut row.automatically_machine_selection,
            |b| *b,
        );
        self.set("submissionMachines", &job.submission_machines, &mut row.submission_machines, |machines| {
            machines.iter().cloned().map(Some).collect()
        });
        self.set("numberOfProcesses", &job.number_of_processes, &mut row.number_of_processes, |n| *n);
        self.set(
            "numberOfProcessesByMachine",
            &job.number_of_processes_by_machine,
            &mut row.number_of_processes_by_machine,
            |n| *n,
        );
        self.set("submissionTime", &job.submission_time, &mut row.submission_time, |t| t.0);
        self.set("description", &job.description, &mut row.description, text);
        self.set("priority", &job.priority, &mut row.priority, |n| *n);
        self.set("multipleExecution", &job.multiple_execution, &mut row.multiple_execution, |b| *b);
        self.set("jobType", &job.job_type, &mut row.job_type, text);
        self.set("numberOfAttempts", &job.number_of_attempts, &mut row.number_of_attempts, |n| *n);
        self.set("executionMachine", &job.execution_machine, &mut row.execution_machine, text);
        self.set("endTime", &job.end_time, &mut row.end_time, |t| t.0);
        self.set("exitCode", &job.exit_code, &mut row.exit_code, |n| *n);
        self.set("guiltyNodeId", &job.guilty_node_id, &mut row.guilty_node_id, text);
        self.set("exitStatus", &job.exit_status, &mut row.exit_status, |s| s.name().to_owned());
        self.set("cpuTime", &job.cpu_time, &mut row.cpu_time, |x| *x);
        self.set("wallclockTime", &job.wallclock_time, &mut row.wallclock_time, |n| *n);
        self.set("ramMemory", &job.ram_memory, &mut row.ram_memory, |x| *x);
        self.set("flowId", &job.flow_id, &mut row.flow_id, text);
        self.set("flowVersion", &job.flow_version, &mut row.flow_version, text);
        self.set("flowName", &job.flow_name, &mut row.flow_name, text);
    }

    /// Sets `field` from `patch` if the event carries the attribute and is the newest to do so.
    fn set<T, U>(&mut self, name: &str, patch: &Patch<T>, field: &mut Option<U>, convert: impl Fn(&T) -> U) {
        if patch.is_absent() || !self.versions.supersede(name, self.version) {
            return;
        }
        *field = match patch {
            Patch::Value(value) => Some(convert(value)),
            Patch::Absent | Patch::Null => None,
        };
    }
}
