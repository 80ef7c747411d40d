//! Rows of the history's tables, and the [`Job`] they make together.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use common::job::{Algorithm, ExitStatus, Job, JobStatus, Parameter, StatusChange};
use diesel::prelude::*;

use crate::schema::{job_algorithms, job_parameters, job_status_history, jobs};

/// One run's own fields.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = jobs, check_for_backend(diesel::pg::Pg))]
pub struct JobRow {
    pub job_id: String,
    pub group_id: Option<String>,
    pub project_id: Option<String>,
    pub job_owner: Option<String>,
    pub automatically_machine_selection: Option<bool>,
    pub submission_machines: Option<Vec<Option<String>>>,
    pub number_of_processes: Option<i64>,
    pub number_of_processes_by_machine: Option<i64>,
    pub submission_time: Option<DateTime<Utc>>,
    pub description: Option<String>,
    pub priority: Option<i64>,
    pub multiple_execution: Option<bool>,
    pub job_type: Option<String>,
    pub number_of_attempts: Option<i64>,
    pub execution_machine: Option<String>,
    pub end_time: Option<DateTime<Utc>>,
    pub exit_code: Option<i64>,
    pub guilty_node_id: Option<String>,
    pub exit_status: Option<String>,
    pub cpu_time: Option<f64>,
    pub wallclock_time: Option<i64>,
    pub ram_memory: Option<f64>,
    pub flow_id: Option<String>,
    pub flow_version: Option<String>,
    pub flow_name: Option<String>,
    pub last_modified_time: Option<DateTime<Utc>>,
    pub is_deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Queryable, Selectable, Insertable)]
#[diesel(table_name = job_status_history, check_for_backend(diesel::pg::Pg))]
pub struct StatusRow {
    pub job_id: String,
    pub status: String,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = job_algorithms, check_for_backend(diesel::pg::Pg))]
pub struct AlgorithmRow {
    pub id: i64,
    pub job_id: String,
    pub position: i32,
    pub algorithm_id: String,
    pub algorithm_version: Option<String>,
    pub algorithm_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = job_parameters, check_for_backend(diesel::pg::Pg))]
pub struct ParameterRow {
    pub id: i64,
    pub algorithm: i64,
    pub job_id: String,
    pub position: i32,
    pub parameter_id: String,
    pub label: Option<String>,
    pub type_: Option<String>,
    pub value: Vec<Option<String>>,
}

impl JobRow {
    /// The run as the history serves it. `statuses`, `algorithms` and `parameters` are this run's
    /// rows; `parameters` is `None` when they are not wanted (`showParam=false`).
    pub fn into_job(
        self,
        mut statuses: Vec<StatusRow>,
        mut algorithms: Vec<AlgorithmRow>,
        parameters: Option<Vec<ParameterRow>>,
    ) -> Job {
        let mut status_history: Vec<StatusChange> = statuses
            .drain(..)
            .filter_map(|row| {
                Some(StatusChange { status: JobStatus::from_str(&row.status).ok()?, timestamp: row.occurred_at })
            })
            .collect();
        status_history.sort_by(StatusChange::history_order);
        algorithms.sort_by_key(|a| a.position);
        let mut parameters = parameters;
        if let Some(parameters) = parameters.as_mut() {
            parameters.sort_by_key(|p| (p.algorithm, p.position));
        }
        let algorithms = algorithms
            .into_iter()
            .map(|algorithm| Algorithm {
                parameters: parameters.as_ref().map(|all| {
                    all.iter()
                        .filter(|p| p.algorithm == algorithm.id)
                        .map(|p| Parameter {
                            id: Some(p.id),
                            parameter_id: p.parameter_id.clone(),
                            label: p.label.clone(),
                            kind: p.type_.clone(),
                            value: p.value.iter().flatten().cloned().collect(),
                        })
                        .collect()
                }),
                algorithm_id: algorithm.algorithm_id,
                algorithm_version: algorithm.algorithm_version,
                algorithm_name: algorithm.algorithm_name,
            })
            .collect();
        Job {
            job_id: self.job_id,
            group_id: self.group_id,
            project_id: self.project_id,
            job_owner: self.job_owner,
            automatically_machine_selection: self.automatically_machine_selection,
            submission_machines: self.submission_machines.map(|m| m.into_iter().flatten().collect()),
            number_of_processes: self.number_of_processes,
            number_of_processes_by_machine: self.number_of_processes_by_machine,
            submission_time: self.submission_time,
            description: self.description,
            priority: self.priority,
            multiple_execution: self.multiple_execution,
            job_type: self.job_type,
            number_of_attempts: self.number_of_attempts,
            execution_machine: self.execution_machine,
            end_time: self.end_time,
            exit_code: self.exit_code,
            guilty_node_id: self.guilty_node_id,
            exit_status: self.exit_status.as_deref().and_then(|s| ExitStatus::from_str(s).ok()),
            cpu_time: self.cpu_time,
            wallclock_time: self.wallclock_time,
            ram_memory: self.ram_memory,
            status_history,
            algorithms,
            flow_id: self.flow_id,
            flow_version: self.flow_version,
            flow_name: self.flow_name,
            last_modified_time: self.last_modified_time,
            is_deleted: self.is_deleted,
        }
    }

    /// The row of a run's own fields.
    pub fn from_job(job: &Job) -> JobRow {
        JobRow {
            job_id: job.job_id.clone(),
            group_id: job.group_id.clone(),
            project_id: job.project_id.clone(),
            job_owner: job.job_owner.clone(),
            automatically_machine_selection: job.automatically_machine_selection,
            submission_machines: job.submission_machines.as_ref().map(|m| m.iter().cloned().map(Some).collect()),
            number_of_processes: job.number_of_processes,
            number_of_processes_by_machine: job.number_of_processes_by_machine,
            submission_time: job.submission_time,
            description: job.description.clone(),
            priority: job.priority,
            multiple_execution: job.multiple_execution,
            job_type: job.job_type.clone(),
            number_of_attempts: job.number_of_attempts,
            execution_machine: job.execution_machine.clone(),
            end_time: job.end_time,
            exit_code: job.exit_code,
            guilty_node_id: job.guilty_node_id.clone(),
            exit_status: job.exit_status.map(|s| s.name().to_owned()),
            cpu_time: job.cpu_time,
            wallclock_time: job.wallclock_time,
            ram_memory: job.ram_memory,
            flow_id: job.flow_id.clone(),
            flow_version: job.flow_version.clone(),
            flow_name: job.flow_name.clone(),
            last_modified_time: job.last_modified_time,
            is_deleted: job.is_deleted,
        }
    }
}
