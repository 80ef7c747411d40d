//! job-history-consumer against the real broker of the test stack and the real Postgres.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "in a test, a broken expectation is a failure")]

mod broker_away;
mod decode;
mod events;
mod fold;
mod logs;
mod model;
mod proxy;
mod stack;
mod store;
mod stream;

service_kit::conformance_tests! {
    service: job_history_consumer,
    binary: env!("CARGO_BIN_EXE_job-history-consumer"),
    listen_variable: "JOB_HISTORY_CONSUMER_LISTEN",
    openapi: "job-history-consumer.json",
    env: async { crate::stack::Stack::new(1).await.env() },
}
