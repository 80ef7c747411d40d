//! job-deployer, through its HTTP interface on the test stack's Kubernetes control plane (and a
//! stand-in only for what a real API server cannot be made to do), and its outputs checked by the
//! real consumers: the API server, the Kubernetes schemas, a shell running the fetch script,
//! Airflow, the broker's topic of job events; and its local runtime running real processes.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "in a test, a broken expectation is a failure")]

mod airflow;
mod api_server;
mod broker_down;
mod cluster;
mod deployments;
mod fetch;
mod fetch_output;
mod fixtures;
mod local;
mod manifests;
mod on_kubernetes;
mod oracle;
mod shutdown;
mod tools;
mod validation;
mod watch;
mod watch_on_kubernetes;
mod watch_server;

service_kit::conformance_tests! {
    service: job_deployer,
    binary: env!("CARGO_BIN_EXE_job-deployer"),
    listen_variable: "JOB_DEPLOYER_LISTEN",
    openapi: "job-deployer.json",
}
