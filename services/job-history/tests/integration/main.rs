//! job-history through its HTTP interface, on a database of its own in the real Postgres.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "in a test, a broken expectation is a failure")]

mod fixtures;
mod limits;
mod logs;
mod query;
mod search;

service_kit::conformance_tests! {
    service: job_history,
    binary: env!("CARGO_BIN_EXE_job-history"),
    listen_variable: "JOB_HISTORY_LISTEN",
    openapi: "job-history.json",
    env: async {
        let database = history_store::testing::TestDatabase::create().await;
        vec![("DATABASE_URL".to_owned(), database.url)]
    },
}
