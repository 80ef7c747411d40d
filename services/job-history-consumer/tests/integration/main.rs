//! job-history-consumer, through its HTTP interface and as a process.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "in a test, a broken expectation is a failure")]

service_kit::conformance_tests! {
    service: job_history_consumer,
    binary: env!("CARGO_BIN_EXE_job-history-consumer"),
    listen_variable: "JOB_HISTORY_CONSUMER_LISTEN",
    openapi: "job-history-consumer.json",
}
