//! job-history, through its HTTP interface and as a process.

service_kit::conformance_tests! {
    service: job_history,
    binary: env!("CARGO_BIN_EXE_job-history"),
    listen_variable: "JOB_HISTORY_LISTEN",
    openapi: "job-history.json",
}
