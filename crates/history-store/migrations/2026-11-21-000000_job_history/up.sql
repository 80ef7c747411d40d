-- The job history: one row per run, its statuses, algorithms and parameters in child tables.
-- Every field a query can name is a typed column with an index (a multi-valued one: a child table or
-- an array with a GIN index), so that no search scans a blob. Text columns use the "C" collation:
-- byte order, and a `LIKE 'prefix%'` (an RSQL `value*`) can then use their b-tree index.

-- btree_gin lets one GIN index hold plain columns beside arrays, so that the comparisons of one
-- algorithm or one parameter (paramLabel and paramValue together) are answered by one index scan.
-- It is a trusted extension: the database owner may create it.
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE TABLE jobs (
    job_id                          text COLLATE "C" PRIMARY KEY,
    group_id                        text COLLATE "C",
    project_id                      text COLLATE "C",
    job_owner                       text COLLATE "C",
    automatically_machine_selection boolean,
    submission_machines             text[],
    number_of_processes             bigint,
    number_of_processes_by_machine  bigint,
    submission_time                 timestamptz,
    description                     text COLLATE "C",
    priority                        bigint,
    multiple_execution              boolean,
    job_type                        text COLLATE "C",
    number_of_attempts              bigint,
    execution_machine               text COLLATE "C",
    end_time                        timestamptz,
    exit_code                       bigint,
    guilty_node_id                  text COLLATE "C",
    exit_status                     text COLLATE "C" CHECK (exit_status IN ('UNKNOWN', 'SUCCESS', 'EXECUTION_ERROR',
        'JOB_IDENTIFIER_NOT_FOUND', 'UNEXPECTED_MACHINE_ERROR', 'PROJECT_NOT_FOUND',
        'FAILED_SETUP_EXECUTION_ENVIRONMENT', 'NO_PERMISSION', 'NO_MACHINE_AVAILABLE', 'KILLED', 'LOST', 'UNDEFINED')),
    cpu_time                        double precision,
    wallclock_time                  bigint,
    ram_memory                      double precision,
    flow_id                         text COLLATE "C",
    flow_version                    text COLLATE "C",
    flow_name                       text COLLATE "C",
    last_modified_time              timestamptz,
    is_deleted                      boolean NOT NULL DEFAULT false
);

-- Searches filter and sort by any field with the job id as tie-breaker: (field, job_id) serves the
-- filter and gives the field's order, the ties then sorted by job id. The default order, newest
-- submission first, is exactly the submission time index's.
CREATE INDEX jobs_group_id ON jobs (group_id, job_id);
CREATE INDEX jobs_project_id ON jobs (project_id, job_id);
CREATE INDEX jobs_job_owner ON jobs (job_owner, job_id);
CREATE INDEX jobs_automatically_machine_selection ON jobs (automatically_machine_selection, job_id);
CREATE INDEX jobs_submission_machines ON jobs USING gin (submission_machines);
CREATE INDEX jobs_number_of_processes ON jobs (number_of_processes, job_id);
CREATE INDEX jobs_number_of_processes_by_machine ON jobs (number_of_processes_by_machine, job_id);
CREATE INDEX jobs_submission_time ON jobs (submission_time DESC, job_id);
CREATE INDEX jobs_description ON jobs (description, job_id);
CREATE INDEX jobs_priority ON jobs (priority, job_id);
CREATE INDEX jobs_multiple_execution ON jobs (multiple_execution, job_id);
CREATE INDEX jobs_job_type ON jobs (job_type, job_id);
CREATE INDEX jobs_number_of_attempts ON jobs (number_of_attempts, job_id);
CREATE INDEX jobs_execution_machine ON jobs (execution_machine, job_id);
CREATE INDEX jobs_end_time ON jobs (end_time, job_id);
CREATE INDEX jobs_exit_code ON jobs (exit_code, job_id);
CREATE INDEX jobs_guilty_node_id ON jobs (guilty_node_id, job_id);
CREATE INDEX jobs_exit_status ON jobs (exit_status, job_id);
CREATE INDEX jobs_cpu_time ON jobs (cpu_time, job_id);
CREATE INDEX jobs_wallclock_time ON jobs (wallclock_time, job_id);
CREATE INDEX jobs_ram_memory ON jobs (ram_memory, job_id);
CREATE INDEX jobs_flow_id ON jobs (flow_id, job_id);
CREATE INDEX jobs_flow_version ON jobs (flow_version, job_id);
CREATE INDEX jobs_flow_name ON jobs (flow_name, job_id);
CREATE INDEX jobs_last_modified_time ON jobs (last_modified_time, job_id);
CREATE INDEX jobs_is_deleted ON jobs (is_deleted, job_id);

CREATE TABLE job_status_history (
    job_id      text COLLATE "C" NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
    status      text COLLATE "C" NOT NULL CHECK (status IN ('SCHEDULED', 'INIT', 'UPLOADING', 'QUEUED', 'EXECUTING',
        'DOWNLOADING', 'FINISHED', 'UNKNOWN')),
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (job_id, status, occurred_at)
);
CREATE INDEX job_status_history_status ON job_status_history (status, job_id);

CREATE TABLE job_algorithms (
    id                bigserial PRIMARY KEY,
    job_id            text COLLATE "C" NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
    position          integer NOT NULL,
    algorithm_id      text COLLATE "C" NOT NULL,
    algorithm_version text COLLATE "C",
    algorithm_name    text COLLATE "C",
    UNIQUE (job_id, position)
);
CREATE INDEX job_algorithms_algorithm_id ON job_algorithms (algorithm_id, job_id);
CREATE INDEX job_algorithms_algorithm_version ON job_algorithms (algorithm_version, job_id);
CREATE INDEX job_algorithms_algorithm_name ON job_algorithms (algorithm_name, job_id);
CREATE INDEX job_algorithms_together ON job_algorithms USING gin (algorithm_id, algorithm_name, algorithm_version);

CREATE TABLE job_parameters (
    id           bigserial PRIMARY KEY,
    algorithm    bigint NOT NULL REFERENCES job_algorithms (id) ON DELETE CASCADE,
    -- The job again, so that a parameter search need not go through the algorithms.
    job_id       text COLLATE "C" NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
    position     integer NOT NULL,
    parameter_id text COLLATE "C" NOT NULL,
    label        text COLLATE "C",
    type         text COLLATE "C",
    value        text[] NOT NULL DEFAULT '{}',
    UNIQUE (algorithm, position)
);
CREATE INDEX job_parameters_job_id ON job_parameters (job_id);
CREATE INDEX job_parameters_parameter_id ON job_parameters (parameter_id, job_id);
CREATE INDEX job_parameters_label ON job_parameters (label, job_id);
CREATE INDEX job_parameters_type ON job_parameters (type, job_id);
-- Any of these with or without the values: one parameter's comparisons in one scan.
CREATE INDEX job_parameters_together ON job_parameters USING gin (parameter_id, label, type, value);
