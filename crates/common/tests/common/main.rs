//! The common crate's integration tests: the RSQL language and the job event contract.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "in a test, a broken expectation is a failure")]
#![recursion_limit = "256"]

mod event_contract;
mod job;
mod log_contract;
mod rsql_cases;
mod rsql_properties;
mod rsql_values;
mod time;
