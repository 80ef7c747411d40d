// @generated automatically by Diesel CLI.

diesel::table! {
    job_algorithms (id) {
        id -> Int8,
        job_id -> Text,
        position -> Int4,
        algorithm_id -> Text,
        algorithm_version -> Nullable<Text>,
        algorithm_name -> Nullable<Text>,
    }
}

diesel::table! {
    job_attribute_versions (job_id) {
        job_id -> Text,
        versions -> Jsonb,
    }
}

diesel::table! {
    job_log_chunks (job_id, container, attempt, collection, chunk) {
        job_id -> Text,
        container -> Text,
        attempt -> Int4,
        collection -> Text,
        chunk -> Int4,
        first_line -> Int8,
        last_line -> Int8,
        starts_line -> Bool,
        ends_line -> Bool,
        bytes -> Int4,
        stored -> Int4,
        content -> Bytea,
    }
}

diesel::table! {
    job_logs (job_id, container, attempt, collection) {
        job_id -> Text,
        container -> Text,
        attempt -> Int4,
        collection -> Text,
        ended_at -> Timestamptz,
        chunks -> Int4,
        kept_lines -> Int8,
        kept_bytes -> Int8,
        dropped_lines -> Int8,
        dropped_bytes -> Int8,
        unavailable -> Nullable<Text>,
        archived_at -> Timestamptz,
        removed_at -> Nullable<Timestamptz>,
        removal -> Nullable<Text>,
    }
}

diesel::table! {
    job_parameters (id) {
        id -> Int8,
        algorithm -> Int8,
        job_id -> Text,
        position -> Int4,
        parameter_id -> Text,
        label -> Nullable<Text>,
        #[sql_name = "type"]
        type_ -> Nullable<Text>,
        value -> Array<Nullable<Text>>,
    }
}

diesel::table! {
    job_status_history (job_id, status, occurred_at) {
        job_id -> Text,
        status -> Text,
        occurred_at -> Timestamptz,
    }
}

diesel::table! {
    jobs (job_id) {
        job_id -> Text,
        group_id -> Nullable<Text>,
        project_id -> Nullable<Text>,
        job_owner -> Nullable<Text>,
        automatically_machine_selection -> Nullable<Bool>,
        submission_machines -> Nullable<Array<Nullable<Text>>>,
        number_of_processes -> Nullable<Int8>,
        number_of_processes_by_machine -> Nullable<Int8>,
        submission_time -> Nullable<Timestamptz>,
        description -> Nullable<Text>,
        priority -> Nullable<Int8>,
        multiple_execution -> Nullable<Bool>,
        job_type -> Nullable<Text>,
        number_of_attempts -> Nullable<Int8>,
        execution_machine -> Nullable<Text>,
        end_time -> Nullable<Timestamptz>,
        exit_code -> Nullable<Int8>,
        guilty_node_id -> Nullable<Text>,
        exit_status -> Nullable<Text>,
        cpu_time -> Nullable<Float8>,
        wallclock_time -> Nullable<Int8>,
        ram_memory -> Nullable<Float8>,
        flow_id -> Nullable<Text>,
        flow_version -> Nullable<Text>,
        flow_name -> Nullable<Text>,
        last_modified_time -> Nullable<Timestamptz>,
        is_deleted -> Bool,
    }
}

diesel::joinable!(job_algorithms -> jobs (job_id));
diesel::joinable!(job_attribute_versions -> jobs (job_id));
diesel::joinable!(job_parameters -> job_algorithms (algorithm));
diesel::joinable!(job_parameters -> jobs (job_id));
diesel::joinable!(job_status_history -> jobs (job_id));

diesel::allow_tables_to_appear_in_same_query!(
    job_algorithms,
    job_attribute_versions,
    job_log_chunks,
    job_logs,
    job_parameters,
    job_status_history,
    jobs,
);
