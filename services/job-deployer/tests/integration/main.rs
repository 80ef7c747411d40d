//! job-deployer, through its HTTP interface against a Kubernetes API stand-in, and its outputs
//! checked by the real consumers: the Kubernetes schemas, a shell running the fetch script, Airflow.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "in a test, a broken expectation is a failure")]

mod airflow;
mod api_server;
mod deployments;
mod fetch;
mod fixtures;
mod manifests;
mod tools;
mod validation;

service_kit::conformance_tests! {
    service: job_deployer,
    binary: env!("CARGO_BIN_EXE_job-deployer"),
    listen_variable: "JOB_DEPLOYER_LISTEN",
    openapi: "job-deployer.json",
}
