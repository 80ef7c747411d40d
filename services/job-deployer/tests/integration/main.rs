//! job-deployer, through its HTTP interface and as a process.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "in a test, a broken expectation is a failure")]

service_kit::conformance_tests! {
    service: job_deployer,
    binary: env!("CARGO_BIN_EXE_job-deployer"),
    listen_variable: "JOB_DEPLOYER_LISTEN",
    openapi: "job-deployer.json",
}
