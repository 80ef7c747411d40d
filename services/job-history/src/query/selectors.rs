//! The names a query may use, what each stands for in the database and its type. Selector names are
//! case-sensitive and only these are accepted: nothing a user writes ever becomes SQL text.

use common::rsql::Operator;
use common::rsql::value::ValueType;

/// Where a selector's values live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A column of `jobs` (alias `j`).
    Job,
    /// The statuses of `job_status_history`: any of them.
    Status,
    /// A column of one algorithm of the job (`job_algorithms`, alias `a`).
    Algorithm,
    /// A column of one parameter of one algorithm (`job_parameters`, alias `p`).
    Parameter,
}

#[derive(Debug, Clone, Copy)]
pub struct Selector {
    pub name: &'static str,
    pub column: &'static str,
    pub value_type: ValueType,
    pub scope: Scope,
    /// A list column (`text[]`): comparisons are about its elements.
    pub list: bool,
}

const fn job(name: &'static str, column: &'static str, value_type: ValueType) -> Selector {
    Selector { name, column, value_type, scope: Scope::Job, list: false }
}

use ValueType::{Boolean, DateTime, Decimal, ExitStatus, Integer, JobStatus, Text};

pub const SELECTORS: &[Selector] = &[
    job("jobId", "job_id", Text),
    job("groupId", "group_id", Text),
    job("projectId", "project_id", Text),
    job("jobOwner", "job_owner", Text),
    job("automaticallyMachineSelection", "automatically_machine_selection", Boolean),
    Selector {
        name: "submissionMachines",
        column: "submission_machines",
        value_type: Text,
        scope: Scope::Job,
        list: true,
    },
    job("numberOfProcesses", "number_of_processes", Integer),
    job("numberOfProcessesByMachine", "number_of_processes_by_machine", Integer),
    job("submissionTime", "submission_time", DateTime),
    job("description", "description", Text),
    job("priority", "priority", Integer),
    job("multipleExecution", "multiple_execution", Boolean),
    job("jobType", "job_type", Text),
    job("numberOfAttempts", "number_of_attempts", Integer),
    job("executionMachine", "execution_machine", Text),
    job("endTime", "end_time", DateTime),
    job("exitCode", "exit_code", Integer),
    job("guiltyNodeId", "guilty_node_id", Text),
    job("exitStatus", "exit_status", ExitStatus),
    job("cpuTime", "cpu_time", Decimal),
    job("wallclockTime", "wallclock_time", Integer),
    job("ramMemory", "ram_memory", Decimal),
    job("flowId", "flow_id", Text),
    job("flowVersion", "flow_version", Text),
    job("flowName", "flow_name", Text),
    job("lastModifiedTime", "last_modified_time", DateTime),
    job("isDeleted", "is_deleted", Boolean),
    Selector { name: "status", column: "status", value_type: JobStatus, scope: Scope::Status, list: true },
    Selector { name: "algorithmId", column: "algorithm_id", value_type: Text, scope: Scope::Algorithm, list: false },
    Selector {
        name: "algorithmName",
        column: "algorithm_name",
        value_type: Text,
        scope: Scope::Algorithm,
        list: false,
    },
    Selector {
        name: "algorithmVersion",
        column: "algorithm_version",
        value_type: Text,
        scope: Scope::Algorithm,
        list: false,
    },
    Selector { name: "paramId", column: "parameter_id", value_type: Text, scope: Scope::Parameter, list: false },
    Selector { name: "paramLabel", column: "label", value_type: Text, scope: Scope::Parameter, list: false },
    Selector { name: "paramType", column: "type", value_type: Text, scope: Scope::Parameter, list: false },
    Selector { name: "paramValue", column: "value", value_type: Text, scope: Scope::Parameter, list: true },
];

impl Selector {
    /// The operators that mean something for this selector: every one for ordered types, the
    /// equalities and null checks for booleans and statuses.
    pub fn operators(&self) -> impl Iterator<Item = Operator> + '_ {
        Operator::ALL.into_iter().filter(|operator| !operator.is_ordering() || self.value_type.is_ordered())
    }

    /// Whether a `*` may stand in its values.
    pub fn takes_wildcards(&self) -> bool {
        matches!(self.value_type, ValueType::Text | ValueType::JobStatus | ValueType::ExitStatus)
    }
}

pub fn find(name: &str) -> Option<&'static Selector> {
    SELECTORS.iter().find(|s| s.name == name)
}

/// Every selector name, for messages.
pub fn names() -> Vec<&'static str> {
    SELECTORS.iter().map(|s| s.name).collect()
}

/// The selectors a search can be sorted by: one value per job.
pub fn sortable(name: &str) -> Option<&'static Selector> {
    find(name).filter(|s| s.scope == Scope::Job && !s.list)
}

pub fn sortable_names() -> Vec<&'static str> {
    SELECTORS.iter().filter(|s| s.scope == Scope::Job && !s.list).map(|s| s.name).collect()
}
